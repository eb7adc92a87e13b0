"""Contribution scalars under a committee's key: ``<w_i, g0>`` of each input, and nothing else.

A scored round decrypts, besides the sum, one scalar per aggregated input: the inner
product of its committed update ``w_i`` with the round's reference update ``g0``
(``strategy.contribution``). The engine (``native/threshold_ckks/score.go``) encodes
``g0`` chunk by chunk at a scale ``gamma`` and computes the constant coefficient of
``m_i * G`` summed over the chunks, ``2^50 * gamma * <w_i, g0> / 4096`` plus noise. It is
linear in the ciphertext, so it splits into:

- a **body part**, from the input's bodies and ``g0`` (``reference_bodies``): the
  aggregator computes it for every input;
- a **mask part**, linear in the key: each decrypting member releases its share of it
  from the input's masks (8 polynomials at 1M values, 240 KB) and ``g0``, flooded with
  noise scaled to the encoded reference (``CommitteeMember.scored_decryption_share``,
  one engine call with its share of the sum).

Only that coefficient is ever decrypted; the other 4095 of ``m_i * G`` are other
combinations of ``w_i``'s values. No ciphertext grows: scoring adds no bytes to updates.

What a member checks before it releases a share (``DecryptionGuard.release``):

- ``g0`` is the reference the request fixed (``SumRequest.reference_sha256``) when the
  member drew its challenge, before anything of the round was decrypted, and passes
  ``check_reference`` (no probe of single coordinates). Fixing it then suffices: until
  the sum and the scalars are decrypted, in this same release, the organisation knows
  nothing of the honest updates that ``g0`` could be fitted to;
- each input's masks open against the input's committed vector root;
- the body parts add up, modulo ``q``, to the body part of the aggregate it decrypts
  (exact: ciphertext addition is exact; the engine checks it before it makes a share).
  The organisation cannot raise the sum of the scalars. What this does not catch is
  part of a body part moved from one input to another: a member would need every input
  whole (78 MB at 1M values for ten inputs).
  The input it was taken from can: its participant recomputes its own body part from the
  ciphertext it sent, the published ``g0`` and the signed scale (``reference_bodies``).

Scale, range and precision. With ``gamma * |<w_i, g0>| < 2^21`` the scalar does not
wrap. ``reference_scale`` picks the largest power of two with ``gamma * B <= 2^20``
for ``B = MAX_PROJECTION * max_i(weight_i) * ||g0||^2``, that is for every projection
``|p_i| = |<u_i, g0>| / ||g0||^2`` up to ``MAX_PROJECTION``, twice the length clip of the
score: a projection beyond it wraps to some value within it, which the score clips at
``2`` like any other. The error is the rounding of the encoded ``g0`` to integers, weighed
by ``w_i``'s encoding: zero-mean with standard deviation ``sqrt(4096 / 12) * ||w_i|| /
gamma`` on ``<w_i, g0>`` (``error_deviation``). The precision is thus set by ``||w_i||``
against the headroom; ``weight_scale`` trades it against the precision of the sum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..attestation import Attestation
from ..reference import reference_sha256
from .engine import call, parameters
from .errors import MalformedMessageError

MAX_PROJECTION = 4.0
SCALAR_HEADROOM_BITS = 20


def reference_scale(reference: np.ndarray, weights: Sequence[float]) -> float:
    """The encoding scale of a round's reference, from the manifest's weights.

    A power of two: the aggregator and each member get the same one unless rounding in
    ``||g0||^2`` crosses a power of two (a chance of about 2^-50); if they differ, the
    body parts do not add up and the round is not decrypted.
    """
    values = np.asarray(reference, dtype=np.float64).ravel()
    norm_sq = float(np.dot(values, values))
    bound = MAX_PROJECTION * max(float(w) for w in weights) * norm_sq
    if not bound > 0 or not math.isfinite(bound):
        raise ValueError("the reference and the weights must be finite and non-zero")
    exponent = math.floor(SCALAR_HEADROOM_BITS - math.log2(bound))
    # The encoded reference must stay far below q (the engine refuses beyond 2^45).
    largest = float(np.max(np.abs(values)))
    return math.ldexp(1.0, min(exponent, math.floor(40 - math.log2(largest))))


def error_deviation(norm: float, scale: float) -> float:
    """Standard deviation of the error on ``<w, g0>`` for ``||w|| = norm`` at ``scale``."""
    return math.sqrt(int(parameters()["slots"]) / 12) * norm / scale


def reference_args(reference: np.ndarray, scale: float) -> list[bytes]:
    """The engine's arguments for a reference and its scale (little-endian float64)."""
    values = np.ascontiguousarray(np.asarray(reference, dtype="<f8").ravel())
    return [values.tobytes(), np.array([scale], dtype="<f8").tobytes()]


