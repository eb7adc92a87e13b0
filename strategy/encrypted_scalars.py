"""Encrypted contribution scalars: ``<w_i, g0>`` and ``||w_i||^2`` of a committed update.

The key holder evaluates both on the committed ciphertext ``Enc(w_i)`` itself (one
plaintext or ciphertext multiplication, then a slot sum by rotations, chunk by chunk,
and the chunks added), and decrypts only the two ciphertexts that hold the scalars.
The reference update ``g0`` is plaintext: it is the organisation's own training run
(FLTrust, Cao et al. 2021), pinned by its SHA-256 (``strategy.reference``) in the
round's train config before updates arrive, and published with the round manifest.

Products are left unrescaled so that the rotations run at scale ``2^56``, where their
key-switching noise is negligible (see the scoring profile in ``ckks``).
"""

from __future__ import annotations

import numpy as np
import tenseal as ts

from .exceptions import CiphertextSizeError
from .packing import RealPacking

__all__ = ["encrypted_scalars"]


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
