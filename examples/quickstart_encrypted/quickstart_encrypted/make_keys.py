"""Generate the task's CKKS keys and a key-holder wallet into a key directory.

Run by the key holder (or a ceremony), never by the aggregator. The directory is outside
the app (``~/.flwr-keys/quickstart``, or ``$QUICKSTART_KEY_DIR``), so no key file is ever
packed into the app bundle Flower ships to the nodes. Writes:
``public_context.bin`` (publish it), ``secret_context.sealed`` (sealed to the wallet),
``key_holder.json`` (the wallet keypair, stays with the key holder) and
``key_holder.address``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from strategy import Wallet, generate_keys, seal_to_wallet


def default_key_dir() -> Path:
    """``$QUICKSTART_KEY_DIR``, else ``~/.flwr-keys/quickstart``."""
    return Path(os.environ.get("QUICKSTART_KEY_DIR", Path.home() / ".flwr-keys" / "quickstart"))


def make_keys(key_dir: Path) -> str:
    """Write the key files; return the key holder's wallet address."""
    key_dir.mkdir(parents=True, exist_ok=True)
    wallet = Wallet.generate()
    keys = generate_keys()
    (key_dir / "public_context.bin").write_bytes(keys.public_context)
    (key_dir / "secret_context.sealed").write_bytes(
        seal_to_wallet(keys.secret_context, wallet.address)
    )
    # The wallet opens the sealed secret: readable by its owner only, as solana-keygen does.
    keypair = key_dir / "key_holder.json"
    keypair.touch(mode=0o600)
    keypair.write_text(json.dumps(list(wallet.keypair_bytes())))
    (key_dir / "key_holder.address").write_text(wallet.address)
    return wallet.address


if __name__ == "__main__":
    print(make_keys(Path(sys.argv[1]) if len(sys.argv) > 1 else default_key_dir()))
