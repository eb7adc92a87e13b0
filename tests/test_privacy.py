"""The per-participant DP-SGD account keeps the planned budget."""

from __future__ import annotations

import math

from fl_app.ml.privacy import DpAccount


def _plan(target: float) -> DpAccount:
    return DpAccount.plan(
        target_epsilon=target,
        delta=1e-5,
        max_grad_norm=1.0,
        num_examples=40,
        batch_size=16,
        epochs_per_round=3,
        num_rounds=10,
    )


def test_planned_budget_is_met_after_every_possible_step() -> None:
    account = _plan(8.0)
    account.steps = 10 * 3 * math.ceil(40 / 16)
    assert 7.0 < account.spent() <= 8.0


def test_smaller_budget_needs_more_noise_and_spending_grows_with_steps() -> None:
    loose, tight = _plan(8.0), _plan(2.0)
    assert tight.noise_multiplier > loose.noise_multiplier
    assert loose.spent() == 0.0
    loose.steps = 10
    first = loose.spent()
    loose.steps = 20
    assert 0 < first < loose.spent()
