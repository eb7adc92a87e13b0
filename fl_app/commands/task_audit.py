"""``fl-app task rounds | attest | finalize``: what each round recorded, and scores anyone
can recompute.

The scores posted at settlement are not taken on trust: every command fetches each round
manifest by the CID recorded on chain (each fetch is verified against its CID), checks
the key holder's signature of the scalars it holds, and feeds them to
:class:`strategy.contribution.ContributionLedger` (`fl_app.roles.round_scores`).
``attest`` is the key holder's step: it signs the integer weights it recomputed, and the
chain accepts final scores only with that signature. ``finalize`` posts them with it;
``finalize --dry-run`` sends nothing, so a participant or an auditor can check the scores.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fl_app.commands.command_parser import add_command, open_ipfs, signer
from fl_app.commands.output import Output
from fl_app.errors import FlAppError
from strategy.attestation import Attestation, model_digest

if TYPE_CHECKING:
    from solders.pubkey import Pubkey

    from fl_app.chain import StakeAccount, TaskAccount
    from fl_app.commands.cluster import ChainSession
    from fl_app.roles.round_scores import RecordedRound

__all__ = ["register"]


def register(group: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``task rounds``, ``task attest`` and ``task finalize``."""
    rounds = add_command(
        group,
        "rounds",
        _rounds,
        help="each recorded round: manifest CID, contributors, metrics from IPFS",
        chain=True,
        ipfs=True,
    )
    rounds.add_argument("task", metavar="TASK", help="task address")
    attest = add_command(
        group,
        "attest",
        _attest,
        help="as a committee member or key holder: recompute the scores and sign them",
        description="Fetch every round manifest, check that its scores are the ones the "
        "task's committee (or key holder) decrypted and signed, recompute every "
        "participant's score, and print this attestor's signature of them. The "
        "organisation passes the task's threshold of them to 'task finalize "
        "--attestation'; the chain accepts no scores without them.",
        keypair=True,
        ipfs=True,
    )
    attest.add_argument("task", metavar="TASK", help="task address")
    attest.add_argument(
        "--participant",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="a staker to score, when the chain cannot list stakes (repeatable)",
    )
    finalize = add_command(
        group,
        "finalize",
        _finalize,
        help="recompute every score from the round manifests and post them",
        description="Fetch every round manifest from IPFS by the CID on chain, recompute "
        "each participant's contribution score from the decrypted scalars it records "
        "(strategy.contribution), and post the integer weights with the last round's "
        "model CID. With --dry-run anyone can audit the scores without sending.",
        keypair=True,
        ipfs=True,
    )
    finalize.add_argument("task", metavar="TASK", help="task address")
    finalize.add_argument(
        "--dry-run", action="store_true", help="recompute and print the scores, send nothing"
    )
    finalize.add_argument(
        "--participant",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="a staker to score, when the chain cannot list stakes (repeatable)",
    )
    finalize.add_argument(
        "--attestation",
        action="append",
        default=[],
        metavar="HEX",
        help="an attestor's signed attestation of these scores: one per committee "
        "member up to the task's threshold, or the key holder's (repeatable)",
    )


def _rounds(args: argparse.Namespace, out: Output) -> int:
    from fl_app.commands.cluster import open_chain, parse_address
    from fl_app.roles.round_scores import fetch_rounds

    address = parse_address(args.task, what="task")
    with open_chain(args) as chain:
        task = chain.task(address)
        rounds: list[RecordedRound] = []
        if task.rounds_recorded:
            with (
                open_ipfs(args) as ipfs,
                out.progress("fetching manifests", total=task.rounds_recorded) as step,
            ):
                rounds = fetch_rounds(chain.client, ipfs, task, step)
    lines = [f"{task.rounds_recorded} of {task.rounds_planned} rounds recorded on task {address}"]
    if not rounds:
        lines[0] = f"no rounds recorded yet on task {address} (0 of {task.rounds_planned} planned)"
    entries = []
    for recorded in rounds:
        manifest = recorded.manifest
        metrics = manifest.get("metrics", {})
        shown = ", ".join(f"{k} {_number(v)}" for k, v in sorted(metrics.items()))
        lines.append(
            f"round {manifest['round']}: {recorded.account.contributors} contributors, "
            f"{shown or 'no metrics'}{', scored' if manifest.get('scoring') else ''}"
        )
        lines.append(f"  manifest {recorded.account.manifest_cid}")
        lines.append(f"  model    {manifest.get('model_cid')}")
        entries.append(
            {
                "round": manifest["round"],
                "manifest_cid": recorded.account.manifest_cid,
                "model_cid": manifest.get("model_cid"),
                "contributors": manifest.get("contributors", []),
                "metrics": metrics,
                "scored": bool(manifest.get("scoring")),
            }
        )
    out.result(
        {"task": str(address), "rounds_planned": task.rounds_planned, "rounds": entries},
        text=lines,
        quiet=str(len(entries)),
    )
    return 0


