"""Contribution scores from decryptable scalars, and their u64 weights for settlement."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from strategy.contribution import (
    ContributionLedger,
    RoundScalars,
    final_scores,
    integer_weights,
    round_contributions,
)

SCALE = 0.01
U64_MAX = 2**64 - 1


def _scalars(update: np.ndarray, reference: np.ndarray, claimed: int) -> RoundScalars:
    weighted = claimed * SCALE * update
    return RoundScalars(float(weighted @ reference), float(weighted @ weighted), claimed)


def _round(updates: dict[str, tuple[np.ndarray, int]], reference: np.ndarray) -> dict:
    return round_contributions(
        {p: _scalars(u, reference, n) for p, (u, n) in updates.items()},
        reference_norm=float(np.linalg.norm(reference)),
        weight_scale=SCALE,
    )


@pytest.fixture
def reference() -> np.ndarray:
    return np.random.default_rng(0).normal(size=200)


def _honest(reference: np.ndarray, seed: int, noise: float = 0.5) -> np.ndarray:
    return reference + noise * np.random.default_rng(seed).normal(size=reference.shape)


@pytest.mark.parametrize("claimed", [1, 100, 10**9])
def test_zero_update_scores_zero_whatever_its_claimed_count(
    reference: np.ndarray, claimed: int
) -> None:
    honest = {f"h{i}": (_honest(reference, i), 50) for i in range(4)}
    result = _round({**honest, "free": (np.zeros_like(reference), claimed)}, reference)
    assert result["free"].alignment == 0.0
    assert result["free"].net <= 0.0
    ledger = ContributionLedger()
    ledger.add_round(
        1,
        {
            **{p: _scalars(u, reference, n) for p, (u, n) in honest.items()},
            "free": _scalars(np.zeros_like(reference), reference, claimed),
        },
        reference_norm=float(np.linalg.norm(reference)),
        weight_scale=SCALE,
    )
    assert ledger.scores()["free"] == 0.0


def test_ckks_noise_on_a_zero_update_is_not_credited(reference: np.ndarray) -> None:
    noise = 1e-9 * np.random.default_rng(5).normal(size=reference.shape)
    result = _round({"h": (_honest(reference, 1), 50), "free": (noise, 500)}, reference)
    assert result["free"].alignment == 0.0


def test_negated_update_scores_zero(reference: np.ndarray) -> None:
    good = _honest(reference, 1)
    updates = {"h0": (_honest(reference, 2), 40), "h1": (good, 40), "neg": (-good, 40)}
    ledger = ContributionLedger()
    ledger.add_round(
        1,
        {p: _scalars(u, reference, n) for p, (u, n) in updates.items()},
        reference_norm=float(np.linalg.norm(reference)),
        weight_scale=SCALE,
    )
    scores = ledger.scores()
    assert scores["neg"] == 0.0
    assert min(scores["h0"], scores["h1"]) > 0.0


@pytest.mark.parametrize("factor", [2.0, 10.0, 1e6])
def test_scaling_an_update_raises_its_projection_at_most_to_the_clip(
    reference: np.ndarray, factor: float
) -> None:
    others = {f"h{i}": (_honest(reference, i), 50) for i in range(4)}
    mine = 0.3 * _honest(reference, 9)  # a short update, well inside the clip
    plain = _round({**others, "me": (mine, 50)}, reference)["me"]
    scaled = _round({**others, "me": (factor * mine, 50)}, reference)["me"]
    # net = n * (p - p_bar) with p <= clip = 2 and p_bar >= 0 here: bounded by n * clip.
    assert scaled.net <= 50 * 2.0
    assert scaled.alignment <= 1.0
    assert scaled.net / plain.net <= 2.0 / 0.3 * 1.01


def test_inflating_the_claimed_count_pays_at_most_the_others_total(
    reference: np.ndarray,
) -> None:
    others = {f"h{i}": (0.5 * _honest(reference, i), 50) for i in range(4)}
    mine = _honest(reference, 9, noise=0.1)
    nets = [_round({**others, "me": (mine, n)}, reference)["me"].net for n in (50, 10**4, 10**9)]
    assert nets[0] < nets[1] < nets[2]
    plain = _round({**others, "me": (mine, 50)}, reference)
    p_me = (plain["me"].net / 50) / (1 - 50 / 250)  # own projection minus the others' mean
    assert nets[2] <= 200 * p_me * 1.0001  # N_others * (p_me - p_others)


def test_update_worse_than_the_average_has_negative_net_contribution(
    reference: np.ndarray,
) -> None:
    result = _round(
        {"good": (_honest(reference, 1, noise=0.1), 50), "noisy": (_honest(reference, 2, 5.0), 50)},
        reference,
    )
    assert result["good"].net > 0 > result["noisy"].net
    assert result["noisy"].alignment > 0  # it still pointed the right way


def test_scores_are_shares_that_sum_to_one_or_all_zero() -> None:
    scores = final_scores({"a": 3.0, "b": -1.0, "c": 1.0}, {"a": 1.0, "b": 1.0, "c": 0.0})
    assert sum(scores.values()) == pytest.approx(1.0)
    assert scores["a"] > scores["c"] > 0 and scores["b"] > 0
    assert final_scores({"a": -1.0, "b": 0.0}, {"a": 0.0, "b": 0.0}) == {"a": 0.0, "b": 0.0}
    only_alignment = final_scores({"a": -1.0, "b": -2.0}, {"a": 1.0, "b": 3.0})
    assert only_alignment == {"a": 0.25, "b": 0.75}


def test_a_round_is_counted_once(reference: np.ndarray) -> None:
    ledger = ContributionLedger()
    scalars = {"a": _scalars(reference, reference, 10)}
    ledger.add_round(1, scalars, reference_norm=1.0, weight_scale=SCALE)
    with pytest.raises(ValueError, match="already"):
        ledger.add_round(1, scalars, reference_norm=1.0, weight_scale=SCALE)


def test_invalid_inputs_are_refused(reference: np.ndarray) -> None:
    with pytest.raises(ValueError, match="positive"):
        round_contributions({"a": RoundScalars(1.0, 1.0, 0)}, reference_norm=1.0, weight_scale=1)
    with pytest.raises(ValueError, match="reference_norm"):
        round_contributions({}, reference_norm=0.0, weight_scale=1.0)


@pytest.mark.parametrize("seed", range(20))
def test_integer_weights_sum_to_the_total_and_keep_zeros_zero(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.random(12) * (rng.random(12) > 0.3)
    total = int(rng.integers(1, 10**6)) if seed % 2 else U64_MAX
    weights = integer_weights(scores.tolist(), total)
    assert sum(weights) == total
    assert all(w == 0 for w, s in zip(weights, scores, strict=True) if s == 0)
    exact = total * scores / scores.sum()
    assert np.all(np.abs(np.array(weights, dtype=float) - exact) <= 1 + 1e-6 * exact)


def test_integer_weights_are_deterministic_and_break_ties_by_position() -> None:
    assert integer_weights([1.0, 1.0, 1.0], 10) == [4, 3, 3]
    assert integer_weights([1.0, 1.0, 1.0], 10) == integer_weights([1.0, 1.0, 1.0], 10)
    assert integer_weights([0.0, 1e-300, 0.0], 7) == [0, 7, 0]


def test_all_zero_scores_map_to_all_zero_weights() -> None:
    assert integer_weights([0.0, 0.0], 1000) == [0, 0]
    assert integer_weights([], 1000) == []


@pytest.mark.parametrize("bad", [[-1.0, 2.0], [float("nan")], [float("inf"), 1.0]])
def test_integer_weights_refuse_negative_or_non_finite_scores(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="finite"):
        integer_weights(bad, 100)


@pytest.mark.parametrize("total", [0, 2**64])
def test_integer_weights_refuse_a_total_outside_u64(total: int) -> None:
    with pytest.raises(ValueError, match="total"):
        integer_weights([1.0], total)


def test_ledger_weights_follow_the_participant_order(reference: np.ndarray) -> None:
    ledger = ContributionLedger()
    ledger.add_round(
        1,
        {"a": _scalars(_honest(reference, 1), reference, 30)},
        reference_norm=float(np.linalg.norm(reference)),
        weight_scale=SCALE,
    )
    assert ledger.weights(["absent", "a"], total=100) == [0, 100]


def _inner_only(updates: dict[str, tuple[np.ndarray, int]], reference: np.ndarray) -> dict:
    """Scores from ``<w_i, g0>`` alone, as under a committee's key."""
    scalars = {}
    for pid, (update, n) in updates.items():
        full = _scalars(update, reference, n)
        scalars[pid] = replace(full, squared_norm=None)
    return round_contributions(
        scalars, reference_norm=float(np.linalg.norm(reference)), weight_scale=SCALE
    )


