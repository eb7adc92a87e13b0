"""``fl-app train`` and ``fl-app demo``: runs on the Simulation Engine."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fl_app.commands.output import Output
from fl_app.errors import FlAppError
from fl_app.settings import DATASETS, PARTITIONINGS, RunSettings

if TYPE_CHECKING:
    from fl_app.run_report import RoundReport

__all__ = ["parse_overrides", "quiet_framework_logs", "register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``train`` and ``demo``."""
    help_text = "federated training on the Simulation Engine"
    train = commands.add_parser("train", help=help_text, description=help_text)
    train.add_argument("--dataset", choices=DATASETS, help="bundled data set")
    train.add_argument("--participants", type=int, default=10, help="simulated participants")
    train.add_argument("--rounds", type=int, help="federated rounds")
    train.add_argument("--partitioning", choices=PARTITIONINGS, help="how data is split")
    train.add_argument("--seed", type=int, help="seed of data split and training")
    train.add_argument("--dp", action="store_true", help="train with Opacus DP-SGD")
    train.add_argument(
        "--run-config",
        "-c",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any run-config value of pyproject.toml, e.g. -c learning-rate=0.1",
    )
    train.add_argument("--verbose", "-v", action="store_true", help="show Flower's logs")
    train.set_defaults(handler=_train)

    demo = commands.add_parser(
        "demo",
        help="a whole task on embedded defaults, from creation to the last claim",
        description="Create a task on the embedded chain, pin its template to a private "
        "Kubo daemon, stake, draw the decryption committee from the stakers, train with "
        "encrypted stake-gated FedAvg under the committee's key (one free-rider, one "
        "label-flipper), record every round with the members' attestations, settle and "
        "claim.",
    )
    demo.add_argument("--participants", type=int, default=6, help="participants (4-12)")
    demo.add_argument("--rounds", type=int, default=5, help="federated rounds")
    demo.add_argument("--dataset", choices=DATASETS, default="breast_cancer")
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--out", default="runs", help="where the report and figures go")
    decryption = demo.add_mutually_exclusive_group()
    decryption.add_argument(
        "--committee",
        metavar="N/T",
        help="decryption committee: N stakers drawn on chain, T of whom decrypt each round, "
        "a strict majority (default 5/3, or 4/3 with 4 participants)",
    )
    decryption.add_argument(
        "--key-holder",
        action="store_true",
        help="one participant holds the whole key instead (a consortium that trusts it)",
    )
    demo.add_argument(
        "--dashboard",
        nargs="?",
        type=int,
        const=0,
        metavar="PORT",
        help="serve a live dashboard of the task on 127.0.0.1 during the run and print its "
        "URL (PORT defaults to a free one); afterwards it stays up until Enter",
    )
    demo.add_argument("--verbose", "-v", action="store_true", help="show Flower's logs")
    demo.set_defaults(handler=_demo)


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise FlAppError(f"--run-config takes key=value pairs, got {pair!r}")
        overrides[key.strip()] = value.strip()
    return overrides


def _train(args: argparse.Namespace, out: Output) -> int:
    if args.participants < 2:
        raise FlAppError(
            f"--participants must be at least 2 (a sum of one update is that update), "
            f"got {args.participants}"
        )
    if args.rounds is not None and args.rounds < 1:
        raise FlAppError(f"--rounds must be at least 1, got {args.rounds}")
    overrides = parse_overrides(args.run_config)
    options = {
        "dataset": args.dataset,
        "partitioning": args.partitioning,
        "seed": args.seed,
        "num-server-rounds": args.rounds,
        "dp-enabled": True if args.dp else None,
    }
    for key, value in options.items():
        if value is None:
            continue
        if key in overrides and str(overrides[key]).lower() != str(value).lower():
            raise FlAppError(
                f"-c {key}={overrides[key]} contradicts the option that sets it to {value}: "
                "give it once"
            )
        overrides[key] = value
    settings = RunSettings.from_run_config({}, overrides)  # fail fast, before Ray starts
    settings.check_sampling(args.participants)

    from fl_app.report import RoundPrinter
    from fl_app.simulation import Federation, committee_shape, run_federated

    quiet_framework_logs(args.verbose)
    if settings.aggregation == "ckks" and settings.ckks_decryption == "committee":
        size, threshold = committee_shape(settings, args.participants)
        out.say(
            f"updates encrypted under a key held by a committee of {size} participants, "
            f"{threshold} of whom decrypt each round"
        )
    elif settings.aggregation == "ckks":
        out.say("updates encrypted under the key of participant 0, the key holder")
    printer = RoundPrinter(settings, num_participants=args.participants)
    report = run_federated(
        overrides,
        federation=Federation(num_supernodes=args.participants),
        on_round=printer,
        verbose=args.verbose,
    )
    printer.finish(report)
    return 0


def _demo(args: argparse.Namespace, out: Output) -> int:
    from fl_app.chain.idl import load_spec

    most = load_spec().max_participants
    if args.rounds < 1:
        raise FlAppError(f"--rounds must be at least 1, got {args.rounds}")
    if not 4 <= args.participants <= most:
        raise FlAppError(
            f"--participants must be 4 to {most} (honest participants, a free-rider and a "
            f"label-flipper; the staking program takes at most {most} per task)"
        )
    from fl_app.commands.task import parse_committee

    committee = None if args.key_holder else parse_committee(args.committee, args.participants)
    from rich.console import Console

    from fl_app.demo import DemoOptions, run_demo
    from fl_app.report import print_settlement, write_demo_report

    quiet_framework_logs(args.verbose)
    console = Console()
    options = DemoOptions(
        participants=args.participants,
        rounds=args.rounds,
        dataset=args.dataset,
        seed=args.seed,
        free_rider=args.participants - 2,
        label_flipper=args.participants - 1,
        committee=committee,
    )

    def show_round(report: RoundReport) -> None:
        line = f"round {report.server_round:>2}: test accuracy {report.accuracy:.4f}"
        if report.contributors:
            line += f", {len(report.contributors)} staked contributors"
        console.print(line)

    dashboard = None
    if args.dashboard is not None:
        from fl_app.dashboard import DemoDashboard

        dashboard = DemoDashboard(options, on_round=show_round, on_step=console.print)
        console.print(f"dashboard: {dashboard.serve(port=args.dashboard)}")
    try:
        if dashboard is None:
            result = run_demo(options, on_round=show_round, on_step=console.print)
        else:
            result = dashboard.run()
        print_settlement(result, console)
        report = write_demo_report(result, Path(args.out) / f"task-{str(result.task)[:8]}")
        console.print(f"report with figures: {report}")
        if dashboard is not None:
            dashboard.linger(interactive=sys.stdin.isatty())
    finally:
        if dashboard is not None:
            dashboard.close()
    return 0


def quiet_framework_logs(verbose: bool) -> None:
    """Keep Flower's logs to errors unless ``verbose``."""
    flwr_logger = logging.getLogger("flwr")
    # Opacus configures the root logger on import; Flower's own handler is enough.
    flwr_logger.propagate = False
    if not verbose:
        flwr_logger.setLevel(logging.ERROR)
