"""Plaintext FedAvg rounds that keep every participant's update, for offline scoring.

The run is FedAvg (McMahan et al. 2017) weighted by the *claimed* example counts, exactly
what ``EncryptedFedAvg`` computes under CKKS: ``theta <- theta + sum_i n_i u_i / sum_i n_i``.
Each round also records the organisation's reference update ``g0`` (the same local
training on its reference split, as in FLTrust, Cao et al. 2021).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from fl_app.fairness.scenario import Role, Scenario
from fl_app.ml import TabularData, TabularMLP, build_model, evaluate, train

__all__ = ["LocalTraining", "RoundRecord", "TrainingRun", "run_rounds"]


@dataclass(frozen=True)
class LocalTraining:
    """Hyperparameters shared by every participant and the organisation's reference."""

    rounds: int = 6
    hidden_units: int = 32
    epochs: int = 2
    batch_size: int = 16
    learning_rate: float = 0.05


@dataclass(frozen=True)
class RoundRecord:
    """One round: the global model before it, every update, and the reference update.

    ``updates[i]`` is participant ``i``'s local model minus ``start`` (flattened
    parameters, float64); ``claimed[i]`` its reported example count.
    """

    start: np.ndarray
    updates: np.ndarray
    claimed: np.ndarray
    reference_update: np.ndarray

    @property
    def aggregate(self) -> np.ndarray:
        """The FedAvg update ``g = sum_i n_i u_i / sum_i n_i`` applied after this round."""
        weights = self.claimed / self.claimed.sum()
        return np.asarray(weights @ self.updates)


@dataclass(frozen=True)
class TrainingRun:
    """The rounds of a run, the model architecture, and the final test accuracy."""

    rounds: list[RoundRecord]
    model: TabularMLP
    final_accuracy: float


def _local_update(
    model: TabularMLP, start: torch.Tensor, data: TabularData, fit: LocalTraining, seed: int
) -> np.ndarray:
    """Train a copy of the global model on ``data``; return its parameter change."""
    vector_to_parameters(start.clone(), model.parameters())  # it keeps views of its input
    train(
        model,
        data,
        epochs=fit.epochs,
        batch_size=fit.batch_size,
        learning_rate=fit.learning_rate,
        seed=seed,
    )
    return (parameters_to_vector(model.parameters()) - start).detach().double().numpy()


def run_rounds(scenario: Scenario, fit: LocalTraining | None = None) -> TrainingRun:
    """Run FedAvg on ``scenario`` and return every round's updates.

    The free-rider's update is zero (the global model sent back unchanged); everyone
    else trains ``fit.epochs`` local epochs of SGD from the global model.
    """
    fit = fit or LocalTraining()
    model = build_model(scenario.reference, hidden_units=fit.hidden_units, seed=scenario.seed)
    worker = copy.deepcopy(model)
    claimed = np.array([p.claimed_examples for p in scenario.participants], dtype=np.float64)
    records: list[RoundRecord] = []
    for t in range(fit.rounds):
        start = parameters_to_vector(model.parameters()).detach().clone()
        round_seed = (scenario.seed * 1000 + t) * 100
        updates = np.stack(
            [
                np.zeros(start.numel())
                if p.role is Role.FREE_RIDER
                else _local_update(worker, start, p.data, fit, round_seed + i + 1)
                for i, p in enumerate(scenario.participants)
            ]
        )
        reference = _local_update(worker, start, scenario.reference, fit, round_seed)
        record = RoundRecord(start.double().numpy(), updates, claimed, reference)
        records.append(record)
        vector_to_parameters(
            (start.double() + torch.from_numpy(record.aggregate)).float(), model.parameters()
        )
    accuracy = evaluate(model, scenario.test).accuracy
    return TrainingRun(records, model, accuracy)
