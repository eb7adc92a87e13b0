"""The quickstart app runs on Flower's Simulation Engine with ckks_mod + EncryptedFedAvg."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from flwr.serverapp.strategy import Result
from flwr.simulation import run_simulation
from quickstart_encrypted.client_app import app as client_app
from quickstart_encrypted.make_keys import make_keys
from quickstart_encrypted.server_app import make_server_app
from quickstart_encrypted.task import TRUE_WEIGHTS

from tests.conftest import QUICKSTART_APP_DIR


@pytest.mark.slow
def test_simulation_trains_with_encrypted_aggregation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(QUICKSTART_APP_DIR), os.environ.get("PYTHONPATH", "")])
    )
    make_keys(tmp_path)
    # The Simulation Engine gives nodes no config of their own: the key holder's files
    # are named in the environment, for partition 0.
    monkeypatch.setenv("CKKS_SEALED_SECRET", str(tmp_path / "secret_context.sealed"))
    monkeypatch.setenv("CKKS_WALLET_KEYPAIR", str(tmp_path / "key_holder.json"))
    results: list[Result] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        run_simulation(
            server_app=make_server_app(tmp_path, num_rounds=3, on_result=results.append),
            client_app=client_app,
            num_supernodes=4,
            backend_config={
                "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
                "init_args": {"logging_level": "ERROR", "log_to_driver": False},
            },
        )
    assert len(results) == 1
    result = results[0]
    assert sorted(result.train_metrics_clientapp) == [1, 2, 3]
    mses = [result.evaluate_metrics_clientapp[r]["mse"] for r in (1, 2, 3)]
    assert mses[2] < mses[0]
    weights = result.arrays["weight"].numpy()
    assert np.corrcoef(weights, TRUE_WEIGHTS)[0, 1] > 0.9
