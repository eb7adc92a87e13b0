"""A local Flower Deployment Engine: a real SuperLink and SuperNodes as processes on loopback.

Used by the tests and benchmarks to exercise the same path a multi-machine deployment
takes (SuperLink, SuperNodes, ``flwr run``), with insecure transport because nothing
leaves 127.0.0.1. A real deployment adds TLS certificates and node authentication.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fl_app.errors import FlAppError

__all__ = [
    "RUN_TIMEOUT_S",
    "DeploymentError",
    "LocalDeployment",
    "flower_bin",
    "flower_env",
    "free_port",
    "local_deployment",
    "node_config_arg",
    "spawn_group",
    "stop_group",
    "supernode_command",
]

_CONNECTION = "local-deployment"

RUN_TIMEOUT_S = 3_600.0
"""How long a whole ``flwr run`` may take: a run of a few rounds on a busy 2-core machine
takes minutes, so this bounds a hung run, not a slow one."""


class DeploymentError(FlAppError):
    """A SuperLink, SuperNode or ``flwr run`` of the local deployment failed."""


def spawn_group(
    args: Sequence[str], *, env: Mapping[str, str], log: Any
) -> subprocess.Popen[bytes]:
    """Start ``args`` as the leader of a new process group, output to ``log``.

    Flower's SuperNode starts app runners of its own; ``stop_group`` stops them with it.
    """
    return subprocess.Popen(
        list(args), env=dict(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop_group(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Ask a group started by ``spawn_group`` to stop, then kill whatever is left of it."""
    _signal_group(proc, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout)
    _signal_group(proc, signal.SIGKILL)
    proc.wait(timeout=5)


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout: float, proc: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DeploymentError(f"{name} exited with code {proc.returncode} before listening")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise DeploymentError(f"{name} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


SUPEREXEC_POLL_ENV = "FLWR_SUPEREXEC_TASK_POLL_INTERVAL"
SUPEREXEC_POLL_S = "0.2"


def flower_env() -> dict[str, str]:
    """This environment, with this interpreter's scripts first on PATH.

    SuperLink and SuperNodes spawn Flower's own executables by name, so they must find
    the ones installed beside the running Python even when its venv is not activated.
    """
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {
        # Flower's SuperExecs look for new runs every second by default; every message a
        # ClientApp answers waits for that look.
        SUPEREXEC_POLL_ENV: SUPEREXEC_POLL_S,
        **os.environ,
        "PATH": path,
        "FLWR_DISABLE_UPDATE_CHECK": "1",
    }


def flower_bin(name: str) -> str:
    """The path of Flower's executable ``name`` beside this interpreter, else on PATH."""
    path = Path(sys.executable).with_name(name)
    return str(path) if path.exists() else (shutil.which(name) or name)


def supernode_command(*options: str) -> list[str]:
    """Command line of Flower's SuperNode with ``options``, looking for messages promptly
    (:mod:`fl_app.client.prompt_supernode`)."""
    return [sys.executable, "-m", "fl_app.client.prompt_supernode", "--", *options]


def node_config_arg(values: Mapping[str, Any]) -> str:
    """Flower's ``--node-config`` text for these values (strings quoted)."""
    return " ".join(
        f"{k}={v}" if not isinstance(v, str) else f'{k}="{v}"' for k, v in values.items()
    )


@dataclass
class LocalDeployment:
    """Handles to a running SuperLink and its SuperNodes."""

    workdir: Path
    address: str
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]]

    def run(
        self,
        app_dir: Path,
        run_config: Mapping[str, Any] | None = None,
        *,
        timeout: float = RUN_TIMEOUT_S,
        check: bool = True,
        log_path: Path | None = None,
    ) -> str:
        """Submit the Flower app in ``app_dir`` with ``flwr run --stream``; return its log.

        With ``check=False`` the log of a failed run is returned instead of raised. The
        whole log is also written to ``log_path`` when given, whatever the outcome.

        Raises
        ------
        DeploymentError
            If the run fails (and ``check``) or does not finish within ``timeout`` seconds.
        """
        args = [flower_bin("flwr"), "run", str(app_dir), _CONNECTION, "--stream"]
        if run_config:
            args += ["--run-config", " ".join(f"{k}={_toml(v)}" for k, v in run_config.items())]
        try:
            done = subprocess.run(
                args, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            if log_path is not None:
                log_path.write_bytes(_text(exc.stdout) + _text(exc.stderr))
            raise DeploymentError(f"flwr run did not finish within {timeout:.0f} s") from exc
        log = done.stdout + done.stderr
        if log_path is not None:
            log_path.write_text(log)
        if check and done.returncode != 0:
            raise DeploymentError(f"flwr run exited with {done.returncode}:\n{log[-4000:]}")
        return log


def _text(output: str | bytes | None) -> bytes:
    if output is None:
        return b""
    return output.encode() if isinstance(output, str) else output


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


@contextmanager
def local_deployment(
    node_configs: Sequence[Mapping[str, Any]],
    *,
    workdir: Path,
    port: int | None = None,
    startup_timeout: float = 60,
) -> Iterator[LocalDeployment]:
    """Start a SuperLink and one SuperNode per node config; stop them all on exit.

    ``port`` fixes the SuperLink's port (participants elsewhere connect to it); by
    default a free one is taken.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    flwr_home = workdir / "flwr-home"
    flwr_home.mkdir(exist_ok=True)
    # Flower 1.41 serves the Fleet, Control and Runtime APIs over HTTP on one port.
    port = port or free_port()
    env = {**flower_env(), "FLWR_HOME": str(flwr_home)}
    (flwr_home / "config.toml").write_text(
        f'[superlink]\ndefault = "{_CONNECTION}"\n\n'
        f'[superlink.{_CONNECTION}]\naddress = "127.0.0.1:{port}"\ninsecure = true\n'
    )
    processes: list[subprocess.Popen[bytes]] = []
    logs = []

    def spawn(name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (workdir / f"{name}.log").open("wb")
        logs.append(log)
        proc = spawn_group(args, env=env, log=log)
        processes.append(proc)
        return proc

    try:
        superlink = spawn(
            "superlink",
            [
                flower_bin("flower-superlink"),
                "--insecure",
                "--disable-runtime-dependency-installation",
                "--host=127.0.0.1",
                f"--port={port}",
            ],
        )
        _wait_for_port(port, startup_timeout, superlink, "flower-superlink")
        for index, config in enumerate(node_configs):
            spawn(
                f"supernode-{index}",
                supernode_command(
                    "--insecure",
                    f"--superlink=127.0.0.1:{port}",
                    "--host=127.0.0.1",
                    f"--port={free_port()}",
                    f"--node-config={node_config_arg(config)}",
                ),
            )
        yield LocalDeployment(workdir, f"127.0.0.1:{port}", env, processes)
    finally:
        for proc in reversed(processes):
            _signal_group(proc, signal.SIGTERM)
        for proc in reversed(processes):
            stop_group(proc)
        for log in logs:
            log.close()
