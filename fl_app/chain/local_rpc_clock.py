"""Wall-clock time for the local chain service: slots, block height and blockhash lifetimes.

A validator produces a slot about every 400 ms and its Clock sysvar follows wall time, so
deadlines pass by waiting. The embedded runtime only moves when told to: `SlotClock` warps
it to the slot that wall time has reached and sets the Clock's ``unix_timestamp`` to wall
time plus an offset (the offset is how ``flApp_setUnixTimestamp`` jumps ahead in tests).

Slots here last `SLOT_S` (200 ms) and the block height equals the slot. A blockhash is
valid for `BLOCKHASH_VALID_BLOCKS` (150) blocks after the height at which it was handed
out, as `getLatestBlockhash`'s ``lastValidBlockHeight`` says; `BlockhashWindow` enforces
exactly that. The runtime itself keeps a blockhash for 150 registered blockhashes; the
service's chain (``Chain.paced``) registers one per warp and about one per call, so at a
client's usual pace the runtime keeps it longer (measured: 150 blocks in 30 s here,
248 blocks and 50 s in the runtime with one transaction and two reads a second). A
client sending dozens of requests a second can see the runtime drop it first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

__all__ = [
    "BLOCKHASH_VALID_BLOCKS",
    "IDLE_S",
    "SLOT_S",
    "TICK_S",
    "BlockhashWindow",
    "SlotClock",
]

SLOT_S = 0.2
"""Wall seconds per slot."""
TICK_S = 1.0
"""How often an active service moves the chain to the slot wall time has reached."""
IDLE_S = 10.0
"""A service with no request for this long and no websocket stops ticking: a warp costs
about 0.1 s of CPU in a debug build. Its next request catches the chain up first."""
BLOCKHASH_VALID_BLOCKS = 150
"""Blocks a blockhash stays valid for (MAX_PROCESSING_AGE)."""
_CLOCK_TIMESTAMP = slice(32, 40)
_REMEMBERED_BLOCKHASHES = 4 * BLOCKHASH_VALID_BLOCKS


class SlotClock:
    """Moves an ``embedded_chain.Chain`` along with wall time.

    Not thread-safe: callers hold the lock that guards the chain.

    Parameters
    ----------
    chain : embedded_chain.Chain
        The chain to move.
    offset_s : float
        Chain time minus wall time, in seconds (0 follows wall time exactly).
    """

    def __init__(self, chain: Any, *, offset_s: float = 0.0) -> None:
        self._chain = chain
        self.offset_s = offset_s
        self._anchor_slot = chain.slot()
        self._anchor_wall = time.monotonic()

    def slot(self) -> int:
        """The chain's current slot (also its block height)."""
        return int(self._chain.slot())

    def unix_timestamp(self) -> int:
        """What the Clock sysvar should say now."""
        return int(time.time() + self.offset_s)

    def due_slot(self) -> int:
        """The slot wall time has reached."""
        return self._anchor_slot + int((time.monotonic() - self._anchor_wall) / SLOT_S)

    def catch_up(self, *, lag: int = 1) -> int | None:
        """Warp to the slot wall time has reached if ``lag`` or more slots behind.

        Returns the new slot, or None if the chain was close enough.
        """
        due = self.due_slot()
        if due < self.slot() + lag:
            return None
        self._chain.warp(due, self.unix_timestamp())
        return due

    def warp_to(self, slot: int) -> None:
        """Warp to ``slot`` (ahead of the current one); wall time continues from there."""
        self._chain.warp(slot, self.unix_timestamp())
        self._anchor_slot, self._anchor_wall = slot, time.monotonic()

    def jump_to(self, unix_timestamp: int) -> None:
        """Set chain time to ``unix_timestamp`` from now on (a new slot starts at once)."""
        self.offset_s = unix_timestamp - time.time()
        self._chain.warp(max(self.due_slot(), self.slot() + 1), unix_timestamp)

    @staticmethod
    def timestamp_of(clock_data: bytes) -> int:
        """``unix_timestamp`` of Clock sysvar account data."""
        return int.from_bytes(clock_data[_CLOCK_TIMESTAMP], "little", signed=True)


class BlockhashWindow:
    """The last valid block height of each blockhash handed out to clients."""

    def __init__(self) -> None:
        self._last_valid: OrderedDict[bytes, int] = OrderedDict()

    def hand_out(self, blockhash: bytes, height: int) -> int:
        """Record ``blockhash`` first seen at ``height``; returns its last valid height."""
        last_valid = self._last_valid.get(blockhash)
        if last_valid is None:
            last_valid = height + BLOCKHASH_VALID_BLOCKS
            self._last_valid[blockhash] = last_valid
            while len(self._last_valid) > _REMEMBERED_BLOCKHASHES:
                self._last_valid.popitem(last=False)
        return last_valid

    def expired(self, blockhash: bytes, height: int) -> bool:
        """Whether a handed-out ``blockhash`` is past its last valid height at ``height``."""
        last_valid = self._last_valid.get(blockhash)
        return last_valid is not None and height > last_valid
