"""Content identifiers (CIDv1, sha2-256, base32) built and parsed locally.

Only the subset this project produces is accepted: CID version 1, the ``raw`` or
``dag-pb`` codec, a sha2-256 multihash, and the lower-case base32 multibase text form
that Kubo prints for CIDv1. Anything else (CIDv0 ``Qm...`` strings, other hashes or
bases) is refused with :class:`~fl_app.ipfs.errors.CidError`, so that one piece of
content has exactly one accepted spelling and CIDs can be compared as strings.
Formats follow the multiformats specifications (multibase, multicodec, multihash,
unsigned varint) and the CID specification.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from fl_app.ipfs.errors import CidError

__all__ = ["CODEC_DAG_PB", "CODEC_RAW", "Cid", "decode_varint", "encode_varint"]

CODEC_RAW = 0x55
CODEC_DAG_PB = 0x70
_CID_VERSION = 1
_MULTIHASH_SHA2_256 = 0x12
_SHA2_256_LENGTH = 32
_MULTIBASE_BASE32_LOWER = "b"
_KNOWN_CODECS = {CODEC_RAW: "raw", CODEC_DAG_PB: "dag-pb"}


def encode_varint(value: int) -> bytes:
    """Encode a non-negative integer as an unsigned LEB128 varint (multiformats / protobuf)."""
    if value < 0:
        raise ValueError(f"varint must be non-negative, got {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes, offset: int = 0) -> tuple[int, int]:
    """Decode an unsigned varint at ``offset``; return ``(value, offset after it)``."""
    value = 0
    shift = 0
    position = offset
    while True:
        if position >= len(data):
            raise CidError("truncated varint")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
        # multiformats caps varints at 9 bytes (63 bits).
        if shift >= 63:
            raise CidError("varint longer than 9 bytes")


@dataclass(frozen=True)
class Cid:
    """A CIDv1 over a sha2-256 digest.

    Parameters
    ----------
    codec
        Multicodec of the block: :data:`CODEC_RAW` or :data:`CODEC_DAG_PB`.
    digest
        The 32-byte sha2-256 digest of the block's bytes.
    """

    codec: int
    digest: bytes

    def __post_init__(self) -> None:
        if self.codec not in _KNOWN_CODECS:
            raise CidError(f"unsupported CID codec 0x{self.codec:x}; expected raw or dag-pb")
        if len(self.digest) != _SHA2_256_LENGTH:
            raise CidError(f"sha2-256 digest must be 32 bytes, got {len(self.digest)}")

    @classmethod
    def for_block(cls, codec: int, block: bytes) -> Cid:
        """Return the CID of a block's bytes under ``codec``."""
        return cls(codec, hashlib.sha256(block).digest())

    @classmethod
    def parse(cls, text: str) -> Cid:
        """Parse the base32 text form; raise :class:`CidError` naming what is wrong."""
        if not isinstance(text, str) or not text:
            raise CidError("CID must be a non-empty string")
        if text.startswith("Qm"):
            raise CidError(f"{text} is a CIDv0; this project only accepts CIDv1 (base32, 'b...')")
        if not text.startswith(_MULTIBASE_BASE32_LOWER):
            raise CidError(f"{text!r} is not a base32 CIDv1 (it must start with 'b')")
        body = text[1:]
        if body != body.lower():
            raise CidError(f"{text!r} is not lower-case base32")
        try:
            raw = base64.b32decode(body.upper() + "=" * (-len(body) % 8))
        except ValueError as err:
            raise CidError(f"{text!r} is not valid base32: {err}") from err
        version, position = decode_varint(raw)
        if version != _CID_VERSION:
            raise CidError(f"{text!r} has CID version {version}; expected 1")
        codec, position = decode_varint(raw, position)
        hash_code, position = decode_varint(raw, position)
        length, position = decode_varint(raw, position)
        if hash_code != _MULTIHASH_SHA2_256 or length != _SHA2_256_LENGTH:
            raise CidError(f"{text!r} does not use a 32-byte sha2-256 multihash")
        digest = raw[position:]
        if len(digest) != length:
            raise CidError(f"{text!r} has a digest of {len(digest)} bytes; expected {length}")
        cid = cls(codec, digest)
        if str(cid) != text:
            raise CidError(f"{text!r} is not in canonical form; expected {cid}")
        return cid

    def to_bytes(self) -> bytes:
        """Binary CID: version, codec and multihash, each prefixed as multiformats says."""
        return (
            encode_varint(_CID_VERSION)
            + encode_varint(self.codec)
            + encode_varint(_MULTIHASH_SHA2_256)
            + encode_varint(_SHA2_256_LENGTH)
            + self.digest
        )

    @property
    def codec_name(self) -> str:
        """The multicodec's name, ``"raw"`` or ``"dag-pb"``."""
        return _KNOWN_CODECS[self.codec]

    def __str__(self) -> str:
        encoded = base64.b32encode(self.to_bytes()).decode("ascii").lower().rstrip("=")
        return _MULTIBASE_BASE32_LOWER + encoded
