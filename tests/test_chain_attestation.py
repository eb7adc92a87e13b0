"""Attestation messages, chained digests and the Ed25519 instruction builder."""

from __future__ import annotations

import hashlib
import struct

import pytest
from solders.keypair import Keypair

from fl_app.chain.ed25519 import ED25519_PROGRAM_ID, ed25519_instruction
from strategy.attestation import (
    DIGEST_START,
    ROUND_DOMAIN,
    Attestation,
    contributors_digest,
    round_message,
    scores_digest,
)


def test_contributors_digest_chains_keys_in_ascending_order() -> None:
    a, b = sorted([bytes(Keypair().pubkey()), bytes(Keypair().pubkey())])
    expected = hashlib.sha256(hashlib.sha256(DIGEST_START + a).digest() + b).digest()
    assert contributors_digest([b, a]) == expected
    assert contributors_digest([]) == DIGEST_START


def test_scores_digest_binds_each_score() -> None:
    a = bytes(Keypair().pubkey())
    expected = hashlib.sha256(DIGEST_START + a + (7).to_bytes(8, "little")).digest()
    assert scores_digest({a: 7}) == expected
    assert scores_digest({a: 8}) != expected


def test_round_message_refuses_a_contributor_listed_twice() -> None:
    a = bytes(Keypair().pubkey())
    with pytest.raises(ValueError, match="listed twice"):
        round_message(bytes(32), 0, bytes(32), [a, a])


def test_ed25519_instruction_is_self_contained_and_verifiable() -> None:
    signer = Keypair()
    message = round_message(bytes(32), 3, bytes(32), [bytes(Keypair().pubkey())])
    signature = bytes(signer.sign_message(message))
    ix = ed25519_instruction(Attestation(bytes(signer.pubkey()), signature), message)
    data = bytes(ix.data)
    assert ix.program_id == ED25519_PROGRAM_ID and not ix.accounts
    count, _, sig_at, sig_ix, key_at, key_ix, msg_at, msg_len, msg_ix = struct.unpack_from(
        "<BB7H", data
    )
    assert count == 1 and {sig_ix, key_ix, msg_ix} == {0xFFFF}
    assert data[key_at : key_at + 32] == bytes(signer.pubkey())
    assert data[sig_at : sig_at + 64] == signature
    assert data[msg_at : msg_at + msg_len] == message
    assert message.startswith(ROUND_DOMAIN)


def test_attestation_round_trips_through_hex() -> None:
    attestation = Attestation(bytes(range(32)), bytes(64))
    assert Attestation.from_hex(attestation.to_hex()) == attestation
    with pytest.raises(ValueError, match="64 bytes"):
        Attestation(bytes(32), bytes(10))
