"""Fairness benchmark: contribution scores vs exact Shapley values, with adversaries.

For each data set and seed, runs the acceptance scenario of ``fl_app.fairness`` (8
honest participants with different data sizes and label-noise rates, a free-rider that
returns the global model unchanged while claiming twice the largest honest example
count, a label-flipper), plaintext FedAvg for 6 rounds of a ~1k-parameter MLP, scores
it with ``strategy.contribution`` from the scalars the key holder would decrypt, and
computes exact per-round Shapley values (2^10 coalitions per round, utility = negative
test loss). Records per seed: every participant's reward share and Shapley share, the
free-rider's reward over the mean honest reward, the label-flipper's margin below the
lowest honest reward, and Spearman(honest scores, honest Shapley); also Spearman against
accuracy-utility Shapley and two baselines (accumulated ReLU cosine to the aggregate,
CGSV-style; to the reference update, FLTrust-style). Writes
``benchmarks/results/fairness.json`` and ``.md``.

Usage: ``python benchmarks/fairness.py [--seeds N] [--datasets breast_cancer digits]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from fl_app.fairness import SeedResult, evaluate_seed

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def summarise(runs: list[SeedResult]) -> dict[str, float]:
    """Worst and mean of each acceptance measure over the seeds of one data set."""
    rho = [r.spearman for r in runs]
    return {
        "seeds": len(runs),
        "spearman_min": min(rho),
        "spearman_mean": statistics.fmean(rho),
        "seeds_spearman_at_least_0_9": sum(v >= 0.9 for v in rho),
        "free_rider_ratio_max": max(r.free_rider_ratio for r in runs),
        "flipper_margin_min": min(r.flipper_margin for r in runs),
        "spearman_accuracy_shapley_mean": statistics.fmean(
            r.spearman_accuracy_shapley for r in runs
        ),
        "baseline_cos_aggregate_spearman_mean": statistics.fmean(
            r.baseline_spearman["cos_aggregate"] for r in runs
        ),
        "baseline_cos_reference_spearman_mean": statistics.fmean(
            r.baseline_spearman["cos_reference"] for r in runs
        ),
        "final_accuracy_mean": statistics.fmean(r.final_accuracy for r in runs),
        "seconds_per_seed_mean": statistics.fmean(
            r.seconds_training + r.seconds_shapley for r in runs
        ),
    }


def write_results(results: dict[str, Any]) -> None:
    """Write fairness.json and fairness.md."""
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "fairness.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Fairness: contribution scores vs exact Shapley",
        "",
        f"{results['machine']}; {results['seconds']:.0f} s in all. Scenario, formula and "
        "measures: `benchmarks/fairness.py`, `strategy/contribution.py`.",
        "",
        "| data set | seeds | Spearman min | mean | seeds >= 0.9 | free-rider / mean honest "
        "(max) | flipper margin (min) | Spearman vs acc. Shapley | CGSV cos | FLTrust cos |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in results["summary"].items():
        lines.append(
            f"| {name} | {s['seeds']} | {s['spearman_min']:.2f} | {s['spearman_mean']:.2f} | "
            f"{s['seeds_spearman_at_least_0_9']} | {s['free_rider_ratio_max']:.3f} | "
            f"{s['flipper_margin_min']:.3f} | {s['spearman_accuracy_shapley_mean']:.2f} | "
            f"{s['baseline_cos_aggregate_spearman_mean']:.2f} | "
            f"{s['baseline_cos_reference_spearman_mean']:.2f} |"
        )
    lines += [
        "",
        "Flipper margin: (lowest honest reward - label-flipper reward) / mean honest reward. "
        "CGSV / FLTrust cos: mean Spearman of accumulated ReLU cosine to the aggregate / to "
        "the reference update alone (baselines, not used for rewards).",
        "",
        "## Per seed",
        "",
        "| data set | seed | Spearman | free-rider ratio | flipper margin | test acc. |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results["runs"]:
        lines.append(
            f"| {r['dataset']} | {r['seed']} | {r['spearman']:.2f} | "
            f"{r['free_rider_ratio']:.3f} | {r['flipper_margin']:.3f} | "
            f"{r['final_accuracy']:.3f} |"
        )
    lines += ["", "## Reward share vs Shapley share (seed 0)", ""]
    for r in results["runs"]:
        if r["seed"] != 0:
            continue
        lines += [
            f"**{r['dataset']}**",
            "",
            "| participant | reward | Shapley |",
            "|---|---:|---:|",
        ]
        for name, score, shap in zip(r["names"], r["score_share"], r["shapley_share"], strict=True):
            lines.append(f"| {name} | {score:.4f} | {shap:+.4f} |")
        lines.append("")
    (RESULTS_DIR / "fairness.md").write_text("\n".join(lines))


def main() -> None:
    """Parse arguments, evaluate every seed of every data set, write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8, help="seeds 0..N-1 per data set")
    parser.add_argument("--datasets", nargs="+", default=["breast_cancer", "digits"])
    args = parser.parse_args()

    started = time.perf_counter()
    runs: dict[str, list[SeedResult]] = {}
    for name in args.datasets:
        for seed in range(args.seeds):
            result = evaluate_seed(name, seed)
            runs.setdefault(name, []).append(result)
            print(
                f"{name} seed {seed}: spearman {result.spearman:.2f}, free-rider "
                f"{result.free_rider_ratio:.3f}, flipper margin {result.flipper_margin:.3f}"
            )
    results = {
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "seconds": time.perf_counter() - started,
        "summary": {name: summarise(rs) for name, rs in runs.items()},
        "runs": [dataclasses.asdict(r) for rs in runs.values() for r in rs],
    }
    write_results(results)


if __name__ == "__main__":
    main()
