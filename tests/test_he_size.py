"""Bytes on the wire: an encrypted train reply is about 3x the float32 update.

Two reals per CKKS slot give 11.9 B per value (2.97x float32); a 100k update also pays
for its last, partly filled ciphertext and the signed commitment (3.05x measured). The
requirement is 6x; this test holds the packing to what it achieves.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flwr.app import ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.common.serde import recorddict_to_proto

from strategy import KeyMaterial, UpdateCommitment, Wallet, ckks_mod
from strategy.constants import (
    CONFIG_CONTEXT,
    CONFIG_CONTEXT_SHA256,
    CONFIG_MAX_ABS,
    CONFIG_SERVER_ROUND,
    CONFIG_TASK_ID,
    CONFIG_WEIGHT_SCALE,
    KEY_COMMITMENT_JSON,
    RECORD_COMMITMENT,
)
from tests.he_fixtures import make_model, perturbed

NUM_PARAMS = 100_000
MAX_BYTES_RATIO = 3.1


@pytest.mark.usefixtures("server_identity")
def test_signed_encrypted_reply_of_100k_update_is_at_most_3_1x_float32(
    ckks_keys: KeyMaterial, tmp_path: Path
) -> None:
    # A 784-126-10 MLP: 100,180 float32 parameters in four arrays.
    model = make_model({"w1": (784, 126), "b1": (126,), "w2": (126, 10), "b2": (10,)}, seed=0)
    num_params = sum(array.numpy().size for array in model.values())
    assert num_params >= NUM_PARAMS
    wallet_file = tmp_path / "id.json"
    wallet_file.write_text(json.dumps(list(Wallet.generate().keypair_bytes())))
    context = Context(1, 5, {"wallet-keypair": str(wallet_file)}, RecordDict(), {})
    config = ConfigRecord(
        {
            CONFIG_TASK_ID: "task-with-a-realistic-identifier-0001",
            CONFIG_CONTEXT: ckks_keys.public_context,
            CONFIG_CONTEXT_SHA256: ckks_keys.context_sha256,
            CONFIG_WEIGHT_SCALE: 0.01,
            CONFIG_MAX_ABS: 25.6,
            CONFIG_SERVER_ROUND: 12,
        }
    )
    message = Message(
        RecordDict({"arrays": model, "config": config}), dst_node_id=5, message_type="train"
    )
    trained = perturbed(model, seed=1, scale=0.01)

    def train(msg: Message, ctxt: Context) -> Message:
        metrics = MetricRecord({"num-examples": 6000, "train-loss": 0.31})
        return Message(RecordDict({"arrays": trained, "metrics": metrics}), reply_to=msg)

    reply = ckks_mod(message, context, train)

    commitment = UpdateCommitment.from_json(
        str(reply.content.config_records[RECORD_COMMITMENT][KEY_COMMITMENT_JSON])
    )
    assert commitment.has_valid_signature()
    reply_bytes = recorddict_to_proto(reply.content).ByteSize()
    float32_bytes = 4 * num_params
    assert reply_bytes <= MAX_BYTES_RATIO * float32_bytes, reply_bytes / float32_bytes
