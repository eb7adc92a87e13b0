"""Shared fixtures: a private Kubo daemon, CKKS keys, the command line's chain and home.

The quickstart example is imported from its app directory, as Flower loads it; Simulation
Engine workers get that directory on PYTHONPATH from the test that starts them.
"""

import sys
from pathlib import Path

QUICKSTART_APP_DIR = Path(__file__).resolve().parents[1] / "examples" / "quickstart_encrypted"
sys.path.insert(0, str(QUICKSTART_APP_DIR))

pytest_plugins = [
    "tests.cli_fixtures",
    "tests.deployment_fixtures",
    "tests.he_fixtures",
    "tests.ipfs_fixtures",
]
