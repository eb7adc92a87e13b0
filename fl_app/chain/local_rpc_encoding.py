"""JSON shapes of Solana's RPC answers (accounts, transactions, errors) for the local chain."""

from __future__ import annotations

import base64
import json
from typing import Any

from solders.message import MessageV0
from solders.transaction import VersionedTransaction

from fl_app.chain.base58 import b58encode

__all__ = [
    "RpcError",
    "encode_account",
    "encode_transaction",
    "error_message",
]

# A validator refuses base58 account data above this size and asks for base64.
_MAX_BASE58_BYTES = 128
# What a validator reports as `rentEpoch` for rent-exempt accounts since 1.14.
_RENT_EXEMPT_EPOCH = 2**64 - 1


class RpcError(Exception):
    """A JSON-RPC error to answer with.

    Codes follow JSON-RPC 2.0 (-32700 parse error, -32600 invalid request,
    -32601 method not found, -32602 invalid params, -32603 internal error)
    and Solana's server errors (-32002 preflight failure, -32003 signature
    verification failure).
    """

    def __init__(self, code: int, message: str, data: object | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        """The ``error`` member of a JSON-RPC response."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def encode_account(
    *,
    lamports: int,
    owner: bytes,
    data: bytes,
    executable: bool,
    encoding: str,
    data_slice: dict[str, Any] | None,
) -> dict[str, Any]:
    """An account as `getAccountInfo` returns it (``jsonParsed`` falls back to base64)."""
    if data_slice is not None:
        offset, length = data_slice.get("offset"), data_slice.get("length")
        if not isinstance(offset, int) or not isinstance(length, int):
            raise RpcError(-32602, "Invalid params: dataSlice needs offset and length")
        if not _is_count(offset) or not _is_count(length):
            raise RpcError(-32602, "Invalid params: dataSlice offset and length must be >= 0")
        data = data[offset : offset + length]
    if encoding == "base58":
        if len(data) > _MAX_BASE58_BYTES:
            raise RpcError(
                -32600,
                "Encoded binary (base 58) data should be less than 128 bytes, "
                "please use Base64 encoding.",
            )
        encoded = [b58encode(data), "base58"]
    elif encoding in ("base64", "jsonParsed"):
        encoded = [base64.b64encode(data).decode(), "base64"]
    else:
        raise RpcError(-32602, f"Invalid params: unsupported encoding {encoding!r}")
    return {
        "lamports": lamports,
        "owner": b58encode(owner),
        "data": encoded,
        "executable": executable,
        "rentEpoch": _RENT_EXEMPT_EPOCH,
        "space": len(data),
    }


def encode_transaction(transaction: VersionedTransaction, encoding: str) -> object:
    """A transaction as `getTransaction` returns it (``jsonParsed`` falls back to json)."""
    raw = bytes(transaction)
    if encoding == "base64":
        return [base64.b64encode(raw).decode(), "base64"]
    if encoding == "base58":
        return [b58encode(raw), "base58"]
    if encoding not in ("json", "jsonParsed"):
        raise RpcError(-32602, f"Invalid params: unsupported encoding {encoding!r}")
    message = transaction.message
    header = message.header
    encoded: dict[str, Any] = {
        "signatures": [str(signature) for signature in transaction.signatures],
        "message": {
            "accountKeys": [str(key) for key in message.account_keys],
            "header": {
                "numRequiredSignatures": header.num_required_signatures,
                "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
                "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts,
            },
            "recentBlockhash": str(message.recent_blockhash),
            "instructions": [
                {
                    "programIdIndex": ix.program_id_index,
                    "accounts": list(ix.accounts),
                    "data": b58encode(bytes(ix.data)),
                    "stackHeight": None,
                }
                for ix in message.instructions
            ],
        },
    }
    if isinstance(message, MessageV0):
        encoded["message"]["addressTableLookups"] = [
            {
                "accountKey": str(lookup.account_key),
                "writableIndexes": list(lookup.writable_indexes),
                "readonlyIndexes": list(lookup.readonly_indexes),
            }
            for lookup in message.address_table_lookups
        ]
    return encoded


def error_message(error_json: str | None, fallback: str | None) -> str:
    """A validator's wording for a transaction error, e.g. for preflight failures."""
    if error_json is None:
        return fallback or "transaction failed"
    error = json.loads(error_json)
    if isinstance(error, dict) and "InstructionError" in error:
        index, cause = error["InstructionError"]
        if isinstance(cause, dict) and "Custom" in cause:
            return (
                f"Error processing Instruction {index}: custom program error: {cause['Custom']:#x}"
            )
        return f"Error processing Instruction {index}: {cause}"
    known = {
        "AlreadyProcessed": "This transaction has already been processed",
        "BlockhashNotFound": "Blockhash not found",
        "AccountNotFound": ("Attempt to debit an account but found no record of a prior credit."),
    }
    return known.get(error, fallback or str(error)) if isinstance(error, str) else str(error)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
