"""Stake before work: only nodes proving an active stake on chain are ever sampled."""

from __future__ import annotations

import logging

import pytest
from solders.keypair import Keypair

from fl_app.chain import EmbeddedTransport, StakingClient, TaskParams, task_address
from fl_app.chain.stake_lookup import chain_stake_lookup
from fl_app.simulation import Federation, run_federated
from strategy import Wallet
from strategy.stake_gate import StakeGate, proof_message

SOL = 1_000_000_000
CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


def test_unstaked_underfunded_and_impostor_nodes_are_never_sampled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = EmbeddedTransport()
    client = StakingClient(transport, program_id=transport.program_id)
    authority, keypairs = Keypair(), [Keypair() for _ in range(6)]
    for keypair in (authority, *keypairs):
        transport.airdrop(keypair.pubkey(), 20 * SOL)
    now = transport.unix_timestamp()
    params = TaskParams(
        task_id=7,
        reward_pool=5 * SOL,
        min_stake=SOL,
        max_participants=6,
        rounds_planned=2,
        join_deadline=now + 3_600,
        settle_deadline=now + 7_200,
        grace_period=60,
        max_slash_bps=1_000,
        key_holder=keypairs[0].pubkey(),
        template_cid=CID,
        he_context_cid=CID,
    )
    client.task_create(authority, params)
    task = task_address(authority.pubkey(), params.task_id)
    for keypair in keypairs[:4]:
        client.stake_deposit(keypair, task, SOL)
    # Partition 3's stake falls below the minimum after a slash; 4 is an impostor
    # claiming partition 1's wallet; 5 never staked.
    client.participant_slash(
        authority, task, participant=keypairs[3].pubkey(), amount=SOL // 10, evidence_cid=CID
    )
    wallets = {p: Wallet.from_keypair_bytes(bytes(keypairs[p])) for p in (0, 1, 2, 3, 5)}
    victim = str(keypairs[1].pubkey())

    # Defined here so that the simulation workers receive the class by value.
    class Impostor(Wallet):
        """Claims another participant's address but can only sign with its own key."""

        @property
        def address(self) -> str:
            return victim

    wallets[4] = Impostor(bytes(keypairs[4])[:32])
    gate = StakeGate(task=str(task), min_stake=SOL, stake_lookup=chain_stake_lookup(client, task))

    caplog.set_level(logging.WARNING, logger="flwr")
    report = run_federated(
        {"num-server-rounds": 2, "min-nodes": 3, "ckks-min-inputs": 3},
        federation=Federation(
            num_supernodes=6,
            wallets=wallets,
            gate=gate,
        ),
    )

    honest = {str(keypairs[p].pubkey()) for p in (0, 1, 2)}
    assert [set(r.contributors) for r in report.rounds[1:]] == [honest, honest]
    assert "below the task's minimum" in caplog.text
    assert f"signature does not prove control of wallet {keypairs[1].pubkey()}" in caplog.text
    assert f"wallet {keypairs[5].pubkey()} has no stake on task {task}" in caplog.text


def test_a_proof_is_bound_to_task_node_and_nonce() -> None:
    base = proof_message("task-a", 1, b"n" * 32)
    assert base != proof_message("task-b", 1, b"n" * 32)
    assert base != proof_message("task-a", 2, b"n" * 32)
    assert base != proof_message("task-a", 1, b"m" * 32)
