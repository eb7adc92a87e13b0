"""Bridge to the threshold CKKS engine: a Go library on Lattigo v6, called through ctypes.

Design
------
No single party can decrypt an update. The CKKS secret key of a task is shared among a
committee of ``n`` staked participants so that any ``t`` of them can decrypt an aggregate
and no ``t - 1`` of them, with or without the organisation, can (Mouchet, Troncoso-
Pastoriza, Bossuat, Hubaux 2021, "Multiparty Homomorphic Encryption from Ring-Learning-
with-Errors"; Mouchet, Bertrand, Hubaux 2022, "An Efficient Threshold Access-Structure
for RLWE-Based Multiparty Homomorphic Encryption"). Lattigo v6's ``multiparty`` package
implements both; ``native/threshold_ckks`` wraps it.

Parameters (fixed, ``ParameterSetName`` in the engine): CKKS over the conjugate-invariant
ring (Kim and Song 2018), ``N = 2^12`` coefficients and 4096 *real* slots per ciphertext,
one 60-bit modulus ``q`` and no special modulus: 60 bits is far below the 109-bit bound
for 128-bit security at ``N = 4096`` (HE Standard, Albrecht et al. 2018), which the
engine checks at start-up because Lattigo does not. Scale ``2^50``: values wrap at
``+-q / 2^51 = +-512``; the engine refuses single values beyond ``+-256`` and the caller
must keep sums within that bound, as with ``strategy.ckks.MAX_ABS_SUM``. Aggregation
needs only additions, so one level is enough.

Shared masks: a collective key has 32 secrets ("lanes") ``s_1..s_32``, each shared
``t``-of-``n``, and its public key is ``a`` and ``p_k = -a * s_k + e_k`` for every lane.
An encryption of 32 chunks of 4096 values draws one ephemeral secret ``u`` and sends one
mask ``u * a + e`` and one body ``u * p_k + e_k + m_k`` per chunk: chunk ``k`` with the
mask is an ordinary ciphertext under ``s_k``. The mask and the bodies are RLWE samples of
the one secret ``u`` with public ``a, p_1..p_32``, so this is as secure as encrypting each
chunk alone (Peikert, Vaikuntanathan and Waters 2008, section 7, the same argument for
LWE), and the mask's polynomial is sent once instead of 32 times: 33 polynomials of 4096
coefficients below ``2^60``, packed at 60 bits, carry 131,072 values, 7.7 bytes per value
(1.93x float32, against 3.75x with one mask per chunk). Members hold one Shamir share per
lane (1 MB), and a decryption share is one polynomial per chunk, 7.5 bytes per value.

What contribution scoring would need (not built; measured with this ring): the sum over
the slots of a slot-wise product needs no rotation here. The constant coefficient of
``m_w * m_g`` (``m_w``, ``m_g`` the encodings of ``w`` and ``g`` at scales ``2^50`` and
``2^k``) is ``2^(50 + k) * <w, g> / 4096``, and in NTT form the constant coefficient is
``4096^-1`` times the sum of the coordinates, so a member's share of ``<w, g0>`` for one
update is one scalar, ``sum_c <mask * s_k * G_c, 1> / 4096`` over its chunks ``c`` with
``G_c`` the NTT of ``g0``'s chunk, computable from the update's masks alone (240 KB at 1M
values), and the aggregator's part is the same sum over the bodies. What limits it is
the 9 bits above the scale: ``2^k * |<w, g0>|`` must stay below ``2^21``, and rounding
``g0`` at scale ``2^k`` costs an absolute error of about ``18.6 * ||w|| / 2^k``
(measured: relative errors 5e-4 to 2e-3 at ``2^k * ||g0|| = 2^16``), so a bound of 512
on ``||w||`` leaves about ``4.5e-3 / cos(w, g0)`` relative error. ``||w||^2`` needs a
ciphertext product, which one 60-bit modulus cannot hold at scale ``2^100``; random
``+-1`` projections (``E[<w, r>^2] = ||w||^2``), drawn from the manifest's digest, are
the same kind of scalar and estimate it.

Protocols and what each party holds:

1. Key generation (members, once per task; for each lane, whose index is left out
   here). Member ``i`` samples an additive secret ``s_i``, publishes its public-key
   share ``-a * s_i + e_i`` (``PublicKeyGenProtocol``;
   ``a`` is the common random polynomial drawn from a keyed PRNG on the task seed, so
   every member derives the same one) and sends member ``j`` the Shamir share
   ``f_i(j)`` of a random degree ``t - 1`` polynomial with ``f_i(0) = s_i``
   (``Thresholdizer``), signed by ``i``'s wallet and sealed to ``j``'s (``transport``;
   the public-key share is signed too, so the relaying organisation cannot substitute
   shares of its own). ``s_i`` exists only inside that one engine call and is wiped.
   Member ``j`` adds the ``n`` shares it receives into its threshold secret
   ``S_j = sum_i f_i(j)``: a Shamir share of ``s = sum_i s_i``. Anyone (the aggregator,
   each participant) adds the verified public-key shares into the collective public key
   ``(sum_i (-a * s_i + e_i), a)``; each member keeps the key it computed and decrypts
   under no other. Nothing ever computes ``s``.
2. Encryption (participants): public-key encryption under the collective key, any
   length, in chunks of 4096 values that share a mask 32 at a time.
3. Aggregation (organisation): ciphertext additions. It holds only public material.
4. Decryption (any ``t`` members and the aggregator). The aggregator names the
   decrypting set ``A`` (``|A| >= t``); each member ``j`` in ``A`` turns ``S_j`` into an
   additive share ``lambda_j^A * S_j`` (``Combiner``, Lagrange coefficient at 0) and
   publishes ``h_j = c1 * lambda_j^A * S_j + e_j`` (``KeySwitchProtocol`` to the zero
   key) with flooding noise ``e_j`` of standard deviation ``2^22``. The aggregator
   computes ``c0 + sum_j h_j = m + e`` and decodes. Each share is bound to one
   ciphertext, key and decrypting set.

The organisation never holds ``s``, any ``s_i``, any ``S_j`` or any additive share; its
processes see signed public-key shares, sealed Shamir shares, the public key,
ciphertexts and decryption shares.

Security model: members are honest-but-curious (Lattigo's multiparty protocols are
proven in that model): they follow the protocol, and up to ``t - 1`` of them may pool
what they hold with the organisation. A member must release a decryption share only for
an aggregate it has checked, and once per round: repeated shares of one ciphertext let
the aggregator average their flooding noise down. ``decryption_guard`` does both (with
the spot checks of ``spot_check``); ``member_app`` and ``committee_client`` carry it
over Flower messages. The flooding noise is ``2^22`` per member, about ``2^8`` to
``2^11`` times the encryption noise of a sum of 10 to 1000 fresh ciphertexts (standard
deviation about ``2^9`` per coefficient for one): it hides each member's share and the
secret-dependent ciphertext noise in decryption results, and costs a standard deviation
of ``6e-7`` and a maximum of ``3e-6`` over 1M decrypted values at ``t = 3`` (measured).
A statistical ``2^40`` flooding ratio would not fit one 60-bit modulus with useful
precision: it needs a second modulus (30 bytes per value) or a smaller scale.

The C interface is a single entry point: ``fltc_call(op, request, &response)`` on
length-prefixed lists of byte strings; errors come back as a code and a one-line message.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import struct
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from .errors import (
    EngineInternalError,
    EngineUnavailableError,
    InsufficientSharesError,
    InvalidArgumentError,
    KeyMismatchError,
    MalformedMessageError,
    ReleaseRefusedError,
    ThresholdCkksError,
)

LIBRARY_ENV = "FL_APP_THRESHOLD_LIB"
SOURCE_DIR = Path(__file__).resolve().parents[2] / "native" / "threshold_ckks"
LIBRARY_DIR = Path(os.environ.get("FL_APP_LIB", Path.home() / ".cache" / "fl-app" / "lib"))

_ERRORS: dict[int, type[ThresholdCkksError]] = {
    1: MalformedMessageError,
    2: KeyMismatchError,
    3: InsufficientSharesError,
    4: InvalidArgumentError,
    5: ReleaseRefusedError,
}


def source_digest(source_dir: Path = SOURCE_DIR) -> str:
    """Digest of the engine's Go sources, as ``scripts/setup_threshold.sh`` computes it.

    Returns
    -------
    str
        The first 16 hex digits of SHA-256 over ``go.mod``, ``go.sum`` and the ``.go``
        files, concatenated in byte order of their names.
    """
    names = sorted(
        [path.name for path in source_dir.glob("*.go")] + ["go.mod", "go.sum"],
        key=lambda name: name.encode(),
    )
    digest = hashlib.sha256()
    for name in names:
        digest.update((source_dir / name).read_bytes())
    return digest.hexdigest()[:16]


def library_path() -> Path:
    """Path of the engine library: the override, else the build of this checkout's
    sources, else (a package installed from wheels, without sources) the last build
    set-up made."""
    override = os.environ.get(LIBRARY_ENV)
    if override:
        return Path(override)
    if not SOURCE_DIR.is_dir():
        return LIBRARY_DIR / "libthreshold_ckks.so"
    return LIBRARY_DIR / f"libthreshold_ckks-{source_digest()}.so"


def load_library(path: Path) -> ctypes.CDLL:
    """Load the engine library at ``path`` and declare its C interface.

    Raises
    ------
    EngineUnavailableError
        If no library is there.
    """
    if not path.is_file():
        raise EngineUnavailableError(
            f"threshold CKKS engine not built at {path}; run `make setup` "
            f"(or bash scripts/setup_threshold.sh), or set {LIBRARY_ENV} to a built library"
        )
    library = ctypes.CDLL(str(path))
    library.fltc_call.argtypes = [
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_size_t),
    ]
    library.fltc_call.restype = ctypes.c_int
    library.fltc_free.argtypes = [ctypes.c_void_p]
    library.fltc_free.restype = None
    return library


@cache
def _library() -> ctypes.CDLL:
    # Loaded on first use: a process must not fork after loading the Go runtime and then
    # call the engine in the child.
    return load_library(library_path())


def pack_list(items: Sequence[bytes]) -> bytes:
    """Frame byte strings as the engine's request: a u32 count, then u32 length + bytes."""
    parts = [struct.pack("<I", len(items))]
    for item in items:
        parts += [struct.pack("<I", len(item)), item]
    return b"".join(parts)


