"""Run the organisation's side of a task on Flower's Deployment Engine.

A SuperLink listens for the participants' SuperNodes; the ServerApp is submitted with a
run config that binds it to the on-chain task, so it admits only staked nodes, pins each
round's manifest and records it on chain.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fl_app.client.template import TEMPLATE_DIR
from fl_app.deployment import RUN_TIMEOUT_S, local_deployment

__all__ = ["SERVERAPP_LOG", "run_task_server", "skipped_rounds"]

SERVERAPP_LOG = "serverapp.log"
"""File name of the ServerApp's log in the server's work directory."""


def run_task_server(
    *,
    task: str,
    chain_url: str,
    ipfs_api: str,
    authority_keypair: Path,
    port: int,
    workdir: Path,
    run_config: Mapping[str, Any] | None = None,
    timeout_s: float = RUN_TIMEOUT_S,
) -> str:
    """Start a SuperLink on ``port``, run the task's ServerApp to the end, return its log.

    The log is also kept in ``workdir / SERVERAPP_LOG``, however the run ends. The
    SuperLink listens on loopback without TLS: this is the single-machine set-up of the
    embedded defaults. A deployment across machines runs ``flower-superlink`` with
    certificates and ``flwr run`` with the same run config.
    """
    config = {
        **(run_config or {}),
        "task-address": task,
        "chain-url": chain_url,
        "ipfs-api": ipfs_api,
        "authority-keypair": str(authority_keypair.expanduser().resolve()),
    }
    with local_deployment([], workdir=workdir, port=port) as deployment:
        return deployment.run(
            TEMPLATE_DIR, config, timeout=timeout_s, log_path=workdir / SERVERAPP_LOG
        )


_SKIPPED = re.compile(r"round (\d+) was skipped: (.*)$")


def skipped_rounds(log: str) -> dict[int, str]:
    """Why each round was skipped, from the run summary at the end of a ServerApp log."""
    found: dict[int, str] = {}
    for line in log.splitlines():
        match = _SKIPPED.search(line)
        if match:
            found[int(match.group(1))] = match.group(2).strip()
    return found
