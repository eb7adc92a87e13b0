"""Read a wallet's stake on a task from chain, in the form the stake gate checks."""

from __future__ import annotations

from solders.pubkey import Pubkey

from fl_app.chain.accounts import TaskState
from fl_app.chain.client import StakingClient
from strategy.stake_gate import StakeLookup, StakeStatus

__all__ = ["chain_stake_lookup"]


def chain_stake_lookup(client: StakingClient, task: Pubkey) -> StakeLookup:
    """A lookup for :class:`strategy.stake_gate.StakeGate` backed by the Stake accounts.

    A stake is active while the task is open and the stake is not fully slashed (a
    claimed stake is closed, so it has no account); its amount is what remains after slashing.
    """

    def lookup(wallet: str) -> StakeStatus | None:
        try:
            participant = Pubkey.from_string(wallet)
        except ValueError:
            return None
        stake = client.stake(task, participant)
        if stake is None:
            return None
        open_task = client.task(task).state is TaskState.OPEN
        return StakeStatus(amount=stake.remaining, active=open_task and stake.remaining > 0)

    return lookup
