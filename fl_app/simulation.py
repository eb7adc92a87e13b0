"""Run a federated task in this process on Flower's Simulation Engine."""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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
from fl_app.server.committee import TaskCommittee
from fl_app.server.server_app import RoundCallback, ServerServices, build_server_app
from fl_app.settings import RunSettings
from strategy import KeyHolder, Wallet
from strategy.stake_gate import StakeGate
from strategy.threshold.member_app import MemberSetup

__all__ = ["Federation", "committee_shape", "run_federated"]


@dataclass(frozen=True, kw_only=True)
class Federation:
    """Who takes part in an in-process run, and what the organisation brings.

    Attributes
    ----------
    num_supernodes
        Simulated participants; each gets partition ``0 .. num_supernodes - 1``.
    committee
        The task's decryption committee: the partitions whose wallets it names are its
        members, and every participant pins its wallets. When neither it nor ``keys`` is
        given and the run is encrypted, ``ckks-decryption`` decides: the first
        ``committee-size`` partitions form a committee (with fresh wallets where none is
        given), or fresh key-holder keys are made in a temporary directory.
    keys
        Instead of a committee: the task's TenSEAL key files, held by partition
        ``key_holder``.
    key_holder
        Partition of the participant that holds the sealed secret context.
    wallets
        Participants' wallets, by partition; they prove stakes and sign commitments.
    gate
        The organisation's stake gate; None samples every node.
    behaviours
        Adversarial partitions (demos and fairness runs).
    client
        The verified bundle whose ClientApp every participant runs (the task's, in the
        demo). When None, the bundle built from ``client_template/`` is used.
    kept_updates
        Where participants keep the encrypted vectors they send, partition ``i`` in
        ``partition-i`` (to audit their score shares after the run); None keeps none.
    """

    num_supernodes: int = 10
    committee: TaskCommittee | None = None
    keys: KeyFiles | None = None
    key_holder: int = 0
    wallets: Mapping[int, Wallet] = field(default_factory=dict)
    gate: StakeGate | None = None
    behaviours: Mapping[int, Behaviour] = field(default_factory=dict)
    client: BundleClient | None = None
    kept_updates: Path | None = None


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
        unkeyed = members.committee is None and keys is None and not settings.ckks_public_context
        if unkeyed and settings.aggregation == "ckks":
            if settings.ckks_decryption == "committee":
                members = _with_committee(members, settings)
            else:
                keys = KeyFiles.create(Path(key_dir), scoring=settings.contribution_scoring)
        client = members.client or template_client(Path(key_dir) / "bundle")
        return _run(overrides, settings, members, keys, client, Path(key_dir), on_round, verbose)


def committee_shape(settings: RunSettings, available: int) -> tuple[int, int]:
    """``(size, threshold)`` of an in-process run's committee over ``available`` wallets:
    ``committee-size`` of them, or all of fewer with the smallest strict majority."""
    size = min(settings.committee_size, available)
    if size == settings.committee_size:
        return size, settings.committee_threshold
    return size, size // 2 + 1


def _with_committee(members: Federation, settings: RunSettings) -> Federation:
    """``members`` with a committee of its first partitions (``committee_shape``), and a
    wallet for everyone."""
    wallets = {
        p: members.wallets.get(p) or Wallet.generate() for p in range(members.num_supernodes)
    }
    addresses = list(dict.fromkeys(w.address for w in wallets.values()))  # distinct, in order
    size, threshold = committee_shape(settings, len(addresses))
    seats = tuple(addresses[:size])
    committee = TaskCommittee.of(settings.task_address or settings.task_id, seats, threshold)
    return replace(members, committee=committee, wallets=wallets)


def _run(
    overrides: Mapping[str, Any] | None,
    settings: RunSettings,
    members: Federation,
    keys: KeyFiles | None,
    client: BundleClient,
    scratch: Path,
    on_round: RoundCallback | None,
    verbose: bool,
) -> RunReport:
    key_holder, wallets, committee = members.key_holder, dict(members.wallets), members.committee
    seats = frozenset(committee.wallets if committee is not None else ())
    staked = frozenset(w.address for w in wallets.values())

    def load_key_holder(context: Context) -> KeyHolder | None:
        if keys is None or _partition(context) != key_holder:
            return None
        return keys.load_key_holder(min_inputs=settings.ckks_min_inputs)

    def load_wallet(context: Context) -> Wallet | None:
        return wallets.get(_partition(context))

    def load_member(context: Context) -> MemberSetup | None:
        # A member keeps its share of the key in a store of its own for the run.
        partition = _partition(context)
        wallet = wallets.get(partition)
        if wallet is None or wallet.address not in seats:
            return None
        store = scratch / f"member-{partition}"
        return MemberSetup(wallet, store, settings.ckks_min_inputs, staked)

    def load_committee(context: Context) -> tuple[str, ...]:
        return () if committee is None else committee.wallets

    kept = members.kept_updates  # the closures travel to Ray's workers: no chain in them

    def load_kept_dir(context: Context) -> Path | None:
        return None if kept is None else kept / f"partition-{_partition(context)}"

    report = RunReport()
    services = ServerServices(
        committee=committee,
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
                load_member=load_member,
                load_wallet=load_wallet,
                load_committee=load_committee,
                load_kept_dir=load_kept_dir,
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
