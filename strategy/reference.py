"""The organisation's reference update ``g0``: its digest, and what is refused as one.

Contribution scores project each update on ``g0`` (``strategy.contribution``). Before any
inner product with it is decrypted, ``g0`` is fixed by its SHA-256 (in the train config
for a key holder, in the sum request for a committee) and checked to be a model update
and not a probe of single coordinates.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .exceptions import CiphertextSizeError, ReferenceMismatchError

__all__ = ["MAX_COORDINATE_SHARE", "check_reference", "reference_sha256"]

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
