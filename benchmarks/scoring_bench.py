"""Cost of contribution scoring: round time with and without it, and bytes per profile.

Runs breast_cancer with 6 simulated participants for 5 rounds on Flower's Simulation
Engine (``fl_app.simulation.run_federated``, default run settings otherwise) in three
configurations, each ``--repeats`` times, alternating:

* ``aggregation``: aggregation-only CKKS keys, no scoring (the previous default);
* ``scoring-keys``: scoring-profile keys, no scoring (isolates the larger ciphertexts);
* ``scoring``: scoring-profile keys and contribution scoring (reference training,
  commitment, the key holder's scalars).

Round time is the wall time between the ends of consecutive rounds (global evaluation
included), median over rounds 2-5 of every repeat. Bytes per reply are the protobuf size
of a signed ``ckks_mod`` train reply for this model and for a 100k-parameter MLP.
Writes ``benchmarks/results/scoring.json`` and ``.md``.

Usage: ``python benchmarks/scoring_bench.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.common.serde import recorddict_to_proto
from flwr.supercore.task_identity import TaskIdentity

from fl_app.keys import KeyFiles
from fl_app.run_report import RoundReport
from fl_app.simulation import Federation, run_federated
from strategy import ckks_mod, generate_keys
from strategy.ckks import (
    PROFILES,
    load_public_context,
    load_secret_context,
)
from strategy.constants import (
    CONFIG_CONTEXT,
    CONFIG_CONTEXT_SHA256,
    CONFIG_MAX_ABS,
    CONFIG_REFERENCE_SHA256,
    CONFIG_SERVER_ROUND,
    CONFIG_TASK_ID,
    CONFIG_WEIGHT_SCALE,
)
from strategy.encrypted_scalars import encrypted_scalars
from strategy.packing import packing_for

RESULTS = Path(__file__).resolve().parent / "results"
NUM_PARTICIPANTS = 6
NUM_ROUNDS = 5
CONFIGS = {
    "aggregation": (False, False),
    "scoring-keys": (True, False),
    "scoring": (True, True),
}
MODELS = {
    "breast_cancer MLP (1,118 values)": {
        "mean": (30,),
        "std": (30,),
        "w1": (32, 30),
        "b1": (32,),
        "w2": (2, 32),
        "b2": (2,),
    },
    "784-126-10 MLP (100,180 values)": {
        "w1": (784, 126),
        "b1": (126,),
        "w2": (126, 10),
        "b2": (10,),
    },
}


def round_times(scoring_keys: bool, scoring: bool) -> list[float]:
    """Wall seconds of rounds 2..N of one run."""
    ends: list[float] = []

    def on_round(report: RoundReport) -> None:
        ends.append(time.perf_counter())
        if scoring and report.server_round > 0:
            assert len(report.scalars) == NUM_PARTICIPANTS, report.scalars

    with tempfile.TemporaryDirectory() as directory:
        keys = KeyFiles.create(Path(directory), scoring=scoring_keys)
        run_federated(
            {
                "dataset": "breast_cancer",
                "num-server-rounds": NUM_ROUNDS,
                "min-nodes": NUM_PARTICIPANTS,
                "contribution-scoring": scoring,
            },
            federation=Federation(num_supernodes=NUM_PARTICIPANTS, keys=keys),
            on_round=on_round,
        )
    return [b - a for a, b in itertools.pairwise(ends[1:])]


def reply_bytes(profile: str, shapes: dict[str, tuple[int, ...]]) -> dict[str, float]:
    """Protobuf bytes of an encrypted train reply, and its ratio to float32."""
    keys = generate_keys(profile)
    rng = np.random.default_rng(0)
    model = ArrayRecord(
        {k: Array(rng.normal(0, 0.5, s).astype(np.float32)) for k, s in shapes.items()}
    )
    trained = ArrayRecord(
        {
            k: Array((a.numpy() + rng.normal(0, 0.01, a.numpy().shape)).astype(np.float32))
            for k, a in model.items()
        }
    )
    num_values = sum(a.numpy().size for a in model.values())
    config = ConfigRecord(
        {
            CONFIG_TASK_ID: "task-bench",
            CONFIG_CONTEXT: keys.public_context,
            CONFIG_CONTEXT_SHA256: keys.context_sha256,
            CONFIG_WEIGHT_SCALE: 0.01,
            CONFIG_MAX_ABS: 25.6,
            CONFIG_SERVER_ROUND: 1,
            CONFIG_REFERENCE_SHA256: "0" * 64,
        }
    )
    message = Message(
        RecordDict({"arrays": model, "config": config}), dst_node_id=5, message_type="train"
    )

    def train(msg: Message, ctxt: Context) -> Message:
        metrics = MetricRecord({"num-examples": 60})
        return Message(RecordDict({"arrays": trained, "metrics": metrics}), reply_to=msg)

    reply = ckks_mod(message, Context(1, 5, {}, RecordDict(), {}), train)
    size = recorddict_to_proto(reply.content).ByteSize()
    return {
        "num_values": num_values,
        "reply_bytes": size,
        "bytes_per_value": size / num_values,
        "ratio_to_float32": size / (4 * num_values),
        "public_context_bytes": len(keys.public_context),
        "secret_context_bytes": len(keys.secret_context),
    }


def key_holder_score_seconds(num_values: int, participants: int = NUM_PARTICIPANTS) -> float:
    """Seconds the key holder spends evaluating and decrypting one round's scalars."""
    keys = generate_keys("scoring")
    public = load_public_context(keys.public_context)
    context = load_secret_context(keys.secret_context)
    context.auto_rescale = False
    rng = np.random.default_rng(1)
    reference = rng.normal(0, 0.05, num_values)
    chunks = [
        packing_for(public).encrypt(rng.normal(0, 0.02, num_values)) for _ in range(participants)
    ]
    started = time.perf_counter()
    for update in chunks:
        inner, square = encrypted_scalars(packing_for(context).load(update, num_values), reference)
        inner.decrypt()
        square.decrypt()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    TaskIdentity.run_id, TaskIdentity.node_id, TaskIdentity.task_id = 1, 0, 1

    times: dict[str, list[float]] = {name: [] for name in CONFIGS}
    for _ in range(args.repeats):
        for name, (scoring_keys, scoring) in CONFIGS.items():
            times[name].extend(round_times(scoring_keys, scoring))
    medians = {name: statistics.median(values) for name, values in times.items()}
    sizes = {
        profile: {model: reply_bytes(profile, shapes) for model, shapes in MODELS.items()}
        for profile in PROFILES
    }
    score_seconds = {
        model: key_holder_score_seconds(int(sizes["scoring"][model]["num_values"]))
        for model in MODELS
    }
    result: dict[str, Any] = {
        "machine": {"platform": platform.platform(), "processor": platform.processor()},
        "setup": {
            "dataset": "breast_cancer",
            "participants": NUM_PARTICIPANTS,
            "rounds": NUM_ROUNDS,
            "repeats": args.repeats,
        },
        "round_seconds": {"median": medians, "all": times},
        "ratios": {
            "scoring_over_aggregation": medians["scoring"] / medians["aggregation"],
            "scoring_over_scoring_keys": medians["scoring"] / medians["scoring-keys"],
            "scoring_keys_over_aggregation": medians["scoring-keys"] / medians["aggregation"],
        },
        "reply_bytes": sizes,
        "key_holder_scores_seconds_per_round": score_seconds,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scoring.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "scoring.md").write_text(markdown(result))
    print(markdown(result))


