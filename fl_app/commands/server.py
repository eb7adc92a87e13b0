"""``fl-app server start``: the organisation runs its task on Flower's Deployment Engine."""

from __future__ import annotations

import argparse
from pathlib import Path

from fl_app.commands.command_parser import add_command, ipfs_url
from fl_app.commands.output import Output
from fl_app.errors import FlAppError

__all__ = ["register"]

DEFAULT_SUPERLINK_PORT = 9092


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``server`` and its subcommands."""
    server = commands.add_parser("server", help="the organisation's Flower server of a task")
    group = server.add_subparsers(dest="server_command", required=True, metavar="COMMAND")
    start = add_command(
        group,
        "start",
        _start,
        help="run the task's rounds: a SuperLink for the participants and the ServerApp",
        description="Start a Flower SuperLink on this machine and run the task's ServerApp "
        "until every planned round is done. Only nodes that prove a staked wallet are "
        "sampled; each round's manifest is pinned to IPFS and recorded on chain, signed by "
        "the task's authority (--keypair).",
        keypair=True,
        ipfs=True,
    )
    start.add_argument("task", metavar="TASK", help="task address")
    start.add_argument(
        "--port",
        type=int,
        default=DEFAULT_SUPERLINK_PORT,
        help=f"port participants connect to (default {DEFAULT_SUPERLINK_PORT})",
    )
    start.add_argument(
        "--run-config",
        "-c",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="run-config values of pyproject.toml, e.g. -c dataset=digits",
    )
    start.add_argument("--timeout", type=float, default=3_600.0, help="seconds the run may take")


def _start(args: argparse.Namespace, out: Output) -> int:
    from fl_app.commands.cluster import open_chain, parse_address
    from fl_app.deployment import DeploymentError
    from fl_app.keypair_files import default_keypair_path
    from fl_app.server.launch import SERVERAPP_LOG, run_task_server, skipped_rounds
    from fl_app.services import fl_app_home

    address = parse_address(args.task, what="task")
    keypair_path: Path = (args.keypair or default_keypair_path()).expanduser()
    with open_chain(args) as chain:
        task = chain.task(address)
        authority = _authority(keypair_path)
        if authority != str(task.authority):
            raise FlAppError(
                f"{keypair_path} is wallet {authority}, but task {address} belongs to "
                f"{task.authority}: pass the authority's keypair with --keypair"
            )
        url = chain.cluster.url
    if task.participants < 2:
        raise FlAppError(
            f"task {address} has {task.participants} staker(s); encrypted rounds need at "
            "least 2 (participants join with fl-app stake)"
        )
    if task.committee_size and not task.committee_drawn:
        raise FlAppError(
            f"task {address}'s committee is not drawn yet: after the join deadline, draw it "
            f"with fl-app task draw {address}"
        )
    if task.rounds_recorded >= task.rounds_planned:
        raise FlAppError(
            f"task {address} has all {task.rounds_planned} round(s) recorded already; "
            f"settle it with fl-app task finalize {address}"
        )
    run_config = _run_config(task.participants, task.rounds_planned, args.run_config)
    quorum = int(str(run_config["min-nodes"]))
    out.say(
        f"SuperLink on 127.0.0.1:{args.port}; waiting for {quorum} staked participant(s) "
        f"(fl-app client run {address} --superlink 127.0.0.1:{args.port} ...)"
    )
    workdir = fl_app_home() / "runs" / f"server-{str(address)[:8]}"
    log_path = workdir / SERVERAPP_LOG
    out.say(f"ServerApp log: {log_path}")
    failure = ""
    with out.progress(f"running {task.rounds_planned} round(s) of task {address}"):
        try:
            run_task_server(
                task=str(address),
                chain_url=url,
                ipfs_api=ipfs_url(args),
                authority_keypair=keypair_path,
                port=args.port,
                workdir=workdir,
                run_config=run_config,
                timeout_s=args.timeout,
            )
        except DeploymentError as err:
            failure = str(err).splitlines()[0]
    with open_chain(args) as chain:
        done = chain.task(address)
    log = log_path.read_text(errors="replace") if log_path.is_file() else ""
    skipped = skipped_rounds(log)
    out.result(
        {
            "task": str(address),
            "rounds_recorded": done.rounds_recorded,
            "rounds_planned": done.rounds_planned,
            "skipped": {str(r): why for r, why in skipped.items()},
            "log": str(log_path),
        },
        text=[
            f"{done.rounds_recorded} of {done.rounds_planned} round(s) recorded on chain",
            *(f"round {r} skipped: {why}" for r, why in sorted(skipped.items())),
            f"ServerApp log: {log_path}",
        ],
        quiet=str(done.rounds_recorded),
    )
    if done.rounds_recorded >= done.rounds_planned:
        out.say(f"next: fl-app task rounds {address}; fl-app task finalize {address}")
        return 0
    why = failure or (
        f"{len(skipped)} round(s) skipped" if skipped else "the ServerApp stopped early"
    )
    raise FlAppError(
        f"only {done.rounds_recorded} of {done.rounds_planned} round(s) of task {address} "
        f"were recorded: {why}; see {log_path}"
    )


# Keys the command sets from the task and its own options; -c may not change them.
_BOUND_KEYS = ("task-address", "chain-url", "ipfs-api", "authority-keypair")


def _run_config(participants: int, rounds: int, pairs: list[str]) -> dict[str, object]:
    """The run config of the task's ServerApp, with ``-c`` values checked against it."""
    from fl_app.commands.simulation import parse_overrides
    from fl_app.settings import RunSettings

    overrides = parse_overrides(pairs)
    bound = sorted(set(overrides) & set(_BOUND_KEYS))
    if bound:
        raise FlAppError(
            f"-c {bound[0]} is set by server start from the task and its options: drop it"
        )
    given = overrides.get("num-server-rounds")
    if given is not None and str(given) != str(rounds):
        raise FlAppError(
            f"-c num-server-rounds={given} contradicts the task's {rounds} planned round(s): "
            "drop it (the task fixes the rounds)"
        )
    # Everyone staked takes part; a sum is decrypted over at least 3 inputs when the
    # task has that many, so no single update can be recovered from two sums.
    quorum = min(participants, 3)
    run_config: dict[str, object] = {
        "num-server-rounds": rounds,
        "min-nodes": quorum,
        "ckks-min-inputs": quorum,
        **overrides,
    }
    RunSettings.from_run_config({}, run_config).check_sampling(participants)
    return run_config


def _authority(path: Path) -> str:
    from fl_app.keypair_files import read_keypair

    return str(read_keypair(path).pubkey())
