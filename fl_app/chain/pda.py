"""Program-derived addresses of the staking program's accounts."""

from __future__ import annotations

from solders.pubkey import Pubkey

from fl_app.chain.idl import load_spec

__all__ = ["round_address", "stake_address", "task_address"]


def task_address(authority: Pubkey, task_id: int) -> Pubkey:
    """Address of task ``task_id`` of ``authority`` (also the task's vault)."""
    spec = load_spec()
    seeds = [spec.seed_task, bytes(authority), task_id.to_bytes(8, "little")]
    return Pubkey.find_program_address(seeds, spec.program_id)[0]


def stake_address(task: Pubkey, participant: Pubkey) -> Pubkey:
    """Address of ``participant``'s stake on ``task``."""
    spec = load_spec()
    seeds = [spec.seed_stake, bytes(task), bytes(participant)]
    return Pubkey.find_program_address(seeds, spec.program_id)[0]


def round_address(task: Pubkey, round_index: int) -> Pubkey:
    """Address of the record of round ``round_index`` of ``task``."""
    spec = load_spec()
    seeds = [spec.seed_round, bytes(task), round_index.to_bytes(4, "little")]
    return Pubkey.find_program_address(seeds, spec.program_id)[0]
