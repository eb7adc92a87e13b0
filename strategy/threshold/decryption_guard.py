"""A committee member's guard: a decryption share only for a checked sum, once a round.

The aggregator (the organisation) asks ``t`` members to decrypt a round's aggregate. Each
member's ``DecryptionGuard`` answers in two steps:

1. ``challenge(request)``: checks the round manifest (at least ``k`` inputs of this task
   and round, each committed under this committee's key with a vector root and signed by
   a distinct staked wallet, no ciphertext twice) and that it has released nothing for
   this round; fixes the aggregate by its Merkle root and draws the leaves to open
   (``spot_check``). The aggregate itself travels only to the members that decrypt.
2. ``release(request, aggregate, openings)``: checks that the aggregate has the fixed
   root and is under the key the member computed, every input's openings against its
   signed root, and the aggregate's leaves against their sums; only then marks the round
   released, makes its decryption share (with flooding noise) and signs the round's
   contributors for the chain.

A scored round (``SumRequest.reference_sha256`` and ``reference_bodies``) also releases
the member's shares of each input's ``<w_i, g0>`` (``scoring``), after the checks listed
there: the reference the request fixed, each input's masks against its root, the body
parts against the aggregate.

Anything else is refused with a specific error, before any share exists. A member
answers one aggregate per round: asked again for the same one (a lost reply), it repeats
its challenge; asked for another, it refuses, since two sums over different subsets
reveal their difference. That keeps the whole committee to one decrypted sum a round
only because ``t`` is a strict majority (``CommitteeConfig``, and ``committee_configure``
on chain): any two decrypting sets share a member. Released rounds only move forward.

Drop-outs. A share is bound to its decrypting set (the member applies its Lagrange
coefficient before flooding), so when a member of the set drops out after others have
released, the aggregator asks again with another set. For the round's one aggregate a
member releases again for a new set, at most ``n - t + 1`` times in all and never twice
with the same Lagrange coefficient: two flooded shares of the same value would let the
aggregator average the flooding noise down, while shares under different coefficients
``l, l'`` relate only through ``l' / l`` modulo ``q``, which spreads the noise over the
whole modulus.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..attestation import Attestation, attest, committee_scores_message, round_attestation
from ..committed_inputs import checked_commitments
from ..exceptions import (
    DigestMismatchError,
    DisallowedOperationError,
    ReferenceMismatchError,
    ReplayError,
)
from ..manifest import RoundManifest, UpdateCommitment
from ..reference import check_reference, reference_sha256
from ..wallet import Wallet
from .committee import CommitteeMember
from .engine import parameters
from .errors import KeyMismatchError, ThresholdCkksError
from .scoring import add_residues, reference_scale
from .spot_check import (
    DEFAULT_SAMPLES,
    Opening,
    PolyOpening,
    VectorTree,
    draw_challenge,
    is_sum,
    leaf_count,
    mask_positions,
    opens_to,
    poly_opens_to,
    vector_root,
)

# Manifest digest, the aggregate's vector root, the on-chain round index and the digest
# of the scalars' body parts of a sum request: what a member fixes for a round.
Fingerprint = tuple[str, str, int, str]


def key_fingerprint(public_key: bytes) -> str:
    """Hex SHA-256 of a collective public key: the ``context_sha256`` of its commitments."""
    return hashlib.sha256(public_key).hexdigest()


def lagrange_coefficient(member: int, decrypting: Sequence[int], modulus: int) -> int:
    """``member``'s Lagrange coefficient at 0 for the decrypting set, modulo ``modulus``."""
    value = 1
    for other in set(decrypting) - {member}:
        value = value * other * pow(other - member, -1, modulus) % modulus
    return value


