"""The organisation: funds a task, publishes what participants need, records and settles.

Everything a participant or an auditor needs to check the task is content-addressed:
the task's Flower App Bundle and its encryption scheme are pinned before the task is
created (their CIDs go into the Task account; the bundle's CID carries its SHA-256),
and each round's manifest and model checkpoint are pinned before ``round_record`` puts
the manifest CID on chain.

A task is decrypted by a committee drawn from its stakers (the default) or by one key
holder. A committee task records its size and threshold in the creating transaction,
and pins the threshold scheme's parameters as its HE context: the key itself is made by
the drawn members when training starts. A key-holder task pins the key holder's public
TenSEAL context.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from fl_app.chain import StakingClient, TaskParams, task_address
from fl_app.ipfs import IpfsClient, pin_manifest, pin_template
from fl_app.ipfs.content import canonical_json
from fl_app.run_report import RoundReport
from strategy.attestation import Attestation, model_digest
from strategy.contribution import round_contributions
from strategy.reference import reference_sha256
from strategy.threshold import parameters

# The key holder a committee task names: the all-zero key, which nobody holds.
NO_KEY_HOLDER = Pubkey.default()


def committee_scheme(size: int, threshold: int) -> bytes:
    """What a committee task pins as its HE context: the threshold CKKS parameters and
    the committee's shape (the key is made by the drawn members)."""
    scheme = {
        "scheme": "threshold-ckks",
        "parameters": parameters(),
        "committee": {"size": size, "threshold": threshold},
    }
    return canonical_json(scheme)


__all__ = ["Organisation", "TaskPlan"]


@dataclass(frozen=True, kw_only=True)
class TaskPlan:
    """What the organisation fixes when it creates a task (amounts in lamports)."""

    task_id: int
    reward_pool: int
    min_stake: int
    max_participants: int
    rounds: int
    join_window_s: int = 3_600
    settle_window_s: int = 7 * 24 * 3_600
    grace_period_s: int = 24 * 3_600
    max_slash_bps: int = 2_000
    # (size, threshold) of the decryption committee; None for a key-holder task.
    committee: tuple[int, int] | None = None


