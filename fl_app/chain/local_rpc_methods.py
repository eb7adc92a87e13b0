"""Solana JSON-RPC methods answered by one embedded chain.

Everything the chain accepts is final at once, so every ``commitment`` (and
``minContextSlot``) parameter is accepted and ignored, and statuses report
``finalized``. Only legacy transactions are accepted (the runtime binding
takes bincode-serialized `Transaction`s). Transaction history lives in memory,
bounded, and is lost when the service stops.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from solders.hash import Hash
from solders.keypair import Keypair
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.sysvar import CLOCK
from solders.transaction import Transaction

from fl_app.chain import local_rpc_params as param
from fl_app.chain.local_rpc_accounts import AccountIndex
from fl_app.chain.local_rpc_encoding import RpcError, encode_account, encode_transaction

__all__ = ["SET_UNIX_TIMESTAMP", "SOLANA_VERSION", "ChainMethods"]

SOLANA_VERSION = "1.18.26"
SET_UNIX_TIMESTAMP = "flApp_setUnixTimestamp"
"""Custom method, not part of Solana's API: ``[unix_timestamp]`` moves the clock."""

# Limits a validator applies to the same requests.
_MAX_SIGNATURES = 256
_MAX_ACCOUNTS = 100
# Blocks a blockhash stays valid for (MAX_PROCESSING_AGE).
_BLOCKHASH_VALID_BLOCKS = 150
_MAX_DATA_LENGTH = 10 * 1024 * 1024
_I64 = range(-(2**63), 2**63)
_U64 = range(2**64)
_NEW_BLOCKHASH_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class _Recorded:
    """A committed transaction and what `getTransaction` reports about it."""

    transaction: Transaction
    slot: int
    block_time: int
    error: object | None
    fee: int
    logs: list[str]
    compute_units: int
    pre_balances: list[int]
    post_balances: list[int]