@dataclass(frozen=True)
class SumRequest:
    """The aggregator's request to decrypt a round's sum.

    Attributes
    ----------
    manifest : RoundManifest
        The round's manifest; the aggregate claims to be the sum of all its commitments.
    aggregate_root : str
        The encrypted sum's vector root (``spot_check.vector_root``), which fixes it.
    round_index : int
        The index the organisation will record the round under on chain (the number of
        the task's rounds recorded before). Members sign it into their attestation and
        take only increasing ones, so no decrypted sum is credited twice.
    reference_sha256 : str
        A scored round's reference update ``g0`` (``strategy.reference``):
        fixed with the aggregate, before anything of the round is decrypted.
    reference_bodies : tuple[int, ...]
        A scored round's body part of each input's ``<w_i, g0>`` (``scoring``), in
        manifest order; empty if the round is not scored.
    """

    manifest: RoundManifest
    aggregate_root: str
    round_index: int
    reference_sha256: str = ""
    reference_bodies: tuple[int, ...] = ()

    @classmethod
    def of(
        cls,
        manifest: RoundManifest,
        aggregate: bytes,
        round_index: int,
        reference_sha256: str = "",
        reference_bodies: Sequence[int] = (),
    ) -> SumRequest:
        """The request for ``aggregate``, as the aggregator makes it."""
        root = vector_root(aggregate)
        return cls(manifest, root, round_index, reference_sha256, tuple(reference_bodies))

    def fingerprint(self) -> Fingerprint:
        """What the member fixes when it draws its challenge."""
        bodies = b"".join(v.to_bytes(8, "little") for v in self.reference_bodies)
        scored = (
            hashlib.sha256(self.reference_sha256.encode() + bodies).hexdigest()
            if self.reference_sha256 or self.reference_bodies
            else ""
        )
        return self.manifest.digest(), self.aggregate_root, self.round_index, scored


@dataclass(frozen=True)
class Challenge:
    """The leaves a member asks the aggregator to open in every input.

    Attributes
    ----------
    member : int
        The member asking.
    leaves : tuple[int, ...]
        Leaf positions, drawn after the aggregate was fixed.
    """

    member: int
    leaves: tuple[int, ...]


@dataclass(frozen=True)
class ScoreInputs:
    """What a member needs for its shares of a scored round's scalars.

    Attributes
    ----------
    reference : numpy.ndarray
        The round's reference update ``g0``.
    masks : Mapping[int, Sequence[PolyOpening]]
        Node id -> its masks (``spot_check.mask_positions``), opened against its root.
    """

    reference: np.ndarray
    masks: Mapping[int, Sequence[PolyOpening]]


@dataclass(frozen=True)
class ReleasedShare:
    """A member's answer to a checked sum.

    Attributes
    ----------
    member : int
        The member.
    decrypting : tuple[int, ...]
        The decrypting set the share is for.
    share : bytes
        Its decryption share of the aggregate for that set.
    attestation : Attestation | None
        Its signature of the round's contributors (``attestation.round_message``); None
        in a run without a chain, whose task id is no address.
    reference_shares : tuple[int, ...]
        A scored round: its share of each input's ``<w_i, g0>``, in manifest order.
    scores_attestation : Attestation | None
        A scored round: its signature of those shares
        (``attestation.committee_scores_message``).
    """

    member: int
    decrypting: tuple[int, ...]
    share: bytes
    attestation: Attestation | None
    reference_shares: tuple[int, ...] = ()
    scores_attestation: Attestation | None = None


@dataclass
class _Round:
    """What a member fixed for one round of one task."""

    fingerprint: Fingerprint
    challenge: Challenge
    attestation: Attestation | None = None  # set at the first release, on a chain
    coefficients: set[int] = field(default_factory=set)  # one per release


