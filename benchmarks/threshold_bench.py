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

It also records what a committee member's check of one round's aggregate (the sum of the
ten updates) costs: the spot check of ``strategy.threshold.spot_check`` through a
``DecryptionGuard``, whose challenge draws one leaf in every polynomial plus 64 (the
default) or 256 more, against checking by recomputation (receiving the ten inputs, adding
them and comparing bytes). For each: the leaves opened, the bytes the member receives,
its time without the decryption share itself, the aggregator's time to build the inputs'
Merkle trees and open the challenge, a participant's time to compute its vector root,
and the chance that a falsified aggregate passes one member, all ``t`` of them, and any
``t`` of the ``n``.

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
from collections.abc import Callable, Sequence
from functools import partial
from math import comb
from pathlib import Path
from typing import Any, cast

import numpy as np

from strategy.ckks import generate_keys, load_public_context
from strategy.manifest import RoundManifest, UpdateCommitment
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
from strategy.threshold.decryption_guard import DecryptionGuard, SumRequest, key_fingerprint
from strategy.threshold.spot_check import (
    DEFAULT_SAMPLES,
    LEAF_BYTES,
    POLY_BYTES,
    Opening,
    VectorTree,
    leaf_count,
    miss_probability,
    vector_root,
)
from strategy.wallet import Wallet

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SIZE, THRESHOLD = 5, 3
TASK_ID = Wallet.generate().address
"""The task (a wallet address, as on chain): the committee's seed, and the task its
members check manifests against."""
DECRYPTING = [1, 3, 5]
NUM_UPDATES = 10
FLOAT32_BYTES = 4
MIN_INPUTS = 3  # k of the checking member's guard
CHALLENGE_SAMPLES = (DEFAULT_SAMPLES, 256)
LEAVES_PER_POLY = POLY_BYTES // LEAF_BYTES


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


def now() -> dict[str, float]:
    """The wall and process CPU clocks, for ``since``."""
    return {"wall": time.perf_counter(), "cpu": time.process_time()}


def since(start: dict[str, float]) -> dict[str, float]:
    """Wall and process CPU seconds elapsed since ``start`` (from ``now``)."""
    return {kind: value - start[kind] for kind, value in now().items()}


def median_of(runs: Sequence[dict[str, float]]) -> dict[str, float]:
    """Median wall and CPU seconds of several runs."""
    return {kind: statistics.median(run[kind] for run in runs) for kind in ("wall", "cpu")}


def ratio(baseline: dict[str, float], measured: dict[str, float]) -> dict[str, float]:
    """``baseline / measured`` for wall and CPU seconds."""
    return {kind: baseline[kind] / measured[kind] for kind in ("wall", "cpu")}


def scaled(seconds: dict[str, float], factor: float) -> dict[str, float]:
    """Timings multiplied by ``factor`` (e.g. per 1M values)."""
    return {kind: value * factor for kind, value in seconds.items()}


def cell(seconds: dict[str, float], digits: int = 2) -> str:
    """A table cell "wall (cpu)"."""
    return f"{seconds['wall']:.{digits}f} ({seconds['cpu']:.{digits}f})"


def key_generation() -> tuple[list[CommitteeMember], bytes, dict[str, Any]]:
    """Run 3-of-5 distributed key generation and time each step."""
    config = CommitteeConfig(seed=TASK_ID.encode(), size=SIZE, threshold=THRESHOLD)
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
    for member in members:  # each member computes the key it will decrypt under
        member.receive_public_key_shares([shares.public_key_share for shares in sent])
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
    share_s = median_of(share_times)
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
        "member_check": member_check(
            num_values, members[DECRYPTING[0] - 1], public_key, ciphertexts, aggregate, repeats
        ),
    }


class ShareClock:
    """A committee member whose decryption shares are timed.

    Stands in for the member inside a ``DecryptionGuard``, so that a release's checks can
    be timed without the share it ends with.

    Parameters
    ----------
    member : CommitteeMember
        The member, after key generation.
    """

    def __init__(self, member: CommitteeMember) -> None:
        self._member = member
        self.seconds = {"wall": 0.0, "cpu": 0.0}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._member, name)

    def decryption_share(
        self, public_key: bytes, ciphertext: bytes, decrypting: Sequence[int]
    ) -> bytes:
        """The member's share; its wall and CPU seconds are added to ``seconds``."""
        start = now()
        share = self._member.decryption_share(public_key, ciphertext, decrypting)
        for kind, value in since(start).items():
            self.seconds[kind] += value
        return share


