"""``fl-app services start | status | stop``: real background processes, once."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from fl_app.deployment import free_port
from fl_app.ipfs import IpfsClient
from fl_app.services import CHAIN_STATE_GONE, load_state
from tests.cli_fixtures import FlApp, fl_app, isolated_home

__all__ = ["fl_app", "isolated_home"]  # fixtures used here

pytestmark = pytest.mark.slow


def test_services_start_status_and_stop(fl_app: FlApp, isolated_home: Path) -> None:
    chain_port = free_port()
    started = fl_app("services", "start", "--chain-port", str(chain_port))
    try:
        assert started.code == 0, started.stderr
        state = load_state()
        assert state.chain is not None and state.ipfs is not None
        assert state.chain.url == f"http://127.0.0.1:{chain_port}"
        assert f"chain (embedded)  {state.chain.url}" in started.stdout
        assert f"IPFS (Kubo)       {state.ipfs.url}" in started.stdout
        assert httpx.get(f"{state.chain.url}/health", trust_env=False).text == "ok"
        with IpfsClient(state.ipfs.url) as ipfs:
            assert ipfs.is_healthy()
        again = fl_app("services", "start", "--json")
        assert again.json()["chain"]["pid"] == state.chain.pid  # not started twice
        status = fl_app("services", "status", "--quiet")
        assert status.stdout.strip() == state.chain.url
    finally:
        stopped = fl_app("services", "stop")
    assert stopped.code == 0, stopped.stderr
    assert stopped.stdout.splitlines() == [
        "stopped chain and ipfs",
        "the local chain's tasks, stakes and balances are gone with it (it keeps them in "
        "memory only); IPFS pins are kept",
    ]
    assert not state.chain.alive and not state.ipfs.alive
    assert load_state().records() == []
    status = fl_app("services", "status")
    assert status.stdout.splitlines() == [
        "chain (embedded)  not running",
        "IPFS (Kubo)       not running",
    ]
    assert fl_app("services", "stop").stdout.strip() == "no services were running"
    restarted = fl_app("services", "start", "--chain-port", str(free_port()))
    try:
        assert restarted.code == 0, restarted.stderr
        assert f"fl-app: warning: {CHAIN_STATE_GONE}" in restarted.stderr
    finally:
        fl_app("services", "stop")


def test_services_start_on_a_taken_port_names_the_fix(fl_app: FlApp, isolated_home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = fl_app("services", "start", "--chain-port", str(port))
    assert run.code == 2
    assert run.error.startswith(f"port {port} is taken (cannot listen on 127.0.0.1:{port}")
    assert run.error.endswith("stop what uses it, or pass --chain-port with a free port")
    assert load_state().records() == []
