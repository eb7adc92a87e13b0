"""Flower ServerApp: federated training of the global model with central evaluation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from logging import INFO
from typing import Any

from flwr.app import ArrayRecord, Context, MetricRecord
from flwr.common import log
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

from fl_app import payload
from fl_app.ml import TabularMLP, build_model, evaluate, org_split
from fl_app.server.metrics import aggregate_train_metrics
from fl_app.settings import RunSettings

__all__ = ["RoundReport", "RunReport", "app", "build_server_app"]


@dataclass(frozen=True)
class RoundReport:
    """The global model's test metrics after a round (round 0 is the initial model)."""

    server_round: int
    accuracy: float
    loss: float


@dataclass
class RunReport:
    """What an in-process run produced, filled in as rounds complete."""

    settings: RunSettings | None = None
    rounds: list[RoundReport] = field(default_factory=list)
    train_metrics: dict[int, dict[str, Any]] = field(default_factory=dict)
    final_arrays: ArrayRecord | None = None

    @property
    def final_accuracy(self) -> float:
        return self.rounds[-1].accuracy


RoundCallback = Callable[[RoundReport], None]


def build_server_app(
    overrides: Mapping[str, Any] | None = None,
    *,
    report: RunReport | None = None,
    on_round: RoundCallback | None = None,
) -> ServerApp:
    """Create the ServerApp.

    Parameters
    ----------
    overrides
        Values that replace run-config entries (for in-process runs).
    report
        Filled with per-round metrics and the final model when given.
    on_round
        Called after the global model is evaluated each round (progress display).
    """
    app = ServerApp()
    run_report = report if report is not None else RunReport()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        settings = RunSettings.from_run_config(context.run_config, overrides)
        run_report.settings = settings
        split = org_split(settings.dataset, settings.seed)
        model = build_model(split.reference, hidden_units=settings.hidden_units, seed=settings.seed)

        def evaluate_global(server_round: int, arrays: ArrayRecord) -> MetricRecord:
            result = evaluate(TabularMLP.from_state_dict(arrays.to_torch_state_dict()), split.test)
            round_report = RoundReport(server_round, result.accuracy, result.loss)
            run_report.rounds.append(round_report)
            log(
                INFO,
                "round %d: test accuracy %.4f, loss %.4f",
                server_round,
                result.accuracy,
                result.loss,
            )
            if on_round is not None:
                on_round(round_report)
            return MetricRecord(
                {payload.EVAL_ACCURACY: result.accuracy, payload.EVAL_LOSS: result.loss}
            )

        strategy = FedAvg(
            fraction_train=settings.fraction_train,
            fraction_evaluate=settings.fraction_evaluate,
            min_train_nodes=settings.min_nodes,
            min_evaluate_nodes=settings.min_nodes if settings.fraction_evaluate > 0 else 0,
            min_available_nodes=settings.min_nodes,
            train_metrics_aggr_fn=aggregate_train_metrics,
        )
        result = strategy.start(
            grid=grid,
            initial_arrays=ArrayRecord(model.state_dict()),
            num_rounds=settings.num_server_rounds,
            evaluate_fn=evaluate_global,
        )
        run_report.final_arrays = result.arrays
        run_report.train_metrics = {
            r: dict(metrics) for r, metrics in result.train_metrics_clientapp.items()
        }

    return app


app = build_server_app()
