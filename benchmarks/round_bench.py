"""Round benchmark: plaintext FedAvg vs CKKS EncryptedFedAvg vs Flower SecAgg+.

Runs 10 simulated participants on Flower's Simulation Engine, in this process and on
this machine, for models of 100k and 1M float32 parameters, and records per mode:

* bytes per participant per round: the serialized (protobuf) train replies a
  participant sends in a round, summed over all protocol stages (SecAgg+ has four);
* round time: median wall time of the rounds after the first (warm-up) round;

with ratios against plaintext FedAvg. Writes ``benchmarks/results/round_time.json``
and ``.md``.

SecAgg+: flwr 1.41 offers it only through the legacy ``SecAggPlusWorkflow`` (a
``DefaultWorkflow`` with ``LegacyContext`` and the legacy ``FedAvg``) and
``secaggplus_mod`` on a ``client_fn`` ClientApp; the message-API strategies have no
SecAgg+ variant, so that is the baseline used here.

Usage: ``python benchmarks/round_bench.py [--quick] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.client import NumPyClient
from flwr.client.mod import secaggplus_mod
from flwr.clientapp import ClientApp
from flwr.clientapp.typing import ClientAppCallable
from flwr.common import ndarrays_to_parameters
from flwr.common.serde import recorddict_to_proto
from flwr.server import LegacyContext, ServerConfig
from flwr.server.strategy import FedAvg as LegacyFedAvg
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg
from flwr.simulation import run_simulation

from strategy import EncryptedFedAvg, KeyHolder, Wallet, ckks_mod, register_key_holder
from strategy.decrypt_request import DecryptRequest

NUM_PARTICIPANTS = 10
RESULTS_DIR = Path(__file__).resolve().parent / "results"
MODES = ("plaintext", "ckks", "secaggplus")


def initial_arrays(num_params: int) -> list[np.ndarray]:
    """A model of ``num_params`` float32 values in a few layers."""
    rng = np.random.default_rng(0)
    sizes = [num_params // 2, num_params // 4, num_params - num_params // 2 - num_params // 4]
    return [rng.normal(0, 0.1, size).astype(np.float32) for size in sizes]


def local_update(arrays: list[np.ndarray], partition_id: int) -> tuple[list[np.ndarray], int]:
    """Cheap stand-in for local training: a small deterministic step."""
    rng = np.random.default_rng(partition_id)
    updated = [(a + rng.normal(0, 0.01, a.shape)).astype(np.float32) for a in arrays]
    return updated, 50 + 10 * partition_id


def reply_size_mod(log_path: Path) -> Callable[[Message, Context, ClientAppCallable], Message]:
    """Outermost mod: append the serialized size of every train reply to ``log_path``."""

    def mod(msg: Message, context: Context, call_next: ClientAppCallable) -> Message:
        reply = call_next(msg, context)
        if msg.metadata.message_type.startswith("train") and not reply.has_error():
            size = recorddict_to_proto(reply.content).ByteSize()
            with log_path.open("a", encoding="utf-8") as log_file:
                log_file.write(json.dumps({"node": context.node_id, "bytes": size}) + "\n")
        return reply

    return mod


def message_client_app(mods: list[Any], key_dir: Path | None) -> ClientApp:
    """Quickstart-shaped ClientApp; with ``key_dir`` partition 0 is the key holder."""
    app = ClientApp(mods=mods)

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        arrays = [a.numpy() for a in msg.content["arrays"].values()]  # type: ignore[union-attr]
        updated, num_examples = local_update(arrays, int(context.node_config["partition-id"]))
        record = ArrayRecord({str(i): Array(a) for i, a in enumerate(updated)})
        metrics = MetricRecord({"num-examples": num_examples})
        return Message(RecordDict({"arrays": record, "metrics": metrics}), reply_to=msg)

    if key_dir is not None:

        def load(context: Context) -> KeyHolder | None:
            if int(context.node_config["partition-id"]) != 0:
                return None
            wallet = Wallet.from_keypair_bytes((key_dir / "wallet.bin").read_bytes())
            sealed = (key_dir / "secret.sealed").read_bytes()
            return KeyHolder.from_sealed(sealed, wallet, min_inputs=3)

        register_key_holder(app, load)
    return app


class _SecAggClient(NumPyClient):
    def __init__(self, partition_id: int) -> None:
        self.partition_id = partition_id

    def fit(self, parameters, config):  # type: ignore[no-untyped-def]
        updated, num_examples = local_update(parameters, self.partition_id)
        return updated, num_examples, {}


def secagg_client_app(mods: list[Any]) -> ClientApp:
    """Legacy ClientApp with ``secaggplus_mod``."""

    def client_fn(context: Context):  # type: ignore[no-untyped-def]
        return _SecAggClient(int(context.node_config["partition-id"])).to_client()

    return ClientApp(client_fn=client_fn, mods=mods)


class _RecordingEncryptedFedAvg(EncryptedFedAvg):
    """Also records the size of the request the aggregator sends the key holder."""

    request_bytes: list[int]

    def _request_decryption(self, request: DecryptRequest) -> np.ndarray:
        self.request_bytes.append(recorddict_to_proto(request.to_recorddict()).ByteSize())
        return super()._request_decryption(request)


def message_server_app(
    mode: str, num_params: int, rounds: int, stamps: list[float], key_dir: Path, extra: dict
) -> ServerApp:
    """ServerApp running FedAvg or EncryptedFedAvg, time-stamping every round."""
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        common = {
            "fraction_evaluate": 0.0,
            "min_train_nodes": NUM_PARTICIPANTS,
            "min_available_nodes": NUM_PARTICIPANTS,
        }
        strategy: FedAvg
        if mode == "ckks":
            strategy = _RecordingEncryptedFedAvg(
                public_context=(key_dir / "public.bin").read_bytes(),
                task_id="bench",
                key_holder_wallet=(key_dir / "address.txt").read_text(),
                min_decrypt_inputs=3,
                weight_scale=0.01,
                **common,
            )
            strategy.request_bytes = extra.setdefault("key_holder_request_bytes", [])
        else:
            strategy = FedAvg(**common)
        arrays = ArrayRecord({str(i): Array(a) for i, a in enumerate(initial_arrays(num_params))})

        def stamp(server_round: int, _: ArrayRecord) -> None:
            stamps.append(time.perf_counter())

        strategy.start(grid, arrays, num_rounds=rounds, timeout=1800, evaluate_fn=stamp)

    return app


def secagg_server_app(num_params: int, rounds: int, stamps: list[float]) -> ServerApp:
    """Legacy ServerApp: FedAvg under SecAgg+ (num_shares 5, threshold 3)."""
    app = ServerApp()

    def evaluate_fn(server_round, parameters, config):  # type: ignore[no-untyped-def]
        stamps.append(time.perf_counter())

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        strategy = LegacyFedAvg(
            fraction_fit=1.0,
            fraction_evaluate=0.0,
            min_fit_clients=NUM_PARTICIPANTS,
            min_available_clients=NUM_PARTICIPANTS,
            initial_parameters=ndarrays_to_parameters(initial_arrays(num_params)),
            evaluate_fn=evaluate_fn,
        )
        legacy = LegacyContext(
            context=context, config=ServerConfig(num_rounds=rounds), strategy=strategy
        )
        workflow = DefaultWorkflow(
            fit_workflow=SecAggPlusWorkflow(num_shares=5, reconstruction_threshold=3, timeout=1800)
        )
        workflow(grid, legacy)

    return app


def make_key_dir(key_dir: Path) -> None:
    """Keys for the CKKS mode: the server side sees only public.bin and address.txt."""
    from strategy import generate_keys, seal_to_wallet

    wallet = Wallet.generate()
    keys = generate_keys()
    (key_dir / "public.bin").write_bytes(keys.public_context)
    (key_dir / "secret.sealed").write_bytes(seal_to_wallet(keys.secret_context, wallet.address))
    (key_dir / "wallet.bin").write_bytes(wallet.keypair_bytes())
    (key_dir / "address.txt").write_text(wallet.address)


def run_mode(mode: str, num_params: int, rounds: int, work_dir: Path) -> dict[str, Any]:
    """Run one mode and return its measurements."""
    log_path = work_dir / f"{mode}-{num_params}.jsonl"
    log_path.unlink(missing_ok=True)
    stamps: list[float] = []
    extra: dict[str, Any] = {}
    size_mod = reply_size_mod(log_path)
    if mode == "secaggplus":
        server_app = secagg_server_app(num_params, rounds, stamps)
        client_app = secagg_client_app([size_mod, secaggplus_mod])
    else:
        key_dir = work_dir / "keys"
        mods = [size_mod, ckks_mod] if mode == "ckks" else [size_mod]
        server_app = message_server_app(mode, num_params, rounds, stamps, key_dir, extra)
        client_app = message_client_app(mods, key_dir if mode == "ckks" else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        run_simulation(
            server_app=server_app,
            client_app=client_app,
            num_supernodes=NUM_PARTICIPANTS,
            backend_config={
                "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
                "init_args": {"logging_level": "ERROR", "log_to_driver": False},
            },
        )
    # stamps[0] is taken before round 1, stamps[r] after round r.
    if len(stamps) != rounds + 1:
        raise RuntimeError(f"{mode} at {num_params} finished {len(stamps) - 1}/{rounds} rounds")
    round_times = [b - a for a, b in itertools.pairwise(stamps)]
    sizes = [json.loads(line)["bytes"] for line in log_path.read_text().splitlines()]
    result = {
        "round_times_s": round_times,
        "median_round_time_s": statistics.median(round_times[1:] or round_times),
        "bytes_per_participant_per_round": sum(sizes) / (NUM_PARTICIPANTS * rounds),
    }
    if extra.get("key_holder_request_bytes"):
        result["key_holder_request_bytes_per_round"] = statistics.median(
            extra["key_holder_request_bytes"]
        )
    return result


def write_results(results: dict[str, Any]) -> None:
    """Write round_time.json and round_time.md."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "round_time.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Round benchmark",
        "",
        f"{NUM_PARTICIPANTS} participants, Simulation Engine, {results['machine']}. "
        f"Median round time over rounds 2..{results['rounds']}; bytes are serialized "
        "train replies per participant per round. Ratios are against plaintext FedAvg.",
        "",
        "| params | mode | bytes/participant/round | bytes ratio | round time (s) | time ratio |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for size, modes in results["sizes"].items():
        for mode, row in modes.items():
            lines.append(
                f"| {size} | {mode} | {row['bytes_per_participant_per_round']:,.0f} | "
                f"{row['bytes_ratio']:.2f}x | {row['median_round_time_s']:.2f} | "
                f"{row['time_ratio']:.2f}x |"
            )
    lines.append("")
    for size, modes in results["sizes"].items():
        request = modes.get("ckks", {}).get("key_holder_request_bytes_per_round")
        if request:
            lines.append(
                f"- {size}: aggregator -> key holder decryption request "
                f"{request / 1e6:.1f} MB per round (all committed ciphertexts, for "
                "recomputation)."
            )
    (RESULTS_DIR / "round_time.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    """Parse arguments, run every mode and size, write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k parameters only")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per run (default 4)")
    args = parser.parse_args()
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    results: dict[str, Any] = {
        "participants": NUM_PARTICIPANTS,
        "rounds": args.rounds,
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
        "sizes": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        work_dir = Path(tmp)
        (work_dir / "keys").mkdir()
        make_key_dir(work_dir / "keys")
        for num_params in sizes:
            rows = {}
            for mode in MODES:
                print(f"== {mode} at {num_params:,} parameters", flush=True)
                rows[mode] = run_mode(mode, num_params, args.rounds, work_dir)
            plain = rows["plaintext"]
            for row in rows.values():
                row["bytes_ratio"] = (
                    row["bytes_per_participant_per_round"]
                    / plain["bytes_per_participant_per_round"]
                )
                row["time_ratio"] = row["median_round_time_s"] / plain["median_round_time_s"]
            results["sizes"][str(num_params)] = rows
            print(json.dumps(rows, indent=2), flush=True)
    write_results(results)


if __name__ == "__main__":
    main()
