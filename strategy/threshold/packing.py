"""Updates under a committee's public key, answering the same calls as the TenSEAL packings.

An update is one engine message (``vectors.encrypt``): ``ceil(n / 4096)`` chunks of 4096
real values. ``encrypt`` returns it as a single chunk, so the round's commitments
(SHA-256 per chunk) and replies keep one shape for both schemes; ``vector_root`` is the
Merkle root a committee member spot-checks against (``spot_check``). There is no
``decrypt``: no single party can, and a committee decrypts with ``DecryptionGuard``.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..exceptions import CiphertextSizeError, MalformedCiphertextError
from .errors import ThresholdCkksError
from .spot_check import VectorTree, vector_root
from .vectors import encrypt, sum_vectors
from .wire import KIND_PUBLIC_KEY, is_kind


def is_committee_key(public: bytes) -> bool:
    """True if ``public`` is a committee's collective public key, not a TenSEAL context."""
    return is_kind(public, KIND_PUBLIC_KEY)


class ThresholdPacking:
    """Encrypt, check and add updates under a committee's collective public key."""

    def __init__(self, public_key: bytes) -> None:
        if not is_committee_key(public_key):
            raise MalformedCiphertextError("not a committee's collective public key")
        self.public_key = public_key
        self.key_digest = hashlib.sha256(public_key).digest()

    def encrypt(self, values: np.ndarray) -> list[bytes]:
        """Encrypt a flat vector as one chunk: the engine's encrypted vector."""
        return [encrypt(self.public_key, np.asarray(values, dtype=np.float64).ravel())]

    def vector_root(self, chunks: list[bytes]) -> str:
        """The Merkle root a participant commits to."""
        return vector_root(chunks[0])

    def root_of(self, loaded: list[VectorTree]) -> str:
        """The Merkle root of a loaded update (built once, kept for the openings)."""
        return loaded[0].root

    def load(self, chunks: list[bytes], num_values: int) -> list[VectorTree]:
        """Check an update: one encrypted vector of ``num_values`` values under this key.

        Returns its Merkle tree, from which the aggregator answers members' challenges.

        Raises
        ------
        CiphertextSizeError
            If it is not one vector of ``num_values`` values.
        MalformedCiphertextError
            If it does not parse, or is under another key.
        """
        if len(chunks) != 1:
            raise CiphertextSizeError(f"expected one encrypted vector, got {len(chunks)} chunks")
        try:
            tree = VectorTree(chunks[0])  # parses it and checks every coefficient's range
        except ThresholdCkksError as err:
            raise MalformedCiphertextError(f"update is not an encrypted vector: {err}") from err
        held = int.from_bytes(tree.binding[32:], "little")
        if held != num_values:
            raise CiphertextSizeError(f"update holds {held} values, expected {num_values}")
        if tree.binding[:32] != self.key_digest:
            raise MalformedCiphertextError("update is encrypted under another public key")
        return [tree]

    def add(self, updates: list[list[VectorTree]]) -> list[bytes]:
        """Sum of the updates (exact modular additions)."""
        return [sum_vectors([update[0].vector for update in updates])]

    def serialize(self, vectors: list[bytes]) -> list[bytes]:
        """Chunks as sent (they are bytes already)."""
        return list(vectors)
