"""The node's ClientApp processes: forked from a preloaded fork server, each one fresh."""

from __future__ import annotations

import multiprocessing
import sys
from multiprocessing.queues import Queue
from typing import Any

from fl_app.client.verified_superexec import PRELOAD, VerifiedExecutor


def _report_and_tamper(queue: Queue[Any]) -> None:
    """What a message's process finds at start, then a change a bundle could make."""
    import fl_app.client.verified_app as guard

    queue.put(
        {
            "preloaded": all(name in sys.modules for name in PRELOAD),
            "torch": "torch" in sys.modules,
            "tampered": hasattr(guard, "tampered"),
        }
    )
    guard.tampered = True  # type: ignore[attr-defined]


def test_every_message_process_starts_from_the_preloaded_untouched_state() -> None:
    VerifiedExecutor("ab" * 32).start()
    processes = multiprocessing.get_context("forkserver")
    queue: Queue[Any] = processes.Queue()
    seen = []
    for _ in range(2):
        process = processes.Process(target=_report_and_tamper, args=(queue,))
        process.start()
        seen.append(queue.get(timeout=600))
        process.join()
        assert process.exitcode == 0
    # Flower and torch were imported once, by the fork server; what the first process
    # changed is not in the second.
    assert seen == [{"preloaded": True, "torch": True, "tampered": False}] * 2
