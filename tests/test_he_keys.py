"""Key separation: the aggregator holds only the public context; sealing to the wallet."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict

from strategy import (
    ContextMismatchError,
    EncryptedFedAvg,
    KeyHolder,
    KeyMaterial,
    MalformedReplyError,
    PlaintextOverflowError,
    SecretKeyExposedError,
    Wallet,
    WalletError,
    ckks_mod,
    load_public_context,
    seal_to_wallet,
)
from strategy.ckks import context_fingerprint
from strategy.constants import (
    CONFIG_CONTEXT,
    CONFIG_CONTEXT_SHA256,
    CONFIG_MAX_ABS,
    CONFIG_SERVER_ROUND,
    CONFIG_TASK_ID,
    CONFIG_WEIGHT_SCALE,
)
from strategy.packing import packing_for
from strategy.wallet import b58decode, b58encode
from tests.he_fixtures import make_model, perturbed


def test_server_context_has_no_secret_key(ckks_keys: KeyMaterial) -> None:
    context = load_public_context(ckks_keys.public_context)
    assert not context.is_private()
    assert not context.has_secret_key()


def test_server_cannot_decrypt_single_update(ckks_keys: KeyMaterial) -> None:
    context = load_public_context(ckks_keys.public_context)
    packing = packing_for(context)
    ciphertexts = packing.load(packing.encrypt(np.arange(8.0)), 8)
    with pytest.raises(ValueError, match="doesn't support decryption"):
        packing.decrypt(ciphertexts, 8)


def test_server_refuses_context_with_secret_key(ckks_keys: KeyMaterial) -> None:
    with pytest.raises(SecretKeyExposedError):
        EncryptedFedAvg(public_context=ckks_keys.secret_context, task_id="t", key_holder_node_id=1)


def test_key_holder_needs_secret_context(ckks_keys: KeyMaterial) -> None:
    with pytest.raises(ContextMismatchError):
        KeyHolder(secret_context=ckks_keys.public_context, min_inputs=3)
    with pytest.raises(ValueError, match="at least 2"):
        KeyHolder(secret_context=ckks_keys.secret_context, min_inputs=1)


def test_secret_context_opens_only_with_key_holder_wallet(
    ckks_keys: KeyMaterial, tmp_path: Path
) -> None:
    wallet = Wallet.generate()
    keypair_file = tmp_path / "id.json"
    keypair_file.write_text(json.dumps(list(wallet.keypair_bytes())))
    sealed = seal_to_wallet(ckks_keys.secret_context, wallet.address)
    assert ckks_keys.secret_context not in sealed
    loaded = Wallet.from_keypair_file(keypair_file)
    assert loaded.address == wallet.address
    holder = KeyHolder.from_sealed(sealed, loaded, min_inputs=3)
    assert holder.context_sha256 == ckks_keys.context_sha256
    with pytest.raises(WalletError, match="another key holder"):
        Wallet.generate().open_sealed(sealed)


def test_base58_round_trip_and_bad_keypair() -> None:
    data = b"\x00\x00" + bytes(range(1, 40))
    assert b58decode(b58encode(data)) == data
    assert b58encode(bytes(32)) == "1" * 32
    with pytest.raises(WalletError):
        Wallet.from_keypair_bytes(bytes(64))


def _train_message(config: ConfigRecord, model: ArrayRecord) -> Message:
    return Message(
        RecordDict({"arrays": model, "config": config}), dst_node_id=5, message_type="train"
    )


def _reply_with(model: ArrayRecord, num_examples: int):  # type: ignore[no-untyped-def]
    def train(msg: Message, context: Context) -> Message:
        metrics = MetricRecord({"num-examples": num_examples})
        return Message(RecordDict({"arrays": model, "metrics": metrics}), reply_to=msg)

    return train


def _config(keys: KeyMaterial, max_abs: float = 64.0) -> ConfigRecord:
    return ConfigRecord(
        {
            CONFIG_TASK_ID: "t",
            CONFIG_CONTEXT: keys.public_context,
            CONFIG_CONTEXT_SHA256: keys.context_sha256,
            CONFIG_WEIGHT_SCALE: 1.0,
            CONFIG_MAX_ABS: max_abs,
            CONFIG_SERVER_ROUND: 1,
        }
    )


@pytest.mark.usefixtures("server_identity")
def test_mod_refuses_train_without_ckks_config(ckks_keys: KeyMaterial) -> None:
    model = make_model({"w": (4,)}, seed=0)
    context = Context(1, 5, {}, RecordDict(), {})
    message = _train_message(ConfigRecord({"lr": 0.1}), model)
    with pytest.raises(MalformedReplyError, match="not sent in plaintext"):
        ckks_mod(message, context, _reply_with(model, 10))


@pytest.mark.usefixtures("server_identity")
def test_mod_refuses_context_other_than_pinned(
    ckks_keys: KeyMaterial, other_ckks_keys: KeyMaterial
) -> None:
    model = make_model({"w": (4,)}, seed=0)
    pinned = Context(
        1, 5, {"ckks-context-sha256": other_ckks_keys.context_sha256}, RecordDict(), {}
    )
    with pytest.raises(ContextMismatchError, match="pinned"):
        ckks_mod(_train_message(_config(ckks_keys), model), pinned, _reply_with(model, 10))
    leaked = _config(ckks_keys)
    leaked[CONFIG_CONTEXT] = ckks_keys.secret_context
    leaked[CONFIG_CONTEXT_SHA256] = context_fingerprint(ckks_keys.secret_context)
    plain = Context(1, 5, {}, RecordDict(), {})
    with pytest.raises(SecretKeyExposedError):
        ckks_mod(_train_message(leaked, model), plain, _reply_with(model, 10))


@pytest.mark.usefixtures("server_identity")
def test_mod_refuses_update_beyond_modulus_headroom(ckks_keys: KeyMaterial) -> None:
    model = make_model({"w": (4,)}, seed=0)
    context = Context(1, 5, {}, RecordDict(), {})
    trained = perturbed(model, seed=1, scale=1.0)
    with pytest.raises(PlaintextOverflowError, match="weight_scale"):
        ckks_mod(_train_message(_config(ckks_keys), model), context, _reply_with(trained, 1000))