def committed_round(
    num_values: int, public_key: bytes, trees: dict[int, VectorTree], aggregate: bytes
) -> tuple[SumRequest, frozenset[str]]:
    """The sum request of a round whose inputs are committed by their own wallets.

    Parameters
    ----------
    num_values : int
        Values per update.
    public_key : bytes
        The committee's public key (its fingerprint is the commitments' context).
    trees : dict[int, VectorTree]
        Node id -> the tree over its encrypted update (its root goes into the commitment).
    aggregate : bytes
        The sum of the updates.

    Returns
    -------
    tuple[SumRequest, frozenset[str]]
        The request and the participants' wallet addresses (staked on the task).
    """
    task = TASK_ID
    context = key_fingerprint(public_key)
    wallets = {node: Wallet.generate() for node in trees}
    commitments = tuple(
        UpdateCommitment(
            task_id=task,
            server_round=1,
            node_id=node,
            context_sha256=context,
            weight=1.0,
            num_values=num_values,
            chunk_sha256=(),
            vector_root=tree.root,
        ).signed_by(wallets[node])
        for node, tree in trees.items()
    )
    manifest = RoundManifest(task, 1, context, commitments)
    return SumRequest.of(manifest, aggregate, 0), frozenset(w.address for w in wallets.values())


def spot_check(
    member: CommitteeMember,
    request: SumRequest,
    aggregate: bytes,
    trees: dict[int, VectorTree],
    signers: frozenset[str],
    samples: int,
    repeats: int,
) -> dict[str, Any]:
    """Time one member's spot check of ``request`` and the aggregator's answer.

    Each repeat uses a fresh guard (a guard releases once per round). The member's time is
    ``challenge`` plus parsing the openings plus ``release``, less the decryption share made
    inside ``release``; the aggregator's is opening the challenged leaves of every input
    and serializing them.

    Returns
    -------
    dict[str, Any]
        Extra samples, leaves opened (one per polynomial and the extra ones; the last
        repeat's), bytes of the openings (all inputs), bytes received (aggregate and
        openings), and median member and aggregator seconds.
    """
    wallet = Wallet.generate()
    member_runs, open_runs, opening_bytes, opened = [], [], 0, 0
    for _ in range(repeats):
        clock = ShareClock(member)
        guard = DecryptionGuard(
            cast(CommitteeMember, clock),
            wallet,
            min_inputs=MIN_INPUTS,
            allowed_signers=signers,
            samples=samples,
        )
        start = now()
        challenge = guard.challenge(request)
        challenge_s = since(start)
        start = now()
        sent = {
            node: [o.to_bytes() for o in tree.open(challenge.leaves)]
            for node, tree in trees.items()
        }
        open_runs.append(since(start))
        start = now()
        openings = {
            node: [Opening.from_bytes(o) for o in records] for node, records in sent.items()
        }
        guard.release(request, aggregate, openings, DECRYPTING)
        release_s = since(start)
        member_runs.append(
            {
                kind: challenge_s[kind] + release_s[kind] - clock.seconds[kind]
                for kind in clock.seconds
            }
        )
        opening_bytes = sum(len(record) for records in sent.values() for record in records)
        opened = len(challenge.leaves)
    return {
        "samples": samples,
        "leaves_opened": opened,
        "opening_bytes": opening_bytes,
        "bytes_received": len(aggregate) + opening_bytes,
        "member_s": median_of(member_runs),
        "aggregator_open_s": median_of(open_runs),
    }


def recomputation(ciphertexts: list[bytes], aggregate: bytes, repeats: int) -> dict[str, Any]:
    """Time the baseline check: add the inputs received and compare with the aggregate."""
    seconds, equal = timed(lambda: sum_vectors(ciphertexts) == aggregate, repeats)
    if not equal:
        raise RuntimeError("the recomputed sum differs from the aggregate")
    return {
        "bytes_received": len(aggregate) + sum(len(c) for c in ciphertexts),
        "member_s": seconds,
    }


def enough_accept(accept: float) -> float:
    """Chance that at least ``t`` of the ``n`` members accept, each with ``accept``.

    The aggregator learns every member's challenge before it names the decrypting set in
    ``release``, so it can ask ``t`` whose leaves avoid the falsified ones, if there are.
    """
    return sum(
        comb(SIZE, k) * accept**k * (1 - accept) ** (SIZE - k) for k in range(THRESHOLD, SIZE + 1)
    )


