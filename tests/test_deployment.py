"""The Deployment Engine: real SuperLink and SuperNode processes finish a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from fl_app.deployment import local_deployment

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parents[1]


def test_superlink_and_three_supernodes_finish_three_rounds(tmp_path: Path) -> None:
    nodes = [{"partition-id": i, "num-partitions": 3} for i in range(3)]
    with local_deployment(nodes, workdir=tmp_path) as deployment:
        assert all(proc.poll() is None for proc in deployment.processes)
        log = deployment.run(PROJECT, {"num-server-rounds": 3, "min-nodes": 3}, timeout=420)
    assert "round 3: test accuracy" in log
    assert "configure_train: Sampled 3 nodes" in log
    assert all(proc.poll() is not None for proc in deployment.processes)
