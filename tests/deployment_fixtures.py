"""Shared set-up of the Deployment Engine tests: a staked task on a served chain and Kubo.

``staked_deployment`` creates the task (four wallets, the first holds the CKKS key, the
first three stake) and runs participants and the organisation's server as real processes,
the way ``fl-app client run`` and ``fl-app server start`` do.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from fl_app.chain import RpcTransport, StakingClient
from fl_app.chain.local_rpc import LocalChainServer
from fl_app.client.launch import ParticipantRun, run_participant
from fl_app.client.template import TEMPLATE_DIR
from fl_app.deployment import free_port
from fl_app.ipfs import IpfsClient, KuboDaemon
from fl_app.keys import KeyFiles
from fl_app.roles import Organisation, Participant, TaskPlan
from fl_app.server.launch import run_task_server
from strategy import Wallet

__all__ = ["TEMPLATE", "StakedDeployment", "staked_deployment"]

TEMPLATE = TEMPLATE_DIR
SOL = 1_000_000_000
MEMBERS = 4
STAKERS = 3
"""The first three members stake; the fourth never does."""


def keypair_file(keypair: Keypair, path: Path) -> Path:
    """Write ``keypair`` as a Solana CLI keypair file."""
    path.write_text(json.dumps(list(bytes(keypair))))
    return path


@dataclass(frozen=True)
class StakedDeployment:
    """A created and staked task, and the services its processes reach."""

    chain_url: str
    kubo: KuboDaemon
    ipfs: IpfsClient
    client: StakingClient
    task: Pubkey
    authority: Keypair
    members: list[Keypair]
    keys: KeyFiles
    workdir: Path
    port: int

    def workdir_of(self, index: int) -> Path:
        """Work directory of participant ``index``."""
        return self.workdir / f"participant-{index}"

    def run_participant(self, index: int, **node_config: Any) -> ParticipantRun:
        """Run participant ``index`` to the end of the task (member 0 holds the key)."""
        wallet = keypair_file(self.members[index], self.workdir / f"n{index}.json")
        node: dict[str, Any] = {
            "partition-id": index,
            "num-partitions": MEMBERS,
            "wallet-keypair": str(wallet),
        }
        if index == 0:
            node.update(self.keys.key_holder_node_config())
        node.update(node_config)
        return run_participant(
            client=StakingClient(RpcTransport(self.chain_url)),
            task=self.task,
            source=self.ipfs,
            superlink=f"127.0.0.1:{self.port}",
            node_config=node,
            workdir=self.workdir_of(index),
        )

    def run_server(self, run_config: Mapping[str, Any]) -> str:
        """Run the organisation's SuperLink and ServerApp to the end; return its log."""
        return run_task_server(
            task=str(self.task),
            chain_url=self.chain_url,
            ipfs_api=self.kubo.api_url,
            authority_keypair=keypair_file(self.authority, self.workdir / "org.json"),
            port=self.port,
            workdir=self.workdir / "server",
            run_config=run_config,
        )


@pytest.fixture
def staked_deployment(
    tmp_path: Path, kubo_daemon: KuboDaemon
) -> Iterator[Callable[..., StakedDeployment]]:
    """A factory: ``staked_deployment(task_id=..., rounds=...)`` -> a staked task."""
    with ExitStack() as stack:
        chain = stack.enter_context(LocalChainServer(port=0))
        ipfs = stack.enter_context(kubo_daemon.client())

        def create(*, task_id: int, rounds: int) -> StakedDeployment:
            transport = RpcTransport(chain.url)
            client = StakingClient(transport)
            authority = Keypair()
            members = [Keypair() for _ in range(MEMBERS)]
            for keypair in (authority, *members):
                transport.airdrop(keypair.pubkey(), 20 * SOL)
            keys = KeyFiles.create(
                tmp_path / "keys", wallet=Wallet.from_keypair_bytes(bytes(members[0]))
            )
            task = Organisation(client, ipfs, authority).create_task(
                TaskPlan(
                    task_id=task_id,
                    reward_pool=4 * SOL,
                    min_stake=SOL,
                    max_participants=MEMBERS,
                    rounds=rounds,
                ),
                key_holder=members[0].pubkey(),
                public_context=keys.public_context.read_bytes(),
                template_dir=TEMPLATE,
            )
            for member in members[:STAKERS]:
                Participant(client, member).stake(task, SOL)
            return StakedDeployment(
                chain_url=chain.url,
                kubo=kubo_daemon,
                ipfs=ipfs,
                client=client,
                task=task,
                authority=authority,
                members=members,
                keys=keys,
                workdir=tmp_path,
                port=free_port(),
            )

        yield create
