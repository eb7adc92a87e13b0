"""A participant checks that the score shares recorded for its input are its own.

The organisation moves part of one input's contribution scalar to another (a sybil's):
the total is unchanged, so the committee's members sign it. The participant it was
taken from recomputes its body part from the ciphertext its node kept and the round's
reference, and finds the difference; the others find theirs unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest

from fl_app.errors import FlAppError
from fl_app.roles.own_inputs import check_own_inputs
from fl_app.roles.round_scores import RecordedRound
from strategy.reference import reference_sha256
from strategy.threshold.engine import parameters
from tests.test_threshold_guard import REFERENCE, participants, scored_round


def _recorded(bodies: tuple[int, ...], scale: float, manifest_json: str) -> RecordedRound:
    manifest = {
        "round": 1,
        "encrypted_aggregation": json.loads(manifest_json),
        "scoring": {
            "reference_sha256": reference_sha256(REFERENCE),
            "committee": {"scale": scale, "bodies": list(bodies)},
        },
    }
    # The account is the chain's record; this check reads only the pinned manifest.
    return RecordedRound(cast(Any, None), manifest, REFERENCE)


def test_the_input_a_score_share_was_moved_from_finds_it(tmp_path: Path) -> None:
    r, scoring = scored_round()
    commitments = r.manifest.commitments
    for commitment in commitments:  # every node kept what it sent, by committed root
        (tmp_path / f"{commitment.vector_root}.bin").write_bytes(r.vectors[commitment.node_id])
    honest = _recorded(scoring.bodies, scoring.scale, r.manifest.to_json())
    for commitment in commitments:
        (check,) = check_own_inputs([honest], commitment.signer, tmp_path)
        assert not check.moved and check.server_round == 1

    q = int(parameters()["q"])
    moved = ((scoring.bodies[0] - 10**15) % q, (scoring.bodies[1] + 10**15) % q)
    altered = _recorded((*moved, *scoring.bodies[2:]), scoring.scale, r.manifest.to_json())
    victim, sybil, bystander = (commitments[i].signer for i in range(3))
    assert [c.moved for c in check_own_inputs([altered], victim, tmp_path)] == [True]
    assert [c.moved for c in check_own_inputs([altered], sybil, tmp_path)] == [True]
    assert [c.moved for c in check_own_inputs([altered], bystander, tmp_path)] == [False]
    # A wallet that took no part, or kept nothing, has nothing to check.
    assert check_own_inputs([altered], participants()[-1].address, tmp_path) == []
    assert check_own_inputs([altered], victim, tmp_path / "elsewhere") == []


def test_a_kept_file_or_reference_that_is_not_the_rounds_is_refused(tmp_path: Path) -> None:
    r, scoring = scored_round()
    first, second = r.manifest.commitments[:2]
    (tmp_path / f"{first.vector_root}.bin").write_bytes(r.vectors[second.node_id])
    recorded = _recorded(scoring.bodies, scoring.scale, r.manifest.to_json())
    with pytest.raises(FlAppError, match="is not the ciphertext committed in round 1"):
        check_own_inputs([recorded], first.signer, tmp_path)
    (tmp_path / f"{first.vector_root}.bin").write_bytes(r.vectors[first.node_id])
    other = RecordedRound(recorded.account, recorded.manifest, 2 * REFERENCE)
    with pytest.raises(FlAppError, match="not the one the committee fixed"):
        check_own_inputs([other], first.signer, tmp_path)
