"""The key holder decrypts only verified sums over >= k committed inputs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from strategy import (
    CiphertextSizeError,
    ContextMismatchError,
    DecryptRequest,
    DigestMismatchError,
    DisallowedOperationError,
    InsufficientInputsError,
    KeyHolder,
    KeyMaterial,
    MalformedCiphertextError,
    ReplayError,
    RoundManifest,
    UpdateCommitment,
    Wallet,
    WalletError,
)
from strategy.ckks import load_public_context
from strategy.ckks import sha256_hex as sha
from strategy.constants import KIND_INNER_PRODUCT, KIND_WEIGHTED_SUM
from strategy.packing import packing_for

TASK = "task-kh"
NUM_VALUES = 5000  # two chunks of 4096 (complex slots)
K = 3


def _commit(keys: KeyMaterial, node_id: int, chunks: list[bytes], rnd: int) -> UpdateCommitment:
    return UpdateCommitment(
        task_id=TASK,
        server_round=rnd,
        node_id=node_id,
        context_sha256=keys.context_sha256,
        weight=1.0,
        num_values=NUM_VALUES,
        chunk_sha256=tuple(sha(c) for c in chunks),
    )


def _updates(keys: KeyMaterial, rnd: int, n: int = 4) -> dict[int, tuple[np.ndarray, list[bytes]]]:
    public = load_public_context(keys.public_context)
    rng = np.random.default_rng(rnd)
    out = {}
    for node_id in range(1, n + 1):
        values = rng.normal(0, 1, NUM_VALUES)
        out[node_id] = (values, packing_for(public).encrypt(values))
    return out


def _sum_chunks(keys: KeyMaterial, inputs: dict[int, list[bytes]]) -> list[bytes]:
    public = load_public_context(keys.public_context)
    loaded = [packing_for(public).load(chunks, NUM_VALUES) for chunks in inputs.values()]
    return packing_for(public).serialize(packing_for(public).add(loaded))


def _request(
    keys: KeyMaterial, rnd: int, inputs: dict[int, list[bytes]], **overrides: object
) -> DecryptRequest:
    commitments = tuple(_commit(keys, node_id, c, rnd) for node_id, c in inputs.items())
    request = DecryptRequest(
        kind=KIND_WEIGHTED_SUM,
        manifest=RoundManifest(TASK, rnd, keys.context_sha256, commitments),
        input_node_ids=tuple(inputs),
        inputs=inputs,
        aggregate=_sum_chunks(keys, inputs),
    )
    return replace(request, **overrides)  # type: ignore[arg-type]


@pytest.fixture()
def holder(ckks_keys: KeyMaterial) -> KeyHolder:
    return KeyHolder(secret_context=ckks_keys.secret_context, min_inputs=K)


def test_key_holder_decrypts_verified_sum(ckks_keys: KeyMaterial, holder: KeyHolder) -> None:
    updates = _updates(ckks_keys, rnd=1)
    request = _request(ckks_keys, 1, {n: c for n, (_, c) in updates.items()})
    plain = holder.decrypt(request)
    expected = sum(values for values, _ in updates.values())
    assert np.max(np.abs(plain - expected)) < 1e-4


def test_key_holder_refuses_single_update_as_sum(ckks_keys: KeyMaterial, holder: KeyHolder) -> None:
    updates = _updates(ckks_keys, rnd=1)
    with pytest.raises(InsufficientInputsError):
        holder.decrypt(_request(ckks_keys, 1, {1: updates[1][1]}))


def test_key_holder_refuses_single_ciphertext_presented_as_aggregate(
    ckks_keys: KeyMaterial, holder: KeyHolder
) -> None:
    updates = _updates(ckks_keys, rnd=1)
    inputs = {n: c for n, (_, c) in updates.items()}
    with pytest.raises(DisallowedOperationError, match="not the sum"):
        holder.decrypt(_request(ckks_keys, 1, inputs, aggregate=inputs[2]))


def test_key_holder_refuses_sum_over_fewer_than_k(
    ckks_keys: KeyMaterial, holder: KeyHolder
) -> None:
    updates = _updates(ckks_keys, rnd=1)
    with pytest.raises(InsufficientInputsError):
        holder.decrypt(_request(ckks_keys, 1, {n: updates[n][1] for n in (1, 2)}))


def test_key_holder_refuses_repeated_input(ckks_keys: KeyMaterial, holder: KeyHolder) -> None:
    updates = _updates(ckks_keys, rnd=1)
    inputs = {n: c for n, (_, c) in updates.items()}
    request = _request(ckks_keys, 1, inputs, input_node_ids=(1, 1, 2))
    with pytest.raises(DisallowedOperationError, match="more than once"):
        holder.decrypt(request)
    cloned = {1: inputs[1], 2: inputs[1], 3: inputs[3]}
    with pytest.raises(DisallowedOperationError, match="same ciphertext"):
        holder.decrypt(_request(ckks_keys, 1, cloned))


def test_key_holder_refuses_digest_mismatch(ckks_keys: KeyMaterial, holder: KeyHolder) -> None:
    updates = _updates(ckks_keys, rnd=1)
    inputs = {n: c for n, (_, c) in updates.items()}
    request = _request(ckks_keys, 1, inputs)
    swapped = dict(inputs)
    swapped[3] = _updates(ckks_keys, rnd=9)[3][1]
    with pytest.raises(DigestMismatchError):
        holder.decrypt(replace(request, inputs=swapped, aggregate=_sum_chunks(ckks_keys, swapped)))


def test_key_holder_refuses_ciphertext_under_other_context(
    ckks_keys: KeyMaterial, other_ckks_keys: KeyMaterial, holder: KeyHolder
) -> None:
    updates = _updates(ckks_keys, rnd=1)
    inputs = {n: c for n, (_, c) in updates.items()}
    foreign = {n: c for n, (_, c) in _updates(other_ckks_keys, rnd=1).items()}
    honest_label = _request(other_ckks_keys, 1, foreign)
    with pytest.raises(ContextMismatchError):
        holder.decrypt(honest_label)
    # Same parameters under another key but labelled as ours cannot be told apart
    # (ciphertexts look uniformly random); it only turns the decrypted sum into noise,
    # revealing nothing about the honest inputs. Signed commitments pin who sent it.
    mixed = dict(inputs)
    mixed[4] = foreign[4]
    request = _request(ckks_keys, 1, mixed)
    plain = holder.decrypt(request)
    assert np.max(np.abs(plain - sum(updates[n][0] for n in (1, 2, 3)))) > 1.0


def test_key_holder_refuses_replay_from_earlier_round(
    ckks_keys: KeyMaterial, holder: KeyHolder
) -> None:
    round1 = {n: c for n, (_, c) in _updates(ckks_keys, rnd=1).items()}
    round2 = {n: c for n, (_, c) in _updates(ckks_keys, rnd=2).items()}
    stale = _request(ckks_keys, 1, round1)
    holder.decrypt(_request(ckks_keys, 2, round2))
    with pytest.raises(ReplayError):
        holder.decrypt(stale)
    # A round-1 commitment smuggled into a round-3 manifest.
    request = _request(ckks_keys, 3, round1)
    manifest = replace(
        request.manifest,
        commitments=(_commit(ckks_keys, 1, round1[1], 1), *request.manifest.commitments[1:]),
    )
    with pytest.raises(ReplayError):
        holder.decrypt(replace(request, manifest=manifest))


def test_key_holder_decrypts_a_round_only_once(ckks_keys: KeyMaterial, holder: KeyHolder) -> None:
    inputs = {n: c for n, (_, c) in _updates(ckks_keys, rnd=1).items()}
    holder.decrypt(_request(ckks_keys, 1, inputs))
    subset = {n: inputs[n] for n in (1, 2, 3)}
    with pytest.raises(DisallowedOperationError, match="already decrypted"):
        holder.decrypt(_request(ckks_keys, 1, subset))


def test_key_holder_refuses_malformed_bytes(ckks_keys: KeyMaterial, holder: KeyHolder) -> None:
    inputs = {n: c for n, (_, c) in _updates(ckks_keys, rnd=1).items()}
    request = _request(ckks_keys, 1, inputs)
    inputs[2] = [b"not a ciphertext", inputs[2][1]]
    commitments = tuple(_commit(ckks_keys, n, c, 1) for n, c in inputs.items())
    manifest = replace(request.manifest, commitments=commitments)
    with pytest.raises(MalformedCiphertextError):
        holder.decrypt(replace(request, manifest=manifest, inputs=inputs))


def test_key_holder_refuses_wrong_size(ckks_keys: KeyMaterial, holder: KeyHolder) -> None:
    inputs = {n: c for n, (_, c) in _updates(ckks_keys, rnd=1).items()}
    request = _request(ckks_keys, 1, inputs)
    inputs[2] = inputs[2][:1]
    commitments = tuple(_commit(ckks_keys, n, c, 1) for n, c in inputs.items())
    manifest = replace(request.manifest, commitments=commitments)
    with pytest.raises(CiphertextSizeError):
        holder.decrypt(replace(request, manifest=manifest, inputs=inputs))


def test_key_holder_with_aggregation_keys_refuses_scores(
    ckks_keys: KeyMaterial, holder: KeyHolder
) -> None:
    inputs = {n: c for n, (_, c) in _updates(ckks_keys, rnd=1).items()}
    holder.decrypt(_request(ckks_keys, 1, inputs))
    with pytest.raises(DisallowedOperationError, match="profile='scoring'"):
        holder.decrypt(_request(ckks_keys, 1, inputs, kind=KIND_INNER_PRODUCT))


def test_key_holder_with_signers_refuses_unsigned_or_foreign_inputs(
    ckks_keys: KeyMaterial,
) -> None:
    wallets = {n: Wallet.generate() for n in range(1, 5)}
    holder = KeyHolder(
        secret_context=ckks_keys.secret_context,
        min_inputs=K,
        allowed_signers=frozenset(w.address for w in wallets.values()),
    )
    inputs = {n: c for n, (_, c) in _updates(ckks_keys, rnd=1).items()}
    unsigned = _request(ckks_keys, 1, inputs)
    with pytest.raises(WalletError):
        holder.decrypt(unsigned)
    signed = tuple(c.signed_by(wallets[c.node_id]) for c in unsigned.manifest.commitments)
    padded = (*signed[:3], unsigned.manifest.commitments[3].signed_by(Wallet.generate()))
    with pytest.raises(WalletError):
        holder.decrypt(replace(unsigned, manifest=replace(unsigned.manifest, commitments=padded)))
    request = replace(unsigned, manifest=replace(unsigned.manifest, commitments=signed))
    assert (
        holder.decrypt(DecryptRequest.from_recorddict(request.to_recorddict())).size == NUM_VALUES
    )
