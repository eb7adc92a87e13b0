"""Real processes on the Deployment Engine: a late node, one that never proves, one that dies.

The server waits (its ``node-wait-timeout`` setting, 600 s by default) for enough staked
participants before round 1; a participant that connects 90 s late is still admitted, a
node without a stake is never sampled, and a node killed while it trains only costs the
round its update; every round with enough inputs is recorded, and the run ends with a
summary.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fl_app.deployment import RUN_TIMEOUT_S
from fl_app.errors import FlAppError
from tests.deployment_fixtures import StakedDeployment

pytestmark = pytest.mark.slow

LATE_S = 90.0
"""How late the last participant connects (the issue's scenario)."""


def _node_groups(workdir: Path) -> set[int]:
    """Process groups of the node whose Flower home is in ``workdir`` (SuperNode, SuperExec)."""
    groups = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
            if f"FLWR_HOME={workdir}" in environ:
                groups.add(os.getpgid(int(pid)))
        except OSError:
            continue
    return groups


def _kill_when_training(workdir: Path, server_round: int, timeout_s: float) -> bool:
    """Kill the node once its SuperNode has received the train message of ``server_round``."""
    log = workdir / "supernode.log"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.is_file() else ""
        if text.count("Receiving: train message") >= server_round:
            groups = _node_groups(workdir)
            for group in groups:
                os.killpg(group, signal.SIGKILL)
            if groups:
                return True
        time.sleep(0.2)  # the SuperNode's log is the only signal of a received message
    return False


def test_late_unproven_and_dying_nodes_leave_every_round_with_enough_inputs_recorded(
    staked_deployment: Callable[..., StakedDeployment],
) -> None:
    run = staked_deployment(task_id=12, rounds=3)
    client, ipfs, task, members = run.client, run.ipfs, run.task, run.members
    outcome: dict[int, int | str] = {}
    late = 2  # connects 90 s late, then is killed while it trains in round 2

    def take_part(index: int) -> None:
        if index == late:
            time.sleep(LATE_S)  # the scenario: this participant connects 90 s late
        # The key holder (node 0) decrypts sums over two or more updates.
        extra = {"ckks-min-inputs": 2} if index == 0 else {}
        try:
            outcome[index] = run.run_participant(index, **extra).rounds_recorded
        except FlAppError as err:
            outcome[index] = str(err)

    threads = [threading.Thread(target=take_part, args=(i,)) for i in range(4)]
    killed: list[bool] = []
    killer = threading.Thread(
        target=lambda: killed.append(
            _kill_when_training(run.workdir_of(late), 2, timeout_s=RUN_TIMEOUT_S)
        )
    )
    for thread in (*threads, killer):
        thread.start()
    started = time.monotonic()
    log = run.run_server({"num-server-rounds": 3, "min-nodes": 3, "ckks-min-inputs": 2})
    elapsed = time.monotonic() - started
    for thread in (*threads, killer):
        thread.join()  # each participant run ends by its own timeout

    assert killed == [True]
    assert elapsed > LATE_S  # round 1 waited for the late participant
    assert f"wallet {members[3].pubkey()} has no stake on task {task}" in log
    # Round 1 had all three stakers; round 2 kept the two updates that arrived;
    # round 3 had two proven stakers, fewer than min-nodes, and was skipped.
    assert client.task(task).rounds_recorded == 2
    assert "round 3 was skipped: 2 staked node(s) proved, 3 needed" in log
    assert "run summary: 2 of 3 round(s) aggregated, 1 skipped" in log
    contributors = [
        set(json.loads(ipfs.cat(client.round(task, i).manifest_cid))["contributors"])
        for i in range(2)
    ]
    assert contributors == [
        {str(m.pubkey()) for m in members[:3]},
        {str(m.pubkey()) for m in members[:2]},
    ]
    assert isinstance(outcome[late], str) and "exited with code" in outcome[late]
    for index in (0, 1, 3):  # they stop when the organisation's SuperLink goes away
        assert isinstance(outcome[index], str)
        assert "stopped answering with 2 of 3 round(s) recorded" in outcome[index]
    print(f"run with a {LATE_S:.0f} s late participant took {elapsed:.0f} s")
