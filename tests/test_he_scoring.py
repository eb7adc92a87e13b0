"""Contribution scalars: computed and decrypted by the key holder, never an update.

Tolerance. The scalars are compared with plaintext within ``1e-3 * ||w_i|| * ||g0||``
for ``<w_i, g0>`` (a cosine error of 1e-3) and ``1e-3 * ||w_i||^2`` for the squared
norm. CKKS noise of a fresh ciphertext at scale 2^28 is about 3e-6 per slot; the
products are summed before any rescale, so the measured errors are near 1e-5 relative
(``strategy.ckks``). 1e-3 is two orders above that and far below what changes a
ranking: scores compare cosines that differ by 1e-2 or more between participants.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from flwr.app import ArrayRecord, ConfigRecord, Message

from strategy import (
    ContextMismatchError,
    DecryptRequest,
    DigestMismatchError,
    DisallowedOperationError,
    EncryptedFedAvg,
    InsufficientInputsError,
    KeyHolder,
    KeyMaterial,
    RoundManifest,
    UpdateCommitment,
)
from strategy.ckks import (
    flatten_arrays,
    load_public_context,
    sha256_hex,
)
from strategy.constants import (
    CONFIG_REFERENCE_SHA256,
    KEY_COMMITMENT_JSON,
    KIND_INNER_PRODUCT,
    KIND_WEIGHTED_SUM,
    RECORD_COMMITMENT,
)
from strategy.contribution import RoundScalars
from strategy.exceptions import ReferenceMismatchError
from strategy.packing import packing_for
from strategy.reference import reference_sha256
from strategy.round_outcome import RoundOutcome
from tests.he_fixtures import FakeFederation, make_model, perturbed

TASK = "task-scores"
NUM_VALUES = 2500  # two chunks
K = 3
TOLERANCE = 1e-3
MULTI_CHUNK = {"conv": (8, 3, 5, 5), "fc": (2600,), "bias": (7,)}


def _reference(seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.05, NUM_VALUES)


class _Round:
    """Four committed updates of one round, with the reference they committed to."""

    def __init__(self, keys: KeyMaterial, rnd: int, reference: np.ndarray) -> None:
        public = load_public_context(keys.public_context)
        rng = np.random.default_rng(rnd)
        self.keys, self.rnd, self.reference = keys, rnd, reference
        self.values = {n: rng.normal(0, 0.02, NUM_VALUES) for n in range(1, 5)}
        self.inputs = {n: packing_for(public).encrypt(v) for n, v in self.values.items()}
        self.manifest = RoundManifest(
            TASK,
            rnd,
            keys.context_sha256,
            tuple(
                UpdateCommitment(
                    task_id=TASK,
                    server_round=rnd,
                    node_id=n,
                    context_sha256=keys.context_sha256,
                    weight=1.0,
                    num_values=NUM_VALUES,
                    chunk_sha256=tuple(sha256_hex(c) for c in chunks),
                    reference_sha256=reference_sha256(reference),
                )
                for n, chunks in self.inputs.items()
            ),
        )

    def sum_request(self) -> DecryptRequest:
        public = load_public_context(self.keys.public_context)
        loaded = [packing_for(public).load(c, NUM_VALUES) for c in self.inputs.values()]
        return DecryptRequest(
            kind=KIND_WEIGHTED_SUM,
            manifest=self.manifest,
            input_node_ids=tuple(self.inputs),
            inputs=self.inputs,
            aggregate=packing_for(public).serialize(packing_for(public).add(loaded)),
        )

    def score_request(self, **overrides: object) -> DecryptRequest:
        request = DecryptRequest(
            kind=KIND_INNER_PRODUCT,
            manifest=self.manifest,
            input_node_ids=tuple(self.inputs),
            inputs=self.inputs,
            aggregate=[],
            reference=self.reference,
        )
        return replace(request, **overrides)  # type: ignore[arg-type]


@pytest.fixture()
def scorer(scoring_ckks_keys: KeyMaterial) -> KeyHolder:
    return KeyHolder(secret_context=scoring_ckks_keys.secret_context, min_inputs=K)


def test_key_holder_scalars_equal_plaintext(
    scoring_ckks_keys: KeyMaterial, scorer: KeyHolder
) -> None:
    round_ = _Round(scoring_ckks_keys, 1, _reference())
    scorer.decrypt(round_.sum_request())
    request = DecryptRequest.from_recorddict(round_.score_request().to_recorddict())
    scalars = scorer.decrypt(request)
    assert scalars.shape == (4, 2)
    g0 = round_.reference
    for (inner, square), node_id in zip(scalars, request.input_node_ids, strict=True):
        w = round_.values[node_id]
        norm = float(np.linalg.norm(w))
        assert abs(inner - w @ g0) <= TOLERANCE * norm * np.linalg.norm(g0)
        assert abs(square - w @ w) <= TOLERANCE * norm**2


def test_key_holder_refuses_scores_before_the_sum(
    scoring_ckks_keys: KeyMaterial, scorer: KeyHolder
) -> None:
    round_ = _Round(scoring_ckks_keys, 1, _reference())
    with pytest.raises(DisallowedOperationError, match="sum has not been decrypted"):
        scorer.decrypt(round_.score_request())


def test_key_holder_scores_a_round_only_once(
    scoring_ckks_keys: KeyMaterial, scorer: KeyHolder
) -> None:
    round_ = _Round(scoring_ckks_keys, 1, _reference())
    scorer.decrypt(round_.sum_request())
    scorer.decrypt(round_.score_request())
    with pytest.raises(DisallowedOperationError, match="already scored"):
        scorer.decrypt(round_.score_request())


def test_key_holder_refuses_reference_other_than_committed(
    scoring_ckks_keys: KeyMaterial, scorer: KeyHolder
) -> None:
    round_ = _Round(scoring_ckks_keys, 1, _reference())
    scorer.decrypt(round_.sum_request())
    with pytest.raises(ReferenceMismatchError, match="did not commit"):
        scorer.decrypt(round_.score_request(reference=_reference(seed=8)))
    with pytest.raises(ReferenceMismatchError, match="no reference"):
        scorer.decrypt(round_.score_request(reference=None))
    # The refusals did not use up the round.
    assert scorer.decrypt(round_.score_request()).shape == (4, 2)


def test_key_holder_refuses_a_probe_as_reference(
    scoring_ckks_keys: KeyMaterial, scorer: KeyHolder
) -> None:
    probe = np.zeros(NUM_VALUES)
    probe[17] = 1.0
    round_ = _Round(scoring_ckks_keys, 1, probe)
    scorer.decrypt(round_.sum_request())
    with pytest.raises(ReferenceMismatchError, match="one coordinate"):
        scorer.decrypt(round_.score_request())


def test_key_holder_refuses_scores_over_fewer_than_k_or_other_inputs(
    scoring_ckks_keys: KeyMaterial, scorer: KeyHolder
) -> None:
    round_ = _Round(scoring_ckks_keys, 1, _reference())
    scorer.decrypt(round_.sum_request())
    two = {n: round_.inputs[n] for n in (1, 2)}
    with pytest.raises(InsufficientInputsError):
        scorer.decrypt(round_.score_request(input_node_ids=(1, 2), inputs=two))
    three = {n: round_.inputs[n] for n in (1, 2, 3)}
    with pytest.raises(DisallowedOperationError, match="exactly the committed inputs"):
        scorer.decrypt(round_.score_request(input_node_ids=(1, 2, 3), inputs=three))


def test_key_holder_refuses_scores_on_digest_mismatch(
    scoring_ckks_keys: KeyMaterial, scorer: KeyHolder
) -> None:
    round_ = _Round(scoring_ckks_keys, 1, _reference())
    scorer.decrypt(round_.sum_request())
    swapped = dict(round_.inputs)
    swapped[3] = _Round(scoring_ckks_keys, 9, _reference()).inputs[3]
    with pytest.raises(DigestMismatchError):
        scorer.decrypt(round_.score_request(inputs=swapped))


def test_scoring_needs_keys_with_a_multiplication(ckks_keys: KeyMaterial) -> None:
    with pytest.raises(ContextMismatchError, match="profile='scoring'"):
        EncryptedFedAvg(
            public_context=ckks_keys.public_context,
            task_id=TASK,
            key_holder_node_id=1,
            reference_update_fn=lambda rnd, arrays: np.zeros(1),
        )


def _scored_federation(keys: KeyMaterial) -> tuple[ArrayRecord, FakeFederation, EncryptedFedAvg]:
    global_model = make_model(MULTI_CHUNK, seed=0)
    node_ids = [101, 102, 103, 104]
    federation = FakeFederation(
        local_models={n: perturbed(global_model, seed=n, scale=0.02) for n in node_ids},
        num_examples={n: 10 + 7 * i for i, n in enumerate(node_ids)},
        key_holder=lambda: KeyHolder(secret_context=keys.secret_context, min_inputs=K),
        key_holder_node_id=node_ids[0],
    )
    # The organisation's reference: a fixed 'trained' copy of the global model.
    reference_model = perturbed(global_model, seed=99, scale=0.02)

    def reference_update(server_round: int, arrays: ArrayRecord) -> np.ndarray:
        return flatten_arrays(reference_model) - flatten_arrays(arrays)

    strategy = EncryptedFedAvg(
        public_context=keys.public_context,
        task_id=TASK,
        key_holder_node_id=node_ids[0],
        min_decrypt_inputs=K,
        weight_scale=0.05,
        fraction_evaluate=0.0,
        min_train_nodes=len(node_ids),
        min_available_nodes=len(node_ids),
        reference_update_fn=reference_update,
    )
    return global_model, federation, strategy


@pytest.mark.usefixtures("server_identity")
def test_strategy_collects_scalars_without_a_secret_key(scoring_ckks_keys: KeyMaterial) -> None:
    global_model, federation, strategy = _scored_federation(scoring_ckks_keys)
    messages = list(strategy.configure_train(1, global_model, ConfigRecord(), federation))
    arrays, _ = strategy.aggregate_train(1, federation.send_and_receive(messages))
    assert arrays is not None
    assert not strategy._packing.context.is_private()
    outcome = strategy.outcomes[1]
    g0 = outcome.reference_update
    assert g0 is not None
    assert messages[0].content["config"][CONFIG_REFERENCE_SHA256] == reference_sha256(g0)
    assert outcome.reference_norm == pytest.approx(np.linalg.norm(g0))
    scalars = {int(node): x for node, x in outcome.scalars.items()}
    assert sorted(scalars) == sorted(federation.local_models)
    global_flat = flatten_arrays(global_model)
    for node_id, x in scalars.items():
        n = federation.num_examples[node_id]
        w = n * 0.05 * (flatten_arrays(federation.local_models[node_id]) - global_flat)
        assert x.claimed_examples == n
        assert abs(x.reference_inner - w @ g0) <= TOLERANCE * np.linalg.norm(w) * np.linalg.norm(g0)
        assert abs(x.squared_norm - w @ w) <= TOLERANCE * (w @ w)
        assert outcome.manifest.commitment_of(node_id).reference_sha256 == (  # type: ignore[union-attr]
            reference_sha256(g0)
        )


@pytest.mark.usefixtures("server_identity")
def test_server_drops_update_committed_to_another_reference(
    scoring_ckks_keys: KeyMaterial,
) -> None:
    global_model, federation, strategy = _scored_federation(scoring_ckks_keys)

    def other_reference(reply: Message) -> Message:
        record = reply.content.config_records[RECORD_COMMITMENT]
        commitment = UpdateCommitment.from_json(str(record[KEY_COMMITMENT_JSON]))
        record[KEY_COMMITMENT_JSON] = replace(commitment, reference_sha256="0" * 64).to_json()
        return reply

    federation.tamper[104] = other_reference
    messages = strategy.configure_train(1, global_model, ConfigRecord(), federation)
    strategy.aggregate_train(1, federation.send_and_receive(messages))
    assert sorted(strategy.outcomes[1].scalars) == ["101", "102", "103"]
    assert strategy.outcomes[1].contributors == ("101", "102", "103")


def test_a_round_outcome_renames_its_participants_to_wallets() -> None:
    x = RoundScalars(reference_inner=0.5, squared_norm=1.0, claimed_examples=10)
    outcome = RoundOutcome(server_round=1, contributors=("101", "102"), scalars={"101": x})
    renamed = outcome.renamed({"101": "WalletA", "102": "WalletB", "103": "WalletC"})
    assert renamed.contributors == ("WalletA", "WalletB")
    assert renamed.scalars == {"WalletA": x}
