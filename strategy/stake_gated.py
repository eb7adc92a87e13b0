"""A strategy wrapper that trains only with nodes that proved an active stake.

It wraps any message-based Flower strategy (as Flower's differential-privacy wrappers
do): each round it asks the :class:`~strategy.stake_gate.StakeGate` which connected
nodes proved a staked wallet, and hands the wrapped strategy a view of the grid holding
only those nodes. Replies from any other node are dropped before aggregation.
"""

from __future__ import annotations

from collections.abc import Iterable
from logging import INFO, WARNING

from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.common import log
from flwr.serverapp import Grid
from flwr.serverapp.strategy import Strategy

from .round_outcome import ReportingFedAvg, RoundOutcome
from .stake_gate import GatedGrid, StakeGate

__all__ = ["StakeGatedStrategy"]


class StakeGatedStrategy(Strategy):
    """Sample only proven stakers; record each round's outcome by wallet.

    Parameters
    ----------
    strategy
        The strategy to wrap (``EncryptedFedAvg``, or ``ReportingFedAvg`` as a baseline).
    gate
        Checks wallet proofs and on-chain stakes.
    node_wait_timeout
        Seconds to wait before the first round until ``min_train_nodes`` connected nodes
        proved a stake; later rounds take whoever proves at their start. A round with too
        few proven nodes is skipped: the global model stays as it was.
    """

    def __init__(
        self, strategy: ReportingFedAvg, gate: StakeGate, node_wait_timeout: float = 0.0
    ) -> None:
        self.strategy = strategy
        self.gate = gate
        self.node_wait_timeout = node_wait_timeout
        self.outcomes: dict[int, RoundOutcome] = {}
        """Each round's outcome, its participants named by wallet address."""
        self._waited = False
        self._admitted: dict[int, str] = {}

    def summary(self) -> None:
        log(
            INFO,
            "\t├──> Stake gate: task %s, minimum %d lamports",
            self.gate.task,
            self.gate.min_stake,
        )
        self.strategy.summary()

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        needed = self.strategy.min_train_nodes
        if self._waited:
            self._admitted = self.gate.admit(grid)
        else:
            self._waited = True
            self._admitted = self.gate.wait_for_stakers(grid, needed, self.node_wait_timeout)
        if len(self._admitted) < needed:
            return self._skip(
                server_round, f"{len(self._admitted)} staked node(s) proved, {needed} needed"
            )
        messages = list(
            self.strategy.configure_train(
                server_round,
                arrays,
                config,
                GatedGrid(grid, self._admitted),  # type: ignore[arg-type]
            )
        )
        if not messages:
            inner = self.strategy.outcomes.get(server_round)
            return self._skip(
                server_round,
                inner.skipped if inner else "the wrapped strategy configured no training",
            )
        return messages

    def _skip(self, server_round: int, reason: str) -> list[Message]:
        self.outcomes[server_round] = RoundOutcome(server_round=server_round, skipped=reason)
        log(WARNING, "round %d skipped: %s; the global model is unchanged", server_round, reason)
        return []

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        if server_round in self.outcomes:
            return None, None
        admitted = []
        for reply in replies:
            if reply.has_error():
                # The SuperLink answers for a node that went away; the sender is then itself.
                log(WARNING, "a train reply failed: %s", reply.error.reason)
            elif reply.metadata.src_node_id in self._admitted:
                admitted.append(reply)
            else:
                log(
                    WARNING,
                    "dropped a reply from node %d: not admitted this round",
                    reply.metadata.src_node_id,
                )
        arrays, metrics = self.strategy.aggregate_train(server_round, admitted)
        outcome = self.strategy.outcomes[server_round]
        wallets = {str(node_id): wallet for node_id, wallet in self._admitted.items()}
        self.outcomes[server_round] = outcome.renamed(wallets)
        return arrays, metrics

    def configure_evaluate(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        outcome = self.outcomes.get(server_round)
        if outcome is not None and outcome.skipped:
            return []
        return self.strategy.configure_evaluate(
            server_round,
            arrays,
            config,
            GatedGrid(grid, self._admitted),  # type: ignore[arg-type]
        )

    def aggregate_evaluate(
        self, server_round: int, replies: Iterable[Message]
    ) -> MetricRecord | None:
        return self.strategy.aggregate_evaluate(server_round, replies)
