"""A staked task on the Deployment Engine: SuperLink, SuperNodes and the chain as services.

The ServerApp runs in its own process and reaches the chain over JSON-RPC (the embedded
chain served on loopback) and IPFS over Kubo's RPC, as an organisation on a cluster does;
each participant's node runs only the bundle whose SHA-256 the task's CID carries.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest
from solders.keypair import Keypair

from fl_app.chain import RpcTransport, StakingClient
from fl_app.chain.local_rpc import LocalChainServer
from fl_app.client.launch import ParticipantRun, run_participant
from fl_app.deployment import free_port
from fl_app.ipfs import KuboDaemon, bundle_sha256, pack_bundle
from fl_app.keys import KeyFiles
from fl_app.roles import Organisation, Participant, TaskPlan
from fl_app.server.launch import run_task_server
from strategy import Wallet

pytestmark = pytest.mark.slow

TEMPLATE = Path(__file__).resolve().parents[1] / "client_template"
SOL = 1_000_000_000


def _keypair_file(keypair: Keypair, path: Path) -> Path:
    path.write_text(json.dumps(list(bytes(keypair))))
    return path


def test_staked_task_runs_on_superlink_and_records_every_round(
    tmp_path: Path, kubo_daemon: KuboDaemon
) -> None:
    with LocalChainServer(port=0) as chain, kubo_daemon.client() as ipfs:
        transport = RpcTransport(chain.url)
        client = StakingClient(transport)
        authority = Keypair()
        members = [Keypair() for _ in range(4)]
        for keypair in (authority, *members):
            transport.airdrop(keypair.pubkey(), 20 * SOL)
        keys = KeyFiles.create(
            tmp_path / "keys", wallet=Wallet.from_keypair_bytes(bytes(members[0]))
        )
        task = Organisation(client, ipfs, authority).create_task(
            TaskPlan(task_id=11, reward_pool=4 * SOL, min_stake=SOL, max_participants=4, rounds=2),
            key_holder=members[0].pubkey(),
            public_context=keys.public_context.read_bytes(),
            template_dir=TEMPLATE,
        )
        for member in members[:3]:  # the fourth node never stakes
            Participant(client, member).stake(task, SOL)

        port = free_port()
        runs: dict[int, ParticipantRun] = {}

        def take_part(index: int) -> None:
            node: dict[str, object] = {
                "partition-id": index,
                "num-partitions": 4,
                "wallet-keypair": str(_keypair_file(members[index], tmp_path / f"n{index}.json")),
            }
            if index == 0:
                node.update(keys.key_holder_node_config())
            runs[index] = run_participant(
                client=StakingClient(RpcTransport(chain.url)),
                task=task,
                source=ipfs,
                superlink=f"127.0.0.1:{port}",
                node_config=node,
                workdir=tmp_path / f"participant-{index}",
                timeout_s=600,
            )

        threads = [threading.Thread(target=take_part, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        log = run_task_server(
            task=str(task),
            chain_url=chain.url,
            ipfs_api=kubo_daemon.api_url,
            authority_keypair=_keypair_file(authority, tmp_path / "org.json"),
            port=port,
            workdir=tmp_path / "server",
            run_config={"num-server-rounds": 2, "min-nodes": 3},
            timeout_s=600,
        )
        for thread in threads:
            thread.join(timeout=120)
        assert [runs[i].rounds_recorded for i in range(4)] == [2, 2, 2, 2]

        # The honest bundle trained; it is the one the chain records and Kubo holds.
        bundle = pack_bundle(TEMPLATE)
        on_chain = client.task(task).template_cid
        assert bundle_sha256(on_chain) == hashlib.sha256(bundle).hexdigest()
        assert ipfs.add_bytes(bundle, check_cid=False) == on_chain
        for index in range(4):
            node_log = (tmp_path / f"participant-{index}" / "supernode.log").read_text()
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
