"""Recognise the secrets a bundle must never carry, by their content as well as their name.

Three kinds exist: a wallet keypair (the Solana CLI's JSON array of 64
bytes, whatever the file is called), a sealed secret (``*.sealed``: a NaCl sealed box has
no recognisable content, so the name is what marks it), and a TenSEAL context that holds
a secret key (recognised by loading it).
"""

from __future__ import annotations

import json

__all__ = ["secret_kind"]

_KEYPAIR_LENGTH = 64
# A keypair file is about 250 bytes of JSON; anything much larger is something else.
_MAX_KEYPAIR_TEXT = 4_096
_SEALED_SUFFIX = ".sealed"


def _is_keypair(content: bytes) -> bool:
    if len(content) > _MAX_KEYPAIR_TEXT or not content.lstrip().startswith(b"["):
        return False
    try:
        value = json.loads(content)
    except (UnicodeDecodeError, ValueError):
        return False
    return (
        isinstance(value, list)
        and len(value) == _KEYPAIR_LENGTH
        and all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b < 256 for b in value)
    )


def _is_text(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _is_secret_ckks_context(content: bytes) -> bool:
    if not content or _is_text(content):
        return False
    import tenseal as ts

    try:
        context = ts.context_from(content)
    except Exception:  # TenSEAL raises bare errors for bytes it cannot parse
        return False
    return bool(context.has_secret_key())


def secret_kind(name: str, content: bytes) -> str | None:
    """What secret the file ``name`` with ``content`` is, or None if it is none of them.

    Returns
    -------
    str | None
        ``"a wallet keypair"``, ``"a sealed secret"``, ``"a secret CKKS context"`` or None.
    """
    if _is_keypair(content):
        return "a wallet keypair"
    if name.endswith(_SEALED_SUFFIX):
        return "a sealed secret"
    if _is_secret_ckks_context(content):
        return "a secret CKKS context"
    return None
