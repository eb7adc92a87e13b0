"""A Flower app whose bundle would ship a key to every node is refused before it runs.

The attacker here is carelessness that an organisation can exploit: a key holder who
makes its keys inside the app directory hands its wallet to whoever runs ``flwr run``,
which packs that directory and installs it on every SuperNode.
"""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from pathlib import Path

import pytest
from flwr.cli.build import build_fab_from_disk

from strategy import BundledSecretError, Wallet
from strategy.app_bundle import bundled_secrets

PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "leaky-app"
version = "1.0.0"
dependencies = ["flwr>=1.41,<2"]

[tool.hatch.build.targets.wheel]
packages = ["."]

[tool.flwr.app]
publisher = "someone"

[tool.flwr.app.components]
serverapp = "leaky_app.server_app:app"
clientapp = "leaky_app.client_app:app"
"""

CLIENT_APP = """\
from flwr.clientapp import ClientApp

from strategy import ckks_mod, register_key_holder

app = ClientApp(mods=[ckks_mod])
register_key_holder(app)
"""


def _write_keypair(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(list(Wallet.generate().keypair_bytes())))


def _app(root: Path) -> Path:
    package = root / "leaky_app"
    package.mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (package / "__init__.py").write_text("")
    (package / "server_app.py").write_text("app = None\n")
    (package / "client_app.py").write_text(CLIENT_APP)
    return root


def _import_client_app(root: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "leaky_app_client_app", root / "leaky_app" / "client_app.py"
    )
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))


def _fab_names(root: Path) -> set[str]:
    with zipfile.ZipFile(io.BytesIO(build_fab_from_disk(root))) as fab:
        return set(fab.namelist())


def test_a_keypair_that_flower_would_pack_stops_the_client_app_from_loading(
    tmp_path: Path,
) -> None:
    root = _app(tmp_path / "app")
    _write_keypair(root / "keys" / "wallet_backup.json")

    assert "keys/wallet_backup.json" in _fab_names(root)  # Flower really ships it
    with pytest.raises(BundledSecretError) as refused:
        _import_client_app(root)
    assert "keys/wallet_backup.json (a wallet keypair)" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_keys_flower_leaves_out_of_the_bundle_are_not_refused(tmp_path: Path) -> None:
    root = _app(tmp_path / "app")
    (root / ".gitignore").write_text("/keys/\n")
    _write_keypair(root / "keys" / "key_holder.json")  # ignored by git, so not packed
    (root / "secret_context.sealed").write_bytes(b"\x00" * 64)  # no bundled suffix

    assert not any(name.startswith("keys/") for name in _fab_names(root))
    assert bundled_secrets(root) == []
    _import_client_app(root)
