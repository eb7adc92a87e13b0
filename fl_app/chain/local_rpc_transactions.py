"""Transactions on the local chain service: send, simulate, fees, history.

Legacy and v0 transactions are accepted (v0 without address table lookups is what
web3.js and Anchor build by default). Everything committed is final at once, so every
``commitment`` parameter is accepted and ignored and statuses report ``finalized``.
History is in memory and bounded; it does not survive a restart (accounts do, see
`fl_app.chain.local_rpc_state`).
"""

from __future__ import annotations

import base64
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from solders.hash import Hash
from solders.message import Message, MessageV0
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from fl_app.chain import local_rpc_params as param
from fl_app.chain.local_rpc_clock import BlockhashWindow, SlotClock
from fl_app.chain.local_rpc_encoding import RpcError, encode_transaction

__all__ = ["Committed", "Transactions"]


@dataclass(frozen=True)
class Committed:
    """A transaction the chain recorded, as subscriptions and `getTransaction` see it."""

    signature: Signature
    transaction: VersionedTransaction
    slot: int
    block_time: int
    error: object | None
    fee: int
    logs: list[str]
    compute_units: int
    pre_balances: list[int]
    post_balances: list[int]

    @property
    def account_keys(self) -> list[str]:
        return [str(key) for key in self.transaction.message.account_keys]


