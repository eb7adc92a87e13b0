"""Flower ServerApp: federated training of the global model with central evaluation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from logging import INFO, WARNING
from pathlib import Path
from typing import Any

from flwr.app import ArrayRecord, Context, MetricRecord
from flwr.common import log
from flwr.serverapp import Grid, ServerApp

from fl_app import payload
from fl_app.errors import ConfigError
from fl_app.ml import TabularMLP, build_model, evaluate, org_split
from fl_app.run_report import RoundReport, RunReport
from fl_app.server.committee import TaskCommittee, convene
from fl_app.server.metrics import aggregate_train_metrics
from fl_app.server.prompt_grid import PromptGrid
from fl_app.server.reference import reference_update_fn
from fl_app.settings import RunSettings
from strategy import EncryptedFedAvg
from strategy.round_outcome import ReportingFedAvg, RoundOutcome
from strategy.stake_gate import StakeGate
from strategy.stake_gated import StakeGatedStrategy

__all__ = ["ServerServices", "app", "build_server_app"]


RoundCallback = Callable[[RoundReport], None]


@dataclass(frozen=True, kw_only=True)
class ServerServices:
    """What an organisation running in this process hands its ServerApp.

    Attributes
    ----------
    committee
        The task's decryption committee; its members make the task's key when the run
        starts. The default for encrypted runs.
    public_context, key_holder
        Instead of a committee: the task's public TenSEAL context and its key holder's
        wallet address. Without either, the run-config values ``ckks-public-context``
        (a path) and ``ckks-key-holder`` are used.
    gate
        Admits only nodes that prove an active stake on the task.
    on_round
        Called after the global model is evaluated each round (progress, manifests,
        on-chain records).
    """

    committee: TaskCommittee | None = None
    public_context: bytes | None = None
    key_holder: str | None = None
    gate: StakeGate | None = None
    on_round: RoundCallback | None = None


def build_server_app(
    overrides: Mapping[str, Any] | None = None,
    *,
    report: RunReport | None = None,
    services: ServerServices | None = None,
) -> ServerApp:
    """Create the ServerApp.

    Parameters
    ----------
    overrides
        Values that replace run-config entries (for in-process runs).
    report
        Filled with per-round metrics and the final model when given.
    services
        Keys, stake gate and round callback of an in-process organisation.
    """
    app = ServerApp()
    run_report = report if report is not None else RunReport()
    given = services

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        settings = RunSettings.from_run_config(context.run_config, overrides)
        run_report.settings = settings
        extra = given if given is not None else _services_from_run_config(settings)
        split = org_split(settings.dataset, settings.seed)
        model = build_model(split.reference, hidden_units=settings.hidden_units, seed=settings.seed)

        strategy = _make_strategy(settings, extra, grid)

        def evaluate_global(server_round: int, arrays: ArrayRecord) -> MetricRecord:
            result = evaluate(TabularMLP.from_state_dict(arrays.to_torch_state_dict()), split.test)
            # Round 0 is the initial model: nothing was aggregated.
            outcome = strategy.outcomes.get(server_round, RoundOutcome(server_round=server_round))
            round_report = RoundReport(
                server_round,
                result.accuracy,
                result.loss,
                arrays,
                contributors=outcome.contributors,
                manifest=outcome.manifest,
                scalars=dict(outcome.scalars),
                reference_norm=outcome.reference_norm,
                weight_scale=settings.ckks_weight_scale if outcome.scalars else 0.0,
                reference_update=outcome.reference_update,
                ciphertext_bytes=outcome.ciphertext_bytes,
                skipped=outcome.skipped,
                attestations=outcome.attestations,
                decrypted_scalars=outcome.decrypted_scalars,
                scores_attestation=outcome.scores_attestation,
                committee_scores=outcome.committee_scores,
            )
            run_report.rounds.append(round_report)
            log(
                INFO,
                "round %d: test accuracy %.4f, loss %.4f",
                server_round,
                result.accuracy,
                result.loss,
            )
            if extra.on_round is not None:
                extra.on_round(round_report)
            return MetricRecord(
                {payload.EVAL_ACCURACY: result.accuracy, payload.EVAL_LOSS: result.loss}
            )

        initial_arrays = ArrayRecord(model.state_dict())
        result = strategy.start(
            grid=PromptGrid(grid),
            initial_arrays=initial_arrays,
            num_rounds=settings.num_server_rounds,
            evaluate_fn=evaluate_global,
        )
        # Flower leaves the result's arrays empty when no round was aggregated.
        run_report.final_arrays = result.arrays if len(result.arrays) else initial_arrays
        _log_summary(run_report)
        run_report.train_metrics = {
            r: dict(metrics) for r, metrics in result.train_metrics_clientapp.items()
        }

    return app


def _log_summary(report: RunReport) -> None:
    """One line per skipped round and a total, at the end of the run."""
    rounds = report.rounds[1:]
    skipped = [r for r in rounds if r.skipped]
    for r in skipped:
        log(WARNING, "round %d was skipped: %s", r.server_round, r.skipped)
    log(
        INFO if not skipped else WARNING,
        "run summary: %d of %d round(s) aggregated, %d skipped",
        len(rounds) - len(skipped),
        len(rounds),
        len(skipped),
    )


def _services_from_run_config(settings: RunSettings) -> ServerServices:
    """Services of a run bound to an on-chain task (``task-address`` set), else none."""
    if not settings.task_address:
        return ServerServices()
    from fl_app.server.task_services import task_services

    return task_services(settings)


def _make_strategy(
    settings: RunSettings, services: ServerServices, grid: Grid
) -> ReportingFedAvg | StakeGatedStrategy:
    """Encrypted FedAvg by default, stake-gated when a gate is given."""
    inner = _make_aggregation(settings, services, grid)
    if services.gate is None:
        return inner
    return StakeGatedStrategy(inner, services.gate, node_wait_timeout=settings.node_wait_timeout)


def _make_aggregation(
    settings: RunSettings, services: ServerServices, grid: Grid
) -> ReportingFedAvg:
    """Encrypted FedAvg by default; plaintext FedAvg only when asked, with a warning.

    With a committee, its members first make the task's key over ``grid``.
    """
    common: dict[str, Any] = {
        "fraction_train": settings.fraction_train,
        "fraction_evaluate": settings.fraction_evaluate,
        "min_train_nodes": settings.min_nodes,
        "min_evaluate_nodes": settings.min_nodes if settings.fraction_evaluate > 0 else 0,
        "min_available_nodes": settings.min_nodes,
        "train_metrics_aggr_fn": aggregate_train_metrics,
    }
    if settings.aggregation == "plain":
        log(
            WARNING,
            "aggregation = plain: the server sees every participant's update in plaintext; "
            "use it only as a baseline",
        )
        return ReportingFedAvg(**common)
    decryptors: dict[str, Any]
    if services.committee is not None:
        public_key, committee = convene(grid, services.committee, settings.node_wait_timeout)
        decryptors = {"public_context": public_key, "committee": committee}
    else:
        public_context, key_holder = _key_holder_context(settings, services)
        decryptors = {"public_context": public_context, "key_holder_wallet": key_holder}
    return EncryptedFedAvg(
        task_id=settings.task_address or settings.task_id,
        min_decrypt_inputs=settings.ckks_min_inputs,
        weight_scale=settings.ckks_weight_scale,
        reference_update_fn=reference_update_fn(settings)
        if settings.contribution_scoring
        else None,
        **decryptors,
        **common,
    )


def _key_holder_context(settings: RunSettings, services: ServerServices) -> tuple[bytes, str]:
    """The key holder's public context and wallet: the organisation's, else the run
    config's."""
    if services.public_context is not None and services.key_holder is not None:
        return services.public_context, services.key_holder
    if settings.ckks_decryption == "committee":
        raise ConfigError(
            "ckks-decryption = committee: the committee is drawn from a task's stakers, so "
            "bind the run to a task ('task-address') or run it in process; or set "
            "ckks-decryption = key-holder with 'ckks-public-context' and 'ckks-key-holder'"
        )
    if not settings.ckks_public_context or not settings.ckks_key_holder:
        raise ConfigError(
            "aggregation = ckks needs run config 'ckks-public-context' (path of the "
            "task's public CKKS context) and 'ckks-key-holder' (the key holder's wallet)"
        )
    path = Path(settings.ckks_public_context)
    if not path.is_file():
        raise ConfigError(f"run config 'ckks-public-context': no file at {path}")
    return path.read_bytes(), settings.ckks_key_holder


app = build_server_app()
