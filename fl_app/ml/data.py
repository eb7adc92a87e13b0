"""Data sets that ship with scikit-learn, participants' own CSV files, and partitioning.

Nothing is downloaded: the UCI breast-cancer, digits and wine sets are bundled inside
scikit-learn. Partitions across simulated participants use Flower Datasets'
partitioners (IID, or Dirichlet label skew as in Hsu et al. 2019).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from datasets import Dataset
from flwr_datasets.partitioner import DirichletPartitioner, IidPartitioner
from sklearn import datasets as sk_datasets

from fl_app.errors import DataError

__all__ = [
    "TabularData",
    "load_csv",
    "load_dataset",
    "load_features",
    "load_partition",
    "org_split",
]

_LOADERS = {
    "breast_cancer": sk_datasets.load_breast_cancer,
    "digits": sk_datasets.load_digits,
    "wine": sk_datasets.load_wine,
}
_LABEL = "label"


@dataclass(frozen=True)
class TabularData:
    """Features ``x`` (float32, rows are samples) and integer class labels ``y``."""

    x: np.ndarray
    y: np.ndarray
    num_classes: int

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, index: np.ndarray) -> TabularData:
        return TabularData(self.x[index], self.y[index], self.num_classes)


@cache
def load_dataset(name: str) -> TabularData:
    """Load a data set bundled with scikit-learn by name (see ``fl_app.settings.DATASETS``)."""
    if name not in _LOADERS:
        raise DataError(f"unknown data set {name!r}; choose one of {', '.join(_LOADERS)}")
    bunch = _LOADERS[name]()
    y = np.asarray(bunch.target, dtype=np.int64)
    return TabularData(np.asarray(bunch.data, dtype=np.float32), y, int(y.max()) + 1)


def load_csv(path: str | Path, target: str, *, num_classes: int | None = None) -> TabularData:
    """Load a participant's CSV file: numeric feature columns and an integer target column.

    Parameters
    ----------
    path
        CSV file with a header row.
    target
        Name of the column that holds the class label (integers from 0).
    num_classes
        Number of classes of the task; labels outside ``[0, num_classes)`` are refused.

    Raises
    ------
    DataError
        With a one-line message for a missing or empty file, a missing target column,
        non-numeric or missing values, or labels out of range.
    """
    path = Path(path)
    frame = _read_numeric_csv(path)
    if target not in frame.columns:
        raise DataError(
            f"CSV file {path} has no target column {target!r}; "
            f"columns are: {', '.join(map(str, frame.columns))}"
        )
    labels = frame[target].to_numpy()
    if not np.all(np.equal(np.mod(labels, 1), 0)) or labels.min() < 0:
        raise DataError(f"CSV file {path}: target {target!r} must hold integer labels from 0")
    y = labels.astype(np.int64)
    classes = num_classes if num_classes is not None else int(y.max()) + 1
    if y.max() >= classes:
        raise DataError(
            f"CSV file {path}: label {int(y.max())} is outside the task's {classes} classes"
        )
    x = frame.drop(columns=[target]).to_numpy(dtype=np.float32)
    return TabularData(x, y, classes)


def load_features(path: str | Path, *, drop: str | None = None) -> np.ndarray:
    """Load the numeric feature columns of a CSV file, for prediction.

    Parameters
    ----------
    path
        CSV file with a header row.
    drop
        A column to leave out (the label column, when the file has one).

    Raises
    ------
    DataError
        As :func:`load_csv`, and when ``drop`` names no column.
    """
    path = Path(path)
    frame = _read_numeric_csv(path)
    if drop is not None:
        if drop not in frame.columns:
            raise DataError(f"CSV file {path} has no column {drop!r}")
        frame = frame.drop(columns=[drop])
    return frame.to_numpy(dtype=np.float32)


def _read_numeric_csv(path: Path) -> pd.DataFrame:
    """A CSV file's rows, refused in one line unless every value is a number."""
    if not path.is_file():
        raise DataError(f"CSV file {path} does not exist")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"CSV file {path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise DataError(f"CSV file {path} cannot be parsed: {first_line}") from None
    if frame.empty:
        raise DataError(f"CSV file {path} has a header but no rows")
    non_numeric = [str(c) for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise DataError(f"CSV file {path} has non-numeric column(s): {', '.join(non_numeric)}")
    missing = [str(c) for c in frame.columns if frame[c].isna().any()]
    if missing:
        raise DataError(f"CSV file {path} has missing values in column(s): {', '.join(missing)}")
    return frame


@dataclass(frozen=True)
class OrgSplit:
    """The organisation's own data (reference and test) and the pool held by participants."""

    reference: TabularData
    test: TabularData
    pool: TabularData


@cache
def org_split(name: str, seed: int) -> OrgSplit:
    """Split a bundled data set into the organisation's reference (10 %), test (20 %) and
    the participants' pool (70 %), stratified and reproducible for a given seed.

    The reference split gives the input normalisation the model carries, and later the
    organisation's reference update for contribution scoring.
    """
    data = load_dataset(name)
    rng = np.random.default_rng(seed)
    reference, test, pool = [], [], []
    for label in range(data.num_classes):
        idx = rng.permutation(np.flatnonzero(data.y == label))
        n_ref, n_test = round(0.1 * len(idx)), round(0.2 * len(idx))
        reference.append(idx[:n_ref])
        test.append(idx[n_ref : n_ref + n_test])
        pool.append(idx[n_ref + n_test :])
    take = [rng.permutation(np.concatenate(part)) for part in (reference, test, pool)]
    return OrgSplit(*(data.subset(index) for index in take))


@cache
def _partitioner(
    name: str, seed: int, num_partitions: int, partitioning: str, alpha: float
) -> IidPartitioner | DirichletPartitioner:
    pool = org_split(name, seed).pool
    table = Dataset.from_dict({"index": np.arange(len(pool)), _LABEL: pool.y})
    partitioner: IidPartitioner | DirichletPartitioner
    if partitioning == "iid":
        partitioner = IidPartitioner(num_partitions)
        table = table.shuffle(seed=seed)
    else:
        min_size = max(2, min(10, len(pool) // (8 * num_partitions)))
        partitioner = DirichletPartitioner(
            num_partitions, _LABEL, alpha, min_partition_size=min_size, seed=seed
        )
    partitioner.dataset = table
    with warnings.catch_warnings():
        # The partitioner warns each time it redraws a split with a too-small partition;
        # redrawing is what we want, and the result is reproducible for the seed.
        warnings.filterwarnings("ignore", message="The specified min_partition_size")
        partitioner.load_partition(0)
    return partitioner


def load_partition(
    name: str,
    *,
    seed: int,
    partition_id: int,
    num_partitions: int,
    partitioning: str = "dirichlet",
    alpha: float = 0.5,
) -> TabularData:
    """Return one simulated participant's share of the pool."""
    if not 0 <= partition_id < num_partitions:
        raise DataError(f"partition-id {partition_id} is outside 0..{num_partitions - 1}")
    partitioner = _partitioner(name, seed, num_partitions, partitioning, alpha)
    index = np.asarray(partitioner.load_partition(partition_id)["index"], dtype=np.int64)
    return org_split(name, seed).pool.subset(index)
