"""Encrypted FedAvg for Flower: CKKS aggregation with a separate, verifying key holder.

Usage (an existing quickstart-style app; nothing else changes)::

    # client_app.py: every participant
    from strategy import ckks_mod, register_key_holder

    app = ClientApp(mods=[ckks_mod])
    register_key_holder(app)  # answers only on the node holding the sealed secret

    # server_app.py: the organisation
    from strategy import EncryptedFedAvg

    strategy = EncryptedFedAvg(
        public_context=public_context_bytes,   # e.g. fetched from IPFS
        task_id="task-42",
        key_holder_wallet="<base58 address>",  # or key_holder_node_id=...
        min_decrypt_inputs=3,
        fraction_train=1.0,                    # any FedAvg keyword
    )
    result = strategy.start(...)
    strategy.outcomes[1]  # RoundOutcome: skip reason, manifest, contributors, scalars

Keys, once per task, by anyone but the aggregator (``profile="scoring"`` when the
strategy gets a ``reference_update_fn`` to collect contribution scalars)::

    keys = generate_keys(profile="scoring")
    sealed = seal_to_wallet(keys.secret_context, key_holder_address)
    # publish keys.public_context; give `sealed` to the key holder

The key-holder node runs with node config ``ckks-sealed-secret`` (path of ``sealed``),
``wallet-keypair`` (its Solana keypair file) and ``ckks-min-inputs``; participants pin
``ckks-context-sha256``. On the Simulation Engine, where nodes get no config of their
own, the environment names them instead: ``CKKS_SEALED_SECRET``,
``CKKS_WALLET_KEYPAIR`` and ``CKKS_KEY_HOLDER_PARTITION`` (see
``key_holder_from_node_config``). See ``benchmarks/README.md`` for sizes and timings.
"""

import importlib
from typing import TYPE_CHECKING, Any

from .exceptions import (
    BundledSecretError,
    CiphertextSizeError,
    ContextMismatchError,
    DigestMismatchError,
    DisallowedOperationError,
    EncryptedAggregationError,
    InsufficientInputsError,
    KeyHolderError,
    MalformedCiphertextError,
    MalformedReplyError,
    PlaintextOverflowError,
    ReferenceMismatchError,
    ReplayError,
    SecretKeyExposedError,
    WalletError,
)

if TYPE_CHECKING:
    from .ckks import KeyMaterial, generate_keys, load_public_context
    from .ckks_mod import ckks_mod, signing_ckks_mod
    from .decrypt_request import DecryptRequest
    from .encrypted_fedavg import EncryptedFedAvg, find_key_holder
    from .key_holder import KeyHolder
    from .key_holder_app import key_holder_from_node_config, register_key_holder
    from .manifest import RoundManifest, UpdateCommitment
    from .round_outcome import ReportingFedAvg, RoundOutcome
    from .wallet import Wallet, seal_to_wallet

__all__ = [
    "BundledSecretError",
    "CiphertextSizeError",
    "ContextMismatchError",
    "DecryptRequest",
    "DigestMismatchError",
    "DisallowedOperationError",
    "EncryptedAggregationError",
    "EncryptedFedAvg",
    "InsufficientInputsError",
    "KeyHolder",
    "KeyHolderError",
    "KeyMaterial",
    "MalformedCiphertextError",
    "MalformedReplyError",
    "PlaintextOverflowError",
    "ReferenceMismatchError",
    "ReplayError",
    "ReportingFedAvg",
    "RoundManifest",
    "RoundOutcome",
    "SecretKeyExposedError",
    "UpdateCommitment",
    "Wallet",
    "WalletError",
    "ckks_mod",
    "find_key_holder",
    "generate_keys",
    "key_holder_from_node_config",
    "load_public_context",
    "register_key_holder",
    "seal_to_wallet",
    "signing_ckks_mod",
]

# Imported on first use: Flower and TenSEAL take a second or more to load, and a
# command that only reads a wallet or packs a bundle needs neither.
_MODULES = {
    "KeyMaterial": "ckks",
    "generate_keys": "ckks",
    "load_public_context": "ckks",
    "ckks_mod": "ckks_mod",
    "signing_ckks_mod": "ckks_mod",
    "DecryptRequest": "decrypt_request",
    "EncryptedFedAvg": "encrypted_fedavg",
    "find_key_holder": "encrypted_fedavg",
    "KeyHolder": "key_holder",
    "key_holder_from_node_config": "key_holder_app",
    "register_key_holder": "key_holder_app",
    "RoundManifest": "manifest",
    "UpdateCommitment": "manifest",
    "ReportingFedAvg": "round_outcome",
    "RoundOutcome": "round_outcome",
    "Wallet": "wallet",
    "seal_to_wallet": "wallet",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
