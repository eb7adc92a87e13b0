"""How the client reaches a chain: one interface, several implementations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature

__all__ = ["AccountSnapshot", "BatchResult", "SendResult", "Transport"]


@dataclass(frozen=True)
class AccountSnapshot:
    """An account's state at one moment."""

    lamports: int
    owner: Pubkey
    data: bytes
    executable: bool = False


@dataclass(frozen=True)
class SendResult:
    """What the runtime reported for one transaction.

    Attributes
    ----------
    signature : Signature
        The transaction's first signature.
    ok : bool
        Whether it executed successfully.
    error : str | None
        The runtime's error, rendered as text.
    instruction_index : int | None
        Index of the failing instruction, for instruction errors.
    custom_code : int | None
        Custom error number (6000+ for the staking program's own errors).
    logs : list[str]
        Log lines, including ``Program data:`` event lines.
    compute_units : int
        Compute units the runtime reports as consumed.
    fee : int
        Lamports charged to the fee payer.
    """

    signature: Signature
    ok: bool
    error: str | None = None
    instruction_index: int | None = None
    custom_code: int | None = None
    logs: list[str] = field(default_factory=list)
    compute_units: int = 0
    fee: int = 0


@dataclass(frozen=True)
class BatchResult:
    """The transactions of one batched settlement step, in the order sent.

    Attributes
    ----------
    results : tuple[SendResult, ...]
        One result per transaction; the first opens the step (``round_record``
        or ``task_finalize_begin``).
    """

    results: tuple[SendResult, ...]

    @property
    def signature(self) -> Signature:
        """Signature of the opening transaction."""
        return self.results[0].signature

    @property
    def fee(self) -> int:
        """Lamports charged to the fee payer over all transactions."""
        return sum(r.fee for r in self.results)

    @property
    def ok(self) -> bool:
        """Whether every transaction executed successfully."""
        return all(r.ok for r in self.results)

    @property
    def logs(self) -> list[str]:
        """Log lines of all transactions, in order."""
        return [line for r in self.results for line in r.logs]

    @property
    def transactions(self) -> int:
        """Number of transactions sent."""
        return len(self.results)


@runtime_checkable
class Transport(Protocol):
    """The few chain operations the settlement client needs."""

    def send_transaction(self, transaction: bytes) -> SendResult:
        """Submit a fully signed, serialized transaction and wait for its outcome."""
        ...

    def get_account(self, address: Pubkey) -> AccountSnapshot | None:
        """Return the account at ``address``, or None if it does not exist."""
        ...

    def latest_blockhash(self) -> Hash:
        """Return a recent blockhash to sign with."""
        ...

    def airdrop(self, address: Pubkey, lamports: int) -> None:
        """Fund ``address`` (test chains only)."""
        ...

    def unix_timestamp(self) -> int:
        """Return the cluster clock's unix time."""
        ...

    def minimum_balance_for_rent_exemption(self, size: int) -> int:
        """Return the lamports an account of ``size`` bytes needs to be rent exempt."""
        ...
