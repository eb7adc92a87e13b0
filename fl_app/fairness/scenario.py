"""The participants of a fairness run: honest data owners, a free-rider, a label-flipper.

Each seed draws a fresh organisation split (``fl_app.ml.org_split``), gives the eight
honest participants IID shares of different sizes with different label-noise rates
(paired at random per seed, so size and quality do not move together), and adds two
adversaries: a free-rider that holds no data, returns the global model unchanged (a zero
update) and claims a large example count, and a label-flipper that trains on its own
share with every label ``y`` replaced by ``C - 1 - y``.
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass

import numpy as np

from fl_app.ml import TabularData, org_split

__all__ = [
    "HONEST_NOISE_RATES",
    "HONEST_SIZE_FRACTIONS",
    "Participant",
    "Role",
    "Scenario",
    "build_scenario",
]

# Shares of the participants' pool: honest sizes vary by a factor of six.
HONEST_SIZE_FRACTIONS = (0.03, 0.05, 0.07, 0.09, 0.11, 0.13, 0.15, 0.17)
HONEST_NOISE_RATES = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4)
FLIPPER_SIZE_FRACTION = 0.10
# The free-rider claims twice as many examples as the largest honest participant.
FREE_RIDER_CLAIM_FACTOR = 2


class Role(enum.StrEnum):
    """What a participant does with the global model it receives."""

    HONEST = "honest"
    FREE_RIDER = "free-rider"
    LABEL_FLIPPER = "label-flipper"


@dataclass(frozen=True)
class Participant:
    """One participant: its role, its training data, and the example count it reports."""

    name: str
    role: Role
    data: TabularData
    claimed_examples: int
    noise_rate: float = 0.0


@dataclass(frozen=True)
class Scenario:
    """Everything a fairness run needs: the organisation's data and the participants."""

    dataset: str
    seed: int
    reference: TabularData
    test: TabularData
    participants: tuple[Participant, ...]

    @property
    def honest(self) -> list[int]:
        """Indices of the honest participants."""
        return [i for i, p in enumerate(self.participants) if p.role is Role.HONEST]

    def index_of(self, role: Role) -> int:
        """Index of the (single) participant with an adversarial ``role``."""
        return next(i for i, p in enumerate(self.participants) if p.role is role)


def _with_label_noise(data: TabularData, rate: float, rng: np.random.Generator) -> TabularData:
    """Symmetric label noise: a ``rate`` share of labels is redrawn uniformly over all
    classes (so about ``rate * (C - 1) / C`` of them change)."""
    y = data.y.copy()
    noisy = rng.permutation(len(y))[: round(rate * len(y))]
    y[noisy] = rng.integers(0, data.num_classes, size=len(noisy))
    return TabularData(data.x, y, data.num_classes)


def build_scenario(dataset: str, seed: int) -> Scenario:
    """Build the ten participants of a fairness run on a bundled data set.

    Parameters
    ----------
    dataset
        A data set bundled with scikit-learn (``breast_cancer``, ``digits``, ``wine``).
    seed
        Seeds the organisation split, the shares, the size/noise pairing and the noise.
    """
    split = org_split(dataset, seed)
    pool = split.pool
    rng = np.random.default_rng([seed, 0xFA1])
    order = rng.permutation(len(pool))
    noise_rates = rng.permutation(HONEST_NOISE_RATES)

    sizes = [round(f * len(pool)) for f in (*HONEST_SIZE_FRACTIONS, FLIPPER_SIZE_FRACTION)]
    bounds = np.cumsum([0, *sizes])
    shares = [pool.subset(order[a:b]) for a, b in itertools.pairwise(bounds)]

    participants = [
        Participant(
            name=f"honest-{k}",
            role=Role.HONEST,
            data=_with_label_noise(share, float(rate), rng),
            claimed_examples=len(share),
            noise_rate=float(rate),
        )
        for k, (share, rate) in enumerate(zip(shares[:-1], noise_rates, strict=True))
    ]
    participants.append(
        Participant(
            name="free-rider",
            role=Role.FREE_RIDER,
            data=pool.subset(np.array([], dtype=np.int64)),
            claimed_examples=FREE_RIDER_CLAIM_FACTOR * max(sizes[:-1]),
        )
    )
    flip = shares[-1]
    participants.append(
        Participant(
            name="label-flipper",
            role=Role.LABEL_FLIPPER,
            data=TabularData(flip.x, flip.num_classes - 1 - flip.y, flip.num_classes),
            claimed_examples=len(flip),
        )
    )
    return Scenario(dataset, seed, split.reference, split.test, tuple(participants))
