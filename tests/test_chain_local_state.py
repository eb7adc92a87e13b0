"""The local chain service keeps its accounts and clock across stops and crashes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from solders.pubkey import Pubkey

from fl_app.chain import RpcTransport, StakingClient
from fl_app.chain.local_rpc import LocalChainServer, set_unix_timestamp
from tests.test_chain_localnet import _WAIT_S, _result, _scenario_chain
from tests.validator import scenarios

pytestmark = pytest.mark.filterwarnings("ignore:The `repr_ns` argument:DeprecationWarning")


def test_a_restarted_service_keeps_tasks_balances_and_clock(tmp_path: Path) -> None:
    state = tmp_path / "chain-state.json"
    with LocalChainServer(state_file=state) as first:
        assert "no saved state" in first.state_note
        chain = _scenario_chain(first)
        task = scenarios.create_task(chain, join_in=3_600, settle_in=7_200)
        participant = scenarios.deposit(chain, task, scenarios.SOL)
        ahead = RpcTransport(first.url).unix_timestamp() + 600
        first.set_unix_timestamp(ahead)
        before = _snapshot(first, task.address, participant.pubkey())
        slot = _result(first.url, "getSlot")
    with LocalChainServer(state_file=state) as second:
        assert second.state_note.startswith("restored ")
        assert _snapshot(second, task.address, participant.pubkey()) == before
        assert _result(second.url, "getSlot") >= slot
        assert RpcTransport(second.url).unix_timestamp() >= ahead
        listed = _result(second.url, "getProgramAccounts", str(second.program_id))
        assert str(task.address) in [found["pubkey"] for found in listed]
        # The restored task takes part in new transactions: another participant stakes.
        scenarios.deposit(_scenario_chain(second), task, scenarios.SOL)
        assert StakingClient(RpcTransport(second.url)).task(task.address).stake_held == (
            2 * scenarios.SOL
        )


def _snapshot(server: LocalChainServer, *addresses: Pubkey) -> list[Any]:
    return [
        _result(server.url, "getAccountInfo", str(a), {"encoding": "base64"})["value"]
        for a in addresses
    ]


def test_an_unreadable_state_is_reported_and_kept(tmp_path: Path) -> None:
    state = tmp_path / "chain-state.json"
    state.write_text("{not json", encoding="utf-8")
    with LocalChainServer(state_file=state) as server:
        assert server.state_note.startswith("WARNING: ")
        assert "starting a fresh chain" in server.state_note
    assert (tmp_path / "chain-state.json.unreadable").read_text(encoding="utf-8") == "{not json"
    assert json.loads(state.read_text(encoding="utf-8"))["accounts"] == []


@pytest.mark.slow
def test_a_killed_service_restarts_with_what_it_had_committed(tmp_path: Path) -> None:
    state = tmp_path / "chain-state.json"
    port = _free_pair()
    first = _spawn_service(port, state)
    try:
        chain = _scenario_chain_at(f"http://127.0.0.1:{port}")
        task = scenarios.create_task(chain, join_in=3_600, settle_in=7_200)
        vault = chain.client.balance(task.address)
        _wait_for_saved(state, str(task.address))
    finally:
        first.kill()  # no chance to save on the way out
        first.wait(timeout=_WAIT_S)
    second = _spawn_service(port, state)
    try:
        reader = StakingClient(RpcTransport(f"http://127.0.0.1:{port}"))
        assert reader.task(task.address).reward_pool == task.params.reward_pool
        assert reader.balance(task.address) == vault
    finally:
        second.terminate()
        assert second.wait(timeout=_WAIT_S) == 0


def _scenario_chain_at(url: str) -> scenarios.Chain:
    transport = RpcTransport(url, timeout_s=_WAIT_S)
    return scenarios.Chain(
        client=StakingClient(transport),
        fund=transport.airdrop,
        wait_until=lambda unix_timestamp: set_unix_timestamp(url, unix_timestamp),
    )


def _free_pair() -> int:
    with LocalChainServer() as probe:
        return int(probe.url.rsplit(":", 1)[1])


def _spawn_service(port: int, state: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fl_app.chain.local_rpc",
            "--port",
            str(port),
            "--state",
            str(state),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("staking program"):
            return process
    process.wait(timeout=_WAIT_S)
    raise AssertionError(f"the service did not start (exit code {process.returncode})")


def _wait_for_saved(state: Path, address: str) -> None:
    limit = time.monotonic() + _WAIT_S
    while address not in (state.read_text(encoding="utf-8") if state.exists() else ""):
        assert time.monotonic() < limit, f"{address} was never saved to {state}"
        time.sleep(0.05)
