"""Bind a ServerApp to an on-chain task: its committee or key holder, stake gate, records.

Used when the ServerApp runs as its own process (Flower's Deployment Engine): everything
it needs comes from the run config, the chain and IPFS, as it would for an organisation
running on a real cluster.
"""

from __future__ import annotations

from logging import WARNING
from pathlib import Path

from flwr.common import log
from solders.pubkey import Pubkey

from fl_app.chain import RpcTransport, StakingClient
from fl_app.chain.stake_lookup import chain_stake_lookup
from fl_app.ipfs import IpfsClient, fetch_verified
from fl_app.keypair_files import read_keypair
from fl_app.roles import Organisation
from fl_app.run_report import RoundReport
from fl_app.server.committee import TaskCommittee
from fl_app.server.server_app import ServerServices
from fl_app.settings import RunSettings
from strategy.stake_gate import StakeGate

__all__ = ["task_services"]


def task_services(settings: RunSettings) -> ServerServices:
    """The services of a run bound to the task at ``settings.task_address``.

    A task with a committee (the task account records it) is decrypted by its drawn
    members; otherwise by its key holder, under the public context pinned for it.
    """
    client = StakingClient(RpcTransport(settings.chain_url))
    address = Pubkey.from_string(settings.task_address)
    task = client.task(address)
    ipfs = IpfsClient(settings.ipfs_api)
    organisation = Organisation(
        client, ipfs, read_keypair(Path(settings.authority_keypair).expanduser())
    )

    def record(report: RoundReport) -> None:
        # A skipped round changed nothing: it is not recorded, so the chain holds only
        # rounds that aggregated at least the minimum number of inputs.
        if report.server_round == 0 or report.skipped:
            return
        on_chain = client.task(address)
        if on_chain.rounds_recorded >= on_chain.rounds_planned:
            log(
                WARNING,
                "round %d not recorded: the task's %d planned round(s) are recorded already",
                report.server_round,
                on_chain.rounds_planned,
            )
            return
        organisation.record_round(address, report, round_index=on_chain.rounds_recorded)

    gate = StakeGate(
        task=settings.task_address,
        min_stake=task.min_stake,
        stake_lookup=chain_stake_lookup(client, address),
        timeout=settings.stake_proof_timeout,
    )
    if task.committee_size > 0:
        return ServerServices(committee=TaskCommittee.of_task(task), gate=gate, on_round=record)
    return ServerServices(
        public_context=fetch_verified(ipfs, task.he_context_cid, what="CKKS public context"),
        key_holder=str(task.key_holder),
        gate=gate,
        on_round=record,
    )
