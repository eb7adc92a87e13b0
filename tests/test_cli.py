"""The command line reports bad input in one line, without a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fl_app.chain.idl import load_spec

MAX_PARTICIPANTS = load_spec().max_participants


def _fl_app(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fl_app.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "-c", "learning-rate=-1"], "run config 'learning-rate' must be positive"),
        (["train", "-c", "lerning-rate=1"], "unknown run config key(s) lerning-rate"),
        (["train", "-c", "rounds"], "--run-config takes key=value pairs"),
        (
            ["demo", "--participants", str(MAX_PARTICIPANTS + 1)],
            f"--participants must be 4 to {MAX_PARTICIPANTS}",
        ),
    ],
)
def test_bad_config_is_one_line_without_traceback(args: list[str], message: str) -> None:
    done = _fl_app(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("fl-app: error: ") and message in lines[0]


def test_bad_csv_is_one_line_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("age,city,y\n30,Lyon,1\n")
    done = _fl_app("data", "check", str(path), "--target", "y")
    assert done.returncode == 2
    assert done.stderr.strip() == f"fl-app: error: CSV file {path} has non-numeric column(s): city"


def test_good_csv_is_summarised(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("age,income,y\n30,2.5,1\n40,3.5,0\n")
    done = _fl_app("data", "check", str(path), "--target", "y")
    assert done.returncode == 0, done.stderr
    assert "2 rows, 2 features, 2 classes" in done.stdout
