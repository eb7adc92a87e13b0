"""The organisation's side of a task's decryption committee: reach it, have it make the key.

The organisation never holds key material. It learns the members' wallets from the task
(drawn on chain from the stakers), finds the node that proves each wallet, and relays
the members' key-generation messages (``strategy.threshold.committee_client``); the
collective public key that comes out is checked by every participant against every
member's signature before it encrypts anything under it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from logging import INFO
from typing import TYPE_CHECKING

from flwr.common import log
from flwr.serverapp import Grid

from fl_app.errors import FlAppError
from strategy.exceptions import KeyHolderError
from strategy.threshold import CommitteeConfig
from strategy.threshold.committee_client import Committee, find_members, generate_key

if TYPE_CHECKING:
    from fl_app.chain import TaskAccount

__all__ = ["TaskCommittee", "convene"]

# How often to look again for members whose nodes have not connected yet.
_POLL_S = 1.0


@dataclass(frozen=True)
class TaskCommittee:
    """A task's decryption committee: member ``i``'s wallet is ``wallets[i - 1]``.

    The seed of its key generation is the task id (the task's address on chain), so key
    material of one task never combines with another's.
    """

    config: CommitteeConfig
    wallets: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.wallets) != self.config.size or len(set(self.wallets)) != len(self.wallets):
            raise FlAppError(
                f"a committee of {self.config.size} needs as many distinct wallets, got "
                f"{len(set(self.wallets))} distinct of {len(self.wallets)}"
            )

    @classmethod
    def of(cls, task_id: str, wallets: tuple[str, ...], threshold: int) -> TaskCommittee:
        """The committee of ``task_id`` with these members, ``threshold`` of whom decrypt."""
        config = CommitteeConfig(seed=task_id.encode(), size=len(wallets), threshold=threshold)
        return cls(config, wallets)

    @classmethod
    def of_task(cls, task: TaskAccount) -> TaskCommittee:
        """The committee recorded on ``task``'s account, once it is drawn.

        Raises
        ------
        FlAppError
            If the task has no committee, or its draw has not gone through every stake.
        """
        if task.committee_size == 0:
            raise FlAppError(f"task {task.address} has a key holder, not a committee")
        if not task.committee_drawn:
            raise FlAppError(
                f"task {task.address}'s committee is not drawn yet: after the join "
                "deadline, run the draw over every stake (anyone may)"
            )
        wallets = tuple(str(a) for a in task.attestors)
        return cls.of(str(task.address), wallets, task.attestor_threshold)


def convene(grid: Grid, committee: TaskCommittee, timeout: float) -> tuple[bytes, Committee]:
    """Find every member's node, then relay their key generation.

    Returns
    -------
    tuple[bytes, Committee]
        The collective public key, and the committee as the strategy reaches it, with
        every member's signature of that key.

    Raises
    ------
    FlAppError
        If a member's node does not prove its wallet within ``timeout`` seconds, or key
        generation fails (every member must take part).
    """
    deadline = time.monotonic() + timeout
    nodes: dict[int, int] = {}
    while True:
        # Nodes connect over time; whoever proved a wallet once stays found.
        nodes.update(find_members(grid, committee.wallets, max(deadline - time.monotonic(), 1.0)))
        if len(nodes) == committee.config.size:
            break
        if time.monotonic() >= deadline:
            absent = [w for i, w in enumerate(committee.wallets, 1) if i not in nodes]
            raise FlAppError(
                f"committee member(s) {', '.join(absent)} did not connect within "
                f"{timeout:g} s; key generation needs every member"
            )
        time.sleep(_POLL_S)
    log(INFO, "All %d committee members connected; generating the task key", len(nodes))
    try:
        return generate_key(grid, Committee(committee.config, committee.wallets, nodes), timeout)
    except KeyHolderError as err:
        raise FlAppError(f"the committee could not make the task key: {err}") from None
