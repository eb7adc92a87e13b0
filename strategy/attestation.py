"""Attestations the key holder signs: who was in a decrypted sum, and the final scores.

The staking program credits a round, or accepts final scores, only with an ed25519
signature of the task's attestors over these exact bytes (see
``programs/staking/src/attestation.rs``). Lists of up to 1000 keys do not fit in one
transaction, so a list is signed as a chained digest: ``d0`` is 32 zero bytes and
``d(i+1) = sha256(d(i) || key(i))`` (``|| score(i)`` as u64 LE for scores), over the keys
in ascending byte order. Batches of credits then advance the same digest on chain.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .wallet import Wallet, _b58decode

ROUND_DOMAIN = b"fl-app/round-attestation/v1"
FINAL_DOMAIN = b"fl-app/final-attestation/v1"
SCORES_DOMAIN = b"fl-app/scores-attestation/v1"
COMMITTEE_SCORES_DOMAIN = b"fl-app/committee-scores-attestation/v1"
DIGEST_START = bytes(32)
KEY_LEN = 32
SIGNATURE_LEN = 64


def _key(key: bytes) -> bytes:
    if len(key) != KEY_LEN:
        raise ValueError(f"a public key has {KEY_LEN} bytes, got {len(key)}")
    return key


def contributors_digest(contributors: Iterable[bytes]) -> bytes:
    """Chained digest of ``contributors`` in ascending key order."""
    digest = DIGEST_START
    for key in sorted(_key(k) for k in contributors):
        digest = hashlib.sha256(digest + key).digest()
    return digest


def scores_digest(scores: Mapping[bytes, int]) -> bytes:
    """Chained digest of ``(key, score)`` pairs in ascending key order."""
    digest = DIGEST_START
    for key in sorted(_key(k) for k in scores):
        digest = hashlib.sha256(digest + key + scores[key].to_bytes(8, "little")).digest()
    return digest


def round_message(
    task: bytes, round_index: int, manifest_digest: bytes, contributors: Iterable[bytes]
) -> bytes:
    """Bytes an attestor signs for the contributors of round ``round_index``'s sum."""
    keys = list(contributors)
    if len(set(keys)) != len(keys):
        raise ValueError("a contributor is listed twice")
    return b"".join(
        [
            ROUND_DOMAIN,
            _key(task),
            round_index.to_bytes(4, "little"),
            _key(manifest_digest),
            len(keys).to_bytes(4, "little"),
            contributors_digest(keys),
        ]
    )


def final_message(task: bytes, model_digest: bytes, scores: Mapping[bytes, int]) -> bytes:
    """Bytes an attestor signs to accept ``scores`` (every open stake) for the final model."""
    return b"".join(
        [
            FINAL_DOMAIN,
            _key(task),
            _key(model_digest),
            sum(scores.values()).to_bytes(8, "little"),
            len(scores).to_bytes(4, "little"),
            scores_digest(scores),
        ]
    )


def scores_message(manifest_digest: bytes, reference_norm: float, values: np.ndarray) -> bytes:
    """Bytes the key holder signs for a round's decrypted scalars.

    ``values`` holds ``[<w_i, g0>, ||w_i||^2]`` per input, in the manifest's commitment
    order; the manifest digest names the task, the round and each input's signer and
    claimed weight, so the signature fixes every participant's scalars. Anyone holding
    the pinned manifest can check that the organisation published them unchanged.
    """
    table = np.ascontiguousarray(values, dtype="<f8")
    if table.ndim != 2 or table.shape[1] != 2:
        raise ValueError(f"scalars are one [inner, square] pair per input, got {table.shape}")
    return b"".join(
        [
            SCORES_DOMAIN,
            _key(manifest_digest),
            struct.pack("<d", reference_norm),
            len(table).to_bytes(4, "little"),
            hashlib.sha256(table.tobytes()).digest(),
        ]
    )


def committee_scores_message(
    manifest_digest: bytes,
    reference_sha256: bytes,
    scale: float,
    bodies: Sequence[int],
    decrypting: Sequence[int],
    shares: Sequence[int],
) -> bytes:
    """Bytes a committee member signs for its shares of a round's scalars.

    It names the manifest (task, round, inputs), the reference, its encoding scale, each
    input's body part and the member's own shares for the decrypting set: with the
    attestations of every member of that set, anyone can decode the scalars again
    (``strategy.threshold.scoring.DecryptedScores``).
    """
    if len(bodies) != len(shares):
        raise ValueError(f"{len(bodies)} body parts and {len(shares)} shares")
    residues = b"".join(v.to_bytes(8, "little") for v in (*bodies, *shares))
    return b"".join(
        [
            COMMITTEE_SCORES_DOMAIN,
            _key(manifest_digest),
            _key(reference_sha256),
            struct.pack("<d", scale),
            len(bodies).to_bytes(4, "little"),
            len(decrypting).to_bytes(2, "little"),
            b"".join(m.to_bytes(2, "little") for m in sorted(decrypting)),
            hashlib.sha256(residues).digest(),
        ]
    )


def model_digest(model_cid: str) -> bytes:
    """Digest of the final model an attestation names: SHA-256 of its CID string."""
    return hashlib.sha256(model_cid.encode("utf-8")).digest()


@dataclass(frozen=True)
class Attestation:
    """One attestor's ed25519 signature of an attestation message.

    Attributes
    ----------
    signer : bytes
        The attestor's 32-byte public key (its wallet address, decoded).
    signature : bytes
        The 64-byte signature.
    """

    signer: bytes
    signature: bytes

    def __post_init__(self) -> None:
        _key(self.signer)
        if len(self.signature) != SIGNATURE_LEN:
            raise ValueError(f"a signature has {SIGNATURE_LEN} bytes, got {len(self.signature)}")

    def to_hex(self) -> str:
        """``signer || signature`` as hex, for a message record."""
        return (self.signer + self.signature).hex()

    @classmethod
    def from_hex(cls, text: str) -> Attestation:
        """Parse what `to_hex` wrote."""
        raw = bytes.fromhex(text)
        return cls(signer=raw[:KEY_LEN], signature=raw[KEY_LEN:])


def attest(wallet: Wallet, message: bytes) -> Attestation:
    """``wallet``'s attestation of ``message``."""
    return Attestation(signer=wallet.public_key, signature=wallet.sign(message))


def round_attestation(
    wallet: Wallet, task_id: str, round_index: int, manifest_digest: str, signers: Iterable[str]
) -> Attestation:
    """``wallet``'s attestation of the contributors of a round's decrypted sum.

    Parameters
    ----------
    task_id : str
        The task's address (base58).
    round_index : int
        The on-chain round index: the number of this task's sums decrypted before.
    manifest_digest : str
        Hex SHA-256 of the round manifest.
    signers : Iterable[str]
        Wallet addresses that signed the summed inputs' commitments.

    Raises
    ------
    ValueError
        If the task or a signer is not an address (a run without a chain).
    """
    message = round_message(
        _b58decode(task_id),
        round_index,
        bytes.fromhex(manifest_digest),
        [_b58decode(signer) for signer in signers],
    )
    return attest(wallet, message)
