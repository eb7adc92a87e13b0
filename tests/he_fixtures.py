"""Shared fixtures and fakes for the encrypted-aggregation tests (tests/test_he_*.py)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid
from flwr.supercore.task_identity import TaskIdentity

from strategy import (
    KeyHolder,
    KeyMaterial,
    Wallet,
    ckks_mod,
    generate_keys,
    register_key_holder,
    signing_ckks_mod,
)
from strategy.ckks_mod import CONTEXT_CACHE_ENV
from strategy.threshold.member_app import MemberLoader, register_committee_member

__all__ = ["ckks_keys", "other_ckks_keys", "scoring_ckks_keys", "server_identity"]

SERVER_NODE_ID = 0
RUN_ID = 1
_RUN_IDS = itertools.count(1000)

ReplyTamper = Callable[[Message], Message]


@pytest.fixture(scope="session")
def ckks_keys() -> KeyMaterial:
    """One CKKS key pair for the whole session (key generation costs ~0.1 s)."""
    return generate_keys()


@pytest.fixture(scope="session")
def other_ckks_keys() -> KeyMaterial:
    """A second key pair with the same parameters, for wrong-context cases."""
    return generate_keys()


@pytest.fixture(scope="session")
def scoring_ckks_keys() -> KeyMaterial:
    """A key pair of the scoring profile (one multiplication, evaluation keys)."""
    return generate_keys(profile="scoring")


@pytest.fixture(autouse=True)
def context_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache of verified public contexts, for the test and the nodes it starts."""
    path = tmp_path / "context-cache"
    monkeypatch.setenv(CONTEXT_CACHE_ENV, str(path))
    return path


@pytest.fixture()
def server_identity() -> Iterator[None]:
    """Let the test create server-side Messages outside a Flower run."""
    TaskIdentity.run_id = RUN_ID
    TaskIdentity.node_id = SERVER_NODE_ID
    TaskIdentity.task_id = 1
    yield
    TaskIdentity.run_id = None
    TaskIdentity.node_id = None
    TaskIdentity.task_id = None


def make_model(shapes: dict[str, tuple[int, ...]], seed: int) -> ArrayRecord:
    """A model with float32 arrays of the given shapes."""
    rng = np.random.default_rng(seed)
    return ArrayRecord(
        {
            name: Array(rng.normal(0, 0.5, shape).astype(np.float32))
            for name, shape in shapes.items()
        }
    )


def perturbed(model: ArrayRecord, seed: int, scale: float = 0.05) -> ArrayRecord:
    """A locally 'trained' copy of ``model``: the global weights plus a small update."""
    rng = np.random.default_rng(seed)
    return ArrayRecord(
        {
            key: Array((a.numpy() + rng.normal(0, scale, a.numpy().shape)).astype(a.numpy().dtype))
            for key, a in model.items()
        }
    )


class FakeFederation(Grid):
    """In-process Grid: nodes run a ClientApp with ``ckks_mod`` and the key-holder queries
    (or, with ``members``, the committee members' queries).

    Each node's train function returns a preset local model and number of examples.
    ``dropped`` nodes never answer, nor does a node to a message type in ``silent``
    (pairs of node id and message type); ``tamper`` rewrites a node's train reply in
    transit. ``traffic`` holds every message sent and received, as the organisation's
    SuperLink would see it. With ``wallets``, nodes sign their commitments.
    """

    def __init__(
        self,
        *,
        local_models: dict[int, ArrayRecord],
        num_examples: dict[int, int],
        key_holder: Callable[[], KeyHolder] | None = None,
        key_holder_node_id: int | None = None,
        wallets: dict[int, Wallet] | None = None,
        members: MemberLoader | None = None,
    ) -> None:
        self.local_models = local_models
        self.num_examples = num_examples
        self.dropped: set[int] = set()
        self.silent: set[tuple[int, str]] = set()
        self.tamper: dict[int, ReplyTamper] = {}
        self.train_replies: list[Message] = []
        self.traffic: list[Message] = []
        self._replies: dict[str, Message] = {}
        if wallets is None:
            self.app = ClientApp(mods=[ckks_mod])
        else:
            self.app = ClientApp(mods=[signing_ckks_mod(lambda c: wallets.get(c.node_id))])
        holder_cache: dict[int, KeyHolder] = {}

        def load(context: Context) -> KeyHolder | None:
            if key_holder is None or context.node_id != key_holder_node_id:
                return None
            return holder_cache.setdefault(0, key_holder())

        @self.app.train()
        def train(msg: Message, context: Context) -> Message:
            node_id = context.node_id
            metrics = MetricRecord({"num-examples": self.num_examples[node_id], "loss": 0.5})
            content = RecordDict({"arrays": self.local_models[node_id], "metrics": metrics})
            return Message(content, reply_to=msg)

        register_key_holder(self.app, load)
        if members is not None:
            register_committee_member(self.app, members)
        # A fresh run id per federation, as key holders are cached per (run, node).
        run_id = next(_RUN_IDS)
        self.contexts = {
            node_id: Context(run_id, node_id, {}, RecordDict(), {}) for node_id in local_models
        }

    def get_node_ids(self) -> Iterable[int]:
        return list(self.local_models)

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        replies = []
        for msg in messages:
            node_id = msg.metadata.dst_node_id
            self.traffic.append(msg)
            if node_id in self.dropped or (node_id, msg.metadata.message_type) in self.silent:
                continue
            reply = self.app(msg, self.contexts[node_id])
            self.traffic.append(reply)
            if msg.metadata.message_type == "train":
                reply = self.tamper.get(node_id, lambda m: m)(reply)
                self.train_replies.append(reply)
            replies.append(reply)
        return replies

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        """Deliver ``messages`` at once (through ``send_and_receive``); keep the replies."""
        messages = list(messages)
        for message in messages:
            message.metadata.__dict__["_message_id"] = message.object_id
        for reply in self.send_and_receive(messages):
            self._replies[reply.metadata.reply_to_message_id] = reply
        return [m.metadata.message_id for m in messages]

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return [self._replies.pop(i) for i in message_ids if i in self._replies]

    # The strategies under test use only the methods above.
    def set_run(self, run_id: int) -> None:  # type: ignore[override]
        raise NotImplementedError

    @property
    def run(self):  # type: ignore[no-untyped-def,override]
        raise NotImplementedError

    def create_message(self, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        raise NotImplementedError
