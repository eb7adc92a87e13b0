"""The staking program's refusals, said as what happened and what to do about it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fl_app.errors import FlAppError

__all__ = ["airdrop_hint", "explain", "explained", "program_message"]

# Placeholders are filled from the command's context; a missing one reads "?".
_MESSAGES = {
    "StakingError.StakeBelowMinimum": (
        "stake of {amount} SOL is below task {task}'s minimum of {min_stake} SOL: "
        "stake at least {min_stake} SOL"
    ),
    "StakingError.TaskFull": (
        "task {task} already has its {max_participants} participants: choose another task"
    ),
    "StakingError.JoinDeadlinePassed": (
        "task {task} closed to new stakes at {join_deadline}: choose another task"
    ),
    "StakingError.TaskNotOpen": "task {task} is already {state}: nothing more can be done",
    "StakingError.AttestationMissing": (
        "task {task}'s attestors did not sign these exact scores: each attestor signs "
        "the scores it recomputes with: fl-app task attest {task} -k ATTESTOR_KEYPAIR"
    ),
    "StakingError.AuthorityCannotStake": (
        "wallet {wallet} created task {task} and cannot stake on it: "
        "stake with a participant's wallet (-k)"
    ),
    "StakingError.KeyHolderIsAuthority": (
        "the key holder must not be the organisation's own wallet: pass the address "
        "printed by the key holder's fl-app keys create"
    ),
    "StakingError.NotSettled": (
        "task {task} is not settled yet: claim after the organisation runs "
        "fl-app task finalize {task}, or after {expires} when anyone can run "
        "fl-app task expire {task}"
    ),
    "StakingError.StakesUnclaimed": (
        "task {task} still has unclaimed stakes: close it once every participant has "
        "run fl-app claim {task}"
    ),
    "StakingError.RoundsOpen": (
        "task {task} still has round records open: run fl-app task close {task} again"
    ),
    "StakingError.RefundExceedsUnpaidFunding": (
        "task {task}'s vault holds lamports beyond its rent and unpaid pool: closing would "
        "pay them to the authority, so the program keeps the task open"
    ),
    "StakingError.ExpireTooEarly": (
        "task {task} can expire only after {expires} (settle deadline plus grace period)"
    ),
    "StakingError.SettlementWindowClosed": (
        "task {task}'s settlement window closed at {expires}: expire it with "
        "fl-app task expire {task}"
    ),
    "StakingError.NoContributors": (
        "nobody contributed to a round of task {task}: nothing to finalize; "
        "expire it after {expires} with fl-app task expire {task}"
    ),
    "StakingError.StakeCountMismatch": (
        "task {task} has {participants} stakes but {scored} were scored: "
        "list every staker with --participant"
    ),
    "StakingError.TrainingStarted": "training on task {task} has started: stakes are locked",
    "StakingError.ScoreForNonContributor": (
        "a participant who contributed to no round of task {task} got a positive score"
    ),
    "StakingError.DeadlinesNotOrdered": (
        "deadlines must satisfy now < join deadline < settle deadline: "
        "check --join-window and --settle-window"
    ),
    "StakingError.CidTooLong": "a CID is longer than the program stores",
    "StakingError.AlreadyCredited": (
        "a participant is already credited for this round of task {task}: credit each once"
    ),
    "StakingError.AlreadyScored": (
        "a participant of task {task} is already scored: score each stake once"
    ),
    "StakingError.CreditsExceeded": (
        "more participants credited than round of task {task} announced: "
        "credit only the round's contributors"
    ),
    "StakingError.CreditsPending": (
        "the last round of task {task} still has participants to credit: "
        "finish crediting it before recording or finalizing"
    ),
    "StakingError.TaskNotFinalizing": (
        "finalization of task {task} has not begun: run fl-app task finalize {task}"
    ),
    "StakingError.StakesUnscored": (
        "task {task} has {participants} stakes and not all were scored: "
        "list every staker with --participant"
    ),
    "StakingError.ScoreTotalMismatch": (
        "the scores posted for task {task} do not add up to the announced total"
    ),
    "StakingError.EmptyBatch": "a settlement batch for task {task} carried no stake",
    "AnchorError.ConstraintHasOne": (
        "wallet {wallet} is not the authority of task {task}: sign with the "
        "organisation's keypair (-k)"
    ),
    "AnchorError.AccountNotInitialized": (
        "wallet {wallet} has no stake on task {task}: stake first with fl-app stake {task} SOL"
    ),
    "SystemError.AccountAlreadyInUse": "{already_exists}",
    "SystemError.ResultWithNegativeLamports": (
        "wallet {wallet} has too little SOL for this: fund it ({airdrop} on embedded/localnet)"
    ),
}


class _Context(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def explain(name: str, fallback: str, *, code: int | None = None, **context: Any) -> FlAppError:
    """A one-line error for the program error ``name`` (``StakingError.X``).

    Errors without a message of their own here are said by the program's message for
    ``code`` (from the IDL, or Anchor's for its framework checks), never by number.
    """
    context.setdefault("airdrop", airdrop_hint(context.get("keypair")))
    template = _MESSAGES.get(name)
    if template is None:
        message = None if code is None else program_message(code)
        if message is None:
            return FlAppError(f"the staking program refused: {fallback}")
        return FlAppError(f"the staking program refused: {message} ({name})")
    return FlAppError(template.format_map(_Context(context)))


def airdrop_hint(keypair: object, sol: str = "10") -> str:
    """The airdrop command that funds the wallet of ``keypair`` (None: the default)."""
    return f"fl-app airdrop {sol}" + ("" if keypair is None else f" -k {keypair}")


def program_message(code: int) -> str | None:
    """The staking program's or Anchor's message for a custom error code."""
    from anchorpy.error import LangErrorMessage, _LangErrorCode

    from fl_app.chain.idl import IDL_PATH

    for entry in json.loads(IDL_PATH.read_text()).get("errors", []):
        if entry.get("code") == code:
            return str(entry.get("msg") or entry.get("name"))
    try:
        return str(LangErrorMessage[_LangErrorCode(code)])
    except (ValueError, KeyError):
        return None


@contextmanager
def explained(**context: Any) -> Iterator[dict[str, Any]]:
    """Turn chain refusals inside the block into one-line errors.

    Yields the context dict; the block may add entries (say, a deadline) before sending.
    """
    from fl_app.chain import ProgramError, TransactionRejectedError

    values = dict(context)
    try:
        yield values
    except ProgramError as err:
        raise explain(err.name, str(err), code=err.code, **values) from None
    except TransactionRejectedError as err:
        text = str(err)
        if "insufficient" in text.lower() or "debit an account" in text:
            raise FlAppError(
                f"wallet {values.get('wallet', '?')} cannot pay this transaction: "
                f"fund it ({airdrop_hint(values.get('keypair'))} on embedded/localnet) ({text})"
            ) from None
        raise FlAppError(f"the chain refused the transaction: {text}") from None
