"""``fl-app predict``: use a task's trained model on your own data."""

from __future__ import annotations

import argparse
import csv
import io
import os
import tempfile
from pathlib import Path

from fl_app.commands.command_parser import add_command, open_ipfs
from fl_app.commands.output import Output

__all__ = ["register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``predict``."""
    predict = add_command(
        commands,
        "predict",
        _predict,
        help="classify the rows of a CSV file with a task's model",
        description="Fetch a model by its CID (the task's final model: see fl-app task "
        "status), verify that its bytes hash to the CID, and classify every row of a CSV "
        "file. The file is checked before anything is fetched.",
        ipfs=True,
    )
    predict.add_argument("--model", required=True, metavar="CID", help="the model's IPFS CID")
    predict.add_argument("--data", required=True, type=Path, metavar="CSV", help="rows to classify")
    predict.add_argument(
        "--target", help="label column of --data: left out of the features, and scored"
    )
    predict.add_argument(
        "--out", type=Path, metavar="CSV", help="write the predictions here (default: stdout)"
    )


def _predict(args: argparse.Namespace, out: Output) -> int:
    import numpy as np

    from fl_app.ipfs import Cid, fetch_verified
    from fl_app.ml import load_csv
    from fl_app.ml.predict import load_model, predict
    from fl_app.ml.tabular import load_features

    labels = None
    if args.target:
        data = load_csv(args.data, args.target)
        features, labels = data.x, data.y
    else:
        features = load_features(args.data)
    Cid.parse(args.model)
    with open_ipfs(args) as ipfs, out.progress("fetching the model"):
        checkpoint = fetch_verified(ipfs, args.model, what="model")
    model = load_model(checkpoint, what=f"model {args.model}")
    result = predict(model, features, what=str(args.data))
    table = _csv(result.labels, result.probabilities)
    if args.out is not None:
        _write_atomically(args.out, table)
    summary: dict[str, object] = {"model": args.model, "rows": len(result.labels)}
    if labels is not None:
        summary["accuracy"] = float(np.mean(result.labels == labels))
    if args.out is not None:
        summary["out"] = str(args.out)
    else:
        summary["predictions"] = result.labels.tolist()
    lines = []
    if args.out is None and out.mode == "text":
        lines.append(table.rstrip("\n"))
    if args.out is not None:
        lines.append(f"{len(result.labels)} prediction(s) written to {args.out}")
    if "accuracy" in summary:
        lines.append(f"accuracy on {args.target!r}: {summary['accuracy']:.4f}")
    out.result(summary, text=lines, quiet=str(args.out) if args.out else table.rstrip("\n"))
    return 0


def _csv(labels: object, probabilities: object) -> str:
    import numpy as np

    labels_array = np.asarray(labels)
    probabilities_array = np.asarray(probabilities)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["prediction", *(f"p_{c}" for c in range(probabilities_array.shape[1]))])
    for label, row in zip(labels_array, probabilities_array, strict=True):
        writer.writerow([int(label), *(f"{p:.6f}" for p in row)])
    return buffer.getvalue()


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that it is either whole or absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".predict-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
