"""The organisation: funds a task, publishes what participants need, records and settles.

Everything a participant or an auditor needs to check the task is content-addressed:
the task's Flower App Bundle and the CKKS public context are pinned before the task is
created (their CIDs go into the Task account; the bundle's CID carries its SHA-256),
and each round's manifest and model checkpoint are pinned before ``round_record`` puts
the manifest CID on chain.
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
from fl_app.run_report import RoundReport
from strategy.attestation import Attestation, model_digest
from strategy.contribution import round_contributions

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
        key_holder: Pubkey,
        public_context: bytes,
        template_dir: Path,
    ) -> Pubkey:
        """Build and pin the task's bundle and the public context, then create the task.

        Raises
        ------
        BundleError
            If ``template_dir`` is not a Flower App, is too large, or holds a secret.
        """
        template_cid = pin_template(self.ipfs, template_dir)
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
                key_holder=key_holder,
                template_cid=template_cid,
                he_context_cid=context_cid,
            ),
        )
        return task_address(self.authority.pubkey(), plan.task_id)

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
                "decrypted": (
                    None
                    if report.decrypted_scalars is None
                    else np.asarray(report.decrypted_scalars).tolist()
                ),
                "scores_attestation": (
                    None
                    if report.scores_attestation is None
                    else report.scores_attestation.to_hex()
                ),
            }
        if not report.attestations or report.manifest is None:
            raise ValueError(
                f"round {report.server_round} has no key-holder attestation of its "
                "contributors; the chain refuses to record it"
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
