"""fl-app installed from its wheels works anywhere: no path leads back into a checkout.

The fl-app wheel is built from this checkout and installed, with its dependencies, into a
clean venv; set-up installs the embedded chain's wheel into it. From a directory
outside the checkout, with only that venv and Kubo where set-up puts it
(``~/.cache/fl-app/bin``) on hand, ``fl-app demo`` runs a whole task: create, stake, a
round, settle and claim. The installed client template builds the same bundle, to the
byte, as the checkout's.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fl_app.client.template import TEMPLATE_DIR
from fl_app.deployment import RUN_TIMEOUT_S
from fl_app.ipfs.bundle import bundle_cid

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]
# Bounds on a hung step, not on a slow one: installing torch and Flower from pip's cache
# takes minutes, building the embedded chain when its wheel is not cached yet longer.
_INSTALL_TIMEOUT_S = 3_600
_CHAIN_TIMEOUT_S = 5_400
_DEMO_TIMEOUT_S = RUN_TIMEOUT_S
_CLAIMS = re.compile(r"([\d,]+) paid out by claims")


def _run(
    args: list[str], *, cwd: Path, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    print(f"{Path(args[0]).name} {' '.join(args[1:3])}: {time.monotonic() - started:.0f} s")
    assert done.returncode == 0, f"{args} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done


def _user_env(venv: Path, home: str) -> dict[str, str]:
    """A user's shell with the venv activated: nothing of this checkout or its venv.

    The user's pip settings (``PIP_*``: the wheel cache, certificates) stay.
    """
    return {
        **{key: value for key, value in os.environ.items() if key.startswith("PIP_")},
        "HOME": home,
        "PATH": os.pathsep.join([str(venv / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
        "VIRTUAL_ENV": str(venv),
        "LANG": "C.UTF-8",
        "COLUMNS": "200",
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
    }


def test_wheels_installed_in_a_fresh_venv_run_the_demo_outside_the_checkout(
    tmp_path: Path,
) -> None:
    wheels, venv, elsewhere = tmp_path / "wheels", tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    home = os.environ["HOME"]
    here = dict(os.environ)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels)]
    _run([*pip_wheel, str(REPO_ROOT)], cwd=tmp_path, env=here, timeout=_INSTALL_TIMEOUT_S)
    (wheel,) = wheels.glob("fl_app-*.whl")

    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, env=here, timeout=120)
    user = _user_env(venv, home)
    python = str(venv / "bin" / "python")
    _run(
        [python, "-m", "pip", "install", "--quiet", str(wheel)],
        cwd=elsewhere,
        env=user,
        timeout=_INSTALL_TIMEOUT_S,
    )
    _run(
        ["bash", str(REPO_ROOT / "scripts" / "setup_chain.sh")],
        cwd=elsewhere,
        env={**here, "FL_APP_VENV": str(venv)},
        timeout=_CHAIN_TIMEOUT_S,
    )

    where = _run(
        [
            python,
            "-c",
            "import embedded_chain, fl_app\n"
            "from fl_app.client.template import TEMPLATE_DIR as app\n"
            "from fl_app.ipfs.bundle import bundle_cid\n"
            "print(fl_app.__file__, embedded_chain.__file__, app, bundle_cid(app))",
        ],
        cwd=elsewhere,
        env=user,
        timeout=120,
    ).stdout.split()
    site_packages = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    for path in where[:3]:
        assert Path(path).is_relative_to(site_packages), f"{path} is not the installed copy"
    assert where[3] == bundle_cid(TEMPLATE_DIR)

    demo = _run(
        [
            str(venv / "bin" / "fl-app"),
            "demo",
            "--participants",
            "4",
            "--rounds",
            "1",
            "--out",
            str(elsewhere / "runs"),
        ],
        cwd=elsewhere,
        env=user,
        timeout=_DEMO_TIMEOUT_S,
    )
    assert "round  1: test accuracy" in demo.stdout
    assert "paid out by claims" in demo.stdout
    (report,) = (elsewhere / "runs").glob("task-*/report.md")
    claims = _CLAIMS.search(report.read_text())
    assert claims is not None and int(claims.group(1).replace(",", "")) > 0
