"""``fl-app predict``: a task's pinned model classifies a participant's CSV file.

The model arrives from IPFS by CID, so it is the organisation's to choose: its bytes must
hash to the CID, and a checkpoint that carries code instead of tensors is refused before
anything in it runs.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from fl_app.ipfs.rpc import IpfsClient
from fl_app.ml import build_model, evaluate, load_dataset, train
from fl_app.ml.predict import ModelFileError, load_model, predict
from tests.cli_fixtures import FlApp


@pytest.fixture(scope="module")
def trained() -> tuple[torch.nn.Module, pd.DataFrame]:
    """A model trained for two epochs on breast cancer, and that data as a CSV table."""
    data = load_dataset("breast_cancer")
    model = build_model(data, hidden_units=16, seed=0)
    train(model, data, epochs=2, batch_size=32, learning_rate=0.05, seed=0)
    frame = pd.DataFrame(data.x, columns=[f"f{i}" for i in range(data.x.shape[1])])
    frame["label"] = data.y
    return model, frame


def _checkpoint(model: torch.nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


def test_predict_matches_the_models_own_evaluation(
    trained: tuple[torch.nn.Module, pd.DataFrame],
    ipfs_client: IpfsClient,
    fl_app: FlApp,
    tmp_path: Path,
) -> None:
    model, frame = trained
    cid = ipfs_client.add_bytes(_checkpoint(model), name="model.pt")
    labelled = tmp_path / "labelled.csv"
    frame.to_csv(labelled, index=False)
    expected = evaluate(model, load_dataset("breast_cancer")).accuracy

    run = fl_app(
        "predict", "--model", cid, "--data", str(labelled), "--target", "label",
        "--out", str(tmp_path / "out" / "predictions.csv"),
        "--ipfs", ipfs_client.api_url, "--json",
    )  # fmt: skip

    assert run.code == 0, run.stderr
    assert run.json()["accuracy"] == pytest.approx(expected)
    written = pd.read_csv(tmp_path / "out" / "predictions.csv")
    assert list(written.columns) == ["prediction", "p_0", "p_1"]
    assert len(written) == len(frame)
    assert np.allclose(written[["p_0", "p_1"]].sum(axis=1), 1.0, atol=1e-5)


def test_predict_without_labels_prints_one_row_per_input(
    trained: tuple[torch.nn.Module, pd.DataFrame],
    ipfs_client: IpfsClient,
    fl_app: FlApp,
    tmp_path: Path,
) -> None:
    model, frame = trained
    cid = ipfs_client.add_bytes(_checkpoint(model), name="model.pt")
    unlabelled = tmp_path / "rows.csv"
    frame.drop(columns=["label"]).head(7).to_csv(unlabelled, index=False)

    run = fl_app(
        "predict", "--model", cid, "--data", str(unlabelled), "--ipfs", ipfs_client.api_url
    )

    assert run.code == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[0] == "prediction,p_0,p_1"
    assert len(lines) == 8


def test_a_checkpoint_carrying_code_is_refused_before_it_runs(
    ipfs_client: IpfsClient, fl_app: FlApp, tmp_path: Path
) -> None:
    # The organisation pins a pickle whose loading would create a file on the user's disk.
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (Path.touch, (str(marker),))  # type: ignore[return-value]

    cid = ipfs_client.add_bytes(pickle.dumps({"hidden.weight": Payload()}), name="model.pt")
    rows = tmp_path / "rows.csv"
    pd.DataFrame({"a": [1.0], "b": [2.0]}).to_csv(rows, index=False)

    run = fl_app("predict", "--model", cid, "--data", str(rows), "--ipfs", ipfs_client.api_url)

    assert run.code == 2
    assert run.error.startswith(f"model {cid} is not a model checkpoint: it holds more than")
    assert not marker.exists()


def test_bad_input_is_refused_before_ipfs_is_asked(fl_app: FlApp, tmp_path: Path) -> None:
    # No daemon listens on this port: each error below must come before any request.
    offline = "http://127.0.0.1:9"
    rows = tmp_path / "rows.csv"
    pd.DataFrame({"a": [1.0], "b": ["x"]}).to_csv(rows, index=False)
    good_cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"

    missing = fl_app("predict", "--model", good_cid, "--data", "nope.csv", "--ipfs", offline)
    text = fl_app("predict", "--model", good_cid, "--data", str(rows), "--ipfs", offline)
    pd.DataFrame({"a": [1.0]}).to_csv(rows, index=False)
    bad_cid = fl_app("predict", "--model", "not-a-cid", "--data", str(rows), "--ipfs", offline)

    assert (missing.code, missing.error) == (2, "CSV file nope.csv does not exist")
    assert text.error == f"CSV file {rows} has non-numeric column(s): b"
    assert bad_cid.code == 2 and "not-a-cid" in bad_cid.error


def test_rows_of_the_wrong_width_are_refused(trained: tuple[torch.nn.Module, pd.DataFrame]) -> None:
    model, _ = trained
    loaded = load_model(_checkpoint(model))

    with pytest.raises(ModelFileError, match="has 3 feature column"):
        predict(loaded, np.zeros((2, 3), dtype=np.float32))


def test_a_state_dict_of_another_model_is_refused() -> None:
    buffer = io.BytesIO()
    torch.save({"weight": torch.zeros(2, 2)}, buffer)

    with pytest.raises(ModelFileError, match="not a checkpoint of this model"):
        load_model(buffer.getvalue())
