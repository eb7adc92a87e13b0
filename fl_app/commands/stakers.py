"""Every Stake account of a task, found with the standard ``getProgramAccounts``."""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING

import httpx

from fl_app.errors import FlAppError

if TYPE_CHECKING:
    from solders.pubkey import Pubkey

    from fl_app.chain import StakeAccount
    from fl_app.commands.cluster import Cluster

__all__ = ["ListingUnsupportedError", "list_stakes"]

# Anchor puts sha256("account:<Name>")[:8] before an account's fields; Stake's first
# field is its task.
_STAKE_DISCRIMINATOR = hashlib.sha256(b"account:Stake").digest()[:8]
_TASK_OFFSET = 8
_METHOD_NOT_FOUND = -32601


class ListingUnsupportedError(FlAppError):
    """The cluster's RPC has ``getProgramAccounts`` turned off (some providers do)."""


def list_stakes(cluster: Cluster, task: Pubkey, *, timeout_s: float = 30.0) -> list[StakeAccount]:
    """Every Stake account of ``task``, ordered by participant address."""
    from solders.pubkey import Pubkey

    from fl_app.chain import StakeAccount
    from fl_app.chain.accounts import decode_account
    from fl_app.chain.base58 import b58encode
    from fl_app.chain.idl import load_spec

    filters = [
        {"memcmp": {"offset": 0, "bytes": b58encode(_STAKE_DISCRIMINATOR)}},
        {"memcmp": {"offset": _TASK_OFFSET, "bytes": str(task)}},
    ]
    request = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "getProgramAccounts",
        "params": [str(load_spec().program_id), {"encoding": "base64", "filters": filters}],
    }
    try:
        response = httpx.post(
            cluster.url,
            json=request,
            timeout=timeout_s,
            trust_env=not cluster.is_local,
        )
        answer = response.json()
    except (httpx.HTTPError, ValueError):
        raise FlAppError(f"no chain at {cluster.url}: {cluster.start_hint()}") from None
    if "error" in answer:
        error = answer["error"]
        if error.get("code") == _METHOD_NOT_FOUND:
            raise ListingUnsupportedError(
                f"the chain at {cluster.url} cannot list accounts (no getProgramAccounts); "
                "use an RPC that serves it, or name the stakers with --participant"
            )
        raise FlAppError(f"getProgramAccounts failed at {cluster.url}: {error.get('message')}")
    stakes = [
        decode_account(
            StakeAccount,
            Pubkey.from_string(item["pubkey"]),
            base64.b64decode(item["account"]["data"][0]),
        )
        for item in answer["result"]
    ]
    return sorted(stakes, key=lambda s: str(s.participant))
