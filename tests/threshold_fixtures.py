"""Helpers for the threshold CKKS tests (tests/test_threshold_*.py): committees by seed."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from strategy.threshold import (
    CommitteeConfig,
    CommitteeMember,
    KeyShares,
    aggregate_public_key,
    combine,
)

# Offsets in the engine's messages (native/threshold_ckks/wire.go): magic, version, kind,
# then the 32-byte binding digest; a threshold secret continues with member, n, t (u16).
DIGEST_SLICE = slice(6, 38)
SECRET_THRESHOLD_OFFSET = 42


@dataclass(frozen=True)
class Committee:
    """A committee after key generation: its members, their messages and the public key."""

    config: CommitteeConfig
    members: dict[int, CommitteeMember]
    key_shares: dict[int, KeyShares]
    public_key: bytes


def run_key_generation(config: CommitteeConfig) -> Committee:
    """Run distributed key generation among all members, as they would over Flower."""
    members = {i: CommitteeMember(config, i) for i in range(1, config.size + 1)}
    key_shares = {i: member.generate_key_shares() for i, member in members.items()}
    for i, member in members.items():
        member.receive_shamir_shares([shares.shamir_shares[i] for shares in key_shares.values()])
    public_key_shares = [shares.public_key_share for shares in key_shares.values()]
    public_key = aggregate_public_key(config, public_key_shares)
    for member in members.values():
        member.receive_public_key_shares(public_key_shares)
    return Committee(config, members, key_shares, public_key)


@cache
def committee(seed: bytes = b"task-address-1", size: int = 5, threshold: int = 3) -> Committee:
    """One committee per (seed, size, threshold) for the whole test session."""
    return run_key_generation(CommitteeConfig(seed=seed, size=size, threshold=threshold))


def decrypt_with(group: Committee, ciphertext: bytes, decrypting: list[int]) -> np.ndarray:
    """Decrypt with the given members' shares, as the aggregator combines them."""
    shares = [
        group.members[i].decryption_share(group.public_key, ciphertext, decrypting)
        for i in decrypting
    ]
    return combine(ciphertext, shares, group.config.threshold)


def updates(count: int, size: int, seed: int = 0, scale: float = 1.0) -> list[np.ndarray]:
    """Random updates in [-scale, scale]."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(-scale, scale, size) for _ in range(count)]
