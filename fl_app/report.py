"""Human-readable progress and summaries of a federated run."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fl_app import payload
from fl_app.server.server_app import RoundReport, RunReport
from fl_app.settings import RunSettings

__all__ = ["RoundPrinter"]


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
