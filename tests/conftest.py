"""Shared fixtures: a private Kubo daemon, CKKS keys, the command line's chain and home."""

pytest_plugins = [
    "tests.cli_fixtures",
    "tests.deployment_fixtures",
    "tests.he_fixtures",
    "tests.ipfs_fixtures",
]
