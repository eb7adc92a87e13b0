"""The task's Flower App Bundle (FAB): built reproducibly, free of secrets, one IPFS block.

A bundle is the zip ``flwr build`` makes of a Flower App directory. It is built with
Flower's own builder (``flwr.cli.build.build_fab_from_disk``, flwr pinned in
``pyproject.toml``), which fixes every entry's date and sorts the paths: the same
sources give the same bytes, and ``flwr run`` of the same directory ships exactly the
bytes that were pinned.

A bundle is limited to one IPFS chunk (:data:`MAX_BUNDLE_BYTES`). Added with the
project's import parameters (CIDv1, raw leaves, sha2-256) it is then a single ``raw``
block, so its CID is the sha2-256 multihash of exactly the bundle's bytes: the CID the
task account records *is* Flower's ``fab_hash``, with no change to the program.

Secrets never travel in a bundle: a directory holding a wallet keypair, a sealed secret
or a secret CKKS context is refused with the file named, whether or not Flower's
include rules would have shipped it, and so is a built bundle that contains one.

Unpacking trusts nothing in the archive: only regular files with relative paths that
stay inside the target directory are written, with mode 0644, within size limits.
"""

from __future__ import annotations

import io
import stat
import warnings
import zipfile
from pathlib import Path, PurePosixPath

from fl_app.ipfs.cid import CODEC_RAW, Cid
from fl_app.ipfs.errors import BundleError, CidError
from fl_app.ipfs.unixfs import DEFAULT_IMPORT, file_cid
from strategy.bundle_secrets import secret_kind

__all__ = [
    "MAX_BUNDLE_BYTES",
    "bundle_cid",
    "bundle_entries",
    "bundle_sha256",
    "check_no_secrets",
    "pack_bundle",
    "unpack_bundle",
]

MAX_BUNDLE_BYTES = DEFAULT_IMPORT.chunk_size
_MAX_FILES = 1000
_MAX_UNPACKED_BYTES = 16 * MAX_BUNDLE_BYTES
_FILE_MODE = 0o644
_SKIPPED_DIRS = frozenset({"__pycache__", ".git", ".mypy_cache", ".ruff_cache"})


def check_no_secrets(app_dir: Path) -> None:
    """Refuse ``app_dir`` if any file in it is a keypair, sealed secret or secret context.

    Raises
    ------
    BundleError
        Naming the first such file and what it is.
    """
    for path in sorted(app_dir.rglob("*")):
        if any(part in _SKIPPED_DIRS for part in path.relative_to(app_dir).parts):
            continue
        if path.is_symlink():
            raise BundleError(f"symlink {path} in the app directory; copy the file instead")
        if not stat.S_ISREG(path.stat().st_mode):
            continue
        kind = secret_kind(path.name, path.read_bytes())
        if kind is not None:
            raise BundleError(f"{path} is {kind}; secrets never go into a bundle, move it out")


def pack_bundle(app_dir: Path) -> bytes:
    """Build the Flower App Bundle of ``app_dir``, reproducibly.

    Parameters
    ----------
    app_dir
        A Flower App directory (``pyproject.toml`` with ``[tool.flwr.app]``), e.g.
        ``client_template/``.

    Returns
    -------
    bytes
        The ``.fab`` bytes, which depend only on the files' relative paths and contents.

    Raises
    ------
    BundleError
        If the directory is not a Flower App, holds a secret, or its bundle is larger
        than :data:`MAX_BUNDLE_BYTES`.
    """
    from flwr.cli.build import build_fab_from_disk

    if not (app_dir / "pyproject.toml").is_file():
        raise BundleError(f"{app_dir} is not a Flower App (it has no pyproject.toml)")
    check_no_secrets(app_dir)
    try:
        with warnings.catch_warnings():
            # flwr 1.41 calls a pathspec API that pathspec marks deprecated.
            warnings.simplefilter("ignore", DeprecationWarning)
            data = build_fab_from_disk(app_dir)
    except ValueError as err:
        reason = " ".join(str(err).split())
        raise BundleError(f"cannot build a bundle of {app_dir}: {reason}") from err
    bundle_entries(data)
    return data


def bundle_cid(app_dir: Path) -> str:
    """The CID the bundle of ``app_dir`` has once added to IPFS (computed locally)."""
    return file_cid(pack_bundle(app_dir))


def bundle_sha256(cid: str) -> str:
    """Flower's ``fab_hash`` (hex SHA-256 of the bundle) that a bundle CID carries.

    Raises
    ------
    BundleError
        If ``cid`` is not a single raw block, so it does not name the bundle's hash.
    """
    try:
        parsed = Cid.parse(cid)
    except CidError as err:
        raise BundleError(f"bundle CID {cid!r} is not valid: {err}") from err
    if parsed.codec != CODEC_RAW:
        raise BundleError(
            f"bundle CID {cid} is not a single raw block, so it does not carry the "
            "bundle's SHA-256; pin bundles of at most one chunk"
        )
    return parsed.digest.hex()


def _safe_member_path(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name:
        raise BundleError(f"unsafe path {name!r} in bundle")
    return path


def bundle_entries(data: bytes) -> list[tuple[PurePosixPath, bytes]]:
    """Every file of a bundle, checked: safe unique paths, sizes, and no secrets.

    Raises
    ------
    BundleError
        If the bundle is too large, not a zip, or holds an unsafe entry or a secret.
    """
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(
            f"bundle is {len(data)} bytes; the limit is {MAX_BUNDLE_BYTES} (one IPFS "
            "chunk, so that its CID is its SHA-256): leave data files out of the app"
        )
    entries: list[tuple[PurePosixPath, bytes]] = []
    seen: set[PurePosixPath] = set()
    total = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > _MAX_FILES:
                raise BundleError(f"bundle has {len(members)} entries; the limit is {_MAX_FILES}")
            for member in members:
                relative = _safe_member_path(member.filename)
                if member.is_dir() or stat.S_ISLNK(member.external_attr >> 16):
                    raise BundleError(f"bundle entry {member.filename!r} is not a regular file")
                if relative in seen:
                    raise BundleError(f"bundle entry {member.filename!r} appears twice")
                total += member.file_size
                if total > _MAX_UNPACKED_BYTES:
                    raise BundleError(f"bundle unpacks to more than {_MAX_UNPACKED_BYTES} bytes")
                seen.add(relative)
                content = archive.read(member)
                kind = secret_kind(relative.name, content)
                if kind is not None:
                    raise BundleError(f"bundle entry {member.filename!r} is {kind}; refused")
                entries.append((relative, content))
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as err:
        raise BundleError(f"not a Flower App Bundle: {err}") from err
    return entries


def unpack_bundle(data: bytes, destination: Path) -> list[Path]:
    """Unpack verified bundle bytes into ``destination`` (which must be empty or absent).

    Callers must check the bundle's CID first; this only guards the file system.
    Every entry is checked before the first file is written.

    Returns
    -------
    list[Path]
        The files written, in archive order.
    """
    if destination.exists() and any(destination.iterdir()):
        raise BundleError(f"destination {destination} is not empty; choose a new directory")
    entries = bundle_entries(data)
    destination.mkdir(parents=True, exist_ok=True)
    root = destination.resolve()
    written: list[Path] = []
    for relative, content in entries:
        target = (root / relative).resolve()
        if not target.is_relative_to(root):
            raise BundleError(f"bundle entry {str(relative)!r} escapes {destination}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        target.chmod(_FILE_MODE)
        written.append(target)
    return written
