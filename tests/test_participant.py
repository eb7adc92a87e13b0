"""A participant checks the client template against the CID the task holds on chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from fl_app.chain import EmbeddedTransport, StakingClient
from fl_app.ipfs import CidMismatchError, IpfsClient, pack_bundle
from fl_app.keys import KeyFiles
from fl_app.roles import Organisation, Participant, TaskPlan

SOL = 1_000_000_000


class TamperedMirror:
    """Serves a template bundle whatever CID is asked for (a mirror gone bad)."""

    def __init__(self, bundle: bytes) -> None:
        self.bundle = bundle

    def cat(self, cid: str, *, max_bytes: int | None = None) -> bytes:
        return self.bundle


@pytest.fixture
def task_on_chain(
    ipfs_client: IpfsClient, template_copy: Path, tmp_path: Path
) -> tuple[StakingClient, Participant, Pubkey]:
    transport = EmbeddedTransport()
    client = StakingClient(transport, program_id=transport.program_id)
    authority, member = Keypair(), Keypair()
    for keypair in (authority, member):
        transport.airdrop(keypair.pubkey(), 20 * SOL)
    participant = Participant(client, member)
    keys = KeyFiles.create(tmp_path / "keys", wallet=participant.wallet)
    task = Organisation(client, ipfs_client, authority).create_task(
        TaskPlan(task_id=3, reward_pool=SOL, min_stake=SOL, max_participants=4, rounds=2),
        key_holder=member.pubkey(),
        public_context=keys.public_context.read_bytes(),
        template_dir=template_copy,
    )
    return client, participant, task


def test_template_fetched_by_the_cid_on_chain_is_unpacked(
    task_on_chain: tuple[StakingClient, Participant, Pubkey],
    ipfs_client: IpfsClient,
    tmp_path: Path,
) -> None:
    client, participant, task = task_on_chain
    entry = participant.fetch_template(task, ipfs_client, tmp_path / "ok")
    assert entry.name == "client.py" and entry.is_file()
    assert client.task(task).he_context_cid


def test_tampered_template_is_refused_before_anything_is_written(
    task_on_chain: tuple[StakingClient, Participant, Pubkey],
    template_copy: Path,
    tmp_path: Path,
) -> None:
    client, participant, task = task_on_chain
    (template_copy / "client.py").write_text("raise SystemExit('tampered')\n")
    mirror = TamperedMirror(pack_bundle(template_copy))
    destination = tmp_path / "refused"
    with pytest.raises(CidMismatchError) as info:
        participant.fetch_template(task, mirror, destination)
    assert client.task(task).template_cid in str(info.value)
    assert not destination.exists()
