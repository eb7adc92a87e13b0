"""CKKS parameters, key generation, contexts and the wire form of encrypted updates.

Parameter choice (Cheon, Kim, Kim, Song 2017, "Homomorphic Encryption for Arithmetic of
Approximate Numbers"; security bounds from the Homomorphic Encryption Standard, Albrecht
et al. 2018, table for classical 128-bit security with ternary secrets):

* Ring degree ``N = 4096`` allows a total modulus of at most 109 bits. We use
  ``coeff_mod_bit_sizes = [38, 38]`` (76 bits): one 38-bit data prime ``q0`` and the
  special prime that SEAL needs for key switching (TenSEAL refuses a single prime).
  SEAL itself refuses parameters above the 128-bit bound. ``N = 2048`` allows only 54
  bits, which leaves no room for a useful scale.
* Aggregation only needs ciphertext additions, so one data level suffices and no
  relinearisation or Galois keys are shipped to the aggregator.
* Scale ``2^28`` leaves ``38 - 28 = 10`` bits of integer headroom in ``q0`` (values wrap
  at ``+-q0 / (2 * scale) = +-512``): the decrypted *sum* of pre-weighted updates must
  stay within that, and we enforce a conservative +-256 (see ``MAX_ABS_SUM``).
* Precision is absolute and set by the scale: summing 10 fresh ciphertexts of values up
  to +-25.6 measured a standard error of 8e-6 and a maximum of 8e-5 over 200k values.
  The server divides the sum by ``sum(n_k * s)``, so the averaged update is within 1e-5
  of plaintext FedAvg when that total weight is at least 10 (the strategy warns below
  it). Scale ``2^30`` with ``q0 = 40`` is 4x more precise and 0.9% larger; ``2^20``
  gives errors near 1e-2.
* A ciphertext has ``N / 2 = 2048`` complex slots. With these aggregation keys each slot
  carries two reals (``strategy.packing.ComplexPacking``), 4096 values per ciphertext;
  larger models are chunked.

Size: a serialized ciphertext is 11.9 bytes per value (2.97x float32). A ciphertext is
two polynomials of ``N`` coefficients mod ``q0``, which SEAL stores as 64-bit words and
zstd-compresses to about 47.6 bits each (zstd removes only part of the unused high bits,
so a smaller ``q0`` barely helps). With one real per slot, as TenSEAL's vectors pack,
the same ciphertext is 23.8 B per value (5.95x). Bit-packing the coefficients exactly
would give ``2 * log2(q0) / 8`` = 9.5 B (2.4x). Seed-compressed ciphertexts halve the
size again but exist only for symmetric (secret-key) encryption, which participants
cannot use because they must not hold the secret key.

Scoring profile
---------------
Contribution scores need ``<w_i, g0>`` and ``||w_i||^2`` of each committed update, one
multiplication (by the plaintext reference, or by itself) and a slot sum by rotations.
``profile="scoring"`` keeps ``N = 4096`` and scale ``2^28``
(so aggregation is exactly as precise) with ``coeff_mod_bit_sizes = [36, 36, 37]``:
109 bits, the 128-bit bound for ``N = 4096``. The key holder multiplies *without*
rescaling and sums the slots by rotations while the product is at scale ``2^56`` in the
72-bit data modulus: rotating after a rescale (``[38, 28, 38]``) adds key-switching
noise of about ``5e-4`` absolute to each scalar (measured), rotating before it adds
about ``1e-13``. Decrypted scalars must stay within ``+-2^(72-56-1) = +-32768`` (e.g.
``||w_i|| < 181``); measured errors are below ``1e-5 * ||w_i|| * ||g0||`` for
``<w_i, g0>`` and ``2e-5 * ||w_i||^2`` for the squared norm (20 random trials; CKKS
noise of a fresh ciphertext is about ``3e-6`` per slot, see ``tests/test_he_scoring.py``).
Sums of updates are decrypted at the top level, where the range is far beyond
``MAX_ABS_SUM``.

Slot products must not mix values, so scoring keys pack one real per slot
(``strategy.packing.RealPacking``, 2048 values per ciphertext).

Cost: a fresh ciphertext carries two data primes and one real per slot, 43.2 bytes per
value (10.8x float32, against 11.9 B for the aggregation profile); the public context
grows from 92 kB to 134 kB and the secret context from 141 kB to 204 kB.
Relinearisation and Galois keys are part of the *secret* context only (TenSEAL rebuilds
them from the secret key when it is loaded): the key holder is the only party that
evaluates products and rotations, and in the public context, which is sent in every
train message, they would add 6.3 MB.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import tenseal as ts
from flwr.app import Array, ArrayRecord

from .constants import ARRAY_DTYPE, ARRAY_STYPE
from .exceptions import (
    CiphertextSizeError,
    ContextMismatchError,
    MalformedCiphertextError,
    SecretKeyExposedError,
)

POLY_MODULUS_DEGREE = 4096
COEFF_MOD_BIT_SIZES = (38, 38)
GLOBAL_SCALE_BITS = 28
AGGREGATION_PROFILE = "aggregation"
SCORING_PROFILE = "scoring"
MAX_ABS_SUM = 256.0
# Below this total weight the averaged update may differ from plaintext FedAvg by > 1e-5.
MIN_PRECISE_TOTAL_WEIGHT = 10.0


@dataclass(frozen=True)
class CkksProfile:
    """CKKS parameters of one key-generation profile (see the module docstring).

    Attributes
    ----------
    name : str
        ``"aggregation"`` (additions only) or ``"scoring"`` (one multiplication).
    coeff_mod_bit_sizes : tuple[int, ...]
        Bit sizes of the data primes followed by the special prime.
    multiplications : int
        Products the key holder may compute before decrypting.
    """

    name: str
    coeff_mod_bit_sizes: tuple[int, ...]
    multiplications: int


PROFILES = {
    AGGREGATION_PROFILE: CkksProfile(AGGREGATION_PROFILE, COEFF_MOD_BIT_SIZES, 0),
    SCORING_PROFILE: CkksProfile(SCORING_PROFILE, (36, 36, 37), 1),
}


@dataclass(frozen=True)
class KeyMaterial:
    """Serialized CKKS contexts of one task.

    Attributes
    ----------
    public_context : bytes
        Context with the public key only; safe for the aggregator and participants.
    secret_context : bytes
        Context including the secret key; only for the key holder (seal it with
        ``seal_to_wallet`` before storing or moving it).
    """

    public_context: bytes
    secret_context: bytes

    @property
    def context_sha256(self) -> str:
        """Hex SHA-256 of the public context, the task's context fingerprint."""
        return context_fingerprint(self.public_context)


