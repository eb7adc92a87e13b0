"""``fl-app task close``: the organisation takes back the rent of a settled task.

A claim closes each participant's stake account; once every stake is claimed the
organisation closes the round records (in batches, as many transactions as needed) and
the task itself, and gets back the rent it paid for them. The program refuses while a
stake is unclaimed, before the task is finalized or expired, and if the vault holds
more than the task's rent and unpaid pool (so no stake lamport can reach the
organisation).
"""

from __future__ import annotations

import argparse

from fl_app.commands.command_parser import add_command, signer
from fl_app.commands.output import Output
from fl_app.errors import FlAppError

__all__ = ["register"]


def register(group: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``task close``."""
    close = add_command(
        group,
        "close",
        _close,
        help="after settlement and every claim: close the round records and the task, "
        "rent back to the organisation",
        keypair=True,
    )
    close.add_argument("task", metavar="TASK", help="task address")


def _close(args: argparse.Namespace, out: Output) -> int:
    from fl_app.chain import TaskState
    from fl_app.commands.cluster import open_chain, parse_address
    from fl_app.commands.program_errors import explained

    address = parse_address(args.task, what="task")
    authority = signer(args)
    with open_chain(args) as chain:
        task = chain.task(address)
        if task.state not in (TaskState.FINALIZED, TaskState.EXPIRED):
            raise FlAppError(
                f"task {address} is {task.state.value.lower()}: close it once it is "
                f"finalized (fl-app task finalize) or expired (fl-app task expire)"
            )
        if task.participants > 0:
            raise FlAppError(
                f"task {address} still has {task.participants} unclaimed stakes: close it "
                f"once every participant has run fl-app claim {address}"
            )
        before = chain.balance(authority.pubkey())
        context = {"task": address, "wallet": authority.pubkey()}
        with explained(**context):
            sent = chain.client.task_close(authority, address)
        fees = sum(result.fee for result in sent.results)
        returned = chain.balance(authority.pubkey()) - before + fees
    rounds = task.rounds_recorded - task.rounds_closed
    out.result(
        {
            "task": str(address),
            "rounds_closed": rounds,
            "transactions": len(sent.results),
            "rent_returned_lamports": returned,
        },
        text=(
            f"task {address} closed with its {rounds} round records: "
            f"{returned:,} lamports of rent returned to {authority.pubkey()}"
        ),
        quiet=str(returned),
    )
    return 0
