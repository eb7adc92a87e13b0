"""The dashboard's view of a running task, fed by the demo's callbacks and the chain."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from solders.pubkey import Pubkey

from fl_app.chain import ChainError, StakeAccount, StakingClient
from fl_app.chain.transport import SendResult
from fl_app.client.behaviour import Behaviour
from fl_app.dashboard.views import (
    DashboardSnapshot,
    ParticipantView,
    RoundView,
    TaskView,
    TransactionView,
)

if TYPE_CHECKING:
    from fl_app.demo import DemoResult
    from fl_app.run_report import RoundReport

__all__ = ["DashboardState"]

_INSTRUCTION_LOG = "Program log: Instruction: "
LAMPORTS_PER_SOL = 1_000_000_000


@dataclass(frozen=True)
class _RoundRecord:
    signature: str
    manifest_cid: str
    aggregate_cid: str
    contributors: int


class DashboardState:
    """A thread-safe record of one task as it runs, and live reads of its accounts.

    The run feeds it from its own threads: ``record_step`` and ``record_round`` are the
    demo's ``on_step`` and ``on_round`` callbacks, ``record_transaction`` is told about
    every transaction (see `ObservedTransport`), ``record_result`` and
    ``record_failure`` close the run. ``snapshot`` is called from request threads: it
    copies what it was told under a lock, then reads the task, stake and round accounts
    through the chain client when one is attached, so the page shows the chain's own
    state, and falls back to the transactions' events where a read fails.

    Parameters
    ----------
    client
        Reads accounts and decodes events; may be attached later with `watch`.
    task
        The task's address, when known; otherwise the first ``TaskCreated`` event.
    behaviours
        The planned behaviour of participants by index in staking order (the demo's
        ``DemoOptions.behaviours()``); participants not listed are honest. Without it,
        behaviours are shown once the final result is known.
    """

    def __init__(
        self,
        *,
        client: StakingClient | None = None,
        task: Pubkey | None = None,
        behaviours: Mapping[int, Behaviour] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._client = client
        self._task = task
        self._behaviours = None if behaviours is None else dict(behaviours)
        self._version = 0
        self._steps: list[str] = []
        self._reports: dict[int, RoundReport] = {}
        self._metrics: dict[int, tuple[float, float]] = {}
        self._created: Any = None
        self._stakes: dict[str, int] = {}
        self._round_records: dict[int, _RoundRecord] = {}
        self._claims: dict[str, int] = {}
        # A claim closes the stake account: its event is the only record of the reward.
        self._claim_rewards: dict[str, int] = {}
        self._transactions: list[TransactionView] = []
        self._result: DemoResult | None = None
        self._failure: str | None = None

    # -- feeding ---------------------------------------------------------------

    def watch(self, client: StakingClient, task: Pubkey | None = None) -> None:
        """Read live account data through ``client`` (and of ``task``, if given)."""
        with self._lock:
            self._client = client
            self._task = task if task is not None else self._task
            self._version += 1

    def record_step(self, message: str) -> None:
        """A progress message of the run (the demo's ``on_step``)."""
        with self._lock:
            self._steps.append(message)
            self._version += 1

    def record_round(self, report: RoundReport) -> None:
        """A round's test metrics (the demo's ``on_round``; round 0 is the initial model)."""
        with self._lock:
            self._reports[report.server_round] = report
            self._version += 1

    def record_round_metrics(self, server_round: int, *, accuracy: float, loss: float) -> None:
        """A recorded round's test metrics as its pinned manifest states them."""
        with self._lock:
            if self._metrics.get(server_round) != (accuracy, loss):
                self._metrics[server_round] = (accuracy, loss)
                self._version += 1

    def record_stakes(self, stakes: Mapping[str, int]) -> None:
        """Stakes found on chain (participant address -> deposit), in staking order."""
        with self._lock:
            new = {a: v for a, v in stakes.items() if self._stakes.get(a) != v}
            if new:
                self._stakes.update(new)
                self._version += 1

    def record_transaction(self, result: SendResult) -> None:
        """A transaction's outcome; its staking events say what changed."""
        client = self._client
        events = client.events(result) if client is not None and result.ok else []
        instruction = next(
            (
                line.removeprefix(_INSTRUCTION_LOG)
                for line in result.logs
                if line.startswith(_INSTRUCTION_LOG)
            ),
            "?",
        )
        signature = str(result.signature)
        with self._lock:
            summaries = [self._apply_event(e.name, e.data, signature) for e in events]
            summary = "; ".join(s for s in summaries if s) or (result.error or "")
            self._transactions.append(
                TransactionView(
                    signature=signature,
                    instruction=instruction,
                    ok=result.ok,
                    summary=summary,
                    fee=result.fee,
                )
            )
            self._version += 1

    def record_result(self, result: DemoResult) -> None:
        """The run's final result: behaviours, scores and rewards of everyone."""
        with self._lock:
            self._result = result
            self._task = self._task or result.task
            self._version += 1

    def record_failure(self, reason: str) -> None:
        """The run stopped with an error."""
        with self._lock:
            self._failure = reason
            self._version += 1

    def accuracy_points(self) -> list[tuple[int, float]]:
        """``(round, test accuracy)`` per round: the run's own reports, else the manifests'."""
        with self._lock:
            points = {n: m[0] for n, m in self._metrics.items()}
            points.update({n: r.accuracy for n, r in self._reports.items()})
        return sorted(points.items())

    @property
    def version(self) -> int:
        """Grows with every change; equal versions give equal snapshots but for chain reads."""
        with self._lock:
            return self._version

    def _apply_event(self, name: str, data: Any, signature: str) -> str:
        task = str(data.task)
        if self._task is not None and task != str(self._task):
            return ""
        if name == "TaskCreated":
            self._created = data
            self._task = data.task
            return f"task {_short(task)} created with a pool of {_sol(data.reward_pool)} SOL"
        if name == "StakeDeposited":
            self._stakes[str(data.participant)] = data.amount
            return f"{_short(data.participant)} staked {_sol(data.amount)} SOL"
        if name == "RoundRecorded":
            number = data.round_index + 1
            self._round_records[number] = _RoundRecord(
                signature, data.manifest_cid, data.aggregate_cid, data.contributors
            )
            return f"round {number} recorded, {data.contributors} contributors"
        if name == "RoundCredited":
            return f"round {data.round_index + 1}: {len(data.participants)} credited"
        if name == "FinalizeBegun":
            return f"finalizing, total score {data.total_score:,}"
        if name == "ScoresPosted":
            return f"{len(data.scores)} scores posted"
        if name == "TaskFinalized":
            return f"finalized, total score {data.total_score:,}"
        if name == "RewardClaimed":
            self._claims[str(data.participant)] = data.reward + data.stake_returned
            self._claim_rewards[str(data.participant)] = data.reward
            return (
                f"{_short(data.participant)} claimed {_sol(data.reward)} SOL reward "
                f"+ {_sol(data.stake_returned)} SOL stake"
            )
        return name

    # -- reading ---------------------------------------------------------------

    def snapshot(self) -> DashboardSnapshot:
        """What the page shows now (reads the chain; call from any thread)."""
        with self._lock:
            version, client, task = self._version, self._client, self._task
            reports = dict(self._reports)
            metrics = dict(self._metrics)
            created, stakes = self._created, dict(self._stakes)
            records, claims = dict(self._round_records), dict(self._claims)
            claim_rewards = dict(self._claim_rewards)
            steps, transactions = tuple(self._steps), tuple(self._transactions)
            result, failure = self._result, self._failure
        chain_error = None
        live: _ChainReads | None = None
        if client is not None and task is not None:
            try:
                # A closed task (after every claim) has no account left to read.
                if client.transport.get_account(task) is not None:
                    live = _read_chain(client, task, list(stakes))
            except (ChainError, ValueError) as err:
                chain_error = f"{type(err).__name__}: {err}"
        phase = (
            "failed"
            if failure
            else "finished"
            if result
            else "running"
            if task is not None
            else "waiting"
        )
        initial = reports.get(0)
        return DashboardSnapshot(
            version=version,
            phase=phase,
            steps=steps,
            task=_task_view(task, created, live),
            initial_accuracy=None if initial is None else initial.accuracy,
            rounds=_round_views(reports, metrics, records, live, result),
            participants=self._participant_views(stakes, claims, claim_rewards, live, result),
            transactions=transactions,
            chain_error=chain_error,
            failure=failure,
        )

    def _participant_views(
        self,
        stakes: Mapping[str, int],
        claims: Mapping[str, int],
        claim_rewards: Mapping[str, int],
        live: _ChainReads | None,
        result: DemoResult | None,
    ) -> tuple[ParticipantView, ...]:
        outcomes = {o.address: o for o in result.outcomes} if result is not None else {}
        views = []
        for index, address in enumerate(stakes):
            outcome = outcomes.get(address)
            account = live.stakes.get(address) if live is not None else None
            if outcome is not None:
                behaviour = outcome.behaviour.value
            elif self._behaviours is not None:
                behaviour = self._behaviours.get(index, Behaviour.HONEST).value
            else:
                behaviour = "?"
            views.append(
                ParticipantView(
                    address=address,
                    behaviour=behaviour,
                    stake=account.amount if account is not None else stakes[address],
                    score=outcome.score if outcome else account.score if account else 0,
                    reward=outcome.reward if outcome else claim_rewards.get(address, 0),
                    claimed=address in claims,
                    received=outcome.received if outcome else claims.get(address),
                )
            )
        return tuple(views)


@dataclass(frozen=True)
class _ChainReads:
    task: Any
    vault_lamports: int
    stakes: dict[str, StakeAccount]
    manifests: dict[int, tuple[str, str, int]]


def _read_chain(client: StakingClient, task: Pubkey, stakers: list[str]) -> _ChainReads:
    account = client.task(task)
    stakes = {}
    for address in stakers:
        stake = client.stake(task, Pubkey.from_string(address))
        if stake is not None:
            stakes[address] = stake
    manifests = {}
    for index in range(account.rounds_recorded):
        record = client.round(task, index)
        manifests[index + 1] = (record.manifest_cid, record.aggregate_cid, record.contributors)
    return _ChainReads(account, client.balance(task), stakes, manifests)


def _task_view(task: Pubkey | None, created: Any, live: _ChainReads | None) -> TaskView | None:
    if live is not None:
        a = live.task
        return TaskView(
            address=str(a.address),
            state=a.state.value,
            reward_pool=a.reward_pool,
            reward_funded=a.reward_funded,
            min_stake=a.min_stake,
            template_cid=a.template_cid,
            he_context_cid=a.he_context_cid,
            model_cid=a.model_cid or None,
            authority=str(a.authority),
            decrypted_by=a.decrypted_by,
            stake_held=a.stake_held,
            participants=a.participants,
            max_participants=a.max_participants,
            rounds_planned=a.rounds_planned,
            rounds_recorded=a.rounds_recorded,
            vault_lamports=live.vault_lamports,
        )
    if task is None or created is None:
        return None
    return TaskView(
        address=str(task),
        state="Open",
        reward_pool=created.reward_pool,
        min_stake=created.min_stake,
        template_cid=created.template_cid,
        authority=str(created.authority),
    )


def _round_views(
    reports: Mapping[int, RoundReport],
    metrics: Mapping[int, tuple[float, float]],
    records: Mapping[int, _RoundRecord],
    live: _ChainReads | None,
    result: DemoResult | None,
) -> tuple[RoundView, ...]:
    manifests = live.manifests if live is not None else {}
    final = {i + 1: cid for i, cid in enumerate(result.manifest_cids)} if result else {}
    numbers = sorted(
        {n for n in reports if n > 0} | set(metrics) | set(records) | set(manifests) | set(final)
    )
    views = []
    for number in numbers:
        report, record = reports.get(number), records.get(number)
        accuracy, loss = (
            (report.accuracy, report.loss) if report else metrics.get(number, (None, None))
        )
        on_chain = manifests.get(number)
        manifest = on_chain[0] if on_chain else record.manifest_cid if record else None
        views.append(
            RoundView(
                number=number,
                accuracy=accuracy,
                loss=loss,
                contributors=(
                    on_chain[2]
                    if on_chain
                    else record.contributors
                    if record
                    else len(report.contributors)
                    if report
                    else None
                ),
                manifest_cid=manifest or final.get(number),
                aggregate_cid=on_chain[1] if on_chain else record.aggregate_cid if record else None,
                signature=record.signature if record else None,
            )
        )
    return tuple(views)


def _short(address: object) -> str:
    text = str(address)
    return f"{text[:6]}…{text[-4:]}"


def _sol(lamports: int) -> str:
    return f"{lamports / LAMPORTS_PER_SOL:g}"
