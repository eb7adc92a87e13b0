"""Flower's grid with replies collected as they arrive.

On the Deployment Engine the ServerApp talks to its SuperLink through Flower's
``HttpGrid``, whose ``send_and_receive`` sleeps 3 s between pulls. A staked round is
four exchanges (stake proofs, train, decryption, evaluation), so the server idled about
1.5 s per exchange after the last reply was in. Flower offers no setting for that
interval; this grid delegates everything to Flower's and only pulls more often.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from flwr.app import Message, RecordDict
from flwr.proto.node_pb2 import NodeInfo
from flwr.serverapp import Grid
from flwr.supercore.run import Run

__all__ = ["PromptGrid"]

POLL_S = 0.2
"""Seconds between pulls for replies: one small request to the SuperLink each."""


class PromptGrid(Grid):
    """``grid``, pulling replies every ``poll_s`` seconds instead of every 3 s."""

    def __init__(self, grid: Grid, poll_s: float = POLL_S) -> None:
        self._grid = grid
        self._poll_s = poll_s

    def set_run(self, run: Run) -> None:
        self._grid.set_run(run)

    @property
    def run(self) -> Run:
        return self._grid.run

    def create_message(
        self,
        content: RecordDict,
        message_type: str,
        dst_node_id: int,
        group_id: str,
        ttl: float | None = None,
    ) -> Message:
        return self._grid.create_message(content, message_type, dst_node_id, group_id, ttl)

    def get_node_ids(self) -> Iterable[int]:
        return self._grid.get_node_ids()

    def get_nodes(self) -> Iterable[NodeInfo]:
        return self._grid.get_nodes()

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        return self._grid.push_messages(messages)

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return self._grid.pull_messages(message_ids)

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        """Push ``messages``; return their replies once all are in or ``timeout`` passed."""
        waiting = set(self.push_messages(messages))
        deadline = None if timeout is None else time.monotonic() + timeout
        replies: list[Message] = []
        while True:
            pulled = list(self.pull_messages(waiting))
            replies.extend(pulled)
            waiting -= {reply.metadata.reply_to_message_id for reply in pulled}
            if not waiting or (deadline is not None and time.monotonic() >= deadline):
                return replies
            time.sleep(self._poll_s)
