"""A committee member's side of t-of-n key generation and threshold decryption.

Each member runs ``CommitteeMember``: one call makes its public-key share and one Shamir
share per member (its additive secret exists only inside that call), a second call adds
the Shamir shares it received into its threshold secret, and ``decryption_share``
releases its part of a decryption. Messages travel signed, and Shamir shares sealed, as
``transport`` describes; the public-key shares are public and anyone adds them with
``aggregate_public_key``. See ``engine`` for the protocols and the security model.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..wallet import seal_to_wallet
from .engine import call
from .errors import InvalidArgumentError, KeyMismatchError, ThresholdCkksError
from .scoring import reference_args, residues


@dataclass(frozen=True)
class CommitteeConfig:
    """The committee of one task, fixed at task creation.

    Attributes
    ----------
    seed : bytes
        Task-specific seed (e.g. the task address); the common random string of key
        generation is derived from it, so key material of another task does not combine.
    size : int
        Number of members ``n``; members are numbered ``1..n``.
    threshold : int
        Members ``t`` needed to decrypt; up to ``n - t`` may be absent. A strict majority
        (``2t > n``): any two decrypting sets then share a member, which decrypts one sum
        a round, so no round has two decrypted sums whose difference is an update.
    """

    seed: bytes
    size: int
    threshold: int

    def __post_init__(self) -> None:
        if not self.seed:
            raise InvalidArgumentError("the committee needs a non-empty task seed")
        if not 1 <= self.threshold <= self.size or 2 * self.threshold <= self.size:
            raise InvalidArgumentError(
                f"threshold {self.threshold} of {self.size} members is not a strict majority "
                "(n / 2 < t <= n): two disjoint sets of members could decrypt two sums of "
                "one round"
            )

    def check_member(self, member: int) -> None:
        """Refuse a member number outside ``1..n``."""
        if not 1 <= member <= self.size:
            raise InvalidArgumentError(f"member {member} is not in 1..{self.size}")


@dataclass(frozen=True)
class KeyShares:
    """What one member sends in key generation.

    Attributes
    ----------
    member : int
        The sender.
    public_key_share : bytes
        Public; goes to whoever aggregates the public key.
    shamir_shares : dict[int, bytes]
        Recipient member -> its Shamir share; secret, seal each to its recipient.
    """

    member: int
    public_key_share: bytes
    shamir_shares: dict[int, bytes]


def aggregate_public_key(config: CommitteeConfig, public_key_shares: Sequence[bytes]) -> bytes:
    """Add every member's public-key share into the collective public key.

    Raises
    ------
    KeyMismatchError
        If a share was made with another task seed or committee, or a member sent two.
    InsufficientSharesError
        If a member's share is missing.
    """
    return call("aggregate_public_key", [config.seed, *public_key_shares])[0]


class CommitteeMember:
    """One member's state: its number and, after key generation, its threshold secret.

    Parameters
    ----------
    config : CommitteeConfig
        The task's committee.
    member : int
        This member's number in ``1..n`` (its Shamir point).
    threshold_secret : bytes | None
        A threshold secret from an earlier key generation, to resume a member.
    public_key : bytes | None
        The collective public key this member computed in that key generation; once set,
        the member decrypts only under it.
    """

    def __init__(
        self,
        config: CommitteeConfig,
        member: int,
        threshold_secret: bytes | None = None,
        public_key: bytes | None = None,
    ) -> None:
        config.check_member(member)
        self.config = config
        self.member = member
        self._threshold_secret = threshold_secret
        self.public_key = public_key

    def generate_key_shares(self) -> KeyShares:
        """Make this member's public-key share and its Shamir shares for every member."""
        out = call(
            "generate_key_shares",
            [
                self.config.seed,
                str(self.member).encode(),
                str(self.config.size).encode(),
                str(self.config.threshold).encode(),
            ],
        )
        return KeyShares(
            member=self.member,
            public_key_share=out[0],
            shamir_shares={recipient: share for recipient, share in enumerate(out[1:], 1)},
        )

    def receive_shamir_shares(self, shares: Sequence[bytes]) -> None:
        """Add the ``n`` Shamir shares addressed to this member into its threshold secret.

        Raises
        ------
        KeyMismatchError
            If a share is for another member, task seed or committee, or repeated.
        InsufficientSharesError
            If a member's share is missing.
        """
        self._threshold_secret = call(
            "combine_shamir_shares", [self.config.seed, str(self.member).encode(), *shares]
        )[0]

    def receive_public_key_shares(self, shares: Sequence[bytes]) -> bytes:
        """Add the members' (verified) public-key shares itself and keep the result.

        From then on the member refuses to decrypt under any other key, whatever the
        aggregator presents.

        Returns
        -------
        bytes
            The collective public key.
        """
        self.public_key = aggregate_public_key(self.config, shares)
        return self.public_key

    def sealed_threshold_secret(self, address: str) -> bytes:
        """The threshold secret sealed to a wallet, for storing it at rest."""
        return seal_to_wallet(self._secret(), address)

    def decryption_share(
        self, public_key: bytes, ciphertext: bytes, decrypting: Sequence[int]
    ) -> bytes:
        """This member's decryption share of ``ciphertext`` for the decrypting set.

        Parameters
        ----------
        public_key : bytes
            The collective public key of this committee.
        ciphertext : bytes
            The encrypted vector to decrypt (e.g. an aggregate).
        decrypting : Sequence[int]
            The members that decrypt together, at least ``t``, this member among them.

        Raises
        ------
        InsufficientSharesError
            If fewer than ``t`` members decrypt.
        KeyMismatchError
            If the key is not this committee's (or not the one this member computed), or
            the ciphertext is not under it.
        """
        if self.public_key is not None and public_key != self.public_key:
            raise KeyMismatchError(
                f"member {self.member} decrypts only under the public key it computed"
            )
        return call(
            "decryption_share",
            [self._secret(), public_key, ciphertext, members_bytes(decrypting)],
        )[0]

    def scored_decryption_share(
        self,
        public_key: bytes,
        aggregate: bytes,
        decrypting: Sequence[int],
        reference: np.ndarray,
        scale: float,
        body_total: int,
        masks: Sequence[bytes],
    ) -> tuple[bytes, list[int]]:
        """This member's decryption share of ``aggregate`` and its flooded share of each
        input's ``<w_i, reference>``, for a scored round (``scoring``).

        ``masks`` holds each input's mask polynomials, packed one after the other; the
        reference shares are residues modulo ``q``, in the same order.

        Raises
        ------
        ReleaseRefusedError
            If the aggregate's body part is not ``body_total``, the inputs' body parts
            added up: nothing is made.
        """
        if self.public_key is not None and public_key != self.public_key:
            raise KeyMismatchError(
                f"member {self.member} decrypts only under the public key it computed"
            )
        out = call(
            "scored_decryption_share",
            [
                self._secret(),
                public_key,
                aggregate,
                members_bytes(decrypting),
                *reference_args(reference, scale),
                body_total.to_bytes(8, "little"),
                *masks,
            ],
        )
        return out[0], residues(out[1:])

    def _secret(self) -> bytes:
        if self._threshold_secret is None:
            raise ThresholdCkksError(
                f"member {self.member} has no threshold secret yet; finish key generation"
            )
        return self._threshold_secret


def members_bytes(members: Sequence[int]) -> bytes:
    """Encode a decrypting set for the engine (sorted, u16 each)."""
    ordered = sorted(members)
    if any(not 1 <= member <= 0xFFFF for member in ordered):
        raise InvalidArgumentError("members are numbered from 1 to 65535")
    return struct.pack(f"<{len(ordered)}H", *ordered)
