"""``fl-app services start | stop | status``: the local chain and IPFS in the background."""

from __future__ import annotations

import argparse

from fl_app.commands.command_parser import add_command
from fl_app.commands.output import Output

__all__ = ["register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``services`` and its subcommands."""
    services = commands.add_parser(
        "services",
        help="run the embedded chain and a private IPFS daemon in the background",
        description="The embedded Solana chain (JSON-RPC on 127.0.0.1) and a private, "
        "offline Kubo daemon, detached from this terminal; logs and state under "
        "$FL_APP_HOME (default ~/.local/state/fl-app).",
    )
    group = services.add_subparsers(dest="services_command", required=True, metavar="COMMAND")
    start = add_command(
        group, "start", _start, help="start both services and wait until they answer"
    )
    start.add_argument(
        "--chain-port", type=int, default=8999, help="chain RPC port on 127.0.0.1 (0: any free)"
    )
    start.add_argument(
        "--ipfs-port", type=int, default=0, help="IPFS RPC API port on 127.0.0.1 (0: any free)"
    )
    start.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for each service"
    )
    stop = add_command(group, "stop", _stop, help="stop both services and forget them")
    stop.add_argument(
        "--timeout", type=float, default=10.0, help="seconds before a service is killed"
    )
    add_command(group, "status", _status, help="say which services run and where")


def _describe(out: Output, footer: str | None = None) -> None:
    from fl_app.services import fl_app_home, load_state

    state = load_state()
    data: dict[str, object] = {"home": str(fl_app_home())}
    lines = []
    for name, label in (("chain", "chain (embedded)"), ("ipfs", "IPFS (Kubo)")):
        record = getattr(state, name)
        if record is not None and record.alive:
            data[name] = {
                "running": True,
                "url": record.url,
                "pid": record.pid,
                "log": record.log,
                **record.extra,
            }
            lines.append(f"{label:<17} {record.url}  (pid {record.pid}, log {record.log})")
        else:
            data[name] = {"running": False}
            lines.append(f"{label:<17} not running")
    if footer:
        lines.append(footer)
    chain = state.chain
    quiet = chain.url if chain is not None and chain.alive else None
    out.result(data, text=lines, quiet=quiet)


def _start(args: argparse.Namespace, out: Output) -> int:
    from fl_app.services import start_services

    with out.progress("starting services"):
        _, started = start_services(
            chain_port=args.chain_port,
            ipfs_port=args.ipfs_port,
            timeout_s=args.timeout,
            on_step=out.say,
        )
    if not started:
        out.say("services already running")
    _describe(out, "stop them with fl-app services stop")
    return 0


def _stop(args: argparse.Namespace, out: Output) -> int:
    from fl_app.services import stop_services

    stopped = stop_services(timeout_s=args.timeout)
    text = [f"stopped {' and '.join(stopped)}" if stopped else "no services were running"]
    if "chain" in stopped:
        text.append(
            "the local chain's accounts and clock are saved for the next services start; "
            "IPFS pins are kept"
        )
    out.result({"stopped": stopped}, text=text)
    return 0


def _status(args: argparse.Namespace, out: Output) -> int:
    _describe(out)
    return 0
