"""The organisation's IPFS command line: local CIDs, pinning, and the daemon itself."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fl_app.ipfs.__main__ import main
from fl_app.ipfs.bundle import bundle_cid
from fl_app.ipfs.rpc import IpfsClient
from fl_app.ipfs.unixfs import file_cid
from tests.ipfs_fixtures import TEMPLATE_DIR

REPO_ROOT = TEMPLATE_DIR.parent


def test_cid_command_computes_without_a_daemon(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"x" * 600_000)
    assert main(["cid", str(blob)]) == 0
    assert main(["cid", "--template", str(TEMPLATE_DIR)]) == 0
    assert capsys.readouterr().out.split() == [
        file_cid(blob.read_bytes()),
        bundle_cid(TEMPLATE_DIR),
    ]


def test_pin_commands_print_the_pinned_cid(
    ipfs_client: IpfsClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = tmp_path / "model.bin"
    checkpoint.write_bytes(os.urandom(300_000))
    assert main(["pin-template", str(TEMPLATE_DIR), "--api", ipfs_client.api_url]) == 0
    assert main(["pin", str(checkpoint), "--api", ipfs_client.api_url]) == 0
    template_cid, checkpoint_cid = capsys.readouterr().out.split()
    assert template_cid == bundle_cid(TEMPLATE_DIR)
    assert checkpoint_cid == file_cid(checkpoint.read_bytes())
    assert ipfs_client.is_pinned(template_cid) and ipfs_client.is_pinned(checkpoint_cid)


def test_pin_without_daemon_prints_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pin-template", str(TEMPLATE_DIR), "--api", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: IPFS daemon at http://127.0.0.1:9 not reachable")
    assert err.count("\n") == 1


def test_daemon_command_serves_until_terminated(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "fl_app.ipfs", "daemon", "--repo", str(tmp_path), "--api-port", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        match = re.match(r"IPFS RPC API (http://127\.0\.0\.1:\d+)", banner)
        assert match, banner
        with IpfsClient(match.group(1), timeout=5.0) as client:
            assert client.version() == "0.39.0"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    with IpfsClient(match.group(1), timeout=1.0, retries=0) as client:
        assert not client.is_healthy()
