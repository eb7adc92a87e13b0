"""``getProgramAccounts`` for the local chain service.

The embedded runtime cannot enumerate its accounts, so the service keeps the address of
every account a committed transaction (airdrops included) touched; accounts are only
created by transactions, so none is missed. Queries filter those by owner and by the
standard ``dataSize`` and ``memcmp`` filters, as a validator does (``filters: null`` is no
filter). A restored chain starts with the addresses of the accounts it restored.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from typing import Any

from fl_app.chain.base58 import b58decode
from fl_app.chain.local_rpc_encoding import RpcError

__all__ = ["AccountIndex"]

AccountReader = Callable[[str, dict[str, Any]], dict[str, Any] | None]
"""Reads one account in RPC form (base58 address, encoding config) or None."""


class AccountIndex:
    """Addresses seen in committed transactions, in first-seen order."""

    def __init__(self) -> None:
        self._known: dict[str, None] = {}

    def remember(self, addresses: Iterable[str]) -> None:
        self._known.update(dict.fromkeys(addresses))

    def addresses(self) -> list[str]:
        """Every address remembered, in first-seen order."""
        return list(self._known)

    def program_accounts(self, params: list[Any], read: AccountReader) -> list[dict[str, Any]]:
        """The answer to ``getProgramAccounts`` with ``params``."""
        if not params or not isinstance(params[0], str):
            raise RpcError(-32602, "Invalid params: expected a program id")
        config = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        program, filters = params[0], config.get("filters") or []
        if not isinstance(filters, list):
            raise RpcError(-32602, "Invalid params: filters must be an array")
        plain = config.get("encoding", "base64") == "base64" and config.get("dataSlice") is None
        found = []
        for address in self._known:
            raw = read(address, {"encoding": "base64"})
            if raw is None or raw["owner"] != program:
                continue
            data = base64.b64decode(raw["data"][0])
            if all(_matches(data, spec) for spec in filters):
                shown = raw if plain else read(address, {"encoding": "base64", **config})
                found.append({"pubkey": address, "account": shown})
        return found


def _matches(data: bytes, spec: Any) -> bool:
    if not isinstance(spec, dict):
        raise RpcError(-32602, "Invalid params: a filter must be an object")
    if "dataSize" in spec:
        return len(data) == spec["dataSize"]
    memcmp = spec.get("memcmp")
    if not isinstance(memcmp, dict):
        raise RpcError(-32602, "Invalid params: unknown filter")
    offset = int(memcmp.get("offset", 0))
    text = str(memcmp.get("bytes", ""))
    try:
        wanted = base64.b64decode(text) if memcmp.get("encoding") == "base64" else b58decode(text)
    except ValueError as err:
        raise RpcError(-32602, f"Invalid params: bad memcmp bytes: {err}") from None
    return data[offset : offset + len(wanted)] == wanted
