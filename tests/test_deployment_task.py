"""A staked task on the Deployment Engine: SuperLink, SuperNodes and the chain as services.

The ServerApp runs in its own process and reaches the chain over JSON-RPC (the embedded
chain served on loopback) and IPFS over Kubo's RPC, as an organisation on a cluster does;
each participant's node runs only the bundle whose SHA-256 the task's CID carries.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable

import pytest

from fl_app.client.launch import ParticipantRun
from fl_app.ipfs import bundle_sha256, pack_bundle
from tests.deployment_fixtures import TEMPLATE, StakedDeployment

pytestmark = pytest.mark.slow


def test_staked_task_runs_on_superlink_and_records_every_round(
    staked_deployment: Callable[..., StakedDeployment],
) -> None:
    run = staked_deployment(task_id=11, rounds=2)
    client, ipfs, task, members = run.client, run.ipfs, run.task, run.members
    runs: dict[int, ParticipantRun] = {}

    def take_part(index: int) -> None:
        runs[index] = run.run_participant(index)

    threads = [threading.Thread(target=take_part, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    log = run.run_server({"num-server-rounds": 2, "min-nodes": 3})
    for thread in threads:
        thread.join()  # each participant run ends by its own timeout
    assert [runs[i].rounds_recorded for i in range(4)] == [2, 2, 2, 2]

    # The honest bundle trained; it is the one the chain records and Kubo holds.
    bundle = pack_bundle(TEMPLATE)
    on_chain = client.task(task).template_cid
    assert bundle_sha256(on_chain) == hashlib.sha256(bundle).hexdigest()
    assert ipfs.add_bytes(bundle, check_cid=False) == on_chain
    for index in range(4):
        node_log = (run.workdir_of(index) / "supernode.log").read_text()
        assert "fl-app: bundle refused" not in node_log
        assert "fl-app: run refused" not in node_log

    assert "stake gate: 3 of 4 nodes proved an active stake" in log
    assert client.task(task).rounds_recorded == 2
    staked = {str(m.pubkey()) for m in members[:3]}
    for index in range(2):
        manifest = json.loads(ipfs.cat(client.round(task, index).manifest_cid))
        assert set(manifest["contributors"]) == staked
        assert set(manifest["scoring"]["scalars"]) == staked
        assert ipfs.cat(manifest["scoring"]["reference_update_cid"])
    stake = client.stake(task, members[1].pubkey())
    assert stake is not None and stake.rounds_contributed == 2
