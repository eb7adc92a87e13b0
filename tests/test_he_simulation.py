"""The quickstart app runs on Flower's Simulation Engine with ckks_mod + EncryptedFedAvg."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from flwr.serverapp.strategy import Result
from flwr.simulation import run_simulation

# A site-packages module named `examples` shadows the repository folder, so the example
# is imported from its parent folder, which simulation workers also get on PYTHONPATH.
EXAMPLES_DIR = str(Path(__file__).resolve().parents[1] / "examples")
sys.path.insert(0, EXAMPLES_DIR)

from quickstart_encrypted.client_app import make_client_app  # noqa: E402
from quickstart_encrypted.make_keys import make_keys  # noqa: E402
from quickstart_encrypted.server_app import make_server_app  # noqa: E402
from quickstart_encrypted.task import TRUE_WEIGHTS  # noqa: E402


@pytest.mark.slow
def test_simulation_trains_with_encrypted_aggregation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([EXAMPLES_DIR, os.environ.get("PYTHONPATH", "")])
    )
    make_keys(tmp_path)
    results: list[Result] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        run_simulation(
            server_app=make_server_app(tmp_path, num_rounds=3, on_result=results.append),
            client_app=make_client_app(tmp_path),
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
