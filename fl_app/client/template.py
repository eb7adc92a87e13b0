"""Where the task's Flower App (``client_template``) is installed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["TEMPLATE_DIR", "template_dir"]


def template_dir() -> Path:
    """The ``client_template`` directory installed with fl-app (a checkout's, if editable).

    ``client_template`` is a namespace package, since an ``__init__.py`` would become
    part of the bundle; its ``pyproject.toml`` ships as package data. Its location comes
    from the import system, so it is found in a wheel install as in a checkout.

    Returns
    -------
    Path
        The first of the package's locations that holds its ``pyproject.toml``.

    Raises
    ------
    RuntimeError
        If no location does: the installation lacks the package data.
    """
    spec = importlib.util.find_spec("client_template")
    locations = [] if spec is None else list(spec.submodule_search_locations or [])
    for location in locations:
        if (Path(location) / "pyproject.toml").is_file():
            return Path(location).resolve()
    raise RuntimeError(
        "client_template/pyproject.toml is not installed; reinstall fl-app from its wheel"
    )


TEMPLATE_DIR = template_dir()
"""The task's Flower App: the default bundle's sources and the app ``server start`` runs."""
