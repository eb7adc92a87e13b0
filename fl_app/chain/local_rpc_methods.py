"""Solana JSON-RPC methods answered by one embedded chain.

Everything the chain accepts is final at once, so every ``commitment`` (and
``minContextSlot``) parameter is accepted and ignored, and statuses report
``finalized``. Slots and the Clock follow wall time (`fl_app.chain.local_rpc_clock`);
transactions are sent, simulated and remembered by
`fl_app.chain.local_rpc_transactions`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from solders.hash import Hash
from solders.keypair import Keypair
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction, VersionedTransaction

from fl_app.chain import local_rpc_params as param
from fl_app.chain.local_rpc_accounts import AccountIndex
from fl_app.chain.local_rpc_clock import SLOT_S, TICK_S, SlotClock
from fl_app.chain.local_rpc_encoding import RpcError, encode_account
from fl_app.chain.local_rpc_transactions import Committed, Transactions

__all__ = ["SET_UNIX_TIMESTAMP", "SOLANA_VERSION", "ChainMethods"]

SOLANA_VERSION = "1.18.26"
SET_UNIX_TIMESTAMP = "flApp_setUnixTimestamp"
"""Custom method, not part of Solana's API: ``[unix_timestamp]`` moves the clock."""

# Limits a validator applies to the same requests.
_MAX_SIGNATURES = 256
_MAX_ACCOUNTS = 100
_MAX_DATA_LENGTH = 10 * 1024 * 1024
_I64 = range(-(2**63), 2**63)
_U64 = range(2**64)
_NEW_BLOCKHASH_TIMEOUT_S = 5.0
# A request finding the chain this many slots behind wall time catches it up first.
_LAG_SLOTS = int(TICK_S / SLOT_S)


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
    clock_offset_s : float
        Chain time minus wall time at start (a restored chain continues its time).
    """

    def __init__(
        self,
        chain: Any,
        *,
        lock_timeout_s: float,
        history: int = 10_000,
        clock_offset_s: float = 0.0,
    ) -> None:
        self._chain = chain
        self._lock = threading.Lock()
        self._lock_timeout_s = lock_timeout_s
        self.last_request = time.monotonic()
        self.clock = SlotClock(chain, offset_s=clock_offset_s)
        self.transactions = Transactions(chain, self.clock, history=history)
        self.accounts = AccountIndex()
        self.transactions.listeners.append(
            lambda committed: self.accounts.remember(committed.account_keys)
        )
        self._methods: dict[str, Callable[[list[Any]], object]] = {
            "getAccountInfo": self._get_account_info,
            "getBalance": self._get_balance,
            "getBlockHeight": lambda _: self.clock.slot(),
            "getFeeForMessage": lambda params: self._context(
                self.transactions.fee_for_message(params)
            ),
            "getHealth": lambda _: "ok",
            "getLatestBlockhash": self._get_latest_blockhash,
            "getMinimumBalanceForRentExemption": self._get_rent_exemption,
            "getMultipleAccounts": self._get_multiple_accounts,
            "getProgramAccounts": self._get_program_accounts,
            "getSignatureStatuses": self._get_signature_statuses,
            "getSlot": lambda _: self.clock.slot(),
            "getTransaction": self.transactions.describe,
            "getVersion": lambda _: {
                "solana-core": SOLANA_VERSION,
                "feature-set": int(type(chain).feature_set_id()),
            },
            "isBlockhashValid": lambda params: self._context(
                self.transactions.blockhash_valid(param.blockhash(params[0]))
            ),
            "requestAirdrop": self._request_airdrop,
            "sendTransaction": self.transactions.send,
            "simulateTransaction": lambda params: self._context(self.transactions.simulate(params)),
            SET_UNIX_TIMESTAMP: self._set_unix_timestamp,
        }

    @property
    def listeners(self) -> list[Callable[[Committed], None]]:
        """Called (under the chain's lock) with every committed transaction."""
        return self.transactions.listeners

    def call(self, method: str, params: list[Any]) -> object:
        """Run ``method``; raises `RpcError` for anything a client should see."""
        handler = self._methods.get(method)
        if handler is None:
            raise RpcError(-32601, "Method not found")
        self.last_request = time.monotonic()
        with self.locked():
            self.clock.catch_up(lag=_LAG_SLOTS)
            try:
                return handler(params)
            except (IndexError, KeyError, TypeError, ValueError) as err:
                raise RpcError(-32602, f"Invalid params: {err}") from None

    def locked(self) -> _Locked:
        """The chain's lock, waited for at most ``lock_timeout_s``."""
        return _Locked(self._lock, self._lock_timeout_s)

    def tick(self) -> int | None:
        """Move the chain to the slot wall time has reached; the new slot, or None."""
        with self.locked():
            return self.clock.catch_up()

    # -- reads -----------------------------------------------------------

    def _context(self, value: object) -> dict[str, Any]:
        context = {"slot": self.clock.slot(), "apiVersion": SOLANA_VERSION}
        return {"context": context, "value": value}

    def account(self, address: str, config: dict[str, Any]) -> dict[str, Any] | None:
        """One account in RPC form, or None (callers hold the lock)."""
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
        return self._context(self.account(params[0], param.config(params, 1)))

    def _get_multiple_accounts(self, params: list[Any]) -> object:
        addresses = params[0]
        if not isinstance(addresses, list) or len(addresses) > _MAX_ACCOUNTS:
            raise RpcError(-32602, f"Invalid params: at most {_MAX_ACCOUNTS} addresses")
        config = param.config(params, 1)
        return self._context([self.account(address, config) for address in addresses])

    def _get_program_accounts(self, params: list[Any]) -> object:
        found = self.accounts.program_accounts(params, self.account)
        return self._context(found) if param.config(params, 1).get("withContext") else found

    def _get_balance(self, params: list[Any]) -> object:
        account = self._chain.get_account(bytes(param.pubkey(params[0])))
        return self._context(0 if account is None else account.lamports)

    def _get_latest_blockhash(self, params: list[Any]) -> object:
        blockhash, last_valid = self.transactions.latest_blockhash()
        return self._context({"blockhash": str(blockhash), "lastValidBlockHeight": last_valid})

    def _get_rent_exemption(self, params: list[Any]) -> object:
        size = param.integer(params[0], range(_MAX_DATA_LENGTH + 1), "data length")
        return self._chain.minimum_balance_for_rent_exemption(size)

    def _get_signature_statuses(self, params: list[Any]) -> object:
        signatures = params[0]
        if not isinstance(signatures, list) or len(signatures) > _MAX_SIGNATURES:
            raise RpcError(-32602, f"Invalid params: at most {_MAX_SIGNATURES} signatures")
        statuses = []
        for text in signatures:
            recorded = self.transactions.recorded(param.signature(text))
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

    # -- writes ----------------------------------------------------------

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
                signature = self.transactions.commit(VersionedTransaction.from_legacy(tx))
                break
            except RpcError as err:
                # The same airdrop twice in one slot has the same signature and
                # is dropped as already processed: sign with the next blockhash.
                if attempt or not param.already_processed(err):
                    raise RpcError(
                        -32603, f"Internal error: airdrop failed: {err.message}"
                    ) from None
                blockhash = self._next_blockhash(blockhash)
        recorded = self.transactions.recorded(signature)
        if recorded is not None and recorded.error is not None:
            raise RpcError(-32603, f"Internal error: airdrop failed: {recorded.error}")
        return str(signature)

    def _next_blockhash(self, current: Hash) -> Hash:
        # The runtime registers a new blockhash every 400 ms.
        deadline = time.monotonic() + _NEW_BLOCKHASH_TIMEOUT_S
        while time.monotonic() < deadline:
            blockhash = Hash.from_bytes(self._chain.latest_blockhash())
            if blockhash != current:
                return blockhash
            time.sleep(0.05)
        raise RpcError(-32603, "Internal error: no new blockhash for a repeated airdrop")

    def _set_unix_timestamp(self, params: list[Any]) -> object:
        self.clock.jump_to(param.integer(params[0], _I64, "unix timestamp"))
        return None


class _Locked:
    """Context manager for a lock with a timeout that raises an `RpcError`."""

    def __init__(self, lock: threading.Lock, timeout_s: float) -> None:
        self._lock = lock
        self._timeout_s = timeout_s

    def __enter__(self) -> None:
        if not self._lock.acquire(timeout=self._timeout_s):
            raise RpcError(-32603, f"Internal error: the chain was busy for {self._timeout_s} s")

    def __exit__(self, *exc: object) -> None:
        self._lock.release()
