"""Aggregation of the metrics participants report with their training replies."""

from __future__ import annotations

from flwr.app import MetricRecord, RecordDict
from flwr.serverapp.strategy.strategy_utils import aggregate_metricrecords

from fl_app import payload

__all__ = ["aggregate_train_metrics"]


def aggregate_train_metrics(records: list[RecordDict], weighted_by_key: str) -> MetricRecord:
    """Weighted means as in FedAvg, except for privacy budgets.

    Spent epsilons are not averaged: the round's record keeps each participant's value
    (``dp-epsilon``, in reply order) and the worst one (``dp-epsilon-max``).
    """
    epsilons = [
        float(metrics[payload.DP_EPSILON])  # type: ignore[arg-type]
        for record in records
        for metrics in record.metric_records.values()
        if payload.DP_EPSILON in metrics
    ]
    aggregated = aggregate_metricrecords(records, weighted_by_key)
    if epsilons:
        aggregated[payload.DP_EPSILON] = epsilons
        aggregated[f"{payload.DP_EPSILON}-max"] = max(epsilons)
    return aggregated
