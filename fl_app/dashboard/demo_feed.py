"""Watch a demo run on the dashboard: the chain to hand it, its callbacks, the server."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from fl_app.chain import StakingClient
from fl_app.dashboard.observed_transport import ObservedTransport
from fl_app.dashboard.server import DashboardServer
from fl_app.dashboard.state import DashboardState
from fl_app.dashboard.web import POLL_INTERVAL_MS, create_app

if TYPE_CHECKING:
    from flask import Flask

    from fl_app.demo import DemoOptions, DemoResult
    from fl_app.ipfs import KuboDaemon
    from fl_app.run_report import RoundReport

__all__ = ["DemoDashboard"]


class DemoDashboard:
    """Runs `fl_app.demo.run_demo` with a dashboard fed by it.

    The demo gets an `ObservedTransport` (so every transaction and the task's address
    reach the state, and the state reads live accounts through the same chain) and
    callbacks that update the state before calling ``on_round`` / ``on_step``.

    Parameters
    ----------
    options
        The demo's scenario; its planned behaviours label participants during the run.
    on_round, on_step
        Further callbacks, called after the dashboard has seen the round or step.
    """

    def __init__(
        self,
        options: DemoOptions,
        *,
        on_round: Callable[[RoundReport], None] | None = None,
        on_step: Callable[[str], None] | None = None,
    ) -> None:
        self.options = options
        self.state = DashboardState(behaviours=options.behaviours())
        self.transport = ObservedTransport(on_transaction=self.state.record_transaction)
        self.state.watch(StakingClient(self.transport, program_id=self.transport.program_id))
        self.app: Flask = create_app(self.state)
        self._on_round = on_round
        self._on_step = on_step
        self._server: DashboardServer | None = None

    def on_round(self, report: RoundReport) -> None:
        """The demo's ``on_round``."""
        self.state.record_round(report)
        if self._on_round is not None:
            self._on_round(report)

    def on_step(self, message: str) -> None:
        """The demo's ``on_step``."""
        self.state.record_step(message)
        if self._on_step is not None:
            self._on_step(message)

    def run(self, *, daemon: KuboDaemon | None = None) -> DemoResult:
        """Run the demo (see `run_demo`); the state gets its result or its failure."""
        from fl_app.demo import run_demo

        try:
            result = run_demo(
                self.options,
                daemon=daemon,
                transport=self.transport,
                on_round=self.on_round,
                on_step=self.on_step,
            )
        except BaseException as err:
            self.state.record_failure(f"{type(err).__name__}: {err}")
            raise
        self.state.record_result(result)
        return result

    def serve(self, *, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve the dashboard in the background; return its URL (port 0: a free one)."""
        if self._server is None:
            self._server = DashboardServer(self.app, host=host, port=port)
        return self._server.start()

    def linger(self, *, interactive: bool) -> None:
        """Keep serving after the run, so open pages show how it ended.

        ``interactive``: until the user presses Enter (or Ctrl+C); otherwise for two
        polling intervals, long enough for every open page to fetch the final state.
        """
        if self._server is None:
            return
        if not interactive:
            time.sleep(2 * POLL_INTERVAL_MS / 1000)
            return
        with contextlib.suppress(EOFError, KeyboardInterrupt):
            input(f"The dashboard stays at {self._server.url} until you press Enter. ")

    def close(self) -> None:
        """Stop serving, if serving."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> DemoDashboard:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