class ChainMethods:
    """Answers Solana RPC methods from an ``embedded_chain.Chain``.

    Parameters
    ----------
    chain : embedded_chain.Chain
        The chain to serve.
    lock_timeout_s : float
        Longest wait for the chain while other requests use it.
    history : int
        How many committed transactions `getTransaction` remembers.
    """

    def __init__(self, chain: Any, *, lock_timeout_s: float, history: int = 10_000) -> None:
        self._chain = chain
        self._lock = threading.Lock()
        self._lock_timeout_s = lock_timeout_s
        self._history: OrderedDict[Signature, _Recorded] = OrderedDict()
        self._history_size = history
        self._accounts = AccountIndex()
        self._methods: dict[str, Callable[[list[Any]], object]] = {
            "getAccountInfo": self._get_account_info,
            "getBalance": self._get_balance,
            "getBlockHeight": lambda _: self._clock()[0],
            "getHealth": lambda _: "ok",
            "getLatestBlockhash": self._get_latest_blockhash,
            "getMinimumBalanceForRentExemption": self._get_rent_exemption,
            "getMultipleAccounts": self._get_multiple_accounts,
            "getProgramAccounts": lambda params: self._accounts.program_accounts(
                params, self._account
            ),
            "getSignatureStatuses": self._get_signature_statuses,
            "getSlot": lambda _: self._clock()[0],
            "getTransaction": self._get_transaction,
            "getVersion": lambda _: {"solana-core": SOLANA_VERSION, "feature-set": None},
            "requestAirdrop": self._request_airdrop,
            "sendTransaction": self._send_transaction,
            SET_UNIX_TIMESTAMP: self._set_unix_timestamp,
        }

    def call(self, method: str, params: list[Any]) -> object:
        """Run ``method``; raises `RpcError` for anything a client should see."""
        handler = self._methods.get(method)
        if handler is None:
            raise RpcError(-32601, "Method not found")
        if not self._lock.acquire(timeout=self._lock_timeout_s):
            raise RpcError(
                -32603, f"Internal error: the chain was busy for {self._lock_timeout_s} s"
            )
        try:
            return handler(params)
        except (IndexError, KeyError, TypeError, ValueError) as err:
            raise RpcError(-32602, f"Invalid params: {err}") from None
        finally:
            self._lock.release()

    # -- reads -----------------------------------------------------------

    def _clock(self) -> tuple[int, int]:
        clock = self._chain.get_account(bytes(CLOCK))
        return int.from_bytes(clock.data[0:8], "little"), int.from_bytes(
            clock.data[32:40], "little", signed=True
        )

    def _context(self, value: object) -> dict[str, Any]:
        return {"context": {"slot": self._clock()[0], "apiVersion": SOLANA_VERSION}, "value": value}

    def _account(self, address: str, config: dict[str, Any]) -> dict[str, Any] | None:
        account = self._chain.get_account(bytes(param.pubkey(address)))
        if account is None:
            return None
        return encode_account(
            lamports=account.lamports,
            owner=account.owner,
            data=account.data,
            executable=account.executable,
            encoding=config.get("encoding", "base58"),
            data_slice=config.get("dataSlice"),
        )

    def _get_account_info(self, params: list[Any]) -> object:
        return self._context(self._account(params[0], param.config(params, 1)))

    def _get_multiple_accounts(self, params: list[Any]) -> object:
        addresses = params[0]
        if not isinstance(addresses, list) or len(addresses) > _MAX_ACCOUNTS:
            raise RpcError(-32602, f"Invalid params: at most {_MAX_ACCOUNTS} addresses")
        config = param.config(params, 1)
        return self._context([self._account(address, config) for address in addresses])

    def _get_balance(self, params: list[Any]) -> object:
        account = self._chain.get_account(bytes(param.pubkey(params[0])))
        return self._context(0 if account is None else account.lamports)

    def _get_latest_blockhash(self, params: list[Any]) -> object:
        blockhash = Hash.from_bytes(self._chain.latest_blockhash())
        height = self._clock()[0] + _BLOCKHASH_VALID_BLOCKS
        return self._context({"blockhash": str(blockhash), "lastValidBlockHeight": height})

    def _get_rent_exemption(self, params: list[Any]) -> object:
        size = param.integer(params[0], range(_MAX_DATA_LENGTH + 1), "data length")
        return self._chain.minimum_balance_for_rent_exemption(size)

    def _get_signature_statuses(self, params: list[Any]) -> object:
        signatures = params[0]
        if not isinstance(signatures, list) or len(signatures) > _MAX_SIGNATURES:
            raise RpcError(-32602, f"Invalid params: at most {_MAX_SIGNATURES} signatures")
        statuses = []
        for text in signatures:
            recorded = self._history.get(param.signature(text))
            statuses.append(
                None
                if recorded is None
                else {
                    "slot": recorded.slot,
                    "confirmations": None,
                    "err": recorded.error,
                    "status": param.status(recorded.error),
                    "confirmationStatus": "finalized",
                }
            )
        return self._context(statuses)

    def _get_transaction(self, params: list[Any]) -> object:
        config = param.config(params, 1)
        recorded = self._history.get(param.signature(params[0]))
        if recorded is None:
            return None
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
        if config.get("maxSupportedTransactionVersion") is not None:
            answer["version"] = "legacy"
        return answer

    # -- writes ----------------------------------------------------------

    def _send_transaction(self, params: list[Any]) -> object:
        config = param.config(params, 1)
        transaction = param.transaction(params[0], config.get("encoding", "base58"))
        raw = bytes(transaction)
        if not config.get("skipPreflight", False):
            preflight = self._chain.simulate_transaction(raw)
            if not preflight.ok:
                raise param.preflight_failure(preflight)
        return str(self._commit(transaction))

    def _commit(self, transaction: Transaction) -> Signature:
        """Execute and record ``transaction``; raise if the runtime did not take it.

        A validator silently drops a transaction it cannot execute (unknown
        blockhash, resent, unfunded fee payer) even with ``skipPreflight``;
        answering with the preflight error instead saves the client its
        confirmation timeout.
        """
        keys = [bytes(key) for key in transaction.message.account_keys]
        pre_balances = [self._lamports(key) for key in keys]
        outcome = self._chain.send_transaction(bytes(transaction))
        if not outcome.committed:
            raise param.preflight_failure(outcome)
        self._accounts.remember(str(key) for key in transaction.message.account_keys)
        slot, block_time = self._clock()
        signature = Signature.from_bytes(outcome.signature)
        self._history[signature] = _Recorded(
            transaction=transaction,
            slot=slot,
            block_time=block_time,
            error=None if outcome.error_json is None else json.loads(outcome.error_json),
            fee=outcome.fee,
            logs=list(outcome.logs),
            compute_units=outcome.compute_units,
            pre_balances=pre_balances,
            post_balances=[self._lamports(key) for key in keys],
        )
        while len(self._history) > self._history_size:
            self._history.popitem(last=False)
        return signature

    def _lamports(self, address: bytes) -> int:
        account = self._chain.get_account(address)
        return 0 if account is None else int(account.lamports)

    def _request_airdrop(self, params: list[Any]) -> object:
        """A transfer from the genesis payer, recorded like any transaction."""
        address = param.pubkey(params[0])
        lamports = param.integer(params[1], _U64, "lamports")
        payer = Keypair.from_bytes(self._chain.payer_keypair())
        ix = transfer(
            TransferParams(from_pubkey=payer.pubkey(), to_pubkey=address, lamports=lamports)
        )
        blockhash = Hash.from_bytes(self._chain.latest_blockhash())
        for attempt in range(2):
            tx = Transaction.new_signed_with_payer([ix], payer.pubkey(), [payer], blockhash)
            try:
                signature = self._commit(tx)
                break
            except RpcError as err:
                # The same airdrop twice in one slot has the same signature and
                # is dropped as already processed: sign with the next blockhash.
                if attempt or not param.already_processed(err):
                    raise RpcError(
                        -32603, f"Internal error: airdrop failed: {err.message}"
                    ) from None
                blockhash = self._next_blockhash(blockhash)
        cause = self._history[signature].error
        if cause is not None:
            raise RpcError(-32603, f"Internal error: airdrop failed: {cause}")
        return str(signature)

    def _next_blockhash(self, current: Hash) -> Hash:
        # The runtime registers a new blockhash every slot (about 400 ms).
        deadline = time.monotonic() + _NEW_BLOCKHASH_TIMEOUT_S
        while time.monotonic() < deadline:
            blockhash = Hash.from_bytes(self._chain.latest_blockhash())
            if blockhash != current:
                return blockhash
            time.sleep(0.05)
        raise RpcError(-32603, "Internal error: no new blockhash for a repeated airdrop")

    def _set_unix_timestamp(self, params: list[Any]) -> object:
        self._chain.set_unix_timestamp(param.integer(params[0], _I64, "unix timestamp"))
        return None
