"""Template bundles are byte-for-byte reproducible and unpack only inside their target."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from fl_app.ipfs.bundle import bundle_cid, bundle_files, pack_bundle, unpack_bundle
from fl_app.ipfs.errors import BundleError


def _tar(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for info, data in members:
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_same_files_give_same_bytes_despite_mtimes_modes_and_caches(
    template_copy: Path,
) -> None:
    before = pack_bundle(template_copy)
    for path in template_copy.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000))
        path.chmod(0o755)
    (template_copy / "__pycache__").mkdir()
    (template_copy / "__pycache__" / "client.cpython-311.pyc").write_bytes(b"cache")
    (template_copy / ".DS_Store").write_bytes(b"finder")
    (template_copy / "client.py~").write_bytes(b"editor backup")
    assert pack_bundle(template_copy) == before


def test_bundle_depends_on_every_byte_and_every_file(template_copy: Path) -> None:
    original = bundle_cid(template_copy)
    client = template_copy / "client.py"
    source = client.read_bytes()
    client.write_bytes(source[:-1] + bytes([source[-1] ^ 1]))
    changed_byte = bundle_cid(template_copy)
    client.write_bytes(source)
    assert bundle_cid(template_copy) == original
    (template_copy / "extra.py").write_text("x = 1\n")
    assert len({original, changed_byte, bundle_cid(template_copy)}) == 3


def test_entries_are_sorted_with_fixed_headers(template_copy: Path) -> None:
    (template_copy / "b").mkdir()
    (template_copy / "b" / "z.txt").write_text("z")
    (template_copy / "a.txt").write_text("a")
    with tarfile.open(fileobj=io.BytesIO(pack_bundle(template_copy))) as archive:
        members = archive.getmembers()
    names = [member.name for member in members]
    assert names == sorted(names) == [name for name, _ in bundle_files(template_copy)]
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) for m in members} == {
        (0, 0, 0, "", "", 0o644)
    }


def test_unpack_restores_the_files(template_copy: Path, tmp_path: Path) -> None:
    written = unpack_bundle(pack_bundle(template_copy), tmp_path / "out")
    assert [path.name for path in written] == ["client.py"]
    assert written[0].read_bytes() == (template_copy / "client.py").read_bytes()


def test_pack_refuses_symlinks(template_copy: Path) -> None:
    (template_copy / "link.py").symlink_to(template_copy / "client.py")
    with pytest.raises(BundleError, match="not a regular file"):
        pack_bundle(template_copy)


@pytest.mark.parametrize("name", ["../escape.py", "/etc/escape.py", "a/../../escape.py"])
def test_unpack_refuses_paths_outside_the_target(tmp_path: Path, name: str) -> None:
    data = _tar((tarfile.TarInfo(name), b"print('escaped')"))
    with pytest.raises(BundleError, match="unsafe path"):
        unpack_bundle(data, tmp_path / "out")
    assert not (tmp_path / "escape.py").exists()
    assert not (tmp_path / "out").exists()


def test_unpack_refuses_links_and_duplicates(tmp_path: Path) -> None:
    link = tarfile.TarInfo("client.py")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    with pytest.raises(BundleError, match="not a regular file"):
        unpack_bundle(_tar((link, b"")), tmp_path / "a")
    twice = _tar((tarfile.TarInfo("x.py"), b"1"), (tarfile.TarInfo("x.py"), b"2"))
    with pytest.raises(BundleError, match="appears twice"):
        unpack_bundle(twice, tmp_path / "b")


def test_unpack_refuses_a_non_empty_destination(template_copy: Path, tmp_path: Path) -> None:
    destination = tmp_path / "out"
    destination.mkdir()
    (destination / "old.py").write_text("")
    with pytest.raises(BundleError, match="not empty"):
        unpack_bundle(pack_bundle(template_copy), destination)
