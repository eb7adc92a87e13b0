"""What a run produces, round by round: the typed outcome the reports, dashboards,
manifests and chain records read.

It sits below both the server (which produces it) and the roles (which record it), so
neither has to import the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flwr.app import ArrayRecord

from fl_app.settings import RunSettings
from strategy import RoundManifest
from strategy.attestation import Attestation
from strategy.contribution import RoundScalars
from strategy.threshold.scoring import DecryptedScores

__all__ = ["RoundReport", "RunReport"]


@dataclass(frozen=True)
class RoundReport:
    """The global model's test metrics after a round (round 0 is the initial model).

    The round's fields come from the aggregation's ``strategy.RoundOutcome``.
    ``contributors`` are those whose updates were aggregated: wallets in stake-gated
    runs, ``str(node_id)`` otherwise; ``manifest`` is the round's encrypted-aggregation
    manifest (CKKS runs). ``scalars`` are
    the decrypted contribution scalars of the round, by wallet in stake-gated runs and
    by ``str(node_id)`` otherwise, with the round's ``reference_norm`` (``||g0||``) and
    the public ``weight_scale``; empty (and 0.0) when the round was not scored.
    ``reference_update`` is the organisation's reference update ``g0`` the scalars were
    computed against, published so that anyone can check it is a real model update.
    ``ciphertext_bytes`` are the sizes of the encrypted updates aggregated in the round.
    ``skipped`` says why a round was skipped (too few proofs, replies or inputs; its
    model is the previous round's), and is empty for an aggregated round.
    ``attestations`` are the decryptors' signatures of the decrypted sum's contributors
    (the key holder's or the committee's), without which the chain refuses to record the
    round. ``decrypted_scalars`` are the
    scalars the key holder decrypted (in manifest order) and ``scores_attestation`` its
    signature of them, which its final attestation of the scores checks. A committee's
    scored round carries ``committee_scores`` instead: the body parts, each decrypting
    member's shares of the scalars and its signature of them.
    """

    server_round: int
    accuracy: float
    loss: float
    arrays: ArrayRecord = field(repr=False)
    contributors: tuple[str, ...] = ()
    manifest: RoundManifest | None = None
    scalars: Mapping[str, RoundScalars] = field(default_factory=dict)
    reference_norm: float = 0.0
    weight_scale: float = 0.0
    reference_update: np.ndarray | None = field(default=None, repr=False)
    ciphertext_bytes: tuple[int, ...] = ()
    skipped: str = ""
    attestations: tuple[Attestation, ...] = ()
    decrypted_scalars: np.ndarray | None = field(default=None, repr=False)
    scores_attestation: Attestation | None = None
    committee_scores: DecryptedScores | None = field(default=None, repr=False)

    @property
    def plaintext_bytes(self) -> int:
        """Bytes of the model as float32, what a plaintext update would weigh."""
        return 4 * sum(int(np.prod(array.shape)) for array in self.arrays.values())


@dataclass
class RunReport:
    """What an in-process run produced, filled in as rounds complete."""

    settings: RunSettings | None = None
    rounds: list[RoundReport] = field(default_factory=list)
    train_metrics: dict[int, dict[str, Any]] = field(default_factory=dict)
    final_arrays: ArrayRecord | None = None

    @property
    def final_accuracy(self) -> float:
        return self.rounds[-1].accuracy
