"""Take part in a task: run a node that executes only the bundle the task records.

The task's CID on chain carries its bundle's SHA-256. The bundle is fetched and
verified (and unpacked for the participant to read), then a Flower SuperNode runs with
process isolation beside a SuperExec that starts, for every run, a ClientApp process
that refuses any bundle with another hash, or a run config below the participant's
privacy floor, before installing it (:mod:`fl_app.client.verified_app`). The node runs
until every planned round of the task is recorded on chain (or the task is settled).
"""

from __future__ import annotations

import shutil
import socket
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

__all__ = ["SUPERLINK_LOST_S", "ParticipantRun", "check_superlink", "run_participant"]

SUPERLINK_LOST_S = 60.0
"""Default seconds the SuperLink may refuse connections before the run counts as ended.

A live SuperLink accepts connections however busy it is, so this only covers a restart.
"""


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
    lost_s: float = SUPERLINK_LOST_S,
) -> ParticipantRun:
    """Verify the bundle, run a node bound to its hash, and stop it when the rounds are done.

    The run is done when the task's rounds are all recorded, or when the SuperLink, once
    it answered, has refused connections for ``lost_s`` seconds (the organisation's run
    ended).

    Raises
    ------
    CidMismatchError
        If the bundle's bytes do not hash to the CID on chain (nothing runs).
    FlAppError
        If the node exits with an error, or the rounds are not done in time.
    """
    on_chain = client.task(task)
    fab_sha256 = bundle_sha256(on_chain.template_cid)
    # A rerun for the same task and wallet reuses the work directory; the bundle is
    # fetched and verified again each time, never run from an earlier unpacking.
    template_dir = workdir / "template"
    if template_dir.exists():
        shutil.rmtree(template_dir)
    workdir.mkdir(parents=True, exist_ok=True)
    fetch_template(on_chain.template_cid, source=source, destination=template_dir)
    log_path = workdir / "supernode.log"
    with verified_node(
        fab_sha256=fab_sha256,
        superlink=superlink,
        node_config=node_config,
        workdir=workdir,
        insecure=insecure,
    ) as processes:
        recorded = _wait_for_rounds(
            client, task, processes, superlink, poll_s, timeout_s, lost_s, log_path
        )
    return ParticipantRun(rounds_recorded=recorded, returncode=processes[0].returncode)


def check_superlink(superlink: str, timeout_s: float = 60.0, poll_s: float = 1.0) -> None:
    """Fail in one line unless something accepts connections at ``superlink`` (HOST:PORT)
    within ``timeout_s`` seconds (a SuperLink started at the same time gets that long).

    Raises
    ------
    FlAppError
        If the address is malformed or nothing answers there in time.
    """
    host, _, port = superlink.rpartition(":")
    if not host or not port.isdigit():
        raise FlAppError(f"--superlink takes HOST:PORT, got {superlink!r}")
    deadline = time.monotonic() + timeout_s
    while not _answers(host, int(port), min(poll_s, timeout_s)):
        if time.monotonic() >= deadline:
            raise FlAppError(
                f"no SuperLink answers at {superlink} within {timeout_s:g} s: check the "
                "address, or ask the organisation to start it (fl-app server start TASK)"
            )
        time.sleep(poll_s)


def _answers(host: str, port: int, timeout_s: float) -> bool:
    try:
        with socket.create_connection((host.strip("[]"), port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _wait_for_rounds(
    client: StakingClient,
    task: Pubkey,
    processes: list[subprocess.Popen[bytes]],
    superlink: str,
    poll_s: float,
    timeout_s: float,
    lost_s: float,
    log_path: Path,
) -> int:
    deadline = time.monotonic() + timeout_s
    host, _, port = superlink.rpartition(":")
    seen, lost_since = False, None
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
        # The organisation's run ends by stopping its SuperLink, recorded or not; a
        # SuperLink that has not answered yet is starting, not lost.
        if _answers(host, int(port), poll_s):
            seen, lost_since = True, None
        elif seen:
            lost_since = time.monotonic() if lost_since is None else lost_since
            if time.monotonic() - lost_since > lost_s:
                raise FlAppError(
                    f"the SuperLink at {superlink} stopped answering with {state.rounds_recorded} "
                    f"of {state.rounds_planned} round(s) recorded: the organisation's run ended; "
                    f"see {log_path}"
                )
        time.sleep(poll_s)
    raise FlAppError(f"the task's rounds were not done within {timeout_s:.0f} s; see {log_path}")
