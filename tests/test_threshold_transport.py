"""Key-generation messages relayed by the organisation: signed by senders, sealed to
recipients, and refused when the relay substitutes its own."""

from __future__ import annotations

import numpy as np
import pytest

from strategy import Wallet, WalletError
from strategy.threshold import (
    CommitteeConfig,
    CommitteeMember,
    KeyMismatchError,
    KeyShares,
    ShareAuthenticationError,
    ThresholdCkksError,
    aggregate_public_key,
    combine,
    encrypt,
    open_shamir_shares,
    seal_shamir_shares,
    sign_public_key_share,
    verified_public_key_shares,
)
from tests.threshold_fixtures import committee, run_key_generation, updates

CONFIG = CommitteeConfig(seed=b"task-address-relay", size=3, threshold=2)


@pytest.fixture(scope="module")
def relayed() -> dict:
    """Every member's signed public-key share and signed, sealed Shamir shares."""
    wallets = {i: Wallet.generate() for i in range(1, 4)}
    addresses = {i: wallet.address for i, wallet in wallets.items()}
    members = {i: CommitteeMember(CONFIG, i) for i in range(1, 4)}
    sent = {i: member.generate_key_shares() for i, member in members.items()}
    return {
        "wallets": wallets,
        "addresses": addresses,
        "members": members,
        "sent": sent,
        "public": {i: sign_public_key_share(sent[i], wallets[i]) for i in sent},
        "sealed": {i: seal_shamir_shares(sent[i], wallets[i], addresses) for i in sent},
    }


def test_signed_and_sealed_key_generation_decrypts(relayed) -> None:
    addresses, wallets, members = relayed["addresses"], relayed["wallets"], relayed["members"]
    for i, member in members.items():
        inbox = {sender: boxes[i] for sender, boxes in relayed["sealed"].items()}
        member.receive_shamir_shares(open_shamir_shares(inbox, wallets[i], addresses))
        member.receive_public_key_shares(verified_public_key_shares(relayed["public"], addresses))
    public_key = aggregate_public_key(
        CONFIG, verified_public_key_shares(relayed["public"], addresses)
    )
    assert all(member.public_key == public_key for member in members.values())
    (update,) = updates(1, 2000, seed=7)
    ciphertext = encrypt(public_key, update)
    shares = [members[i].decryption_share(public_key, ciphertext, [2, 3]) for i in (2, 3)]
    assert np.abs(combine(ciphertext, shares, 2) - update).max() < 1e-5


def test_the_relay_sees_no_shamir_share_and_no_other_member_opens_one(relayed) -> None:
    for sender, boxes in relayed["sealed"].items():
        for recipient, box in boxes.items():
            assert relayed["sent"][sender].shamir_shares[recipient] not in box
    with pytest.raises(WalletError):
        relayed["wallets"][2].open_sealed(relayed["sealed"][1][1])


def test_relay_substituting_its_own_shamir_share_is_refused(relayed) -> None:
    # The organisation plays member 1 towards member 2: it makes its own shares (so it
    # would know that part of the secret) and seals them to member 2's public address.
    addresses = relayed["addresses"]
    forged: KeyShares = CommitteeMember(CONFIG, 1).generate_key_shares()
    organisation = Wallet.generate()
    inbox = {sender: boxes[2] for sender, boxes in relayed["sealed"].items()}
    inbox[1] = seal_shamir_shares(forged, organisation, addresses)[2]
    with pytest.raises(ShareAuthenticationError, match="member 1 is not signed"):
        open_shamir_shares(inbox, relayed["wallets"][2], addresses)


def test_relay_substituting_a_public_key_share_is_refused(relayed) -> None:
    addresses = relayed["addresses"]
    forged = CommitteeMember(CONFIG, 3).generate_key_shares()
    signed = dict(relayed["public"])
    signed[3] = sign_public_key_share(forged, Wallet.generate())
    with pytest.raises(ShareAuthenticationError, match="member 3 is not signed"):
        verified_public_key_shares(signed, addresses)
    # A genuine share relabelled as another member's is refused too.
    signed = dict(relayed["public"])
    signed[3] = relayed["public"][1]
    with pytest.raises(ShareAuthenticationError):
        verified_public_key_shares(signed, addresses)


def test_member_signing_another_members_share_is_refused(relayed) -> None:
    # Member 1's wallet signs a share that names member 3 as its sender.
    addresses = relayed["addresses"]
    signed = dict(relayed["public"])
    signed[1] = sign_public_key_share(relayed["sent"][3], relayed["wallets"][1])
    with pytest.raises(ShareAuthenticationError, match="names member 3"):
        verified_public_key_shares(signed, addresses)


def test_nothing_the_organisation_relays_can_act_as_a_key_share(relayed) -> None:
    # Everything the organisation's processes hold during key generation and a
    # decryption, tried as a member's threshold secret and opened with its own wallet.
    addresses = relayed["addresses"]
    public_key = aggregate_public_key(
        CONFIG, verified_public_key_shares(relayed["public"], addresses)
    )
    ciphertext = encrypt(public_key, np.ones(10))
    held = [public_key, ciphertext, *relayed["public"].values()]
    boxes = [box for sealed in relayed["sealed"].values() for box in sealed.values()]
    organisation = Wallet.generate()
    for box in boxes:
        with pytest.raises(WalletError):
            organisation.open_sealed(box)
    for blob in held + boxes:
        pretender = CommitteeMember(CONFIG, 1, threshold_secret=blob)
        with pytest.raises(ThresholdCkksError):
            pretender.decryption_share(public_key, ciphertext, [1, 2])


def test_member_decrypts_only_under_the_key_it_computed() -> None:
    # The aggregator re-runs key generation among its own wallets with the same seed and
    # shape, and presents a ciphertext under that key to an honest member.
    group = committee()
    wallet = Wallet.generate()
    sealed = group.members[2].sealed_threshold_secret(wallet.address)
    member = CommitteeMember(
        group.config, 2, threshold_secret=wallet.open_sealed(sealed), public_key=group.public_key
    )
    sybils = run_key_generation(group.config)
    ciphertext = encrypt(sybils.public_key, np.ones(10))
    with pytest.raises(KeyMismatchError, match="only under the public key it computed"):
        member.decryption_share(sybils.public_key, ciphertext, [1, 2, 3])
    # Without the pin the engine alone cannot tell: same seed, same shape.
    unpinned = CommitteeMember(group.config, 2, threshold_secret=wallet.open_sealed(sealed))
    assert unpinned.decryption_share(sybils.public_key, ciphertext, [1, 2, 3])