class Transactions:
    """Sends, simulates and remembers transactions; callers hold the chain's lock.

    Parameters
    ----------
    chain : embedded_chain.Chain
        The chain to run transactions on.
    clock : SlotClock
        Its slots and time.
    history : int
        How many committed transactions `getTransaction` remembers.
    """

    def __init__(self, chain: Any, clock: SlotClock, *, history: int) -> None:
        self._chain = chain
        self._clock = clock
        self.window = BlockhashWindow()
        self._history: OrderedDict[Signature, Committed] = OrderedDict()
        self._history_size = history
        self.listeners: list[Callable[[Committed], None]] = []

    def recorded(self, signature: Signature) -> Committed | None:
        return self._history.get(signature)

    def latest_blockhash(self) -> tuple[Hash, int]:
        """The newest blockhash and its last valid block height."""
        raw = bytes(self._chain.latest_blockhash())
        return Hash.from_bytes(raw), self.window.hand_out(raw, self._clock.slot())

    def blockhash_valid(self, blockhash: Hash) -> bool:
        raw = bytes(blockhash)
        if self.window.expired(raw, self._clock.slot()):
            return False
        return bool(self._chain.is_blockhash_valid(raw))

    def send(self, params: list[Any]) -> str:
        config = param.config(params, 1)
        transaction = param.transaction(params[0], config.get("encoding", "base58"))
        if self.window.expired(bytes(transaction.message.recent_blockhash), self._clock.slot()):
            raise RpcError(
                -32002,
                "Transaction simulation failed: Blockhash not found",
                _failure_data("BlockhashNotFound", [], 0),
            )
        if not config.get("skipPreflight", False):
            preflight = self._chain.simulate_versioned_transaction(bytes(transaction))
            if not preflight.ok:
                raise param.preflight_failure(preflight)
        return str(self.commit(transaction))

    def commit(self, transaction: VersionedTransaction) -> Signature:
        """Execute and record ``transaction``; raise if the runtime did not take it.

        A validator silently drops a transaction it cannot execute (unknown blockhash,
        resent, unfunded fee payer) even with ``skipPreflight``; answering with the
        preflight error instead saves the client its confirmation timeout.
        """
        keys = [bytes(key) for key in transaction.message.account_keys]
        pre_balances = [self._lamports(key) for key in keys]
        outcome = self._chain.send_versioned_transaction(bytes(transaction))
        if not outcome.committed:
            raise param.preflight_failure(outcome)
        signature = Signature.from_bytes(outcome.signature)
        committed = Committed(
            signature=signature,
            transaction=transaction,
            slot=self._clock.slot(),
            block_time=self._clock.unix_timestamp(),
            error=None if outcome.error_json is None else json.loads(outcome.error_json),
            fee=outcome.fee,
            logs=list(outcome.logs),
            compute_units=outcome.compute_units,
            pre_balances=pre_balances,
            post_balances=[self._lamports(key) for key in keys],
        )
        self._history[signature] = committed
        while len(self._history) > self._history_size:
            self._history.popitem(last=False)
        for listener in self.listeners:
            listener(committed)
        return signature

    def simulate(self, params: list[Any]) -> dict[str, Any]:
        """The ``value`` of a `simulateTransaction` answer."""
        config = param.config(params, 1)
        transaction = param.transaction(
            params[0], config.get("encoding", "base58"), verify=bool(config.get("sigVerify"))
        )
        if config.get("accounts") is not None:
            raise RpcError(
                -32602, "Invalid params: accounts after simulation are not reported here"
            )
        value: dict[str, Any] = {}
        if config.get("replaceRecentBlockhash"):
            if config.get("sigVerify"):
                raise RpcError(
                    -32602, "Invalid params: sigVerify may not be used with replaceRecentBlockhash"
                )
            blockhash, last_valid = self.latest_blockhash()
            transaction = _with_blockhash(transaction, blockhash)
            value["replacementBlockhash"] = {
                "blockhash": str(blockhash),
                "lastValidBlockHeight": last_valid,
            }
        outcome = self._chain.simulate_versioned_transaction(bytes(transaction))
        error = None if outcome.error_json is None else json.loads(outcome.error_json)
        if error is None and not outcome.ok:
            error = outcome.error
        return {**_failure_data(error, list(outcome.logs), outcome.compute_units), **value}

    def fee_for_message(self, params: list[Any]) -> int | None:
        if not params or not isinstance(params[0], str):
            raise RpcError(-32602, "Invalid params: expected a base64 message")
        try:
            raw = base64.b64decode(params[0], validate=True)
            fee = self._chain.fee_for_message(raw)
        except ValueError as err:
            raise RpcError(-32602, f"Invalid params: not a message: {err}") from None
        return None if fee is None else int(fee)

    def describe(self, params: list[Any]) -> dict[str, Any] | None:
        """The answer to `getTransaction`."""
        config = param.config(params, 1)
        recorded = self._history.get(param.signature(params[0]))
        if recorded is None:
            return None
        message = recorded.transaction.message
        supported = config.get("maxSupportedTransactionVersion")
        if isinstance(message, MessageV0) and supported is None:
            raise RpcError(
                -32015,
                "Transaction version (0) is not supported by the requesting client. "
                "Please try the request again with the following configuration parameter: "
                '"maxSupportedTransactionVersion": 0',
            )
        answer: dict[str, Any] = {
            "slot": recorded.slot,
            "blockTime": recorded.block_time,
            "transaction": encode_transaction(recorded.transaction, config.get("encoding", "json")),
            "meta": {
                "err": recorded.error,
                "status": param.status(recorded.error),
                "fee": recorded.fee,
                "preBalances": recorded.pre_balances,
                "postBalances": recorded.post_balances,
                # Not tracked by the embedded runtime: null means "not recorded".
                "innerInstructions": None,
                "preTokenBalances": None,
                "postTokenBalances": None,
                "rewards": None,
                "logMessages": recorded.logs,
                "loadedAddresses": {"writable": [], "readonly": []},
                "computeUnitsConsumed": recorded.compute_units,
            },
        }
        if supported is not None:
            answer["version"] = 0 if isinstance(message, MessageV0) else "legacy"
        return answer

    def _lamports(self, address: bytes) -> int:
        account = self._chain.get_account(address)
        return 0 if account is None else int(account.lamports)


def _failure_data(error: object | None, logs: list[str], units: int) -> dict[str, Any]:
    return {
        "err": error,
        "logs": logs,
        "accounts": None,
        "unitsConsumed": units,
        "returnData": None,
        "innerInstructions": None,
    }


def _with_blockhash(transaction: VersionedTransaction, blockhash: Hash) -> VersionedTransaction:
    message = transaction.message
    replaced: Message | MessageV0
    if isinstance(message, MessageV0):
        replaced = MessageV0(
            message.header,
            message.account_keys,
            blockhash,
            message.instructions,
            message.address_table_lookups,
        )
    else:
        header = message.header
        replaced = Message.new_with_compiled_instructions(
            header.num_required_signatures,
            header.num_readonly_signed_accounts,
            header.num_readonly_unsigned_accounts,
            message.account_keys,
            blockhash,
            message.instructions,
        )
    return VersionedTransaction.populate(replaced, transaction.signatures)
