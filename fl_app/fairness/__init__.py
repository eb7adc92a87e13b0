"""Offline fairness evaluation: contribution scores against exact Shapley values."""

from fl_app.fairness.evaluation import SeedResult, evaluate_seed, round_scalars
from fl_app.fairness.rounds import LocalTraining, RoundRecord, TrainingRun, run_rounds
from fl_app.fairness.scenario import Participant, Role, Scenario, build_scenario
from fl_app.fairness.shapley import coalition_masks, exact_shapley, round_utilities

__all__ = [
    "LocalTraining",
    "Participant",
    "Role",
    "RoundRecord",
    "Scenario",
    "SeedResult",
    "TrainingRun",
    "build_scenario",
    "coalition_masks",
    "evaluate_seed",
    "exact_shapley",
    "round_scalars",
    "round_utilities",
    "run_rounds",
]
