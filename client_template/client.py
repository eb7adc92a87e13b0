"""Participant client of a staked federated-learning task.

This file is the downloadable client template: the organisation pins it to IPFS and
records its CID in the task account, and ``python -m fl_app.client.fetch`` runs it only
after the downloaded bytes hash to that CID. It starts a Flower SuperNode that connects
to the organisation's SuperLink; the training code is the ``fl_app`` package's
ClientApp (``fl_app.client.client_app:app``), installed from the package index.

    python client.py --superlink HOST:9092 --root-certificates ca.pem \\
        --node-config 'data-path="my.csv"'
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Sequence

CLIENT_APP_MODULE = "fl_app.client.client_app"
SUPERNODE = "flower-supernode"


def build_command(options: argparse.Namespace) -> list[str]:
    """The ``flower-supernode`` command line for these options."""
    command = [SUPERNODE, "--superlink", options.superlink, "--port", str(options.port)]
    if options.insecure:
        command.append("--insecure")
    else:
        command += ["--root-certificates", options.root_certificates]
    if options.node_config:
        command += ["--node-config", options.node_config]
    return command


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse and check the participant's options."""
    parser = argparse.ArgumentParser(description="Run this task's Flower SuperNode.")
    parser.add_argument("--superlink", required=True, help="SuperLink Fleet API host:port")
    parser.add_argument("--root-certificates", help="CA certificate (PEM) of the SuperLink")
    parser.add_argument("--insecure", action="store_true", help="no TLS (local tests only)")
    parser.add_argument("--node-config", default="", help="key=value pairs for the ClientApp")
    parser.add_argument(
        "--port", type=int, default=9094, help="local port of the SuperNode's ClientApp API"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the command, do not run")
    options = parser.parse_args(argv)
    if not options.insecure and not options.root_certificates:
        parser.error("--root-certificates is required (or --insecure for a local test)")
    if options.insecure:
        print("WARNING: --insecure: updates travel without TLS", file=sys.stderr)
    return options


def main(argv: Sequence[str] | None = None) -> int:
    """Check the installation, then run the SuperNode until it exits."""
    options = parse_args(argv)
    command = build_command(options)
    if options.dry_run:
        print(" ".join(command))
        return 0
    if importlib.util.find_spec(CLIENT_APP_MODULE) is None:
        print(f"error: {CLIENT_APP_MODULE} not importable; `pip install fl-app`", file=sys.stderr)
        return 2
    if shutil.which(SUPERNODE) is None:
        print(f"error: {SUPERNODE} not on PATH; `pip install flwr`", file=sys.stderr)
        return 2
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
