"""The ``fl-app`` command groups; each module registers its own subcommands."""

from __future__ import annotations

import argparse

from fl_app.commands import (
    client,
    data,
    keys,
    predict,
    server,
    services,
    simulation,
    stake,
    task,
    wallet,
)

__all__ = ["GROUPS", "register_all"]

# In the order ``fl-app --help`` lists them: set-up, the organisation, the participant,
# then local runs, then using the trained model.
GROUPS = (services, wallet, keys, task, server, stake, client, simulation, data, predict)


def register_all(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register every group's subcommands on ``commands``."""
    for group in GROUPS:
        group.register(commands)
