"""Encrypted contribution scalars: ``<w_i, g0>`` and ``||w_i||^2`` of a committed update.

The key holder evaluates both on the committed ciphertext ``Enc(w_i)`` itself (one
plaintext or ciphertext multiplication, then a slot sum by rotations, chunk by chunk,
and the chunks added), and decrypts only the two ciphertexts that hold the scalars.
The reference update ``g0`` is plaintext: it is the organisation's own training run
(FLTrust, Cao et al. 2021), pinned by its SHA-256 in the round's train config before
updates arrive, and published with the round manifest.

Products are left unrescaled so that the rotations run at scale ``2^56``, where their
key-switching noise is negligible (see the scoring profile in ``ckks``).
"""

from __future__ import annotations

import hashlib

import numpy as np
import tenseal as ts

from .exceptions import CiphertextSizeError, ReferenceMismatchError
from .packing import RealPacking

__all__ = ["MAX_COORDINATE_SHARE", "check_reference", "encrypted_scalars", "reference_sha256"]

# A reference with more than this share of its squared norm in one coordinate is a probe
# of that coordinate of every update, not a model update; it is refused.
MAX_COORDINATE_SHARE = 0.5


def reference_sha256(reference: np.ndarray) -> str:
    """Hex SHA-256 of a reference update, as little-endian float64 values."""
    values = np.ascontiguousarray(np.asarray(reference, dtype="<f8").ravel())
    return hashlib.sha256(values.tobytes()).hexdigest()


def check_reference(reference: np.ndarray, num_values: int) -> None:
    """Refuse a reference that cannot be the organisation's model update.

    Raises
    ------
    CiphertextSizeError
        If it does not have one value per model parameter.
    ReferenceMismatchError
        If it is non-finite, zero, or concentrated on one coordinate (a probe).
    """
    if reference.size != num_values:
        raise CiphertextSizeError(
            f"the reference update has {reference.size} values, the updates {num_values}"
        )
    if not np.all(np.isfinite(reference)):
        raise ReferenceMismatchError("the reference update has non-finite values")
    squares = np.square(reference)
    total = float(np.sum(squares))
    if not total > 0.0:
        raise ReferenceMismatchError("the reference update is zero")
    if float(np.max(squares)) > MAX_COORDINATE_SHARE * total:
        raise ReferenceMismatchError(
            "one coordinate carries most of the reference update's norm: it would "
            "reveal that coordinate of every update, so it is not accepted as a reference"
        )


def encrypted_scalars(
    vectors: list[ts.CKKSVector], reference: np.ndarray
) -> tuple[ts.CKKSVector, ts.CKKSVector]:
    """``Enc(<w, reference>)`` and ``Enc(||w||^2)`` of one chunked encrypted update.

    The context of ``vectors`` must hold relinearisation and Galois keys (the key
    holder's secret context of the scoring profile) and must not auto-rescale.
    """
    inner: ts.CKKSVector | None = None
    square: ts.CKKSVector | None = None
    for index, vector in enumerate(vectors):
        start = index * RealPacking.slots
        part = reference[start : start + vector.size()].tolist()
        chunk_inner, chunk_square = vector.dot(part), vector.dot(vector)
        inner = chunk_inner if inner is None else inner + chunk_inner
        square = chunk_square if square is None else square + chunk_square
    if inner is None or square is None:
        raise CiphertextSizeError("an update without ciphertext chunks has no scalars")
    return inner, square
