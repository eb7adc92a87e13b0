"""The staking program's IDL (shipped in this package), its program id and its constants."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from anchorpy import Idl
from solders.pubkey import Pubkey

__all__ = ["IDL_PATH", "ProgramSpec", "load_spec"]

IDL_PATH = Path(__file__).resolve().parent / "staking.json"
"""``anchor idl parse`` of the program, its id in ``metadata.address``
(``scripts/check_idl.sh`` keeps it in step with the sources)."""


@dataclass(frozen=True)
class ProgramSpec:
    """What a client needs to talk to the program.

    Attributes
    ----------
    idl : Idl
        The parsed Anchor (0.29 format) IDL.
    program_id : Pubkey
        The program's address, from the IDL's ``metadata.address``.
    seed_task, seed_stake, seed_round : bytes
        PDA seed prefixes, read from the IDL constants.
    max_cid_len : int
        Longest CID the program stores.
    max_participants : int
        Most stakes a task can hold.
    max_join_window, max_settle_window, max_grace_period : int
        Longest join window, settle window and grace period a task may set (s).
    min_reward_pool : int
        Smallest reward pool a task may be funded with (lamports).
    max_attestors : int
        Most attestors a task may name.
    errors : dict[int, str]
        Program error code to variant name.
    """

    idl: Idl
    program_id: Pubkey
    seed_task: bytes
    seed_stake: bytes
    seed_round: bytes
    max_cid_len: int
    max_participants: int
    max_join_window: int
    max_settle_window: int
    max_grace_period: int
    min_reward_pool: int
    max_attestors: int
    errors: dict[int, str]


def _constant(raw: dict[str, object], name: str) -> str:
    for constant in raw["constants"]:  # type: ignore[attr-defined]
        if constant["name"] == name:
            return str(constant["value"])
    raise KeyError(f"constant {name} missing from the staking IDL; regenerate it")


@cache
def load_spec(idl_path: Path = IDL_PATH) -> ProgramSpec:
    """Load the IDL and program id once.

    Parameters
    ----------
    idl_path : Path
        The IDL with the program id in its metadata.

    Returns
    -------
    ProgramSpec
        Parsed IDL plus the constants clients use.
    """
    text = idl_path.read_text()
    raw = json.loads(text)
    return ProgramSpec(
        idl=Idl.from_json(text),
        program_id=Pubkey.from_string(raw["metadata"]["address"]),
        seed_task=bytes(json.loads(_constant(raw, "SEED_TASK"))),
        seed_stake=bytes(json.loads(_constant(raw, "SEED_STAKE"))),
        seed_round=bytes(json.loads(_constant(raw, "SEED_ROUND"))),
        max_cid_len=int(_constant(raw, "MAX_CID_LEN")),
        max_participants=int(_constant(raw, "MAX_PARTICIPANTS")),
        max_join_window=int(_constant(raw, "MAX_JOIN_WINDOW")),
        max_settle_window=int(_constant(raw, "MAX_SETTLE_WINDOW")),
        max_grace_period=int(_constant(raw, "MAX_GRACE_PERIOD")),
        min_reward_pool=int(_constant(raw, "MIN_REWARD_POOL")),
        max_attestors=int(_constant(raw, "MAX_ATTESTORS")),
        errors={int(e["code"]): str(e["name"]) for e in raw["errors"]},
    )
