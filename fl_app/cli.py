"""``fl-app``: the command line of organisations and participants.

This module only builds the top-level parser, registers the command groups of
:mod:`fl_app.commands`, and turns every error a person can act on into one line.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import warnings
from collections.abc import Sequence
from types import FrameType

from fl_app.commands import register_all
from fl_app.commands.cluster import add_chain_options
from fl_app.commands.output import Output, add_output_options
from fl_app.errors import FlAppError

__all__ = ["build_parser", "main"]

_EPILOG = """\
a first task on this machine:
  fl-app services start                         # embedded chain + private IPFS
  fl-app wallet new && fl-app airdrop 20        # a funded wallet
  fl-app keys create -k keyholder.json          # the key holder's CKKS keys
  fl-app task create --pool 10 --min-stake 1 --rounds 3 --max-participants 5 \\
      --key-holder ADDRESS --context keys/public_context.bin
  fl-app stake TASK 1 -k participant.json       # each participant
  fl-app task status TASK

Every command takes --help; -u/-k/--output may come before or after the command;
--output json (or --json) and --quiet are for scripts."""


def build_parser() -> argparse.ArgumentParser:
    """The ``fl-app`` parser with every command group registered."""
    parser = argparse.ArgumentParser(
        prog="fl-app",
        description="Staked, encrypted federated learning on Flower, IPFS and Solana.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"fl-app {_version()}")
    add_output_options(parser, top_level=True)
    add_chain_options(parser, top_level=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register_all(commands)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fl-app")
    except PackageNotFoundError:
        return "unknown (not installed)"


class TerminatedError(Exception):
    """SIGTERM arrived: unwind so that every started process group is stopped."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise TerminatedError


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fl-app`` console script."""
    args = build_parser().parse_args(argv)
    out = Output.from_args(args)
    if not getattr(args, "verbose", False):
        # Libraries' notices about their own future (anchorpy's dependencies, Ray) are
        # not the user's to act on.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
    # SIGTERM would end Python without running `finally` blocks, leaving the SuperNode
    # or SuperLink process groups a command started running on their own.
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        return int(args.handler(args, out))
    except FlAppError as exc:
        out.error(str(exc))
        return 2
    except KeyboardInterrupt:
        print("fl-app: interrupted", file=sys.stderr)
        return 130
    except TerminatedError:
        print("fl-app: terminated", file=sys.stderr)
        return 143
    except Exception as exc:
        # A missing set-up step (the threshold engine not built) is the user's to fix:
        # one line. Its module is loaded only by commands that used the engine.
        errors = sys.modules.get("strategy.threshold.errors")
        if errors is None or not isinstance(exc, errors.EngineUnavailableError):
            raise
        out.error(str(exc))
        return 2
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


if __name__ == "__main__":
    sys.exit(main())
