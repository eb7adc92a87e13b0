"""The public CKKS context reaches each node once per run, and cannot be swapped after.

The strategy sends the context only in a node's first train message (and again after a
round without an accepted update from it); the node keeps the verified bytes in its
``Context.state`` and checks them against the announced fingerprint, the context it
accepted earlier in the run and its pin on every round.
"""

from __future__ import annotations

import numpy as np
import pytest
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.common.constant import ErrorCode

from strategy import ContextMismatchError, EncryptedFedAvg, KeyHolder, KeyMaterial, ckks_mod
from strategy.constants import (
    CONFIG_CONTEXT,
    CONFIG_CONTEXT_SHA256,
    CONFIG_MAX_ABS,
    CONFIG_SERVER_ROUND,
    CONFIG_TASK_ID,
    CONFIG_WEIGHT_SCALE,
    RECORD_UPDATE,
    STATE_PUBLIC_CONTEXT,
)
from tests.he_fixtures import FakeFederation, make_model, perturbed

SMALL = {"w": (3, 4), "b": (4,)}
NODES = [101, 102, 103, 104]


def _federation(keys: KeyMaterial) -> tuple[ArrayRecord, FakeFederation, EncryptedFedAvg]:
    global_model = make_model(SMALL, seed=0)
    federation = FakeFederation(
        local_models={n: perturbed(global_model, seed=n) for n in NODES},
        num_examples={n: 10 + 7 * i for i, n in enumerate(NODES)},
        key_holder=lambda: KeyHolder(secret_context=keys.secret_context, min_inputs=3),
        key_holder_node_id=NODES[0],
    )
    strategy = EncryptedFedAvg(
        public_context=keys.public_context,
        task_id="task-context-once",
        key_holder_node_id=NODES[0],
        min_decrypt_inputs=3,
        fraction_evaluate=0.0,
        min_train_nodes=len(NODES),
        min_available_nodes=len(NODES),
    )
    return global_model, federation, strategy


def _max_error_from_fedavg(arrays: ArrayRecord, federation: FakeFederation) -> float:
    """Largest distance of ``arrays`` from plaintext FedAvg of all nodes' local models."""
    total = sum(federation.num_examples.values())
    error = 0.0
    for key, array in arrays.items():
        expected = sum(
            federation.num_examples[n] * federation.local_models[n][key].numpy() for n in NODES
        )
        error = max(error, float(np.max(np.abs(array.numpy() - expected / total))))
    return error


def _carries_context(messages: list[Message]) -> dict[int, bool]:
    return {
        m.metadata.dst_node_id: CONFIG_CONTEXT in m.content.config_records["config"]
        for m in messages
    }


@pytest.mark.usefixtures("server_identity")
def test_context_travels_only_in_a_nodes_first_train_message(ckks_keys: KeyMaterial) -> None:
    model, federation, strategy = _federation(ckks_keys)
    for server_round in (1, 2, 3):
        messages = list(strategy.configure_train(server_round, model, ConfigRecord(), federation))
        assert _carries_context(messages) == dict.fromkeys(NODES, server_round == 1)
        for message in messages:
            config = message.content.config_records["config"]
            assert config[CONFIG_CONTEXT_SHA256] == ckks_keys.context_sha256
        arrays, _ = strategy.aggregate_train(server_round, federation.send_and_receive(messages))
        # Rounds 2 and 3 encrypt under the context held in the node state, correctly.
        assert arrays is not None
        assert _max_error_from_fedavg(arrays, federation) < 1e-5
        assert len(strategy.manifests[server_round].commitments) == len(NODES)
        model = arrays


@pytest.mark.usefixtures("server_identity")
def test_node_that_lost_its_state_says_so_and_gets_the_context_again(
    ckks_keys: KeyMaterial,
) -> None:
    model, federation, strategy = _federation(ckks_keys)
    messages = list(strategy.configure_train(1, model, ConfigRecord(), federation))
    arrays, _ = strategy.aggregate_train(1, federation.send_and_receive(messages))
    assert arrays is not None
    restarted = federation.contexts[103]
    federation.contexts[103] = Context(restarted.run_id, 103, {}, RecordDict(), {})

    messages = list(strategy.configure_train(2, arrays, ConfigRecord(), federation))
    assert not any(_carries_context(messages).values())
    replies = list(federation.send_and_receive(messages))
    lost = next(r for r in replies if r.metadata.src_node_id == 103)
    assert lost.has_error()
    assert lost.error.code == ErrorCode.MOD_FAILED_PRECONDITION
    assert "holds no public context" in lost.error.reason
    arrays, _ = strategy.aggregate_train(2, replies)
    assert arrays is not None  # the other three still meet k = 3
    assert [c.node_id for c in strategy.manifests[2].commitments] == [101, 102, 104]

    messages = list(strategy.configure_train(3, arrays, ConfigRecord(), federation))
    assert _carries_context(messages) == {101: False, 102: False, 103: True, 104: False}
    arrays, _ = strategy.aggregate_train(3, federation.send_and_receive(messages))
    assert arrays is not None
    assert [c.node_id for c in strategy.manifests[3].commitments] == NODES
    assert _max_error_from_fedavg(arrays, federation) < 1e-5