def _number(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class _Settlement:
    """What a task settles on: its stakes, their recomputed scores and the final model."""

    task: TaskAccount
    stakes: list[StakeAccount]
    weights: list[int]
    rounds: int
    model_cid: str

    def scores(self) -> dict[Pubkey, int]:
        return {s.participant: w for s, w in zip(self.stakes, self.weights, strict=True)}


def _settlement(
    chain: ChainSession, task: TaskAccount, args: argparse.Namespace, out: Output
) -> _Settlement:
    """Recompute every stake's score from the recorded rounds (see the module doc)."""
    from fl_app.commands.task_view import expires_at, when
    from fl_app.roles.round_scores import fetch_rounds, weights_from_rounds

    if task.rounds_recorded == 0:
        now = chain.client.transport.unix_timestamp()
        raise FlAppError(
            f"task {task.address} has no recorded rounds: train first; without any, it can "
            f"only expire after {when(expires_at(task), now)}"
        )
    with (
        open_ipfs(args) as ipfs,
        out.progress("fetching manifests", total=task.rounds_recorded) as step,
    ):
        rounds = fetch_rounds(chain.client, ipfs, task, step)
    stakes = _stakers(chain, task, rounds, args.participant)
    weights = weights_from_rounds(rounds, [str(s.participant) for s in stakes], task)
    return _Settlement(task, stakes, weights, len(rounds), rounds[-1].manifest["model_cid"])


def _attest(args: argparse.Namespace, out: Output) -> int:
    from fl_app.chain.attestations import final_attestation
    from fl_app.commands.cluster import open_chain, parse_address

    address = parse_address(args.task, what="task")
    attestor = signer(args)
    with open_chain(args) as chain:
        task = chain.task(address)
        if attestor.pubkey() not in task.attestors:
            raise FlAppError(
                f"wallet {attestor.pubkey()} does not attest task {address} (its committee "
                f"members or key holder: {', '.join(map(str, task.attestors)) or 'none yet'}"
                "): sign with one of their keypairs (-k)"
            )
        settled = _settlement(chain, task, args, out)
    attestation = final_attestation(attestor, address, settled.model_cid, settled.scores())
    lines = [f"scores recomputed from {settled.rounds} signed round manifests:"]
    lines += [f"  {p}  score {w}" for p, w in settled.scores().items()]
    lines.append(f"model CID: {settled.model_cid}")
    lines.append(f"attestation: {attestation.to_hex()}")
    lines.append("the organisation posts them with:")
    lines.append(f"  fl-app task finalize {address} --attestation {attestation.to_hex()}")
    out.result(
        {
            "task": str(address),
            "model_cid": settled.model_cid,
            "scores": {str(p): w for p, w in settled.scores().items()},
            "attestation": attestation.to_hex(),
        },
        text=lines,
        quiet=attestation.to_hex(),
    )
    return 0


def _finalize(args: argparse.Namespace, out: Output) -> int:
    from fl_app.chain.accounts import reward_due
    from fl_app.chain.errors import AttestationMismatchError
    from fl_app.commands.amounts import format_sol
    from fl_app.commands.cluster import open_chain, parse_address
    from fl_app.commands.program_errors import explained
    from fl_app.commands.task_view import expires_at, when

    address = parse_address(args.task, what="task")
    authority = None if args.dry_run else signer(args)
    with open_chain(args) as chain:
        task = chain.task(address)
        if authority is not None and authority.pubkey() != task.authority:
            raise FlAppError(
                f"wallet {authority.pubkey()} is not the authority of task {address} "
                f"({task.authority}): sign with the organisation's keypair (-k), or audit "
                "with --dry-run"
            )
        if authority is not None and not args.attestation:
            raise FlAppError(
                f"no --attestation: the chain accepts scores only with its attestors' "
                f"signatures of them; each makes one with: fl-app task attest "
                f"{address} -k ATTESTOR_KEYPAIR"
            )
        attestations = [_attestation(text) for text in args.attestation]
        settled = _settlement(chain, task, args, out)
        stakes, weights, model_cid = settled.stakes, settled.weights, settled.model_cid
        rewards = [0] * len(stakes)
        if authority is not None:
            now = chain.client.transport.unix_timestamp()
            context = {
                "task": address,
                "wallet": authority.pubkey(),
                "state": task.state.value.lower(),
                "expires": when(expires_at(task), now),
                "participants": task.participants,
                "scored": len(stakes),
            }
            try:
                with explained(**context):
                    chain.client.task_finalize(
                        authority,
                        address,
                        scores=settled.scores(),
                        model_cid=model_cid,
                        model_digest=model_digest(model_cid),
                        attestations=attestations,
                    )
            except AttestationMismatchError as err:
                raise FlAppError(
                    f"--attestation by {err.signer} does not sign these scores of task "
                    f"{address}: each attestor signs the scores it recomputes with: "
                    f"fl-app task attest {address} -k ATTESTOR_KEYPAIR"
                ) from None
            stakes = [chain.client.stake(address, s.participant) or s for s in stakes]
            finalized = chain.task(address)
            rewards = [reward_due(finalized, s) for s in stakes]
    verb = "would post" if authority is None else "posted"
    lines = [f"scores recomputed from {settled.rounds} round manifests; {verb}:"]
    for stake, weight, reward in zip(stakes, weights, rewards, strict=True):
        share = "" if authority is None else f", reward {format_sol(reward)} SOL"
        lines.append(f"  {stake.participant}  score {weight}{share}")
    lines.append(f"model CID: {model_cid}")
    if authority is not None:
        lines.append(f"participants collect with: fl-app claim {address}")
    out.result(
        {
            "task": str(address),
            "posted": authority is not None,
            "model_cid": model_cid,
            "scores": {str(p): w for p, w in settled.scores().items()},
            "reward_share_lamports": {
                str(s.participant): r for s, r in zip(stakes, rewards, strict=True)
            },
        },
        text=lines,
        quiet=model_cid,
    )
    return 0


def _stakers(
    chain: ChainSession,
    task: TaskAccount,
    rounds: Sequence[RecordedRound],
    named: Sequence[str],
) -> list[StakeAccount]:
    """Every stake of ``task``: listed by the chain, else from manifests and ``named``."""
    from fl_app.commands.cluster import parse_address
    from fl_app.commands.stakers import ListingUnsupportedError, list_stakes

    try:
        stakes = list_stakes(chain.cluster, task.address)
    except ListingUnsupportedError as err:
        candidates: dict[str, None] = {}
        for recorded in rounds:
            candidates.update(dict.fromkeys(recorded.manifest.get("contributors", [])))
        candidates.update(dict.fromkeys(named))
        stakes = []
        for text in candidates:
            participant: Pubkey = parse_address(text, what="participant")
            stake = chain.client.stake(task.address, participant)
            if stake is None:
                raise FlAppError(f"{participant} has no stake on task {task.address}") from None
            stakes.append(stake)
        if len(stakes) != task.participants:
            raise FlAppError(
                f"found {len(stakes)} of the {task.participants} stakes of task "
                f"{task.address} ({err}): name the others with --participant ADDRESS"
            ) from None
    return stakes


def _attestation(text: str) -> Attestation:
    try:
        return Attestation.from_hex(text)
    except ValueError as err:
        raise FlAppError(f"--attestation is not a signer and signature in hex: {err}") from err
