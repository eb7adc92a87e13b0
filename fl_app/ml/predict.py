"""Predictions from a trained global model: the deployment step after a task.

A task's final model is a PyTorch state dict pinned to IPFS (its CID is on chain). It is
loaded with ``weights_only=True``: a checkpoint is tensors, and anything else in it (a
pickled object that would run code) is refused rather than unpickled.
"""

from __future__ import annotations

import io
import pickle
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from fl_app.errors import FlAppError
from fl_app.ml.model import TabularMLP

__all__ = ["ModelFileError", "Predictions", "load_model", "predict"]

_LAYERS = ("mean", "std", "hidden.weight", "hidden.bias", "out.weight", "out.bias")


class ModelFileError(FlAppError):
    """Bytes that are not a checkpoint of this project's model."""


@dataclass(frozen=True)
class Predictions:
    """Predicted class of each row and the model's class probabilities."""

    labels: np.ndarray
    """Predicted class index per row (int64)."""
    probabilities: np.ndarray
    """Softmax probabilities, one row per input row, one column per class."""


def load_model(data: bytes, *, what: str = "model") -> TabularMLP:
    """Rebuild the model from a pinned checkpoint's bytes.

    Raises
    ------
    ModelFileError
        If the bytes are not a tensors-only state dict with the model's layers.
    """
    try:
        with warnings.catch_warnings():
            # torch warns about the pickle protocol of files it then loads fine.
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ModelFileError(
            f"{what} is not a model checkpoint: it holds more than tensors (it could run "
            "code when loaded), so it is refused"
        ) from None
    except (RuntimeError, EOFError, ValueError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelFileError(f"{what} is not a model checkpoint: {first_line}") from None
    if not isinstance(state, dict) or not all(
        isinstance(state.get(name), torch.Tensor) for name in _LAYERS
    ):
        raise ModelFileError(
            f"{what} is not a checkpoint of this model: needs {', '.join(_LAYERS)}"
        )
    try:
        model = TabularMLP.from_state_dict(state)
    except (RuntimeError, ValueError) as err:
        raise ModelFileError(f"{what} has inconsistent layer shapes: {err}") from None
    return model.eval()


def predict(model: TabularMLP, x: np.ndarray, *, what: str = "data") -> Predictions:
    """Classify each row of ``x``.

    Raises
    ------
    ModelFileError
        If ``x`` does not have the model's number of features.
    """
    expected = int(model.mean.shape[0])
    if x.ndim != 2 or x.shape[1] != expected:
        columns = x.shape[1] if x.ndim == 2 else 0
        raise ModelFileError(f"{what} has {columns} feature column(s); the model takes {expected}")
    with torch.no_grad():
        logits = model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
        probabilities = torch.softmax(logits, dim=1).numpy()
    return Predictions(
        labels=probabilities.argmax(axis=1).astype(np.int64), probabilities=probabilities
    )
