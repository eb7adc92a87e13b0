"""Run a private Kubo daemon on loopback, cut off from the public IPFS network.

The daemon gets its own repo (``IPFS_PATH``), listens on 127.0.0.1 only, has no
bootstrap peers, no MDNS, no routing, no AutoConf or telemetry calls home, and runs
with ``--offline`` so libp2p never dials out. Content moves between machines through
the RPC API or the gateway, never through the public DHT. Ports default to 0, so the
OS picks free ones; the real ports are read back from the daemon once it is up.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from fl_app.ipfs.errors import DaemonStartError, KuboNotInstalledError
from fl_app.ipfs.rpc import IpfsClient
from fl_app.ipfs.unixfs import DEFAULT_IMPORT

__all__ = ["KUBO_VERSION", "KuboDaemon", "find_ipfs_binary", "private_config"]

KUBO_VERSION = "0.39.0"
_DEFAULT_BIN = Path.home() / ".cache" / "fl-app" / "bin" / "ipfs"
_GATEWAY_LINE = re.compile(r"Gateway server listening on /ip4/127\.0\.0\.1/tcp/(\d+)")
_API_ADDR = re.compile(r"^/ip4/127\.0\.0\.1/tcp/(\d+)$")
_READY_LINE = "Daemon is ready"
_POLL_SECONDS = 0.05


def find_ipfs_binary() -> Path:
    """Locate Kubo: ``$FL_APP_IPFS_BIN``, then ``~/.cache/fl-app/bin/ipfs``, then PATH."""
    override = os.environ.get("FL_APP_IPFS_BIN")
    candidates = [Path(override)] if override else [_DEFAULT_BIN]
    on_path = shutil.which("ipfs")
    if not override and on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise KuboNotInstalledError(
        f"Kubo (ipfs) not found at {', '.join(map(str, candidates))}; "
        f"install Kubo {KUBO_VERSION} on PATH or run `bash scripts/setup_ipfs.sh`"
    )


def _section(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """``parent[key]`` as a dict; Kubo writes unset sections as ``null``."""
    value = parent.get(key)
    if not isinstance(value, dict):
        value = parent[key] = {}
    return value


def private_config(config: dict[str, Any], *, api_port: int, gateway_port: int) -> dict[str, Any]:
    """Return ``config`` changed so the node is loopback-only and never joins the network."""
    config = json.loads(json.dumps(config))
    addresses = _section(config, "Addresses")
    addresses["API"] = f"/ip4/127.0.0.1/tcp/{api_port}"
    addresses["Gateway"] = f"/ip4/127.0.0.1/tcp/{gateway_port}"
    addresses["Swarm"] = []
    addresses["Announce"] = []
    addresses["AppendAnnounce"] = []
    addresses["NoAnnounce"] = []
    config["Bootstrap"] = []
    _section(_section(config, "Discovery"), "MDNS")["Enabled"] = False
    routing = _section(config, "Routing")
    routing["Type"] = "none"
    routing["DelegatedRouters"] = []
    _section(config, "Ipns")["DelegatedPublishers"] = []
    # AutoConf (Kubo >= 0.38) would fetch bootstrap and resolver lists from the internet.
    _section(config, "AutoConf")["Enabled"] = False
    _section(config, "DNS")["Resolvers"] = {}
    _section(config, "Provide")["Enabled"] = False
    _section(config, "HTTPRetrieval")["Enabled"] = False
    swarm = _section(config, "Swarm")
    swarm["DisableNatPortMap"] = True
    _section(swarm, "RelayClient")["Enabled"] = False
    _section(swarm, "RelayService")["Enabled"] = False
    _section(config, "AutoNAT")["ServiceMode"] = "disabled"
    _section(config, "Gateway")["NoFetch"] = True
    plugins = _section(_section(config, "Plugins"), "Plugins")
    _section(_section(plugins, "telemetry"), "Config")["Mode"] = "off"
    # Pin the import layout so `ipfs add` from any tool gives the CIDs unixfs.py computes.
    import_config = _section(config, "Import")
    import_config["CidVersion"] = 1
    import_config["UnixFSRawLeaves"] = True
    import_config["HashFunction"] = "sha2-256"
    import_config["UnixFSChunker"] = f"size-{DEFAULT_IMPORT.chunk_size}"
    import_config["UnixFSFileMaxLinks"] = DEFAULT_IMPORT.max_links
    return config


class KuboDaemon:
    """A Kubo daemon process with a private repo; use as a context manager.

    Parameters
    ----------
    repo_dir
        The daemon's ``IPFS_PATH``; created and initialised if needed. ``None`` uses a
        temporary directory that is deleted on :meth:`stop`.
    ipfs_bin
        Path of the ``ipfs`` binary; found with :func:`find_ipfs_binary` if ``None``.
    api_port, gateway_port
        Loopback ports; 0 lets the OS choose free ones.
    startup_timeout
        Seconds to wait for ``init`` and for the daemon to answer its API.
    stop_timeout
        Seconds to wait after SIGTERM before the process is killed.
    """

    def __init__(
        self,
        *,
        repo_dir: Path | None = None,
        ipfs_bin: Path | None = None,
        api_port: int = 0,
        gateway_port: int = 0,
        startup_timeout: float = 60.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self._owns_repo = repo_dir is None
        self.repo_dir = repo_dir or Path(tempfile.mkdtemp(prefix="fl-app-ipfs-"))
        self.ipfs_bin = ipfs_bin or find_ipfs_binary()
        self.api_port = api_port
        self.gateway_port = gateway_port
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._process: subprocess.Popen[str] | None = None
        self._log: deque[str] = deque(maxlen=40)
        self._reader: threading.Thread | None = None
        self._ready = threading.Event()
        self._gateway_seen: int | None = None

    # -- lifecycle ---------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        """Environment for ``ipfs`` commands against this repo."""
        return os.environ | {"IPFS_PATH": str(self.repo_dir), "IPFS_TELEMETRY": "off"}

    def init_repo(self) -> None:
        """Create the repo if it has none, then (re)apply the private config."""
        self.repo_dir.mkdir(parents=True, exist_ok=True)
        config_path = self.repo_dir / "config"
        if not config_path.exists():
            self._run_init()
        config = json.loads(config_path.read_text(encoding="utf-8"))
        private = private_config(config, api_port=self.api_port, gateway_port=self.gateway_port)
        tmp = config_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(private, indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(config_path)

    def _run_init(self) -> None:
        command = [str(self.ipfs_bin), "init", "--profile=test", "--empty-repo"]
        try:
            subprocess.run(
                command,
                env=self.env,
                check=True,
                capture_output=True,
                text=True,
                timeout=self.startup_timeout,
            )
        except subprocess.CalledProcessError as err:
            detail = " ".join((err.stderr or err.stdout or "").split())
            raise DaemonStartError(f"`ipfs init` in {self.repo_dir} failed: {detail}") from err
        except subprocess.TimeoutExpired as err:
            raise DaemonStartError(
                f"`ipfs init` in {self.repo_dir} did not finish in {self.startup_timeout:g}s"
            ) from err

    def start(self) -> None:
        """Start the daemon and wait until its API answers (or raise DaemonStartError)."""
        if self._process is not None:
            raise DaemonStartError("daemon already started")
        self.init_repo()
        self._ready.clear()
        self._process = subprocess.Popen(
            [str(self.ipfs_bin), "daemon", "--offline"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Its own session: a Ctrl-C meant for the caller must not skip our clean stop.
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _read_output(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            line = line.rstrip()
            self._log.append(line)
            match = _GATEWAY_LINE.search(line)
            if match:
                self._gateway_seen = int(match.group(1))
            if _READY_LINE in line:
                self._ready.set()

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise DaemonStartError(
                    f"Kubo daemon exited with code {self._process.returncode} during start: "
                    f"{self.log_tail()}"
                )
            if not self._ready.is_set():
                self._ready.wait(_POLL_SECONDS)
                continue
            if self._read_api_port() is not None:
                with IpfsClient(self.api_url, timeout=2.0, retries=0) as client:
                    if client.is_healthy():
                        return
            time.sleep(_POLL_SECONDS)
        raise DaemonStartError(
            f"Kubo daemon not ready after {self.startup_timeout:g}s: {self.log_tail()}"
        )

    def _read_api_port(self) -> int | None:
        try:
            address = (self.repo_dir / "api").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        match = _API_ADDR.match(address)
        return int(match.group(1)) if match else None

    def stop(self) -> None:
        """Stop the daemon: SIGTERM, then SIGKILL after ``stop_timeout``. Idempotent."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=self.stop_timeout)
        if self._reader is not None:
            self._reader.join(timeout=self.stop_timeout)
            self._reader = None
        if self._owns_repo:
            shutil.rmtree(self.repo_dir, ignore_errors=True)

    def __enter__(self) -> KuboDaemon:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- access ------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while the daemon process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of the running daemon."""
        return self._process.pid if self._process is not None else None

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:<port>`` of the RPC API."""
        port = self._read_api_port() or self.api_port
        if not port:
            raise DaemonStartError("daemon API port unknown: the daemon is not running")
        return f"http://127.0.0.1:{port}"

    @property
    def gateway_url(self) -> str:
        """``http://127.0.0.1:<port>`` of the read-only HTTP gateway."""
        port = self._gateway_seen or self.gateway_port
        if not port:
            raise DaemonStartError("daemon gateway port unknown: the daemon is not running")
        return f"http://127.0.0.1:{port}"

    def client(self, *, timeout: float = 30.0, retries: int = 2) -> IpfsClient:
        """A new :class:`IpfsClient` for this daemon's API."""
        return IpfsClient(self.api_url, timeout=timeout, retries=retries)

    def log_tail(self, lines: int = 10) -> str:
        """The daemon's last output lines, joined for one-line error messages."""
        return " | ".join(list(self._log)[-lines:]) or "(no output)"