class DecryptionGuard:
    """Checks sum requests for one committee member and releases its shares.

    Parameters
    ----------
    member : CommitteeMember
        The member, after key generation (it knows the public key it computed).
    wallet : Wallet
        The member's wallet, which signs what it decrypted.
    min_inputs : int
        ``k``, at least 2.
    allowed_signers : frozenset[str]
        Wallets staked on the task; each input must be signed by a distinct one.
    samples : int
        Leaves drawn per challenge (see ``spot_check.miss_probability``).
    """

    def __init__(
        self,
        member: CommitteeMember,
        wallet: Wallet,
        *,
        min_inputs: int,
        allowed_signers: frozenset[str],
        samples: int = DEFAULT_SAMPLES,
    ) -> None:
        if member.public_key is None:
            raise ThresholdCkksError("the member has no public key yet; finish key generation")
        if min_inputs < 2:
            raise ValueError("min_inputs must be at least 2 to keep single updates private")
        if samples < 1:
            raise ValueError("a challenge opens at least one leaf")
        self.member = member
        self.public_key = member.public_key
        self.wallet = wallet
        self.min_inputs = min_inputs
        self.allowed_signers = allowed_signers
        self.samples = samples
        self.key_sha256 = key_fingerprint(member.public_key)
        self.modulus = int(parameters()["q"])
        self.max_releases = member.config.size - member.config.threshold + 1
        self._rounds: dict[tuple[str, int], _Round] = {}

    def state_json(self) -> str:
        """What the member fixed and released, per round, to keep across processes."""
        return json.dumps(
            [
                {
                    "task": task,
                    "round": server_round,
                    "fingerprint": list(state.fingerprint),
                    "leaves": list(state.challenge.leaves),
                    "attestation": state.attestation.to_hex() if state.attestation else "",
                    "coefficients": sorted(state.coefficients),
                }
                for (task, server_round), state in sorted(self._rounds.items())
            ]
        )

    def restore(self, text: str) -> None:
        """Take back what ``state_json`` wrote (a member's memory of its rounds)."""
        for entry in json.loads(text):
            manifest, aggregate, round_index, scored = entry["fingerprint"]
            self._rounds[(entry["task"], int(entry["round"]))] = _Round(
                fingerprint=(str(manifest), str(aggregate), int(round_index), str(scored)),
                challenge=Challenge(self.member.member, tuple(int(i) for i in entry["leaves"])),
                attestation=(
                    Attestation.from_hex(entry["attestation"]) if entry["attestation"] else None
                ),
                coefficients={int(c) for c in entry["coefficients"]},
            )

    def released_rounds(self, task_id: str) -> list[int]:
        """Rounds of ``task_id`` this member released a share for, in order."""
        return sorted(
            r for (t, r), state in self._rounds.items() if t == task_id and state.coefficients
        )

    def challenge(self, request: SumRequest) -> Challenge:
        """Check ``request`` and fix it for its round; return the leaves to open.

        Raises
        ------
        EncryptedAggregationError or ThresholdCkksError
            A specific subclass naming why the request is refused.
        """
        manifest = request.manifest
        state = self._rounds.get((manifest.task_id, manifest.server_round))
        if state is not None:
            if state.fingerprint != request.fingerprint():
                raise DisallowedOperationError(
                    f"round {manifest.server_round} already has its sum; a second sum in "
                    "the same round would reveal the difference"
                )
            return state.challenge
        self._check_not_older(request)
        commitments = self._checked_inputs(manifest)
        leaves = draw_challenge(leaf_count(commitments[0].num_values), self.samples)
        challenge = Challenge(member=self.member.member, leaves=leaves)
        self._rounds[(manifest.task_id, manifest.server_round)] = _Round(
            request.fingerprint(), challenge
        )
        return challenge

    def release(
        self,
        request: SumRequest,
        aggregate: bytes,
        openings: Mapping[int, Sequence[Opening]],
        decrypting: Sequence[int],
        scoring: ScoreInputs | None = None,
    ) -> ReleasedShare:
        """Check the aggregate and the challenged leaves; release this member's share.

        Parameters
        ----------
        request : SumRequest
            The request the challenge was drawn for.
        aggregate : bytes
            The encrypted sum, with the request's root.
        openings : Mapping[int, Sequence[Opening]]
            Node id -> its openings of the challenged leaves, in the challenge's order.
        decrypting : Sequence[int]
            The members that decrypt together, at least ``t``, this member among them.
        scoring : ScoreInputs | None
            The reference and the inputs' masks, for a scored request only.

        Raises
        ------
        EncryptedAggregationError or ThresholdCkksError
            A specific subclass naming why nothing is released.
        """
        manifest = request.manifest
        state = self._rounds.get((manifest.task_id, manifest.server_round))
        if state is None or state.fingerprint != request.fingerprint():
            raise DisallowedOperationError("no challenge was drawn for this sum; ask for one")
        self._check_not_older(request)
        commitments = self._checked_inputs(manifest)
        tree = self._checked_aggregate(request, aggregate, commitments[0].num_values)
        self._check_openings(tree, commitments, openings, state.challenge)
        scored = self._checked_scoring(request, commitments, tree, scoring)
        coefficient = lagrange_coefficient(self.member.member, decrypting, self.modulus)
        if coefficient in state.coefficients or len(state.coefficients) >= self.max_releases:
            raise DisallowedOperationError(
                f"round {manifest.server_round}'s sum was already released for this "
                f"member's coefficient or {self.max_releases} times; more shares of one "
                "aggregate would average their flooding noise down"
            )
        reference_shares: list[int] = []
        scores_attestation = None
        if scored is None:
            share = self.member.decryption_share(self.public_key, aggregate, decrypting)
        else:
            reference, scale, masks = scored
            share, reference_shares = self.member.scored_decryption_share(
                self.public_key,
                aggregate,
                decrypting,
                reference,
                scale,
                add_residues(request.reference_bodies),
                masks,
            )
            scores_attestation = attest(
                self.wallet,
                committee_scores_message(
                    bytes.fromhex(manifest.digest()),
                    bytes.fromhex(request.reference_sha256),
                    scale,
                    request.reference_bodies,
                    decrypting,
                    reference_shares,
                ),
            )
        if state.attestation is None:
            # A run without a chain has no task address to attest a round of.
            with contextlib.suppress(ValueError):
                state.attestation = round_attestation(
                    self.wallet,
                    manifest.task_id,
                    request.round_index,
                    manifest.digest(),
                    [c.signer for c in commitments],
                )
        state.coefficients.add(coefficient)
        return ReleasedShare(
            member=self.member.member,
            decrypting=tuple(sorted(decrypting)),
            share=share,
            attestation=state.attestation,
            reference_shares=tuple(reference_shares),
            scores_attestation=scores_attestation,
        )

    def _checked_scoring(
        self,
        request: SumRequest,
        commitments: list[UpdateCommitment],
        aggregate: VectorTree,
        scoring: ScoreInputs | None,
    ) -> tuple[np.ndarray, float, list[bytes]] | None:
        """The reference, its scale and each input's packed masks, all checked."""
        if not request.reference_sha256 and not request.reference_bodies:
            if scoring is not None:
                raise DisallowedOperationError("scores sent for a round not asked to be scored")
            return None
        if scoring is None:
            raise DisallowedOperationError("a scored round needs its reference and masks")
        if len(request.reference_bodies) != len(commitments) or any(
            not 0 <= body < self.modulus for body in request.reference_bodies
        ):
            raise DisallowedOperationError("the body parts are not one residue per input")
        reference = np.asarray(scoring.reference, dtype=np.float64).ravel()
        if reference_sha256(reference) != request.reference_sha256:
            raise ReferenceMismatchError(
                "the reference is not the one the request fixed before this member answered"
            )
        num_values = commitments[0].num_values
        check_reference(reference, num_values)
        if set(scoring.masks) != {c.node_id for c in commitments}:
            raise DisallowedOperationError("masks do not match the committed inputs")
        positions = mask_positions(num_values)
        num_leaves = leaf_count(num_values)
        binding = aggregate.binding
        masks = []
        for commitment in commitments:
            opened = scoring.masks[commitment.node_id]
            if tuple(o.index for o in opened) != positions or not all(
                poly_opens_to(commitment.vector_root, binding, num_leaves, o) for o in opened
            ):
                raise DigestMismatchError(
                    f"node {commitment.node_id}'s masks are not those of its committed ciphertext"
                )
            masks.append(b"".join(o.poly for o in opened))
        # The engine checks the body parts against the aggregate's before any share.
        return reference, reference_scale(reference, [c.weight for c in commitments]), masks

    def _checked_aggregate(
        self, request: SumRequest, aggregate: bytes, num_values: int
    ) -> VectorTree:
        tree = VectorTree(aggregate)
        if tree.root != request.aggregate_root:
            raise DigestMismatchError("the aggregate is not the one the challenge was drawn for")
        if tree.binding[:32] != bytes.fromhex(self.key_sha256):
            raise KeyMismatchError(
                f"member {self.member.member} decrypts only under the public key it computed"
            )
        if int.from_bytes(tree.binding[32:], "little") != num_values:
            raise DisallowedOperationError("the aggregate and the inputs have different sizes")
        return tree

    def _check_openings(
        self,
        aggregate: VectorTree,
        commitments: list[UpdateCommitment],
        openings: Mapping[int, Sequence[Opening]],
        challenge: Challenge,
    ) -> None:
        if set(openings) != {c.node_id for c in commitments}:
            raise DisallowedOperationError("openings do not match the committed inputs")
        binding = aggregate.binding
        num_leaves = leaf_count(commitments[0].num_values)
        opened: list[bytes] = []
        for commitment in commitments:
            node_openings = openings[commitment.node_id]
            if tuple(o.index for o in node_openings) != challenge.leaves or not all(
                opens_to(commitment.vector_root, binding, num_leaves, o) for o in node_openings
            ):
                raise DigestMismatchError(
                    f"node {commitment.node_id}'s openings are not of the ciphertext it "
                    "committed, at the challenged leaves"
                )
            opened.append(b"".join(o.leaf for o in node_openings))
        if not is_sum(aggregate.leaves_at(challenge.leaves), opened):
            raise DisallowedOperationError(
                "the aggregate is not the sum of the committed inputs (for example a "
                "single update presented as a sum)"
            )

    def _check_not_older(self, request: SumRequest) -> None:
        manifest = request.manifest
        released = [
            (server_round, state.fingerprint[2])
            for (task, server_round), state in self._rounds.items()
            if task == manifest.task_id and state.coefficients
        ]
        if request.round_index < 0:
            raise ReplayError(f"round index {request.round_index} is negative")
        for server_round, round_index in released:
            if server_round == manifest.server_round:
                continue  # the round's own release, for another decrypting set
            if manifest.server_round < server_round or request.round_index <= round_index:
                raise ReplayError(
                    f"round {manifest.server_round} at index {request.round_index} is not "
                    f"after round {server_round} at index {round_index}, already decrypted"
                )

    def _checked_inputs(self, manifest: RoundManifest) -> list[UpdateCommitment]:
        # Rounds are remembered by task: a manifest naming another task must not pass
        # for a fresh round of this committee's.
        if manifest.task_id.encode() != self.member.config.seed:
            raise ReplayError(f"the manifest is of task {manifest.task_id!r}, not this committee's")
        commitments = checked_commitments(
            manifest,
            [c.node_id for c in manifest.commitments],
            context_sha256=self.key_sha256,
            min_inputs=self.min_inputs,
            allowed_signers=self.allowed_signers,
        )
        roots = [c.vector_root for c in commitments]
        if not all(roots):
            raise DigestMismatchError("an input has no committed vector root")
        if len(set(roots)) != len(roots):
            raise DisallowedOperationError("the same ciphertext appears in two inputs")
        return commitments
