"""Traffic benchmark: bytes per round between server and participants, small models.

Runs the demo's task (breast cancer, the task's client bundle, real local training) on
Flower's Simulation Engine for a few rounds and meters every message a participant
receives and every reply it sends, serialized as protobuf (metadata and content, what
crosses the wire). Modes, in the same run:

* ``plaintext``: FedAvg, the baseline;
* ``ckks ..., context every round``: EncryptedFedAvg sending the public CKKS context in
  every train message (what it did before it sent it once per node and run);
* ``ckks ...``: EncryptedFedAvg as it is: the context in a node's first train message
  only;

each CKKS mode with the aggregation-only keys (contribution scoring off) and with the
scoring keys (one multiplication: a larger context and one real per slot).

Train traffic is reported per participant and round, split into round 1 and the later
rounds; the key holder's decryption requests and replies are reported on their own
(they go to one node and carry every committed ciphertext). Writes
``benchmarks/results/traffic.json`` and ``.md``.

Usage: ``python benchmarks/traffic_bench.py [--rounds N] [--participants N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from flwr.app import ArrayRecord, ConfigRecord, Context, Message
from flwr.clientapp import ClientApp
from flwr.common.serde import message_to_proto
from flwr.serverapp import Grid

from fl_app.client.bundle_app import BundleClient, template_client
from fl_app.server import server_app
from fl_app.simulation import Federation, run_federated
from strategy import EncryptedFedAvg

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DATASET = "breast_cancer"
PLAINTEXT = "plaintext"


@dataclass(frozen=True)
class Mode:
    """One way of running the task."""

    name: str
    aggregation: str
    scoring: bool = False
    context_every_round: bool = False


MODES = (
    Mode(PLAINTEXT, "plain"),
    Mode("ckks aggregation keys, context every round", "ckks", context_every_round=True),
    Mode("ckks aggregation keys", "ckks"),
    Mode("ckks scoring keys, context every round", "ckks", True, context_every_round=True),
    Mode("ckks scoring keys", "ckks", True),
)


class _MeteredClientApp(ClientApp):
    """A participant's ClientApp that logs the size of each message and its reply."""

    def __init__(self, inner: ClientApp, log_path: Path) -> None:
        super().__init__()
        self.inner = inner
        self.log_path = log_path

    def __call__(self, message: Message, context: Context) -> Message:
        reply = self.inner(message, context)
        config = message.content.config_records.get("config")
        entry = {
            "type": message.metadata.message_type,
            "round": int(config.get("server-round", 0)) if config else 0,  # type: ignore[call-overload]
            "down": message_to_proto(message).ByteSize(),
            "up": message_to_proto(reply).ByteSize(),
        }
        with self.log_path.open("a", encoding="utf-8") as log_file:
            log_file.write(json.dumps(entry) + "\n")
        return reply


@dataclass(frozen=True)
class _MeteredBundle(BundleClient):
    log_path: Path = Path()

    def build(self, overrides: Any = None, **hooks: Any) -> ClientApp:
        return _MeteredClientApp(super().build(overrides, **hooks), self.log_path)


class _ContextEveryRound(EncryptedFedAvg):
    """EncryptedFedAvg as it was: every train message carries the public context."""

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        self.context_holders.clear()
        return super().configure_train(server_round, arrays, config, grid)


def run_mode(mode: Mode, rounds: int, participants: int, work_dir: Path) -> dict[str, Any]:
    """One run; returns its bytes per participant and round."""
    stem = mode.name.replace(" ", "_").replace(",", "")
    log_path = work_dir / f"{stem}.jsonl"
    bundle = template_client(work_dir / f"bundle-{stem}")
    metered = _MeteredBundle(bundle.sha256, bundle.module, bundle.directory, log_path)
    overrides = {
        "dataset": DATASET,
        "num-server-rounds": rounds,
        "aggregation": mode.aggregation,
        "contribution-scoring": mode.scoring,
        "min-nodes": participants,
        # The TenSEAL key holder's traffic (round_bench measures the committee's).
        "ckks-decryption": "key-holder",
    }
    federation = Federation(num_supernodes=participants, client=metered)
    strategy_class = _ContextEveryRound if mode.context_every_round else EncryptedFedAvg
    with mock.patch.object(server_app, "EncryptedFedAvg", strategy_class):
        report = run_federated(overrides, federation=federation)
    entries = [json.loads(line) for line in log_path.read_text().splitlines()]
    train = [e for e in entries if e["type"] == "train"]
    decrypt = [e for e in entries if e["type"].endswith("ckks_decrypt")]
    first = [e for e in train if e["round"] == 1]
    later = [e for e in train if e["round"] > 1]
    return {
        "num_values": report.rounds[0].plaintext_bytes // 4,
        "final_accuracy": report.final_accuracy,
        "train_down_round_1": statistics.mean(e["down"] for e in first),
        "train_up_round_1": statistics.mean(e["up"] for e in first),
        "train_down_later": statistics.mean(e["down"] for e in later),
        "train_up_later": statistics.mean(e["up"] for e in later),
        "train_bytes_per_participant_per_round": sum(e["down"] + e["up"] for e in train)
        / (participants * rounds),
        "key_holder_bytes_per_round": sum(e["down"] + e["up"] for e in decrypt) / rounds,
    }


def write_results(results: dict[str, Any]) -> None:
    """Write traffic.json and traffic.md."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "traffic.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Traffic benchmark",
        "",
        f"{results['participants']} participants, {results['rounds']} rounds, Simulation "
        f"Engine, {results['machine']}; the demo's task ({DATASET}). Bytes are "
        "serialized messages (metadata + content) per participant; 'down' is server -> "
        "participant, 'up' the reply. The ratio is train bytes (both directions, all "
        "rounds) against plaintext FedAvg.",
        "",
        "| values | mode | round 1 down | round 1 up | later rounds down | "
        "later rounds up | train bytes/participant/round | ratio | key holder bytes/round |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in results["modes"].items():
        lines.append(
            f"| {row['num_values']:,} | {name} | "
            f"{row['train_down_round_1']:,.0f} | {row['train_up_round_1']:,.0f} | "
            f"{row['train_down_later']:,.0f} | {row['train_up_later']:,.0f} | "
            f"{row['train_bytes_per_participant_per_round']:,.0f} | "
            f"{row['ratio']:.1f}x | {row['key_holder_bytes_per_round']:,.0f} |"
        )
    lines += [
        "",
        "The key holder's column is the decryption traffic of the one node that holds the "
        "key (requests carry every committed ciphertext of the round; two requests per "
        "scored round). 'values' counts the model's float32 values, buffers included.",
    ]
    (RESULTS_DIR / "traffic.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    """Parse arguments, run every data set and mode, write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per run (default 5)")
    parser.add_argument(
        "--participants", type=int, default=6, help="participants (default 6, the demo's)"
    )
    args = parser.parse_args()
    results: dict[str, Any] = {
        "participants": args.participants,
        "rounds": args.rounds,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "modes": {},
    }
    rows: dict[str, dict[str, Any]] = results["modes"]
    with tempfile.TemporaryDirectory() as tmp:
        for mode in MODES:
            print(f"== {mode.name}", flush=True)
            rows[mode.name] = run_mode(mode, args.rounds, args.participants, Path(tmp))
            print(json.dumps(rows[mode.name], indent=2), flush=True)
            plain = rows[PLAINTEXT]["train_bytes_per_participant_per_round"]
            for row in rows.values():
                row["ratio"] = row["train_bytes_per_participant_per_round"] / plain
            # After every mode, so that a long run's finished modes are kept.
            write_results(results)


if __name__ == "__main__":
    main()