@pytest.mark.usefixtures("server_identity")
def test_dropped_node_is_sent_the_context_again(ckks_keys: KeyMaterial) -> None:
    model, federation, strategy = _federation(ckks_keys)
    federation.dropped = {104}
    messages = list(strategy.configure_train(1, model, ConfigRecord(), federation))
    arrays, _ = strategy.aggregate_train(1, federation.send_and_receive(messages))
    assert arrays is not None
    federation.dropped = set()
    messages = list(strategy.configure_train(2, arrays, ConfigRecord(), federation))
    assert _carries_context(messages) == {101: False, 102: False, 103: False, 104: True}


# The organisation as attacker: after round 1 it sends a context of its own making (whose
# secret key it holds) and announces its fingerprint, hoping nodes encrypt under it.


def _train_message(keys: KeyMaterial, server_round: int, *, send: bool) -> Message:
    config = ConfigRecord(
        {
            CONFIG_TASK_ID: "t",
            CONFIG_CONTEXT_SHA256: keys.context_sha256,
            CONFIG_WEIGHT_SCALE: 1.0,
            CONFIG_MAX_ABS: 64.0,
            CONFIG_SERVER_ROUND: server_round,
        }
    )
    if send:
        config[CONFIG_CONTEXT] = keys.public_context
    model = make_model({"w": (4,)}, seed=0)
    return Message(
        RecordDict({"arrays": model, "config": config}), dst_node_id=5, message_type="train"
    )


class _Trainer:
    """A train function that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, msg: Message, context: Context) -> Message:
        self.calls += 1
        model = make_model({"w": (4,)}, seed=1)
        metrics = MetricRecord({"num-examples": 10})
        return Message(RecordDict({"arrays": model, "metrics": metrics}), reply_to=msg)


@pytest.mark.parametrize("pinned", [True, False], ids=["pinned", "unpinned"])
@pytest.mark.usefixtures("server_identity")
def test_server_cannot_swap_the_context_mid_run(
    ckks_keys: KeyMaterial, other_ckks_keys: KeyMaterial, pinned: bool
) -> None:
    node_config = {"ckks-context-sha256": ckks_keys.context_sha256} if pinned else {}
    node = Context(1, 5, node_config, RecordDict(), {})
    trainer = _Trainer()
    reply = ckks_mod(_train_message(ckks_keys, 1, send=True), node, trainer)
    assert RECORD_UPDATE in reply.content
    reply = ckks_mod(_train_message(ckks_keys, 2, send=False), node, trainer)
    assert RECORD_UPDATE in reply.content
    assert trainer.calls == 2

    # Announced without the bytes: the node holds no such context and asks for it.
    reply = ckks_mod(_train_message(other_ckks_keys, 3, send=False), node, trainer)
    assert reply.has_error() and "holds no public context" in reply.error.reason
    # Sent with matching fingerprint: refused, before any training or encryption.
    with pytest.raises(ContextMismatchError, match="mid-run"):
        ckks_mod(_train_message(other_ckks_keys, 3, send=True), node, trainer)
    assert trainer.calls == 2
    # The node still holds only the task's context and goes on with it.
    assert list(node.state.config_records[STATE_PUBLIC_CONTEXT]) == [ckks_keys.context_sha256]
    reply = ckks_mod(_train_message(ckks_keys, 4, send=False), node, trainer)
    assert RECORD_UPDATE in reply.content


@pytest.mark.usefixtures("server_identity")
def test_pinned_node_refuses_a_swapped_context_after_losing_its_state(
    ckks_keys: KeyMaterial, other_ckks_keys: KeyMaterial
) -> None:
    node = Context(1, 5, {"ckks-context-sha256": ckks_keys.context_sha256}, RecordDict(), {})
    trainer = _Trainer()
    ckks_mod(_train_message(ckks_keys, 1, send=True), node, trainer)
    restarted = Context(1, 5, dict(node.node_config), RecordDict(), {})
    with pytest.raises(ContextMismatchError, match="pinned"):
        ckks_mod(_train_message(other_ckks_keys, 2, send=True), restarted, trainer)
    assert trainer.calls == 1
    assert STATE_PUBLIC_CONTEXT not in restarted.state


@pytest.mark.usefixtures("server_identity")
def test_held_context_is_hashed_again_every_round(
    ckks_keys: KeyMaterial, other_ckks_keys: KeyMaterial
) -> None:
    node = Context(1, 5, {}, RecordDict(), {})
    trainer = _Trainer()
    ckks_mod(_train_message(ckks_keys, 1, send=True), node, trainer)
    # Other bytes under the task's fingerprint (a corrupted or rewritten node state).
    node.state[STATE_PUBLIC_CONTEXT] = ConfigRecord(
        {ckks_keys.context_sha256: other_ckks_keys.public_context}
    )
    with pytest.raises(ContextMismatchError, match="does not hash to the announced"):
        ckks_mod(_train_message(ckks_keys, 2, send=False), node, trainer)
    assert trainer.calls == 1
