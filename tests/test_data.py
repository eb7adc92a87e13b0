"""Bundled data sets, participants' CSV files, the organisation's split and partitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fl_app.errors import DataError
from fl_app.ml import load_csv, load_dataset, load_partition, org_split


def test_bundled_data_sets_load_without_network() -> None:
    cancer, digits = load_dataset("breast_cancer"), load_dataset("digits")
    assert cancer.x.shape == (569, 30) and cancer.num_classes == 2
    assert digits.x.shape == (1797, 64) and digits.num_classes == 10


def test_org_split_is_disjoint_stratified_and_reproducible() -> None:
    split = org_split("digits", 7)
    sizes = len(split.reference) + len(split.test) + len(split.pool)
    assert sizes == len(load_dataset("digits"))
    rows = [tuple(r) for part in (split.reference, split.test, split.pool) for r in part.x]
    assert len(set(rows)) == len(set(map(tuple, load_dataset("digits").x)))
    assert all(np.bincount(split.test.y, minlength=10) >= 30)
    assert np.array_equal(org_split.__wrapped__("digits", 7).test.y, split.test.y)


@pytest.mark.parametrize("partitioning", ["iid", "dirichlet"])
def test_partitions_cover_the_pool_without_overlap(partitioning: str) -> None:
    parts = [
        load_partition(
            "breast_cancer", seed=3, partition_id=i, num_partitions=10, partitioning=partitioning
        )
        for i in range(10)
    ]
    pool = org_split("breast_cancer", 3).pool
    assert sum(len(p) for p in parts) == len(pool)
    rows = {tuple(r) for p in parts for r in p.x}
    assert len(rows) == len({tuple(r) for r in pool.x})


def test_dirichlet_partitions_skew_labels_more_than_iid() -> None:
    def label_spread(partitioning: str) -> float:
        shares = [
            np.bincount(
                load_partition(
                    "digits", seed=1, partition_id=i, num_partitions=10, partitioning=partitioning
                ).y,
                minlength=10,
            )
            for i in range(10)
        ]
        fractions = np.array([s / s.sum() for s in shares])
        return float(fractions.std(axis=0).mean())

    assert label_spread("dirichlet") > 3 * label_spread("iid")


def test_same_seed_gives_same_partition_and_other_seed_differs() -> None:
    first = load_partition("digits", seed=5, partition_id=2, num_partitions=10)
    again = load_partition("digits", seed=5, partition_id=2, num_partitions=10)
    other = load_partition("digits", seed=6, partition_id=2, num_partitions=10)
    assert np.array_equal(first.y, again.y)
    assert len(first) != len(other) or not np.array_equal(first.y, other.y)


def test_csv_with_numeric_columns_loads(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("a,b,outcome\n0.5,1,0\n1.5,2,1\n2.5,3,1\n")
    data = load_csv(path, "outcome")
    assert data.x.shape == (3, 2) and data.y.tolist() == [0, 1, 1] and data.num_classes == 2


@pytest.mark.parametrize(
    ("content", "target", "message"),
    [
        ("a,b,y\n1,2,0\n", "label", "has no target column 'label'; columns are: a, b, y"),
        ("a,b,y\n1,x,0\n2,3,1\n", "y", "non-numeric column(s): b"),
        ("", "y", "is empty"),
        ("a,b,y\n", "y", "has a header but no rows"),
        ("a,b,y\n1,,0\n2,3,1\n", "y", "missing values in column(s): b"),
        ("a,y\n1,0.5\n2,1\n", "y", "must hold integer labels"),
    ],
)
def test_bad_csv_gives_one_line_error(
    tmp_path: Path, content: str, target: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataError) as info:
        load_csv(path, target)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_csv_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_csv(tmp_path / "nope.csv", "y")
