"""Refuse to run from a Flower app whose bundle would carry a key to every node.

``flwr run`` packs the app directory into a bundle (FAB) and every SuperNode installs it,
so a wallet keypair or secret context left in that directory reaches every participant
of the run. The check below lists the files the way Flower selects them (``.gitignore``,
the app's include/exclude patterns and Flower's own) and looks at their contents with
:func:`~strategy.bundle_secrets.secret_kind`.

It runs where the code runs: from the source directory on the Simulation Engine, from
the installed bundle on a SuperNode. Code outside a Flower app (no ``pyproject.toml``
with ``[tool.flwr.app]`` above it) has no bundle and passes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import tomli

# Flower's own bundle rules; flwr has no public function that lists a bundle's files
# without building it, so these helpers of its CLI are used as they are.
from flwr.cli.build import get_filtered_fab_paths
from flwr.cli.utils import build_pathspec, filter_paths_for_publish, load_gitignore_patterns
from flwr.common.constant import FAB_EXCLUDE_PATTERNS
from flwr.supercore.constant import APP_PUBLISH_EXCLUDE_PATTERNS

from .bundle_secrets import secret_kind
from .exceptions import BundledSecretError

__all__ = ["app_directory", "bundled_secrets", "refuse_bundled_secrets"]

_PYPROJECT = "pyproject.toml"


def _flower_app_config(directory: Path) -> dict[str, Any] | None:
    try:
        config = tomli.loads((directory / _PYPROJECT).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomli.TOMLDecodeError):
        return None
    return config if "app" in config.get("tool", {}).get("flwr", {}) else None


def app_directory(module_file: str | Path) -> Path | None:
    """The Flower app directory holding ``module_file``, or None outside any app."""
    for directory in Path(module_file).resolve().parents:
        if _flower_app_config(directory) is not None:
            return directory
    return None


def _candidate_files(app_dir: Path, gitignore: bytes) -> dict[str, bytes | Path]:
    # Prune ignored directories instead of walking into virtual environments and build
    # trees; Flower's filters below decide about every file that is left.
    pruned = build_pathspec(
        [*load_gitignore_patterns(gitignore), *FAB_EXCLUDE_PATTERNS, *APP_PUBLISH_EXCLUDE_PATTERNS]
    )
    files: dict[str, bytes | Path] = {}
    for dirpath, dirnames, filenames in os.walk(app_dir):
        relative = Path(dirpath).relative_to(app_dir)
        dirnames[:] = [
            name for name in dirnames if not pruned.match_file(f"{(relative / name).as_posix()}/")
        ]
        for name in filenames:
            path = Path(dirpath) / name
            if not path.is_symlink():
                files[(relative / name).as_posix()] = path
    return files


def bundled_secrets(app_dir: Path) -> list[tuple[str, str]]:
    """``(relative path, kind)`` of every file in the app's bundle that holds a secret."""
    config = _flower_app_config(app_dir)
    if config is None:
        return []
    gitignore_path = app_dir / ".gitignore"
    gitignore = gitignore_path.read_bytes() if gitignore_path.is_file() else b""
    files = filter_paths_for_publish(_candidate_files(app_dir, gitignore))
    found = []
    for relative in get_filtered_fab_paths(files, config):
        kind = secret_kind(relative, (app_dir / relative).read_bytes())
        if kind is not None:
            found.append((relative, kind))
    return found


def refuse_bundled_secrets(module_file: str | Path) -> None:
    """Raise :class:`BundledSecretError` if the app of ``module_file`` bundles a secret."""
    app_dir = app_directory(module_file)
    if app_dir is None:
        return
    found = bundled_secrets(app_dir)
    if found:
        listed = ", ".join(f"{path} ({kind})" for path, kind in found)
        raise BundledSecretError(
            f"the Flower app bundle of {app_dir} would ship {listed} to every node; "
            "move it out of the app directory and name it in the key holder's node config"
        )
