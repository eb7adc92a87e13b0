"""Command line for the organisation's IPFS chores.

python -m fl_app.ipfs daemon [--repo DIR] [--api-port 5001]
python -m fl_app.ipfs cid FILE | --template DIR
python -m fl_app.ipfs pin-template [DIR]
python -m fl_app.ipfs pin FILE
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from fl_app.client.template import TEMPLATE_DIR
from fl_app.ipfs.bundle import bundle_cid
from fl_app.ipfs.content import pin_checkpoint, pin_template
from fl_app.ipfs.daemon import KuboDaemon
from fl_app.ipfs.errors import IpfsError
from fl_app.ipfs.rpc import DEFAULT_API_URL, IpfsClient
from fl_app.ipfs.unixfs import stream_cid

_DEFAULT_REPO = Path(os.environ.get("FL_APP_IPFS_REPO", Path.home() / ".cache/fl-app/ipfs"))


def _run_daemon(options: argparse.Namespace) -> int:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    daemon = KuboDaemon(
        repo_dir=options.repo, api_port=options.api_port, gateway_port=options.gateway_port
    )
    with daemon:
        print(f"IPFS RPC API {daemon.api_url}  gateway {daemon.gateway_url}  (offline)")
        print("Ctrl-C to stop", flush=True)
        while not stop.wait(1.0) and daemon.running:
            pass
    return 0 if stop.is_set() else 1


def _print_cid(options: argparse.Namespace) -> int:
    if options.template is not None:
        print(bundle_cid(options.template))
    elif options.file is not None:
        with options.file.open("rb") as handle:
            print(stream_cid(handle))
    else:
        raise IpfsError("give FILE or --template DIR")
    return 0


def _pin(options: argparse.Namespace) -> int:
    with IpfsClient(options.api) as client:
        if options.command == "pin-template":
            print(pin_template(client, options.directory))
        else:
            print(pin_checkpoint(client, options.file))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m fl_app.ipfs``."""
    parser = argparse.ArgumentParser(prog="python -m fl_app.ipfs", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    daemon = commands.add_parser("daemon", help="run a private, offline Kubo daemon")
    daemon.add_argument("--repo", type=Path, default=_DEFAULT_REPO)
    daemon.add_argument("--api-port", type=int, default=5001)
    daemon.add_argument("--gateway-port", type=int, default=0)
    daemon.set_defaults(handler=_run_daemon)
    cid = commands.add_parser("cid", help="compute a CID locally, without a daemon")
    cid.add_argument("file", type=Path, nargs="?")
    cid.add_argument("--template", type=Path, help="CID of this template directory's bundle")
    cid.set_defaults(handler=_print_cid)
    pin_dir = commands.add_parser("pin-template", help="bundle and pin the client template")
    pin_dir.add_argument("directory", type=Path, nargs="?", default=TEMPLATE_DIR)
    pin_file = commands.add_parser("pin", help="pin a file (checkpoint, HE context)")
    pin_file.add_argument("file", type=Path)
    for sub in (pin_dir, pin_file):
        sub.add_argument("--api", default=DEFAULT_API_URL, help="Kubo RPC API URL")
        sub.set_defaults(handler=_pin)
    options = parser.parse_args(argv)
    try:
        return int(options.handler(options))
    except IpfsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
