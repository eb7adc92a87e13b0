"""How a simulated participant behaves: honestly, or as one of the adversaries that the
contribution scores must not reward (demo and fairness runs only).
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np

from fl_app.ml.tabular import TabularData

__all__ = ["FREE_RIDER_CLAIMED_EXAMPLES", "Behaviour", "flip_labels"]

FREE_RIDER_CLAIMED_EXAMPLES = 1_000
"""Sample count a free-rider claims, to weigh as much as possible in FedAvg."""


class Behaviour(StrEnum):
    """What a participant does with the global model it receives."""

    HONEST = "honest"
    FREE_RIDER = "free-rider"
    """Sends the global model back unchanged and claims many examples."""
    LABEL_FLIPPER = "label-flipper"
    """Trains on its data with every label ``y`` replaced by ``C - 1 - y``."""


def flip_labels(data: TabularData) -> TabularData:
    """The label-flipper's poisoned copy of its data."""
    return TabularData(data.x, (data.num_classes - 1 - data.y).astype(np.int64), data.num_classes)
