"""``fl-app stake`` and ``fl-app claim``: a participant's money on a task."""

from __future__ import annotations

import argparse

from fl_app.commands.command_parser import add_command, signer
from fl_app.commands.output import Output
from fl_app.errors import FlAppError

__all__ = ["register"]

_FEE_LAMPORTS = 5_000


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``stake`` and ``claim``."""
    stake = add_command(
        commands,
        "stake",
        _stake,
        help="lock SOL on a task to take part in its training",
        description="Deposit a stake on a task (at least its minimum stake). It comes back "
        "with your reward when the task is finalized or expires (fl-app claim).",
        keypair=True,
    )
    stake.add_argument("task", metavar="TASK", help="task address")
    stake.add_argument("amount", metavar="SOL", help="stake in SOL, e.g. 1 or 1.5")
    claim = add_command(
        commands,
        "claim",
        _claim,
        help="collect your reward and stake from a settled task",
        keypair=True,
    )
    claim.add_argument("task", metavar="TASK", help="task address")


def _stake(args: argparse.Namespace, out: Output) -> int:
    from fl_app.chain import TaskState
    from fl_app.commands.amounts import format_sol, parse_sol
    from fl_app.commands.cluster import open_chain, parse_address
    from fl_app.commands.program_errors import explained
    from fl_app.commands.task_view import account_space, when

    address = parse_address(args.task, what="task")
    amount = parse_sol(args.amount, what="stake")
    participant = signer(args)
    with open_chain(args) as chain:
        task = chain.task(address)
        now = chain.client.transport.unix_timestamp()
        context = {
            "task": address,
            "wallet": participant.pubkey(),
            "keypair": args.keypair,
            "amount": format_sol(amount),
            "min_stake": format_sol(task.min_stake),
            "max_participants": task.max_participants,
            "join_deadline": when(task.join_deadline, now),
            "state": task.state.value.lower(),
            "already_exists": (
                f"wallet {participant.pubkey()} has already staked on task {address}: "
                f"see fl-app task status {address}"
            ),
        }
        if amount < task.min_stake:
            raise FlAppError(
                f"stake of {format_sol(amount)} SOL is below task {address}'s minimum of "
                f"{format_sol(task.min_stake)} SOL: stake at least {format_sol(task.min_stake)} SOL"
            )
        if task.state is TaskState.OPEN:
            rent = chain.client.transport.minimum_balance_for_rent_exemption(account_space("Stake"))
            chain.require_funds(
                participant, amount + rent + _FEE_LAMPORTS, action="stake", keypair=args.keypair
            )
        with explained(**context):
            chain.client.stake_deposit(participant, address, amount)
        task = chain.task(address)
    out.result(
        {
            "task": str(address),
            "participant": str(participant.pubkey()),
            "stake_lamports": amount,
            "participants": task.participants,
        },
        text=[
            f"staked {format_sol(amount)} SOL on task {address} from {participant.pubkey()}",
            f"participants: {task.participants} of {task.max_participants}",
            f"next: fetch the client with fl-app client fetch {address}",
        ],
        quiet=str(participant.pubkey()),
    )
    return 0


def _claim(args: argparse.Namespace, out: Output) -> int:
    from fl_app.chain import TaskState
    from fl_app.commands.amounts import format_sol
    from fl_app.commands.cluster import open_chain, parse_address
    from fl_app.commands.program_errors import explained
    from fl_app.commands.task_view import expires_at, when

    address = parse_address(args.task, what="task")
    participant = signer(args)
    with open_chain(args) as chain:
        task = chain.task(address)
        stake = chain.client.stake(address, participant.pubkey())
        if stake is None and task.state in (TaskState.FINALIZED, TaskState.EXPIRED):
            # A claim closes the stake account, so a settled task without one means
            # the wallet claimed already (or never staked).
            raise FlAppError(f"wallet {participant.pubkey()} already claimed on task {address}")
        if stake is None:
            raise FlAppError(
                f"wallet {participant.pubkey()} has no stake on task {address}: "
                "nothing to claim (is -k the wallet you staked with?)"
            )
        now = chain.client.transport.unix_timestamp()
        context = {
            "task": address,
            "wallet": participant.pubkey(),
            "expires": when(expires_at(task), now),
        }
        with explained(**context):
            result = chain.client.reward_claim(participant, address)
        claimed = chain.client.claimed(result)
    received = claimed.reward + claimed.stake_returned
    out.result(
        {
            "task": str(address),
            "participant": str(participant.pubkey()),
            "reward_lamports": claimed.reward,
            "stake_returned_lamports": claimed.stake_returned,
            "received_lamports": received,
            "score": claimed.score,
            "rent_returned_lamports": claimed.rent_returned,
        },
        text=(
            f"claimed {format_sol(received)} SOL from task {address}: reward "
            f"{format_sol(claimed.reward)} SOL + stake {format_sol(claimed.stake_returned)} SOL"
        ),
        quiet=format_sol(received),
    )
    return 0
