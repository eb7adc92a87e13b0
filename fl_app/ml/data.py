"""Data sets that ship with scikit-learn, participants' own CSV files, and partitioning.

Nothing is downloaded: the UCI breast-cancer, digits and wine sets are bundled inside
scikit-learn. Partitions across simulated participants use Flower Datasets'
partitioners (IID, or Dirichlet label skew as in Hsu et al. 2019).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
from sklearn import datasets as sk_datasets

from fl_app.errors import DataError
from fl_app.ml.tabular import TabularData, load_csv

if TYPE_CHECKING:
    from flwr_datasets.partitioner import DirichletPartitioner, IidPartitioner

__all__ = ["TabularData", "load_csv", "load_dataset", "load_partition", "org_split"]

_LOADERS = {
    "breast_cancer": sk_datasets.load_breast_cancer,
    "digits": sk_datasets.load_digits,
    "wine": sk_datasets.load_wine,
}
_LABEL = "label"


@cache
def load_dataset(name: str) -> TabularData:
    """Load a data set bundled with scikit-learn by name (see ``fl_app.settings.DATASETS``)."""
    if name not in _LOADERS:
        raise DataError(f"unknown data set {name!r}; choose one of {', '.join(_LOADERS)}")
    bunch = _LOADERS[name]()
    y = np.asarray(bunch.target, dtype=np.int64)
    return TabularData(np.asarray(bunch.data, dtype=np.float32), y, int(y.max()) + 1)


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
    # Flower Datasets loads seaborn, scipy.stats and pyarrow (seconds); only simulated
    # participants need it, not the server's or a real participant's process.
    from datasets import Dataset
    from flwr_datasets.partitioner import DirichletPartitioner, IidPartitioner

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
