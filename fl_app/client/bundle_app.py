"""Load the ClientApp of a verified bundle in this process (the Simulation Engine path).

The demo and ``fl-app train`` run participants in one process on Flower's Simulation
Engine. They train with the ClientApp of the same bundle a node would run: its bytes
are hashed and compared with the expected SHA-256 (the task's, from the CID on chain)
before it is unpacked, and its ``clientapp`` component is imported from the unpacked
files, never from this source tree.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from flwr.clientapp import ClientApp

from fl_app.client.template import TEMPLATE_DIR
from fl_app.ipfs.bundle import pack_bundle, unpack_bundle
from fl_app.ipfs.errors import BundleRefusedError

__all__ = ["BundleClient", "load_bundle_client", "template_client"]

_FACTORY = "build_client_app"


@dataclass(frozen=True)
class BundleClient:
    """The ClientApp module of a verified, unpacked bundle.

    Attributes
    ----------
    sha256
        Hex SHA-256 of the bundle's bytes (Flower's ``fab_hash``).
    module
        The bundle's ``clientapp`` module, imported from ``directory``.
    directory
        Where the bundle was unpacked.
    """

    sha256: str
    module: ModuleType
    directory: Path

    def build(self, overrides: Any = None, **hooks: Any) -> ClientApp:
        """The bundle's ClientApp, made by its ``build_client_app(overrides, **hooks)``."""
        factory = getattr(self.module, _FACTORY, None)
        if not callable(factory):
            raise BundleRefusedError(
                f"bundle {self.sha256} has no {_FACTORY}() for in-process runs"
            )
        return cast(Callable[..., ClientApp], factory)(overrides, **hooks)


def _component_module(directory: Path) -> tuple[str, Path]:
    config = tomllib.loads((directory / "pyproject.toml").read_text(encoding="utf-8"))
    reference = str(config["tool"]["flwr"]["app"]["components"]["clientapp"])
    module_name = reference.partition(":")[0]
    path = directory.joinpath(*module_name.split(".")).with_suffix(".py")
    if not path.is_file():
        raise BundleRefusedError(f"bundle has no module {module_name} for its ClientApp")
    return module_name, path


def load_bundle_client(bundle: bytes, *, expected_sha256: str, directory: Path) -> BundleClient:
    """Check ``bundle`` against ``expected_sha256``, unpack it, and import its ClientApp.

    Raises
    ------
    BundleRefusedError
        If the bytes hash to anything else ("expected <hash>, got <hash>"); nothing was
        unpacked or imported.
    """
    actual = hashlib.sha256(bundle).hexdigest()
    if actual != expected_sha256.lower():
        raise BundleRefusedError(f"bundle refused: expected {expected_sha256}, got {actual}")
    unpack_bundle(bundle, directory)
    module_name, path = _component_module(directory)
    # A name of its own per bundle, so two bundles never share a module.
    unique_name = f"fl_app_bundle_{actual[:16]}_{module_name.replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(unique_name, path)
    if spec is None or spec.loader is None:
        raise BundleRefusedError(f"cannot import {path} from bundle {actual}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique_name] = module
    spec.loader.exec_module(module)
    return BundleClient(sha256=actual, module=module, directory=directory)


def template_client(directory: Path, template_dir: Path = TEMPLATE_DIR) -> BundleClient:
    """The ClientApp of the bundle built from ``template_dir`` (runs without a chain)."""
    bundle = pack_bundle(template_dir)
    return load_bundle_client(
        bundle, expected_sha256=hashlib.sha256(bundle).hexdigest(), directory=directory
    )
