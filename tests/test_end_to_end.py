"""A whole task, end to end: stake-gated encrypted rounds, scores, settlement, claims."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from statistics import mean

import pytest

from fl_app.chain import EmbeddedTransport, StakingClient
from fl_app.client.behaviour import Behaviour
from fl_app.demo import DemoOptions, DemoResult, run_demo
from fl_app.ipfs import KuboDaemon, bundle_sha256, pack_bundle
from fl_app.report import write_demo_report
from tests.ipfs_fixtures import TEMPLATE_DIR

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(kubo_daemon: KuboDaemon) -> tuple[DemoResult, EmbeddedTransport]:
    transport = EmbeddedTransport()
    result = run_demo(
        # The task stays open after the claims, so the tests can read its records.
        DemoOptions(participants=6, rounds=3, close_task=False),
        daemon=kubo_daemon,
        transport=transport,
    )
    return result, transport


def test_every_lamport_is_accounted_for(demo: tuple[DemoResult, EmbeddedTransport]) -> None:
    result, transport = demo
    client = StakingClient(transport, program_id=transport.program_id)
    account = transport.get_account(result.task)
    assert account is not None
    rent = transport.minimum_balance_for_rent_exemption(len(account.data))
    assert result.vault_after == rent
    assert result.lamports_in == result.lamports_out + result.vault_after
    task = client.task(result.task)
    assert task.reward_pool == 0 and task.stake_held == 0


def test_every_manifest_on_chain_resolves_on_the_daemon(
    demo: tuple[DemoResult, EmbeddedTransport], kubo_daemon: KuboDaemon
) -> None:
    result, transport = demo
    client = StakingClient(transport, program_id=transport.program_id)
    assert client.task(result.task).rounds_recorded == 3
    with kubo_daemon.client() as ipfs:
        for index in range(3):
            cid = client.round(result.task, index).manifest_cid
            assert cid == result.manifest_cids[index]
            manifest = json.loads(ipfs.cat(cid))
            assert manifest["round"] == index + 1
            assert len(manifest["contributors"]) == 6
            assert ipfs.cat(manifest["model_cid"])


def test_adversaries_earn_less_than_honest_participants(
    demo: tuple[DemoResult, EmbeddedTransport],
) -> None:
    result, _ = demo
    honest = [o.reward for o in result.outcomes if o.behaviour is Behaviour.HONEST]
    (free_rider,) = [o for o in result.outcomes if o.behaviour is Behaviour.FREE_RIDER]
    (flipper,) = [o for o in result.outcomes if o.behaviour is Behaviour.LABEL_FLIPPER]
    assert free_rider.reward <= 0.05 * mean(honest)
    assert flipper.reward < min(honest)
    assert all(o.stake_returned == 1_000_000_000 for o in result.outcomes)
    assert all(o.received == o.reward + o.stake_returned for o in result.outcomes)


def test_report_has_tables_and_figures(
    demo: tuple[DemoResult, EmbeddedTransport], tmp_path: Path
) -> None:
    result, _ = demo
    report = write_demo_report(result, tmp_path)
    text = report.read_text()
    for cid in result.manifest_cids:
        assert cid in text
    for figure in ("accuracy.png", "bytes.png", "rewards.png"):
        assert f"({figure})" in text
        assert (tmp_path / figure).read_bytes().startswith(b"\x89PNG")
    assert all(len(r.ciphertext_bytes) == 6 for r in result.report.rounds[1:])


def test_demo_trains_with_the_bundle_whose_hash_is_on_chain(
    demo: tuple[DemoResult, EmbeddedTransport],
) -> None:
    result, transport = demo
    client = StakingClient(transport, program_id=transport.program_id)
    on_chain = bundle_sha256(client.task(result.task).template_cid)
    assert result.bundle_sha256 == on_chain == hashlib.sha256(pack_bundle(TEMPLATE_DIR)).hexdigest()
