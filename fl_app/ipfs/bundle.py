"""Deterministic packaging of the client template: same files, same bytes, same CID.

A bundle is an uncompressed POSIX ustar archive. Compression is left out on purpose:
gzip/zlib output may differ between library versions, and a CID must not. Every
entry is a regular file with a fixed header (mtime 0, uid/gid 0, no owner names,
mode 0644), entries are sorted by their POSIX path, and byte-code caches, hidden
files and editor leftovers are skipped. Symlinks and special files are refused
rather than silently followed, so what is hashed is exactly what is unpacked.

Unpacking trusts nothing in the archive: only regular files with relative paths that
stay inside the target directory are written, with mode 0644, within size limits.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path, PurePosixPath

from fl_app.ipfs.errors import BundleError
from fl_app.ipfs.unixfs import file_cid

__all__ = [
    "MAX_BUNDLE_BYTES",
    "bundle_cid",
    "bundle_files",
    "pack_bundle",
    "unpack_bundle",
]

MAX_BUNDLE_BYTES = 64 * 1024 * 1024
_MAX_FILES = 1000
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo", ".swp", "~")
_FILE_MODE = 0o644


def _skipped(name: str) -> bool:
    return name.startswith(".") or name in _SKIPPED_DIRS or name.endswith(_SKIPPED_SUFFIXES)


def bundle_files(source_dir: Path) -> list[tuple[str, Path]]:
    """The files a bundle of ``source_dir`` holds, as sorted ``(archive name, path)`` pairs."""
    if not source_dir.is_dir():
        raise BundleError(f"template directory {source_dir} does not exist")
    entries: list[tuple[str, Path]] = []
    for root, dirs, files in os.walk(source_dir, followlinks=False):
        root_path = Path(root)
        for name in list(dirs):
            if (root_path / name).is_symlink():
                raise BundleError(f"symlink {root_path / name} in template; copy the files instead")
        dirs[:] = [name for name in dirs if not _skipped(name)]
        for name in files:
            path = root_path / name
            if _skipped(name):
                continue
            mode = path.lstat().st_mode
            if not stat.S_ISREG(mode):
                raise BundleError(f"{path} is not a regular file (symlink or special file)")
            entries.append((path.relative_to(source_dir).as_posix(), path))
    if not entries:
        raise BundleError(f"template directory {source_dir} has no files")
    return sorted(entries)


def pack_bundle(source_dir: Path) -> bytes:
    """Pack ``source_dir`` into deterministic archive bytes.

    Parameters
    ----------
    source_dir
        The template directory, e.g. ``client_template/``.

    Returns
    -------
    bytes
        A ustar archive that depends only on the files' relative paths and contents.
    """
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT, encoding="utf-8"
    ) as archive:
        for name, path in bundle_files(source_dir):
            data = path.read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = _FILE_MODE
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.type = tarfile.REGTYPE
            try:
                archive.addfile(info, io.BytesIO(data))
            except ValueError as err:
                raise BundleError(f"cannot bundle {name}: {err}") from err
    data = buffer.getvalue()
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"bundle is {len(data)} bytes; the limit is {MAX_BUNDLE_BYTES}")
    return data


def bundle_cid(source_dir: Path) -> str:
    """The CID the bundle of ``source_dir`` has once added to IPFS (computed locally)."""
    return file_cid(pack_bundle(source_dir))


def _safe_member_path(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name:
        raise BundleError(f"unsafe path {name!r} in bundle")
    return path


def _read_entries(data: bytes) -> list[tuple[PurePosixPath, bytes]]:
    """Every entry of the archive, checked to be a regular file at a safe, unique path."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"bundle is {len(data)} bytes; the limit is {MAX_BUNDLE_BYTES}")
    entries: list[tuple[PurePosixPath, bytes]] = []
    seen: set[PurePosixPath] = set()
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:", encoding="utf-8") as archive:
            members = archive.getmembers()
            if len(members) > _MAX_FILES:
                raise BundleError(f"bundle has {len(members)} entries; the limit is {_MAX_FILES}")
            for member in members:
                relative = _safe_member_path(member.name)
                if not member.isreg():
                    raise BundleError(f"bundle entry {member.name!r} is not a regular file")
                if relative in seen:
                    raise BundleError(f"bundle entry {member.name!r} appears twice")
                seen.add(relative)
                source = archive.extractfile(member)
                if source is None:
                    raise BundleError(f"bundle entry {member.name!r} has no data")
                entries.append((relative, source.read()))
    except tarfile.TarError as err:
        raise BundleError(f"not a template bundle: {err}") from err
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
    entries = _read_entries(data)
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
