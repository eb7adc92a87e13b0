"""On Flower's Simulation Engine the public context crosses the wire once per node and run.

One run of four nodes: round 1 sends every node the context; in round 2 the messages
carry only its fingerprint, and one node whose state was wiped (as after a restart)
answers that it lacks the context; round 3 sends it to that node alone; in round 4 the
organisation, as attacker, sends a context of its own making, which every node refuses.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.clientapp.typing import ClientAppCallable
from flwr.common.serde import recorddict_to_proto
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import Result
from flwr.simulation import run_simulation

from strategy import (
    EncryptedFedAvg,
    KeyHolder,
    KeyMaterial,
    Wallet,
    ckks_mod,
    register_key_holder,
    seal_to_wallet,
)
from strategy.ckks import context_fingerprint
from strategy.constants import CONFIG_CONTEXT
from tests.he_fixtures import make_model

REPO_ROOT = str(Path(__file__).resolve().parents[1])
NUM_NODES = 4
ROUNDS = 4
KEY_HOLDER_PARTITION = 0
RESTARTED_PARTITION = 2
"""Its node state is wiped before round 2, as a SuperNode restart would."""
SWAP_ROUND = 4
SHAPES = {"w": (6, 5), "b": (5,)}


def _delta(partition: int) -> float:
    return 0.001 * (partition + 1)


def _examples(partition: int) -> int:
    return 10 * (partition + 1)


def _recording_mod(log_path: Path) -> Callable[[Message, Context, ClientAppCallable], Message]:
    """Outermost mod: log each train message's size and whether it carried the context."""

    def mod(msg: Message, ctxt: Context, call_next: ClientAppCallable) -> Message:
        if msg.metadata.message_type != "train":
            return call_next(msg, ctxt)
        partition = int(ctxt.node_config["partition-id"])
        config = msg.content.config_records["config"]
        server_round = int(config["server-round"])  # type: ignore[call-overload]
        if partition == RESTARTED_PARTITION and server_round == 2:
            for key in list(ctxt.state.keys()):
                del ctxt.state[key]
        entry: dict[str, Any] = {
            "partition": partition,
            "round": server_round,
            "context_sent": CONFIG_CONTEXT in config,
            "message_bytes": recorddict_to_proto(msg.content).ByteSize(),
        }
        try:
            reply = call_next(msg, ctxt)
            entry["error"] = reply.error.reason if reply.has_error() else ""
        except Exception as err:
            entry["error"] = str(err)
            raise
        finally:
            with log_path.open("a", encoding="utf-8") as log_file:
                log_file.write(json.dumps(entry) + "\n")
        return reply

    return mod


def _client_app(log_path: Path, sealed: bytes, keypair: bytes) -> ClientApp:
    app = ClientApp(mods=[_recording_mod(log_path), ckks_mod])

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        partition = int(context.node_config["partition-id"])
        received = msg.content.array_records["arrays"]
        trained = ArrayRecord(
            {key: Array(a.numpy() + np.float32(_delta(partition))) for key, a in received.items()}
        )
        metrics = MetricRecord({"num-examples": _examples(partition)})
        return Message(RecordDict({"arrays": trained, "metrics": metrics}), reply_to=msg)

    def load(context: Context) -> KeyHolder | None:
        if int(context.node_config["partition-id"]) != KEY_HOLDER_PARTITION:
            return None
        return KeyHolder.from_sealed(sealed, Wallet.from_keypair_bytes(keypair), min_inputs=3)

    register_key_holder(app, load)
    return app


