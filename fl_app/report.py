"""Human-readable progress and summaries of a federated run."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fl_app import payload
from fl_app.demo import LAMPORTS_PER_SOL, DemoResult
from fl_app.plots import plot_accuracy, plot_bytes, plot_rewards
from fl_app.run_report import RoundReport, RunReport
from fl_app.settings import RunSettings

__all__ = ["RoundPrinter", "print_settlement", "write_demo_report"]


class RoundPrinter:
    """Shows a progress bar over rounds and one line of test accuracy per round."""

    def __init__(self, settings: RunSettings, *, num_participants: int) -> None:
        self._console = Console(stderr=False)
        self._console.print(
            f"[bold]{settings.dataset}[/]: {num_participants} participants, "
            f"{settings.partitioning} split (seed {settings.seed}), "
            f"{settings.num_server_rounds} rounds"
            + (
                f", DP-SGD target epsilon {settings.dp_target_epsilon}"
                if settings.dp_enabled
                else ""
            )
        )
        self._progress = Progress(
            TextColumn("rounds"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self._console,
            transient=True,
        )
        self._task = self._progress.add_task("rounds", total=settings.num_server_rounds)
        self._progress.start()

    def __call__(self, report: RoundReport) -> None:
        self._progress.console.print(
            f"round {report.server_round:>3}: test accuracy {report.accuracy:.4f}  "
            f"loss {report.loss:.4f}"
        )
        if report.server_round > 0:
            self._progress.advance(self._task)

    def finish(self, report: RunReport) -> None:
        self._progress.stop()
        table = Table(title="Run summary")
        table.add_column("round", justify="right")
        table.add_column("test accuracy", justify="right")
        table.add_column("max epsilon spent", justify="right")
        for r in report.rounds[1:]:
            eps = report.train_metrics.get(r.server_round, {}).get(f"{payload.DP_EPSILON}-max")
            table.add_row(
                str(r.server_round), f"{r.accuracy:.4f}", "-" if eps is None else f"{eps:.2f}"
            )
        self._console.print(table)
        self._console.print(f"final test accuracy: [bold]{report.final_accuracy:.4f}[/]")


def print_settlement(result: DemoResult, console: Console | None = None) -> None:
    """The demo's closing tables: each participant's score, reward and stake returned,
    and the task vault's lamports before and after settlement."""
    out = console or Console()
    table = Table(title=f"Settlement of task {result.task}")
    table.add_column("participant", no_wrap=True)
    table.add_column("behaviour", no_wrap=True)
    table.add_column("score share", justify="right", no_wrap=True)
    table.add_column("reward SOL", justify="right", no_wrap=True)
    table.add_column("stake back SOL", justify="right", no_wrap=True)
    total = sum(o.score for o in result.outcomes) or 1
    for outcome in result.outcomes:
        table.add_row(
            f"{outcome.address[:8]}",
            outcome.behaviour.value,
            f"{100 * outcome.score / total:.1f} %",
            _sol(outcome.reward),
            _sol(outcome.stake_returned),
        )
    out.print(table)
    chain = Table(title="Chain balances (lamports)")
    chain.add_column("what")
    chain.add_column("lamports", justify="right")
    chain.add_row("vault before training (pool + stakes + rent)", f"{result.lamports_in:,}")
    chain.add_row("paid out by claims", f"{result.lamports_out:,}")
    chain.add_row("left in the vault after claims (rent)", f"{result.vault_after:,}")
    chain.add_row("rent returned by task close", f"{result.rent_returned:,}")
    out.print(chain)
    out.print(f"manifests on IPFS and chain: {', '.join(result.manifest_cids)}")


def _sol(lamports: int) -> str:
    return f"{lamports / LAMPORTS_PER_SOL:.4f}"


def write_demo_report(result: DemoResult, directory: Path) -> Path:
    """Write ``report.md`` with the run's tables and figures into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    labels = [f"{o.address[:6]} ({o.behaviour.value})" for o in result.outcomes]
    plot_accuracy(
        [(r.server_round, r.accuracy) for r in result.report.rounds], directory / "accuracy.png"
    )
    plot_bytes(result.report.rounds, directory / "bytes.png")
    plot_rewards(
        labels,
        [o.score for o in result.outcomes],
        [o.reward / LAMPORTS_PER_SOL for o in result.outcomes],
        directory / "rewards.png",
    )
    lines = [
        f"# Task {result.task}",
        "",
        "![accuracy per round](accuracy.png)",
        "",
        "| round | test accuracy | contributors | manifest CID |",
        "|---:|---:|---:|---|",
    ]
    for r, cid in zip(result.report.rounds[1:], result.manifest_cids, strict=True):
        lines.append(f"| {r.server_round} | {r.accuracy:.4f} | {len(r.contributors)} | `{cid}` |")
    lines += [
        "",
        "![bytes per participant per round](bytes.png)",
        "",
        "![contribution and reward per participant](rewards.png)",
        "",
        "| participant | behaviour | score | reward (SOL) | stake returned (SOL) |",
        "|---|---|---:|---:|---:|",
    ]
    for o in result.outcomes:
        lines.append(
            f"| `{o.address}` | {o.behaviour.value} | {o.score:,} | {_sol(o.reward)} | "
            f"{_sol(o.stake_returned)} |"
        )
    lines += [
        "",
        f"Vault: {result.lamports_in:,} lamports before training, {result.lamports_out:,} "
        f"paid out by claims, {result.vault_after:,} left (the account's rent), "
        f"{result.rent_returned:,} of rent returned to the organisation by task close.",
        "",
    ]
    path = directory / "report.md"
    path.write_text("\n".join(lines))
    return path
