"""Pin and fetch the project's content: templates, manifests, checkpoints, HE contexts.

Every fetch recomputes the CID of the received bytes locally and refuses content that
does not match, so a wrong or lying daemon (or gateway, or mirror) cannot substitute
data. Manifests are JSON in one canonical encoding (sorted keys, no insignificant
whitespace, UTF-8, no NaN or infinity), so equal manifests have equal CIDs and an
auditor can re-encode a manifest and get the recorded CID back.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from fl_app.ipfs.bundle import bundle_entries, pack_bundle
from fl_app.ipfs.cid import Cid
from fl_app.ipfs.errors import CidMismatchError, IpfsRequestError
from fl_app.ipfs.unixfs import DEFAULT_IMPORT, file_cid

__all__ = [
    "ContentSource",
    "ManifestError",
    "canonical_json",
    "fetch_checkpoint",
    "fetch_manifest",
    "fetch_verified",
    "pin_bundle",
    "pin_checkpoint",
    "pin_manifest",
    "pin_template",
    "verify_cid",
]

MAX_MANIFEST_BYTES = 16 * 1024 * 1024


class ManifestError(IpfsRequestError):
    """Fetched manifest bytes are not canonical JSON of an object."""


def canonical_json(value: Any) -> bytes:
    """The pinned encoding: sorted keys, no whitespace, ASCII only, no NaN or infinity."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("utf-8")


class ContentSource(Protocol):
    """Anything that returns the bytes it claims belong to a CID (daemon, gateway, file)."""

    def cat(self, cid: str, *, max_bytes: int | None = None) -> bytes:
        """Return the bytes for ``cid``; they are verified by the caller."""
        ...


class ContentSink(Protocol):
    """Anything that pins bytes and files and returns their CIDs (an ``IpfsClient``)."""

    def add_bytes(self, data: bytes, *, pin: bool = True, name: str = "data") -> str:
        """Add and pin ``data``; return its CID."""
        ...

    def add_file(self, path: Path, *, pin: bool = True) -> str:
        """Add and pin a file; return its CID."""
        ...


def verify_cid(data: bytes, expected: str, *, what: str) -> None:
    """Raise :class:`CidMismatchError` unless ``data`` hashes to ``expected``."""
    Cid.parse(expected)
    actual = file_cid(data, DEFAULT_IMPORT)
    if actual != expected:
        raise CidMismatchError(what, expected=expected, actual=actual)


def fetch_verified(
    source: ContentSource, cid: str, *, what: str, max_bytes: int | None = None
) -> bytes:
    """Fetch ``cid`` from ``source`` and return its bytes only if they hash to ``cid``."""
    Cid.parse(cid)
    data = source.cat(cid, max_bytes=max_bytes)
    verify_cid(data, cid, what=what)
    return data


def _reject_constant(name: str) -> float:
    raise ManifestError(f"manifest contains {name}, which canonical JSON does not allow")


def pin_manifest(sink: ContentSink, manifest: Mapping[str, Any]) -> str:
    """Pin a manifest in canonical JSON and return its CID."""
    return sink.add_bytes(canonical_json(dict(manifest)), name="manifest.json")


def fetch_manifest(source: ContentSource, cid: str) -> dict[str, Any]:
    """Fetch, verify and decode a manifest; refuse non-canonical encodings.

    Returns
    -------
    dict
        The manifest, which :func:`canonical_json` encodes back to the fetched bytes.
    """
    data = fetch_verified(source, cid, what="manifest", max_bytes=MAX_MANIFEST_BYTES)
    try:
        manifest = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ManifestError(f"manifest {cid} is not UTF-8 JSON: {err}") from err
    if not isinstance(manifest, dict):
        raise ManifestError(f"manifest {cid} is a {type(manifest).__name__}, not an object")
    if canonical_json(manifest) != data:
        raise ManifestError(f"manifest {cid} is not in canonical JSON encoding")
    return manifest


def pin_checkpoint(sink: ContentSink, path: Path) -> str:
    """Pin a model checkpoint (or any file: an HE public context) and return its CID."""
    return sink.add_file(path)


def fetch_checkpoint(source: ContentSource, cid: str, destination: Path) -> Path:
    """Fetch and verify ``cid``, then write it to ``destination`` atomically.

    Nothing is written at ``destination`` unless the bytes hash to ``cid``.
    """
    data = fetch_verified(source, cid, what="checkpoint")
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=destination.parent, prefix=".fetch-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return destination


def pin_template(sink: ContentSink, template_dir: Path) -> str:
    """Build the Flower App Bundle of ``template_dir``, pin it, and return its CID.

    The bundle is one raw block, so the CID carries its SHA-256 (Flower's ``fab_hash``);
    see :mod:`fl_app.ipfs.bundle`. A directory holding a secret is refused.
    """
    return pin_bundle(sink, pack_bundle(template_dir))


def pin_bundle(sink: ContentSink, bundle: bytes) -> str:
    """Pin built bundle bytes (checked for size and secrets first); return the CID."""
    bundle_entries(bundle)
    return sink.add_bytes(bundle, name="task.fab")
