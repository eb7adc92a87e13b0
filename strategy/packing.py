"""How a flat update becomes CKKS ciphertexts, and back: the two slot packings.

A CKKS ciphertext of ring degree ``N`` has ``N / 2`` slots, and each slot holds a
*complex* number. Which packing a task uses follows from its keys:

* ``ComplexPacking`` (aggregation profile): two reals per slot, ``x[j] + i * x[j + N/2]``,
  so a ciphertext carries ``N = 4096`` values. Addition acts on real and imaginary parts
  independently, so FedAvg is exactly as precise as with real slots (measured: the same
  8e-6 standard error on a sum of ten), while encryption, bytes, parsing and decryption
  all halve. TenSEAL's vectors expose only real slots, so this packing uses TenSEAL's own
  SEAL bindings (``tenseal.sealapi``) on the same context and keys.
* ``RealPacking`` (scoring profile): one real per slot, TenSEAL ``CKKSVector`` chunks of
  ``N / 2 = 2048`` values. The key holder's inner products multiply slot by slot, which a
  complex packing would mix (``(a + ib)(c + id)``), so scoring keys keep real slots.

Both answer the same calls: ``encrypt``, ``vector_root`` (of chunks) and ``root_of`` (of
loaded chunks), ``load`` (parse and check), ``add``, ``serialize`` and ``decrypt``; so
does ``ThresholdPacking``, for a committee's key, except ``decrypt``. Serialization is
deterministic, which the key holder relies on to compare a recomputed aggregate with the
one it is asked to decrypt.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np
import tenseal as ts
import tenseal.sealapi as sealapi

from .ckks import (
    GLOBAL_SCALE_BITS,
    POLY_MODULUS_DEGREE,
    load_public_context,
    supports_multiplication,
)
from .exceptions import CiphertextSizeError, MalformedCiphertextError
from .threshold.packing import ThresholdPacking, is_committee_key

SCALE = float(2**GLOBAL_SCALE_BITS)


class RealPacking:
    """One real value per slot, as TenSEAL ``CKKSVector`` chunks (scoring profile)."""

    slots = POLY_MODULUS_DEGREE // 2

    def __init__(self, context: ts.Context) -> None:
        self.context = context

    def encrypt(self, values: np.ndarray) -> list[bytes]:
        """Encrypt a flat vector as serialized ciphertexts of ``slots`` values each."""
        flat = np.asarray(values, dtype=np.float64).ravel()
        return [
            ts.ckks_vector(self.context, flat[start : start + self.slots]).serialize()
            for start in range(0, max(flat.size, 1), self.slots)
        ]

    def vector_root(self, chunks: list[bytes]) -> str:
        """No Merkle root: the single key holder recomputes sums from every chunk."""
        return ""

    def root_of(self, loaded: list[Any]) -> str:
        """No Merkle root (see ``vector_root``)."""
        return ""

    def load(self, chunks: list[bytes], num_values: int) -> list[ts.CKKSVector]:
        """Parse serialized chunks and check their number and sizes.

        Raises
        ------
        CiphertextSizeError
            If the number of chunks or of values in a chunk is not what ``num_values``
            implies.
        MalformedCiphertextError
            If a chunk does not parse under the context (corrupt bytes or other
            parameters).
        """
        _check_count(chunks, num_values, self.slots)
        vectors = []
        for index, chunk in enumerate(chunks):
            try:
                vector = ts.ckks_vector_from(self.context, chunk)
            except (ValueError, RuntimeError) as err:
                raise MalformedCiphertextError(
                    f"chunk {index} is not a ciphertext under the task context ({err})"
                ) from err
            expected = min(self.slots, num_values - index * self.slots)
            if vector.size() != expected:
                raise CiphertextSizeError(
                    f"chunk {index} packs {vector.size()} values, expected {expected}"
                )
            vectors.append(vector)
        return vectors

    def add(self, updates: list[list[ts.CKKSVector]]) -> list[ts.CKKSVector]:
        """Add updates chunk by chunk (exact modular arithmetic, so deterministic)."""
        if len(updates) == 1:
            return list(updates[0])
        # `a + b` allocates the result; `copy()` would also deep-copy the context (slow).
        total = [a + b for a, b in zip(updates[0], updates[1], strict=True)]
        for update in updates[2:]:
            for index, vector in enumerate(update):
                total[index].add_(vector)
        return total

    def serialize(self, vectors: list[ts.CKKSVector]) -> list[bytes]:
        """Serialize chunks (the inverse of ``load``)."""
        return [vector.serialize() for vector in vectors]

    def decrypt(self, vectors: list[ts.CKKSVector], num_values: int) -> np.ndarray:
        """Decrypt chunks with the (private) context into ``num_values`` floats."""
        parts = [np.asarray(vector.decrypt(), dtype=np.float64) for vector in vectors]
        return np.concatenate(parts)[:num_values]


class ComplexPacking:
    """Two real values per slot through ``tenseal.sealapi`` (aggregation profile)."""

    slots = POLY_MODULUS_DEGREE

    def __init__(self, context: ts.Context) -> None:
        self.context = context
        self._seal = context.data.seal_context()
        self._parms_id = self._seal.first_parms_id()
        self._encoder = sealapi.CKKSEncoder(self._seal)
        self._evaluator = sealapi.Evaluator(self._seal)

    def encrypt(self, values: np.ndarray) -> list[bytes]:
        """Encrypt a flat vector as serialized ciphertexts of ``slots`` values each."""
        flat = np.asarray(values, dtype=np.float64).ravel()
        encryptor = self.context.data.encryptor()
        half = self.slots // 2
        chunks = []
        for start in range(0, max(flat.size, 1), self.slots):
            part = np.zeros(self.slots)
            piece = flat[start : start + self.slots]
            part[: piece.size] = piece
            plain = sealapi.Plaintext()
            self._encoder.encode((part[:half] + 1j * part[half:]).tolist(), SCALE, plain)
            cipher = sealapi.Ciphertext(self._seal)
            encryptor.encrypt(plain, cipher)
            chunks.append(_save(cipher))
        return chunks

    def vector_root(self, chunks: list[bytes]) -> str:
        """No Merkle root: the single key holder recomputes sums from every chunk."""
        return ""

    def root_of(self, loaded: list[Any]) -> str:
        """No Merkle root (see ``vector_root``)."""
        return ""

    def load(self, chunks: list[bytes], num_values: int) -> list[Any]:
        """Parse serialized chunks and check them against the context.

        Raises
        ------
        CiphertextSizeError
            If the number of chunks is not what ``num_values`` implies.
        MalformedCiphertextError
            If a chunk does not parse under the context, or is not a fresh two-part
            ciphertext at the data level and the task's scale.
        """
        _check_count(chunks, num_values, self.slots)
        ciphers = []
        for index, chunk in enumerate(chunks):
            try:
                cipher = _load(self._seal, chunk)
            except (ValueError, RuntimeError) as err:
                raise MalformedCiphertextError(
                    f"chunk {index} is not a ciphertext under the task context ({err})"
                ) from err
            if (
                cipher.size() != 2
                or cipher.parms_id() != self._parms_id
                or not cipher.is_ntt_form()
                or cipher.scale != SCALE
            ):
                raise MalformedCiphertextError(
                    f"chunk {index} is not a fresh ciphertext at the task's level and scale"
                )
            ciphers.append(cipher)
        return ciphers

    def add(self, updates: list[list[Any]]) -> list[Any]:
        """Add updates chunk by chunk (exact modular arithmetic, so deterministic)."""
        if len(updates) == 1:
            return list(updates[0])
        total = []
        for column in zip(*updates, strict=True):
            cipher = sealapi.Ciphertext(self._seal)
            self._evaluator.add(column[0], column[1], cipher)
            for other in column[2:]:
                self._evaluator.add_inplace(cipher, other)
            total.append(cipher)
        return total

    def serialize(self, ciphers: list[Any]) -> list[bytes]:
        """Serialize chunks (the inverse of ``load``)."""
        return [_save(cipher) for cipher in ciphers]

    def decrypt(self, ciphers: list[Any], num_values: int) -> np.ndarray:
        """Decrypt chunks with the (private) context into ``num_values`` floats."""
        decryptor = self.context.data.decryptor()
        parts = []
        for cipher in ciphers:
            plain = sealapi.Plaintext()
            decryptor.decrypt(cipher, plain)
            slots = np.asarray(self._encoder.decode_complex(plain))
            parts += [slots.real, slots.imag]
        return np.concatenate(parts)[:num_values]


Packing = RealPacking | ComplexPacking | ThresholdPacking


def packing_for(context: ts.Context) -> RealPacking | ComplexPacking:
    """The packing of a task's TenSEAL keys: real slots if they allow scoring products."""
    if supports_multiplication(context):
        return RealPacking(context)
    return ComplexPacking(context)


