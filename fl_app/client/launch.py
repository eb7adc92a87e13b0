"""Take part in a task: run a node that executes only the bundle the task records.

The task's CID on chain carries its bundle's SHA-256. The bundle is fetched and
verified (and unpacked for the participant to read), then a Flower SuperNode runs with
process isolation beside a SuperExec that starts, for every run, a ClientApp process
that refuses any bundle with another hash, or a run config below the participant's
privacy floor, before installing it (:mod:`fl_app.client.verified_app`). The node runs
until every planned round of the task is recorded on chain (or the task is settled).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solders.pubkey import Pubkey

from fl_app.chain import StakingClient, TaskState
from fl_app.client.fetch import fetch_template
from fl_app.client.node import verified_node
from fl_app.errors import FlAppError
from fl_app.ipfs.bundle import bundle_sha256
from fl_app.ipfs.content import ContentSource

__all__ = ["ParticipantRun", "run_participant"]


@dataclass(frozen=True, kw_only=True)
class ParticipantRun:
    """How a participant's SuperNode ended."""

    rounds_recorded: int
    returncode: int | None


def run_participant(
    *,
    client: StakingClient,
    task: Pubkey,
    source: ContentSource,
    superlink: str,
    node_config: Mapping[str, Any],
    workdir: Path,
    insecure: bool = True,
    poll_s: float = 2.0,
    timeout_s: float = 3_600.0,
) -> ParticipantRun:
    """Verify the bundle, run a node bound to its hash, and stop it when the rounds are done.

    Raises
    ------
    CidMismatchError
        If the bundle's bytes do not hash to the CID on chain (nothing runs).
    FlAppError
        If the node exits with an error, or the rounds are not done in time.
    """
    on_chain = client.task(task)
    fab_sha256 = bundle_sha256(on_chain.template_cid)
    fetch_template(on_chain.template_cid, source=source, destination=workdir / "template")
    log_path = workdir / "supernode.log"
    with verified_node(
        fab_sha256=fab_sha256,
        superlink=superlink,
        node_config=node_config,
        workdir=workdir,
        insecure=insecure,
    ) as processes:
        recorded = _wait_for_rounds(client, task, processes, poll_s, timeout_s, log_path)
    return ParticipantRun(rounds_recorded=recorded, returncode=processes[0].returncode)


def _wait_for_rounds(
    client: StakingClient,
    task: Pubkey,
    processes: list[subprocess.Popen[bytes]],
    poll_s: float,
    timeout_s: float,
    log_path: Path,
) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = client.task(task)
        if state.rounds_recorded >= state.rounds_planned or state.state is not TaskState.OPEN:
            return state.rounds_recorded
        exited = next((p for p in processes if p.poll() is not None), None)
        if exited is not None:
            raise FlAppError(
                f"the node's process {exited.pid} exited with code {exited.returncode} after "
                f"{state.rounds_recorded} round(s); see {log_path}"
            )
        time.sleep(poll_s)
    raise FlAppError(f"the task's rounds were not done within {timeout_s:.0f} s; see {log_path}")
