"""The Deployment Engine: real SuperLink and SuperNode processes finish a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from fl_app.client.template import TEMPLATE_DIR
from fl_app.deployment import local_deployment
from fl_app.keys import KeyFiles

pytestmark = pytest.mark.slow


def test_superlink_and_three_supernodes_finish_three_encrypted_rounds(tmp_path: Path) -> None:
    keys = KeyFiles.create(tmp_path / "keys")
    nodes: list[dict[str, object]] = [{"partition-id": i, "num-partitions": 3} for i in range(3)]
    nodes[0].update(keys.key_holder_node_config())
    run_config = {
        "num-server-rounds": 3,
        "min-nodes": 3,
        "ckks-public-context": str(keys.public_context),
        "ckks-key-holder": keys.key_holder_address,
    }
    with local_deployment(nodes, workdir=tmp_path) as deployment:
        assert all(proc.poll() is None for proc in deployment.processes)
        log = deployment.run(TEMPLATE_DIR, run_config)
    assert "round 3: test accuracy" in log
    assert "configure_train: Sampled 3 nodes" in log
    assert "EncryptedFedAvg" in log
    assert all(proc.poll() is not None for proc in deployment.processes)
