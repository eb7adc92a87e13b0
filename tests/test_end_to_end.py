"""A whole task, end to end: stake-gated encrypted rounds, scores, settlement, claims."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from statistics import mean
from typing import Any

import pytest
from solders.pubkey import Pubkey

from fl_app.chain import EmbeddedTransport, StakingClient, TaskAccount
from fl_app.client.behaviour import Behaviour
from fl_app.demo import DemoOptions, DemoResult, run_demo
from fl_app.errors import FlAppError
from fl_app.ipfs import KuboDaemon, bundle_sha256, pack_bundle
from fl_app.report import write_demo_report
from fl_app.roles.round_scores import RecordedRound, fetch_rounds, weights_from_rounds
from strategy import Wallet
from strategy.attestation import Attestation, attest, committee_scores_message
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


def _recorded(
    demo: tuple[DemoResult, EmbeddedTransport], kubo_daemon: KuboDaemon
) -> tuple[TaskAccount, list[RecordedRound]]:
    result, transport = demo
    client = StakingClient(transport, program_id=transport.program_id)
    task = client.task(result.task)
    with kubo_daemon.client() as ipfs:
        return task, fetch_rounds(client, ipfs, task)


def test_a_committee_drawn_from_the_stakers_decrypted_and_attested_every_round(
    demo: tuple[DemoResult, EmbeddedTransport], kubo_daemon: KuboDaemon
) -> None:
    result, _ = demo
    task, rounds = _recorded(demo, kubo_daemon)
    stakers = {Pubkey.from_string(o.address) for o in result.outcomes}
    assert task.committee_size == 5 and task.attestor_threshold == 3
    assert len(set(task.attestors)) == 5 and set(task.attestors) <= stakers
    # The organisation holds no seat and no key: the task names no key holder.
    assert task.authority not in task.attestors and task.key_holder == Pubkey.default()
    # Every participant checked, from the ciphertexts it kept, that each round's score
    # share recorded for its input is its own.
    assert result.audited_rounds == {o.address: 3 for o in result.outcomes}
    for recorded in rounds:
        committee = recorded.manifest["scoring"]["committee"]
        signers = {Attestation.from_hex(a).signer for a in committee["attestations"]}
        members = {bytes(task.attestors[m - 1]) for m in committee["decrypting"]}
        assert len(committee["decrypting"]) == 3 and signers == members


def test_scores_come_only_from_what_the_members_signed(
    demo: tuple[DemoResult, EmbeddedTransport], kubo_daemon: KuboDaemon
) -> None:
    """The organisation edits its manifests to move rewards; each edit is refused."""
    result, _ = demo
    task, rounds = _recorded(demo, kubo_daemon)
    wallets = [o.address for o in result.outcomes]
    honest = weights_from_rounds(rounds, wallets, task)
    assert honest == [o.score for o in result.outcomes]

    def tampered(edit: Callable[[dict[str, Any]], None]) -> list[RecordedRound]:
        manifest = copy.deepcopy(rounds[0].manifest)
        edit(manifest["scoring"])
        return [replace(rounds[0], manifest=manifest), *rounds[1:]]

    def raise_share(scoring: dict[str, Any]) -> None:
        scoring["committee"]["shares"][0][4] += 10**12  # one input's scalar

    def move_body(scoring: dict[str, Any]) -> None:
        bodies = scoring["committee"]["bodies"]
        bodies[0], bodies[4] = bodies[4], bodies[0]

    def fewer_members(scoring: dict[str, Any]) -> None:
        for key in ("decrypting", "shares", "attestations"):
            scoring["committee"][key] = scoring["committee"][key][:2]

    def sybil_signs(scoring: dict[str, Any]) -> None:
        committee = scoring["committee"]
        raise_share(scoring)
        sybil = Wallet.generate()
        message = committee_scores_message(
            bytes(rounds[0].account.manifest_digest),
            bytes.fromhex(scoring["reference_sha256"]),
            committee["scale"],
            committee["bodies"],
            committee["decrypting"],
            committee["shares"][0],
        )
        committee["attestations"][0] = attest(sybil, message).to_hex()

    refusals = {
        raise_share: "are not the ones its wallet",
        move_body: "are not the ones its wallet",
        fewer_members: "not 3 distinct members",
        sybil_signs: "are not the ones its wallet",
    }
    for edit, reason in refusals.items():
        with pytest.raises(FlAppError, match=reason):
            weights_from_rounds(tampered(edit), wallets, task)
    # Another reference (say, one fitted to favour a wallet) than the one members fixed.
    swapped = replace(rounds[0], reference=2.0 * rounds[0].reference)
    with pytest.raises(FlAppError, match="not the one the committee fixed"):
        weights_from_rounds([swapped, *rounds[1:]], wallets, task)

    # The organisation's own table of scalars and contributions is never read.
    def favour(scoring: dict[str, Any]) -> None:
        for entry in scoring["scalars"].values():
            entry["reference_inner"] = 0.0
        scoring["net_contributions"] = dict.fromkeys(scoring["net_contributions"], 0.0)

    assert weights_from_rounds(tampered(favour), wallets, task) == honest
