"""Manifests and checkpoints round-trip through the daemon byte for byte, verified."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from fl_app.ipfs.content import (
    ManifestError,
    canonical_json,
    fetch_checkpoint,
    fetch_manifest,
    fetch_verified,
    pin_checkpoint,
    pin_manifest,
)
from fl_app.ipfs.errors import CidMismatchError
from fl_app.ipfs.rpc import IpfsClient
from fl_app.ipfs.unixfs import file_cid

MANIFEST = {
    "task": "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU",
    "round": 3,
    "participants": ["alice", "bob", "carol"],
    "ciphertext_sha256": {"alice": "ab" * 32, "bob": "cd" * 32, "carol": "ef" * 32},
    "aggregate_cid": file_cid(b"aggregate"),
    "metrics": {"accuracy": 0.9125, "loss": 0.2731, "k": 3},
    "scores": {"alice": 0.41, "bob": 0.38, "carol": -0.02},
    "note": "résumé ✓",
}


class SwappingSource:
    """A dishonest source: answers every CID with the bytes of another one."""

    def __init__(self, client: IpfsClient, served_cid: str) -> None:
        self.client = client
        self.served_cid = served_cid

    def cat(self, cid: str, *, max_bytes: int | None = None) -> bytes:
        return self.client.cat(self.served_cid, max_bytes=max_bytes)


def test_canonical_json_ignores_key_order_and_is_compact() -> None:
    shuffled = dict(reversed(list(MANIFEST.items())))
    assert canonical_json(shuffled) == canonical_json(MANIFEST)
    assert b" " not in canonical_json({"b": [1, 2], "a": {"d": 1, "c": 2}})
    with pytest.raises(ValueError):
        canonical_json({"loss": float("nan")})


def test_manifest_round_trips_byte_for_byte(ipfs_client: IpfsClient) -> None:
    cid = pin_manifest(ipfs_client, MANIFEST)
    assert cid == file_cid(canonical_json(MANIFEST))
    stored = ipfs_client.cat(cid)
    assert stored == canonical_json(MANIFEST)
    fetched = fetch_manifest(ipfs_client, cid)
    assert fetched == MANIFEST
    assert canonical_json(fetched) == stored
    assert ipfs_client.is_pinned(cid)


def test_non_canonical_manifest_is_refused(ipfs_client: IpfsClient) -> None:
    cid = ipfs_client.add_bytes(b'{"round": 1, "task": "t"}')
    with pytest.raises(ManifestError, match="not in canonical JSON"):
        fetch_manifest(ipfs_client, cid)


def test_checkpoint_round_trips_across_many_chunks(ipfs_client: IpfsClient, tmp_path: Path) -> None:
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(random.Random(3).randbytes(1_500_000))
    cid = pin_checkpoint(ipfs_client, checkpoint)
    assert cid == file_cid(checkpoint.read_bytes())
    restored = fetch_checkpoint(ipfs_client, cid, tmp_path / "fetched" / "model.pt")
    assert restored.read_bytes() == checkpoint.read_bytes()
    assert ipfs_client.pin_ls().get(cid) == "recursive"
    ipfs_client.pin_rm(cid)
    assert not ipfs_client.is_pinned(cid)


def test_substituted_content_is_refused_and_not_written(
    ipfs_client: IpfsClient, tmp_path: Path
) -> None:
    wanted = ipfs_client.add_bytes(b"the real model")
    served = ipfs_client.add_bytes(b"a poisoned model")
    source = SwappingSource(ipfs_client, served)
    with pytest.raises(CidMismatchError) as caught:
        fetch_checkpoint(source, wanted, tmp_path / "model.pt")
    assert (caught.value.expected, caught.value.actual) == (wanted, served)
    assert not (tmp_path / "model.pt").exists()
    with pytest.raises(CidMismatchError):
        fetch_verified(source, wanted, what="HE public context")
