"""What the dashboard shows: immutable snapshots of a task, taken for one page render."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DashboardSnapshot",
    "ParticipantView",
    "RoundView",
    "TaskView",
    "TransactionView",
]


@dataclass(frozen=True, kw_only=True)
class TaskView:
    """The task account; None where neither the chain nor an event has said yet."""

    address: str
    state: str
    reward_pool: int
    min_stake: int
    template_cid: str
    reward_funded: int | None = None
    he_context_cid: str | None = None
    model_cid: str | None = None
    authority: str | None = None
    decrypted_by: str | None = None
    stake_held: int | None = None
    participants: int | None = None
    max_participants: int | None = None
    rounds_planned: int | None = None
    rounds_recorded: int | None = None
    vault_lamports: int | None = None


@dataclass(frozen=True, kw_only=True)
class RoundView:
    """One federated round: its test metrics and its record on chain."""

    number: int
    accuracy: float | None = None
    loss: float | None = None
    contributors: int | None = None
    manifest_cid: str | None = None
    aggregate_cid: str | None = None
    signature: str | None = None
    """Signature of the ``round_record`` transaction, when it was seen."""


@dataclass(frozen=True, kw_only=True)
class ParticipantView:
    """One staker; amounts in lamports."""

    address: str
    behaviour: str
    stake: int
    score: int = 0
    reward: int = 0
    claimed: bool = False
    received: int | None = None


@dataclass(frozen=True, kw_only=True)
class TransactionView:
    """A transaction sent to the staking program."""

    signature: str
    instruction: str
    ok: bool
    summary: str
    fee: int = 0


@dataclass(frozen=True, kw_only=True)
class DashboardSnapshot:
    """Everything one page shows, consistent with itself.

    Attributes
    ----------
    version
        Grows with every change the state is told about; plots are cached by it.
    phase
        ``waiting`` (no task yet), ``running``, ``finished`` or ``failed``.
    steps
        The run's progress messages, oldest first.
    initial_accuracy
        Test accuracy of the initial model (round 0), once evaluated.
    chain_error
        Why live chain data could not be read, if it could not; the page then shows
        what the transactions' events said.
    failure
        Why the run stopped, if it failed.
    """

    version: int
    phase: str
    steps: tuple[str, ...] = ()
    task: TaskView | None = None
    initial_accuracy: float | None = None
    rounds: tuple[RoundView, ...] = ()
    participants: tuple[ParticipantView, ...] = ()
    transactions: tuple[TransactionView, ...] = ()
    chain_error: str | None = None
    failure: str | None = None

    @property
    def finished(self) -> bool:
        """Whether nothing will change any more."""
        return self.phase in ("finished", "failed")

    @property
    def scored(self) -> bool:
        """Whether contribution scores are known (posted at finalization)."""
        return any(p.score for p in self.participants) or self.phase == "finished"

    @property
    def status(self) -> str:
        """One line on where the run is."""
        if self.failure:
            return f"failed: {self.failure}"
        planned = self.task.rounds_planned if self.task is not None else None
        if self.phase == "running" and self.rounds and not self.scored:
            of = f" of {planned}" if planned else ""
            return f"training: round {self.rounds[-1].number}{of} recorded"
        if self.steps:
            return self.steps[-1]
        if self.task is not None and self.task.state != "Open":
            return f"task {self.task.state.lower()}: participants claim reward and stake"
        return "waiting for the run to start"