def reference_bodies(reference: np.ndarray, scale: float, vectors: Sequence[bytes]) -> list[int]:
    """The body part of each vector's scalar, a residue modulo ``q``."""
    return residues(call("reference_bodies", [*reference_args(reference, scale), *vectors]))


def own_body_part(reference: np.ndarray, scale: float, vector: bytes) -> int:
    """The body part of ``<w, g0>`` for the encrypted vector a participant sent.

    A participant that kept its vector compares it with the body part the members signed
    for its input: members check only the inputs' total, so this is how an aggregator
    that moved part of one input's scalar to another is caught.
    """
    (body,) = reference_bodies(reference, scale, [vector])
    return body


def residues(items: Sequence[bytes]) -> list[int]:
    """The engine's residues modulo ``q`` (u64 each)."""
    if any(len(item) != 8 for item in items):
        raise MalformedMessageError("the engine returned a residue that is not a u64")
    return [int.from_bytes(item, "little") for item in items]


def add_residues(values: Sequence[int]) -> int:
    """Sum modulo the engine's ``q``."""
    return sum(values) % int(parameters()["q"])


def decode(body: int, shares: Sequence[int], scale: float) -> float:
    """``<w, g0>`` from an input's body part and every decrypting member's share."""
    info = parameters()
    q = int(info["q"])
    total = (body + sum(shares)) % q
    centred = total - q if total > q // 2 else total
    return centred * int(info["slots"]) / (math.ldexp(1.0, int(info["log_scale"])) * scale)


@dataclass(frozen=True)
class ScoringRequest:
    """The aggregator's side of a scored round: the reference and each input's body part.

    Attributes
    ----------
    reference : numpy.ndarray
        The round's committed reference update ``g0``.
    scale : float
        Its encoding scale (``reference_scale``).
    bodies : tuple[int, ...]
        Each input's body part, in manifest order.
    """

    reference: np.ndarray
    scale: float
    bodies: tuple[int, ...]

    @property
    def reference_sha256(self) -> str:
        """The digest the sum request fixes the reference by."""
        return reference_sha256(self.reference)

    @classmethod
    def of(
        cls, reference: np.ndarray, weights: Sequence[float], vectors: Sequence[bytes]
    ) -> ScoringRequest:
        """Encode the reference for the inputs' weights and compute their body parts."""
        scale = reference_scale(reference, weights)
        return cls(reference, scale, tuple(reference_bodies(reference, scale, vectors)))


@dataclass(frozen=True)
class DecryptedScores:
    """What a committee decrypted of a round's scores, enough to check it again.

    Attributes
    ----------
    scale : float
        ``reference_scale`` of the round.
    bodies : tuple[int, ...]
        Each input's body part, in manifest order.
    shares : tuple[tuple[int, ...], ...]
        Each decrypting member's shares, in the order of ``decrypting``.
    decrypting : tuple[int, ...]
        The members that released them.
    attestations : tuple[Attestation, ...]
        Each member's attestation of the shares it released
        (``attestation.committee_scores_message``).
    """

    scale: float
    bodies: tuple[int, ...]
    shares: tuple[tuple[int, ...], ...]
    decrypting: tuple[int, ...]
    attestations: tuple[Attestation, ...]

    def inner_products(self) -> np.ndarray:
        """``<w_i, g0>`` per input, in manifest order."""
        return np.array(
            [
                decode(body, [member[i] for member in self.shares], self.scale)
                for i, body in enumerate(self.bodies)
            ]
        )