def accept_probability(num_leaves: int, placement: Sequence[int], samples: int) -> float:
    """Chance that one member's challenge misses every falsified leaf.

    The challenge (``draw_challenge``) draws one leaf in each polynomial and, independently,
    ``samples`` distinct leaves anywhere, so falsified leaves placed ``m_c`` in polynomial
    ``c`` (``placement``, one count per polynomial holding any) all pass with probability
    ``prod_c (1 - m_c / 64) * C(L - m, s) / C(L, s)`` for ``m = sum_c m_c`` of the ``L``.
    """
    per_poly = 1.0
    for count in placement:
        per_poly *= 1 - count / LEAVES_PER_POLY
    return per_poly * miss_probability(num_leaves, sum(placement), samples)


def spread(leaves: int, polys: int) -> list[int]:
    """``leaves`` spread as evenly as possible over ``polys``: counts per polynomial.

    Of all placements of that many falsified leaves this one passes most often: the log of
    the per-polynomial factor in ``accept_probability`` is concave in each count.
    """
    low, high = divmod(leaves, polys)
    return [count for count in [low + 1] * high + [low] * (polys - high) if count]


def detection(num_leaves: int) -> list[dict[str, Any]]:
    """Chance that a falsified aggregate passes one member's check, all ``t``, ``t`` of ``n``.

    For one falsified leaf, one polynomial replaced whole, 1% of the leaves placed as the
    falsifier would (spread over the polys), and all of them (one update presented
    as the sum), at each number of extra leaves drawn.
    """
    polys = num_leaves // LEAVES_PER_POLY
    falsified = {
        "one leaf": [1],
        "one polynomial, replaced whole": [LEAVES_PER_POLY],
        "1% of leaves, spread over the polys": spread(-(-num_leaves // 100), polys),
        "all leaves (one update as the sum)": [LEAVES_PER_POLY] * polys,
    }
    rows = []
    for label, placement in falsified.items():
        for samples in CHALLENGE_SAMPLES:
            miss = accept_probability(num_leaves, placement, samples)
            rows.append(
                {
                    "falsified": label,
                    "falsified_leaves": sum(placement),
                    "falsified_polys": len(placement),
                    "samples": samples,
                    "one_member_misses": miss,
                    "all_members_miss": miss**THRESHOLD,
                    "threshold_of_members_miss": enough_accept(miss),
                }
            )
    return rows


def member_check(
    num_values: int,
    member: CommitteeMember,
    public_key: bytes,
    ciphertexts: list[bytes],
    aggregate: bytes,
    repeats: int,
) -> dict[str, Any]:
    """Measure a member's check of the aggregate of ``ciphertexts``: spot check vs recomputation.

    Parameters
    ----------
    num_values : int
        Values per update.
    member : CommitteeMember
        The checking member, after key generation.
    public_key : bytes
        The committee's public key.
    ciphertexts : list[bytes]
        The round's encrypted updates.
    aggregate : bytes
        Their sum.
    repeats : int
        Runs per timing (median).
    """
    root_s, _ = timed(lambda: vector_root(ciphertexts[0]), repeats)
    trees_s, trees = timed(
        lambda: {node: VectorTree(c) for node, c in enumerate(ciphertexts, 1)}, repeats
    )
    request, signers = committed_round(num_values, public_key, trees, aggregate)
    baseline = recomputation(ciphertexts, aggregate, repeats)
    checks = [
        spot_check(member, request, aggregate, trees, signers, samples, repeats)
        for samples in CHALLENGE_SAMPLES
    ]
    for check in checks:
        check["bytes_ratio"] = baseline["bytes_received"] / check["bytes_received"]
        check["time_ratio"] = ratio(baseline["member_s"], check["member_s"])
    num_leaves = leaf_count(num_values)
    return {
        "num_leaves": num_leaves,
        "vector_root_s_per_1m": scaled(root_s, 1e6 / num_values),
        "aggregator_trees_s_for_10_updates": trees_s,
        "recomputation": baseline,
        "spot_check": checks,
        "miss_probability": detection(num_leaves),
    }


def probability(value: float) -> str:
    """A table cell for a probability."""
    if value == 0:
        return "0"
    if value > 0.999:
        return f"1 - {1 - value:.1e}"
    return f"{value:.3g}" if value >= 1e-3 else f"{value:.1e}"


def member_check_lines(results: dict[str, Any]) -> list[str]:
    """The .md section on a committee member's check of the aggregate."""
    lines = [
        "## A committee member's check of the aggregate",
        "",
        "Before it releases its decryption share, a member checks that the aggregate is the "
        "sum of the round's committed inputs (`strategy/threshold/spot_check.py`, "
        "`decryption_guard.py`). Each participant signs into its commitment a Merkle root "
        "over its encrypted vector (leaves of 64 coefficients, 480 B; "
        f"{LEAVES_PER_POLY} leaves per polynomial of 4,096 coefficients; a vector has one "
        "body per 4,096 values and one mask per 32 bodies). The aggregator fixes the "
        "aggregate by its vector root; the member only then draws its challenge: one leaf "
        "at random in every polynomial, and s more distinct leaves anywhere "
        "(`draw_challenge`). The aggregator sends the aggregate, which the member needs for "
        "its share anyway, and opens the challenged leaves of every input with their Merkle "
        "paths; the member checks that the aggregate has the fixed root, each path against "
        "the signed root, and that the aggregate's leaves are the sums of the inputs' "
        "leaves modulo q "
        "(`is_sum`). If m of the L leaves of the aggregate are falsified, m_c of them in "
        "polynomial c, one member accepts with probability "
        f"prod_c (1 - m_c / {LEAVES_PER_POLY}) * C(L - m, s) / C(L, s). A polynomial "
        "replaced whole (by one participant's, or anything else) differs from the sum in "
        "every leaf (a leaf agrees only with probability q^-64), so the leaf drawn in it "
        "catches it: probability 0 in the table, as for one update presented as the sum. "
        "Falsified leaves spread over the polynomials pass most often; the 1% rows place "
        "them so. "
        f"Decryption needs t = {THRESHOLD} members, each drawing its own leaves, so a "
        f"falsified aggregate is decrypted only if all {THRESHOLD} accept (the probability "
        f"to the power {THRESHOLD}). The aggregator sees each member's challenge before it "
        f"names the decrypting set in `release`, though: asking all {SIZE} members for "
        f"challenges and then {THRESHOLD} whose leaves miss the falsified ones, it succeeds "
        f"if any {THRESHOLD} of {SIZE} would accept (last column). The "
        "baseline checks by recomputation: the member receives the "
        f"{NUM_UPDATES} inputs, adds them (`sum_vectors`) and compares the bytes with the "
        "aggregate. It leaves out hashing the inputs against their commitments and checking "
        "the commitments' signatures, which the spot check's times include, so it is the "
        "cheapest recomputation can be. Bytes received: the aggregate and the openings of "
        f"all {NUM_UPDATES} inputs (`Opening.to_bytes()`), against the aggregate and the "
        f"{NUM_UPDATES} inputs (the manifest, the same in both, is not counted). Member "
        "times leave out the decryption share, which both make (table above); aggregator "
        f"times are building the {NUM_UPDATES} inputs' trees and opening one challenge.",
        "",
        "| values | check | extra leaves s | leaves opened per input | bytes received | "
        "recomputation bytes / this | member s, without the share | recomputation time / "
        "this | aggregator s |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in results["sizes"]:
        check = row["member_check"]
        baseline = check["recomputation"]
        lines.append(
            f"| {row['num_values']:,} | recomputation | - | - | {baseline['bytes_received']:,} | "
            f"1x | {cell(baseline['member_s'], 3)} | 1x | - |"
        )
        for spot in check["spot_check"]:
            times = spot["time_ratio"]
            lines.append(
                f"| {row['num_values']:,} | spot check | {spot['samples']} | "
                f"{spot['leaves_opened']:,} | "
                f"{spot['bytes_received']:,} (openings {spot['opening_bytes']:,}) | "
                f"{spot['bytes_ratio']:.1f}x | {cell(spot['member_s'], 3)} | "
                f"{times['wall']:.1f}x ({times['cpu']:.1f}x) | trees "
                f"{cell(check['aggregator_trees_s_for_10_updates'], 3)}, open "
                f"{cell(spot['aggregator_open_s'], 3)} |"
            )
    roots = "; ".join(
        f"{cell(row['member_check']['vector_root_s_per_1m'], 3)} at {row['num_values']:,} values"
        for row in results["sizes"]
    )
    lines += [
        "",
        f"A participant's vector root, s per 1M values: {roots}.",
        "",
        "Chance that a falsified aggregate is accepted, for L leaves of which m are "
        "falsified, in the given number of polynomials, and s extra leaves drawn by each "
        "member besides one in every polynomial:",
        "",
        f"| values | L | falsified | m | polynomials | s | one member accepts | "
        f"all {THRESHOLD} accept | {THRESHOLD} of {SIZE} would accept |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results["sizes"]:
        check = row["member_check"]
        for miss in check["miss_probability"]:
            lines.append(
                f"| {row['num_values']:,} | {check['num_leaves']:,} | {miss['falsified']} | "
                f"{miss['falsified_leaves']:,} | {miss['falsified_polys']:,} | "
                f"{miss['samples']} | "
                f"{probability(miss['one_member_misses'])} | "
                f"{probability(miss['all_members_miss'])} | "
                f"{probability(miss['threshold_of_members_miss'])} |"
            )
    return [*lines, ""]


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
        *member_check_lines(results),
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
