"""Per-update commitments and the round manifest, with canonical JSON encoding.

Each participant commits the SHA-256 of every ciphertext chunk it sends, bound to the
task, the round and its node id, so a ciphertext cannot be replayed into another round
or attributed to another node. The aggregator collects the commitments of accepted
updates into a ``RoundManifest``; the key holder checks a decryption request against it
(and the manifest is what gets pinned to IPFS for auditors).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .exceptions import MalformedReplyError, ReplayError, WalletError
from .wallet import Wallet, verify_signature


def _canonical_json(value: Any) -> bytes:
    """The one encoding that commitments are signed and manifests hashed in: sorted keys,
    no whitespace, ASCII only, UTF-8 bytes."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("utf-8")


@dataclass(frozen=True)
class UpdateCommitment:
    """One participant's commitment to its encrypted update for one round.

    Attributes
    ----------
    task_id : str
        Task the update belongs to.
    server_round : int
        Round the update was produced in.
    node_id : int
        Flower node id of the participant.
    context_sha256 : str
        Fingerprint of the public context the update is encrypted under.
    weight : float
        Pre-weighting factor applied before encryption (``weight_scale * n_k``).
    num_values : int
        Number of encrypted values (model parameters).
    chunk_sha256 : tuple[str, ...]
        Hex SHA-256 of each serialized ciphertext chunk, in order.
    reference_sha256 : str
        SHA-256 of the reference update the server committed to in the train config
        before any update arrived ("" if the round is not scored).
    vector_root : str
        Hex Merkle root of the encrypted vector under a committee's key
        (``strategy.threshold.spot_check``); "" under a single key holder's.
    signer : str
        Base58 wallet address that signed the commitment ("" if unsigned).
    signature : str
        Hex ed25519 signature over ``signed_bytes()`` ("" if unsigned).
    """

    task_id: str
    server_round: int
    node_id: int
    context_sha256: str
    weight: float
    num_values: int
    chunk_sha256: tuple[str, ...]
    reference_sha256: str = ""
    vector_root: str = ""
    signer: str = ""
    signature: str = ""

    def signed_bytes(self) -> bytes:
        """Canonical encoding of everything but the signature."""
        body = asdict(self)
        body.pop("signature")
        body["chunk_sha256"] = list(self.chunk_sha256)
        return _canonical_json(body)

    def digest(self) -> str:
        """Hex SHA-256 of the signed body: the update's entry in the manifest."""
        return hashlib.sha256(self.signed_bytes()).hexdigest()

    def signed_by(self, wallet: Wallet) -> UpdateCommitment:
        """Return a copy signed by ``wallet``."""
        unsigned = replace(self, signer=wallet.address, signature="")
        return replace(unsigned, signature=wallet.sign(unsigned.signed_bytes()).hex())

    def has_valid_signature(self) -> bool:
        """True if signed and the signature verifies for ``signer``."""
        if not self.signer or not self.signature:
            return False
        try:
            signature = bytes.fromhex(self.signature)
        except ValueError:
            return False
        return verify_signature(self.signer, self.signed_bytes(), signature)

    def check_bound_to(self, task_id: str, server_round: int, node_id: int) -> None:
        """Raise ``ReplayError`` unless this commitment is for that task, round and node."""
        if (self.task_id, self.server_round, self.node_id) != (task_id, server_round, node_id):
            raise ReplayError(
                f"commitment is bound to task {self.task_id!r} round {self.server_round} "
                f"node {self.node_id}, not task {task_id!r} round {server_round} node {node_id}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON encoding."""
        body = asdict(self)
        body["chunk_sha256"] = list(self.chunk_sha256)
        return body

    def to_json(self) -> str:
        """Canonical JSON text."""
        return _canonical_json(self.to_dict()).decode("ascii")

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> UpdateCommitment:
        """Parse and type-check a commitment dict."""
        try:
            commitment = cls(
                task_id=str(body["task_id"]),
                server_round=int(body["server_round"]),
                node_id=int(body["node_id"]),
                context_sha256=str(body["context_sha256"]),
                weight=float(body["weight"]),
                num_values=int(body["num_values"]),
                chunk_sha256=tuple(str(d) for d in body["chunk_sha256"]),
                reference_sha256=str(body.get("reference_sha256", "")),
                vector_root=str(body.get("vector_root", "")),
                signer=str(body.get("signer", "")),
                signature=str(body.get("signature", "")),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise MalformedReplyError(f"commitment is not well formed: {err}") from err
        if commitment.signature and not commitment.has_valid_signature():
            raise WalletError(f"commitment of node {commitment.node_id} has a bad signature")
        return commitment

    @classmethod
    def from_json(cls, text: str) -> UpdateCommitment:
        """Parse canonical JSON text."""
        try:
            body = json.loads(text)
        except ValueError as err:
            raise MalformedReplyError(f"commitment is not JSON: {err}") from err
        if not isinstance(body, dict):
            raise MalformedReplyError("commitment JSON is not an object")
        return cls.from_dict(body)


@dataclass(frozen=True)
class RoundManifest:
    """The accepted, committed updates of one round.

    Attributes
    ----------
    task_id : str
        Task identifier.
    server_round : int
        Round number.
    context_sha256 : str
        Fingerprint of the task's public context.
    commitments : tuple[UpdateCommitment, ...]
        Commitments of the updates accepted for aggregation, sorted by node id.
    """

    task_id: str
    server_round: int
    context_sha256: str
    commitments: tuple[UpdateCommitment, ...] = field(default_factory=tuple)

    def to_json(self) -> str:
        """Canonical JSON text."""
        body = {
            "task_id": self.task_id,
            "server_round": self.server_round,
            "context_sha256": self.context_sha256,
            "commitments": [c.to_dict() for c in self.commitments],
        }
        return _canonical_json(body).decode("ascii")

    def digest(self) -> str:
        """Hex SHA-256 of the canonical JSON."""
        return hashlib.sha256(self.to_json().encode("ascii")).hexdigest()

    @property
    def total_weight(self) -> float:
        """Sum of the committed pre-weighting factors."""
        return float(sum(c.weight for c in self.commitments))

    def commitment_of(self, node_id: int) -> UpdateCommitment | None:
        """The commitment of ``node_id``, if it is in the manifest."""
        return next((c for c in self.commitments if c.node_id == node_id), None)

    @classmethod
    def from_json(cls, text: str) -> RoundManifest:
        """Parse canonical JSON text."""
        try:
            body = json.loads(text)
            return cls(
                task_id=str(body["task_id"]),
                server_round=int(body["server_round"]),
                context_sha256=str(body["context_sha256"]),
                commitments=tuple(UpdateCommitment.from_dict(c) for c in body["commitments"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise MalformedReplyError(f"manifest is not well formed: {err}") from err
