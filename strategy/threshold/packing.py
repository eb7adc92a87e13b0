"""Updates under a committee's public key, answering the same calls as the TenSEAL packings.

An update is one engine message (``vectors.encrypt``): ``ceil(n / 4096)`` ciphertexts of
4096 real values. ``encrypt`` returns it as a single chunk, so the round's commitments
(SHA-256 per chunk) and replies keep one shape for both schemes; ``vector_root`` is the
Merkle root a committee member spot-checks against (``spot_check``). There is no
``decrypt``: no single party can, and a committee decrypts with ``DecryptionGuard``.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..exceptions import CiphertextSizeError, MalformedCiphertextError
from .errors import ThresholdCkksError
from .spot_check import VectorTree, binding_of, vector_root
from .vectors import encrypt, sum_vectors

PUBLIC_KEY_MAGIC = b"FLTC\x01\x04"
"""Prefix of a committee's collective public key (engine message kind 4)."""


def is_committee_key(public: bytes) -> bool:
    """True if ``public`` is a committee's collective public key, not a TenSEAL context."""
    return public.startswith(PUBLIC_KEY_MAGIC)


class ThresholdPacking:
    """Encrypt, check and add updates under a committee's collective public key."""

    def __init__(self, public_key: bytes) -> None:
        if not is_committee_key(public_key):
            raise MalformedCiphertextError("not a committee's collective public key")
        self.public_key = public_key

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
            binding = binding_of(chunks[0])
            sum_vectors([chunks[0]])  # parses every ciphertext and checks its range
        except ThresholdCkksError as err:
            raise MalformedCiphertextError(f"update is not an encrypted vector: {err}") from err
        if int.from_bytes(binding[32:], "little") != num_values:
            raise CiphertextSizeError(
                f"update holds {int.from_bytes(binding[32:], 'little')} values, "
                f"expected {num_values}"
            )
        if binding[:32] != _sha256(self.public_key):
            raise MalformedCiphertextError("update is encrypted under another public key")
        return [VectorTree(chunks[0])]

    def add(self, updates: list[list[VectorTree]]) -> list[bytes]:
        """Sum of the updates (exact modular additions)."""
        return [sum_vectors([update[0].vector for update in updates])]

    def serialize(self, vectors: list[bytes]) -> list[bytes]:
        """Chunks as sent (they are bytes already)."""
        return list(vectors)


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
