"""``fl-app client fetch | run | audit``: the participant's verified client of a task.

``fetch`` unpacks the template only if it hashes to the CID on chain; ``run`` does the
same and then runs it: a Flower SuperNode that trains on the participant's data until
every planned round of the task is recorded on chain. ``audit`` checks, from the
ciphertexts ``run`` kept, that the scores recorded for the participant's inputs are its.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from fl_app.commands.command_parser import add_command, open_ipfs
from fl_app.commands.output import Output
from fl_app.errors import FlAppError

if TYPE_CHECKING:
    from solders.pubkey import Pubkey

    from fl_app.commands.cluster import ChainSession

__all__ = ["register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``client`` and its subcommands."""
    client = commands.add_parser("client", help="the participant's client of a task")
    group = client.add_subparsers(dest="client_command", required=True, metavar="COMMAND")
    fetch = add_command(
        group,
        "fetch",
        _fetch,
        help="fetch the client template by the CID on chain, verify it, unpack it",
        description="Read the template CID from the task account, fetch the bundle from "
        "IPFS, and unpack it only if its bytes hash to that CID; anything else is refused "
        "before a file is written.",
        chain=True,
        ipfs=True,
    )
    fetch.add_argument("task", metavar="TASK", help="task address")
    fetch.add_argument(
        "--dest", type=Path, help="empty directory to unpack into (default ./client-TASK)"
    )
    run = add_command(
        group,
        "run",
        _run,
        help="verify the client template, then train in the task's rounds",
        description="Fetch and verify the task's bundle by the CID on chain, then run a "
        "SuperNode against the organisation's SuperLink that runs only that bundle: any "
        "other bundle, or a run config without encrypted aggregation (or below "
        "--dp-epsilon), is refused before its code is imported. Your wallet (--keypair) "
        "proves your stake; your data never leaves this machine, your updates leave it "
        "encrypted. Stops when every planned round is recorded on chain.",
        keypair=True,
        ipfs=True,
    )
    run.add_argument("task", metavar="TASK", help="task address")
    run.add_argument("--superlink", required=True, metavar="HOST:PORT", help="the SuperLink")
    data = run.add_mutually_exclusive_group(required=True)
    data.add_argument("--data", type=Path, metavar="CSV", help="your data (CSV with header)")
    data.add_argument(
        "--partition",
        metavar="I/N",
        help="train on share I of N of the task's bundled data set (demos)",
    )
    run.add_argument("--target", help="label column of --data")
    run.add_argument(
        "--sealed-secret",
        type=Path,
        help="the key holder's sealed CKKS secret (keys/secret_context.sealed)",
    )
    run.add_argument(
        "--min-inputs",
        type=int,
        default=3,
        help="as the key holder or a committee member: decrypt sums over at least this many "
        "updates (default 3)",
    )
    run.add_argument(
        "--dp-epsilon",
        type=float,
        metavar="EPSILON",
        help="train only with DP-SGD at epsilon <= EPSILON; runs asking less are refused",
    )
    run.add_argument("--timeout", type=float, default=3_600.0, help="seconds to wait")
    run.add_argument(
        "--connect-timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds the SuperLink may take to answer before giving up (default 60)",
    )
    run.add_argument(
        "--lost-timeout",
        type=float,
        metavar="S",
        help="seconds the SuperLink may refuse connections before the run counts as ended "
        "(default 60)",
    )
    run.add_argument(
        "--workdir",
        type=Path,
        metavar="DIR",
        help="where the verified template, the SuperNode's log and your sent ciphertexts go; "
        "a rerun for the same task and wallet reuses it (default: under $FL_APP_HOME/runs)",
    )
    audit = add_command(
        group,
        "audit",
        _audit,
        help="check that the scores recorded for your inputs are your own",
        description="For each recorded round of a committee task, recompute your "
        "contribution scalar's body part from the ciphertext your node kept and the "
        "round's published reference, and compare it with the one the members signed. "
        "The members check only that the inputs' parts add up; a difference means the "
        "aggregator moved part of your score to another input.",
        keypair=True,
        ipfs=True,
    )
    audit.add_argument("task", metavar="TASK", help="task address")
    audit.add_argument(
        "--workdir", type=Path, metavar="DIR", help="the client run's --workdir, if you gave one"
    )


