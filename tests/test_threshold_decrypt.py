"""Threshold decryption: any t members decrypt a sum, t - 1 members and the aggregator
cannot decrypt one update, and malformed or foreign messages are refused."""

from __future__ import annotations

import itertools
import struct

import numpy as np
import pytest

from strategy import Wallet
from strategy.threshold import (
    CommitteeMember,
    EngineInternalError,
    InsufficientSharesError,
    InvalidArgumentError,
    KeyMismatchError,
    MalformedMessageError,
    ThresholdCkksError,
    add,
    aggregate_public_key,
    combine,
    encrypt,
    max_abs_value,
    sum_vectors,
)
from tests.threshold_fixtures import (
    SECRET_THRESHOLD_OFFSET,
    committee,
    decrypt_with,
    updates,
)

NUM_VALUES = 10_000


@pytest.fixture(scope="module")
def aggregate() -> tuple[bytes, np.ndarray, list[bytes], list[np.ndarray]]:
    """Ten participants' encrypted updates, their encrypted sum and the plaintext sum."""
    group = committee()
    plain = updates(10, NUM_VALUES, seed=1)
    ciphertexts = [encrypt(group.public_key, update) for update in plain]
    return sum_vectors(ciphertexts), np.sum(plain, axis=0), ciphertexts, plain


def test_any_t_of_n_members_decrypt_the_sum_of_ten_updates(aggregate) -> None:
    ciphertext, expected, _, _ = aggregate
    group = committee()
    for decrypting in itertools.combinations(range(1, 6), 3):
        decrypted = decrypt_with(group, ciphertext, list(decrypting))
        assert decrypted.shape == (NUM_VALUES,)
        assert np.abs(decrypted - expected).max() < 1e-5, decrypting


def test_n_minus_t_members_missing_still_decrypts(aggregate) -> None:
    ciphertext, expected, _, _ = aggregate
    group = committee()
    # Member 2 went offline after being picked: its share never arrives.
    picked = [1, 2, 3, 4]
    arrived = [
        group.members[i].decryption_share(group.public_key, ciphertext, picked) for i in (1, 3, 4)
    ]
    with pytest.raises(InsufficientSharesError, match="sent a share"):
        combine(ciphertext, arrived, 3)
    # The aggregator asks again with the members still online (members 2 and 4 gone).
    decrypted = decrypt_with(group, ciphertext, [1, 3, 5])
    assert np.abs(decrypted - expected).max() < 1e-5


def test_fewer_than_t_members_are_refused(aggregate) -> None:
    ciphertext, _, _, _ = aggregate
    group = committee()
    with pytest.raises(InsufficientSharesError, match="the key needs 3"):
        group.members[1].decryption_share(group.public_key, ciphertext, [1, 2])
    shares = [
        group.members[i].decryption_share(group.public_key, ciphertext, [1, 2, 3]) for i in (1, 2)
    ]
    with pytest.raises(InsufficientSharesError):
        combine(ciphertext, shares, 3)


def _with_threshold(secret: bytes, threshold: int) -> bytes:
    edited = bytearray(secret)
    edited[SECRET_THRESHOLD_OFFSET : SECRET_THRESHOLD_OFFSET + 2] = struct.pack("<H", threshold)
    return bytes(edited)


def test_t_minus_1_members_and_the_aggregator_cannot_decrypt_one_update(aggregate) -> None:
    # The attackers: the aggregator and members 1 and 2 (t - 1 = 2), pooling everything
    # they hold. The members open their stored threshold secrets and relabel them as
    # 2-of-5, so that the engine interpolates a key from their two Shamir shares; the
    # aggregator combines their decryption shares.
    _, _, ciphertexts, plain = aggregate
    group = committee()
    colluders = {}
    for i in (1, 2):
        wallet = Wallet.generate()
        secret = wallet.open_sealed(group.members[i].sealed_threshold_secret(wallet.address))
        colluders[i] = CommitteeMember(group.config, i, _with_threshold(secret, 2))
    victim_ciphertext, victim_update = ciphertexts[0], plain[0]
    shares = [
        member.decryption_share(group.public_key, victim_ciphertext, [1, 2])
        for member in colluders.values()
    ]
    decrypted = combine(victim_ciphertext, shares, 2)
    error = np.abs(decrypted - victim_update)
    assert np.median(error) > 1.0  # noise, against updates in [-1, 1]
    assert np.corrcoef(decrypted, victim_update)[0, 1] < 0.1
    # An honest member's share, made for a set of t, does not mix into their set; the
    # honest set of t decrypts.
    honest = group.members[3].decryption_share(group.public_key, victim_ciphertext, [1, 2, 3])
    with pytest.raises(KeyMismatchError, match="different sets"):
        combine(victim_ciphertext, [*shares, honest], 2)
    assert np.abs(decrypt_with(group, victim_ciphertext, [1, 2, 3]) - victim_update).max() < 1e-5


def test_the_aggregator_alone_cannot_decrypt(aggregate) -> None:
    _, _, ciphertexts, _ = aggregate
    with pytest.raises(InsufficientSharesError):
        combine(ciphertexts[0], [], 0)


def _flip(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value) :]


