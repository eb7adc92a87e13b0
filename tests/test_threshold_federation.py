"""EncryptedFedAvg with a committee's key, over Flower messages: key generation, rounds,
drop-outs, and what the organisation's side ever holds.

Nodes run one ClientApp (``signing_ckks_mod`` and the committee member's queries), in
process; the strategy and the key generation are the organisation's. Five of the six
participants form a 3-of-5 committee.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from flwr.app import ArrayRecord, ConfigRecord, Context, Message

from strategy import EncryptedFedAvg, Wallet
from strategy.attestation import committee_scores_message
from strategy.ckks import flatten_arrays
from strategy.constants import ACTION_RELEASE, NODE_CONFIG_COMMITTEE
from strategy.encrypted_fedavg import ReferenceUpdateFn
from strategy.exceptions import ContextMismatchError, KeyHolderError
from strategy.reference import reference_sha256
from strategy.threshold import CommitteeConfig, sum_vectors
from strategy.threshold.committee_client import (
    Committee,
    decrypt_sum,
    find_members,
    generate_key,
)
from strategy.threshold.member_app import MemberSetup
from strategy.threshold.scoring import error_deviation
from strategy.threshold.spot_check import VectorTree
from strategy.threshold.transport import key_message
from strategy.threshold.wire import MAGIC, VERSION
from strategy.wallet import verify_signature
from tests.he_fixtures import FakeFederation, make_model, perturbed
from tests.threshold_fixtures import run_key_generation

SHAPES = {"conv": (8, 3, 5, 5), "fc": (5000,), "bias": (7,)}  # 5607 values: 2 ciphertexts
NODES = [101, 102, 103, 104, 105, 106]
MEMBER_NODES = NODES[:5]
TIMEOUT = 60.0

pytestmark = pytest.mark.usefixtures("server_identity")


@cache
def wallets() -> dict[int, Wallet]:
    return {node: Wallet.generate() for node in NODES}


TASK = Wallet.generate().address


def federation(tmp_path: Path) -> tuple[ArrayRecord, FakeFederation]:
    staked = frozenset(w.address for w in wallets().values())

    def member(context: Context) -> MemberSetup | None:
        if context.node_id not in MEMBER_NODES:
            return None
        return MemberSetup(
            wallet=wallets()[context.node_id],
            store=tmp_path / f"member-{context.node_id}",
            min_inputs=3,
            allowed_signers=staked,
        )

    global_model = make_model(SHAPES, seed=0)
    return global_model, FakeFederation(
        local_models={n: perturbed(global_model, seed=n) for n in NODES},
        num_examples={n: 10 + 7 * i for i, n in enumerate(NODES)},
        wallets=wallets(),
        members=member,
    )


def committee_of(grid: FakeFederation) -> Committee:
    member_wallets = tuple(wallets()[n].address for n in MEMBER_NODES)
    nodes = find_members(grid, member_wallets, TIMEOUT)
    return Committee(
        CommitteeConfig(seed=TASK.encode(), size=5, threshold=3), member_wallets, nodes
    )


def strategy_for(
    public_key: bytes, committee: Committee, reference_update_fn: ReferenceUpdateFn | None = None
) -> EncryptedFedAvg:
    return EncryptedFedAvg(
        public_context=public_key,
        task_id=TASK,
        committee=committee,
        min_decrypt_inputs=3,
        fraction_evaluate=0.0,
        min_available_nodes=len(NODES),
        reference_update_fn=reference_update_fn,
    )


def plain_fedavg(grid: FakeFederation, nodes: list[int], model: ArrayRecord) -> np.ndarray:
    weights = np.array([grid.num_examples[n] for n in nodes], dtype=np.float64)
    locals_ = np.stack([flatten_arrays(grid.local_models[n]) for n in nodes])
    return weights @ locals_ / weights.sum()


def train_round(strategy: EncryptedFedAvg, grid: FakeFederation, model: ArrayRecord, rnd: int):
    messages = strategy.configure_train(rnd, model, ConfigRecord(), grid)
    return strategy.aggregate_train(rnd, grid.send_and_receive(messages))


def test_committee_key_generation_and_rounds_equal_plaintext_fedavg(tmp_path: Path) -> None:
    model, grid = federation(tmp_path)
    committee = committee_of(grid)
    assert committee.nodes == {i: node for i, node in enumerate(MEMBER_NODES, 1)}
    public_key, committee = generate_key(grid, committee, TIMEOUT)
    strategy = strategy_for(public_key, committee)

    arrays, _ = train_round(strategy, grid, model, 1)
    assert arrays is not None
    expected = plain_fedavg(grid, NODES, model)
    assert np.max(np.abs(flatten_arrays(arrays) - expected)) < 1e-5
    outcome = strategy.outcomes[1]
    member_keys = {wallets()[n].public_key for n in MEMBER_NODES}
    assert len(outcome.attestations) == 3
    assert {a.signer for a in outcome.attestations} <= member_keys

    # Round 2: node 106 (no member) and member 2 are gone, and member 1 answers its
    # challenge but drops out before releasing: n - t = 2 members away.
    grid.dropped = {102, 106}
    grid.silent = {(101, f"query.{ACTION_RELEASE}")}
    arrays, _ = train_round(strategy, grid, model, 2)
    assert arrays is not None
    expected = plain_fedavg(grid, [101, 103, 104, 105], model)
    assert np.max(np.abs(flatten_arrays(arrays) - expected)) < 1e-5
    signers = {a.signer for a in strategy.outcomes[2].attestations}
    assert signers == {wallets()[n].public_key for n in (103, 104, 105)}


def test_a_scored_round_decrypts_each_inputs_inner_product_with_the_sum(tmp_path: Path) -> None:
    model, grid = federation(tmp_path)
    public_key, committee = generate_key(grid, committee_of(grid), TIMEOUT)
    reference_model = perturbed(model, seed=99, scale=0.02)

    def reference_update(server_round: int, arrays: ArrayRecord) -> np.ndarray:
        return flatten_arrays(reference_model) - flatten_arrays(arrays)

    strategy = strategy_for(public_key, committee, reference_update)
    arrays, _ = train_round(strategy, grid, model, 1)
    assert arrays is not None
    assert np.max(np.abs(flatten_arrays(arrays) - plain_fedavg(grid, NODES, model))) < 1e-5
    outcome = strategy.outcomes[1]
    g0, scores, manifest = outcome.reference_update, outcome.committee_scores, outcome.manifest
    assert g0 is not None and scores is not None and manifest is not None
    global_flat = flatten_arrays(model)
    for node, x in outcome.scalars.items():
        n = grid.num_examples[int(node)]
        w = n * (flatten_arrays(grid.local_models[int(node)]) - global_flat)
        assert x.claimed_examples == n and x.squared_norm is None
        assert abs(x.reference_inner - w @ g0) <= 6 * error_deviation(
            np.linalg.norm(w), scores.scale
        )
    assert len(outcome.scalars) == len(NODES)
    # Each releasing member signed its shares, the body parts and the reference.
    for member, shares, attestation in zip(
        scores.decrypting, scores.shares, scores.attestations, strict=True
    ):
        message = committee_scores_message(
            bytes.fromhex(manifest.digest()),
            bytes.fromhex(reference_sha256(g0)),
            scores.scale,
            scores.bodies,
            scores.decrypting,
            shares,
        )
        wallet = wallets()[MEMBER_NODES[member - 1]]
        assert verify_signature(wallet.address, message, attestation.signature)

    # Round 2: member 1 answers its challenge and drops out before releasing; the next
    # decrypting set releases the sum and the scores.
    grid.silent = {(101, f"query.{ACTION_RELEASE}")}
    arrays, _ = train_round(strategy, grid, model, 2)
    outcome = strategy.outcomes[2]
    assert arrays is not None and outcome.committee_scores is not None
    assert outcome.committee_scores.decrypting == (2, 3, 4)
    g0 = outcome.reference_update
    assert g0 is not None
    global_flat = flatten_arrays(model)
    for node, x in outcome.scalars.items():
        n = grid.num_examples[int(node)]
        w = n * (flatten_arrays(grid.local_models[int(node)]) - global_flat)
        deviation = error_deviation(np.linalg.norm(w), outcome.committee_scores.scale)
        assert abs(x.reference_inner - w @ g0) <= 6 * deviation


def test_the_organisation_never_holds_key_material(tmp_path: Path) -> None:
    model, grid = federation(tmp_path)
    committee = committee_of(grid)
    public_key, committee = generate_key(grid, committee, TIMEOUT)
    strategy = strategy_for(public_key, committee)
    train_round(strategy, grid, model, 1)
    # Every byte the organisation's SuperLink relayed, against every member's secret.
    relayed = b"".join(_bytes_of(message) for message in grid.traffic)
    assert len(relayed) > 1_000_000
    for node in MEMBER_NODES:
        setup = MemberSetup(wallets()[node], tmp_path / f"member-{node}", 3, frozenset())
        stored = next(setup.store.iterdir()).read_text()
        secret = _threshold_secret(stored, wallets()[node])
        assert secret[64:96] not in relayed  # any 32 bytes of it
    # Nor does anything it holds decrypt: the strategy has public material only.
    threshold_secret = MAGIC + bytes([VERSION, 3])  # the header of a member's secret
    assert not any(
        isinstance(value, bytes) and value.startswith(threshold_secret)
        for value in vars(strategy).values()
    )


def test_fewer_than_t_members_leave_the_round_undecrypted(tmp_path: Path) -> None:
    model, grid = federation(tmp_path)
    committee = committee_of(grid)
    public_key, committee = generate_key(grid, committee, TIMEOUT)
    strategy = strategy_for(public_key, committee)
    grid.silent = {(n, f"query.{ACTION_RELEASE}") for n in (101, 102, 103)}
    arrays, _ = train_round(strategy, grid, model, 1)
    assert arrays is None
    assert "committee members can release a share" in strategy.outcomes[1].skipped


def test_key_generation_needs_every_member_and_a_substituted_share_fails(
    tmp_path: Path,
) -> None:
    _, grid = federation(tmp_path)
    committee = committee_of(grid)
    grid.dropped = {104}
    with pytest.raises(KeyHolderError, match="needs all 5 members"):
        generate_key(grid, committee, TIMEOUT)
    # The organisation names a wallet of its own for member 5: member 5's node refuses,
    # and nobody else can speak for that wallet.
    grid.dropped = set()
    sybil = Wallet.generate().address
    forged = Committee(committee.config, (*committee.wallets[:4], sybil), committee.nodes)
    with pytest.raises(KeyHolderError, match="needs all 5 members"):
        generate_key(grid, forged, TIMEOUT)


def test_a_second_request_for_a_decrypted_round_is_refused_by_every_member(
    tmp_path: Path,
) -> None:
    model, grid = federation(tmp_path)
    committee = committee_of(grid)
    public_key, committee = generate_key(grid, committee, TIMEOUT)
    strategy = strategy_for(public_key, committee)
    train_round(strategy, grid, model, 1)
    manifest = strategy.outcomes[1].manifest
    assert manifest is not None
    # Drop one input and ask for the rest of round 1 again: the difference would be it.
    replies = [r for r in grid.train_replies if r.metadata.src_node_id != 101]
    inputs = {
        r.metadata.src_node_id: bytes(r.content.array_records["ckks-update"]["0"].data)
        for r in replies
    }
    subset = type(manifest)(
        manifest.task_id,
        manifest.server_round,
        manifest.context_sha256,
        tuple(c for c in manifest.commitments if c.node_id != 101),
    )
    trees = {node: VectorTree(vector) for node, vector in inputs.items()}
    aggregate = sum_vectors(list(inputs.values()))
    # The three members that decrypted round 1 refuse a second sum of it; the two that
    # did not are fewer than t, since t is a strict majority of n.
    with pytest.raises(KeyHolderError, match="2 committee members can release a share"):
        decrypt_sum(grid, committee, subset, trees, aggregate, 1, TIMEOUT)


def _bytes_of(message: Message) -> bytes:
    if message.has_error():
        return message.error.reason.encode()
    parts = []
    for record in message.content.config_records.values():
        for value in record.values():
            values = value if isinstance(value, list) else [value]
            parts += [v if isinstance(v, bytes) else str(v).encode() for v in values]
    for record in message.content.array_records.values():
        parts += [bytes(array.data) for array in record.values()]
    return b"".join(parts)


def _threshold_secret(stored: str, wallet: Wallet) -> bytes:
    return wallet.open_sealed(bytes.fromhex(json.loads(stored)["sealed_secret"]))


def test_participants_refuse_a_key_the_committee_did_not_sign(tmp_path: Path) -> None:
    model, grid = federation(tmp_path)
    committee = committee_of(grid)
    public_key, signed = generate_key(grid, committee, TIMEOUT)
    # The organisation runs a committee of its own sybils (same task seed, all signed)
    # and hands its key to the participants instead.
    sybils = [Wallet.generate() for _ in range(5)]
    own = run_key_generation(CommitteeConfig(seed=TASK.encode(), size=5, threshold=3))
    message = key_message(TASK.encode(), hashlib.sha256(own.public_key).hexdigest())
    forged = Committee(
        committee.config,
        tuple(w.address for w in sybils),
        committee.nodes,
        tuple(w.sign(message) for w in sybils),
    )
    # Pinned to the task's committee, a participant refuses it before training (the
    # ClientApp fails; Flower turns that into an error reply).
    pin = " ".join(committee.wallets)
    for context in grid.contexts.values():
        context.node_config[NODE_CONFIG_COMMITTEE] = pin
    with pytest.raises(ContextMismatchError, match="pinned committee"):
        train_round(strategy_for(own.public_key, forged), grid, model, 1)
    # Unsigned by one member: refused even without a pin.
    for context in grid.contexts.values():
        del context.node_config[NODE_CONFIG_COMMITTEE]
    unsigned = replace(signed, key_signatures=(b"", *signed.key_signatures[1:]))
    with pytest.raises(ContextMismatchError, match="member 1 did not sign"):
        train_round(strategy_for(public_key, unsigned), grid, model, 1)
    assert not grid.train_replies
    # The real committee's key, signed by all, is accepted.
    arrays, _ = train_round(strategy_for(public_key, signed), grid, model, 1)
    assert arrays is not None


def test_a_second_key_for_the_same_task_is_refused(tmp_path: Path) -> None:
    # A second key would wipe what members remember of the rounds they decrypted,
    # and let the organisation have a round summed twice, once under each key.
    _, grid = federation(tmp_path)
    committee = committee_of(grid)
    generate_key(grid, committee, TIMEOUT)
    with pytest.raises(KeyHolderError, match="needs all 5 members"):
        generate_key(grid, committee, TIMEOUT)
