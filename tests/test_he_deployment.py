"""The quickstart app runs on Flower's Deployment Engine: a SuperLink, three SuperNodes and
``flwr run``, with its keys outside the app directory."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest
from quickstart_encrypted.make_keys import make_keys
from quickstart_encrypted.task import initial_model, load_partition, mse

from fl_app.deployment import local_deployment
from tests.conftest import QUICKSTART_APP_DIR

PARTITIONS = (0, 1, 2)


def _evaluate_metrics(log: str) -> dict[int, dict[str, str]]:
    """The per-round ClientApp-side evaluate metrics in the summary Flower logs at the end."""
    found = re.search(
        r"Aggregated ClientApp-side Evaluate Metrics:[^\n]*\n[^{\n]*(\{[^\n]*\})", log
    )
    assert found, log[-3000:]
    return ast.literal_eval(found.group(1))  # type: ignore[no-any-return]


@pytest.mark.slow
def test_quickstart_trains_with_encrypted_aggregation_on_a_superlink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "keys"
    monkeypatch.setenv("QUICKSTART_KEY_DIR", str(keys))
    make_keys(keys)
    assert (keys / "key_holder.json").stat().st_mode & 0o077 == 0  # the wallet is private
    nodes: list[dict[str, object]] = [{"partition-id": p} for p in PARTITIONS]
    nodes[0].update(
        {
            "ckks-sealed-secret": str(keys / "secret_context.sealed"),
            "wallet-keypair": str(keys / "key_holder.json"),
        }
    )

    with local_deployment(nodes, workdir=tmp_path / "deployment") as deployment:
        log = deployment.run(QUICKSTART_APP_DIR, {"num-server-rounds": 1})
    key_holder_log = (tmp_path / "deployment" / "supernode-0.log").read_text()

    assert "skipped" not in log
    assert "Key holder decrypted round 1 (weighted-sum)" in key_holder_log
    # The nodes' evaluation of the decrypted average, against the zero initial model's.
    data = [load_partition(p) for p in PARTITIONS]
    sizes = [len(y) for _, y in data]
    initial = np.average([mse(initial_model(), x, y) for x, y in data], weights=sizes)
    assert float(_evaluate_metrics(log)[1]["mse"]) < 0.8 * initial