class Organisation:
    """The task owner's actions, signed by its authority wallet."""

    def __init__(self, client: StakingClient, ipfs: IpfsClient, authority: Keypair) -> None:
        self.client = client
        self.ipfs = ipfs
        self.authority = authority

    def create_task(
        self,
        plan: TaskPlan,
        *,
        template_dir: Path,
        key_holder: Pubkey | None = None,
        public_context: bytes | None = None,
    ) -> Pubkey:
        """Build and pin the task's bundle and its scheme, then create the task.

        A plan with a committee takes neither ``key_holder`` nor ``public_context``; a
        plan without one needs both.

        Raises
        ------
        BundleError
            If ``template_dir`` is not a Flower App, is too large, or holds a secret.
        """
        if (plan.committee is None) != (key_holder is not None and public_context is not None):
            raise ValueError(
                "a task has a committee, or a key holder with its public context: not both"
            )
        template_cid = pin_template(self.ipfs, template_dir)
        if plan.committee is not None:
            scheme = committee_scheme(*plan.committee)
            context_cid = self.ipfs.add_bytes(scheme, name="ckks-scheme.json")
        else:
            assert public_context is not None
            context_cid = self.ipfs.add_bytes(public_context, name="ckks-public-context")
        now = self.client.transport.unix_timestamp()
        self.client.task_create(
            self.authority,
            TaskParams(
                task_id=plan.task_id,
                reward_pool=plan.reward_pool,
                min_stake=plan.min_stake,
                max_participants=plan.max_participants,
                rounds_planned=plan.rounds,
                join_deadline=now + plan.join_window_s,
                settle_deadline=now + plan.settle_window_s,
                grace_period=plan.grace_period_s,
                max_slash_bps=plan.max_slash_bps,
                # A committee task has no key holder: a key nobody holds.
                key_holder=key_holder or NO_KEY_HOLDER,
                template_cid=template_cid,
                he_context_cid=context_cid,
            ),
            committee=plan.committee,
        )
        return task_address(self.authority.pubkey(), plan.task_id)

    def draw_committee(self, task: Pubkey, stakers: Sequence[Pubkey]) -> None:
        """Draw the task's committee over every staker's stake, after the join deadline.

        Anyone may; the organisation does it so training can start. The program refuses
        a draw that did not see every stake.
        """
        self.client.committee_draw(self.authority, task, stakers)

    def pin_model(self, report: RoundReport) -> str:
        """Pin the round's global model (a torch state dict) and return its CID."""
        buffer = io.BytesIO()
        torch.save(report.arrays.to_torch_state_dict(), buffer)
        return self.ipfs.add_bytes(buffer.getvalue(), name=f"model-round-{report.server_round}.pt")

    def record_round(
        self, task: Pubkey, report: RoundReport, *, round_index: int | None = None
    ) -> str:
        """Pin the round's manifest and model, and record the round on chain.

        Returns the manifest CID. The manifest lists the contributors, the digests of
        their committed ciphertexts, the model CID, the round's test metrics, and for a
        scored round the reference update's CID, the decrypted scalars and the round's
        contribution scores: enough for anyone to recompute the rewards. ``round_index``
        is the on-chain index (default: the Flower round's); it differs from the Flower
        round once a skipped round was left unrecorded.
        """
        model_cid = self.pin_model(report)
        manifest: dict[str, Any] = {
            "task": str(task),
            "round": report.server_round,
            "contributors": list(report.contributors),
            "model_cid": model_cid,
            "metrics": {"test_accuracy": report.accuracy, "test_loss": report.loss},
            "encrypted_aggregation": (
                None if report.manifest is None else json.loads(report.manifest.to_json())
            ),
        }
        if report.scalars and report.reference_update is not None:
            contributions = round_contributions(
                report.scalars,
                reference_norm=report.reference_norm,
                weight_scale=report.weight_scale,
            )
            manifest["scoring"] = {
                "reference_update_cid": self._pin_array(
                    report.reference_update, f"reference-round-{report.server_round}.npy"
                ),
                "reference_norm": report.reference_norm,
                "weight_scale": report.weight_scale,
                "scalars": {w: dataclasses.asdict(x) for w, x in report.scalars.items()},
                "net_contributions": {w: c.net for w, c in contributions.items()},
                **_signed_scores(report),
            }
        if not report.attestations or report.manifest is None:
            raise ValueError(
                f"round {report.server_round} has no attestation of its contributors by "
                "its decryptors; the chain refuses to record it"
            )
        manifest_cid = pin_manifest(self.ipfs, manifest)
        self.client.round_record(
            self.authority,
            task,
            round_index=report.server_round - 1 if round_index is None else round_index,
            manifest_cid=manifest_cid,
            manifest_digest=bytes.fromhex(report.manifest.digest()),
            contributors=[Pubkey.from_string(w) for w in report.contributors],
            attestations=list(report.attestations),
            aggregate_cid=model_cid,
        )
        return manifest_cid

    def _pin_array(self, array: np.ndarray, name: str) -> str:
        # Saved in its own dtype, so the bytes read back hash as the decryptors hashed them.
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        return self.ipfs.add_bytes(buffer.getvalue(), name=name)

    def finalize(
        self,
        task: Pubkey,
        scores: Mapping[Pubkey, int],
        model_cid: str,
        attestations: Sequence[Attestation],
    ) -> None:
        """Post every staker's integer score, with the attestors' signatures of them.

        The program checks the scores against the attestations (see
        `strategy.attestation.final_message`, over `model_digest` of ``model_cid``)
        and computes the shares.
        """
        self.client.task_finalize(
            self.authority,
            task,
            scores=scores,
            model_cid=model_cid,
            model_digest=model_digest(model_cid),
            attestations=attestations,
        )

    def close(self, task: Pubkey) -> int:
        """Close a settled task every stake was claimed on; return the rent it got back.

        The round records go in batches, then the task account (the vault) itself; the
        program refuses while a stake is unclaimed or if the vault holds more than its
        rent and the unpaid pool.
        """
        before = self.client.balance(self.authority.pubkey())
        sent = self.client.task_close(self.authority, task)
        fees = sum(result.fee for result in sent.results)
        return self.client.balance(self.authority.pubkey()) - before + fees


def _signed_scores(report: RoundReport) -> dict[str, Any]:
    """What the decryptors signed of a scored round, for anyone to check the scores by
    (``fl_app.roles.round_scores``): a committee's body parts, shares and signatures, or
    the key holder's scalars and signature."""
    scores = report.committee_scores
    if scores is not None:
        assert report.reference_update is not None
        return {
            "reference_sha256": reference_sha256(report.reference_update),
            "committee": {
                "scale": scores.scale,
                "bodies": list(scores.bodies),
                "decrypting": list(scores.decrypting),
                "shares": [list(member) for member in scores.shares],
                "attestations": [a.to_hex() for a in scores.attestations],
            },
        }
    return {
        "decrypted": (
            None if report.decrypted_scalars is None else report.decrypted_scalars.tolist()
        ),
        "scores_attestation": (
            None if report.scores_attestation is None else report.scores_attestation.to_hex()
        ),
    }