def _fetch(args: argparse.Namespace, out: Output) -> int:
    from fl_app.client.fetch import fetch_template
    from fl_app.commands.cluster import open_chain, parse_address

    address = parse_address(args.task, what="task")
    destination: Path = args.dest or Path(f"client-{str(address)[:8]}")
    if destination.exists() and any(destination.iterdir()):
        raise FlAppError(f"{destination} is not empty: choose another --dest")
    with open_chain(args) as chain:
        cid = chain.task(address).template_cid
    with open_ipfs(args) as ipfs, out.progress("fetching the client template"):
        entry = fetch_template(cid, source=ipfs, destination=destination)
    out.result(
        {"task": str(address), "template_cid": cid, "directory": str(entry.parent)},
        text=[f"verified client template {cid}", f"unpacked to {entry.parent}"],
        quiet=str(entry.parent),
    )
    return 0


def _run(args: argparse.Namespace, out: Output) -> int:
    from fl_app.client.launch import SUPERLINK_LOST_S, check_superlink, run_participant
    from fl_app.client.privacy_floor import NODE_CONFIG_DP_MAX_EPSILON
    from fl_app.commands.cluster import open_chain, parse_address
    from fl_app.keypair_files import default_keypair_path, read_keypair

    address = parse_address(args.task, what="task")
    keypair_path: Path = (args.keypair or default_keypair_path()).expanduser().resolve()
    wallet = read_keypair(keypair_path).pubkey()
    node_config: dict[str, object] = {"wallet-keypair": str(keypair_path)}
    if args.data is not None:
        if not args.target:
            raise FlAppError("--data needs --target, the name of the label column")
        from fl_app.ml.tabular import load_csv

        load_csv(args.data, args.target)  # refused here, not after joining a round
        node_config.update({"data-path": str(args.data.resolve()), "target-column": args.target})
    else:
        node_config.update(_partition(args.partition))
    if args.sealed_secret is not None:
        if not args.sealed_secret.is_file():
            raise FlAppError(f"no sealed secret at {args.sealed_secret}: see fl-app keys create")
        node_config.update(
            {
                "ckks-sealed-secret": str(args.sealed_secret.resolve()),
                "ckks-min-inputs": args.min_inputs,
            }
        )
    if args.dp_epsilon is not None:
        if args.dp_epsilon <= 0:
            raise FlAppError(f"--dp-epsilon must be positive, got {args.dp_epsilon:g}")
        node_config[NODE_CONFIG_DP_MAX_EPSILON] = args.dp_epsilon
    workdir: Path = args.workdir or _default_workdir(address, wallet)
    check_superlink(args.superlink, timeout_s=args.connect_timeout)
    with open_chain(args) as chain, open_ipfs(args) as ipfs:
        stake = chain.client.stake(address, wallet)
        if stake is None:
            raise FlAppError(
                f"wallet {wallet} has no stake on task {address}: stake first "
                f"(fl-app stake {address} SOL -k {keypair_path})"
            )
        node_config.update(_committee_config(chain, address, wallet, workdir, args.min_inputs))
        out.say(f"joining task {address} as {wallet} via {args.superlink}")
        with out.progress("training in the task's rounds"):
            result = run_participant(
                client=chain.client,
                task=address,
                source=ipfs,
                superlink=args.superlink,
                node_config=node_config,
                workdir=workdir,
                timeout_s=args.timeout,
                lost_s=SUPERLINK_LOST_S if args.lost_timeout is None else args.lost_timeout,
            )
    out.result(
        {"task": str(address), "rounds_recorded": result.rounds_recorded, "logs": str(workdir)},
        text=[f"task {address}: {result.rounds_recorded} round(s) recorded; logs in {workdir}"],
        quiet=str(result.rounds_recorded),
    )
    return 0


