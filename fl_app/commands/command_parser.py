"""How a command group adds a subcommand: the shared options and the handler."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fl_app.commands.cluster import add_chain_options
from fl_app.commands.output import Output, add_output_options

if TYPE_CHECKING:
    from solders.keypair import Keypair

    from fl_app.ipfs import IpfsClient

__all__ = ["Handler", "add_command", "ipfs_url", "open_ipfs", "signer"]

Handler = Callable[[argparse.Namespace, Output], int]
"""A subcommand: parsed arguments and where to print, to an exit status."""


def add_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Handler,
    *,
    help: str,
    description: str | None = None,
    chain: bool = False,
    keypair: bool = False,
    ipfs: bool = False,
) -> argparse.ArgumentParser:
    """Add subcommand ``name`` with ``--json``/``--quiet`` and the options it needs.

    ``chain`` adds ``--url/-u``, ``keypair`` also ``--keypair/-k``, ``ipfs`` adds ``--ipfs``.
    """
    parser = commands.add_parser(name, help=help, description=description or help)
    add_output_options(parser)
    if chain or keypair:
        add_chain_options(parser, keypair=keypair)
    if ipfs:
        parser.add_argument(
            "--ipfs",
            metavar="URL",
            help="Kubo RPC API URL (default: the daemon of fl-app services start)",
        )
    parser.set_defaults(handler=handler)
    return parser


def signer(args: argparse.Namespace) -> Keypair:
    """The keypair of ``--keypair`` (default ``~/.config/solana/id.json``)."""
    from fl_app.keypair_files import default_keypair_path, read_keypair

    path: Path = args.keypair or default_keypair_path()
    return read_keypair(path.expanduser())


def ipfs_url(args: argparse.Namespace) -> str:
    """``--ipfs``, or the API of the daemon ``fl-app services start`` runs."""
    from fl_app.errors import FlAppError
    from fl_app.services import running_ipfs_url

    url = getattr(args, "ipfs", None) or running_ipfs_url()
    if url is None:
        raise FlAppError(
            "no IPFS daemon: start one with fl-app services start (or pass --ipfs URL)"
        )
    return str(url).rstrip("/")


@contextmanager
def open_ipfs(args: argparse.Namespace) -> Iterator[IpfsClient]:
    """A client of the IPFS daemon; an unreachable daemon is reported with the fix."""
    from fl_app.errors import FlAppError
    from fl_app.ipfs import IpfsClient, IpfsUnavailableError

    url = ipfs_url(args)
    try:
        with IpfsClient(url, timeout=30.0, retries=1) as client:
            yield client
    except IpfsUnavailableError:
        raise FlAppError(
            f"no IPFS daemon at {url}: start it with fl-app services start (or pass --ipfs URL)"
        ) from None
