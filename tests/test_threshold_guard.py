"""A committee member releases a decryption share only for a checked sum, once a round.

The aggregator here is the organisation: it builds requests, answers challenges, and in
the attacks tries to get one participant's update, a sum over too few inputs or a second
sum decrypted, with sybil wallets where that helps it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

import numpy as np
import pytest

from strategy.attestation import committee_scores_message, round_message
from strategy.exceptions import (
    ContextMismatchError,
    DigestMismatchError,
    DisallowedOperationError,
    InsufficientInputsError,
    ReferenceMismatchError,
    ReplayError,
    WalletError,
)
from strategy.manifest import RoundManifest, UpdateCommitment
from strategy.reference import reference_sha256
from strategy.threshold import InsufficientSharesError, combine, encrypt, sum_vectors
from strategy.threshold.decryption_guard import (
    DecryptionGuard,
    ReleasedShare,
    ScoreInputs,
    SumRequest,
    key_fingerprint,
    lagrange_coefficient,
)
from strategy.threshold.engine import parameters
from strategy.threshold.errors import KeyMismatchError, MalformedMessageError
from strategy.threshold.scoring import (
    DecryptedScores,
    ScoringRequest,
    error_deviation,
    reference_bodies,
)
from strategy.threshold.spot_check import (
    VectorTree,
    leaf_count,
    mask_positions,
    miss_probability,
    opens_to,
)
from strategy.wallet import Wallet, verify_signature
from tests.threshold_fixtures import Committee, committee, updates

NUM_VALUES = 9000  # three chunks: one mask and three bodies, 256 leaves
NUM_INPUTS = 6
MIN_INPUTS = 3
TASK_WALLET = Wallet.generate()  # stands for the task account's address
TASK = TASK_WALLET.address


@cache
def participants() -> tuple[Wallet, ...]:
    return tuple(Wallet.generate() for _ in range(NUM_INPUTS + 1))  # the last is unstaked


@cache
def member_wallets() -> tuple[Wallet, ...]:
    return tuple(Wallet.generate() for _ in range(5))


@dataclass
class Round:
    """One round as the aggregator holds it."""

    group: Committee
    values: list[np.ndarray]
    vectors: dict[int, bytes]
    manifest: RoundManifest
    aggregate: bytes

    def request(self) -> SumRequest:
        return SumRequest.of(self.manifest, self.aggregate, self.manifest.server_round - 1)

    def openings(self, leaves: tuple[int, ...], manifest: RoundManifest | None = None) -> dict:
        """Openings of the inputs listed in ``manifest`` (this round's by default)."""
        listed = [c.node_id for c in (manifest or self.manifest).commitments]
        return {node: VectorTree(self.vectors[node]).open(leaves) for node in listed}


def commit(
    group: Committee, node: int, vector: bytes, server_round: int, wallet: Wallet
) -> UpdateCommitment:
    return UpdateCommitment(
        task_id=TASK,
        server_round=server_round,
        node_id=node,
        context_sha256=key_fingerprint(group.public_key),
        weight=1.0,
        num_values=NUM_VALUES,
        chunk_sha256=(),
        vector_root=VectorTree(vector).root,
    ).signed_by(wallet)


def make_round(server_round: int = 1, nodes: range = range(1, NUM_INPUTS + 1)) -> Round:
    group = committee(TASK.encode())
    values = updates(len(nodes), NUM_VALUES, seed=server_round)
    vectors = {node: encrypt(group.public_key, v) for node, v in zip(nodes, values, strict=True)}
    commitments = tuple(
        commit(group, node, vectors[node], server_round, participants()[node - 1]) for node in nodes
    )
    manifest = RoundManifest(TASK, server_round, key_fingerprint(group.public_key), commitments)
    return Round(group, values, vectors, manifest, sum_vectors(list(vectors.values())))


def guard(member: int, samples: int = 16) -> DecryptionGuard:
    return DecryptionGuard(
        committee(TASK.encode()).members[member],
        member_wallets()[member - 1],
        min_inputs=MIN_INPUTS,
        allowed_signers=frozenset(w.address for w in participants()[:NUM_INPUTS]),
        samples=samples,
    )


def release(
    g: DecryptionGuard, r: Round, decrypting: tuple[int, ...], request: SumRequest | None = None
) -> ReleasedShare:
    request = request or r.request()
    challenge = g.challenge(request)
    return g.release(
        request, r.aggregate, r.openings(challenge.leaves, request.manifest), decrypting
    )


def test_members_release_for_the_sum_and_it_decrypts_to_plaintext_fedavg() -> None:
    r = make_round()
    decrypting = (1, 3, 5)  # members 2 and 4 are away
    released = [release(guard(m), r, decrypting) for m in decrypting]
    total = combine(r.aggregate, [s.share for s in released], threshold=3)
    fedavg = total / NUM_INPUTS
    assert np.max(np.abs(fedavg - np.mean(r.values, axis=0))) < 1e-5
    signers = sorted(w.public_key for w in participants()[:NUM_INPUTS])
    message = round_message(
        TASK_WALLET.public_key,
        0,
        bytes.fromhex(r.manifest.digest()),
        signers,
    )
    for share in released:
        wallet = member_wallets()[share.member - 1]
        assert share.attestation.signer == wallet.public_key
        assert verify_signature(wallet.address, message, share.attestation.signature)


def test_a_single_update_presented_as_the_sum_is_refused() -> None:
    r = make_round()
    forged = replace(r, aggregate=r.vectors[1])  # what the organisation wants to read
    g = guard(1, samples=1)  # one leaf suffices: every leaf differs
    with pytest.raises(DisallowedOperationError, match="not the sum of the committed inputs"):
        release(g, forged, (1, 2, 3))


def test_one_chunk_of_one_update_in_the_sum_is_caught_by_every_member() -> None:
    r = make_round()
    # The honest sum except for the mask and the second chunk's body, which are node 1's:
    # decrypting that chunk would give 4096 of node 1's values in clear.
    header, poly = 50, 4096 * 60 // 8
    forged_bytes = bytearray(r.aggregate)
    for index in (0, 2):  # the group's mask, then the body of chunk 1
        at = header + index * poly
        forged_bytes[at : at + poly] = r.vectors[1][at : at + poly]
    forged = replace(r, aggregate=bytes(forged_bytes))
    # The aggregator sees every member's leaves before it names the decrypting set, so
    # it would pick members whose leaves miss the forgery. Every member draws a leaf in
    # every polynomial, so there are none, even with a single extra draw.
    for member in range(1, 6):
        with pytest.raises(DisallowedOperationError, match="not the sum"):
            release(guard(member, samples=1), forged, (1, 2, 3))


def test_a_sum_over_fewer_than_k_inputs_is_refused() -> None:
    r = make_round(nodes=range(1, MIN_INPUTS))
    with pytest.raises(InsufficientInputsError, match="at least 3"):
        guard(1).challenge(r.request())


def test_sybil_padding_with_unstaked_or_repeated_wallets_is_refused() -> None:
    r = make_round(nodes=range(1, MIN_INPUTS + 1))
    # The organisation signs a third input with a wallet that has no stake.
    unstaked = participants()[NUM_INPUTS]
    commitments = list(r.manifest.commitments)
    commitments[2] = commit(r.group, 3, r.vectors[3], 1, unstaked)
    padded = replace(r.manifest, commitments=tuple(commitments))
    with pytest.raises(WalletError, match="staked"):
        guard(1).challenge(SumRequest.of(padded, r.aggregate, 0))
    # Or with one staked wallet signing two inputs.
    commitments[2] = commit(r.group, 3, r.vectors[3], 1, participants()[0])
    doubled = replace(r.manifest, commitments=tuple(commitments))
    with pytest.raises(DisallowedOperationError, match="same wallet"):
        guard(1).challenge(SumRequest.of(doubled, r.aggregate, 0))


def test_inputs_other_than_the_committed_ones_are_refused() -> None:
    r = make_round()
    g = guard(1)
    challenge = g.challenge(r.request())
    # The aggregator opens node 2's leaves from a ciphertext of its own making.
    swapped = dict(r.openings(challenge.leaves))
    own = encrypt(r.group.public_key, np.zeros(NUM_VALUES))
    swapped[2] = VectorTree(own).open(challenge.leaves)
    with pytest.raises(DigestMismatchError, match="node 2"):
        g.release(r.request(), r.aggregate, swapped, (1, 2, 3))
    # Or opens leaves other than the challenged ones.
    other = tuple(sorted(set(range(leaf_count(NUM_VALUES))) - set(challenge.leaves)))[:16]
    with pytest.raises(DigestMismatchError, match="challenged leaves"):
        g.release(r.request(), r.aggregate, r.openings(other), (1, 2, 3))
    # An input with no commitment at all, or without a vector root, never gets that far.
    unlisted = replace(r.manifest, commitments=r.manifest.commitments[:-1])
    rootless = replace(
        r.manifest,
        commitments=(
            replace(r.manifest.commitments[0], vector_root="").signed_by(participants()[0]),
            *r.manifest.commitments[1:],
        ),
    )
    fresh = guard(2)
    with pytest.raises(DigestMismatchError, match="vector root"):
        fresh.challenge(SumRequest.of(rootless, r.aggregate, 0))
    # The unlisted node's ciphertext is still in the aggregate: the sum check fails.
    with pytest.raises(DisallowedOperationError, match="not the sum"):
        release(fresh, r, (1, 2, 3), SumRequest.of(unlisted, r.aggregate, 0))


def test_a_second_sum_in_the_same_round_is_refused() -> None:
    r = make_round()
    g = guard(1)
    release(g, r, (1, 2, 3))
    # Another subset of the same round's inputs, asked after the first was released.
    subset = replace(r.manifest, commitments=r.manifest.commitments[:-1])
    subset_sum = sum_vectors([r.vectors[n] for n in range(1, NUM_INPUTS)])
    with pytest.raises(DisallowedOperationError, match="second sum in the same round"):
        g.challenge(SumRequest.of(subset, subset_sum, 0))
    # Asked before the first release too: the first request fixed the round.
    g2 = guard(2)
    g2.challenge(r.request())
    with pytest.raises(DisallowedOperationError, match="second sum in the same round"):
        g2.challenge(SumRequest.of(subset, subset_sum, 0))
    # Relabelled as another task's round, to look new: refused.
    relabelled = replace(
        subset,
        task_id=Wallet.generate().address,
        commitments=tuple(
            replace(c, task_id="other").signed_by(participants()[c.node_id - 1])
            for c in subset.commitments
        ),
    )
    with pytest.raises(ReplayError, match="not this committee's"):
        g.challenge(SumRequest.of(relabelled, subset_sum, 1))
    # And rounds only move forward, in server rounds and in on-chain indices: no
    # decrypted sum can be recorded twice.
    later = make_round(server_round=3)
    release(g, later, (1, 2, 3))
    with pytest.raises(ReplayError, match="not after round 3"):
        g.challenge(make_round(server_round=2).request())
    fourth = make_round(server_round=4)
    with pytest.raises(ReplayError, match="at index 2 is not after"):
        g.challenge(SumRequest.of(fourth.manifest, fourth.aggregate, later.request().round_index))


def test_n_minus_t_members_dropping_out_mid_round_still_decrypts() -> None:
    r = make_round()
    guards = {m: guard(m) for m in range(1, 6)}
    first = {m: release(guards[m], r, (1, 2, 3)) for m in (1, 2)}  # member 3 drops out
    assert len(first) == 2
    with pytest.raises(InsufficientSharesError):
        combine(r.aggregate, [s.share for s in first.values()], threshold=3)
    # Member 4 is gone too (n - t = 2 away); the aggregator asks {1, 2, 5} instead, and
    # members 1 and 2 release again for the same aggregate under their new coefficients.
    second = [release(guards[m], r, (1, 2, 5)) for m in (1, 2, 5)]
    total = combine(r.aggregate, [s.share for s in second], threshold=3)
    assert np.max(np.abs(total - np.sum(r.values, axis=0))) < 1e-5


def test_no_second_share_under_the_same_coefficient_and_at_most_n_minus_t_plus_1() -> None:
    r = make_round()
    g = guard(1)
    release(g, r, (1, 2, 3))
    with pytest.raises(DisallowedOperationError, match="already released"):
        release(g, r, (1, 2, 3))
    q = g.modulus
    sets = [(1, 2, 4), (1, 2, 5), (1, 3, 4)]
    assert len({lagrange_coefficient(1, s, q) for s in [(1, 2, 3), *sets]}) == 4
    release(g, r, sets[0])
    release(g, r, sets[1])  # three releases: n - t + 1 = 3
    with pytest.raises(DisallowedOperationError, match="3 times"):
        release(g, r, sets[2])


def test_a_request_under_another_key_is_refused() -> None:
    r = make_round()
    other = committee(seed=b"another-task")
    foreign = encrypt(other.public_key, np.zeros(NUM_VALUES))
    with pytest.raises(ContextMismatchError):
        guard(1).challenge(
            SumRequest.of(
                replace(r.manifest, context_sha256=key_fingerprint(other.public_key)), foreign, 0
            )
        )
    # The right manifest with an aggregate under another key: refused when it arrives.
    with pytest.raises(KeyMismatchError, match="only under the public key it computed"):
        release(guard(2), replace(r, aggregate=foreign), (1, 2, 3))


def test_the_aggregate_sent_must_be_the_one_the_challenge_fixed() -> None:
    r = make_round()
    g = guard(1)
    request = r.request()
    challenge = g.challenge(request)
    # The organisation draws the leaves on the honest sum's root, then sends node 1's
    # update as the aggregate, hoping its leaves were not challenged.
    with pytest.raises(DigestMismatchError, match="not the one the challenge was drawn for"):
        g.release(request, r.vectors[1], r.openings(challenge.leaves), (1, 2, 3))


def test_every_leaf_opens_to_the_root_and_out_of_range_coefficients_are_refused() -> None:
    vector = make_round().vectors[1]
    tree = VectorTree(vector)
    num_leaves = leaf_count(NUM_VALUES)
    assert tree.num_leaves == num_leaves == 4 * 64
    openings = tree.open(range(num_leaves))
    assert all(opens_to(tree.root, tree.binding, num_leaves, o) for o in openings)
    moved = replace(openings[5], index=6)
    assert not opens_to(tree.root, tree.binding, num_leaves, moved)
    flipped = bytearray(vector)
    flipped[-100] ^= 1
    assert VectorTree(bytes(flipped)).root != tree.root
    above_q = bytearray(vector)
    above_q[-8:] = b"\xff" * 8  # the last coefficient becomes 2^60 - 1 >= q
    with pytest.raises(MalformedMessageError, match="out of range"):
        VectorTree(bytes(above_q))


def test_miss_probability_matches_enumeration() -> None:
    from itertools import combinations

    leaves, falsified, samples = 9, 3, 2
    draws = list(combinations(range(leaves), samples))
    misses = sum(1 for d in draws if all(i >= falsified for i in d))
    assert miss_probability(leaves, falsified, samples) == pytest.approx(misses / len(draws))
    assert miss_probability(253 * 64, 253 * 64, 1) == 0.0


# Scored rounds: each input's <w_i, g0> released with the sum, and nothing else of it.

REFERENCE = np.random.default_rng(5).normal(0.0, 0.1, NUM_VALUES)


def scored_round(committed: np.ndarray = REFERENCE) -> tuple[Round, ScoringRequest]:
    r = make_round()
    weights = [c.weight for c in r.manifest.commitments]
    inputs = [r.vectors[c.node_id] for c in r.manifest.commitments]
    return r, ScoringRequest.of(committed, weights, inputs)


def score_inputs(r: Round, reference: np.ndarray = REFERENCE) -> ScoreInputs:
    positions = mask_positions(NUM_VALUES)
    return ScoreInputs(
        reference=reference,
        masks={
            c.node_id: [VectorTree(r.vectors[c.node_id]).open_poly(p) for p in positions]
            for c in r.manifest.commitments
        },
    )


def release_scored(
    g: DecryptionGuard,
    r: Round,
    bodies: tuple[int, ...],
    inputs: ScoreInputs | None,
    fixed: np.ndarray | None = REFERENCE,
) -> ReleasedShare:
    digest = "" if fixed is None else reference_sha256(fixed)
    request = SumRequest.of(r.manifest, r.aggregate, 0, digest, bodies)
    leaves = g.challenge(request).leaves
    return g.release(request, r.aggregate, r.openings(leaves), (1, 2, 3), inputs)


def test_a_scored_release_decrypts_each_inputs_inner_product_and_nothing_more() -> None:
    r, scoring = scored_round()
    released = [release_scored(guard(m), r, scoring.bodies, score_inputs(r)) for m in (1, 2, 3)]
    scores = DecryptedScores(
        scale=scoring.scale,
        bodies=scoring.bodies,
        shares=tuple(s.reference_shares for s in released),
        decrypting=(1, 2, 3),
        attestations=tuple(s.scores_attestation for s in released if s.scores_attestation),
    )
    exact = np.array([v @ REFERENCE for v in r.values])
    bound = np.array([6 * error_deviation(np.linalg.norm(v), scoring.scale) for v in r.values])
    assert np.all(np.abs(scores.inner_products() - exact) <= bound)
    for share, attestation in zip(released, scores.attestations, strict=True):
        message = committee_scores_message(
            bytes.fromhex(r.manifest.digest()),
            bytes.fromhex(reference_sha256(REFERENCE)),
            scoring.scale,
            scoring.bodies,
            (1, 2, 3),
            share.reference_shares,
        )
        assert verify_signature(
            member_wallets()[share.member - 1].address, message, attestation.signature
        )


def test_body_parts_that_do_not_add_up_to_the_aggregate_are_refused() -> None:
    r, scoring = scored_round()
    # The organisation raises its sybil's (input 1's) scalar: the bodies no longer sum.
    inflated = (scoring.bodies[0] + 1_000_000_000, *scoring.bodies[1:])
    g = guard(1)
    with pytest.raises(DisallowedOperationError, match="do not add up"):
        release_scored(g, r, inflated, score_inputs(r))
    assert g.released_rounds(TASK) == []


def test_only_the_reference_the_request_fixed_is_used_and_never_a_probe() -> None:
    r, scoring = scored_round()
    # Another reference at release than the one fixed when the member drew its leaves.
    with pytest.raises(ReferenceMismatchError, match="fixed"):
        release_scored(guard(1), r, scoring.bodies, score_inputs(r, 2 * REFERENCE))
    # A fixed reference concentrated on one coordinate: it would read that coordinate of
    # every update.
    probe = np.full(NUM_VALUES, 1e-3)
    probe[17] = 1.0
    r, scoring = scored_round(probe)
    with pytest.raises(ReferenceMismatchError, match="coordinate"):
        release_scored(guard(1), r, scoring.bodies, score_inputs(r, probe), probe)


def test_masks_not_of_the_committed_inputs_are_refused() -> None:
    r, scoring = scored_round()
    inputs = score_inputs(r)
    swapped = dict(inputs.masks)
    swapped[1], swapped[2] = inputs.masks[2], inputs.masks[1]
    with pytest.raises(DigestMismatchError, match="masks"):
        release_scored(guard(1), r, scoring.bodies, replace(inputs, masks=swapped))
    # A body opened in place of the mask (it opens against the root, at another place).
    tree = VectorTree(r.vectors[1])
    body = replace(tree.open_poly(1), index=0)
    with pytest.raises(DigestMismatchError, match="masks"):
        release_scored(
            guard(1), r, scoring.bodies, replace(inputs, masks={**inputs.masks, 1: [body]})
        )


def test_scores_are_released_only_for_a_round_asked_to_be_scored() -> None:
    r, scoring = scored_round()
    with pytest.raises(DisallowedOperationError, match="not asked to be scored"):
        release_scored(guard(1), r, (), score_inputs(r), None)
    with pytest.raises(DisallowedOperationError, match="needs its reference"):
        release_scored(guard(2), r, scoring.bodies, None)


def test_a_body_part_moved_between_inputs_is_caught_by_the_input_it_was_taken_from() -> None:
    r, scoring = scored_round()
    # The organisation moves part of input 1's scalar to its sybil, input 2: the total
    # is unchanged, so the members (who hold neither input whole) release.
    q = int(parameters()["q"])
    moved = 10**15
    bodies = ((scoring.bodies[0] - moved) % q, (scoring.bodies[1] + moved) % q, *scoring.bodies[2:])
    released = release_scored(guard(1), r, bodies, score_inputs(r))
    assert len(released.reference_shares) == NUM_INPUTS
    # Participant 1 recomputes its own body part from the ciphertext it sent, the
    # published reference and the scale the members signed, and finds it altered.
    (own,) = reference_bodies(REFERENCE, scoring.scale, [r.vectors[1]])
    assert own == scoring.bodies[0] != bodies[0]
