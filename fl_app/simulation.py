"""Run a federated task in this process on Flower's Simulation Engine."""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flwr.app import Context
from flwr.simulation import run_simulation

from fl_app import payload
from fl_app.client.client_app import build_client_app
from fl_app.keys import KeyFiles
from fl_app.server.server_app import RoundCallback, RunReport, build_server_app
from fl_app.settings import RunSettings
from strategy import KeyHolder

__all__ = ["run_federated"]


def run_federated(
    overrides: Mapping[str, Any] | None = None,
    *,
    num_supernodes: int = 10,
    on_round: RoundCallback | None = None,
    verbose: bool = False,
) -> RunReport:
    """Train with ``num_supernodes`` simulated participants and return the run's report.

    With CKKS aggregation (the default) and no key files in the run config, participant 0
    acts as key holder: it makes the task's keys in a temporary directory, the server
    loads only the public context.

    ``overrides`` are run-config values (hyphenated keys) applied on top of the defaults;
    they are validated before anything starts. ``verbose`` forwards the participants'
    logs from the simulation workers.
    """
    settings = RunSettings.from_run_config({}, overrides)
    if settings.min_nodes > num_supernodes:
        overrides = {**(overrides or {}), "min-nodes": num_supernodes}
    with tempfile.TemporaryDirectory(prefix="fl-app-keys-") as key_dir:
        keys = None
        if settings.aggregation == "ckks" and not settings.ckks_public_context:
            keys = KeyFiles.create(Path(key_dir))
        return _run(overrides, settings, keys, num_supernodes, on_round, verbose)


def _run(
    overrides: Mapping[str, Any] | None,
    settings: RunSettings,
    keys: KeyFiles | None,
    num_supernodes: int,
    on_round: RoundCallback | None,
    verbose: bool,
) -> RunReport:
    def load_key_holder(context: Context) -> KeyHolder | None:
        if keys is None or int(context.node_config.get(payload.PARTITION_ID, -1)) != 0:
            return None
        return keys.load_key_holder(min_inputs=settings.ckks_min_inputs)

    report = RunReport()
    # Keep Ray's current behaviour (CPU-only workers) without its per-run notice.
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
    with warnings.catch_warnings():
        # run_simulation is the in-process entry point: the orchestrator (chain, IPFS)
        # shares this process with the ServerApp. Flower marks it deprecated in favour
        # of `flwr run`, which the Deployment Engine path uses.
        warnings.simplefilter("ignore", DeprecationWarning)
        run_simulation(
            server_app=build_server_app(overrides, report=report, on_round=on_round, keys=keys),
            client_app=build_client_app(overrides, load_key_holder=load_key_holder),
            num_supernodes=num_supernodes,
            backend_config={
                "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
                "init_args": {"logging_level": "ERROR", "log_to_driver": verbose},
            },
        )
    if len(report.rounds) != settings.num_server_rounds + 1:
        raise RuntimeError(
            f"the federated run stopped after {max(len(report.rounds) - 1, 0)} of "
            f"{settings.num_server_rounds} rounds; see the log above"
        )
    return report
