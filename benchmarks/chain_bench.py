"""Chain benchmark: compute units per staking instruction and transactions per second.

Runs every instruction of the staking program through `StakingClient` and
records the compute units the runtime reports for it, then times a stream of
sequential transactions (create a task, stake five participants) to get
transactions per second. Writes ``benchmarks/results/chain.json`` and ``.md``.

On the embedded chain (the default) the program runs as a native builtin, not
as SBF: the runtime charges a builtin 1 unit plus what it meters around it
(sysvar reads, CPI to the System Program, the System Program itself), so the
numbers are NOT the program's SBF cost. Pass ``--rpc URL`` to measure against
a solana-test-validator running the SBF build instead.

Usage: ``python benchmarks/chain_bench.py [--rpc URL] [--tasks N]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from solders.keypair import Keypair

from fl_app.chain import (
    BatchResult,
    EmbeddedTransport,
    RpcTransport,
    SendResult,
    StakingClient,
    TaskParams,
    Transport,
)
from fl_app.chain.attestations import final_attestation, round_attestation
from fl_app.chain.pda import task_address
from strategy.attestation import model_digest

SOL = 1_000_000_000
CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
MANIFEST_DIGEST = bytes(32)
RESULTS = Path(__file__).resolve().parent / "results"
CU_TARGET = 10_000


def _params(transport: Transport, task_id: int, key_holder: Keypair, *, short: bool) -> TaskParams:
    now = transport.unix_timestamp()
    return TaskParams(
        task_id=task_id,
        reward_pool=10 * SOL,
        min_stake=SOL,
        max_participants=5,
        rounds_planned=3,
        join_deadline=now + (5 if short else 3_600),
        settle_deadline=now + (10 if short else 7_200),
        grace_period=1,
        max_slash_bps=2_000,
        key_holder=key_holder.pubkey(),
        template_cid=CID,
        he_context_cid=CID,
    )


def _wallet(transport: Transport, lamports: int) -> Keypair:
    keypair = Keypair()
    transport.airdrop(keypair.pubkey(), lamports)
    return keypair


def _wait_past(transport: Transport, unix_timestamp: int) -> None:
    if isinstance(transport, EmbeddedTransport):
        transport.set_unix_timestamp(unix_timestamp + 1)
        return
    deadline = time.monotonic() + 60
    while transport.unix_timestamp() <= unix_timestamp:
        if time.monotonic() > deadline:
            raise TimeoutError("cluster clock did not advance")
        time.sleep(0.5)


def measure_compute_units(client: StakingClient) -> dict[str, list[int]]:
    """Run every instruction at least once; return the units reported per name."""
    transport = client.transport
    units: dict[str, list[int]] = {}

    def record(name: str, result: SendResult | BatchResult) -> None:
        batch = result.results if isinstance(result, BatchResult) else (result,)
        units.setdefault(name, []).extend(r.compute_units for r in batch)

    authority = _wallet(transport, 100 * SOL)
    key_holder = Keypair()

    # Cancel path: create then cancel.
    record(
        "task_create", client.task_create(authority, _params(transport, 1, key_holder, short=False))
    )
    record("task_cancel", client.task_cancel(authority, task_address(authority.pubkey(), 1)))

    # Full path: create, stake, withdraw, rounds, slash, finalize, claim.
    params = _params(transport, 2, key_holder, short=False)
    record("task_create", client.task_create(authority, params))
    task = task_address(authority.pubkey(), params.task_id)
    leaver = _wallet(transport, 5 * SOL)
    client.stake_deposit(leaver, task, SOL)
    record("stake_withdraw", client.stake_withdraw(leaver, task))
    people = [_wallet(transport, 5 * SOL) for _ in range(5)]
    for person in people:
        record("stake_deposit", client.stake_deposit(person, task, SOL))
    keys = [p.pubkey() for p in people]
    for index in range(params.rounds_planned):
        result = client.round_record(
            authority,
            task,
            round_index=index,
            manifest_cid=CID,
            manifest_digest=MANIFEST_DIGEST,
            contributors=keys,
            attestations=[round_attestation(key_holder, task, index, MANIFEST_DIGEST, keys)],
        )
        record(f"round_record ({len(keys)} contributors)", result)
    record(
        "participant_slash",
        client.participant_slash(authority, task, participant=keys[0], amount=1, evidence_cid=CID),
    )
    scores = {key: 10 * (i + 1) for i, key in enumerate(keys)}
    record(
        f"task_finalize ({len(keys)} stakes)",
        client.task_finalize(
            authority,
            task,
            scores=scores,
            model_cid=CID,
            model_digest=model_digest(CID),
            attestations=[final_attestation(key_holder, task, CID, scores)],
        ),
    )
    for person in people:
        record("reward_claim", client.reward_claim(person, task))

    # Expire path.
    params = _params(transport, 3, key_holder, short=True)
    client.task_create(authority, params)
    task = task_address(authority.pubkey(), params.task_id)
    _wait_past(transport, params.settle_deadline + params.grace_period)
    record("task_expire", client.task_expire(_wallet(transport, SOL), task))
    return units


def measure_throughput(client: StakingClient, tasks: int) -> dict[str, float]:
    """Sequentially create ``tasks`` tasks with five stakes each; time it."""
    transport = client.transport
    authority = _wallet(transport, (tasks * 11 + 10) * SOL)
    key_holder = Keypair()
    people = [_wallet(transport, (tasks + 1) * 2 * SOL) for _ in range(5)]
    sent = 0
    start = time.perf_counter()
    for task_id in range(100, 100 + tasks):
        client.task_create(authority, _params(transport, task_id, key_holder, short=False))
        task = task_address(authority.pubkey(), task_id)
        for person in people:
            client.stake_deposit(person, task, SOL)
        sent += 1 + len(people)
    elapsed = time.perf_counter() - start
    return {"transactions": sent, "seconds": elapsed, "tps": sent / elapsed}


def measure_settlement(client: StakingClient, participants: int, rounds: int) -> dict:
    """Create a task, stake ``participants``, record ``rounds`` rounds crediting
    all of them and settle it; transactions and wall time per phase."""
    transport = client.transport
    authority = _wallet(transport, 100 * SOL)
    key_holder = Keypair()
    people = [_wallet(transport, 2 * SOL) for _ in range(participants)]
    now = transport.unix_timestamp()
    params = TaskParams(
        task_id=9_000,
        reward_pool=10 * SOL,
        min_stake=SOL,
        max_participants=participants,
        rounds_planned=rounds,
        join_deadline=now + 3_600,
        settle_deadline=now + 7_200,
        grace_period=1,
        max_slash_bps=2_000,
        key_holder=key_holder.pubkey(),
        template_cid=CID,
        he_context_cid=CID,
    )
    task = task_address(authority.pubkey(), params.task_id)
    keys = [p.pubkey() for p in people]
    phases: dict[str, dict[str, float]] = {}

    def timed(name: str, run: Callable[[], int]) -> None:
        start = time.perf_counter()
        sent = run()
        phases[name] = {"transactions": sent, "seconds": time.perf_counter() - start}

    def create() -> int:
        client.task_create(authority, params)
        return 1

    def stake() -> int:
        for person in people:
            client.stake_deposit(person, task, SOL)
        return len(people)

    def record() -> int:
        return sum(
            client.round_record(
                authority,
                task,
                round_index=index,
                manifest_cid=CID,
                manifest_digest=MANIFEST_DIGEST,
                contributors=keys,
                attestations=[round_attestation(key_holder, task, index, MANIFEST_DIGEST, keys)],
            ).transactions
            for index in range(rounds)
        )

    def settle() -> int:
        scores = {key: 1 + i % 7 for i, key in enumerate(keys)}
        return client.task_finalize(
            authority,
            task,
            scores=scores,
            model_cid=CID,
            model_digest=model_digest(CID),
            attestations=[final_attestation(key_holder, task, CID, scores)],
        ).transactions

    timed("create", create)
    timed(f"stake {participants}", stake)
    timed(f"record {rounds} rounds x {participants} contributors", record)
    timed(f"settle {participants}", settle)
    claimed = client.reward_claim(people[0], task)
    assert claimed.ok
    return {"participants": participants, "rounds": rounds, "phases": phases}


def _markdown(report: dict) -> str:
    metered = report["sbf_metered"]
    lines = [
        "# Chain benchmark",
        "",
        f"Chain: {report['chain']}. {report['note']}",
        "",
        "| instruction | compute units (median) | <= 10k |"
        if metered
        else "| instruction | units reported for the native builtin (median) |",
        "|---|---:|:---:|" if metered else "|---|---:|",
    ]
    for name, row in report["compute_units"].items():
        if metered:
            ok = "yes" if row["median"] <= CU_TARGET else "no"
            lines.append(f"| {name} | {row['median']} | {ok} |")
        else:
            lines.append(f"| {name} | {row['median']} |")
    tps = report["throughput"]
    lines += [
        "",
        f"Throughput: {tps['transactions']} sequential transactions in "
        f"{tps['seconds']:.2f} s = **{tps['tps']:.0f} tx/s** (one client, each "
        "transaction waits for its result; task_create + stake_deposit mix).",
        "",
    ]
    scale = report.get("settlement")
    if scale:
        lines += [
            f"Settlement at scale ({scale['participants']} participants, "
            f"{scale['rounds']} rounds, claims excluded):",
            "",
            "| phase | transactions | wall time (s) | tx/s |",
            "|---|---:|---:|---:|",
        ]
        for name, row in scale["phases"].items():
            rate = row["transactions"] / row["seconds"] if row["seconds"] else 0.0
            lines.append(
                f"| {name} | {row['transactions']:.0f} | {row['seconds']:.2f} | {rate:.0f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpc", help="JSON-RPC URL of a validator running the SBF build")
    parser.add_argument("--tasks", type=int, default=40, help="tasks in the throughput run")
    parser.add_argument(
        "--participants", type=int, default=1000, help="participants in the settlement run"
    )
    parser.add_argument("--rounds", type=int, default=10, help="rounds in the settlement run")
    args = parser.parse_args()

    if args.rpc:
        transport: Transport = RpcTransport(args.rpc)
        chain = f"JSON-RPC at {args.rpc} (SBF program)"
        note = "Compute units are metered SBF execution."
    else:
        transport = EmbeddedTransport()
        chain = "embedded (solana-program-test 1.18, program as native builtin, debug build)"
        note = (
            "Compute units are what the runtime reports for a NATIVE builtin: 1 unit for the "
            "program plus metered sysvar reads and System Program CPIs. They are not the SBF "
            "cost of the program and cannot be compared with the 10k target; run with --rpc "
            "against solana-test-validator to measure that."
        )
    client = StakingClient(transport)
    units = measure_compute_units(client)
    report = {
        "chain": chain,
        "note": note,
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "compute_units": {
            name: {"median": int(statistics.median(values)), "max": max(values), "n": len(values)}
            for name, values in units.items()
        },
        "throughput": measure_throughput(client, args.tasks),
        "settlement": measure_settlement(client, args.participants, args.rounds),
        "cu_target": CU_TARGET,
        "sbf_metered": bool(args.rpc),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "chain.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "chain.md").write_text(_markdown(report))
    print(_markdown(report))


if __name__ == "__main__":
    main()
