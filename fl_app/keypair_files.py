"""Solana keypair files: a JSON array of 64 bytes, readable by its owner only."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from solders.keypair import Keypair

from fl_app.errors import FlAppError

__all__ = ["default_keypair_path", "read_keypair", "write_keypair"]


def default_keypair_path() -> Path:
    """``~/.config/solana/id.json``, the Solana CLI's default wallet."""
    return Path.home() / ".config" / "solana" / "id.json"


def read_keypair(path: Path) -> Keypair:
    """Load a keypair file, or fail with a message that says how to make one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        option = "" if path == default_keypair_path() else f" -k {path}"
        raise FlAppError(
            f"no keypair at {path}: create one with fl-app wallet new{option}"
        ) from None
    except OSError as err:
        raise FlAppError(f"cannot read keypair {path}: {err.strerror}") from None
    try:
        values = json.loads(text)
        if not isinstance(values, list) or len(values) != 64:
            raise ValueError("not 64 values")
        return Keypair.from_bytes(bytes(values))
    except (ValueError, TypeError):
        raise FlAppError(
            f"{path} is not a Solana keypair file (a JSON array of 64 bytes)"
        ) from None


def write_keypair(path: Path, keypair: Keypair, *, force: bool = False) -> None:
    """Write ``keypair`` to ``path`` (mode 0600; new parent directories 0700).

    Refuses to replace an existing file unless ``force``: a lost key cannot be recovered.
    """
    if path.exists() and not force:
        raise FlAppError(
            f"{path} already exists: keep it, choose another path with -k, "
            "or pass --force to replace it (the old key is lost)"
        )
    _make_private_dirs(path.parent)
    text = json.dumps(list(bytes(keypair)))
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".keypair-")
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _make_private_dirs(directory: Path) -> None:
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for new in reversed(missing):
        new.mkdir(mode=0o700)
        new.chmod(0o700)  # mkdir's mode is masked by the umask
