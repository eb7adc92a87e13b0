"""``fl-app wallet``, ``airdrop`` and SOL amounts: keypair files and test SOL."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from fl_app.chain.local_rpc import LocalChainServer
from fl_app.commands.amounts import format_sol, parse_duration, parse_sol
from fl_app.errors import FlAppError
from tests.cli_fixtures import (
    FlApp,
    address_of,
    chain_server,
    fl_app,
    isolated_home,
    new_wallet,
)

__all__ = ["chain_server", "fl_app", "isolated_home"]  # fixtures used here


@pytest.mark.parametrize(
    ("text", "lamports"),
    [
        ("10", 10_000_000_000),
        ("0.5", 500_000_000),
        ("1.000000001", 1_000_000_001),
        (".25", 250_000_000),
    ],
)
def test_sol_amounts_convert_exactly(text: str, lamports: int) -> None:
    assert parse_sol(text) == lamports
    assert parse_sol(format_sol(lamports)) == lamports


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1.0000000001", "has 10 decimals; SOL has at most 9"),
        ("-1", "is negative"),
        ("1e3", "is not an amount of SOL"),
        ("1,5", "is not an amount of SOL"),
    ],
)
def test_bad_sol_amounts_are_refused(text: str, message: str) -> None:
    with pytest.raises(FlAppError, match=message):
        parse_sol(text)


def test_amounts_are_shown_in_sol_without_trailing_zeros() -> None:
    assert format_sol(10_002_000_000) == "10.002"
    assert format_sol(0) == "0"
    assert format_sol(1) == "0.000000001"


def test_durations_read_like_people_write_them() -> None:
    assert [parse_duration(t) for t in ("90s", "30m", "1h", "7d", "120")] == [
        90,
        1_800,
        3_600,
        604_800,
        120,
    ]
    with pytest.raises(FlAppError, match="not a duration"):
        parse_duration("an hour")


def test_wallet_new_writes_a_private_solana_keypair_file(
    fl_app: FlApp, isolated_home: Path
) -> None:
    run = fl_app("wallet", "new")
    assert run.code == 0, run.stderr
    path = isolated_home / ".config" / "solana" / "id.json"
    values = json.loads(path.read_text())
    assert len(values) == 64 and all(0 <= v < 256 for v in values)
    assert f"address: {address_of(path)}" in run.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700


def test_wallet_new_refuses_to_overwrite_without_force(fl_app: FlApp, tmp_path: Path) -> None:
    path = tmp_path / "me.json"
    first = fl_app("wallet", "new", "-k", str(path), "--quiet")
    assert first.code == 0 and first.stdout.strip() == address_of(path)
    again = fl_app("wallet", "new", "-k", str(path))
    assert again.code == 2
    assert again.error.startswith(f"{path} already exists: keep it")
    assert address_of(path) == first.stdout.strip()
    forced = fl_app("wallet", "new", "-k", str(path), "--force", "--json")
    assert forced.code == 0 and forced.json()["address"] == address_of(path)
    assert forced.json()["address"] != first.stdout.strip()


def test_wallet_show_prints_address_and_balance(
    fl_app: FlApp, chain_server: LocalChainServer, tmp_path: Path
) -> None:
    path = new_wallet(tmp_path, "shown", chain_server, sol=3)
    run = fl_app("wallet", "show", "-k", str(path), "-u", chain_server.url)
    assert run.code == 0, run.stderr
    assert f"address: {address_of(path)}" in run.stdout
    assert f"balance: 3 SOL on custom ({chain_server.url})" in run.stdout


def test_missing_keypair_says_how_to_create_one(fl_app: FlApp, isolated_home: Path) -> None:
    run = fl_app("wallet", "show")
    default = isolated_home / ".config" / "solana" / "id.json"
    assert run.code == 2
    assert run.error == f"no keypair at {default}: create one with fl-app wallet new"
    other = fl_app("stake", "11111111111111111111111111111111", "1", "-k", "nope.json")
    assert other.error == "no keypair at nope.json: create one with fl-app wallet new -k nope.json"


def test_a_file_that_is_not_a_keypair_is_named(fl_app: FlApp, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("[1, 2, 3]")
    run = fl_app("wallet", "show", "-k", str(path))
    assert run.error == f"{path} is not a Solana keypair file (a JSON array of 64 bytes)"


def test_airdrop_funds_the_wallet(
    fl_app: FlApp, chain_server: LocalChainServer, tmp_path: Path
) -> None:
    path = new_wallet(tmp_path, "poor", chain_server)
    run = fl_app("airdrop", "2.5", "-k", str(path), "-u", chain_server.url)
    assert run.code == 0, run.stderr
    assert run.stdout.strip() == f"2.5 SOL to {address_of(path)}; balance 2.5 SOL"
    other = new_wallet(tmp_path, "other", chain_server)
    to_other = fl_app("airdrop", "1", address_of(other), "-u", chain_server.url, "--json")
    assert to_other.json()["balance_lamports"] == 1_000_000_000


def test_airdrop_is_refused_off_test_chains(fl_app: FlApp, tmp_path: Path) -> None:
    run = fl_app("airdrop", "1", "-u", "devnet")
    assert run.code == 2
    assert run.error.startswith("airdrop works on embedded and localnet only")


def test_no_chain_names_the_command_that_starts_it(
    fl_app: FlApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fl_app.deployment import free_port

    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setattr("fl_app.commands.cluster.EMBEDDED_URL", url)
    path = new_wallet_offline(tmp_path)
    run = fl_app("wallet", "show", "-k", str(path))
    assert run.code == 2
    assert run.error == f"no chain at {url}: start it with fl-app services start"
    as_json = fl_app("airdrop", "1", "-k", str(path), "--json")
    assert as_json.json() == {"error": f"no chain at {url}: start it with fl-app services start"}


def new_wallet_offline(directory: Path) -> Path:
    from solders.keypair import Keypair

    path = directory / "offline.json"
    path.write_text(json.dumps(list(bytes(Keypair()))))
    return path


def test_url_keypair_and_output_may_come_before_the_command(
    fl_app: FlApp, chain_server: LocalChainServer, tmp_path: Path
) -> None:
    path = new_wallet(tmp_path, "early", chain_server, sol=2)
    before = fl_app("-u", chain_server.url, "-k", str(path), "--output", "json", "wallet", "show")
    after = fl_app("wallet", "show", "-u", chain_server.url, "-k", str(path), "--json")
    assert before.code == 0, before.stderr
    assert before.json() == after.json()
    assert before.json()["address"] == address_of(path)
    # --output json is indented like the Solana CLI's; --json stays one line for scripts.
    assert len(before.stdout.strip().splitlines()) > 1
    assert len(after.stdout.strip().splitlines()) == 1
    # A value given after the command wins over one given before it.
    other = new_wallet(tmp_path, "late", chain_server)
    both = fl_app("-k", str(path), "wallet", "show", "-k", str(other), "-u", chain_server.url)
    assert f"address: {address_of(other)}" in both.stdout


def test_solana_monikers_name_the_public_clusters() -> None:
    from fl_app.commands.cluster import resolve_cluster

    assert resolve_cluster("mainnet-beta").url == "https://api.mainnet-beta.solana.com"
    assert resolve_cluster("m") == resolve_cluster("mainnet-beta")
    assert resolve_cluster("t").name == "testnet"
    assert resolve_cluster("localhost").name == "localnet"


def test_version_names_the_installed_package(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    from fl_app.cli import main

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"fl-app {version('fl-app')}"
