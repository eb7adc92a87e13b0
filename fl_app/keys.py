"""The task's CKKS key material, made by the key holder and never by the aggregator.

``KeyFiles.create`` is the key holder's ceremony: it generates the CKKS keys and a
wallet, seals the secret context to that wallet, and writes the files each role needs:
the organisation's server reads only ``public_context.bin`` and ``key_holder.address``;
the key holder's node reads ``secret_context.sealed`` and ``key_holder.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from solders.keypair import Keypair

from fl_app.keypair_files import write_keypair
from strategy import KeyHolder, Wallet, generate_keys, seal_to_wallet
from strategy.ckks import AGGREGATION_PROFILE, SCORING_PROFILE
from strategy.constants import NODE_CONFIG_SEALED_SECRET, NODE_CONFIG_WALLET

__all__ = ["KeyFiles"]


@dataclass(frozen=True)
class KeyFiles:
    """Paths of one task's key files in a directory."""

    directory: Path

    @property
    def public_context(self) -> Path:
        return self.directory / "public_context.bin"

    @property
    def address_file(self) -> Path:
        return self.directory / "key_holder.address"

    @property
    def sealed_secret(self) -> Path:
        return self.directory / "secret_context.sealed"

    @property
    def wallet(self) -> Path:
        return self.directory / "key_holder.json"

    @classmethod
    def create(
        cls, directory: Path, *, wallet: Wallet | None = None, scoring: bool = True
    ) -> KeyFiles:
        """Generate CKKS keys and seal the secret to the key holder's wallet.

        Without ``wallet`` a fresh one is generated for the key holder. ``scoring``
        makes keys of the scoring profile (needed for contribution scores; larger
        ciphertexts), otherwise of the aggregation-only profile.
        """
        directory.mkdir(parents=True, exist_ok=True)
        files = cls(directory)
        wallet = wallet if wallet is not None else Wallet.generate()
        keys = generate_keys(SCORING_PROFILE if scoring else AGGREGATION_PROFILE)
        files.public_context.write_bytes(keys.public_context)
        files.sealed_secret.write_bytes(seal_to_wallet(keys.secret_context, wallet.address))
        # Created 0600 before the secret is written, never readable by others.
        write_keypair(files.wallet, Keypair.from_bytes(wallet.keypair_bytes()), force=True)
        files.address_file.write_text(wallet.address)
        return files

    @property
    def key_holder_address(self) -> str:
        return self.address_file.read_text().strip()

    def key_holder_node_config(self) -> dict[str, str]:
        """Node-config entries that make a SuperNode the key holder."""
        return {
            NODE_CONFIG_SEALED_SECRET: str(self.sealed_secret),
            NODE_CONFIG_WALLET: str(self.wallet),
        }

    def load_key_holder(self, *, min_inputs: int) -> KeyHolder:
        """Open the sealed secret with the key holder's wallet."""
        wallet = Wallet.from_keypair_file(self.wallet)
        return KeyHolder.from_sealed(self.sealed_secret.read_bytes(), wallet, min_inputs=min_inputs)
