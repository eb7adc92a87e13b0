"""``fl-app data check``: a participant's own data file."""

from __future__ import annotations

import argparse

from fl_app.commands.command_parser import add_command
from fl_app.commands.output import Output

__all__ = ["register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``data`` and its subcommands."""
    data = commands.add_parser("data", help="participants' data files")
    group = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")
    check = add_command(
        group,
        "check",
        _check,
        help="check that a CSV file can be used for training",
        description="Check that a CSV file has a header, numeric columns, no missing values "
        "and integer class labels in the target column.",
    )
    check.add_argument("path", help="CSV file with a header row")
    check.add_argument("--target", required=True, help="name of the label column")


def _check(args: argparse.Namespace, out: Output) -> int:
    from fl_app.ml.tabular import load_csv

    data = load_csv(args.path, args.target)
    labels = sorted(int(c) for c in set(data.y.tolist()))
    out.result(
        {
            "path": str(args.path),
            "rows": len(data),
            "features": int(data.x.shape[1]),
            "classes": data.num_classes,
            "labels": labels,
        },
        text=(
            f"{args.path}: {len(data)} rows, {data.x.shape[1]} features, {data.num_classes} "
            f"classes (labels: {', '.join(str(c) for c in labels)})"
        ),
        quiet=str(len(data)),
    )
    return 0
