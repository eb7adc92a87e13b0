"""Fetch the task's Flower App Bundle by CID, verify it, and unpack it for reading.

Design guarantee 5 (code integrity): the bundle's CID on chain is a single raw block,
so it carries the bundle's SHA-256 (Flower's ``fab_hash``). The bytes are verified in
memory before a single file is written, so tampered code is never on disk. What runs on
a participant's node is checked again, for every run, by :mod:`fl_app.client.verified_app`.

The CID comes from a lookup function (task id -> CID) or ``--cid``.

Usage::

    python -m fl_app.client.fetch --cid bafk... --gateway http://ORG:8080 --dest runs/task
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from fl_app.ipfs.bundle import MAX_BUNDLE_BYTES, bundle_sha256, unpack_bundle
from fl_app.ipfs.content import ContentSource, fetch_verified
from fl_app.ipfs.errors import IpfsError
from fl_app.ipfs.gateway import GatewaySource
from fl_app.ipfs.rpc import DEFAULT_API_URL, IpfsClient

__all__ = [
    "TEMPLATE_ENTRY",
    "BundleFileSource",
    "TemplateCidLookup",
    "fetch_template",
    "main",
]

TEMPLATE_ENTRY = "client.py"

TemplateCidLookup = Callable[[str], str]
"""Returns the template CID recorded on chain for a task id (the chain module's job)."""


class BundleFileSource:
    """A bundle obtained out of band (a mirror, a USB stick): claims to be any CID.

    It is verified exactly like bytes from a daemon, which is the point.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def cat(self, cid: str, *, max_bytes: int | None = None) -> bytes:
        """Return the file's bytes, whatever ``cid`` is asked for."""
        size = self.path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise IpfsError(f"bundle file {self.path} is larger than {max_bytes} bytes")
        return self.path.read_bytes()


def fetch_template(cid: str, *, source: ContentSource, destination: Path) -> Path:
    """Fetch the bundle ``cid``, refuse it unless it hashes to ``cid``, and unpack it.

    The bundle is unpacked for the participant to read; nothing in it is run here.

    Parameters
    ----------
    cid
        The template CID recorded on chain.
    source
        Where the bytes come from (an :class:`~fl_app.ipfs.rpc.IpfsClient`, a file).
    destination
        An empty or absent directory to unpack into.

    Returns
    -------
    Path
        The bundle's ClientApp module, ``destination / "client.py"``.

    Raises
    ------
    CidMismatchError
        The bytes hash to another CID; nothing was written.
    BundleError
        The CID is not a single raw block, or the bundle is malformed or holds a secret.
    """
    bundle_sha256(cid)
    data = fetch_verified(source, cid, what="client template", max_bytes=MAX_BUNDLE_BYTES)
    unpack_bundle(data, destination)
    entry = destination / TEMPLATE_ENTRY
    if not entry.is_file():
        raise IpfsError(f"client template {cid} has no {TEMPLATE_ENTRY}")
    return entry


def resolve_cid(task: str | None, cid: str | None, lookup: TemplateCidLookup | None) -> str:
    """The template CID: given directly, or looked up for ``task`` on chain."""
    if cid:
        return cid
    if task and lookup is not None:
        return lookup(task)
    raise IpfsError("no template CID: pass --cid (a chain lookup for --task is not configured)")


def main(argv: Sequence[str] | None = None, *, lookup: TemplateCidLookup | None = None) -> int:
    """Command line: fetch, verify and unpack the task's bundle."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cid", help="template CID (as recorded in the task account)")
    parser.add_argument("--task", help="task id whose template CID is read from the chain")
    parser.add_argument("--dest", type=Path, required=True, help="empty directory to unpack to")
    parser.add_argument("--api", default=DEFAULT_API_URL, help="Kubo RPC API URL")
    parser.add_argument("--gateway", help="fetch over this read-only HTTP gateway instead")
    parser.add_argument("--bundle", type=Path, help="verify this local bundle file instead")
    options = parser.parse_args(argv)
    try:
        cid = resolve_cid(options.task, options.cid, lookup)
        if options.bundle is not None:
            entry = fetch_template(
                cid, source=BundleFileSource(options.bundle), destination=options.dest
            )
        elif options.gateway is not None:
            entry = fetch_template(
                cid, source=GatewaySource(options.gateway), destination=options.dest
            )
        else:
            with IpfsClient(options.api) as client:
                entry = fetch_template(cid, source=client, destination=options.dest)
    except IpfsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"verified client template {cid} -> {entry.parent}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
