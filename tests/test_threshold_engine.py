"""The threshold engine's library: built by set-up, found by the bridge, one C interface."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from strategy.threshold import EngineUnavailableError, InvalidArgumentError, parameters
from strategy.threshold.engine import call, library_path, load_library, pack_list, unpack_list

ROOT = Path(__file__).resolve().parents[1]


def test_setup_builds_the_library_the_bridge_loads() -> None:
    # Set-up is idempotent: with the library built it only names it.
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup_threshold.sh")],
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
    ).stdout
    assert str(library_path()) in out
    assert library_path().is_file()


def test_missing_library_is_reported_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailableError, match="make setup"):
        load_library(tmp_path / "libthreshold_ckks-missing.so")


def test_parameters_are_fixed_named_and_within_the_128_bit_bound() -> None:
    info = parameters()
    assert info["ring"] == "ConjugateInvariant"
    assert info["log_n"] == 12 and info["slots"] == 4096
    assert round(info["log_qp"]) == 60 <= info["max_log_qp_128"] == 109
    assert info["log_scale"] == 50
    assert info["name"].startswith("fl-app/threshold-ckks/")


def test_requests_frame_byte_strings() -> None:
    items = [b"", b"\x00\x01", b"x" * 70_000]
    assert unpack_list(pack_list(items)) == items


def test_unknown_operations_and_bad_arguments_are_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="unknown operation"):
        call("decrypt_with_full_key", [])
    with pytest.raises(InvalidArgumentError, match="threshold 4 of 3"):
        call("generate_key_shares", [b"seed", b"1", b"3", b"4"])
    with pytest.raises(InvalidArgumentError):
        call("generate_key_shares", [b"seed", b"one", b"3", b"2"])
