"""Typed views of the staking program's accounts, decoded through the IDL."""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from anchorpy import Coder
from solders.pubkey import Pubkey

from fl_app.chain.idl import load_spec

__all__ = [
    "RoundAccount",
    "StakeAccount",
    "TaskAccount",
    "TaskState",
    "decode_account",
    "reward_due",
]


class TaskState(enum.Enum):
    """Life cycle of a task (a cancelled task is closed and has none)."""

    OPEN = "Open"
    FINALIZING = "Finalizing"
    FINALIZED = "Finalized"
    EXPIRED = "Expired"


@dataclass(frozen=True)
class TaskAccount:
    """A task and vault; field meanings are documented on the Rust `Task`."""

    address: Pubkey
    authority: Pubkey
    key_holder: Pubkey
    attestors: list[Pubkey]
    attestor_threshold: int
    task_id: int
    reward_funded: int
    reward_pool: int
    reward_paid: int
    refunded: int
    stake_held: int
    min_stake: int
    max_participants: int
    participants: int
    contributors: int
    unclaimed_contributors: int
    rounds_planned: int
    rounds_recorded: int
    rounds_closed: int
    join_deadline: int
    settle_deadline: int
    grace_period: int
    max_slash_bps: int
    total_score: int
    credits_pending: int
    stakes_scored: int
    score_posted: int
    unclaimed_score: int
    template_cid: str
    he_context_cid: str
    model_cid: str
    state: TaskState
    created_at: int
    bump: int
    committee_size: int
    committee_seed: bytes
    committee_scanned: int

    @property
    def decrypted_by(self) -> str:
        """Who can decrypt the task's sums, in words: its committee or its key holder."""
        if not self.committee_size:
            return f"key holder {self.key_holder}"
        seats = f"a committee of {self.committee_size}, {self.attestor_threshold} decrypting"
        if not self.committee_drawn:
            return f"{seats} (drawn after the join deadline: fl-app task draw)"
        return f"{seats}: {', '.join(map(str, self.attestors))}"

    @property
    def committee_drawn(self) -> bool:
        """True once a committee's draw went through every stake and filled its seats.

        No stake joins once a draw began, and claims after settlement close stakes, so a
        finished draw has seen at least as many stakes as remain.
        """
        return (
            self.committee_size > 0
            and self.committee_seed != bytes(32)
            and self.committee_scanned >= self.participants
            and len(self.attestors) == self.committee_size
        )


@dataclass(frozen=True)
class StakeAccount:
    """One participant's open (unclaimed) stake; see the Rust `Stake`.

    A claim closes the account, so a claimed stake reads as no stake at all.
    """

    address: Pubkey
    task: Pubkey
    participant: Pubkey
    amount: int
    slashed: int
    joined_at: int
    rounds_contributed: int
    last_round: int
    score: int
    scored: bool
    slash_evidence_cid: str
    bump: int

    @property
    def remaining(self) -> int:
        """Lamports of the deposit still owed back."""
        return self.amount - self.slashed


@dataclass(frozen=True)
class RoundAccount:
    """Audit record of one round; see the Rust `Round`."""

    address: Pubkey
    task: Pubkey
    index: int
    contributors: int
    credited: int
    recorded_at: int
    manifest_cid: str
    manifest_digest: bytes
    aggregate_cid: str
    bump: int


def reward_due(task: TaskAccount, stake: StakeAccount) -> int:
    """Reward lamports ``stake`` is paid if it claims now (the program's rule).

    After finalize a scored stake takes ``pool * score / unclaimed_score`` of
    what is left (the last scored claim takes the rounding remainder); with
    all-zero scores, or after expiry, contributors split what is left equally.
    """
    if task.state is TaskState.FINALIZED and task.total_score > 0:
        if stake.score == 0:
            return 0
        return task.reward_pool * stake.score // task.unclaimed_score
    if task.state in (TaskState.FINALIZED, TaskState.EXPIRED):
        if stake.rounds_contributed == 0 or task.unclaimed_contributors == 0:
            return 0
        return task.reward_pool // task.unclaimed_contributors
    return 0


_Account = TypeVar("_Account", TaskAccount, StakeAccount, RoundAccount)
_CODER: Coder | None = None


def _coder() -> Coder:
    global _CODER
    if _CODER is None:
        _CODER = Coder(load_spec().idl)
    return _CODER


def _convert(value: Any) -> Any:
    # anchorpy decodes enums to sum-type instances named after the variant.
    name = type(value).__name__
    if name in TaskState._value2member_map_:
        return TaskState(name)
    if isinstance(value, list) and value and all(isinstance(x, int) for x in value):
        return bytes(value)  # a digest ([u8; 32])
    return value


def decode_account(kind: type[_Account], address: Pubkey, data: bytes) -> _Account:
    """Decode account ``data`` of IDL type ``kind`` (checks the discriminator).

    Parameters
    ----------
    kind : type
        ``TaskAccount``, ``StakeAccount`` or ``RoundAccount``.
    address : Pubkey
        Where the account lives (kept on the result).
    data : bytes
        Raw account data.

    Returns
    -------
    The typed account.
    """
    idl_name = kind.__name__.removesuffix("Account")
    try:
        parsed = _coder().accounts.parse(data)
    except KeyError as err:
        raise ValueError(f"account {address} is not a staking account") from err
    if parsed.name != idl_name:
        raise ValueError(f"account {address} is a {parsed.name}, not a {idl_name}")
    decoded = parsed.data
    values = {
        f.name: _convert(getattr(decoded, f.name)) for f in fields(kind) if f.name != "address"
    }
    return kind(address=address, **values)