def generate_keys(profile: str = AGGREGATION_PROFILE) -> KeyMaterial:
    """Generate a fresh CKKS key pair with the task parameters.

    Parameters
    ----------
    profile : str (default: "aggregation")
        ``"aggregation"`` for encrypted FedAvg only; ``"scoring"`` to also let the key
        holder compute contribution scalars (larger ciphertexts, see the module
        docstring).

    Returns
    -------
    KeyMaterial
        The public context (for the aggregator) and the secret context (for the key
        holder only; with the scoring profile it also holds the evaluation keys).
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown CKKS profile {profile!r}; choose one of {', '.join(PROFILES)}")
    params = PROFILES[profile]
    context = ts.context(
        ts.SCHEME_TYPE.CKKS,
        poly_modulus_degree=POLY_MODULUS_DEGREE,
        coeff_mod_bit_sizes=list(params.coeff_mod_bit_sizes),
    )
    context.global_scale = 2**GLOBAL_SCALE_BITS
    evaluates = params.multiplications > 0
    if evaluates:
        context.generate_galois_keys()
    secret = context.serialize(
        save_public_key=True,
        save_secret_key=True,
        save_galois_keys=evaluates,
        save_relin_keys=evaluates,
    )
    public = context.serialize(
        save_public_key=True,
        save_secret_key=False,
        save_galois_keys=False,
        save_relin_keys=False,
    )
    return KeyMaterial(public_context=public, secret_context=secret)


def context_fingerprint(public_context: bytes) -> str:
    """Return the hex SHA-256 of a serialized public context."""
    return hashlib.sha256(public_context).hexdigest()


def load_public_context(public_context: bytes) -> ts.Context:
    """Load a public context, refusing one that carries a secret key.

    Raises
    ------
    SecretKeyExposedError
        If the bytes include the secret key.
    """
    context = ts.context_from(public_context)
    if context.is_private():
        raise SecretKeyExposedError(
            "The context given to the aggregator or a participant holds the CKKS "
            "secret key; only the key holder may load it. Pass the public context."
        )
    return context


def load_secret_context(secret_context: bytes) -> ts.Context:
    """Load the key holder's context, which must hold the secret key."""
    context = ts.context_from(secret_context)
    if not context.is_private():
        raise ContextMismatchError(
            "The key holder was given a public context; it needs the secret context "
            "produced by generate_keys (unseal it with the key holder's wallet)."
        )
    return context


