"""Flower's SuperNode, looking for messages more often than every 3 s.

An idle ``flower-supernode`` asks its SuperLink for messages, finds none and sleeps 3 s
before asking again; once it has handed a message to a ClientApp it looks for the reply
every 0.5 s. A staked round is four exchanges (stake proof, train, decryption,
evaluation), so a node added about 1.75 s of idling to each, far more than a small
model's training takes. Flower offers no setting for either interval (flwr pinned).
This runs Flower's own ``flower-supernode`` entry point unchanged, except that the
sleeps of its message loop last at most ``--poll-s`` seconds.

    python -m fl_app.client.prompt_supernode --poll-s 0.5 -- [flower-supernode options]

Each look is one small request to the SuperLink: 0.5 s is six times Flower's rate, which
a SuperLink serving a few hundred nodes on one machine takes in its stride.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from types import SimpleNamespace

import flwr.supernode.start_client_internal as flower_loop
from flwr.supernode.cli import flower_supernode

from fl_app.client.verified_app import require_functions

__all__ = ["POLL_S", "capped_time", "main"]

POLL_S = 0.5
"""Seconds a node waits before looking again for a message or a ClientApp's reply."""


def capped_time(poll_s: float) -> SimpleNamespace:
    """The ``time`` module's functions, with ``sleep`` lasting at most ``poll_s`` seconds."""
    if poll_s <= 0:
        raise ValueError(f"poll_s must be positive, got {poll_s}")
    functions = {name: getattr(time, name) for name in dir(time) if not name.startswith("_")}
    return SimpleNamespace(**{**functions, "sleep": lambda s: time.sleep(min(s, poll_s))})


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: ``flower-supernode`` with its message loop's sleeps capped."""
    parser = argparse.ArgumentParser(description="Run Flower's SuperNode, polling promptly.")
    parser.add_argument("--poll-s", type=float, default=POLL_S, help="longest idle wait")
    parser.add_argument("supernode_args", nargs=argparse.REMAINDER, help="flower-supernode's")
    args = parser.parse_args(argv)
    rest = args.supernode_args[1:] if args.supernode_args[:1] == ["--"] else args.supernode_args
    require_functions(flower_loop, "start_client_internal", "_push_messages")
    if getattr(flower_loop, "time", None) is not time:
        raise RuntimeError("this Flower's SuperNode loop does not sleep through `time`")
    flower_loop.time = capped_time(args.poll_s)  # type: ignore[assignment]
    sys.argv = ["flower-supernode", *rest]
    flower_supernode()


if __name__ == "__main__":
    main()
