"""The organisation's reference update for contribution scoring.

Each round the organisation trains the global model on its own reference split with
the participants' settings (local epochs, batch size, learning rate, a per-round seed)
and takes the difference to the global model: ``g0``, the FLTrust server update (Cao et
al. 2021). Its SHA-256 is committed in the round's train config before any update
arrives, and the key holder scores each participant's encrypted update against it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from flwr.app import ArrayRecord

from fl_app.ml import TabularMLP, org_split, train
from fl_app.settings import RunSettings
from strategy.ckks import flatten_arrays

__all__ = ["REFERENCE_PARTITION", "reference_update_fn"]

# Seeds of participants use partition ids 0..n-1; the organisation's run uses its own.
REFERENCE_PARTITION = 99_991


def reference_update_fn(settings: RunSettings) -> Callable[[int, ArrayRecord], np.ndarray]:
    """Return ``(server_round, global_arrays) -> g0``, flattened as ``ckks_mod`` does.

    Parameters
    ----------
    settings
        The run's settings; the data set, seed and local-training values are used.
    """
    reference = org_split(settings.dataset, settings.seed).reference

    def reference_update(server_round: int, arrays: ArrayRecord) -> np.ndarray:
        model = TabularMLP.from_state_dict(arrays.to_torch_state_dict())
        train(
            model,
            reference,
            epochs=settings.local_epochs,
            batch_size=settings.batch_size,
            learning_rate=settings.learning_rate,
            seed=settings.training_seed(server_round, REFERENCE_PARTITION),
        )
        return flatten_arrays(ArrayRecord(model.state_dict())) - flatten_arrays(arrays)

    return reference_update
