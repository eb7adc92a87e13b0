"""Encrypted vectors under a committee's public key: encrypt, add, combine shares.

An encrypted vector is one message holding ``ceil(len / 4096)`` ciphertexts of 4096
real values each, bound to the public key it was made under. Participants encrypt,
the aggregator adds and, once ``t`` members have sent decryption shares, combines them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .engine import call, parameters


def max_abs_value() -> float:
    """Largest magnitude the engine encrypts; decrypted sums must stay within it too."""
    return float(parameters()["max_abs_value"])


def encrypt(public_key: bytes, values: np.ndarray) -> bytes:
    """Encrypt a flat vector of any length under the collective public key.

    Raises
    ------
    InvalidArgumentError
        If a value is not finite or exceeds ``max_abs_value()`` in magnitude.
    MalformedMessageError
        If ``public_key`` is not a collective public key.
    """
    flat = np.ascontiguousarray(np.asarray(values, dtype="<f8").ravel())
    return call("encrypt", [public_key, flat.tobytes()])[0]


def add(left: bytes, right: bytes) -> bytes:
    """Slot-wise sum of two encrypted vectors of the same length under the same key.

    Raises
    ------
    KeyMismatchError
        If they are under different keys or of different lengths.
    MalformedMessageError
        If either does not parse or holds a ciphertext not made by this engine.
    """
    return sum_vectors([left, right])


def sum_vectors(vectors: Sequence[bytes]) -> bytes:
    """Sum of one or more encrypted vectors, each parsed and checked once (see ``add``).

    Raises
    ------
    InvalidArgumentError
        If ``vectors`` is empty.
    """
    return call("sum", vectors)[0]


def combine(ciphertext: bytes, shares: Sequence[bytes], threshold: int) -> np.ndarray:
    """Decrypt ``ciphertext`` from the decryption shares of its decrypting set.

    Parameters
    ----------
    ciphertext : bytes
        The encrypted vector the shares were made for.
    shares : Sequence[bytes]
        One share from each member of the decrypting set.
    threshold : int
        The committee's ``t``: fewer decrypting members are refused. This guards honest
        callers; that ``t - 1`` members cannot decrypt is the key sharing's property.

    Returns
    -------
    np.ndarray
        The decrypted float64 values.

    Raises
    ------
    InsufficientSharesError
        If fewer than ``threshold`` shares, or a member of the decrypting set is missing.
    KeyMismatchError
        If a share is for another ciphertext, key or decrypting set, or repeated.
    """
    out = call("combine", [ciphertext, str(threshold).encode(), *shares])[0]
    return np.frombuffer(out, dtype="<f8").copy()
