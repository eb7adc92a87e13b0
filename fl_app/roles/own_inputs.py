"""A participant's check that the scores recorded for its inputs are its own.

Under a committee, each input's contribution scalar ``<w_i, g0>`` is decrypted from a
body part the aggregator computes from the input's ciphertext and shares the members
make from its masks. Members hold no input whole, so they check only that the body parts
add up to the aggregate's: an aggregator could move part of one input's scalar to
another (a wallet of its own) and the members would sign it. The participant can tell:
it kept the encrypted vector it sent (``ckks-own-updates``), and recomputes its body part
from it and the round's published reference.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fl_app.errors import FlAppError
from fl_app.roles.round_scores import RecordedRound
from strategy import RoundManifest
from strategy.reference import reference_sha256
from strategy.threshold.scoring import own_body_part
from strategy.threshold.spot_check import VectorTree

__all__ = ["OwnInputCheck", "audit_own_inputs", "check_own_inputs"]


@dataclass(frozen=True)
class OwnInputCheck:
    """One round's body part of the participant's scalar: as recorded, and as its own
    ciphertext gives it."""

    server_round: int
    kept: Path
    recorded: int
    expected: int

    @property
    def moved(self) -> bool:
        """True if the aggregator recorded another body part than the input's."""
        return self.recorded != self.expected


def check_own_inputs(
    rounds: Sequence[RecordedRound], wallet: str, kept: Path
) -> list[OwnInputCheck]:
    """Check every scored committee round that aggregated an input of ``wallet`` whose
    ciphertext is kept in ``kept`` (named ``<vector root>.bin``).

    Raises
    ------
    FlAppError
        If a kept file is not the ciphertext the input committed to, or a round's
        reference is not the one its members fixed.
    """
    checks = []
    for recorded in rounds:
        manifest = recorded.manifest
        scoring = manifest.get("scoring") or {}
        if "committee" not in scoring or recorded.reference is None:
            continue
        aggregation = RoundManifest.from_json(json.dumps(manifest["encrypted_aggregation"]))
        for index, commitment in enumerate(aggregation.commitments):
            path = kept / f"{commitment.vector_root}.bin"
            if commitment.signer != wallet or not path.is_file():
                continue
            vector = path.read_bytes()
            if VectorTree(vector).root != commitment.vector_root:
                raise FlAppError(
                    f"{path} is not the ciphertext committed in round {manifest['round']}"
                )
            if reference_sha256(recorded.reference) != scoring["reference_sha256"]:
                raise FlAppError(
                    f"round {manifest['round']}'s pinned reference update is not the one "
                    "the committee fixed"
                )
            committee = scoring["committee"]
            expected = own_body_part(recorded.reference, float(committee["scale"]), vector)
            recorded_body = int(committee["bodies"][index])
            checks.append(OwnInputCheck(int(manifest["round"]), path, recorded_body, expected))
    return checks


def audit_own_inputs(rounds: Sequence[RecordedRound], wallet: str, kept: Path) -> list[int]:
    """The rounds whose recorded score share for ``wallet``'s input is its own.

    Raises
    ------
    FlAppError
        If a round recorded another share than the kept ciphertext gives (the aggregator
        moved part of the score to another input), or as ``check_own_inputs``.
    """
    checks = check_own_inputs(rounds, wallet, kept)
    moved = [c for c in checks if c.moved]
    if moved:
        raise FlAppError(
            f"round(s) {', '.join(str(c.server_round) for c in moved)} recorded another score "
            f"share for the input of {wallet} than its ciphertext gives: the aggregator moved "
            f"part of its score to another input (evidence: {moved[0].kept} and the round's "
            "manifest)"
        )
    return [c.server_round for c in checks]
