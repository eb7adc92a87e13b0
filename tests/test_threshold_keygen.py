"""t-of-n committee key generation: shares, sealing, seeds, and who holds what."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from strategy import Wallet
from strategy.threshold import (
    CommitteeConfig,
    CommitteeMember,
    InsufficientSharesError,
    InvalidArgumentError,
    KeyMismatchError,
    aggregate_public_key,
    combine,
    encrypt,
)
from tests.threshold_fixtures import (
    DIGEST_SLICE,
    committee,
    decrypt_with,
    run_key_generation,
    updates,
)


def test_collective_key_encrypts_and_threshold_decrypts() -> None:
    group = committee()
    (update,) = updates(1, 5000)
    decrypted = decrypt_with(group, encrypt(group.public_key, update), [1, 2, 3])
    assert decrypted.shape == update.shape
    assert np.abs(decrypted - update).max() < 1e-5


def test_committee_config_refuses_impossible_thresholds() -> None:
    with pytest.raises(InvalidArgumentError):
        CommitteeConfig(seed=b"task", size=3, threshold=4)
    with pytest.raises(InvalidArgumentError):
        CommitteeConfig(seed=b"task", size=3, threshold=0)
    # Two disjoint pairs of a 2-of-4 committee could decrypt two sums of one round.
    with pytest.raises(InvalidArgumentError, match="strict majority"):
        CommitteeConfig(seed=b"task", size=4, threshold=2)
    with pytest.raises(InvalidArgumentError):
        CommitteeMember(CommitteeConfig(seed=b"task", size=3, threshold=2), 4)


def test_public_key_shares_from_another_task_seed_are_refused() -> None:
    ours, theirs = committee(b"task-address-1"), committee(b"task-address-2")
    shares = [ours.key_shares[i].public_key_share for i in range(1, 5)]
    with pytest.raises(KeyMismatchError, match="another task seed"):
        aggregate_public_key(ours.config, [*shares, theirs.key_shares[5].public_key_share])


def test_shamir_shares_from_another_task_seed_are_refused() -> None:
    ours, theirs = committee(b"task-address-1"), committee(b"task-address-2")
    member = CommitteeMember(ours.config, 1)
    received = [ours.key_shares[i].shamir_shares[1] for i in range(1, 5)]
    with pytest.raises(KeyMismatchError, match="another task seed"):
        member.receive_shamir_shares([*received, theirs.key_shares[5].shamir_shares[1]])


def test_foreign_key_share_relabelled_as_ours_yields_a_key_nobody_can_decrypt() -> None:
    # The attacker rewrites the seed digest of another task's share to pass the check:
    # the common random polynomials differ, so the sum is not a key of the members' secret.
    ours, theirs = committee(b"task-address-1"), committee(b"task-address-2")
    forged = bytearray(theirs.key_shares[5].public_key_share)
    forged[DIGEST_SLICE] = ours.key_shares[5].public_key_share[DIGEST_SLICE]
    shares = [ours.key_shares[i].public_key_share for i in range(1, 5)]
    bad_key = aggregate_public_key(ours.config, [*shares, bytes(forged)])
    (update,) = updates(1, 4096, seed=3)
    ciphertext = encrypt(bad_key, update)
    with pytest.raises(KeyMismatchError):
        ours.members[1].decryption_share(ours.public_key, ciphertext, [1, 2, 3])
    # Even members tricked into taking the forged key as theirs decrypt only noise.
    wallet = Wallet.generate()
    tricked = {
        i: CommitteeMember(
            ours.config,
            i,
            threshold_secret=wallet.open_sealed(member.sealed_threshold_secret(wallet.address)),
            public_key=bad_key,
        )
        for i, member in ours.members.items()
    }
    decrypted = decrypt_with(
        replace(ours, members=tricked, public_key=bad_key), ciphertext, [1, 2, 3]
    )
    assert np.median(np.abs(decrypted - update)) > 1.0


def test_key_generation_needs_a_share_from_every_member() -> None:
    group = committee()
    public = [group.key_shares[i].public_key_share for i in range(1, 6)]
    with pytest.raises(InsufficientSharesError):
        aggregate_public_key(group.config, public[:4])
    with pytest.raises(KeyMismatchError, match="two public-key shares"):
        aggregate_public_key(group.config, [*public[:4], public[0]])
    member = CommitteeMember(group.config, 2)
    shamir = [group.key_shares[i].shamir_shares[2] for i in range(1, 6)]
    with pytest.raises(InsufficientSharesError):
        member.receive_shamir_shares(shamir[:4])
    with pytest.raises(KeyMismatchError, match="addressed to member 3"):
        member.receive_shamir_shares([*shamir[:4], group.key_shares[5].shamir_shares[3]])


def test_member_resumes_from_its_threshold_secret_sealed_at_rest() -> None:
    group = committee()
    wallet = Wallet.generate()
    sealed = group.members[2].sealed_threshold_secret(wallet.address)
    resumed = CommitteeMember(group.config, 2, wallet.open_sealed(sealed))
    (update,) = updates(1, 3000, seed=5)
    ciphertext = encrypt(group.public_key, update)
    shares = [
        group.members[1].decryption_share(group.public_key, ciphertext, [1, 2, 4]),
        resumed.decryption_share(group.public_key, ciphertext, [1, 2, 4]),
        group.members[4].decryption_share(group.public_key, ciphertext, [1, 2, 4]),
    ]
    assert np.abs(combine(ciphertext, shares, 3) - update).max() < 1e-5


def test_independent_key_generations_give_different_keys() -> None:
    # The same seed fixes only the common random polynomial; each run's secrets are fresh.
    config = CommitteeConfig(seed=b"task-address-rerun", size=3, threshold=2)
    first, second = run_key_generation(config), run_key_generation(config)
    assert first.public_key != second.public_key
    assert first.public_key[DIGEST_SLICE] == second.public_key[DIGEST_SLICE]


def test_shares_for_another_committee_shape_do_not_combine() -> None:
    # Same task seed, another (n, t): a member mixing them in is refused.
    ours, other = committee(b"task-address-1"), committee(b"task-address-1", 5, 4)
    public = [ours.key_shares[i].public_key_share for i in range(1, 5)]
    with pytest.raises(KeyMismatchError, match="committee"):
        aggregate_public_key(ours.config, [*public, other.key_shares[5].public_key_share])
    shamir = [ours.key_shares[i].shamir_shares[1] for i in range(1, 5)]
    with pytest.raises(KeyMismatchError, match="committee"):
        CommitteeMember(ours.config, 1).receive_shamir_shares(
            [*shamir, other.key_shares[5].shamir_shares[1]]
        )
    smaller = committee(b"task-address-1", 4, 3)
    ciphertext = encrypt(smaller.public_key, np.ones(5))
    # The engine itself refuses, for a member resumed without the key it computed.
    wallet = Wallet.generate()
    sealed = ours.members[1].sealed_threshold_secret(wallet.address)
    resumed = CommitteeMember(ours.config, 1, threshold_secret=wallet.open_sealed(sealed))
    with pytest.raises(KeyMismatchError, match="not the one"):
        resumed.decryption_share(smaller.public_key, ciphertext, [1, 2, 3])
