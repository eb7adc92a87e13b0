"""The header every message of the threshold engine starts with, read in Python.

``native/threshold_ckks/wire.go``: the magic ``FLTC``, the format version, the message
kind, then the 32-byte digest that binds the message (the task seed's for key material,
the collective public key's for ciphertexts and decryption shares). After the header,
key-generation messages and public keys carry u16 member numbers or ``n`` and ``t``.
"""

from __future__ import annotations

import struct

MAGIC = b"FLTC"
VERSION = 2
KIND_PUBLIC_KEY = 4
KIND_CIPHERTEXT = 5
HEADER_BYTES = len(MAGIC) + 2 + 32
DIGEST = slice(len(MAGIC) + 2, HEADER_BYTES)


def is_kind(message: bytes, kind: int) -> bool:
    """True if ``message`` has the engine's header with this kind."""
    return (
        len(message) >= HEADER_BYTES
        and message[: len(MAGIC)] == MAGIC
        and message[len(MAGIC)] == VERSION
        and message[len(MAGIC) + 1] == kind
    )


def u16_after_header(message: bytes, index: int = 0) -> int | None:
    """The ``index``-th u16 after the header (a member number, ``n``, ``t``), if present."""
    at = HEADER_BYTES + 2 * index
    if len(message) < at + 2:
        return None
    return int(struct.unpack_from("<H", message, at)[0])
