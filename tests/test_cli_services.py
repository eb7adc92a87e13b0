"""``fl-app services start | status | stop``: real background processes, once."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from fl_app.ipfs import IpfsClient
from fl_app.services import load_state
from tests.cli_fixtures import FlApp, fl_app, free_chain_port, isolated_home

__all__ = ["fl_app", "isolated_home"]  # fixtures used here

pytestmark = pytest.mark.slow


def test_services_start_status_and_stop(fl_app: FlApp, isolated_home: Path) -> None:
    chain_port = free_chain_port()
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
        "the local chain's accounts and clock are saved for the next services start; "
        "IPFS pins are kept",
    ]
    assert not state.chain.alive and not state.ipfs.alive
    assert load_state().records() == []
    status = fl_app("services", "status")
    assert status.stdout.splitlines() == [
        "chain (embedded)  not running",
        "IPFS (Kubo)       not running",
    ]
    assert fl_app("services", "stop").stdout.strip() == "no services were running"


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


def test_a_task_and_its_balances_survive_services_stop_and_start(
    fl_app: FlApp, isolated_home: Path
) -> None:
    chain_port = free_chain_port()
    assert fl_app("services", "start", "--chain-port", str(chain_port)).code == 0
    try:
        assert fl_app("wallet", "new", "-k", "org.json").code == 0
        assert fl_app("airdrop", "20", "-k", "org.json").code == 0
        holder = fl_app("wallet", "new", "-k", "keyholder.json", "--json").json()["address"]
        assert fl_app("airdrop", "5", "-k", "keyholder.json").code == 0
        assert fl_app("keys", "create", "-k", "keyholder.json", "--dir", "keys").code == 0
        created = fl_app(
            "task", "create", "-k", "org.json", "--pool", "10", "--min-stake", "1",
            "--rounds", "3", "--max-participants", "5", "--key-holder", holder,
            "--context", "keys/public_context.bin", "--json",
        )  # fmt: skip
        assert created.code == 0, created.stderr
        task = created.json()["task"]
        assert fl_app("stake", task, "1", "-k", "keyholder.json").code == 0, "stake"
        before = fl_app("task", "status", task, "--json").json()
        wallets = [fl_app("wallet", "show", "-k", k, "--json").json() for k in _WALLETS]

        assert fl_app("services", "stop").code == 0
        restarted = fl_app("services", "start", "--chain-port", str(chain_port))
        assert restarted.code == 0, restarted.stderr
        assert "chain state: restored " in restarted.stderr + restarted.stdout

        after = fl_app("task", "status", task, "--json").json()
        assert after.pop("chain_time") >= before.pop("chain_time")  # it follows wall time
        assert after == before
        assert [fl_app("wallet", "show", "-k", k, "--json").json() for k in _WALLETS] == wallets
    finally:
        fl_app("services", "stop")


_WALLETS = ("org.json", "keyholder.json")
