"""Guarantee 7: rewards follow measured contribution; adversaries lose; fidelity to Shapley.

Plaintext runs of the acceptance scenario (8 honest participants with different data
sizes and label-noise rates, a free-rider, a label-flipper), scored with
``strategy.contribution`` from the scalars the key holder would decrypt.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fl_app.fairness import (
    LocalTraining,
    Role,
    build_scenario,
    coalition_masks,
    evaluate_seed,
    exact_shapley,
    round_scalars,
    round_utilities,
    run_rounds,
)
from fl_app.ml import evaluate

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module", params=["breast_cancer", "digits"])
def results(request: pytest.FixtureRequest) -> list:
    return [evaluate_seed(request.param, seed) for seed in SEEDS]


def test_free_rider_earns_at_most_5_percent_of_the_mean_honest_reward(results: list) -> None:
    assert all(r.free_rider_ratio <= 0.05 for r in results), [r.free_rider_ratio for r in results]


def test_label_flipper_earns_less_than_every_honest_participant(results: list) -> None:
    for r in results:
        flipper = r.score_share[r.roles.index(Role.LABEL_FLIPPER)]
        honest = [s for s, role in zip(r.score_share, r.roles, strict=True) if role == "honest"]
        assert flipper < min(honest), (r.dataset, r.seed)


def test_honest_scores_rank_like_exact_shapley(results: list) -> None:
    assert all(r.spearman >= 0.9 for r in results), [r.spearman for r in results]


def test_rewards_are_shares_of_the_pool(results: list) -> None:
    for r in results:
        assert sum(r.score_share) == pytest.approx(1.0)
        assert min(r.score_share) >= 0.0


def test_scenario_has_eight_varied_honest_participants_and_two_adversaries() -> None:
    scenario = build_scenario("breast_cancer", 0)
    honest = [scenario.participants[i] for i in scenario.honest]
    assert len(honest) == 8 and len(scenario.participants) == 10
    assert len({len(p.data) for p in honest}) == 8
    assert len({p.noise_rate for p in honest}) == 8
    free_rider = scenario.participants[scenario.index_of(Role.FREE_RIDER)]
    assert free_rider.claimed_examples > max(p.claimed_examples for p in honest)
    flipper = scenario.participants[scenario.index_of(Role.LABEL_FLIPPER)]
    assert flipper.claimed_examples == len(flipper.data)


def test_coalition_models_are_fedavg_of_stored_updates() -> None:
    scenario = build_scenario("breast_cancer", 3)
    run = run_rounds(scenario, LocalTraining(rounds=2))
    record = run.rounds[-1]
    utilities = round_utilities(record, run.model, scenario.test)
    # The grand coalition's model is the trained global model.
    assert -utilities.neg_loss[-1] == pytest.approx(evaluate(run.model, scenario.test).loss, 1e-4)
    # The free-rider's update is zero: alone it leaves the global model as it was.
    free_rider = scenario.index_of(Role.FREE_RIDER)
    assert utilities.neg_loss[1 << free_rider] == pytest.approx(utilities.neg_loss[0])
    assert not record.updates[free_rider].any()


def test_round_scalars_are_those_of_the_weighted_update() -> None:
    scenario = build_scenario("digits", 0)
    record = run_rounds(scenario, LocalTraining(rounds=1, hidden_units=16)).rounds[0]
    scalars = round_scalars(record, weight_scale=0.5)
    w = record.claimed[3] * 0.5 * record.updates[3]
    assert scalars[3].squared_norm == pytest.approx(float(w @ w))
    assert scalars[3].reference_inner == pytest.approx(float(w @ record.reference_update))


def test_exact_shapley_of_an_additive_game_is_each_players_own_value() -> None:
    own = np.array([3.0, -1.0, 0.5, 2.0])
    utilities = coalition_masks(4) @ own
    assert exact_shapley(utilities) == pytest.approx(own)


def test_exact_shapley_is_efficient_and_symmetric() -> None:
    masks = coalition_masks(5)
    sizes = masks.sum(axis=1)
    utilities = np.sqrt(sizes) + 0.1 * masks[:, 0]  # players 1..4 are symmetric
    values = exact_shapley(utilities)
    assert values.sum() == pytest.approx(utilities[-1] - utilities[0])
    assert values[1:] == pytest.approx(np.full(4, values[1]))
    assert values[0] == pytest.approx(values[1] + 0.1)
    with pytest.raises(ValueError):
        exact_shapley(np.zeros(6))
    assert math.isclose(exact_shapley(np.array([0.0, 2.0]))[0], 2.0)
