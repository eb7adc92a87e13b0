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
from flwr.serverapp.strategy import FedAvg, Strategy

from .contribution import RoundScalars
from .stake_gate import GatedGrid, StakeGate

__all__ = ["StakeGatedStrategy"]


class StakeGatedStrategy(Strategy):
    """Sample only proven stakers; remember which wallets contributed in each round.

    Parameters
    ----------
    strategy
        The strategy to wrap (``FedAvg``, ``EncryptedFedAvg``, ...).
    gate
        Checks wallet proofs and on-chain stakes.
    node_wait_timeout
        Seconds to wait before the first round until ``min_train_nodes`` connected nodes
        proved a stake; later rounds take whoever proves at their start. A round with too
        few proven nodes is skipped: the global model stays as it was.
    """

    def __init__(self, strategy: FedAvg, gate: StakeGate, node_wait_timeout: float = 0.0) -> None:
        self.strategy = strategy
        self.gate = gate
        self.node_wait_timeout = node_wait_timeout
        self.skipped: dict[int, str] = {}
        """Why each skipped round was skipped, by round."""
        self._waited = False
        self.contributors: dict[int, list[str]] = {}
        """Wallets whose updates were aggregated, by round."""
        self.round_wallets: dict[int, dict[int, str]] = {}
        """Node id -> wallet of the nodes admitted in each round."""
        self._admitted: dict[int, str] = {}

    def __getattr__(self, name: str) -> object:
        # Expose the wrapped strategy's attributes (e.g. the round manifests).
        return getattr(self.__dict__["strategy"], name)

    @property
    def round_scalars(self) -> dict[int, dict[str, RoundScalars]]:
        """The wrapped strategy's contribution scalars of each round, by wallet address."""
        scalars: dict[int, dict[int, RoundScalars]] = getattr(self.strategy, "round_scalars", {})
        return {
            server_round: {
                self.round_wallets[server_round][node_id]: x for node_id, x in by_node.items()
            }
            for server_round, by_node in scalars.items()
        }

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
            reason = getattr(self.strategy, "skipped", {}).get(server_round, "")
            return self._skip(server_round, reason or "the wrapped strategy configured no training")
        return messages

    def _skip(self, server_round: int, reason: str) -> list[Message]:
        self.skipped[server_round] = reason
        log(WARNING, "round %d skipped: %s; the global model is unchanged", server_round, reason)
        return []

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        if server_round in self.skipped:
            self.round_wallets[server_round] = {}
            self.contributors[server_round] = []
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
        self.round_wallets[server_round] = dict(self._admitted)
        arrays, metrics = self.strategy.aggregate_train(server_round, admitted)
        if arrays is None:
            self.skipped[server_round] = getattr(self.strategy, "skipped", {}).get(
                server_round, "too few valid replies"
            )
            self.contributors[server_round] = []
        else:
            summed = self._summed_node_ids(server_round, admitted)
            self.contributors[server_round] = [
                self._admitted[node_id] for node_id in sorted(summed)
            ]
        return arrays, metrics

    def _summed_node_ids(self, server_round: int, admitted: list[Message]) -> set[int]:
        # An encrypted round credits exactly the inputs of the decrypted sum (its
        # manifest), not every admitted reply: a reply the validation dropped did not
        # contribute. A plaintext strategy averages every admitted reply.
        manifest = getattr(self.strategy, "manifests", {}).get(server_round)
        if manifest is not None:
            return {c.node_id for c in manifest.commitments}
        return {r.metadata.src_node_id for r in admitted}

    def configure_evaluate(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        if server_round in self.skipped:
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
