"""The server's grid hands replies over as they arrive, and still honours the timeout."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from flwr.app import Message, RecordDict
from flwr.serverapp import Grid
from flwr.supercore.run import Run

from fl_app.server.prompt_grid import PromptGrid

pytestmark = pytest.mark.usefixtures("server_identity")


class _SlowNodes(Grid):
    """Nodes whose replies become pullable one per pull; node 0 never answers."""

    def __init__(self) -> None:
        self.pending: dict[str, Message] = {}
        self.pulled_ids: list[set[str]] = []

    def set_run(self, run: Run) -> None:
        raise NotImplementedError

    @property
    def run(self) -> Run:
        raise NotImplementedError

    def create_message(self, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        raise NotImplementedError

    def get_node_ids(self) -> Iterable[int]:
        return [0, 1, 2]

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        ids = []
        for index, message in enumerate(messages):
            message.metadata.__dict__["_message_id"] = f"m{index}"
            self.pending[f"m{index}"] = message
            ids.append(f"m{index}")
        return ids

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        wanted = set(message_ids)
        self.pulled_ids.append(wanted)
        ready = sorted(i for i in wanted if self.pending[i].metadata.dst_node_id != 0)
        if not ready:
            return []
        message = self.pending[ready[0]]
        return [Message(RecordDict(), reply_to=message)]

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        raise AssertionError("Flower's 3 s polling loop must not be used")


def _messages(*nodes: int) -> list[Message]:
    return [Message(RecordDict(), dst_node_id=n, message_type="train") for n in nodes]


def test_every_reply_is_returned_and_only_missing_ones_are_pulled_again() -> None:
    nodes = _SlowNodes()
    replies = list(PromptGrid(nodes, poll_s=0.0).send_and_receive(_messages(1, 2)))
    assert sorted(r.metadata.reply_to_message_id for r in replies) == ["m0", "m1"]
    assert nodes.pulled_ids == [{"m0", "m1"}, {"m1"}]


def test_a_node_that_never_answers_costs_the_timeout_not_the_run() -> None:
    nodes = _SlowNodes()
    replies = list(PromptGrid(nodes, poll_s=0.01).send_and_receive(_messages(0, 1), timeout=0.2))
    assert [r.metadata.reply_to_message_id for r in replies] == ["m1"]
    assert all(ids == {"m0"} for ids in nodes.pulled_ids[1:])