def packing_from_public(public: bytes) -> Packing:
    """The packing of a task's public material, which names its scheme.

    A committee's collective public key (threshold, ``strategy.threshold``) or a TenSEAL
    public context (one key holder; refused if it carries the secret key).
    """
    if is_committee_key(public):
        return ThresholdPacking(public)
    return packing_for(load_public_context(public))


def _check_count(chunks: list[bytes], num_values: int, slots: int) -> None:
    expected = max(1, math.ceil(num_values / slots))
    if len(chunks) != expected:
        raise CiphertextSizeError(
            f"expected {expected} ciphertext chunks for {num_values} values, got {len(chunks)}"
        )


# TenSEAL's SEAL bindings save and load objects only through file paths, so ciphertexts
# pass through a scratch file per thread, in memory-backed /dev/shm where it exists,
# removed right after each use.
_SHM = Path("/dev/shm")
SCRATCH_DIR = _SHM if _SHM.is_dir() and os.access(_SHM, os.W_OK) else Path(tempfile.gettempdir())


def _scratch_file() -> Path:
    return SCRATCH_DIR / f"ckks-{os.getpid()}-{threading.get_ident()}"


def _save(cipher: Any) -> bytes:
    path = _scratch_file()
    try:
        cipher.save(str(path))
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)


def _load(seal_context: Any, data: bytes) -> Any:
    path = _scratch_file()
    try:
        path.write_bytes(data)
        cipher = sealapi.Ciphertext(seal_context)
        cipher.load(seal_context, str(path))
        return cipher
    finally:
        path.unlink(missing_ok=True)
