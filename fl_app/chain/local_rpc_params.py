"""Parameters of the local chain's RPC methods: decoding and validation."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from fl_app.chain.base58 import b58decode
from fl_app.chain.local_rpc_encoding import RpcError, error_message

__all__ = [
    "already_processed",
    "blockhash",
    "config",
    "integer",
    "preflight_failure",
    "pubkey",
    "signature",
    "status",
    "transaction",
]


def config(params: list[Any], index: int) -> dict[str, Any]:
    config = params[index] if len(params) > index else None
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise RpcError(-32602, "Invalid params: the configuration must be an object")
    return config


def integer(value: object, allowed: range, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        raise RpcError(
            -32602,
            f"Invalid params: {what} must be an integer in [{allowed.start}, {allowed.stop})",
        )
    return value


def pubkey(text: object) -> Pubkey:
    if not isinstance(text, str):
        raise RpcError(-32602, "Invalid params: an address must be a base58 string")
    try:
        return Pubkey.from_string(text)
    except ValueError:
        raise RpcError(-32602, f"Invalid param: {text!r} is not an address") from None


def blockhash(text: object) -> Hash:
    if not isinstance(text, str):
        raise RpcError(-32602, "Invalid params: a blockhash must be a base58 string")
    try:
        return Hash.from_string(text)
    except ValueError:
        raise RpcError(-32602, f"Invalid param: {text!r} is not a blockhash") from None


def signature(text: object) -> Signature:
    if not isinstance(text, str):
        raise RpcError(-32602, "Invalid params: a signature must be a base58 string")
    try:
        return Signature.from_string(text)
    except ValueError:
        raise RpcError(-32602, f"Invalid param: {text!r} is not a signature") from None


def transaction(text: object, encoding: str, *, verify: bool = True) -> VersionedTransaction:
    """A legacy or v0 transaction; its signatures are checked when ``verify``."""
    if not isinstance(text, str):
        raise RpcError(-32602, "Invalid params: the transaction must be a string")
    try:
        if encoding == "base64":
            raw = base64.b64decode(text, validate=True)
        elif encoding == "base58":
            raw = b58decode(text)
        else:
            raise RpcError(-32602, f"Invalid params: unsupported encoding {encoding!r}")
    except (binascii.Error, ValueError) as err:
        raise RpcError(-32602, f"invalid transaction: {encoding} decoding failed: {err}") from None
    try:
        transaction = VersionedTransaction.from_bytes(raw)
    except ValueError as err:
        raise RpcError(-32602, f"invalid transaction: {err}") from None
    if verify and not all(transaction.verify_with_results()):
        raise RpcError(-32003, "Transaction signature verification failure")
    return transaction


def already_processed(err: RpcError) -> bool:
    return isinstance(err.data, dict) and err.data.get("err") == "AlreadyProcessed"


def status(error: object | None) -> dict[str, object]:
    return {"Ok": None} if error is None else {"Err": error}


def preflight_failure(outcome: Any) -> RpcError:
    """A validator's ``sendTransaction`` preflight error, logs included."""
    error = None if outcome.error_json is None else json.loads(outcome.error_json)
    message = error_message(outcome.error_json, outcome.error)
    return RpcError(
        -32002,
        f"Transaction simulation failed: {message}",
        {
            "err": error,
            "logs": list(outcome.logs),
            "accounts": None,
            "unitsConsumed": outcome.compute_units,
            "returnData": None,
            "innerInstructions": None,
        },
    )
