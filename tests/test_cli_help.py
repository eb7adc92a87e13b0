"""Every ``fl-app`` command has ``--help``; chain refusals read as what to do."""

from __future__ import annotations

import argparse

import pytest

from fl_app.cli import build_parser, main
from fl_app.commands.program_errors import explain


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple]:
    found = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.extend(_commands(sub, (*prefix, name)))
    return found


COMMANDS = _commands(build_parser())


def test_the_documented_commands_exist() -> None:
    names = {" ".join(c) for c in COMMANDS}
    expected = {
        "services start", "services stop", "services status", "wallet new", "wallet show",
        "airdrop", "keys create", "task create", "task status", "task rounds",
        "task finalize", "task expire", "task close", "stake", "claim", "client fetch", "demo",
        "train", "data check",
    }  # fmt: skip
    assert expected <= names


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "fl-app")
def test_every_command_has_help(command: tuple[str, ...], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: fl-app {' '.join(command)}".rstrip())


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "StakingError.StakeBelowMinimum",
            "stake of 0.5 SOL is below task T's minimum of 1 SOL: stake at least 1 SOL",
        ),
        (
            "StakingError.StakesUnclaimed",
            "task T still has unclaimed stakes: close it once every participant has run "
            "fl-app claim T",
        ),
        ("StakingError.TaskFull", "task T already has its 4 participants: choose another task"),
        (
            "AnchorError.ConstraintHasOne",
            "wallet W is not the authority of task T: sign with the organisation's keypair (-k)",
        ),
        ("StakingError.VaultShortfall", "the staking program refused: raw (custom error 6034)"),
    ],
)
def test_program_errors_become_instructions(name: str, message: str) -> None:
    context = {"task": "T", "wallet": "W", "amount": "0.5", "min_stake": "1"}
    error = explain(name, "raw (custom error 6034)", max_participants=4, **context)
    assert str(error) == message
