"""The chains the staking scenarios run against.

Each scenario runs three times: in-process on the embedded chain, over JSON-RPC
against the local chain service (the embedded chain served on loopback), and over
JSON-RPC against a solana-test-validator running the SBF build of the staking
program. The last needs `solana-test-validator` and `anchor` (to build the `.so`) on
PATH and is skipped with the reason otherwise; the first two never skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fl_app.chain import EmbeddedTransport, RpcTransport, StakingClient
from fl_app.chain.idl import load_spec
from fl_app.chain.local_rpc import LocalChainServer, set_unix_timestamp
from fl_app.deployment import free_port
from tests.validator import scenarios

ROOT = Path(__file__).resolve().parents[2]
_START_TIMEOUT_S = 60.0
_CLOCK_TIMEOUT_S = 60.0


def _missing_tools() -> str | None:
    missing = [tool for tool in ("solana-test-validator", "anchor") if shutil.which(tool) is None]
    if missing:
        return (
            f"{' and '.join(missing)} not on PATH "
            "(the embedded and local-chain variants cover these scenarios)"
        )
    return None


def _built_program() -> Path:
    subprocess.run(["anchor", "build", "-p", "staking"], cwd=ROOT, check=True, timeout=1800)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    for candidate in (ROOT / "target" / "deploy" / "staking.so", target / "deploy" / "staking.so"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError("anchor build produced no staking.so")


@pytest.fixture(scope="session")
def validator_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    reason = _missing_tools()
    if reason:
        pytest.skip(reason)
    program = _built_program()
    port = free_port()
    ledger = tmp_path_factory.mktemp("ledger")
    process = subprocess.Popen(
        [
            "solana-test-validator",
            "--reset",
            "--quiet",
            "--ledger",
            str(ledger),
            "--rpc-port",
            str(port),
            "--faucet-port",
            str(free_port()),
            "--bpf-program",
            str(load_spec().program_id),
            str(program),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        transport = RpcTransport(url)
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            try:
                transport.latest_blockhash()
                break
            except Exception:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("solana-test-validator did not start") from None
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="session")
def local_chain_url() -> Iterator[str]:
    with LocalChainServer() as server:
        yield server.url


@pytest.fixture(
    params=[
        "embedded",
        "local-chain",
        pytest.param("solana-test-validator", marks=[pytest.mark.validator, pytest.mark.slow]),
    ]
)
def chain(request: pytest.FixtureRequest) -> scenarios.Chain:
    if request.param == "embedded":
        embedded = EmbeddedTransport()
        return scenarios.Chain(
            client=StakingClient(embedded, program_id=embedded.program_id),
            fund=embedded.airdrop,
            wait_until=embedded.set_unix_timestamp,
        )
    if request.param == "local-chain":
        url = request.getfixturevalue("local_chain_url")
        transport = RpcTransport(url)
        return scenarios.Chain(
            client=StakingClient(transport),
            fund=transport.airdrop,
            wait_until=lambda unix_timestamp: set_unix_timestamp(url, unix_timestamp),
        )
    url = request.getfixturevalue("validator_url")
    transport = RpcTransport(url)

    def wait_until(unix_timestamp: int) -> None:
        deadline = time.monotonic() + _CLOCK_TIMEOUT_S
        while transport.unix_timestamp() <= unix_timestamp:
            if time.monotonic() > deadline:
                raise TimeoutError(f"validator clock did not pass {unix_timestamp}")
            time.sleep(0.5)

    return scenarios.Chain(
        client=StakingClient(transport), fund=transport.airdrop, wait_until=wait_until
    )
