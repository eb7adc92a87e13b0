"""EncryptedFedAvg end to end in-process: equality with FedAvg, dropouts, bad replies."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict
from flwr.serverapp.strategy import FedAvg

from strategy import EncryptedFedAvg, KeyHolder, KeyMaterial, generate_keys
from strategy.ckks import chunks_to_arrayrecord, load_public_context
from strategy.constants import RECORD_UPDATE
from strategy.packing import packing_for
from tests.he_fixtures import FakeFederation, make_model, perturbed

SMALL = {"w": (3, 4), "b": (4,)}
MULTI_CHUNK = {"conv": (8, 3, 5, 5), "fc": (2600,), "bias": (7,)}  # 3207 values: 2 chunks
TASK = "task-test"


def _federation(keys: KeyMaterial, shapes: dict, num_nodes: int, k: int = 3):
    global_model = make_model(shapes, seed=0)
    node_ids = [101 + i for i in range(num_nodes)]
    federation = FakeFederation(
        local_models={n: perturbed(global_model, seed=n) for n in node_ids},
        num_examples={n: 10 + 7 * i for i, n in enumerate(node_ids)},
        key_holder=lambda: KeyHolder(secret_context=keys.secret_context, min_inputs=k),
        key_holder_node_id=node_ids[0],
    )
    strategy = EncryptedFedAvg(
        public_context=keys.public_context,
        task_id=TASK,
        key_holder_node_id=node_ids[0],
        min_decrypt_inputs=k,
        fraction_evaluate=0.0,
        min_train_nodes=num_nodes,
        min_available_nodes=num_nodes,
    )
    return global_model, federation, strategy


def _round(strategy: EncryptedFedAvg, federation: FakeFederation, model: ArrayRecord, rnd: int):
    messages = strategy.configure_train(rnd, model, ConfigRecord(), federation)
    replies = federation.send_and_receive(messages)
    return strategy.aggregate_train(rnd, replies)


def _plain_fedavg(federation: FakeFederation, node_ids: list[int]) -> ArrayRecord:
    replies = [
        RecordDict(
            {
                "arrays": federation.local_models[n],
                "metrics": MetricRecord({"num-examples": federation.num_examples[n]}),
            }
        )
        for n in node_ids
    ]

    class _Reply:
        def __init__(self, content: RecordDict) -> None:
            self.content = content

        def has_error(self) -> bool:
            return False

    arrays, _ = FedAvg().aggregate_train(1, [_Reply(r) for r in replies])  # type: ignore[misc]
    assert arrays is not None
    return arrays


def _max_diff(a: ArrayRecord, b: ArrayRecord) -> float:
    assert list(a.keys()) == list(b.keys())
    return max(float(np.max(np.abs(a[k].numpy() - b[k].numpy()))) for k in a)


@pytest.mark.parametrize("shapes", [SMALL, MULTI_CHUNK], ids=["small", "multi-chunk"])
@pytest.mark.usefixtures("server_identity")
def test_encrypted_fedavg_equals_plaintext_fedavg(ckks_keys: KeyMaterial, shapes: dict) -> None:
    global_model, federation, strategy = _federation(ckks_keys, shapes, num_nodes=4)
    arrays, metrics = _round(strategy, federation, global_model, 1)
    assert arrays is not None and metrics is not None
    expected = _plain_fedavg(federation, list(federation.local_models))
    assert _max_diff(arrays, expected) < 1e-5
    assert metrics["loss"] == pytest.approx(0.5)
    assert len(strategy.outcomes[1].manifest.commitments) == 4


@pytest.mark.usefixtures("server_identity")
def test_server_receives_no_plaintext_update(ckks_keys: KeyMaterial) -> None:
    global_model, federation, strategy = _federation(ckks_keys, SMALL, num_nodes=3)
    _round(strategy, federation, global_model, 1)
    for reply in federation.train_replies:
        assert set(reply.content.array_records) == {RECORD_UPDATE}


@pytest.mark.usefixtures("server_identity")
def test_dropout_with_k_replies_still_aggregates(ckks_keys: KeyMaterial) -> None:
    global_model, federation, strategy = _federation(ckks_keys, SMALL, num_nodes=5, k=3)
    federation.dropped = {104, 105}
    arrays, _ = _round(strategy, federation, global_model, 1)
    assert arrays is not None
    assert _max_diff(arrays, _plain_fedavg(federation, [101, 102, 103])) < 1e-5


@pytest.mark.usefixtures("server_identity")
def test_dropout_below_k_skips_round_with_log(
    ckks_keys: KeyMaterial, caplog: pytest.LogCaptureFixture
) -> None:
    global_model, federation, strategy = _federation(ckks_keys, SMALL, num_nodes=4, k=3)
    federation.dropped = {103, 104}
    with caplog.at_level(logging.WARNING, logger="flwr"):
        arrays, metrics = _round(strategy, federation, global_model, 1)
    assert arrays is None and metrics is None
    assert "Round 1 skipped: 2 valid encrypted updates, 3 needed" in caplog.text


def _replace_update(reply: Message, chunks: list[bytes]) -> Message:
    reply.content[RECORD_UPDATE] = chunks_to_arrayrecord(chunks)
    return reply


@pytest.mark.usefixtures("server_identity")
def test_bad_replies_are_dropped_with_reason_and_round_goes_on(
    ckks_keys: KeyMaterial, other_ckks_keys: KeyMaterial, caplog: pytest.LogCaptureFixture
) -> None:
    global_model, federation, strategy = _federation(ckks_keys, SMALL, num_nodes=8, k=3)
    stale: dict[str, Message] = {}

    def corrupt(reply: Message) -> Message:
        chunk = bytes(reply.content[RECORD_UPDATE]["0"].data)
        return _replace_update(reply, [chunk[:100]])

    def other_context(reply: Message) -> Message:
        foreign = load_public_context(other_ckks_keys.public_context)
        return _replace_update(reply, packing_for(foreign).encrypt(np.zeros(16)))

    def plaintext(reply: Message) -> Message:
        reply.content["arrays"] = ArrayRecord({"w": Array(np.zeros(3))})
        return reply

    def replay(reply: Message) -> Message:
        stale.setdefault("round1", reply)
        return stale["round1"]

    federation.tamper = {102: corrupt, 103: other_context, 104: plaintext, 105: replay}
    _round(strategy, federation, global_model, 1)
    with caplog.at_level(logging.WARNING, logger="flwr"):
        arrays, _ = _round(strategy, federation, global_model, 2)
    assert arrays is not None
    manifest = strategy.outcomes[2].manifest
    assert [c.node_id for c in manifest.commitments] == [101, 106, 107, 108]
    assert _max_diff(arrays, _plain_fedavg(federation, [101, 106, 107, 108])) < 1e-5
    assert "node 102: DigestMismatchError" in caplog.text
    assert "node 103: DigestMismatchError" in caplog.text
    assert "node 104: MalformedReplyError" in caplog.text
    assert "node 105: ReplayError" in caplog.text


@pytest.mark.usefixtures("server_identity")
def test_wrong_size_and_undecodable_ciphertexts_are_dropped(
    ckks_keys: KeyMaterial, caplog: pytest.LogCaptureFixture
) -> None:
    """Ciphertexts that match their commitment but are not valid updates are dropped."""
    from dataclasses import replace

    from strategy.ckks import sha256_hex
    from strategy.constants import KEY_COMMITMENT_JSON, RECORD_COMMITMENT
    from strategy.manifest import UpdateCommitment

    global_model, federation, strategy = _federation(ckks_keys, SMALL, num_nodes=5, k=3)
    public = load_public_context(ckks_keys.public_context)

    def recommit(reply: Message, chunks: list[bytes]) -> Message:
        record = reply.content[RECORD_COMMITMENT]
        commitment = UpdateCommitment.from_json(str(record[KEY_COMMITMENT_JSON]))
        commitment = replace(commitment, chunk_sha256=tuple(sha256_hex(c) for c in chunks))
        record[KEY_COMMITMENT_JSON] = commitment.to_json()
        return _replace_update(reply, chunks)

    federation.tamper = {
        102: lambda r: recommit(r, packing_for(public).encrypt(np.zeros(5000))),
        103: lambda r: recommit(r, [b"\x00" * 64]),
    }
    with caplog.at_level(logging.WARNING, logger="flwr"):
        arrays, _ = _round(strategy, federation, global_model, 1)
    assert arrays is not None
    assert [c.node_id for c in strategy.outcomes[1].manifest.commitments] == [101, 104, 105]
    assert "node 102: CiphertextSizeError" in caplog.text
    assert "node 103: MalformedCiphertextError" in caplog.text


@pytest.mark.usefixtures("server_identity")
def test_round_skipped_when_key_holder_refuses(caplog: pytest.LogCaptureFixture) -> None:
    keys = generate_keys()
    global_model, federation, strategy = _federation(keys, SMALL, num_nodes=3, k=3)
    strategy.min_decrypt_inputs = 2
    federation.dropped = {103}
    with caplog.at_level(logging.WARNING, logger="flwr"):
        arrays, _ = _round(strategy, federation, global_model, 1)
    assert arrays is None
    assert "KeyHolderError: key holder refused: InsufficientInputsError" in caplog.text
