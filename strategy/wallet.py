"""Solana wallet keys: load keypairs, sign, and seal the CKKS secret context.

A Solana keypair is an ed25519 key. Its birationally equivalent X25519 key (RFC 7748,
as used by libsodium's ``crypto_sign_ed25519_sk_to_curve25519``) lets anyone seal bytes
to the wallet's public address with a libsodium sealed box, and only the wallet owner
open them. This is how the key holder's secret context is stored and transported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import based58
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.public import SealedBox
from nacl.signing import SigningKey, VerifyKey

from .exceptions import WalletError


def _b58encode(data: bytes) -> str:
    """Encode bytes in Bitcoin/Solana base58."""
    return based58.b58encode(data).decode("ascii")


def _b58decode(text: str) -> bytes:
    """Decode Bitcoin/Solana base58 text."""
    try:
        return bytes(based58.b58decode(text.encode("ascii")))
    except (UnicodeEncodeError, ValueError) as exc:
        raise WalletError(f"{text[:20]!r} is not base58 text") from exc


@dataclass(frozen=True)
class Wallet:
    """An ed25519 wallet keypair (the 32-byte seed of a Solana keypair).

    Attributes
    ----------
    seed : bytes
        The 32-byte ed25519 seed; the first half of a Solana keypair file.
    """

    seed: bytes

    @classmethod
    def generate(cls) -> Wallet:
        """Create a new random wallet."""
        return cls(bytes(SigningKey.generate()))

    @classmethod
    def from_keypair_bytes(cls, keypair: bytes) -> Wallet:
        """Load a 64-byte Solana keypair (seed || public key), checking its halves."""
        if len(keypair) != 64:
            raise WalletError(f"a Solana keypair has 64 bytes, got {len(keypair)}")
        wallet = cls(keypair[:32])
        if wallet.public_key != keypair[32:]:
            raise WalletError("keypair public half does not match its secret half")
        return wallet

    @classmethod
    def from_keypair_file(cls, path: str | Path) -> Wallet:
        """Load a Solana CLI keypair file (JSON array of 64 integers)."""
        try:
            values = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls.from_keypair_bytes(bytes(values))
        except (OSError, ValueError, TypeError) as err:
            raise WalletError(f"cannot read Solana keypair file {path}: {err}") from err

    @property
    def public_key(self) -> bytes:
        """The 32-byte ed25519 public key."""
        return bytes(SigningKey(self.seed).verify_key)

    @property
    def address(self) -> str:
        """The wallet's base58 Solana address."""
        return _b58encode(self.public_key)

    def keypair_bytes(self) -> bytes:
        """The 64-byte Solana keypair (seed || public key)."""
        return self.seed + self.public_key

    def sign(self, message: bytes) -> bytes:
        """Detached ed25519 signature over ``message``."""
        return SigningKey(self.seed).sign(message).signature

    def open_sealed(self, sealed: bytes) -> bytes:
        """Open bytes sealed to this wallet with ``seal_to_wallet``."""
        private = SigningKey(self.seed).to_curve25519_private_key()
        try:
            return SealedBox(private).decrypt(sealed)
        except CryptoError as err:
            raise WalletError(
                "sealed secret does not open with this wallet; it was sealed to another key holder"
            ) from err


def verify_signature(address: str, message: bytes, signature: bytes) -> bool:
    """Check a detached ed25519 signature by the wallet at base58 ``address``."""
    try:
        VerifyKey(_b58decode(address)).verify(message, signature)
    except (BadSignatureError, ValueError, WalletError):
        return False
    return True


def seal_to_wallet(data: bytes, address: str) -> bytes:
    """Seal ``data`` so that only the wallet at base58 ``address`` can open it."""
    try:
        public = VerifyKey(_b58decode(address)).to_curve25519_public_key()
    except (ValueError, CryptoError) as err:
        raise WalletError(f"{address} is not an ed25519 wallet address") from err
    return SealedBox(public).encrypt(data)
