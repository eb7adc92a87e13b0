"""CIDs computed locally equal the ones a real Kubo daemon assigns."""

from __future__ import annotations

import io
import random

import pytest

from fl_app.ipfs.cid import CODEC_DAG_PB, CODEC_RAW, Cid, decode_varint, encode_varint
from fl_app.ipfs.errors import CidError
from fl_app.ipfs.rpc import IpfsClient
from fl_app.ipfs.unixfs import DEFAULT_IMPORT, ImportParams, file_cid, stream_cid

CHUNK = DEFAULT_IMPORT.chunk_size


def _payload(size: int, seed: int = 7) -> bytes:
    return random.Random(seed * 1_000_003 + size).randbytes(size)


def test_known_raw_cids_match_published_values() -> None:
    # Values printed by `ipfs add --cid-version=1 --raw-leaves` for these inputs.
    assert file_cid(b"") == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    assert file_cid(b"hello world") == (
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
    )


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**32, 2**63 - 1])
def test_varint_round_trips(value: int) -> None:
    encoded = encode_varint(value)
    assert decode_varint(encoded) == (value, len(encoded))


def test_cid_parse_round_trips_both_codecs() -> None:
    for codec in (CODEC_RAW, CODEC_DAG_PB):
        cid = Cid.for_block(codec, b"block")
        assert Cid.parse(str(cid)) == cid


@pytest.mark.parametrize(
    "text",
    [
        "",
        "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
        "BAFKREIHDWDCEFGH4DQKJV67UZCMW7OJEE6XEDZDETOJUZJEVTENXQUVYKU",
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk",
        "zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA",
        "b!!!!",
    ],
)
def test_cid_parse_refuses_other_forms(text: str) -> None:
    with pytest.raises(CidError):
        Cid.parse(text)


def test_stream_cid_handles_short_reads() -> None:
    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            return self._data.read(min(size, 1000) if size > 0 else 1000)

    data = _payload(3 * CHUNK + 5)
    assert stream_cid(Trickle(data)) == file_cid(data)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "size",
    [0, 1, 1000, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17, 10 * CHUNK, 174 * CHUNK + 1],
)
def test_local_cid_equals_daemon_cid(ipfs_client: IpfsClient, size: int) -> None:
    data = _payload(size)
    assert ipfs_client.add_bytes(data, pin=False, check_cid=False) == file_cid(data)


@pytest.mark.parametrize(
    ("chunk_size", "size"),
    [
        (1024, 174 * 1024),  # exactly one full interior node
        (1024, 174 * 1024 + 1),  # first two-level tree
        (1024, 2 * 174 * 1024 + 5),
        (16, 174 * 174 * 16 + 1),  # first three-level tree
        (1000, 400_000),  # chunk size that is not a power of two
    ],
)
def test_local_cid_equals_daemon_cid_for_deep_trees(
    ipfs_client: IpfsClient, chunk_size: int, size: int
) -> None:
    params = ImportParams(chunk_size=chunk_size)
    data = _payload(size, seed=chunk_size)
    with IpfsClient(ipfs_client.api_url, import_params=params) as client:
        assert client.add_bytes(data, pin=False, check_cid=False) == file_cid(data, params)


def test_add_bytes_checks_cid_against_local_computation(ipfs_client: IpfsClient) -> None:
    data = _payload(2 * CHUNK + 3)
    assert ipfs_client.add_bytes(data) == file_cid(data)
    assert ipfs_client.is_pinned(file_cid(data))
