"""IPFS for the project: a private Kubo daemon, its RPC client, local CIDs, bundles."""

from fl_app.ipfs.bundle import (
    MAX_BUNDLE_BYTES,
    bundle_cid,
    bundle_sha256,
    pack_bundle,
    unpack_bundle,
)
from fl_app.ipfs.cid import Cid
from fl_app.ipfs.content import (
    canonical_json,
    fetch_checkpoint,
    fetch_manifest,
    fetch_verified,
    pin_bundle,
    pin_checkpoint,
    pin_manifest,
    pin_template,
    verify_cid,
)
from fl_app.ipfs.daemon import KuboDaemon, find_ipfs_binary
from fl_app.ipfs.errors import (
    BundleError,
    BundleRefusedError,
    CidError,
    CidMismatchError,
    DaemonStartError,
    IpfsError,
    IpfsNotFoundError,
    IpfsRequestError,
    IpfsUnavailableError,
    KuboNotInstalledError,
)
from fl_app.ipfs.gateway import GatewaySource
from fl_app.ipfs.rpc import IpfsClient
from fl_app.ipfs.unixfs import DEFAULT_IMPORT, ImportParams, file_cid, stream_cid

__all__ = [
    "DEFAULT_IMPORT",
    "MAX_BUNDLE_BYTES",
    "BundleError",
    "BundleRefusedError",
    "Cid",
    "CidError",
    "CidMismatchError",
    "DaemonStartError",
    "GatewaySource",
    "ImportParams",
    "IpfsClient",
    "IpfsError",
    "IpfsNotFoundError",
    "IpfsRequestError",
    "IpfsUnavailableError",
    "KuboDaemon",
    "KuboNotInstalledError",
    "bundle_cid",
    "bundle_sha256",
    "canonical_json",
    "fetch_checkpoint",
    "fetch_manifest",
    "fetch_verified",
    "file_cid",
    "find_ipfs_binary",
    "pack_bundle",
    "pin_bundle",
    "pin_checkpoint",
    "pin_manifest",
    "pin_template",
    "stream_cid",
    "unpack_bundle",
    "verify_cid",
]
