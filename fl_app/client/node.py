"""A participant's node: a SuperNode that runs only the bundle with a given SHA-256.

``flower-supernode --isolation process`` starts no ClientApp itself; the verified
SuperExec beside it (:mod:`fl_app.client.verified_superexec`) starts one process per
run, which refuses any bundle with another hash, or a run config below the privacy
floor in the node config, before installing it (:mod:`fl_app.client.verified_app`).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fl_app.deployment import (
    flower_env,
    free_port,
    node_config_arg,
    spawn_group,
    stop_group,
    supernode_command,
)

__all__ = ["verified_node"]


@contextmanager
def verified_node(
    *,
    fab_sha256: str,
    superlink: str,
    node_config: Mapping[str, Any],
    workdir: Path,
    insecure: bool = True,
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Run a SuperNode that executes only the bundle with SHA-256 ``fab_sha256``.

    Starts ``flower-supernode --isolation process`` and the verified SuperExec beside
    it, both logging to ``workdir / "supernode.log"``, and stops both on exit.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    runtime_port = free_port()
    supernode = supernode_command(
        "--isolation",
        "process",
        "--superlink",
        superlink,
        "--host=127.0.0.1",
        f"--port={runtime_port}",
        "--node-config",
        node_config_arg(node_config),
    )
    if insecure:
        supernode.append("--insecure")
    # The Runtime API listens on loopback only, between the node's own processes.
    superexec = [
        sys.executable,
        "-m",
        "fl_app.client.verified_superexec",
        "--runtime-api-address",
        f"127.0.0.1:{runtime_port}",
        "--insecure",
        "--fab-sha256",
        fab_sha256,
    ]
    env = {**flower_env(), "FLWR_HOME": str(workdir / "flwr-home")}
    with (workdir / "supernode.log").open("wb") as log:
        processes = [spawn_group(command, env=env, log=log) for command in (supernode, superexec)]
        try:
            yield processes
        finally:
            for process in processes:
                stop_group(process)
