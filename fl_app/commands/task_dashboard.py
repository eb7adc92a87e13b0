"""``fl-app task dashboard``: a live page of any task, read from the chain and IPFS."""

from __future__ import annotations

import argparse

from fl_app.commands.command_parser import add_command, open_ipfs
from fl_app.commands.output import Output

__all__ = ["register"]


def register(group: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``task dashboard``."""
    dashboard = add_command(
        group,
        "dashboard",
        _dashboard,
        help="serve a live page of a task on 127.0.0.1: rounds, accuracy, stakes, rewards",
        description="Serve a page that follows a task as it runs: its accounts on chain, "
        "each recorded round's metrics from the manifest on IPFS, every stake and, once "
        "settled, every reward. It reads only public data; stop it with Ctrl-C.",
        chain=True,
        ipfs=True,
    )
    dashboard.add_argument("task", metavar="TASK", help="task address")
    dashboard.add_argument(
        "--port", type=int, default=0, help="local port (default: a free one, printed)"
    )
    dashboard.add_argument(
        "--interval", type=float, default=2.0, help="seconds between reads (default 2)"
    )


def _dashboard(args: argparse.Namespace, out: Output) -> int:
    import threading

    from fl_app.commands.cluster import open_chain, parse_address
    from fl_app.commands.stakers import list_stakes
    from fl_app.dashboard import DashboardServer, DashboardState, create_app
    from fl_app.dashboard.task_feed import TaskFeed

    address = parse_address(args.task, what="task")
    with open_chain(args) as chain, open_ipfs(args) as ipfs:
        chain.task(address)  # a one-line error for an address that is not a task
        state = DashboardState()
        feed = TaskFeed(
            state,
            client=chain.client,
            task=address,
            stakes=lambda: list_stakes(chain.cluster, address),
            source=ipfs,
            interval_s=args.interval,
        )
        feed.refresh()
        with DashboardServer(create_app(state), port=args.port) as server:
            url = server.start()
            out.result({"task": str(address), "url": url}, text=f"dashboard: {url}", quiet=url)
            feed.start()
            try:
                threading.Event().wait()
            finally:
                feed.stop()
    return 0
