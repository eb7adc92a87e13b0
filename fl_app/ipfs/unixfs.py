"""Local computation of the CID Kubo gives a file, so fetched bytes can be checked.

Why a full UnixFS layout and not "keep everything to one chunk": model checkpoints and
HE public contexts are megabytes, far above one chunk, and an auditor must be able to
recompute their CIDs without trusting a daemon. Kubo stores a file of more than one
chunk as a balanced tree of dag-pb nodes over raw leaves; reproducing that tree is
about a hundred lines, and tests compare it with a real daemon for sizes that span
one, several and thousands of chunks and two- and three-level trees.

The import parameters are fixed here and passed explicitly on every ``add`` (see
:meth:`ImportParams.add_options`) so that neither a Kubo default nor a user's config
can change a CID: CIDv1, raw leaves, sha2-256, fixed-size chunks of 256 KiB, at most
174 links per node (Kubo's defaults since v0.35, which the daemon manager also pins in
the repo config as ``Import.UnixFSFileMaxLinks``).

Layout (boxo ``importer/balanced``): the first chunk is the root. While chunks remain,
the current root becomes the first child of a new root one level deeper, and the new
root is filled depth-first with up to ``max_links`` children, each a full subtree of
the level below. A file of one chunk (or none) is therefore a single raw block whose
CID is the sha2-256 multihash of the bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from fl_app.ipfs.cid import CODEC_DAG_PB, CODEC_RAW, Cid, encode_varint

__all__ = ["DEFAULT_IMPORT", "ImportParams", "file_cid", "stream_cid"]

# UnixFS Data.Type enum value for a file (unixfs.proto).
_UNIXFS_TYPE_FILE = 2


@dataclass(frozen=True)
class ImportParams:
    """How a file is cut into blocks; the same parameters give the same CID.

    Parameters
    ----------
    chunk_size
        Bytes per leaf (Kubo chunker ``size-<chunk_size>``).
    max_links
        Children per interior node (Kubo ``Import.UnixFSFileMaxLinks``).
    """

    chunk_size: int = 262_144
    max_links: int = 174

    def __post_init__(self) -> None:
        if not 1 <= self.chunk_size <= 1_048_576:
            raise ValueError(f"chunk_size must be in 1..1048576, got {self.chunk_size}")
        if self.max_links < 2:
            raise ValueError(f"max_links must be at least 2, got {self.max_links}")

    def add_options(self) -> dict[str, str]:
        """Query parameters for Kubo's ``/api/v0/add`` that select this layout."""
        return {
            "cid-version": "1",
            "raw-leaves": "true",
            "hash": "sha2-256",
            "chunker": f"size-{self.chunk_size}",
            "trickle": "false",
        }


DEFAULT_IMPORT = ImportParams()


@dataclass(frozen=True)
class _Subtree:
    cid: Cid
    # Bytes of every block in the subtree (dag-pb PBLink.Tsize).
    total_block_size: int
    file_size: int


def _field_bytes(field: int, payload: bytes) -> bytes:
    return encode_varint(field << 3 | 2) + encode_varint(len(payload)) + payload


def _field_varint(field: int, value: int) -> bytes:
    return encode_varint(field << 3) + encode_varint(value)


def _leaf(chunk: bytes) -> _Subtree:
    return _Subtree(Cid.for_block(CODEC_RAW, chunk), len(chunk), len(chunk))


def _branch(children: list[_Subtree]) -> _Subtree:
    file_size = sum(child.file_size for child in children)
    # UnixFS Data message: Type, filesize, then blocksizes (proto2, not packed).
    unixfs = _field_varint(1, _UNIXFS_TYPE_FILE) + _field_varint(3, file_size)
    unixfs += b"".join(_field_varint(4, child.file_size) for child in children)
    # dag-pb PBNode: links first, then data; go-merkledag always writes Name, even "".
    links = b"".join(
        _field_bytes(
            2,
            _field_bytes(1, child.cid.to_bytes())
            + _field_bytes(2, b"")
            + _field_varint(3, child.total_block_size),
        )
        for child in children
    )
    block = links + _field_bytes(1, unixfs)
    total = len(block) + sum(child.total_block_size for child in children)
    return _Subtree(Cid.for_block(CODEC_DAG_PB, block), total, file_size)


class _Chunks:
    """Chunk iterator with one chunk of look-ahead, so the builder knows when it is done."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._next = next(self._chunks, None)

    def done(self) -> bool:
        return self._next is None

    def take(self) -> bytes:
        chunk = self._next
        if chunk is None:
            raise RuntimeError("no chunk left")
        self._next = next(self._chunks, None)
        return chunk


def _fill(chunks: _Chunks, children: list[_Subtree], depth: int, max_links: int) -> _Subtree:
    while len(children) < max_links and not chunks.done():
        if depth == 1:
            children.append(_leaf(chunks.take()))
        else:
            children.append(_fill(chunks, [], depth - 1, max_links))
    return _branch(children)


def _balanced_root(chunks: _Chunks, max_links: int) -> Cid:
    if chunks.done():
        return _leaf(b"").cid
    root = _leaf(chunks.take())
    depth = 1
    while not chunks.done():
        root = _fill(chunks, [root], depth, max_links)
        depth += 1
    return root.cid


def _split(data: bytes, chunk_size: int) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), chunk_size):
        yield bytes(view[start : start + chunk_size])


def _read_chunks(stream: BinaryIO, chunk_size: int) -> Iterator[bytes]:
    # Kubo's size splitter fills every chunk completely except the last; short reads
    # from the stream must not become short chunks.
    while True:
        chunk = bytearray()
        while len(chunk) < chunk_size:
            part = stream.read(chunk_size - len(chunk))
            if not part:
                break
            chunk += part
        if not chunk:
            return
        yield bytes(chunk)
        if len(chunk) < chunk_size:
            return


def _cid_of_chunks(chunks: Iterable[bytes], params: ImportParams) -> str:
    return str(_balanced_root(_Chunks(iter(chunks)), params.max_links))


def file_cid(data: bytes, params: ImportParams = DEFAULT_IMPORT) -> str:
    """Return the CID Kubo assigns to ``data`` added as a file with ``params``.

    Parameters
    ----------
    data
        The file's bytes.
    params
        Chunking parameters; the default is the project's fixed import layout.

    Returns
    -------
    str
        The base32 CIDv1 text, equal to Kubo's ``ipfs add`` output for the same options.
    """
    return _cid_of_chunks(_split(data, params.chunk_size), params)


def stream_cid(stream: BinaryIO, params: ImportParams = DEFAULT_IMPORT) -> str:
    """Like :func:`file_cid`, reading the bytes from a binary stream one chunk at a time."""
    return _cid_of_chunks(_read_chunks(stream, params.chunk_size), params)
