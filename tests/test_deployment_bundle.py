"""A participant's node runs only the task's bundle, on real SuperLink and SuperNode processes.

The organisation plays the attacker: its SuperLink ships a bundle of its own whose
ClientApp would copy the participant's data to a file, or ships the honest bundle with
a run config below the participants' privacy floor. Every node refuses before any of
the bundle's code is imported, and says why in its log and in its reply to the server.
"""

from __future__ import annotations

import hashlib
import shutil
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from fl_app.client.node import verified_node
from fl_app.client.privacy_floor import NODE_CONFIG_DP_MAX_EPSILON
from fl_app.deployment import LocalDeployment, local_deployment
from fl_app.ipfs.bundle import pack_bundle
from fl_app.ipfs.template import TEMPLATE_DIR
from fl_app.keys import KeyFiles

pytestmark = pytest.mark.slow

EXFILTRATING_CLIENT = """
from pathlib import Path

from flwr.app import Context, Message, RecordDict
from flwr.clientapp import ClientApp

app = ClientApp()


@app.train()
def train(msg: Message, context: Context) -> Message:
    with Path({marker!r}).open("a") as stolen:
        stolen.write(repr(dict(context.node_config)) + "\\n")
    return Message(content=RecordDict(), reply_to=msg)
"""

ATTACKER_SERVER = """
import time
from logging import INFO

from flwr.app import ConfigRecord, Context, Message, RecordDict
from flwr.common.logger import log
from flwr.serverapp import Grid, ServerApp

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    wanted = int(context.run_config["min-nodes"])
    deadline = time.monotonic() + 120
    nodes = list(grid.get_node_ids())
    while len(nodes) < wanted and time.monotonic() < deadline:
        time.sleep(0.5)
        nodes = list(grid.get_node_ids())
    content = RecordDict({"config": ConfigRecord({"server-round": 1})})
    messages = [Message(content, dst_node_id=node, message_type="train") for node in nodes]
    for reply in grid.send_and_receive(messages, timeout=300):
        reason = reply.error.reason if reply.has_error() else "accepted"
        log(INFO, "reply of node %s: %s", reply.metadata.src_node_id, reason)
"""


def _attacker_app(tmp_path: Path, marker: Path) -> Path:
    """The task's app with the organisation's own ClientApp and ServerApp in it."""
    app = tmp_path / "attacker-app"
    shutil.copytree(TEMPLATE_DIR, app, ignore=shutil.ignore_patterns("__pycache__"))
    (app / "client.py").write_text(EXFILTRATING_CLIENT.format(marker=str(marker)))
    (app / "server.py").write_text(ATTACKER_SERVER)
    pyproject = app / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'serverapp = "fl_app.server.server_app:app"', 'serverapp = "server:app"'
        )
    )
    return app


def _sha256(app: Path) -> str:
    return hashlib.sha256(pack_bundle(app)).hexdigest()


def _run_with_nodes(
    deployment: LocalDeployment,
    tmp_path: Path,
    *,
    fab_sha256: str,
    nodes: list[dict[str, Any]],
    app: Path,
    run_config: dict[str, Any],
) -> tuple[str, list[str]]:
    """Run ``app`` on the deployment with verified nodes; the server's and nodes' logs."""
    workdirs = [tmp_path / f"node-{fab_sha256[:8]}-{i}" for i in range(len(nodes))]
    with ExitStack() as stack:
        for node_config, workdir in zip(nodes, workdirs, strict=True):
            stack.enter_context(
                verified_node(
                    fab_sha256=fab_sha256,
                    superlink=deployment.address,
                    node_config=node_config,
                    workdir=workdir,
                )
            )
        log = deployment.run(app, run_config, check=False)
    return log, [(w / "supernode.log").read_text(errors="replace") for w in workdirs]


def test_superlink_shipping_another_bundle_is_refused_on_every_participant(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "stolen-data.txt"
    attacker = _attacker_app(tmp_path, marker)
    honest, shipped = _sha256(TEMPLATE_DIR), _sha256(attacker)
    nodes: list[dict[str, Any]] = [{"partition-id": i, "num-partitions": 2} for i in range(2)]
    with local_deployment([], workdir=tmp_path / "superlink") as deployment:
        server_log, node_logs = _run_with_nodes(
            deployment,
            tmp_path,
            fab_sha256=honest,
            nodes=nodes,
            app=attacker,
            run_config={"min-nodes": 2},
        )
        refusal = f"bundle refused: expected {honest}, got {shipped}"
        for log in node_logs:
            assert f"fl-app: {refusal}" in log
        assert server_log.count(refusal) == 2
        assert not marker.exists()
        assert not list(tmp_path.glob(f"node-{honest[:8]}-*/flwr-home/apps/*"))  # not installed

        # Control: a node bound to the attacker's own hash does run it, so the missing
        # file above is the refusal's doing.
        server_log, _ = _run_with_nodes(
            deployment,
            tmp_path,
            fab_sha256=shipped,
            nodes=nodes[:1],
            app=attacker,
            run_config={"min-nodes": 1},
        )
    assert "accepted" in server_log
    assert "partition-id" in marker.read_text()


def test_run_config_below_the_privacy_floor_is_refused(tmp_path: Path) -> None:
    keys = KeyFiles.create(tmp_path / "keys", scoring=False)
    honest = _sha256(TEMPLATE_DIR)
    nodes: list[dict[str, Any]] = [
        {"partition-id": i, "num-partitions": 2, NODE_CONFIG_DP_MAX_EPSILON: 4.0} for i in range(2)
    ]
    nodes[0].update(keys.key_holder_node_config())
    base = {"num-server-rounds": 1, "min-nodes": 2, "contribution-scoring": False}
    with local_deployment([], workdir=tmp_path / "superlink") as deployment:
        plain_log, plain_nodes = _run_with_nodes(
            deployment,
            tmp_path / "plain",
            fab_sha256=honest,
            nodes=nodes,
            app=TEMPLATE_DIR,
            run_config={**base, "aggregation": "plain"},
        )
        weak_dp_log, weak_dp_nodes = _run_with_nodes(
            deployment,
            tmp_path / "weak-dp",
            fab_sha256=honest,
            nodes=nodes,
            app=TEMPLATE_DIR,
            run_config={
                **base,
                "dp-enabled": True,
                "dp-target-epsilon": 8.0,
                "ckks-decryption": "key-holder",
                "ckks-public-context": str(keys.public_context),
                "ckks-key-holder": keys.key_holder_address,
            },
        )
    plain = "run refused: run config sets aggregation='plain'"
    for log in plain_nodes:
        assert f"fl-app: {plain}" in log
    assert plain_log.count(plain) == 2  # each node's error reply, as the server logs it
    assert "Received 0 results and 2 failures" in plain_log
    for log in weak_dp_nodes:
        assert "fl-app: run refused: run config sets dp-target-epsilon=8.0" in log
    # The key holder refuses to prove itself, so the server cannot start the round.
    assert "no connected node proved it is key holder" in weak_dp_log
    assert not list(tmp_path.glob("*/node-*/flwr-home/apps/*"))  # the bundle never installed
