"""Readable views of a task: times, amounts and the accounts' fields as text and JSON."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from fl_app.commands.amounts import format_sol

if TYPE_CHECKING:
    from fl_app.chain import StakeAccount, TaskAccount

__all__ = [
    "account_space",
    "expires_at",
    "stake_json",
    "stake_line",
    "task_json",
    "task_lines",
    "template_sha256",
    "when",
]


def when(timestamp: int, now: int) -> str:
    """``2025-06-01 12:00 UTC (in 59 min)`` relative to the chain clock ``now``."""
    moment = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    delta = timestamp - now
    span = abs(delta)
    if span < 120:
        amount = f"{span} s"
    elif span < 7_200:
        amount = f"{span // 60} min"
    elif span < 172_800:
        amount = f"{span // 3_600} h"
    else:
        amount = f"{span // 86_400} days"
    return f"{moment} ({'in ' + amount if delta >= 0 else amount + ' ago'})"


def expires_at(task: TaskAccount) -> int:
    """When anyone may expire the task: settle deadline plus grace period."""
    return task.settle_deadline + task.grace_period


def task_json(task: TaskAccount) -> dict[str, Any]:
    """The task account's fields, amounts in lamports, keys as base58."""
    return {
        "address": str(task.address),
        "authority": str(task.authority),
        "key_holder": None if task.committee_size else str(task.key_holder),
        "committee": _committee_json(task),
        "task_id": task.task_id,
        "state": task.state.value,
        "reward_pool_lamports": task.reward_pool,
        "reward_funded_lamports": task.reward_funded,
        "stake_held_lamports": task.stake_held,
        "min_stake_lamports": task.min_stake,
        "participants": task.participants,
        "max_participants": task.max_participants,
        "contributors": task.contributors,
        "rounds_planned": task.rounds_planned,
        "rounds_recorded": task.rounds_recorded,
        "join_deadline": task.join_deadline,
        "settle_deadline": task.settle_deadline,
        "expires_after": expires_at(task),
        "max_slash_bps": task.max_slash_bps,
        "template_cid": task.template_cid,
        "template_sha256": template_sha256(task),
        "he_context_cid": task.he_context_cid,
        "model_cid": task.model_cid or None,
    }


def task_lines(task: TaskAccount, now: int) -> list[str]:
    """The task as aligned ``label: value`` lines."""
    rows = [
        ("task", f"{task.address} (id {task.task_id})"),
        ("state", task.state.value),
        ("authority", str(task.authority)),
        ("decrypted by", task.decrypted_by),
        ("reward pool", f"{format_sol(task.reward_pool)} SOL"),
        (
            "stakes held",
            f"{format_sol(task.stake_held)} SOL (minimum stake {format_sol(task.min_stake)} SOL)",
        ),
        (
            "participants",
            f"{task.participants} of {task.max_participants}, {task.contributors} contributed",
        ),
        ("rounds", f"{task.rounds_recorded} of {task.rounds_planned} recorded"),
        ("join deadline", when(task.join_deadline, now)),
        ("settle deadline", when(task.settle_deadline, now)),
        ("expirable after", when(expires_at(task), now)),
        ("template CID", task.template_cid),
        ("template SHA-256", template_sha256(task)),
        ("CKKS context CID", task.he_context_cid),
        ("model CID", task.model_cid or "(not finalized)"),
    ]
    width = max(len(label) for label, _ in rows) + 1
    return [f"{label + ':':<{width}} {value}" for label, value in rows]


def _committee_json(task: TaskAccount) -> dict[str, object] | None:
    if not task.committee_size:
        return None
    return {
        "size": task.committee_size,
        "threshold": task.attestor_threshold,
        "drawn": task.committee_drawn,
        "members": [str(a) for a in task.attestors] if task.committee_drawn else [],
    }


def template_sha256(task: TaskAccount) -> str:
    """The bundle's SHA-256 (Flower's ``fab_hash``) that the template CID carries."""
    from fl_app.ipfs import BundleError, bundle_sha256

    try:
        return bundle_sha256(task.template_cid)
    except BundleError:
        return "(not a single-block bundle: participants refuse this task)"


def stake_json(stake: StakeAccount) -> dict[str, Any]:
    return {
        "participant": str(stake.participant),
        "stake_lamports": stake.amount,
        "slashed_lamports": stake.slashed,
        "rounds_contributed": stake.rounds_contributed,
        "score": stake.score,
    }


def stake_line(stake: StakeAccount) -> str:
    slashed = f", slashed {format_sol(stake.slashed)} SOL" if stake.slashed else ""
    return (
        f"  {stake.participant}  stake {format_sol(stake.amount)} SOL{slashed}, "
        f"{stake.rounds_contributed} rounds, score {stake.score}"
    )


def account_space(name: str) -> int:
    """Bytes of the program's account ``name`` (``Task``, ``Stake``), from the IDL."""
    from fl_app.chain.idl import IDL_PATH, load_spec

    raw = json.loads(IDL_PATH.read_text())
    spec = load_spec()
    sizes = {"publicKey": 32, "u64": 8, "i64": 8, "u32": 4, "i32": 4, "u16": 2, "u8": 1}
    sizes |= {"bool": 1, "string": 4 + spec.max_cid_len}

    def size(kind: str | dict[str, Any]) -> int:
        if isinstance(kind, str):
            return sizes[kind]
        if "array" in kind:
            item, length = kind["array"]
            return size(item) * int(length)
        if "vec" in kind:  # the only vector an account holds: the task's attestors
            return 4 + size(kind["vec"]) * spec.max_attestors
        return 1  # a defined type is a field-less enum

    account = next(a for a in raw["accounts"] if a["name"] == name)
    return 8 + sum(size(field["type"]) for field in account["type"]["fields"])
