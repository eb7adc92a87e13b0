"""Run a federated task in this process on Flower's Simulation Engine."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import Any

from flwr.simulation import run_simulation

from fl_app.client.client_app import build_client_app
from fl_app.server.server_app import RoundCallback, RunReport, build_server_app
from fl_app.settings import RunSettings

__all__ = ["run_federated"]


def run_federated(
    overrides: Mapping[str, Any] | None = None,
    *,
    num_supernodes: int = 10,
    on_round: RoundCallback | None = None,
    verbose: bool = False,
) -> RunReport:
    """Train with ``num_supernodes`` simulated participants and return the run's report.

    ``overrides`` are run-config values (hyphenated keys) applied on top of the defaults;
    they are validated before anything starts. ``verbose`` forwards the participants'
    logs from the simulation workers.
    """
    settings = RunSettings.from_run_config({}, overrides)
    if settings.min_nodes > num_supernodes:
        overrides = {**(overrides or {}), "min-nodes": num_supernodes}
    report = RunReport()
    # Keep Ray's current behaviour (CPU-only workers) without its per-run notice.
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
    with warnings.catch_warnings():
        # run_simulation is the in-process entry point: the orchestrator (chain, IPFS)
        # shares this process with the ServerApp. Flower marks it deprecated in favour
        # of `flwr run`, which the Deployment Engine path uses.
        warnings.simplefilter("ignore", DeprecationWarning)
        run_simulation(
            server_app=build_server_app(overrides, report=report, on_round=on_round),
            client_app=build_client_app(overrides),
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
