"""An in-process federated run yields contribution scalars for every contributor."""

from __future__ import annotations

import math

import pytest

from fl_app.simulation import Federation, run_federated


@pytest.mark.slow
def test_simulation_scores_every_contributor_each_round() -> None:
    """By default a committee decrypts each input's ``<w_i, g0>`` with the sum."""
    report = run_federated(
        {"num-server-rounds": 2, "min-nodes": 4, "local-epochs": 1},
        federation=Federation(num_supernodes=4),
    )
    assert report.settings is not None and report.settings.contribution_scoring
    for round_report in report.rounds[1:]:
        manifest, scores = round_report.manifest, round_report.committee_scores
        assert manifest is not None and scores is not None
        contributors = {str(c.node_id) for c in manifest.commitments}
        assert len(contributors) == 4
        assert set(round_report.scalars) == contributors
        assert round_report.reference_norm > 0
        # Four members (all the wallets there are), three of whom decrypt.
        assert len(scores.decrypting) == 3 and len(scores.bodies) == 4
        inner = scores.inner_products()
        for commitment, value in zip(manifest.commitments, inner, strict=True):
            scalars = round_report.scalars[str(commitment.node_id)]
            assert scalars.squared_norm is None and scalars.claimed_examples > 0
            assert scalars.reference_inner == value


@pytest.mark.slow
def test_a_key_holder_run_scores_with_the_norms() -> None:
    report = run_federated(
        {
            "num-server-rounds": 2,
            "min-nodes": 4,
            "local-epochs": 1,
            "ckks-decryption": "key-holder",
        },
        federation=Federation(num_supernodes=4),
    )
    assert report.settings is not None and report.settings.contribution_scoring
    for round_report in report.rounds[1:]:
        manifest = round_report.manifest
        assert manifest is not None and round_report.committee_scores is None
        contributors = {str(c.node_id) for c in manifest.commitments}
        assert len(contributors) == 4
        assert set(round_report.scalars) == contributors
        assert round_report.reference_norm > 0
        assert round_report.weight_scale == report.settings.ckks_weight_scale
        for scalars in round_report.scalars.values():
            assert scalars.squared_norm is not None
            assert scalars.squared_norm > 0 and scalars.claimed_examples > 0
            # Cauchy-Schwarz within CKKS noise: the scalars are of one real update.
            bound = math.sqrt(scalars.squared_norm) * round_report.reference_norm
            assert abs(scalars.reference_inner) <= bound * (1 + 1e-3)
        digests = {c.reference_sha256 for c in manifest.commitments}
        assert len(digests) == 1 and digests != {""}
