"""Bad input is refused in one line before anything is spent on chain or pinned to IPFS."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from solders.pubkey import Pubkey

from fl_app.chain import ProgramError, RpcTransport, StakingClient
from fl_app.commands.program_errors import explained
from fl_app.errors import FlAppError
from fl_app.ipfs import IpfsClient
from strategy import KeyMaterial
from tests.cli_fixtures import FlApp, address_of, chain_server, fl_app, isolated_home
from tests.test_cli_task import World, key_files, world

__all__ = ["chain_server", "fl_app", "isolated_home", "key_files", "world"]  # fixtures


def _create(fl_app: FlApp, world: World, *, context: Path, rounds: str = "2", most: str = "4"):
    return fl_app(
        "task", "create", "-k", str(world.org), *world.common(),
        "--pool", "10", "--min-stake", "1", "--rounds", rounds, "--max-participants", most,
        "--key-holder", world.key_holder, "--context", str(context),
    )  # fmt: skip


def _spent_and_pinned(world: World) -> tuple[int, dict[str, str]]:
    org = Pubkey.from_string(address_of(world.org))
    balance = StakingClient(RpcTransport(world.chain.url)).balance(org)
    with IpfsClient(world.ipfs) as ipfs:
        return balance, ipfs.pin_ls()


@pytest.mark.parametrize("kind", ["garbage", "secret"])
def test_task_create_refuses_a_context_that_is_not_public(
    fl_app: FlApp, world: World, ckks_keys: KeyMaterial, kind: str
) -> None:
    context = world.tmp / f"{kind}.bin"
    context.write_bytes(b"not a context" * 100 if kind == "garbage" else ckks_keys.secret_context)
    before = _spent_and_pinned(world)

    run = _create(fl_app, world, context=context)

    assert run.code == 2
    if kind == "garbage":
        assert run.error == (
            f"{context} is not a CKKS context: pass public_context.bin from fl-app keys create"
        )
    else:
        assert run.error == (
            f"{context} holds the CKKS secret key and would be published: pass the key "
            "holder's public_context.bin, and keep this file secret"
        )
    assert _spent_and_pinned(world) == before


@pytest.mark.parametrize(
    ("rounds", "most", "message"),
    [
        ("-1", "4", "--rounds must be at least 1, got -1"),
        ("0", "4", "--rounds must be at least 1, got 0"),
        ("2", "0", "--max-participants must be 2 to "),
    ],
)
def test_task_create_refuses_impossible_rounds_and_participants(
    fl_app: FlApp, world: World, rounds: str, most: str, message: str
) -> None:
    before = _spent_and_pinned(world)
    run = _create(fl_app, world, context=world.context, rounds=rounds, most=most)
    assert run.code == 2
    assert run.error.startswith(message)
    assert _spent_and_pinned(world) == before


def test_a_program_error_is_said_by_its_message_not_its_number() -> None:
    with pytest.raises(FlAppError) as info, explained(task="T", wallet="W"):
        raise ProgramError(6003)
    assert str(info.value) == (
        "the staking program refused: Max participants must be between 1 and "
        "MAX_PARTICIPANTS (StakingError.InvalidMaxParticipants)"
    )
    assert "custom error" not in str(info.value)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--participants", "0"], "--participants must be at least 2"),
        (["--rounds", "-3"], "--rounds must be at least 1, got -3"),
        (
            ["--dataset", "wine", "-c", "dataset=digits"],
            "-c dataset=digits contradicts the option that sets it to wine: give it once",
        ),
        (
            ["--participants", "4", "-c", "fraction-train=0.3"],
            "run config 'fraction-train' 0.3 samples 2 of 4 participant(s)",
        ),
    ],
)
def test_train_refuses_options_that_cannot_run(
    fl_app: FlApp, args: list[str], message: str
) -> None:
    run = fl_app("train", *args)
    assert run.code == 2
    assert run.error.startswith(message)


CHECK = (
    "import sys; from fl_app.cli import main; code = main(sys.argv[1:]); "
    "print('torch' in sys.modules); sys.exit(code)"
)


def _data_check(path: Path, target: str = "y") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHECK, "data", "check", str(path), "--target", target],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        ("a,b,y\n1,inf,0\n2,3,1\n", " has infinite values in column(s): b"),
        (
            "a,b,y\n1,2,1\n2,3,1\n",
            ": target 'y' holds the single class 1; training needs examples of at least two "
            "classes",
        ),
    ],
)
def test_data_check_refuses_infinite_values_and_a_single_class(
    tmp_path: Path, csv: str, message: str
) -> None:
    path = tmp_path / "data.csv"
    path.write_text(csv)
    done = _data_check(path)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line == f"fl-app: error: CSV file {path}{message}"


def test_data_check_answers_without_loading_torch(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("a,b,y\n1,2,0\n2,3,1\n")
    started = time.perf_counter()
    done = _data_check(path)
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"{path}: 2 rows, 2 features, 2 classes (labels: 0, 1)",
        "False",  # torch was never imported
    ]
    print(f"data check took {elapsed:.2f} s")
