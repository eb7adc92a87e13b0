"""The documented ``register_key_holder(app)`` works where nodes have no config of their own.

The Simulation Engine gives each node only ``partition-id``; the operator names the key
holder's partition, sealed secret and wallet in the environment.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from pathlib import Path

import pytest
from flwr.app import Context, Message, RecordDict
from flwr.clientapp import ClientApp
from solders.keypair import Keypair

from strategy import KeyMaterial, ckks_mod, find_key_holder, register_key_holder, seal_to_wallet
from strategy.ckks import context_fingerprint
from strategy.exceptions import KeyHolderError
from tests.he_fixtures import FakeFederation

_RUN_IDS = itertools.count(5000)


class SimulatedNodes(FakeFederation):
    """Nodes that know only their partition, as on the Simulation Engine."""

    def __init__(self, partitions: int) -> None:
        self.app = ClientApp(mods=[ckks_mod])
        register_key_holder(self.app)  # the documented default loader
        run_id = next(_RUN_IDS)
        self.contexts = {
            100 + p: Context(run_id, 100 + p, {"partition-id": p}, RecordDict(), {})
            for p in range(partitions)
        }

    def get_node_ids(self) -> Iterable[int]:
        return list(self.contexts)

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        return [self.app(m, self.contexts[m.metadata.dst_node_id]) for m in messages]


def _key_holder_files(tmp_path: Path, keys: KeyMaterial) -> tuple[str, Path, Path]:
    keypair = Keypair()
    wallet = tmp_path / "key_holder.json"
    wallet.write_text(json.dumps(list(bytes(keypair))))
    sealed = tmp_path / "secret_context.sealed"
    sealed.write_bytes(seal_to_wallet(keys.secret_context, str(keypair.pubkey())))
    return str(keypair.pubkey()), wallet, sealed


@pytest.mark.usefixtures("server_identity")
def test_the_key_holder_partition_named_in_the_environment_proves_it_holds_the_key(
    ckks_keys: KeyMaterial, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address, wallet, sealed = _key_holder_files(tmp_path, ckks_keys)
    monkeypatch.setenv("CKKS_SEALED_SECRET", str(sealed))
    monkeypatch.setenv("CKKS_WALLET_KEYPAIR", str(wallet))
    monkeypatch.setenv("CKKS_KEY_HOLDER_PARTITION", "2")

    node = find_key_holder(
        SimulatedNodes(4),
        wallet=address,
        context_sha256=context_fingerprint(ckks_keys.public_context),
        timeout=60.0,
    )

    assert node == 102


@pytest.mark.usefixtures("server_identity")
def test_without_a_key_holder_anywhere_the_error_says_so(
    ckks_keys: KeyMaterial, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CKKS_SEALED_SECRET", raising=False)
    with pytest.raises(KeyHolderError, match="no connected node proved it is key holder"):
        find_key_holder(
            SimulatedNodes(3),
            wallet=str(Keypair().pubkey()),
            context_sha256=context_fingerprint(ckks_keys.public_context),
            timeout=60.0,
        )
