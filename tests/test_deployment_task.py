"""A staked task on the Deployment Engine: SuperLink, SuperNodes and the chain as services.

The ServerApp runs in its own process and reaches the chain over JSON-RPC (the embedded
chain served on loopback) and IPFS over Kubo's RPC, as an organisation on a cluster does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from solders.keypair import Keypair

from fl_app.chain import RpcTransport, StakingClient
from fl_app.chain.local_rpc import LocalChainServer
from fl_app.deployment import local_deployment
from fl_app.ipfs import KuboDaemon
from fl_app.keys import KeyFiles
from fl_app.roles import Organisation, Participant, TaskPlan
from strategy import Wallet

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parents[1]
TEMPLATE = PROJECT / "client_template"
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

        nodes: list[dict[str, object]] = [
            {
                "partition-id": i,
                "num-partitions": 4,
                "wallet-keypair": str(_keypair_file(member, tmp_path / f"node-{i}.json")),
            }
            for i, member in enumerate(members)
        ]
        nodes[0].update(keys.key_holder_node_config())
        run_config = {
            "num-server-rounds": 2,
            "min-nodes": 3,
            "task-address": str(task),
            "chain-url": chain.url,
            "ipfs-api": kubo_daemon.api_url,
            "authority-keypair": str(_keypair_file(authority, tmp_path / "org.json")),
        }
        with local_deployment(nodes, workdir=tmp_path / "flower") as deployment:
            log = deployment.run(PROJECT, run_config, timeout=600)

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
