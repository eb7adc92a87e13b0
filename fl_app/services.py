"""Local services in the background: the embedded chain and a private Kubo daemon.

``fl-app services start`` runs both detached (each in its own session and process
group, so closing the terminal or a Ctrl-C in it leaves them alone), with logs and a
state file under ``$FL_APP_HOME`` (default ``~/.local/state/fl-app``). Other commands read
the state file to find the chain's RPC URL and the IPFS API; ``services stop`` ends
both (SIGTERM, then SIGKILL after a timeout) and removes the state file. The chain saves
its accounts and clock to ``$FL_APP_HOME/chain-state.json`` and restores them on the next
start, so tasks and balances survive a stop or a crash.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from fl_app.errors import FlAppError

__all__ = [
    "ServiceRecord",
    "ServicesState",
    "fl_app_home",
    "load_state",
    "running_chain_url",
    "running_ipfs_url",
    "start_services",
    "stop_services",
]

DEFAULT_CHAIN_PORT = 8999
_STATE_FILE = "services.json"
CHAIN_STATE_FILE = "chain-state.json"
_POLL_S = 0.1
_GATEWAY_LINE = re.compile(r"Gateway server listening on /ip4/127\.0\.0\.1/tcp/(\d+)")
_API_ADDR = re.compile(r"^/ip4/127\.0\.0\.1/tcp/(\d+)$")


def fl_app_home() -> Path:
    """``$FL_APP_HOME``, or ``~/.local/state/fl-app``."""
    override = os.environ.get("FL_APP_HOME")
    return Path(override) if override else Path.home() / ".local" / "state" / "fl-app"


@dataclass(frozen=True)
class ServiceRecord:
    """One background process: what it is, where it answers, how to recognise it."""

    name: str
    pid: int
    url: str
    log: str
    # The kernel's start time of the process, so a recycled pid is not mistaken for it.
    start_ticks: int
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def alive(self) -> bool:
        return _start_ticks(self.pid) == self.start_ticks


@dataclass
class ServicesState:
    """The services recorded in ``$FL_APP_HOME/services.json``."""

    chain: ServiceRecord | None = None
    ipfs: ServiceRecord | None = None

    def records(self) -> list[ServiceRecord]:
        return [r for r in (self.chain, self.ipfs) if r is not None]


def load_state(home: Path | None = None) -> ServicesState:
    """The recorded services (empty if none were started)."""
    path = (home or fl_app_home()) / _STATE_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return ServicesState()
    return ServicesState(
        **{k: ServiceRecord(**v) for k, v in raw.items() if k in ("chain", "ipfs") and v}
    )


def _save_state(state: ServicesState, home: Path) -> None:
    path = home / _STATE_FILE
    records = {r.name: asdict(r) for r in state.records()}
    if not records:
        path.unlink(missing_ok=True)
        return
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(records, indent=2, sort_keys=True), encoding="utf-8")
    temporary.replace(path)


def running_chain_url() -> str | None:
    """RPC URL of the chain service started by ``fl-app services start``, if it runs."""
    record = load_state().chain
    return record.url if record is not None and record.alive else None


def running_ipfs_url() -> str | None:
    """API URL of the Kubo daemon started by ``fl-app services start``, if it runs."""
    record = load_state().ipfs
    return record.url if record is not None and record.alive else None


def start_services(
    *,
    chain_port: int = DEFAULT_CHAIN_PORT,
    ipfs_port: int = 0,
    timeout_s: float = 60.0,
    on_step: Callable[[str], None] | None = None,
) -> tuple[ServicesState, list[str]]:
    """Start whichever of the two services is not running and wait until both answer.

    Returns the state and the names of the services started now (empty if both ran).
    Ports of 0 are chosen by the OS. The chain restores the accounts and clock it saved
    in ``$FL_APP_HOME`` before (``on_step`` hears whether it did).
    """
    say = on_step or (lambda _: None)
    home = fl_app_home()
    (home / "logs").mkdir(parents=True, exist_ok=True)
    state = load_state(home)
    started: list[str] = []
    try:
        if state.chain is None or not state.chain.alive:
            say("starting the embedded chain service")
            state.chain = _start_chain(home, chain_port, timeout_s)
            started.append("chain")
            say(f"chain state: {state.chain.extra.get('state', 'unknown')}")
        if state.ipfs is None or not state.ipfs.alive:
            say("starting the private Kubo daemon")
            state.ipfs = _start_ipfs(home, ipfs_port, timeout_s)
            started.append("ipfs")
    except BaseException:
        for name in started:
            record = getattr(state, name)
            _terminate(record.pid, record.start_ticks, timeout_s=10.0)
            setattr(state, name, None)
        _save_state(state, home)
        raise
    _save_state(state, home)
    return state, started


def stop_services(*, timeout_s: float = 10.0) -> list[str]:
    """Stop both services and forget them; returns the names of those that were running."""
    home = fl_app_home()
    state = load_state(home)
    stopped = []
    for record in state.records():
        if record.alive:
            _terminate(record.pid, record.start_ticks, timeout_s=timeout_s)
            stopped.append(record.name)
    _save_state(ServicesState(), home)
    return stopped


# -- the two services ---------------------------------------------------------------


def _start_chain(home: Path, port: int, timeout_s: float) -> ServiceRecord:
    log = home / "logs" / "chain.log"
    command = [sys.executable, "-m", "fl_app.chain.local_rpc", "--port", str(port)]
    command += ["--state", str(home / CHAIN_STATE_FILE)]
    process = _spawn(command, log)
    deadline = time.monotonic() + timeout_s
    url = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            reason = _tail(log)
            if "cannot listen" in reason:
                raise FlAppError(
                    f"port {port} is taken ({reason}): stop what uses it, or pass "
                    "--chain-port with a free port"
                )
            raise FlAppError(f"the chain service did not start: {reason} (log: {log})")
        url = url or _first_match(log, re.compile(r"local chain RPC: (http://\S+)"))
        if url and _answers(f"{url}/health"):
            note = _first_match(log, re.compile(r"chain state: (.*)")) or "unknown"
            return _record("chain", process, url, log, {"state": note})
        time.sleep(_POLL_S)
    _terminate(process.pid, _start_ticks(process.pid), timeout_s=10.0)
    raise FlAppError(f"the chain service was not ready after {timeout_s:g} s (log: {log})")


def _start_ipfs(home: Path, port: int, timeout_s: float) -> ServiceRecord:
    from fl_app.ipfs import IpfsClient, KuboDaemon

    repo = home / "ipfs"
    # KuboDaemon writes the private, offline, loopback-only configuration; the daemon
    # process itself is started here so it outlives this command.
    daemon = KuboDaemon(repo_dir=repo, api_port=port, gateway_port=0)
    daemon.init_repo()
    (repo / "api").unlink(missing_ok=True)  # left behind by a killed daemon
    log = home / "logs" / "ipfs.log"
    process = _spawn([str(daemon.ipfs_bin), "daemon", "--offline"], log, env=daemon.env)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise FlAppError(f"the Kubo daemon did not start: {_tail(log)} (log: {log})")
        api = _read_api(repo)
        if api is not None:
            with IpfsClient(api, timeout=2.0, retries=0) as client:
                if client.is_healthy():
                    gateway = _first_match(log, _GATEWAY_LINE)
                    extra = {"repo": str(repo)}
                    if gateway:
                        extra["gateway"] = f"http://127.0.0.1:{gateway}"
                    return _record("ipfs", process, api, log, extra)
        time.sleep(_POLL_S)
    _terminate(process.pid, _start_ticks(process.pid), timeout_s=10.0)
    raise FlAppError(f"the Kubo daemon was not ready after {timeout_s:g} s (log: {log})")


def _spawn(
    command: list[str], log: Path, *, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        out.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(command)}\n".encode())
        out.flush()
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # own session and process group: detached
        )


def _record(
    name: str,
    process: subprocess.Popen[bytes],
    url: str,
    log: Path,
    extra: dict[str, str] | None = None,
) -> ServiceRecord:
    # This command exits while the service keeps running; it is not waited for here.
    process.returncode = 0
    ticks = _start_ticks(process.pid)
    if ticks is None:
        raise FlAppError(f"the {name} service exited right after start (log: {log})")
    return ServiceRecord(
        name=name, pid=process.pid, url=url, log=str(log), start_ticks=ticks, extra=extra or {}
    )


def _read_api(repo: Path) -> str | None:
    try:
        match = _API_ADDR.match((repo / "api").read_text(encoding="utf-8").strip())
    except FileNotFoundError:
        return None
    return f"http://127.0.0.1:{match.group(1)}" if match else None


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def _first_match(log: Path, pattern: re.Pattern[str]) -> str | None:
    # Only the current run's part of the log (after the last start marker) counts.
    text = log.read_text(encoding="utf-8", errors="replace").rpartition("\n--- ")[2]
    match = pattern.search(text)
    return match.group(1) if match else None


def _tail(log: Path, lines: int = 3) -> str:
    text = log.read_text(encoding="utf-8", errors="replace").rpartition("\n--- ")[2]
    return " | ".join(text.strip().splitlines()[1:][-lines:]) or "(no output)"


# -- processes ----------------------------------------------------------------------


def _start_ticks(pid: int) -> int | None:
    """Start time of a live (not zombie) process, in clock ticks since boot; else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def _terminate(pid: int, start_ticks: int | None, *, timeout_s: float) -> None:
    """SIGTERM the process group of ``pid``, SIGKILL it after ``timeout_s``."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        if _start_ticks(pid) != start_ticks or start_ticks is None:
            break
        try:
            os.killpg(pid, signum)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _start_ticks(pid) == start_ticks:
            _reap(pid)
            time.sleep(_POLL_S)
    _reap(pid)


def _reap(pid: int) -> None:
    # Only a process started by this very process (a test) can be reaped here.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
