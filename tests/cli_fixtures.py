"""Fixtures of the command-line tests: a chain service, wallets, and in-process runs.

The command-line test modules import these; the chain is one `LocalChainServer` per
module on a free port, extended with ``getProgramAccounts`` as ``services start`` runs it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from solders.keypair import Keypair

from fl_app.chain.local_rpc import LocalChainServer
from fl_app.chain.local_rpc_http import bind_pair
from fl_app.cli import main

LAMPORTS_PER_SOL = 1_000_000_000


@dataclass(frozen=True)
class Run:
    """What one in-process ``fl-app`` invocation returned and printed."""

    code: int
    stdout: str
    stderr: str

    @property
    def error(self) -> str:
        """The one error line (asserts there is exactly one)."""
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1, self.stderr
        assert lines[0].startswith("fl-app: error: "), lines[0]
        return lines[0].removeprefix("fl-app: error: ")

    def json(self) -> dict:
        return json.loads(self.stdout)


FlApp = Callable[..., Run]


@pytest.fixture(scope="module")
def chain_server() -> Iterator[LocalChainServer]:
    """A fresh embedded chain over JSON-RPC on a free loopback port."""
    with LocalChainServer(0) as server:
        yield server


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME and FL_APP_HOME in a temporary directory: no real wallet or state is touched."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("FL_APP_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture
def fl_app(capsys: pytest.CaptureFixture[str], isolated_home: Path) -> FlApp:
    """Run ``fl-app ARGS`` in this process and return its exit code and output."""

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def new_wallet(directory: Path, name: str, server: LocalChainServer, sol: int = 0) -> Path:
    """A keypair file, funded with ``sol`` SOL on ``server``."""
    keypair = Keypair()
    path = directory / f"{name}.json"
    path.write_text(json.dumps(list(bytes(keypair))))
    if sol:
        server.methods.call("requestAirdrop", [str(keypair.pubkey()), sol * LAMPORTS_PER_SOL])
    return path


def address_of(path: Path) -> str:
    return str(Keypair.from_bytes(bytes(json.loads(path.read_text()))).pubkey())


def free_chain_port() -> int:
    """A port for a chain service: free, and so is the next one (its PubSub port)."""
    rpc, pubsub = bind_pair(0)
    port = int(rpc.getsockname()[1])
    rpc.close()
    pubsub.close()
    return port
