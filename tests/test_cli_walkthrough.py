"""A newcomer follows the README's "Using it" commands, in order, as separate processes.

Each step must succeed (or fail with its documented one-line message) and print
readable lines: no traceback, no warnings from libraries. Every command run here is
checked to appear in the README, so the two cannot drift apart.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fl_app.deployment import free_port
from fl_app.ipfs import find_ipfs_binary

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[1] / "README.md"
ADDRESS = r"[1-9A-HJ-NP-Za-km-z]{32,44}"


def _readme_commands() -> str:
    text = README.read_text()
    section = text[text.index("## Using it") :]
    return section[: section.index("```", section.index("```bash") + 7)]


class Newcomer:
    """Runs ``fl-app`` commands in a fresh home directory, like a new user's shell."""

    def __init__(self, root: Path) -> None:
        self.cwd = root / "work"
        self.cwd.mkdir()
        self.env = os.environ | {
            "HOME": str(root / "home"),
            "FL_APP_HOME": str(root / "state"),
            "FL_APP_IPFS_BIN": str(find_ipfs_binary()),
        }
        self.readme = _readme_commands()

    def run(
        self,
        documented: str,
        *extra: str,
        fails: bool = False,
        values: dict[str, str] | None = None,
    ) -> str:
        """Run the README's command ``documented``, its placeholders filled from ``values``.

        ``extra`` arguments are appended (a free port instead of the default). Returns
        stdout, or the error line when the step is documented to fail.
        """
        assert documented in self.readme, f"not in the README: {documented}"
        args = [values.get(a, a) if values else a for a in documented.split()[1:] if a != "\\"]
        done = subprocess.run(
            [sys.executable, "-m", "fl_app.cli", *args, *extra],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        output = done.stdout + done.stderr
        assert "Traceback" not in output and "Warning" not in output, output
        if fails:
            assert done.returncode == 2, output
            assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1, output
            return done.stderr.strip()
        assert done.returncode == 0, output
        assert done.stderr == "", output
        return done.stdout


def _value(output: str, label: str) -> str:
    match = re.search(rf"^{label}: ({ADDRESS})$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def test_a_newcomer_follows_the_readme(tmp_path: Path) -> None:
    user = Newcomer(tmp_path)
    started = user.run("fl-app services start", "--chain-port", str(free_port()))
    try:
        assert re.search(r"^chain \(embedded\)  http://127\.0\.0\.1:\d+  \(pid", started, re.M)
        assert re.search(r"^IPFS \(Kubo\)       http://127\.0\.0\.1:\d+  \(pid", started, re.M)

        org = _value(user.run("fl-app wallet new -k org.json"), "address")
        assert "20 SOL to " + org in user.run("fl-app airdrop 20 -k org.json")
        holder = _value(user.run("fl-app wallet new -k keyholder.json"), "address")
        user.run("fl-app airdrop 5 -k keyholder.json")
        keys = user.run("fl-app keys create -k keyholder.json --dir keys")
        assert _value(keys, "key holder") == holder
        assert "public context: keys/public_context.bin (give it to the organisation)" in keys

        created = user.run(
            "fl-app task create -k org.json --pool 10 --min-stake 1 --rounds 3 "
            "--max-participants 5 \\\n"
            "    --key-holder KEY_HOLDER --context keys/public_context.bin",
            values={"KEY_HOLDER": holder},
        )
        task = _value(created, "task")
        on_task = {"TASK": task}
        assert "reward pool 10 SOL, minimum stake 1 SOL, 3 rounds, up to 5 participants" in created

        me = _value(user.run("fl-app wallet new"), "address")
        assert (tmp_path / "home" / ".config" / "solana" / "id.json").is_file()
        user.run("fl-app airdrop 5")
        staked = user.run("fl-app stake TASK 1", values=on_task)
        assert staked.startswith(f"staked 1 SOL on task {task} from {me}")
        fetched = user.run("fl-app client fetch TASK", values=on_task)
        assert fetched.startswith("verified client template bafk")
        user.run("fl-app stake TASK 1 -k keyholder.json", values=on_task)

        status = user.run("fl-app task status TASK", values=on_task)
        assert "participants:     2 of 5, 0 contributed" in status
        assert f"  {me}  stake 1 SOL, 0 rounds" in status
        assert f"  {holder}  stake 1 SOL, 0 rounds" in status
        rounds = user.run("fl-app task rounds TASK", values=on_task)
        assert rounds.strip() == f"no rounds recorded yet on task {task} (0 of 3 planned)"
        refused = user.run("fl-app claim TASK", fails=True, values=on_task)
        assert refused.startswith(f"fl-app: error: task {task} is not settled yet: claim after")
    finally:
        stopped = user.run("fl-app services stop")
    assert stopped.strip() == "stopped chain and ipfs"
