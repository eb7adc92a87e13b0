"""The task dashboard: its routes on a finished demo, its server, and a real browser
watching a demo while it runs."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from fl_app.cli import build_parser, main
from fl_app.client.behaviour import Behaviour
from fl_app.dashboard import DashboardError, DashboardServer, DashboardState, create_app
from fl_app.dashboard.demo_feed import DemoDashboard
from fl_app.demo import DemoOptions, DemoResult
from fl_app.ipfs import KuboDaemon
from fl_app.run_report import RoundReport

CHROMIUM = Path("/usr/bin/chromium")
# Anything beyond these makes Chromium reach for the network (updates, sync, QUIC probes).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Four participants, one of each kind the scores must tell apart.
# The task stays open after the claims: the page is checked against its records.
OPTIONS = DemoOptions(
    participants=4, rounds=2, free_rider=2, label_flipper=3, committee=(3, 2), close_task=False
)


# -- helpers -------------------------------------------------------------------------


class _Tables(HTMLParser):
    """Rows of every ``<table id=...>``: each row's attributes and its cells' text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[tuple[dict[str, str], list[str]]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "table" and "id" in values:
            self._table = values["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append((values, []))
        elif tag in ("td", "th") and self._table is not None and self.tables[self._table]:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1][1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _tables(html: str) -> dict[str, list[tuple[dict[str, str], list[str]]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def _body_rows(rows: list[tuple[dict[str, str], list[str]]], key: str) -> list[Any]:
    return [(attrs, cells) for attrs, cells in rows if key in attrs]


# -- a finished demo, seen through Flask's test client ------------------------------


@pytest.fixture(scope="module")
def finished(kubo_daemon: KuboDaemon) -> tuple[DemoDashboard, DemoResult]:
    dashboard = DemoDashboard(OPTIONS)
    return dashboard, dashboard.run(daemon=kubo_daemon)


@pytest.mark.slow
def test_rounds_table_lists_every_round_with_its_manifest_cid(
    finished: tuple[DemoDashboard, DemoResult],
) -> None:
    dashboard, result = finished
    page = dashboard.app.test_client().get("/")
    assert page.status_code == 200
    tables = _tables(page.get_data(as_text=True))
    rounds = _body_rows(tables["rounds"], "data-round")
    assert [int(attrs["data-round"]) for attrs, _ in rounds] == [1, 2]
    assert [cells[4] for _, cells in rounds] == result.manifest_cids
    assert all(int(cells[3]) == OPTIONS.participants for _, cells in rounds)
    # Each round's signature is the round_record transaction listed below it.
    snapshot = dashboard.state.snapshot()
    recorded = [t.signature for t in snapshot.transactions if t.instruction == "RoundRecord"]
    assert [r.signature for r in snapshot.rounds] == recorded
    assert len(recorded) == OPTIONS.rounds


@pytest.mark.slow
def test_participants_rewards_match_the_demo_result(
    finished: tuple[DemoDashboard, DemoResult],
) -> None:
    dashboard, result = finished
    tables = _tables(dashboard.app.test_client().get("/").get_data(as_text=True))
    shown = {
        attrs["data-address"]: (int(attrs["data-reward"]), cells[1], cells[5])
        for attrs, cells in _body_rows(tables["participants"], "data-address")
    }
    assert shown == {o.address: (o.reward, o.behaviour.value, "yes") for o in result.outcomes}
    assert {o.behaviour for o in result.outcomes} == set(Behaviour)


@pytest.mark.slow
def test_task_and_transactions_come_from_the_chain(
    finished: tuple[DemoDashboard, DemoResult],
) -> None:
    dashboard, result = finished
    client = dashboard.app.test_client()
    html = client.get("/").get_data(as_text=True)
    task = dashboard.state.snapshot().task
    assert task is not None and task.address == str(result.task)
    assert task.state == "Finalized" and task.rounds_recorded == OPTIONS.rounds
    for cid in (task.template_cid, task.he_context_cid, task.model_cid):
        assert cid and cid in html
    assert task.decrypted_by is not None and task.decrypted_by.startswith(
        "a committee of 3, 2 decrypting: "
    )
    instructions = [cells[1] for _, cells in _tables(html)["transactions"][1:]]
    assert instructions == (
        ["TaskCreate"]
        + ["StakeDeposit"] * OPTIONS.participants
        + ["CommitteeDraw"]
        + ["RoundRecord", "RoundCredit"] * OPTIONS.rounds
        + ["TaskFinalizeBegin", "ScoresPost", "TaskFinalize"]
        + ["RewardClaim"] * OPTIONS.participants
    )
    live = client.get("/live")
    assert 'data-finished="true"' in live.get_data(as_text=True)
    assert live.headers["Cache-Control"] == "no-store"


@pytest.mark.slow
def test_plot_endpoints_return_png(finished: tuple[DemoDashboard, DemoResult]) -> None:
    dashboard, _ = finished
    client = dashboard.app.test_client()
    for name in ("accuracy", "rewards"):
        response = client.get(f"/plots/{name}.png")
        assert response.status_code == 200
        assert response.mimetype == "image/png"
        assert response.data.startswith(PNG_MAGIC)
    assert client.get("/plots/nothing.png").status_code == 404


# -- the server, without a run --------------------------------------------------------


def test_server_takes_a_free_loopback_port_and_stops_cleanly() -> None:
    server = DashboardServer(create_app(DashboardState()), port=0)
    with server:
        url = server.url
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0/")
        page = httpx.get(url, timeout=10)
        assert page.status_code == 200 and "No task on chain yet" in page.text
        png = httpx.get(url + "plots/accuracy.png", timeout=30)
        assert png.headers["content-type"] == "image/png"
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)


def test_server_refuses_a_taken_port_and_a_non_loopback_address() -> None:
    app = create_app(DashboardState())
    with DashboardServer(app) as first:
        port = int(first.url.rsplit(":", 1)[1].rstrip("/"))
        with pytest.raises(DashboardError, match="is the port taken"):
            DashboardServer(app, port=port).start()
    with pytest.raises(DashboardError, match="loopback only"):
        DashboardServer(app, host="0.0.0.0")


def test_demo_command_takes_an_optional_dashboard_port() -> None:
    parse = build_parser().parse_args
    assert parse(["demo"]).dashboard is None
    assert parse(["demo", "--dashboard", "--rounds", "2"]).dashboard == 0
    assert parse(["demo", "--dashboard", "8123"]).dashboard == 8123


def test_demo_command_reports_a_taken_dashboard_port(capsys: pytest.CaptureFixture[str]) -> None:
    with DashboardServer(create_app(DashboardState())) as taken:
        port = taken.url.rsplit(":", 1)[1].rstrip("/")
        assert main(["demo", "--participants", "4", "--dashboard", port]) == 2
    assert "is the port taken" in capsys.readouterr().err


# -- a real browser, during a run ----------------------------------------------------


class _Browser:
    """Headless Chromium driven over the DevTools protocol (one page)."""

    def __init__(self, profile: Path, log: Path) -> None:
        if not CHROMIUM.exists():
            pytest.fail(
                f"{CHROMIUM} not found: run scripts/setup_browser.sh to install Chromium",
                pytrace=False,
            )
        self._log = log.open("wb")
        self._process = subprocess.Popen(
            [
                str(CHROMIUM),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        port = self._devtools_port(profile / "DevToolsActivePort", timeout=60)
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = next(t for t in targets if t["type"] == "page")
        self._ws: ClientConnection = connect(
            page["webSocketDebuggerUrl"], max_size=None, open_timeout=10
        )
        self._next_id = 0
        self.call("Page.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=1400,
            height=1000,
            deviceScaleFactor=1,
            mobile=False,
        )

    def _devtools_port(self, path: Path, *, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                pytest.fail(f"chromium exited with {self._process.returncode}", pytrace=False)
            if path.exists() and path.read_text().strip():
                return int(path.read_text().split()[0])
            time.sleep(0.1)
        pytest.fail(f"chromium did not open its DevTools port within {timeout} s")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        self._ws.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv(timeout=60))
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    def evaluate(self, expression: str) -> Any:
        reply = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return reply["result"].get("value")

    def wait_for(self, expression: str, *, timeout: float) -> Any:
        """Poll ``expression`` in the page until it is truthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.25)
        raise AssertionError(f"page never satisfied {expression!r} within {timeout} s")

    def screenshot(self, path: Path) -> Path:
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = self.call(
            "Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        self._ws.close()
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        self._log.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[_Browser]:
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    chromium = _Browser(profile, tmp_path / "chromium.log")
    try:
        yield chromium
    finally:
        chromium.close()
        shutil.rmtree(profile, ignore_errors=True)


# In the page: rows of the rounds table, the page's phase, and the plots' natural widths.
PAGE_STATE = """JSON.stringify({
  rounds: [...document.querySelectorAll('#rounds tr[data-round]')].map(r => ({
    round: +r.dataset.round, manifest: r.querySelector('td.manifest').textContent.trim()})),
  phase: document.getElementById('live-body').dataset.phase,
  accuracy: document.getElementById('plot-accuracy')?.naturalWidth ?? 0,
  rewards: document.getElementById('plot-rewards')?.naturalWidth ?? 0,
})"""


def _page_state(browser: _Browser, condition: str, *, timeout: float) -> dict[str, Any]:
    raw = browser.wait_for(
        f"(() => {{ const s = {PAGE_STATE}; return ({condition})(JSON.parse(s)) ? s : null; }})()",
        timeout=timeout,
    )
    state: dict[str, Any] = json.loads(raw)
    return state


@pytest.mark.slow
def test_browser_shows_rounds_while_the_demo_runs(
    kubo_daemon: KuboDaemon, browser: _Browser
) -> None:
    first_round_shown, resume = threading.Event(), threading.Event()

    def hold_after_first_round(report: RoundReport) -> None:
        # Keeps the run paused on round 1 while the browser looks, so "during the run"
        # does not depend on timing.
        if report.server_round == 1:
            first_round_shown.set()
            resume.wait(timeout=180)

    outcome: list[DemoResult | BaseException] = []
    with DemoDashboard(OPTIONS, on_round=hold_after_first_round) as dashboard:
        url = dashboard.serve()

        def run() -> None:
            try:
                outcome.append(dashboard.run(daemon=kubo_daemon))
            except BaseException as err:
                outcome.append(err)

        runner = threading.Thread(target=run, name="demo-run", daemon=True)
        runner.start()
        try:
            assert first_round_shown.wait(timeout=300), f"no round finished: {outcome}"
            browser.call("Page.navigate", url=url)
            during = _page_state(browser, "s => s.rounds.length >= 1 && s.accuracy > 0", timeout=60)
            assert during["phase"] == "running"
            assert during["rewards"] == 0, "no reward chart before the scores are posted"
            assert during["rounds"][0]["round"] == 1
            assert during["rounds"][0]["manifest"].startswith("baf")
            browser.screenshot(ARTIFACTS / "dashboard-during-run.png")
        finally:
            resume.set()
            runner.join(timeout=300)
        (result,) = outcome
        assert isinstance(result, DemoResult), result
        # No reload: the page's own polling brings the rest of the run in.
        after = _page_state(
            browser,
            f"s => s.phase === 'finished' && s.rounds.length === {OPTIONS.rounds}"
            " && s.accuracy > 0 && s.rewards > 0",
            timeout=60,
        )
        assert [r["manifest"] for r in after["rounds"]] == result.manifest_cids
        browser.screenshot(ARTIFACTS / "dashboard-finished.png")
