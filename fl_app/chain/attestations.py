"""Attestations signed with a Solana keypair, over the chain's own types."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from strategy.attestation import Attestation, final_message, model_digest, round_message

__all__ = ["final_attestation", "round_attestation", "signed_by"]


def signed_by(keypair: Keypair, message: bytes) -> Attestation:
    """``keypair``'s attestation of ``message``."""
    return Attestation(
        signer=bytes(keypair.pubkey()), signature=bytes(keypair.sign_message(message))
    )


def round_attestation(
    keypair: Keypair,
    task: Pubkey,
    round_index: int,
    manifest_digest: bytes,
    contributors: Sequence[Pubkey],
) -> Attestation:
    """``keypair``'s attestation of round ``round_index``'s contributors."""
    keys = [bytes(k) for k in contributors]
    return signed_by(keypair, round_message(bytes(task), round_index, manifest_digest, keys))


def final_attestation(
    keypair: Keypair, task: Pubkey, model_cid: str, scores: Mapping[Pubkey, int]
) -> Attestation:
    """``keypair``'s attestation of the final ``scores`` for the model ``model_cid``."""
    by_key = {bytes(k): v for k, v in scores.items()}
    return signed_by(keypair, final_message(bytes(task), model_digest(model_cid), by_key))
