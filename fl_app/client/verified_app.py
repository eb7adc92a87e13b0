"""The participant's ClientApp process: Flower's, refusing any bundle but the task's.

Flower 1.41 verifies a bundle only by Flower Hub signatures, which do not bind a run to
a hash, and offers no hook between receiving a bundle and installing it. This process
is Flower's own ``flwr-clientapp`` (``run_clientapp``, flwr pinned) with two module
functions wrapped, and nothing else changed:

- ``pull_task_input`` keeps the run's context, so the run config can be checked against
  the participant's privacy floor (:mod:`fl_app.client.privacy_floor`);
- ``install_from_fab`` first hashes the bytes it is given and compares them with the
  SHA-256 the task records on chain. On a mismatch, or a run config below the floor,
  it raises :class:`BundleRefusedError` before a file of the bundle is written or a line
  of it imported; Flower then replies to the server with an error message carrying the
  one-line reason, and the same line goes to the participant's log.

Started by :mod:`fl_app.client.verified_superexec` for every run, never by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import flwr.supernode.runtime.run_clientapp as flower_clientapp
from flwr.common.args import add_args_flwr_app_common, try_obtain_flwr_app_token
from flwr.supercore.tls import validate_and_resolve_root_certificates

from fl_app.client.privacy_floor import PrivacyFloorError, check_privacy_floor
from fl_app.ipfs.errors import BundleRefusedError

__all__ = ["BundleGuard", "main", "require_functions"]

_SHA256_HEX_LENGTH = 64


class BundleGuard:
    """The checks wrapped around Flower's pull and install steps for one run.

    Parameters
    ----------
    expected_sha256
        Hex SHA-256 of the task's bundle, decoded from the CID on chain.
    """

    def __init__(self, expected_sha256: str) -> None:
        if len(expected_sha256) != _SHA256_HEX_LENGTH:
            raise ValueError(f"expected a hex SHA-256, got {expected_sha256!r}")
        self.expected_sha256 = expected_sha256.lower()
        self.run_config: dict[str, Any] | None = None
        self.node_config: dict[str, Any] | None = None

    def check(self, fab_content: bytes) -> None:
        """Refuse unless ``fab_content`` is the task's bundle and the run keeps the floor.

        Raises
        ------
        BundleRefusedError
            With the one-line reason, also printed to the participant's log.
        """
        actual = hashlib.sha256(fab_content).hexdigest()
        try:
            if actual != self.expected_sha256:
                raise BundleRefusedError(
                    f"bundle refused: expected {self.expected_sha256}, got {actual}"
                )
            if self.run_config is None or self.node_config is None:
                raise BundleRefusedError("bundle refused: no run context was received")
            try:
                check_privacy_floor(self.run_config, self.node_config)
            except PrivacyFloorError as err:
                raise BundleRefusedError(f"run refused: {err}") from err
        except BundleRefusedError as err:
            print(f"fl-app: {err}", file=sys.stderr, flush=True)
            raise

    def wrap(self) -> None:
        """Put the checks around Flower's pull and install steps in this process.

        Raises
        ------
        RuntimeError
            If this Flower has no such steps (another version): nothing would be checked.
        """
        require_functions(flower_clientapp, "pull_task_input", "install_from_fab")
        pull, install = flower_clientapp.pull_task_input, flower_clientapp.install_from_fab

        def checked_pull(client: Any) -> Any:
            message, context, run, fab = pull(client)
            self.run_config = dict(context.run_config)
            self.node_config = dict(context.node_config)
            return message, context, run, fab

        def checked_install(fab_file: Any, *args: Any, **kwargs: Any) -> Any:
            if not isinstance(fab_file, bytes):
                raise BundleRefusedError("bundle refused: not received as bytes")
            self.check(fab_file)
            return install(fab_file, *args, **kwargs)

        flower_clientapp.pull_task_input = checked_pull
        flower_clientapp.install_from_fab = checked_install


def require_functions(module: ModuleType, *names: str) -> None:
    """Refuse to run on a Flower whose ``module`` lacks the functions being wrapped."""
    missing = [name for name in names if not callable(getattr(module, name, None))]
    if missing:
        raise RuntimeError(
            f"{module.__name__} has no {', '.join(missing)}: this Flower is not the pinned "
            "one, so bundles could not be checked; install the fl-app's pinned flwr"
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Run the task's ClientApp, verified.")
    parser.add_argument("--runtime-api-address", required=True, help="SuperNode Runtime API")
    parser.add_argument("--fab-sha256", required=True, help="SHA-256 of the task's bundle")
    add_args_flwr_app_common(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: check, then run one task exactly as ``flwr-clientapp`` does."""
    args = _parser().parse_args(argv)
    guard = BundleGuard(args.fab_sha256)
    guard.wrap()
    flower_clientapp.run_clientapp(
        runtime_api_address=args.runtime_api_address,
        token=try_obtain_flwr_app_token(args),
        insecure=args.insecure,
        certificates=validate_and_resolve_root_certificates(args.root_certificates, args.insecure),
        parent_pid=args.parent_pid,
        # Dependencies come from the participant's own environment, never from a bundle.
        runtime_dependency_install=False,
    )


if __name__ == "__main__":
    main()
