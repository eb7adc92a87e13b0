"""Participants' own tabular data: CSV files of numeric features and an integer label.

Kept free of torch and the data-set libraries so that ``fl-app data check`` answers fast.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fl_app.errors import DataError

__all__ = ["TabularData", "load_csv", "load_features"]


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
        non-numeric, missing or infinite values, labels out of range, or a single class.
    """
    path = Path(path)
    header, numeric = _numeric_columns(path, required=target)
    labels = numeric[target]
    if not np.all(np.equal(np.mod(labels, 1), 0)) or labels.min() < 0:
        raise DataError(f"CSV file {path}: target {target!r} must hold integer labels from 0")
    y = labels.astype(np.int64)
    present = np.unique(y)
    if len(present) < 2:
        raise DataError(
            f"CSV file {path}: target {target!r} holds the single class {int(present[0])}; "
            "training needs examples of at least two classes"
        )
    classes = num_classes if num_classes is not None else int(y.max()) + 1
    if y.max() >= classes:
        raise DataError(
            f"CSV file {path}: label {int(y.max())} is outside the task's {classes} classes"
        )
    features = [numeric[name] for name in header if name != target]
    x = np.stack(features, axis=1) if features else np.empty((len(y), 0))
    return TabularData(x.astype(np.float32), y, classes)


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
        As :func:`load_csv` for the file and its values, and when ``drop`` names no column.
    """
    path = Path(path)
    header, numeric = _numeric_columns(path, required=drop)
    features = [numeric[name] for name in header if name != drop]
    rows = len(next(iter(numeric.values())))
    x = np.stack(features, axis=1) if features else np.empty((rows, 0))
    return x.astype(np.float32)


def _numeric_columns(
    path: Path, *, required: str | None
) -> tuple[list[str], dict[str, np.ndarray]]:
    """The header and every column as numbers; one-line errors for anything else."""
    if not path.is_file():
        raise DataError(f"CSV file {path} does not exist")
    header, columns = _read_columns(path)
    if required is not None and required not in header:
        raise DataError(
            f"CSV file {path} has no target column {required!r}; columns are: {', '.join(header)}"
        )
    values = {name: _numbers(column) for name, column in zip(header, columns, strict=True)}
    non_numeric = [name for name, column in values.items() if column is None]
    if non_numeric:
        raise DataError(f"CSV file {path} has non-numeric column(s): {', '.join(non_numeric)}")
    numeric = {name: column for name, column in values.items() if column is not None}
    missing = [name for name, column in numeric.items() if np.isnan(column).any()]
    if missing:
        raise DataError(f"CSV file {path} has missing values in column(s): {', '.join(missing)}")
    infinite = [name for name, column in numeric.items() if np.isinf(column).any()]
    if infinite:
        raise DataError(f"CSV file {path} has infinite values in column(s): {', '.join(infinite)}")
    return header, numeric


# Spellings of a missing value, as pandas reads them.
_MISSING = frozenset({"", "na", "nan", "n/a", "null", "none", "-nan", "#n/a"})


def _read_columns(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and the columns of a CSV file, as text; one-line errors otherwise."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"CSV file {path} cannot be parsed: {exc}") from None
    rows = [row for row in rows if row]
    if not rows:
        raise DataError(f"CSV file {path} is empty")
    header = [name.strip() for name in rows[0]]
    if len(rows) == 1:
        raise DataError(f"CSV file {path} has a header but no rows")
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(
                f"CSV file {path} cannot be parsed: line {number} has {len(row)} fields, "
                f"the header {len(header)}"
            )
    return header, [list(column) for column in zip(*rows[1:], strict=True)]


def _numbers(column: list[str]) -> np.ndarray | None:
    """The column as float64 (NaN where missing), or None if a value is not a number."""
    out = np.empty(len(column), dtype=np.float64)
    for index, text in enumerate(column):
        text = text.strip()
        if text.lower() in _MISSING:
            out[index] = np.nan
            continue
        try:
            out[index] = float(text)
        except ValueError:
            return None
    return out
