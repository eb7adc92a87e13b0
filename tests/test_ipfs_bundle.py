"""The task's bundle is Flower's FAB: reproducible, secret-free, one block, safely unpacked."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tomllib
import zipfile
from pathlib import Path

import pytest
from flwr.cli.install import install_from_fab

from fl_app.ipfs.bundle import (
    MAX_BUNDLE_BYTES,
    bundle_cid,
    bundle_sha256,
    pack_bundle,
    unpack_bundle,
)
from fl_app.ipfs.cid import CODEC_DAG_PB, Cid
from fl_app.ipfs.content import pin_bundle
from fl_app.ipfs.errors import BundleError
from strategy.ckks import AGGREGATION_PROFILE, generate_keys


def _zip(*entries: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def test_same_sources_give_same_bytes_wherever_and_whenever_they_are(
    template_copy: Path, tmp_path: Path
) -> None:
    before = pack_bundle(template_copy)
    for path in template_copy.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000))
    (template_copy / "__pycache__").mkdir()
    (template_copy / "__pycache__" / "client.cpython-311.pyc").write_bytes(b"cache")
    elsewhere = tmp_path / "elsewhere" / "app"
    shutil.copytree(template_copy, elsewhere)
    assert pack_bundle(template_copy) == before == pack_bundle(elsewhere)


def test_bundle_is_a_fab_flower_installs_and_cid_carries_its_sha256(
    template_copy: Path, tmp_path: Path
) -> None:
    bundle = pack_bundle(template_copy)
    installed = install_from_fab(bundle, install_dir=tmp_path / "flwr", skip_prompt=True)
    assert (installed / "client.py").read_bytes() == (template_copy / "client.py").read_bytes()
    cid = bundle_cid(template_copy)
    assert bundle_sha256(cid) == hashlib.sha256(bundle).hexdigest()
    assert len(bundle) <= MAX_BUNDLE_BYTES


def test_bundle_depends_on_every_byte_and_every_file(template_copy: Path) -> None:
    original = bundle_cid(template_copy)
    client = template_copy / "client.py"
    source = client.read_bytes()
    client.write_bytes(source.replace(b"import torch", b"import  torch", 1))
    changed_byte = bundle_cid(template_copy)
    client.write_bytes(source)
    assert bundle_cid(template_copy) == original
    (template_copy / "extra.py").write_text("x = 1\n")
    assert len({original, changed_byte, bundle_cid(template_copy)}) == 3


def test_build_with_a_wallet_file_inside_is_refused_naming_it(template_copy: Path) -> None:
    wallet = template_copy / "data" / "settings.json"
    wallet.parent.mkdir()
    wallet.write_text(json.dumps(list(range(64))))
    with pytest.raises(BundleError) as caught:
        pack_bundle(template_copy)
    assert str(wallet) in str(caught.value) and "wallet keypair" in str(caught.value)


def test_build_with_a_sealed_or_secret_ckks_context_is_refused(template_copy: Path) -> None:
    keys = generate_keys(AGGREGATION_PROFILE)
    public = template_copy / "public_context.bin"
    public.write_bytes(keys.public_context)
    pack_bundle(template_copy)  # a public context is no secret
    secret = template_copy / "context.bin"
    secret.write_bytes(keys.secret_context)
    with pytest.raises(BundleError, match="secret CKKS context"):
        pack_bundle(template_copy)
    secret.unlink()
    (template_copy / "key.sealed").write_bytes(b"\x01" * 80)
    with pytest.raises(BundleError, match=r"key\.sealed is a sealed secret"):
        pack_bundle(template_copy)


def test_pinning_a_bundle_with_a_keypair_inside_is_refused(template_copy: Path) -> None:
    class NeverPinned:
        def add_bytes(self, data: bytes, *, pin: bool = True, name: str = "data") -> str:
            raise AssertionError("a bundle with a secret reached IPFS")

        def add_file(self, path: Path, *, pin: bool = True) -> str:
            raise AssertionError("unused")

    bundle = _zip(("pyproject.toml", b"[project]\n"), ("id.json", json.dumps([7] * 64).encode()))
    with pytest.raises(BundleError, match=r"'id\.json' is a wallet keypair"):
        pin_bundle(NeverPinned(), bundle)


def test_bundle_larger_than_one_chunk_is_refused_at_build(template_copy: Path) -> None:
    (template_copy / "weights.json").write_text(json.dumps(os.urandom(400_000).hex()))
    with pytest.raises(BundleError, match=f"the limit is {MAX_BUNDLE_BYTES}"):
        pack_bundle(template_copy)


def test_a_cid_that_is_not_one_raw_block_carries_no_hash() -> None:
    tree = str(Cid(CODEC_DAG_PB, bytes(32)))
    with pytest.raises(BundleError, match="not a single raw block"):
        bundle_sha256(tree)


def test_unpack_restores_the_files(template_copy: Path, tmp_path: Path) -> None:
    written = unpack_bundle(pack_bundle(template_copy), tmp_path / "out")
    names = sorted(path.relative_to((tmp_path / "out").resolve()).as_posix() for path in written)
    assert "client.py" in names and "pyproject.toml" in names and ".info/CONTENT" in names
    assert (tmp_path / "out" / "client.py").read_bytes() == (
        template_copy / "client.py"
    ).read_bytes()


@pytest.mark.parametrize("name", ["../escape.py", "/etc/passwd", "a/../../b.py"])
def test_unpack_refuses_paths_outside_the_target(tmp_path: Path, name: str) -> None:
    with pytest.raises(BundleError, match="unsafe path"):
        unpack_bundle(_zip((name, b"x")), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unpack_refuses_a_non_empty_destination(template_copy: Path, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "left.txt").write_text("x")
    with pytest.raises(BundleError, match="not empty"):
        unpack_bundle(pack_bundle(template_copy), tmp_path / "out")


def test_template_run_config_is_the_projects(template_copy: Path) -> None:
    project = Path(__file__).resolve().parents[1] / "pyproject.toml"

    def app_config(path: Path) -> dict[str, object]:
        return dict(tomllib.loads(path.read_text())["tool"]["flwr"]["app"]["config"])

    assert app_config(template_copy / "pyproject.toml") == app_config(project)
