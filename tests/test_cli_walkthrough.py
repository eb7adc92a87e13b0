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

import httpx
import pytest
from solders.pubkey import Pubkey

from fl_app.chain import RpcTransport, StakingClient
from fl_app.chain.local_rpc_methods import SET_UNIX_TIMESTAMP
from fl_app.deployment import free_port
from fl_app.ipfs import find_ipfs_binary
from strategy.threshold.engine import library_path
from tests.cli_fixtures import free_chain_port

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[1] / "README.md"
ADDRESS = r"[1-9A-HJ-NP-Za-km-z]{32,44}"


def _readme_commands() -> str:
    text = README.read_text()
    section = text[text.index("## Using it") :]
    return section[: section.index("```", section.index("```bash") + 7)]


_COMMAND_TIMEOUT_S = 3_600.0
"""The default ``--timeout`` of ``server start`` and ``client run``."""


class Newcomer:
    """Runs ``fl-app`` commands in a fresh home directory, like a new user's shell."""

    def __init__(self, root: Path) -> None:
        self.cwd = root / "work"
        self.cwd.mkdir()
        self.env = os.environ | {
            "HOME": str(root / "home"),
            "FL_APP_HOME": str(root / "state"),
            "FL_APP_IPFS_BIN": str(find_ipfs_binary()),
            # Set-up builds it under the real home; this one is fresh.
            "FL_APP_THRESHOLD_LIB": str(library_path()),
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
        done = subprocess.run(
            self._command(documented, extra, values),
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        return self._check(done.returncode, done.stdout, done.stderr, fails=fails)

    def start(
        self, documented: str, *extra: str, values: dict[str, str] | None = None
    ) -> subprocess.Popen[str]:
        """Start the README's command ``documented`` in the background (its ``&``)."""
        return subprocess.Popen(
            self._command(documented.removesuffix(" &"), extra, values),
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def finish(self, process: subprocess.Popen[str]) -> str:
        """Wait for a background command (the README's ``wait``); return its stdout.

        The commands bound their own waits (``server start --timeout``, ``client run
        --timeout``, both an hour by default); a busy machine only makes them slower.
        """
        stdout, stderr = process.communicate(timeout=_COMMAND_TIMEOUT_S + 60)
        return self._check(process.returncode, stdout, stderr, fails=False)

    def _command(
        self, documented: str, extra: tuple[str, ...], values: dict[str, str] | None
    ) -> list[str]:
        assert documented in self.readme, f"not in the README: {documented}"
        args = [values.get(a, a) if values else a for a in documented.split()[1:] if a != "\\"]
        return [sys.executable, "-m", "fl_app.cli", *args, *extra]

    @staticmethod
    def _check(returncode: int, stdout: str, stderr: str, *, fails: bool) -> str:
        output = stdout + stderr
        assert "Traceback" not in output and "Warning" not in output, output
        if fails:
            assert returncode == 2, output
            assert stdout == "" and len(stderr.strip().splitlines()) == 1, output
            return stderr.strip()
        assert returncode == 0, output
        assert stderr == "", output
        return stdout


def _value(output: str, label: str) -> str:
    match = re.search(rf"^{label}: ({ADDRESS})$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def _sol_received(output: str) -> float:
    match = re.search(r"claimed ([0-9.]+) SOL", output)
    assert match, output
    return float(match.group(1))


def _close_join_window(chain_url: str, task: str) -> None:
    """Move the chain's clock past the task's join deadline, as waiting for it would."""
    client = StakingClient(RpcTransport(chain_url))
    deadline = client.task(Pubkey.from_string(task)).join_deadline
    reply = httpx.post(
        chain_url,
        json={"jsonrpc": "2.0", "id": 1, "method": SET_UNIX_TIMESTAMP, "params": [deadline + 1]},
    ).json()
    assert "error" not in reply, reply


def test_a_newcomer_follows_the_readme(tmp_path: Path) -> None:
    user = Newcomer(tmp_path)
    started = user.run("fl-app services start", "--chain-port", str(free_chain_port()))
    try:
        chain = re.search(r"^chain \(embedded\)  (http://127\.0\.0\.1:\d+)  \(pid", started, re.M)
        assert chain, started
        assert re.search(r"^IPFS \(Kubo\)       http://127\.0\.0\.1:\d+  \(pid", started, re.M)

        org = _value(user.run("fl-app wallet new -k org.json"), "address")
        assert "20 SOL to " + org in user.run("fl-app airdrop 20 -k org.json")
        created = user.run(
            "fl-app task create -k org.json --pool 10 --min-stake 1 --rounds 3 "
            "--max-participants 5 \\\n    --committee 3/2 --join-window 2m"
        )
        task = _value(created, "task")
        on_task = {"TASK": task}
        assert "reward pool 10 SOL, minimum stake 1 SOL, 3 rounds, up to 5 participants" in created
        assert "a committee of 3 stakers, 2 decrypting, drawn after the join deadline" in created

        me = _value(user.run("fl-app wallet new"), "address")
        assert (tmp_path / "home" / ".config" / "solana" / "id.json").is_file()
        user.run("fl-app airdrop 5")
        staked = user.run("fl-app stake TASK 1", values=on_task)
        assert staked.startswith(f"staked 1 SOL on task {task} from {me}")
        fetched = user.run("fl-app client fetch TASK", values=on_task)
        assert fetched.startswith("verified client template bafk")
        others = []
        for name in ("alice", "bob"):
            others.append(_value(user.run(f"fl-app wallet new -k {name}.json"), "address"))
            user.run(f"fl-app airdrop 5 -k {name}.json")
            user.run(f"fl-app stake TASK 1 -k {name}.json", values=on_task)

        status = user.run("fl-app task status TASK", values=on_task)
        assert "participants:     3 of 5, 0 contributed" in status
        for wallet in (me, *others):
            assert f"  {wallet}  stake 1 SOL, 0 rounds" in status
        rounds = user.run("fl-app task rounds TASK", values=on_task)
        assert rounds.strip() == f"no rounds recorded yet on task {task} (0 of 3 planned)"
        refused = user.run("fl-app claim TASK", fails=True, values=on_task)
        assert refused.startswith(f"fl-app: error: task {task} is not settled yet: claim after")
        early = user.run("fl-app task draw TASK", fails=True, values=on_task)
        assert early.startswith(f"fl-app: error: task {task} takes stakes until ")

        _close_join_window(chain.group(1), task)
        drawn = user.run("fl-app task draw TASK", values=on_task)
        assert set(drawn.split()[-3:]) == {me, *others}

        port = free_port()
        on_link = on_task | {"127.0.0.1:9092": f"127.0.0.1:{port}"}
        server = user.start(
            "fl-app server start TASK -k org.json &", "--port", str(port), values=on_task
        )
        clients = [
            user.start(
                "fl-app client run TASK --superlink 127.0.0.1:9092 --partition 0/3 &",
                values=on_link,
            ),
            *(
                user.start(
                    f"fl-app client run TASK --superlink 127.0.0.1:9092 --partition {i}/3 -k "
                    f"{name}.json &",
                    values=on_link,
                )
                for i, name in ((1, "alice"), (2, "bob"))
            ),
        ]
        served = user.finish(server)
        assert "3 of 3 round(s) recorded on chain" in served
        for client in clients:
            assert "3 round(s) recorded" in user.finish(client)

        rounds = user.run("fl-app task rounds TASK", values=on_task)
        assert rounds.count("bafk") >= 3
        audited = user.run("fl-app client audit TASK", values=on_task)
        assert audited.splitlines() == [
            f"round {r}: your input's score share is the one your ciphertext gives"
            for r in (1, 2, 3)
        ]
        audit = user.run("fl-app task finalize TASK --dry-run", values=on_task)
        signatures = []
        for documented in ("fl-app task attest TASK", "fl-app task attest TASK -k alice.json"):
            attested = user.run(documented, values=on_task)
            match = re.search(r"^attestation: ([0-9a-f]{192})$", attested, re.MULTILINE)
            assert match, attested
            signatures.append(match.group(1))
        user.run(
            "fl-app task finalize TASK -k org.json --attestation ATTESTATION --attestation "
            "ATTESTATION_2",
            values=on_task | {"ATTESTATION": signatures[0], "ATTESTATION_2": signatures[1]},
        )
        claims = [user.run("fl-app claim TASK", values=on_task)]
        claims += [
            user.run(f"fl-app claim TASK -k {n}.json", values=on_task) for n in ("alice", "bob")
        ]
        rewards = [_sol_received(claim) for claim in claims]
        assert sum(rewards) == pytest.approx(13.0, abs=1e-8)  # pool 10 + three stakes of 1
        assert audit
        closed = user.run("fl-app task close TASK -k org.json", values=on_task)
        assert "rent" in closed
    finally:
        stopped = user.run("fl-app services stop")
    assert stopped.splitlines()[0] == "stopped chain and ipfs"
