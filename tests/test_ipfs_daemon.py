"""The private Kubo daemon: offline, loopback-only, and failing fast when it is gone."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fl_app.ipfs.daemon import KuboDaemon, find_ipfs_binary
from fl_app.ipfs.errors import (
    DaemonStartError,
    IpfsNotFoundError,
    IpfsRequestError,
    IpfsUnavailableError,
    KuboNotInstalledError,
)
from fl_app.ipfs.rpc import IpfsClient
from fl_app.ipfs.unixfs import file_cid

LOOPBACK_ADDR = re.compile(r"^/ip4/127\.0\.0\.1/tcp/\d+$")


@pytest.fixture
def spare_daemon(tmp_path: Path) -> Iterator[KuboDaemon]:
    """A second daemon a test may stop or freeze without harming the session one."""
    daemon = KuboDaemon(repo_dir=tmp_path / "repo", stop_timeout=5.0)
    daemon.start()
    try:
        yield daemon
    finally:
        if daemon.pid is not None and daemon.running:
            os.kill(daemon.pid, signal.SIGCONT)
        daemon.stop()


def test_daemon_runs_offline_without_bootstrap_peers(
    kubo_daemon: KuboDaemon, ipfs_client: IpfsClient
) -> None:
    config = ipfs_client.config_show()
    assert config["Bootstrap"] == []
    assert config["Discovery"]["MDNS"]["Enabled"] is False
    assert config["Routing"]["Type"] == "none"
    assert config["AutoConf"]["Enabled"] is False
    assert config["Addresses"]["Swarm"] == []
    assert LOOPBACK_ADDR.match(config["Addresses"]["API"])
    assert LOOPBACK_ADDR.match(config["Addresses"]["Gateway"])
    assert kubo_daemon.api_url.startswith("http://127.0.0.1:")
    assert kubo_daemon.gateway_url.startswith("http://127.0.0.1:")
    # An offline node refuses network commands outright.
    with pytest.raises(IpfsRequestError, match="online mode"):
        ipfs_client._call("swarm/peers")


def test_daemon_pins_the_import_layout(ipfs_client: IpfsClient) -> None:
    imports = ipfs_client.config_show()["Import"]
    assert imports["CidVersion"] == 1
    assert imports["UnixFSRawLeaves"] is True
    assert imports["UnixFSChunker"] == "size-262144"
    assert imports["UnixFSFileMaxLinks"] == 174


def test_daemon_is_the_pinned_kubo_version(ipfs_client: IpfsClient) -> None:
    assert ipfs_client.version() == "0.39.0"


def test_stopped_daemon_gives_clear_error_within_timeout(spare_daemon: KuboDaemon) -> None:
    api_url = spare_daemon.api_url
    spare_daemon.stop()
    with IpfsClient(api_url, timeout=2.0, retries=2, retry_backoff=0.1) as client:
        started = time.monotonic()
        with pytest.raises(IpfsUnavailableError) as caught:
            client.cat(file_cid(b"anything"))
        elapsed = time.monotonic() - started
        assert not client.is_healthy()
    message = str(caught.value)
    assert message.startswith(f"IPFS daemon at {api_url} not reachable: ")
    assert "Start it with" in message and "\n" not in message
    # Refused connections fail at once: only the back-off (0.1 s + 0.2 s) is spent,
    # far inside the worst case of three 2 s timeouts.
    assert elapsed < 3.0


def test_frozen_daemon_times_out_instead_of_hanging(spare_daemon: KuboDaemon) -> None:
    assert spare_daemon.pid is not None
    os.kill(spare_daemon.pid, signal.SIGSTOP)
    with IpfsClient(spare_daemon.api_url, timeout=1.0, retries=1, retry_backoff=0.1) as client:
        started = time.monotonic()
        with pytest.raises(IpfsUnavailableError, match="not reachable: ReadTimeout"):
            client.version()
        elapsed = time.monotonic() - started
    # Two attempts of one second each plus the back-off (and slack for a loaded machine).
    assert 2.0 <= elapsed < 5.0


def test_stop_ends_the_process_and_context_manager_cleans_up(tmp_path: Path) -> None:
    with KuboDaemon(repo_dir=tmp_path / "repo") as daemon:
        pid = daemon.pid
        assert pid is not None and daemon.running
        with daemon.client() as client:
            assert client.is_healthy()
    assert not daemon.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not (tmp_path / "repo" / "api").exists()


def test_temporary_repo_is_removed_on_stop() -> None:
    daemon = KuboDaemon()
    with daemon:
        assert (daemon.repo_dir / "config").exists()
    assert not daemon.repo_dir.exists()


def test_missing_kubo_binary_names_the_setup_script(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FL_APP_IPFS_BIN", "/nonexistent/ipfs")
    with pytest.raises(KuboNotInstalledError, match=r"scripts/setup_ipfs\.sh"):
        find_ipfs_binary()


def test_offline_daemon_reports_unknown_content_as_not_found(ipfs_client: IpfsClient) -> None:
    started = time.monotonic()
    with pytest.raises(IpfsNotFoundError):
        ipfs_client.cat(file_cid(b"content nobody added"))
    assert time.monotonic() - started < 5.0


def test_a_daemon_that_cannot_start_reports_its_output(tmp_path: Path) -> None:
    with KuboDaemon(repo_dir=tmp_path / "repo") as first:
        second = KuboDaemon(repo_dir=first.repo_dir, startup_timeout=20.0)
        started = time.monotonic()
        # The repo is locked by the first daemon, so the second exits at once.
        with pytest.raises(DaemonStartError, match="exited with code"):
            second.start()
        assert time.monotonic() - started < 20.0
        assert not second.running
        with first.client(timeout=5.0) as client:
            assert client.is_healthy()
