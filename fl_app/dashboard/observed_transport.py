"""An embedded chain that reports every transaction and can be read from other threads."""

from __future__ import annotations

import threading
from collections.abc import Callable

from solders.hash import Hash
from solders.pubkey import Pubkey

from fl_app.chain import EmbeddedTransport
from fl_app.chain.transport import AccountSnapshot, SendResult

__all__ = ["ObservedTransport", "TransactionListener"]

TransactionListener = Callable[[SendResult], None]


class ObservedTransport(EmbeddedTransport):
    """The embedded chain, serialised by a lock, telling a listener about each transaction.

    The demo sends transactions from its own threads while the dashboard reads accounts
    from request threads; the native chain is one object, so every call into it holds
    the same lock. The listener runs after the lock is released, in the sender's thread.
    """

    def __init__(self, *, on_transaction: TransactionListener | None = None) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._listeners: list[TransactionListener] = []
        if on_transaction is not None:
            self._listeners.append(on_transaction)

    def add_listener(self, listener: TransactionListener) -> None:
        """Call ``listener`` with the outcome of every later transaction."""
        with self._lock:
            self._listeners.append(listener)

    def send_transaction(self, transaction: bytes) -> SendResult:
        with self._lock:
            result = super().send_transaction(transaction)
            listeners = tuple(self._listeners)
        for listener in listeners:
            listener(result)
        return result

    def get_account(self, address: Pubkey) -> AccountSnapshot | None:
        with self._lock:
            return super().get_account(address)

    def latest_blockhash(self) -> Hash:
        with self._lock:
            return super().latest_blockhash()

    def airdrop(self, address: Pubkey, lamports: int) -> None:
        with self._lock:
            super().airdrop(address, lamports)

    def unix_timestamp(self) -> int:
        with self._lock:
            return super().unix_timestamp()

    def minimum_balance_for_rent_exemption(self, size: int) -> int:
        with self._lock:
            return super().minimum_balance_for_rent_exemption(size)

    def set_unix_timestamp(self, unix_timestamp: int) -> None:
        with self._lock:
            super().set_unix_timestamp(unix_timestamp)
