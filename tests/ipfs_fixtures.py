"""Shared IPFS fixtures: one real, private Kubo daemon for the whole test session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from fl_app.client.template import template_dir
from fl_app.ipfs.daemon import KuboDaemon
from fl_app.ipfs.rpc import IpfsClient

TEMPLATE_DIR = template_dir()


@pytest.fixture(scope="session")
def kubo_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KuboDaemon]:
    """A Kubo daemon on loopback, offline, in a temporary repo; stopped after the session.

    Fails (never skips) when Kubo is missing: install it with scripts/setup_ipfs.sh.
    """
    with KuboDaemon(repo_dir=tmp_path_factory.mktemp("ipfs-repo")) as daemon:
        yield daemon


@pytest.fixture
def ipfs_client(kubo_daemon: KuboDaemon) -> Iterator[IpfsClient]:
    """An RPC client of the session daemon."""
    with kubo_daemon.client(timeout=30.0) as client:
        yield client


@pytest.fixture
def template_copy(tmp_path: Path) -> Path:
    """A private copy of client_template/ that a test may change."""
    copy = tmp_path / "template"
    shutil.copytree(TEMPLATE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy
