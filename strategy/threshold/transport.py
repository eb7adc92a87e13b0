"""Key-generation messages as they travel through the organisation's SuperLink.

The organisation relays every message, so each one is signed by its sender's wallet
(ed25519) and each Shamir share is also sealed to its recipient's wallet (X25519 of the
wallet key, PyNaCl sealed box). Without signatures the relay could replace every
member's public-key and Shamir shares with its own and so know the whole secret;
without sealing it would read the Shamir shares. Members and participants recompute the
collective public key from the signed public-key shares (``verified_public_key_shares``
then ``aggregate_public_key``) rather than trusting one handed to them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from ..exceptions import WalletError
from ..wallet import Wallet, seal_to_wallet, verify_signature
from .committee import KeyShares
from .engine import parameters
from .errors import InvalidArgumentError, ShareAuthenticationError
from .wire import DIGEST, KIND_PUBLIC_KEY, is_kind, u16_after_header

SIGNATURE_BYTES = 64
PUBLIC_KEY_SHARE_DOMAIN = b"fl-app/threshold-ckks/public-key-share/v1"
SHAMIR_SHARE_DOMAIN = b"fl-app/threshold-ckks/shamir-share/v1"
KEY_DOMAIN = b"fl-app/threshold-ckks/collective-key/v1"


def _signed_digest(domain: bytes, message: bytes) -> bytes:
    return domain + hashlib.sha256(message).digest()


def sender_of(message: bytes) -> int:
    """The member number a key-generation message says it is from."""
    sender = u16_after_header(message)
    if sender is None:
        raise ShareAuthenticationError("key-generation message too short to name its sender")
    return sender


def sign_public_key_share(shares: KeyShares, wallet: Wallet) -> bytes:
    """The member's public-key share with its wallet's signature in front."""
    share = shares.public_key_share
    return wallet.sign(_signed_digest(PUBLIC_KEY_SHARE_DOMAIN, share)) + share


def verified_public_key_shares(
    signed: Mapping[int, bytes], wallets: Mapping[int, str]
) -> list[bytes]:
    """Check each member's signed public-key share against its wallet; return the shares.

    Raises
    ------
    ShareAuthenticationError
        If a share is not signed by the wallet of the member it is from, or names another
        member than the one it came from.
    """
    shares = []
    for member, blob in sorted(signed.items()):
        share = _verify(blob, member, wallets, PUBLIC_KEY_SHARE_DOMAIN, "public-key share")
        shares.append(share)
    return shares


def seal_shamir_shares(
    shares: KeyShares, sender: Wallet, wallets: Mapping[int, str]
) -> dict[int, bytes]:
    """Sign each Shamir share with the sender's wallet and seal it to its recipient's.

    Parameters
    ----------
    shares : KeyShares
        The sender's output of key generation.
    sender : Wallet
        The sender's wallet (its address is in ``wallets`` under ``shares.member``).
    wallets : Mapping[int, str]
        Member number -> wallet address (base58), as recorded on chain.

    Returns
    -------
    dict[int, bytes]
        Recipient member -> sealed box; only that recipient's wallet opens it.
    """
    missing = set(shares.shamir_shares) - set(wallets)
    if missing:
        raise InvalidArgumentError(f"no wallet for members {sorted(missing)}")
    return {
        recipient: seal_to_wallet(
            sender.sign(_signed_digest(SHAMIR_SHARE_DOMAIN, share)) + share, wallets[recipient]
        )
        for recipient, share in shares.shamir_shares.items()
    }


def open_shamir_shares(
    sealed: Mapping[int, bytes], wallet: Wallet, wallets: Mapping[int, str]
) -> list[bytes]:
    """Open the sealed Shamir shares addressed to ``wallet`` and check their senders.

    Parameters
    ----------
    sealed : Mapping[int, bytes]
        Sender member -> the sealed box it sent to this member.
    wallet : Wallet
        This member's wallet.
    wallets : Mapping[int, str]
        Member number -> wallet address, as recorded on chain.

    Raises
    ------
    WalletError
        If a box was sealed to another wallet.
    ShareAuthenticationError
        If a share is not signed by its sender's wallet.
    """
    return [
        _verify(wallet.open_sealed(box), sender, wallets, SHAMIR_SHARE_DOMAIN, "Shamir share")
        for sender, box in sorted(sealed.items())
    ]


def _verify(
    blob: bytes, member: int, wallets: Mapping[int, str], domain: bytes, what: str
) -> bytes:
    signature, message = blob[:SIGNATURE_BYTES], blob[SIGNATURE_BYTES:]
    address = wallets.get(member)
    if address is None:
        raise ShareAuthenticationError(f"{what} from member {member}, who has no wallet")
    try:
        valid = verify_signature(address, _signed_digest(domain, message), signature)
    except WalletError:
        valid = False
    if not valid:
        raise ShareAuthenticationError(f"{what} from member {member} is not signed by its wallet")
    if sender_of(message) != member:
        raise ShareAuthenticationError(
            f"{what} from member {member} names member {sender_of(message)} as its sender"
        )
    return message


def key_message(seed: bytes, key_sha256: str) -> bytes:
    """Bytes a member signs for the collective public key it computed."""
    return KEY_DOMAIN + hashlib.sha256(seed).digest() + bytes.fromhex(key_sha256)


def check_key_signatures(
    public_key: bytes, seed: bytes, wallets: Sequence[str], signatures: Sequence[bytes]
) -> None:
    """Refuse a collective key that not every member of the committee signed.

    A participant checks this before it encrypts: a key the organisation made alone
    would let it decrypt every update.

    Parameters
    ----------
    public_key : bytes
        The collective public key.
    seed : bytes
        The task's committee seed; the key must have been made from it.
    wallets : Sequence[str]
        The committee's wallets, member order.
    signatures : Sequence[bytes]
        Each member's signature of ``key_message(seed, sha256(public_key))``.

    Raises
    ------
    ShareAuthenticationError
        If the key is not made from ``seed`` for a committee of ``len(wallets)``, or a
        member's signature is missing or does not verify.
    """
    # The engine binds key material to sha256(parameter set name + "/seed-digest/" + seed).
    seed_digest = hashlib.sha256(f"{parameters()['name']}/seed-digest/".encode() + seed).digest()
    size = u16_after_header(public_key)
    if (
        not is_kind(public_key, KIND_PUBLIC_KEY)
        or size is None
        or public_key[DIGEST] != seed_digest
    ):
        raise ShareAuthenticationError("the collective key was not made from this task's seed")
    if size != len(wallets) or len(signatures) != len(wallets):
        raise ShareAuthenticationError(
            f"a key of a committee of {size}, {len(wallets)} wallets, {len(signatures)} signatures"
        )
    message = key_message(seed, hashlib.sha256(public_key).hexdigest())
    for member, (wallet, signature) in enumerate(zip(wallets, signatures, strict=True), 1):
        try:
            valid = verify_signature(wallet, message, signature)
        except WalletError:
            valid = False
        if not valid:
            raise ShareAuthenticationError(f"member {member} did not sign the collective key")
