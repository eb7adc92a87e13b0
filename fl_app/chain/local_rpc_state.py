"""The local chain service's saved state: accounts and clock, across stops and crashes.

After each committed transaction (at most every `DEBOUNCE_S`) and when it stops, the
service writes every account it knows (all that committed transactions touched), its
slot and its clock to one JSON file, atomically (write, fsync, rename), so a crash
leaves the previous complete state. On start it restores them into the fresh chain:
tasks, stakes and balances are as they were, and the clock has moved on by the time the
service was down, as a cluster's would. Transaction history is not kept.

A missing or unreadable file is said loudly on the service's output, and the service
starts fresh; an unreadable file is kept beside it for inspection.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solders.pubkey import Pubkey

from fl_app.chain.errors import ChainError
from fl_app.chain.local_rpc_clock import SLOT_S
from fl_app.chain.local_rpc_encoding import RpcError

__all__ = ["DEBOUNCE_S", "ChainStateError", "StateWriter", "restore", "snapshot"]

DEBOUNCE_S = 0.25
_FORMAT = "fl-app local chain state"
_VERSION = 1
_SYSVAR_OWNER = "Sysvar1111111111111111111111111111111111111"
_log = logging.getLogger(__name__)


class ChainStateError(ChainError):
    """A saved chain state that cannot be read or restored."""


@dataclass(frozen=True)
class Restored:
    """What `restore` put back."""

    accounts: list[str]
    slot: int
    clock_offset_s: float


def snapshot(methods: Any, chain: Any) -> dict[str, Any]:
    """The state to save: every known account but the genesis payer and programs."""
    payer = str(Pubkey.from_bytes(chain.payer()))
    accounts = []
    with methods.locked():
        for address in methods.accounts.addresses():
            if address == payer:
                continue
            account = chain.get_account(bytes(Pubkey.from_string(address)))
            if account is None or account.executable:
                continue
            owner = str(Pubkey.from_bytes(account.owner))
            if owner == _SYSVAR_OWNER:
                continue
            accounts.append(
                {
                    "address": address,
                    "lamports": int(account.lamports),
                    "owner": owner,
                    "data": base64.b64encode(account.data).decode(),
                }
            )
        slot, unix_timestamp = methods.clock.slot(), methods.clock.unix_timestamp()
    return {
        "format": _FORMAT,
        "version": _VERSION,
        "slot": slot,
        "unix_timestamp": unix_timestamp,
        "saved_at": time.time(),
        "accounts": accounts,
    }


def write(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as out:
        json.dump(state, out)
        out.flush()
        os.fsync(out.fileno())
    temporary.replace(path)


def restore(path: Path, chain: Any) -> Restored:
    """Put the accounts and slot saved at ``path`` into a fresh ``chain``.

    Raises
    ------
    FileNotFoundError
        If nothing was saved.
    ChainStateError
        If the file is not a saved state this version can read.
    """
    text = path.read_text(encoding="utf-8")
    try:
        state = json.loads(text)
        if state.get("format") != _FORMAT or state.get("version") != _VERSION:
            raise ValueError(f"not a version {_VERSION} {_FORMAT}")
        slot, saved_at = int(state["slot"]), float(state["saved_at"])
        offset = int(state["unix_timestamp"]) - saved_at
        accounts = [
            (
                Pubkey.from_string(a["address"]),
                int(a["lamports"]),
                Pubkey.from_string(a["owner"]),
                base64.b64decode(a["data"], validate=True),
            )
            for a in state["accounts"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ChainStateError(f"{path} is not a readable chain state: {err}") from None
    # Slots went on while the service was down, as the clock did.
    slot += max(0, int((time.time() - saved_at) / SLOT_S))
    if slot > chain.slot():
        chain.warp(slot, int(time.time() + offset))
    for address, lamports, owner, data in accounts:
        chain.restore_account(bytes(address), lamports, bytes(owner), data, False)
    return Restored(accounts=[str(a[0]) for a in accounts], slot=slot, clock_offset_s=offset)


class StateWriter:
    """Writes the chain's state to ``path`` shortly after each change, in a thread.

    Parameters
    ----------
    path : Path
        The state file.
    capture : Callable
        Returns the state to write (called from the writer thread).
    """

    def __init__(self, path: Path, capture: Any) -> None:
        self._path = path
        self._capture = capture
        self._changed = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chain-state", daemon=True)
        self._thread.start()

    def changed(self, *_: object) -> None:
        """Note a change (e.g. a committed transaction); written within `DEBOUNCE_S`."""
        self._changed.set()

    def close(self) -> None:
        """Write the final state and stop the thread."""
        self._stopping.set()
        self._changed.set()
        self._thread.join()
        self.write_now()

    def write_now(self) -> None:
        try:
            write(self._path, self._capture())
        except (OSError, ChainError, RpcError) as err:
            _log.error("could not save the chain state to %s: %s", self._path, err)
            print(f"could not save the chain state to {self._path}: {err}", flush=True)

    def _run(self) -> None:
        while True:
            self._changed.wait()
            if self._stopping.is_set():
                return
            self._stopping.wait(DEBOUNCE_S)
            self._changed.clear()
            if self._stopping.is_set():
                return
            self.write_now()
