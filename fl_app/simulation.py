"""Run a federated task in this process on Flower's Simulation Engine."""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flwr.app import Context
from flwr.simulation import run_simulation
from ray import cloudpickle as ray_cloudpickle

from fl_app import payload
from fl_app.client.behaviour import Behaviour
from fl_app.client.bundle_app import BundleClient, template_client
from fl_app.keys import KeyFiles
from fl_app.run_report import RunReport
from fl_app.server.server_app import RoundCallback, ServerServices, build_server_app
from fl_app.settings import RunSettings
from strategy import KeyHolder, Wallet
from strategy.stake_gate import StakeGate

__all__ = ["Federation", "run_federated"]


@dataclass(frozen=True, kw_only=True)
class Federation:
    """Who takes part in an in-process run, and what the organisation brings.

    Attributes
    ----------
    num_supernodes
        Simulated participants; each gets partition ``0 .. num_supernodes - 1``.
    keys
        The task's CKKS key files, held by partition ``key_holder``. When None and the
        run is encrypted, fresh keys are made in a temporary directory.
    key_holder
        Partition of the participant that holds the sealed secret context.
    wallets
        Participants' wallets, by partition; they prove stakes.
    gate
        The organisation's stake gate; None samples every node.
    behaviours
        Adversarial partitions (demos and fairness runs).
    client
        The verified bundle whose ClientApp every participant runs (the task's, in the
        demo). When None, the bundle built from ``client_template/`` is used.
    """

    num_supernodes: int = 10
    keys: KeyFiles | None = None
    key_holder: int = 0
    wallets: Mapping[int, Wallet] = field(default_factory=dict)
    gate: StakeGate | None = None
    behaviours: Mapping[int, Behaviour] = field(default_factory=dict)
    client: BundleClient | None = None


def run_federated(
    overrides: Mapping[str, Any] | None = None,
    *,
    federation: Federation | None = None,
    on_round: RoundCallback | None = None,
    verbose: bool = False,
) -> RunReport:
    """Train on the Simulation Engine and return the run's report.

    ``overrides`` are run-config values (hyphenated keys) applied on top of the defaults;
    they are validated before anything starts. ``verbose`` forwards the participants'
    logs from the simulation workers.
    """
    members = federation if federation is not None else Federation()
    settings = RunSettings.from_run_config({}, overrides)
    if settings.min_nodes > members.num_supernodes:
        overrides = {**(overrides or {}), "min-nodes": members.num_supernodes}
        settings = RunSettings.from_run_config({}, overrides)
    settings.check_sampling(members.num_supernodes)
    with tempfile.TemporaryDirectory(prefix="fl-app-keys-") as key_dir:
        keys = members.keys
        if keys is None and settings.aggregation == "ckks" and not settings.ckks_public_context:
            keys = KeyFiles.create(Path(key_dir), scoring=settings.contribution_scoring)
        client = members.client or template_client(Path(key_dir) / "bundle")
        return _run(overrides, settings, members, keys, client, on_round, verbose)


def _run(
    overrides: Mapping[str, Any] | None,
    settings: RunSettings,
    members: Federation,
    keys: KeyFiles | None,
    client: BundleClient,
    on_round: RoundCallback | None,
    verbose: bool,
) -> RunReport:
    key_holder, wallets = members.key_holder, dict(members.wallets)

    def load_key_holder(context: Context) -> KeyHolder | None:
        if keys is None or _partition(context) != key_holder:
            return None
        return keys.load_key_holder(min_inputs=settings.ckks_min_inputs)

    def load_wallet(context: Context) -> Wallet | None:
        return wallets.get(_partition(context))

    report = RunReport()
    services = ServerServices(
        public_context=None if keys is None else keys.public_context.read_bytes(),
        key_holder=None if keys is None else keys.key_holder_address,
        gate=members.gate,
        on_round=on_round,
    )
    # Keep Ray's current behaviour (CPU-only workers) without its per-run notice.
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
    # Ray workers cannot import the bundle's module by name: they get it by value.
    ray_cloudpickle.register_pickle_by_value(client.module)
    with warnings.catch_warnings():
        # run_simulation is the in-process entry point: the orchestrator (chain, IPFS)
        # shares this process with the ServerApp. Flower marks it deprecated in favour
        # of `flwr run`, which the Deployment Engine path uses.
        warnings.simplefilter("ignore", DeprecationWarning)
        run_simulation(
            server_app=build_server_app(overrides, report=report, services=services),
            client_app=client.build(
                overrides,
                load_key_holder=load_key_holder,
                load_wallet=load_wallet,
                behaviours=members.behaviours,
            ),
            num_supernodes=members.num_supernodes,
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


def _partition(context: Context) -> int:
    return int(context.node_config.get(payload.PARTITION_ID, -1))
