"""Model, data and local-training code shared by the server and client apps."""

from fl_app.ml.data import TabularData, load_csv, load_dataset, load_partition, org_split
from fl_app.ml.model import TabularMLP, build_model, evaluate, train

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