class _SwappingFedAvg(EncryptedFedAvg):
    """The organisation as attacker: from ``SWAP_ROUND`` on it sends its own context."""

    def __init__(self, *, swap_to: bytes, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.swap_to = swap_to

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        if server_round == SWAP_ROUND:
            self.public_context = self.swap_to
            self.context_sha256 = context_fingerprint(self.swap_to)
            self.context_holders.clear()
        return super().configure_train(server_round, arrays, config, grid)


def _server_app(keys: KeyMaterial, swap_to: bytes, wallet: str, found: list[Any]) -> ServerApp:
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        strategy = _SwappingFedAvg(
            swap_to=swap_to,
            public_context=keys.public_context,
            task_id="task-context-simulation",
            key_holder_wallet=wallet,
            min_decrypt_inputs=3,
            fraction_evaluate=0.0,
            min_train_nodes=NUM_NODES,
            min_available_nodes=NUM_NODES,
        )
        result = strategy.start(
            grid=grid, initial_arrays=make_model(SHAPES, seed=0), num_rounds=ROUNDS, timeout=120
        )
        found.extend([strategy, result])

    return app


@pytest.fixture(scope="module")
def simulated_run(
    ckks_keys: KeyMaterial, other_ckks_keys: KeyMaterial, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[list[dict[str, Any]], _SwappingFedAvg, Result]]:
    log_path = tmp_path_factory.mktemp("context-once") / "train.jsonl"
    wallet = Wallet.generate()
    sealed = seal_to_wallet(ckks_keys.secret_context, wallet.address)
    found: list[Any] = []
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        patch.setenv("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
        # Simulation workers import this module by name.
        patch.setenv("PYTHONPATH", os.pathsep.join([REPO_ROOT, os.environ.get("PYTHONPATH", "")]))
        warnings.simplefilter("ignore", DeprecationWarning)
        run_simulation(
            server_app=_server_app(
                ckks_keys, other_ckks_keys.public_context, wallet.address, found
            ),
            client_app=_client_app(log_path, sealed, wallet.keypair_bytes()),
            num_supernodes=NUM_NODES,
            backend_config={
                "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
                "init_args": {"logging_level": "ERROR", "log_to_driver": False},
            },
        )
    assert len(found) == 2, "the ServerApp did not finish"
    entries = [json.loads(line) for line in log_path.read_text().splitlines()]
    yield entries, found[0], found[1]


def _by_round(entries: list[dict[str, Any]], server_round: int) -> dict[int, dict[str, Any]]:
    return {e["partition"]: e for e in entries if e["round"] == server_round}


@pytest.mark.slow
def test_only_a_nodes_first_train_message_carries_the_context(
    simulated_run: Any, ckks_keys: KeyMaterial
) -> None:
    entries, _, _ = simulated_run
    first, second = _by_round(entries, 1), _by_round(entries, 2)
    assert sorted(first) == sorted(second) == list(range(NUM_NODES))
    assert all(e["context_sent"] for e in first.values())
    assert not any(e["context_sent"] for e in second.values())
    for partition in range(NUM_NODES):
        saved = first[partition]["message_bytes"] - second[partition]["message_bytes"]
        assert saved >= len(ckks_keys.public_context)


@pytest.mark.slow
def test_nodes_encrypt_correctly_under_the_held_context(simulated_run: Any) -> None:
    _, strategy, result = simulated_run
    # Rounds 1 and 3 average all four nodes, round 2 the three that held the context.
    expected = make_model(SHAPES, seed=0)
    for partitions in ([0, 1, 2, 3], [0, 1, 3], [0, 1, 2, 3]):
        weights = [_examples(p) for p in partitions]
        step = sum(w * _delta(p) for w, p in zip(weights, partitions, strict=True)) / sum(weights)
        expected = ArrayRecord(
            {k: Array(a.numpy() + np.float32(step)) for k, a in expected.items()}
        )
    assert [len(strategy.manifests[r].commitments) for r in (1, 2, 3)] == [4, 3, 4]
    for key, array in expected.items():
        assert np.max(np.abs(result.arrays[key].numpy() - array.numpy())) < 1e-5


@pytest.mark.slow
def test_node_with_lost_state_asks_again_and_recovers(simulated_run: Any) -> None:
    entries, _, _ = simulated_run
    second, third = _by_round(entries, 2), _by_round(entries, 3)
    assert "holds no public context" in second[RESTARTED_PARTITION]["error"]
    assert {p: e["context_sent"] for p, e in third.items()} == {
        p: p == RESTARTED_PARTITION for p in range(NUM_NODES)
    }
    assert all(e["error"] == "" for e in third.values())


@pytest.mark.slow
def test_nodes_refuse_a_context_swapped_mid_run(simulated_run: Any) -> None:
    entries, strategy, _ = simulated_run
    swapped = _by_round(entries, SWAP_ROUND)
    assert sorted(swapped) == list(range(NUM_NODES))
    assert all(e["context_sent"] for e in swapped.values())
    assert all("mid-run" in e["error"] for e in swapped.values())
    assert SWAP_ROUND in strategy.skipped
