"""A node's ClientApp process starts without the training libraries.

Under process isolation every message (a stake proof, a decryption, a training round)
runs in a fresh ClientApp process, so what the bundle imports at start-up is paid per
message. Only train and evaluate messages need torch, opacus and scikit-learn.
"""

from __future__ import annotations

import json
import subprocess
import sys

TRAINING_LIBRARIES = ("torch", "opacus", "sklearn")


def test_the_bundle_loads_no_training_library_until_a_train_message() -> None:
    probe = (
        "import json, sys\n"
        "import client_template.client as bundle\n"
        "bundle.build_client_app()\n"
        f"print(json.dumps([m for m in {TRAINING_LIBRARIES!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=300
    )
    assert json.loads(done.stdout.splitlines()[-1]) == []