def test_scores_from_the_inner_product_alone_match_for_updates_within_the_reference_length(
    reference: np.ndarray,
) -> None:
    updates = {f"h{i}": (0.6 * _honest(reference, i, noise=0.3), 40 + i) for i in range(4)}
    updates["flip"] = (-0.5 * reference, 40)
    with_norm, inner_only = _round(updates, reference), _inner_only(updates, reference)
    for pid in updates:
        assert inner_only[pid].net == pytest.approx(with_norm[pid].net)
        assert inner_only[pid].alignment == pytest.approx(with_norm[pid].alignment)
    assert inner_only["flip"].alignment == 0.0 and inner_only["flip"].net < 0


@pytest.mark.parametrize("factor", [10.0, 100.0, 1e6])
def test_without_the_norm_scaling_an_update_still_stops_at_the_clip(
    reference: np.ndarray, factor: float
) -> None:
    others = {f"h{i}": (_honest(reference, i), 50) for i in range(4)}
    scaled = _inner_only({**others, "me": (factor * 0.3 * reference, 50)}, reference)["me"]
    # p = clip(<u, g0> / ||g0||^2) <= 2 and p_bar >= 0 here: net <= n * clip.
    assert scaled.alignment == 1.0
    assert 0 < scaled.net <= 50 * 2.0
