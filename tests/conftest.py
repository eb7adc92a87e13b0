"""Shared fixtures: a private Kubo daemon, and the command line's chain and home."""

pytest_plugins = ["tests.cli_fixtures", "tests.ipfs_fixtures"]