def unpack_list(data: bytes) -> list[bytes]:
    """Inverse of ``pack_list``."""
    (count,) = struct.unpack_from("<I", data)
    items, offset = [], 4
    for _ in range(count):
        (size,) = struct.unpack_from("<I", data, offset)
        items.append(data[offset + 4 : offset + 4 + size])
        offset += 4 + size
    return items


def call(op: str, args: Sequence[bytes]) -> list[bytes]:
    """Run one engine operation.

    Parameters
    ----------
    op : str
        Operation name (see ``native/threshold_ckks/dispatch.go``).
    args : Sequence[bytes]
        Its arguments; integers are passed as decimal text.

    Returns
    -------
    list[bytes]
        The operation's results.

    Raises
    ------
    ThresholdCkksError
        The subclass that matches the engine's error code, with its one-line message.
    """
    library = _library()
    request = pack_list(args)
    out = ctypes.c_void_p()
    out_len = ctypes.c_size_t()
    # ctypes releases the GIL for the call; the engine is safe to call from threads.
    code = library.fltc_call(
        op.encode(), request, len(request), ctypes.byref(out), ctypes.byref(out_len)
    )
    try:
        response = ctypes.string_at(out.value, out_len.value) if out.value else b""
    finally:
        library.fltc_free(out)
    items = unpack_list(response)
    if code != 0:
        message = items[0].decode(errors="replace") if items else f"{op} failed"
        raise _ERRORS.get(code, EngineInternalError)(message)
    return items


@cache
def parameters() -> dict[str, Any]:
    """The engine's fixed parameter set (name, ring, modulus, scale, flooding noise)."""
    info: dict[str, Any] = json.loads(call("params", [])[0])
    return info
