"""Base58 text, as Solana's RPC writes addresses, signatures and account data."""

from __future__ import annotations

import based58

__all__ = ["b58decode", "b58encode"]


def b58encode(data: bytes) -> str:
    """Encode bytes in Bitcoin/Solana base58."""
    return based58.b58encode(data).decode("ascii")


def b58decode(text: str) -> bytes:
    """Decode base58 text; ``ValueError`` if it is not base58."""
    try:
        return bytes(based58.b58decode(text.encode("ascii")))
    except UnicodeEncodeError as err:
        raise ValueError(f"{text[:20]!r} is not base58 text") from err
