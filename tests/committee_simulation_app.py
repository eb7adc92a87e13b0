"""A Flower app whose updates a 3-of-5 committee of its participants decrypts, for the
Simulation Engine test (tests/test_threshold_simulation.py).

Participants are partitions 0..5; partitions 0..4 form the committee. Each one's wallet
is a keypair file in ``$COMMITTEE_APP_DIR/wallets`` and each member keeps its store in
``$COMMITTEE_APP_DIR/members``: the Simulation Engine gives nodes no config of their own.
Local training returns a fixed perturbation of the global model, so the expected FedAvg
is known.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import Result
from flwr.serverapp.strategy.strategy_utils import sample_nodes

from strategy import EncryptedFedAvg, Wallet, signing_ckks_mod
from strategy.ckks import flatten_arrays
from strategy.threshold import CommitteeConfig
from strategy.threshold.committee_client import Committee, find_members, generate_key
from strategy.threshold.member_app import MemberSetup, register_committee_member

APP_DIR_ENV = "COMMITTEE_APP_DIR"
NUM_NODES = 6
MEMBERS = 5
THRESHOLD = 3
SHAPES = {"w": (40, 130), "b": (130,)}  # 5330 values: two ciphertexts
TIMEOUT = 600.0


def app_dir() -> Path:
    return Path(os.environ[APP_DIR_ENV])


def wallet_of(partition: int) -> Wallet:
    return Wallet.from_keypair_file(app_dir() / "wallets" / f"{partition}.json")


def write_wallets(directory: Path) -> list[str]:
    """Make every participant's wallet; return their addresses by partition."""
    (directory / "wallets").mkdir(parents=True)
    addresses = []
    for partition in range(NUM_NODES):
        wallet = Wallet.generate()
        (directory / "wallets" / f"{partition}.json").write_text(
            "[" + ",".join(str(b) for b in wallet.keypair_bytes()) + "]"
        )
        addresses.append(wallet.address)
    return addresses


def global_model() -> ArrayRecord:
    rng = np.random.default_rng(0)
    return ArrayRecord(
        {
            name: Array(rng.normal(0, 0.5, shape).astype(np.float32))
            for name, shape in SHAPES.items()
        }
    )


def local_model(partition: int) -> ArrayRecord:
    rng = np.random.default_rng(100 + partition)
    return ArrayRecord(
        {
            name: Array(
                (array.numpy() + rng.normal(0, 0.05, array.numpy().shape)).astype(np.float32)
            )
            for name, array in global_model().items()
        }
    )


def num_examples(partition: int) -> int:
    return 10 + 7 * partition


def expected_fedavg(partitions: list[int]) -> np.ndarray:
    weights = np.array([num_examples(p) for p in partitions], dtype=np.float64)
    locals_ = np.stack([flatten_arrays(local_model(p)) for p in partitions])
    return weights @ locals_ / weights.sum()


def _partition(context: Context) -> int:
    return int(context.node_config["partition-id"])


def _member(context: Context) -> MemberSetup | None:
    partition = _partition(context)
    if partition >= MEMBERS:
        return None
    staked = frozenset(wallet_of(p).address for p in range(NUM_NODES))
    return MemberSetup(wallet_of(partition), app_dir() / "members" / str(partition), 3, staked)


client_app = ClientApp(mods=[signing_ckks_mod(lambda context: wallet_of(_partition(context)))])
register_committee_member(client_app, _member)


@client_app.train()
def train(msg: Message, context: Context) -> Message:
    partition = _partition(context)
    metrics = MetricRecord({"num-examples": num_examples(partition)})
    return Message(RecordDict({"arrays": local_model(partition), "metrics": metrics}), reply_to=msg)


def make_server_app(
    task_id: str, rounds: int, on_result: Callable[[Result, EncryptedFedAvg], None]
) -> ServerApp:
    """The organisation's side: find the committee, run its key generation, aggregate."""
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        member_wallets = tuple(wallet_of(p).address for p in range(MEMBERS))
        sample_nodes(grid, NUM_NODES, sample_size=0)  # wait for every node
        nodes = find_members(grid, member_wallets, TIMEOUT)
        config = CommitteeConfig(seed=task_id.encode(), size=MEMBERS, threshold=THRESHOLD)
        public_key, committee = generate_key(
            grid, Committee(config, member_wallets, nodes), TIMEOUT
        )
        strategy = EncryptedFedAvg(
            public_context=public_key,
            committee=committee,
            task_id=task_id,
            min_decrypt_inputs=3,
            fraction_evaluate=0.0,
            min_available_nodes=NUM_NODES,
        )
        result = strategy.start(
            grid=grid,
            initial_arrays=global_model(),
            train_config=ConfigRecord(),
            num_rounds=rounds,
        )
        on_result(result, strategy)

    return app
