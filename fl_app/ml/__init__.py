"""Model, data and local-training code shared by the server and client apps."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fl_app.ml.data import load_dataset, load_partition, org_split
    from fl_app.ml.model import TabularMLP, build_model, evaluate, train
    from fl_app.ml.tabular import TabularData, load_csv

__all__ = [
    "TabularData",
    "TabularMLP",
    "build_model",
    "evaluate",
    "load_csv",
    "load_dataset",
    "load_partition",
    "org_split",
    "train",
]

# Imported on first use, so that reading a CSV file (fl-app data check) loads no torch.
_MODULES = {
    "TabularData": "tabular",
    "load_csv": "tabular",
    "load_dataset": "data",
    "load_partition": "data",
    "org_split": "data",
    "TabularMLP": "model",
    "build_model": "model",
    "evaluate": "model",
    "train": "model",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'fl_app.ml' has no attribute {name!r}")
    return getattr(importlib.import_module(f"fl_app.ml.{module}"), name)
