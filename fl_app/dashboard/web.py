"""The dashboard's Flask application: server-rendered pages, an HTML fragment to poll,
and the run's figures as PNG."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from flask import Flask, Response, abort, render_template

from fl_app.dashboard.state import LAMPORTS_PER_SOL, DashboardState
from fl_app.plots import plot_accuracy, plot_rewards

__all__ = ["POLL_INTERVAL_MS", "create_app"]

POLL_INTERVAL_MS = 2000
"""How often an open page fetches the live fragment while the run goes on."""


def create_app(state: DashboardState) -> Flask:
    """A Flask app showing ``state``.

    Routes: ``/`` the page, ``/live`` the part of it that changes (fetched by the
    page every `POLL_INTERVAL_MS` until the run ends), ``/plots/accuracy.png`` and
    ``/plots/rewards.png`` the figures of `fl_app.plots`.
    """
    app = Flask(__name__)
    plots = _PlotCache(state)
    app.jinja_env.filters["sol"] = _sol
    app.jinja_env.filters["short"] = _short

    @app.get("/")
    def page() -> str:
        return render_template(
            "page.html", snap=state.snapshot(), poll_interval_ms=POLL_INTERVAL_MS
        )

    @app.get("/live")
    def live() -> Response:
        response = Response(render_template("live.html", snap=state.snapshot()))
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/plots/<name>.png")
    def plot(name: str) -> Response:
        if name not in _PLOTS:
            abort(404)
        response = Response(plots.png(name), mimetype="image/png")
        # Pages ask for plots with ?v=<state version>, so a cached copy is never stale.
        response.headers["Cache-Control"] = "max-age=3600"
        return response

    return app


class _PlotCache:
    """Renders each figure once per state version; matplotlib is not thread-safe."""

    def __init__(self, state: DashboardState) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[int, bytes]] = {}

    def png(self, name: str) -> bytes:
        with self._lock:
            version = self._state.version
            cached = self._cache.get(name)
            if cached is not None and cached[0] == version:
                return cached[1]
            with tempfile.TemporaryDirectory(prefix="fl-app-dashboard-") as scratch:
                path = Path(scratch) / f"{name}.png"
                _PLOTS[name](self._state, path)
                data = path.read_bytes()
            self._cache[name] = (version, data)
            return data


def _plot_accuracy(state: DashboardState, path: Path) -> None:
    plot_accuracy(state.accuracy_points(), path)


def _plot_rewards(state: DashboardState, path: Path) -> None:
    people = state.snapshot().participants
    plot_rewards(
        [f"{p.address[:6]} ({p.behaviour})" for p in people],
        [p.score for p in people],
        [p.reward / LAMPORTS_PER_SOL for p in people],
        path,
    )


_PLOTS: dict[str, Callable[[DashboardState, Path], None]] = {
    "accuracy": _plot_accuracy,
    "rewards": _plot_rewards,
}


def _sol(lamports: int | None) -> str:
    return "—" if lamports is None else f"{lamports / LAMPORTS_PER_SOL:,.4f}"


def _short(text: str | None, keep: int = 8) -> str:
    if not text:
        return "—"
    return text if len(text) <= 2 * keep + 1 else f"{text[:keep]}…{text[-keep:]}"
