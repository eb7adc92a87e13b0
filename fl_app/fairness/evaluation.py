"""Score a fairness run with ``strategy.contribution`` and compare with exact Shapley.

The scalars are computed in plaintext exactly as the key holder would decrypt them
(``<w_i, g0>`` and ``||w_i||^2`` with ``w_i = n_i * s * u_i``), so the scores here are
the ones the encrypted path produces, up to CKKS noise. The reference for fidelity is
the exact per-round Shapley value with utility = negative cross-entropy loss on the
organisation's test split (smoother than accuracy, which is also reported), summed
over rounds (``fl_app.fairness.shapley``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

from fl_app.fairness.rounds import LocalTraining, RoundRecord, run_rounds
from fl_app.fairness.scenario import Role, build_scenario
from fl_app.fairness.shapley import exact_shapley, round_utilities
from strategy.contribution import ContributionLedger, RoundScalars

__all__ = ["HIDDEN_UNITS", "WEIGHT_SCALE", "SeedResult", "evaluate_seed", "round_scalars"]

# About a thousand parameters for each data set (30-32-2 and 64-16-10 perceptrons).
HIDDEN_UNITS = {"breast_cancer": 32, "digits": 16, "wine": 32}
WEIGHT_SCALE = 0.01


def round_scalars(record: RoundRecord, weight_scale: float = WEIGHT_SCALE) -> list[RoundScalars]:
    """The per-participant scalars the key holder would decrypt for this round."""
    weighted = record.claimed[:, None] * weight_scale * record.updates
    return [
        RoundScalars(float(w @ record.reference_update), float(w @ w), int(n))
        for w, n in zip(weighted, record.claimed, strict=True)
    ]


def _cosines(updates: np.ndarray, direction: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(updates, axis=1) * np.linalg.norm(direction)
    return np.divide(updates @ direction, norms, out=np.zeros(len(updates)), where=norms > 0)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    return float(spearmanr(x, y).statistic)


@dataclass(frozen=True)
class SeedResult:
    """One seed of one data set: shares, adversary outcomes and fidelity.

    ``score_share`` sums to 1 (the reward split); ``shapley_share`` is each Shapley value
    over their sum, the run's total test-loss gain (negative for harmful participants).
    ``flipper_margin`` is (min honest score - label-flipper score) / mean honest score.
    """

    dataset: str
    seed: int
    names: list[str]
    roles: list[str]
    score_share: list[float]
    shapley_share: list[float]
    free_rider_ratio: float
    flipper_margin: float
    spearman: float
    spearman_accuracy_shapley: float
    baseline_spearman: dict[str, float]
    final_accuracy: float
    seconds_training: float
    seconds_shapley: float


def evaluate_seed(dataset: str, seed: int, fit: LocalTraining | None = None) -> SeedResult:
    """Run one seed end to end: scenario, FedAvg rounds, scores, exact Shapley."""
    scenario = build_scenario(dataset, seed)
    fit = fit or LocalTraining(hidden_units=HIDDEN_UNITS.get(dataset, 32))
    started = time.perf_counter()
    run = run_rounds(scenario, fit)
    trained = time.perf_counter()

    names = [p.name for p in scenario.participants]
    k = len(names)
    shapley_loss, shapley_accuracy = np.zeros(k), np.zeros(k)
    cgsv, fltrust = np.zeros(k), np.zeros(k)
    ledger = ContributionLedger()
    for t, record in enumerate(run.rounds, start=1):
        utilities = round_utilities(record, run.model, scenario.test)
        shapley_loss += exact_shapley(utilities.neg_loss)
        shapley_accuracy += exact_shapley(utilities.accuracy)
        ledger.add_round(
            t,
            dict(zip(names, round_scalars(record), strict=True)),
            reference_norm=float(np.linalg.norm(record.reference_update)),
            weight_scale=WEIGHT_SCALE,
        )
        cgsv += np.maximum(_cosines(record.updates, record.aggregate), 0.0)
        fltrust += np.maximum(_cosines(record.updates, record.reference_update), 0.0)
    shapley_done = time.perf_counter()

    scores = ledger.scores()
    share = np.array([scores[n] for n in names])
    honest = scenario.honest
    mean_honest = float(share[honest].mean())
    free_rider = scenario.index_of(Role.FREE_RIDER)
    flipper = scenario.index_of(Role.LABEL_FLIPPER)
    return SeedResult(
        dataset=dataset,
        seed=seed,
        names=names,
        roles=[str(p.role) for p in scenario.participants],
        score_share=share.tolist(),
        shapley_share=(shapley_loss / shapley_loss.sum()).tolist(),
        free_rider_ratio=float(share[free_rider]) / mean_honest,
        flipper_margin=(float(share[honest].min()) - float(share[flipper])) / mean_honest,
        spearman=_spearman(share[honest], shapley_loss[honest]),
        spearman_accuracy_shapley=_spearman(share[honest], shapley_accuracy[honest]),
        baseline_spearman={
            "cos_aggregate": _spearman(cgsv[honest], shapley_loss[honest]),
            "cos_reference": _spearman(fltrust[honest], shapley_loss[honest]),
        },
        final_accuracy=run.final_accuracy,
        seconds_training=trained - started,
        seconds_shapley=shapley_done - trained,
    )
