"""Take part in a task: verify the client template by its on-chain CID, then run it.

The participant's SuperNode runs until every planned round of the task is recorded on
chain (or the task is settled), then stops.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solders.pubkey import Pubkey

from fl_app.chain import StakingClient, TaskState
from fl_app.client.fetch import fetch_template
from fl_app.deployment import flower_env, free_port, node_config_arg, spawn_group, stop_group
from fl_app.errors import FlAppError
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
    """Verify the template, start its SuperNode, and stop it when the task's rounds are done.

    Raises
    ------
    CidMismatchError
        If the template's bytes do not hash to the CID on chain (nothing runs).
    FlAppError
        If the SuperNode exits with an error, or the rounds are not done in time.
    """
    on_chain = client.task(task)
    entry = fetch_template(on_chain.template_cid, source=source, destination=workdir / "template")
    command = [
        sys.executable,
        str(entry),
        "--superlink",
        superlink,
        "--port",
        str(free_port()),
        "--node-config",
        node_config_arg(node_config),
    ]
    if insecure:
        command.append("--insecure")
    log_path = workdir / "supernode.log"
    with log_path.open("wb") as log:
        process = spawn_group(command, env=flower_env(), log=log)
        try:
            recorded = _wait_for_rounds(client, task, process, poll_s, timeout_s, log_path)
        finally:
            stop_group(process)
    return ParticipantRun(rounds_recorded=recorded, returncode=process.returncode)


def _wait_for_rounds(
    client: StakingClient,
    task: Pubkey,
    process: subprocess.Popen[bytes],
    poll_s: float,
    timeout_s: float,
    log_path: Path,
) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = client.task(task)
        if state.rounds_recorded >= state.rounds_planned or state.state is not TaskState.OPEN:
            return state.rounds_recorded
        if process.poll() is not None:
            raise FlAppError(
                f"the SuperNode exited with code {process.returncode} after "
                f"{state.rounds_recorded} round(s); see {log_path}"
            )
        time.sleep(poll_s)
    raise FlAppError(f"the task's rounds were not done within {timeout_s:.0f} s; see {log_path}")
