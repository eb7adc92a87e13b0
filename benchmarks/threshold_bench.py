"""Threshold CKKS benchmark: a 3-of-5 committee (Lattigo) against TenSEAL's single key.

For 100k and 1M values, in one run on this machine, records for the threshold engine
(``strategy.threshold``): bytes per value of an encrypted vector, encryption time per 1M
values, the time of one member's decryption share (median over the decrypting members)
and its bytes, the aggregator's time to add ten encrypted updates and to combine the
shares into the decrypted sum, and the maximum error of that sum against the float64
sum; and for TenSEAL's current encryption (``strategy.ckks.generate_keys`` aggregation
keys, ``strategy.packing.ComplexPacking``, two reals per slot) the bytes per value and
encryption time of the same vector. Key generation (per member, and the aggregation of
the public key) and message sizes are recorded once. Timings are medians of
``--repeats`` runs, single-threaded calls on a shared machine.

Writes ``benchmarks/results/threshold.json`` and ``.md``.

Usage: ``python benchmarks/threshold_bench.py [--quick] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from strategy.ckks import generate_keys, load_public_context
from strategy.packing import packing_for
from strategy.threshold import (
    CommitteeConfig,
    CommitteeMember,
    aggregate_public_key,
    combine,
    encrypt,
    parameters,
    sum_vectors,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SIZE, THRESHOLD = 5, 3
DECRYPTING = [1, 3, 5]
NUM_UPDATES = 10
FLOAT32_BYTES = 4


def timed(fn: Callable[[], Any], repeats: int) -> tuple[dict[str, float], Any]:
    """Median wall and process CPU seconds of ``repeats`` calls, and the last result.

    CPU time counts this process's threads (the engine's Go threads included) and is the
    figure to compare when other work shares the cores.
    """
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus)}, result


def scaled(seconds: dict[str, float], factor: float) -> dict[str, float]:
    """Timings multiplied by ``factor`` (e.g. per 1M values)."""
    return {kind: value * factor for kind, value in seconds.items()}


def cell(seconds: dict[str, float], digits: int = 2) -> str:
    """A table cell "wall (cpu)"."""
    return f"{seconds['wall']:.{digits}f} ({seconds['cpu']:.{digits}f})"


def key_generation() -> tuple[list[CommitteeMember], bytes, dict[str, Any]]:
    """Run 3-of-5 distributed key generation and time each step."""
    config = CommitteeConfig(seed=b"threshold-bench-task", size=SIZE, threshold=THRESHOLD)
    members = [CommitteeMember(config, i) for i in range(1, SIZE + 1)]
    start = time.perf_counter()
    sent = [member.generate_key_shares() for member in members]
    generate_s = (time.perf_counter() - start) / SIZE
    start = time.perf_counter()
    for member in members:
        member.receive_shamir_shares([shares.shamir_shares[member.member] for shares in sent])
    receive_s = (time.perf_counter() - start) / SIZE
    start = time.perf_counter()
    public_key = aggregate_public_key(config, [shares.public_key_share for shares in sent])
    aggregate_s = time.perf_counter() - start
    stats = {
        "generate_key_shares_s_per_member": generate_s,
        "receive_shamir_shares_s_per_member": receive_s,
        "aggregate_public_key_s": aggregate_s,
        "public_key_share_bytes": len(sent[0].public_key_share),
        "shamir_share_bytes": len(sent[0].shamir_shares[1]),
        "public_key_bytes": len(public_key),
    }
    return members, public_key, stats


def bench_size(
    num_values: int, members: list[CommitteeMember], public_key: bytes, repeats: int
) -> dict[str, Any]:
    """Measure one vector size for both schemes."""
    rng = np.random.default_rng(num_values)
    updates = [
        rng.uniform(-1, 1, num_values).astype(np.float32).astype(np.float64)
        for _ in range(NUM_UPDATES)
    ]
    encrypt_s, first = timed(lambda: encrypt(public_key, updates[0]), repeats)
    ciphertexts = [first] + [encrypt(public_key, update) for update in updates[1:]]
    add_s, aggregate = timed(lambda: sum_vectors(ciphertexts), 1)
    share_times, shares = [], []
    for i in DECRYPTING:
        member = members[i - 1]
        seconds, share = timed(
            partial(member.decryption_share, public_key, aggregate, DECRYPTING), repeats
        )
        share_times.append(seconds)
        shares.append(share)
    share_s = {
        kind: statistics.median(times[kind] for times in share_times) for kind in ("wall", "cpu")
    }
    combine_s, decrypted = timed(lambda: combine(aggregate, shares, THRESHOLD), repeats)
    max_error = float(np.abs(decrypted - np.sum(updates, axis=0)).max())

    context = load_public_context(generate_keys().public_context)
    packing = packing_for(context)
    tenseal_s, chunks = timed(lambda: packing.encrypt(updates[0]), repeats)
    tenseal_bytes = sum(len(chunk) for chunk in chunks)

    per_million = 1e6 / num_values
    return {
        "num_values": num_values,
        "threshold": {
            "bytes_per_value": len(first) / num_values,
            "float32_ratio": len(first) / num_values / FLOAT32_BYTES,
            "encrypt_s_per_1m": scaled(encrypt_s, per_million),
            "decryption_share_s_per_member": share_s,
            "decryption_share_bytes_per_value": len(shares[0]) / num_values,
            "add_s_for_10_updates": add_s,
            "combine_s": combine_s,
            "max_error_sum_of_10": max_error,
        },
        "tenseal": {
            "bytes_per_value": tenseal_bytes / num_values,
            "float32_ratio": tenseal_bytes / num_values / FLOAT32_BYTES,
            "encrypt_s_per_1m": scaled(tenseal_s, per_million),
        },
    }


def write_results(results: dict[str, Any]) -> None:
    """Write threshold.json and threshold.md."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "threshold.json").write_text(json.dumps(results, indent=2) + "\n")
    keygen = results["key_generation"]
    lines = [
        "# Threshold CKKS benchmark",
        "",
        f"{THRESHOLD}-of-{SIZE} committee, parameters `{results['parameters']['name']}` "
        f"(conjugate-invariant ring, N = 4096 real slots, one {results['parameters']['log_qp']:.0f}"
        f"-bit modulus, scale 2^{results['parameters']['log_scale']}, flooding sigma "
        f"2^{results['parameters']['smudging_log_sigma']}), {results['machine']}. Medians of "
        f"{results['repeats']} runs; times are wall seconds with process CPU seconds in "
        f"parentheses (load average {results['load_average']:.1f} at the start). Error: "
        "the combined decryption of the sum of "
        f"{NUM_UPDATES} updates in [-1, 1] against their float64 sum. TenSEAL: the current "
        "single-key encryption (aggregation keys, two reals per slot) of the same vector.",
        "",
        "| values | scheme | bytes/value | vs float32 | encrypt s per 1M | "
        "decryption share s per member | share bytes/value | add 10 updates s | "
        "combine s | max error |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results["sizes"]:
        th, ts = row["threshold"], row["tenseal"]
        lines.append(
            f"| {row['num_values']:,} | threshold 3-of-5 | {th['bytes_per_value']:.2f} | "
            f"{th['float32_ratio']:.2f}x | {cell(th['encrypt_s_per_1m'])} | "
            f"{cell(th['decryption_share_s_per_member'], 3)} | "
            f"{th['decryption_share_bytes_per_value']:.2f} | "
            f"{cell(th['add_s_for_10_updates'], 3)} | "
            f"{cell(th['combine_s'], 3)} | {th['max_error_sum_of_10']:.1e} |"
        )
        lines.append(
            f"| {row['num_values']:,} | TenSEAL single key | {ts['bytes_per_value']:.2f} | "
            f"{ts['float32_ratio']:.2f}x | {cell(ts['encrypt_s_per_1m'])} | - | - | - | - | - |"
        )
    lines += [
        "",
        "Key generation, per member: key shares "
        f"{keygen['generate_key_shares_s_per_member']:.3f} s, threshold secret "
        f"{keygen['receive_shamir_shares_s_per_member']:.3f} s; public key "
        f"{keygen['aggregate_public_key_s']:.3f} s. Messages: public-key share "
        f"{keygen['public_key_share_bytes']:,} B, Shamir share {keygen['shamir_share_bytes']:,} B "
        f"(one per member pair, sealed), public key {keygen['public_key_bytes']:,} B.",
        "",
    ]
    (RESULTS_DIR / "threshold.md").write_text("\n".join(lines))


def main() -> None:
    """Run the benchmark and write its results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k values only")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing (median)")
    args = parser.parse_args()
    members, public_key, keygen = key_generation()
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "repeats": args.repeats,
        "load_average": os.getloadavg()[0],
        "parameters": parameters(),
        "key_generation": keygen,
        "sizes": [bench_size(size, members, public_key, args.repeats) for size in sizes],
    }
    write_results(results)
    print((RESULTS_DIR / "threshold.md").read_text())


if __name__ == "__main__":
    main()