def test_malformed_ciphertexts_are_refused_with_one_line(aggregate) -> None:
    ciphertext, _, ciphertexts, _ = aggregate
    group = committee()
    bad = {
        "truncated": ciphertext[:-100],
        "trailing bytes": ciphertext + b"\0",
        "not a message": b"\0" * 64,
        "wrong magic": _flip(ciphertext, 0, b"XXXX"),
        "coefficient >= q": _flip(ciphertext, len(ciphertext) - 8, b"\xff" * 8),
        "chunk count": _flip(ciphertext, 38, struct.pack("<Q", 10 * NUM_VALUES)),
    }
    for name, data in bad.items():
        with pytest.raises(MalformedMessageError) as err:
            add(data, ciphertexts[1])
        assert "\n" not in str(err.value), name
        with pytest.raises(MalformedMessageError):
            group.members[1].decryption_share(group.public_key, data, [1, 2, 3])


def test_malformed_or_foreign_decryption_shares_are_refused(aggregate) -> None:
    ciphertext, _, ciphertexts, _ = aggregate
    group = committee()
    decrypting = [1, 2, 3]
    shares = [
        group.members[i].decryption_share(group.public_key, ciphertext, decrypting)
        for i in decrypting
    ]
    with pytest.raises(MalformedMessageError):
        combine(ciphertext, [shares[0][:-10], *shares[1:]], 3)
    with pytest.raises(MalformedMessageError):
        combine(ciphertext, [_flip(shares[0], len(shares[0]) - 8, b"\xff" * 8), *shares[1:]], 3)
    with pytest.raises(KeyMismatchError, match="repeated"):
        combine(ciphertext, [shares[0], shares[0], shares[1]], 3)
    other = group.members[3].decryption_share(group.public_key, ciphertexts[0], decrypting)
    with pytest.raises(KeyMismatchError, match="another ciphertext"):
        combine(ciphertext, [*shares[:2], other], 3)


def test_ciphertexts_under_another_committee_key_are_refused(aggregate) -> None:
    ciphertext, _, _, _ = aggregate
    group, other = committee(), committee(b"task-address-2")
    foreign = encrypt(other.public_key, np.zeros(NUM_VALUES))
    with pytest.raises(KeyMismatchError):
        add(ciphertext, foreign)
    with pytest.raises(KeyMismatchError):
        group.members[1].decryption_share(group.public_key, foreign, [1, 2, 3])
    with pytest.raises(KeyMismatchError):
        group.members[1].decryption_share(other.public_key, ciphertext, [1, 2, 3])


def test_vectors_of_any_length_round_trip() -> None:
    group = committee()
    for length in (1, 4095, 4096, 4097, 9000):
        values = np.linspace(-3, 3, length)
        decrypted = decrypt_with(group, encrypt(group.public_key, values), [2, 4, 5])
        assert decrypted.shape == (length,)
        assert np.abs(decrypted - values).max() < 1e-5


def test_values_the_engine_cannot_hold_are_refused() -> None:
    group = committee()
    for value in (np.nan, np.inf, 2 * max_abs_value()):
        with pytest.raises(InvalidArgumentError):
            encrypt(group.public_key, np.array([0.0, value]))
    with pytest.raises(MalformedMessageError):
        encrypt(b"not a key", np.zeros(3))
    with pytest.raises(InvalidArgumentError):
        sum_vectors([])
    assert issubclass(InvalidArgumentError, ThresholdCkksError)


def test_crafted_messages_are_refused_without_crashing_the_process() -> None:
    # A participant (or the aggregator) crafts sizes and levels inside the serialized
    # objects: each must come back as a refusal, never an internal error or a crash
    # (an allocation of the announced size would kill the process).
    group = committee()
    config = group.config
    ciphertext = encrypt(group.public_key, np.ones(100))
    shares = [
        group.members[i].decryption_share(group.public_key, ciphertext, [1, 2, 3])
        for i in (1, 2, 3)
    ]
    public_shares = [group.key_shares[i].public_key_share for i in range(1, 6)]
    shamir = [group.key_shares[i].shamir_shares[1] for i in range(1, 6)]
    member = CommitteeMember(config, 1)
    attempts = {
        "ciphertext": (ciphertext, lambda data: sum_vectors([data])),
        "public key": (group.public_key, lambda data: encrypt(data, np.ones(3))),
        "public-key share": (
            public_shares[0],
            lambda data: aggregate_public_key(config, [data, *public_shares[1:]]),
        ),
        "Shamir share": (shamir[0], lambda data: member.receive_shamir_shares([data, *shamir[1:]])),
        "decryption share": (shares[0], lambda data: combine(ciphertext, [data, *shares[1:]], 3)),
    }
    for name, (message, use) in attempts.items():
        for offset in range(38, 38 + 160):
            crafted = bytearray(message)
            crafted[offset] ^= 0xFF
            try:
                use(bytes(crafted))
            except EngineInternalError as err:
                pytest.fail(f"{name}, byte {offset}: {err}")
            except ThresholdCkksError:
                pass


def test_decryption_shares_carry_fresh_flooding_noise(aggregate) -> None:
    # Without flooding the error would be the ciphertexts' own noise, about 1e-10 here;
    # with 2^22 per member it is about 4e-7 per value (the module docstring's budget).
    ciphertext, expected, _, _ = aggregate
    group = committee()
    first = group.members[1].decryption_share(group.public_key, ciphertext, [1, 2, 3])
    again = group.members[1].decryption_share(group.public_key, ciphertext, [1, 2, 3])
    assert first != again
    error = decrypt_with(group, ciphertext, [1, 2, 3]) - expected
    assert 1e-7 < float(np.std(error)) < 1e-6