def public_fingerprint_of(context: ts.Context) -> str:
    """Fingerprint of the public part of a (possibly private) loaded context."""
    public = context.serialize(
        save_public_key=True,
        save_secret_key=False,
        save_galois_keys=False,
        save_relin_keys=False,
    )
    return context_fingerprint(public)


def supports_multiplication(context: ts.Context) -> bool:
    """True if a ciphertext under ``context`` can be multiplied once and still decrypt.

    Reads the data modulus of a fresh ciphertext: it must hold the product's scale
    (``2 * 28`` bits) plus headroom for the value, without a rescale.
    """
    data_bits = context.data.seal_context().first_context_data().total_coeff_modulus_bit_count()
    return data_bits > 2 * GLOBAL_SCALE_BITS + 8


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def chunks_to_arrayrecord(chunks: list[bytes]) -> ArrayRecord:
    """Wrap serialized ciphertexts as opaque Flower Arrays, keyed by chunk index."""
    return ArrayRecord(
        {
            str(index): Array(dtype=ARRAY_DTYPE, shape=(len(chunk),), stype=ARRAY_STYPE, data=chunk)
            for index, chunk in enumerate(chunks)
        }
    )


def arrayrecord_to_chunks(record: ArrayRecord) -> list[bytes]:
    """Inverse of ``chunks_to_arrayrecord``; refuses non-ciphertext arrays."""
    chunks = []
    for index in range(len(record)):
        array = record.get(str(index))
        if array is None or array.stype != ARRAY_STYPE or array.dtype != ARRAY_DTYPE:
            raise MalformedCiphertextError(
                f"chunk {index} is missing or is not a serialized CKKS vector"
            )
        chunks.append(bytes(array.data))
    return chunks


def flatten_arrays(record: ArrayRecord) -> np.ndarray:
    """Concatenate every array of ``record`` (in key order) into a float64 vector."""
    parts = [np.asarray(array.numpy(), dtype=np.float64).ravel() for array in record.values()]
    return np.concatenate(parts) if parts else np.zeros(0)


def unflatten_like(flat: np.ndarray, like: ArrayRecord) -> ArrayRecord:
    """Split ``flat`` back into arrays shaped and typed like ``like``."""
    out: dict[str, Array] = {}
    offset = 0
    for key, array in like.items():
        reference = array.numpy()
        size = reference.size
        values = flat[offset : offset + size].reshape(reference.shape)
        if np.issubdtype(reference.dtype, np.integer):
            values = np.rint(values)
        out[key] = Array(np.asarray(values).astype(reference.dtype))
        offset += size
    if offset != flat.size:
        raise CiphertextSizeError(
            f"decrypted {flat.size} values but the model has {offset} parameters"
        )
    return ArrayRecord(out)
