"""``fl-app client run``: checks before it waits, reruns, and stops its whole process tree."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from solders.keypair import Keypair

from fl_app.chain import RpcTransport, StakingClient
from fl_app.chain.local_rpc import LocalChainServer
from fl_app.deployment import free_port, local_deployment
from fl_app.ipfs import KuboDaemon
from fl_app.keys import KeyFiles
from fl_app.roles import Organisation, Participant, TaskPlan
from tests.cli_fixtures import FlApp, fl_app, isolated_home

__all__ = ["fl_app", "isolated_home"]  # fixtures used here

TEMPLATE = Path(__file__).resolve().parents[1] / "client_template"
SOL = 1_000_000_000


def _wallet(path: Path) -> Path:
    path.write_text(json.dumps(list(bytes(Keypair()))))
    return path


def test_client_run_refuses_bad_data_before_anything_starts(fl_app: FlApp, tmp_path: Path) -> None:
    data = tmp_path / "mine.csv"
    data.write_text("a,b,outcome\n1,2,0\n3,nan,1\n")
    task = str(Keypair().pubkey())
    run = fl_app(
        "client", "run", task, "--superlink", f"127.0.0.1:{free_port()}",
        "--data", str(data), "--target", "outcome", "-k", str(_wallet(tmp_path / "w.json")),
        "--workdir", str(tmp_path / "work"),
    )  # fmt: skip
    assert run.code == 2
    assert run.error == f"CSV file {data} has missing values in column(s): b"
    assert not (tmp_path / "work").exists()


def test_client_run_refuses_a_superlink_that_does_not_answer(fl_app: FlApp, tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    run = fl_app(
        "client", "run", str(Keypair().pubkey()), "--superlink", address,
        "--partition", "0/2", "-k", str(_wallet(tmp_path / "w.json")),
        "--workdir", str(tmp_path / "work"), "--connect-timeout", "2",
    )  # fmt: skip
    assert run.code == 2
    assert run.error == (
        f"no SuperLink answers at {address} within 2 s: check the address, or ask the "
        "organisation to start it (fl-app server start TASK)"
    )
    assert not (tmp_path / "work").exists()


def _processes_under(workdir: Path) -> list[int]:
    """Pids of the node's processes: their environment points Flower's home into ``workdir``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            environ = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if f"FLWR_HOME={workdir}" in environ and "fl_app.cli" not in cmdline:
            found.append(int(pid))
    return found


def _wait_for(condition: object, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
def test_sigterm_stops_client_run_and_its_supernode_and_a_rerun_reuses_the_workdir(
    tmp_path: Path, kubo_daemon: KuboDaemon
) -> None:
    with (
        LocalChainServer(port=0) as chain,
        kubo_daemon.client() as ipfs,
        local_deployment([], workdir=tmp_path / "superlink") as superlink,
    ):
        transport = RpcTransport(chain.url)
        client = StakingClient(transport)
        authority, member, holder = Keypair(), Keypair(), Keypair()
        for keypair in (authority, member, holder):
            transport.airdrop(keypair.pubkey(), 20 * SOL)
        keys = KeyFiles.create(tmp_path / "keys")
        task = Organisation(client, ipfs, authority).create_task(
            TaskPlan(task_id=3, reward_pool=2 * SOL, min_stake=SOL, max_participants=4, rounds=2),
            key_holder=holder.pubkey(),
            public_context=keys.public_context.read_bytes(),
            template_dir=TEMPLATE,
        )
        Participant(client, member).stake(task, SOL)
        wallet = tmp_path / "member.json"
        wallet.write_text(json.dumps(list(bytes(member))))
        workdir = tmp_path / "client-work"
        command = [
            sys.executable, "-m", "fl_app.cli", "client", "run", str(task),
            "--superlink", superlink.address, "--partition", "0/2", "-k", str(wallet),
            "-u", chain.url, "--ipfs", kubo_daemon.api_url, "--workdir", str(workdir),
        ]  # fmt: skip
        env = {**os.environ, "FL_APP_HOME": str(tmp_path / "home")}
        for attempt in range(2):  # the second run reuses the same work directory
            process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
            assert _wait_for(lambda: bool(_processes_under(workdir)), 120), attempt
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=60)
            assert process.returncode == 143, stderr
            assert stderr.strip().endswith("fl-app: terminated")
            assert _wait_for(lambda: not _processes_under(workdir), 30)