def _committee_config(
    chain: ChainSession, address: Pubkey, wallet: Pubkey, workdir: Path, min_inputs: int
) -> dict[str, object]:
    """A committee task's node config: the members this node pins (it encrypts only
    under a key all of them signed) and, on a member's node, where the member keeps its
    share of the key and the task's stakers, whose inputs alone it decrypts."""
    from fl_app.commands.stakers import list_stakes
    from strategy.constants import (
        NODE_CONFIG_ALLOWED_SIGNERS,
        NODE_CONFIG_COMMITTEE,
        NODE_CONFIG_MEMBER_STORE,
        NODE_CONFIG_MIN_INPUTS,
        NODE_CONFIG_OWN_UPDATES,
    )

    task = chain.task(address)
    if not task.committee_size:
        return {}
    if not task.committee_drawn:
        raise FlAppError(
            f"task {address}'s committee is not drawn yet: after the join deadline anyone "
            f"draws it with fl-app task draw {address}"
        )
    config: dict[str, object] = {
        NODE_CONFIG_COMMITTEE: ",".join(map(str, task.attestors)),
        NODE_CONFIG_OWN_UPDATES: str(workdir / _KEPT),
    }
    if wallet not in task.attestors:
        return config
    # No stake joins once the draw began: this is the task's final list of stakers.
    stakers = sorted(str(s.participant) for s in list_stakes(chain.cluster, address))
    workdir.mkdir(parents=True, exist_ok=True)
    signers = workdir / "stakers.txt"
    partial = signers.with_suffix(".part")
    partial.write_text("\n".join(stakers) + "\n", encoding="utf-8")
    partial.replace(signers)
    return config | {
        NODE_CONFIG_MEMBER_STORE: str(workdir / "committee"),
        NODE_CONFIG_ALLOWED_SIGNERS: str(signers),
        NODE_CONFIG_MIN_INPUTS: min_inputs,
    }


def _audit(args: argparse.Namespace, out: Output) -> int:
    from fl_app.commands.cluster import open_chain, parse_address
    from fl_app.keypair_files import default_keypair_path, read_keypair
    from fl_app.roles.own_inputs import audit_own_inputs
    from fl_app.roles.round_scores import fetch_rounds

    address = parse_address(args.task, what="task")
    keypair_path: Path = (args.keypair or default_keypair_path()).expanduser()
    wallet = read_keypair(keypair_path).pubkey()
    kept = (args.workdir or _default_workdir(address, wallet)) / _KEPT
    with open_chain(args) as chain:
        task = chain.task(address)
        if not task.committee_size:
            raise FlAppError(
                f"task {address} has a key holder, who signs the scalars it decrypts: there "
                "is nothing of your inputs' scores to check"
            )
        with open_ipfs(args) as ipfs, out.progress("fetching manifests"):
            rounds = fetch_rounds(chain.client, ipfs, task)
    audited = audit_own_inputs(rounds, str(wallet), kept)
    if not audited:
        raise FlAppError(
            f"no scored round of task {address} aggregated an input of {wallet} whose "
            f"ciphertext is kept in {kept}"
        )
    out.result(
        {"task": str(address), "rounds": audited, "moved": []},
        text=[
            f"round {r}: your input's score share is the one your ciphertext gives" for r in audited
        ],
        quiet=str(len(audited)),
    )
    return 0


def _default_workdir(task: Pubkey, wallet: Pubkey) -> Path:
    from fl_app.services import fl_app_home

    return fl_app_home() / "runs" / f"client-{str(task)[:8]}-{str(wallet)[:8]}"


# Where a client run keeps the ciphertexts it sent, under its work directory.
_KEPT = "updates"


def _partition(text: str) -> dict[str, int]:
    index, _, count = text.partition("/")
    if not (index.isdigit() and count.isdigit()) or not 0 <= int(index) < int(count):
        raise FlAppError(f"--partition takes I/N with 0 <= I < N, got {text!r}")
    return {"partition-id": int(index), "num-partitions": int(count)}
