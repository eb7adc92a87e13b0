"""``fl-app client fetch``: the participant's verified copy of the task's client.

The Deployment Engine run (``client run``) joins this group.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fl_app.commands.command_parser import add_command, open_ipfs
from fl_app.commands.output import Output
from fl_app.errors import FlAppError

__all__ = ["register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``client`` and its subcommands."""
    client = commands.add_parser("client", help="the participant's client of a task")
    group = client.add_subparsers(dest="client_command", required=True, metavar="COMMAND")
    fetch = add_command(
        group,
        "fetch",
        _fetch,
        help="fetch the client template by the CID on chain, verify it, unpack it",
        description="Read the template CID from the task account, fetch the bundle from "
        "IPFS, and unpack it only if its bytes hash to that CID; anything else is refused "
        "before a file is written.",
        chain=True,
        ipfs=True,
    )
    fetch.add_argument("task", metavar="TASK", help="task address")
    fetch.add_argument(
        "--dest", type=Path, help="empty directory to unpack into (default ./client-TASK)"
    )


def _fetch(args: argparse.Namespace, out: Output) -> int:
    from fl_app.client.fetch import fetch_template
    from fl_app.commands.cluster import open_chain, parse_address

    address = parse_address(args.task, what="task")
    destination: Path = args.dest or Path(f"client-{str(address)[:8]}")
    if destination.exists() and any(destination.iterdir()):
        raise FlAppError(f"{destination} is not empty: choose another --dest")
    with open_chain(args) as chain:
        cid = chain.task(address).template_cid
    with open_ipfs(args) as ipfs, out.progress("fetching the client template"):
        entry = fetch_template(cid, source=ipfs, destination=destination)
    out.result(
        {"task": str(address), "template_cid": cid, "directory": str(entry.parent)},
        text=[f"verified client template {cid}", f"unpacked to {entry.parent}"],
        quiet=str(entry.parent),
    )
    return 0