def markdown(result: dict[str, Any]) -> str:
    setup, medians = result["setup"], result["round_seconds"]["median"]
    ratios = result["ratios"]
    lines = [
        "# Cost of contribution scoring",
        "",
        f"{setup['dataset']}, {setup['participants']} participants, {setup['rounds']} rounds, "
        f"{setup['repeats']} repeats per configuration, Simulation Engine, "
        f"`{result['machine']['platform']}`. Produced by `benchmarks/scoring_bench.py`.",
        "",
        "## Round time (median of rounds 2-5)",
        "",
        "| configuration | round time (s) | vs aggregation |",
        "|---|---:|---:|",
    ]
    for name, seconds in medians.items():
        lines.append(f"| {name} | {seconds:.2f} | {seconds / medians['aggregation']:.2f}x |")
    lines += [
        "",
        f"Scoring costs {ratios['scoring_over_aggregation']:.2f}x the round time of "
        f"aggregation-only CKKS ({ratios['scoring_keys_over_aggregation']:.2f}x from the "
        f"larger keys alone, {ratios['scoring_over_scoring_keys']:.2f}x from the scoring "
        "work: reference training, a second key-holder request, scalar evaluation).",
        "",
        "## Bytes per encrypted train reply",
        "",
        "| profile | model | bytes | B/value | x float32 | public context | secret context |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for profile, models in result["reply_bytes"].items():
        for model, s in models.items():
            lines.append(
                f"| {profile} | {model} | {s['reply_bytes']:,} | {s['bytes_per_value']:.1f} | "
                f"{s['ratio_to_float32']:.2f} | {s['public_context_bytes']:,} | "
                f"{s['secret_context_bytes']:,} |"
            )
    lines += ["", "## Key holder's scalar work per round (6 participants)", ""]
    for model, seconds in result["key_holder_scores_seconds_per_round"].items():
        lines.append(f"- {model}: {seconds:.2f} s")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
