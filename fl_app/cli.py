"""``fl-app``: the command line of organisations and participants."""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fl_app.errors import FlAppError
from fl_app.settings import DATASETS, PARTITIONINGS, RunSettings

if TYPE_CHECKING:
    from fl_app.server.server_app import RoundReport

__all__ = ["main"]


def _parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise FlAppError(f"--run-config takes key=value pairs, got {pair!r}")
        overrides[key.strip()] = value.strip()
    return overrides


def _cmd_train(args: argparse.Namespace) -> int:
    overrides = _parse_overrides(args.run_config)
    for key in ("dataset", "partitioning", "seed"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    if args.rounds is not None:
        overrides["num-server-rounds"] = args.rounds
    if args.dp:
        overrides["dp-enabled"] = True
    settings = RunSettings.from_run_config({}, overrides)  # fail fast, before Ray starts

    from fl_app.report import RoundPrinter
    from fl_app.simulation import Federation, run_federated

    _quiet_framework_logs(args.verbose)
    printer = RoundPrinter(settings, num_participants=args.participants)
    report = run_federated(
        overrides,
        federation=Federation(num_supernodes=args.participants),
        on_round=printer,
        verbose=args.verbose,
    )
    printer.finish(report)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.participants < 4:
        raise FlAppError(
            "--participants must be at least 4 (a key holder, two honest, one adversary)"
        )
    from rich.console import Console

    from fl_app.demo import DemoOptions, run_demo
    from fl_app.report import print_settlement, write_demo_report

    _quiet_framework_logs(args.verbose)
    console = Console()
    options = DemoOptions(
        participants=args.participants,
        rounds=args.rounds,
        dataset=args.dataset,
        seed=args.seed,
        free_rider=args.participants - 2,
        label_flipper=args.participants - 1,
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


def _cmd_data_check(args: argparse.Namespace) -> int:
    from fl_app.ml import load_csv

    data = load_csv(args.path, args.target)
    print(
        f"{args.path}: {len(data)} rows, {data.x.shape[1]} features, {data.num_classes} classes "
        f"(labels: {', '.join(str(int(c)) for c in sorted(set(data.y.tolist())))})"
    )
    return 0


def _quiet_framework_logs(verbose: bool) -> None:
    flwr_logger = logging.getLogger("flwr")
    # Opacus configures the root logger on import; Flower's own handler is enough.
    flwr_logger.propagate = False
    if not verbose:
        flwr_logger.setLevel(logging.ERROR)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fl-app",
        description="Staked, encrypted federated learning on Flower, IPFS and Solana.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add_train(name: str, help_text: str) -> None:
        cmd = commands.add_parser(name, help=help_text, description=help_text)
        cmd.add_argument("--dataset", choices=DATASETS, help="bundled data set")
        cmd.add_argument("--participants", type=int, default=10, help="simulated participants")
        cmd.add_argument("--rounds", type=int, help="federated rounds")
        cmd.add_argument("--partitioning", choices=PARTITIONINGS, help="how data is split")
        cmd.add_argument("--seed", type=int, help="seed of data split and training")
        cmd.add_argument("--dp", action="store_true", help="train with Opacus DP-SGD")
        cmd.add_argument(
            "--run-config",
            "-c",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="any run-config value of pyproject.toml, e.g. -c learning-rate=0.1",
        )
        cmd.add_argument("--verbose", "-v", action="store_true", help="show Flower's logs")
        cmd.set_defaults(func=_cmd_train)

    add_train("train", "federated training on the Simulation Engine")

    demo = commands.add_parser(
        "demo",
        help="a whole task on embedded defaults, from creation to the last claim",
        description="Create a task on the embedded chain, pin its template and CKKS context "
        "to a private Kubo daemon, stake, train with encrypted stake-gated FedAvg (one "
        "free-rider, one label-flipper), record every round, settle and claim.",
    )
    demo.add_argument("--participants", type=int, default=6, help="participants (4-12)")
    demo.add_argument("--rounds", type=int, default=5, help="federated rounds")
    demo.add_argument("--dataset", choices=DATASETS, default="breast_cancer")
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--out", default="runs", help="where the report and figures go")
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
    demo.set_defaults(func=_cmd_demo)

    data = commands.add_parser("data", help="participants' data files")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")
    check = data_commands.add_parser(
        "check",
        help="check that a CSV file can be used for training",
        description="Check that a CSV file has a header, numeric columns, no missing values "
        "and integer class labels in the target column.",
    )
    check.add_argument("path", help="CSV file with a header row")
    check.add_argument("--target", required=True, help="name of the label column")
    check.set_defaults(func=_cmd_data_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fl-app`` console script."""
    args = _parser().parse_args(argv)
    if not getattr(args, "verbose", False):
        # Libraries' notices about their own future (anchorpy's dependencies, Ray) are
        # not the user's to act on.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        return int(args.func(args))
    except FlAppError as exc:
        print(f"fl-app: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fl-app: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
