"""Solana's own JavaScript clients against the local chain service (never skipped).

`tests/js/localnet.js` uses @solana/web3.js and @coral-xyz/anchor (installed from npm
by ``scripts/setup_js.sh``, pinned by its lock file) the way a dapp would: airdrops
confirmed over the websocket, a task created and a stake deposited through
``program.methods...rpc()``, accounts fetched and listed, a simulation, log, account and
slot subscriptions, and a v0 transaction.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fl_app.chain.idl import IDL_PATH
from fl_app.chain.local_rpc import LocalChainServer

pytestmark = pytest.mark.slow

_PROJECT = Path(__file__).parent / "js"
_RUN_TIMEOUT_S = 300.0
_STEPS = [
    "getVersion reports a feature set",
    "airdrops confirmed over the websocket",
    "taskCreate through program.methods...rpc()",
    "task account fetched and decoded",
    "stakeDeposit simulated, nothing recorded",
    "stakeDeposit through rpc(), stakes listed by memcmp filter",
    "getProgramAccounts with dataSlice and withContext",
    "roundRecord attested by the key holder's Ed25519 signature; the organisation's refused",
    "logs, account and slot subscriptions notified",
    "v0 transaction: fee, simulation, send, confirm, fetch",
]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalChainServer]:
    with LocalChainServer() as running:
        yield running


def test_web3js_and_anchor_drive_the_local_chain(server: LocalChainServer) -> None:
    node = shutil.which("node")
    assert node is not None, "Node.js is part of the set-up (README: make setup)"
    assert (_PROJECT / "node_modules" / "@coral-xyz" / "anchor").is_dir(), (
        "run scripts/setup_js.sh (make setup does)"
    )
    run = subprocess.run(
        [node, "localnet.js", server.url, str(IDL_PATH), str(server.program_id)],
        cwd=_PROJECT,
        capture_output=True,
        text=True,
        timeout=_RUN_TIMEOUT_S,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines() == [f"ok {step}" for step in _STEPS]
