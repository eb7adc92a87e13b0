"""The participant's SuperExec: Flower's, launching the verified ClientApp process.

With ``flower-supernode --isolation process`` the SuperNode starts no ClientApp itself;
a SuperExec beside it takes each task and launches a process for it. Flower's launches
``flwr-clientapp`` by name, with no setting for another command, so this is Flower's
``run_superexec`` (flwr pinned) with one executor that launches
:mod:`fl_app.client.verified_app` instead, bound to the task's bundle hash.

Every message is a task, so a fresh interpreter importing Flower and torch for each
one cost more CPU than the work it did. The executor forks each ClientApp process
from a multiprocessing fork server instead: a process started with the node that has
imported those libraries and nothing else (no bundle, no connection, no thread). Each
message still gets its own process, a copy of that clean state, and nothing one
message's process does reaches another's.

    python -m fl_app.client.verified_superexec --runtime-api-address 127.0.0.1:9094 \\
        --insecure --fab-sha256 HEX
"""

from __future__ import annotations

import argparse
import multiprocessing
from collections.abc import Sequence
from multiprocessing import forkserver
from typing import Any

import flwr.supercore.superexec.run_superexec as flower_superexec
from flwr.supercore.constant import TaskType
from flwr.supercore.superexec.executor.subprocess_executor import SubprocessExecutor
from flwr.supercore.superexec.executor.types import ExecutionSpec, LaunchResult

from fl_app.client import verified_app
from fl_app.client.verified_app import require_functions

__all__ = ["PRELOAD", "VerifiedExecutor", "main"]

PRELOAD = (
    "flwr.supernode.runtime.run_clientapp",
    "fl_app.client.verified_app",
    "fl_app.ml.model",
    "strategy.ckks_mod",
    "strategy.key_holder_app",
    "strategy.stake_gate",
)
"""Modules the fork server imports once, for every ClientApp process forked from it: the
participant's own installed libraries (Flower, torch, TenSEAL), never a bundle's code.
Opacus and Flower Datasets stay out: only DP runs and simulated partitions load them.
A missing one is skipped."""


class VerifiedExecutor(SubprocessExecutor):
    """Launches only ClientApp tasks, each in a verified ClientApp process.

    Parameters
    ----------
    fab_sha256
        Hex SHA-256 of the task's bundle, from the CID on chain.
    """

    def __init__(self, fab_sha256: str) -> None:
        self.fab_sha256 = fab_sha256
        self._processes = multiprocessing.get_context("forkserver")
        self._processes.set_forkserver_preload(list(PRELOAD))

    def start(self) -> None:
        """Start the fork server now, so its imports overlap the wait for a first task."""
        forkserver.ensure_running()

    def arguments(self, spec: ExecutionSpec) -> list[str]:
        """The arguments of the verified ClientApp process for ``spec``."""
        args = [
            "--runtime-api-address",
            spec.runtime_api_address,
            "--token",
            spec.token,
            "--fab-sha256",
            self.fab_sha256,
        ]
        if spec.insecure:
            args.append("--insecure")
        elif spec.root_certificates_path is not None:
            args += ["--root-certificates", spec.root_certificates_path]
        if spec.parent_pid is not None:
            args += ["--parent-pid", str(spec.parent_pid)]
        return args

    def launch(self, spec: ExecutionSpec) -> LaunchResult:
        """Start the verified ClientApp process of one task."""
        if spec.task_type != TaskType.CLIENT_APP:
            return LaunchResult.failed(f"a participant's node runs no {spec.task_type} tasks")
        multiprocessing.active_children()  # reaps the processes of finished tasks
        self._processes.Process(
            target=verified_app.main, args=(self.arguments(spec),), name=f"task-{spec.task_id}"
        ).start()
        return LaunchResult.accepted()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: Flower's SuperExec loop with the verified executor."""
    parser = argparse.ArgumentParser(description="Run the participant's verified SuperExec.")
    parser.add_argument("--runtime-api-address", required=True, help="SuperNode Runtime API")
    parser.add_argument("--fab-sha256", required=True, help="SHA-256 of the task's bundle")
    parser.add_argument("--insecure", action="store_true", help="no TLS to the Runtime API")
    parser.add_argument("--root-certificates", help="CA certificate of the Runtime API")
    parser.add_argument("--parent-pid", type=int, help="stop when this process exits")
    args = parser.parse_args(argv)
    executor = VerifiedExecutor(args.fab_sha256)
    executor.start()

    def verified_executor(*_args: Any, **_kwargs: Any) -> VerifiedExecutor:
        return executor

    require_functions(flower_superexec, "get_executor", "run_superexec")
    flower_superexec.get_executor = verified_executor
    flower_superexec.run_superexec(
        runtime_api_address=args.runtime_api_address,
        insecure=args.insecure,
        root_certificates_path=args.root_certificates,
        parent_pid=args.parent_pid,
        runtime_dependency_install=False,
    )


if __name__ == "__main__":
    main()
