"""Scores from the recorded rounds, trusting only what the key holder signed.

A round's pinned manifest is written by the organisation. The chain holds the digest of
its encrypted-aggregation manifest (attested by the key holder when the round was
recorded), and the manifest carries the scalars the key holder decrypted with its
signature of them (`strategy.attestation.scores_message`). Scores are derived here from
those signed scalars alone, never from the organisation's own ``scalars`` table, so an
organisation that edits a manifest to favour a wallet of its own, or to drop an honest
participant, gets scores the key holder will not attest and the chain will not accept.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from solders.pubkey import Pubkey

from fl_app.errors import FlAppError

if TYPE_CHECKING:
    from fl_app.chain import RoundAccount, StakingClient, TaskAccount
    from fl_app.ipfs import IpfsClient
from strategy import RoundManifest
from strategy.attestation import Attestation, scores_message
from strategy.contribution import ContributionLedger, RoundScalars, scalars_from_decrypted

__all__ = ["RecordedRound", "fetch_rounds", "signed_round_scalars", "weights_from_rounds"]


@dataclass(frozen=True)
class RecordedRound:
    """A Round account and the manifest its CID names."""

    account: RoundAccount
    manifest: dict[str, Any]


def fetch_rounds(
    client: StakingClient,
    ipfs: IpfsClient,
    task: TaskAccount,
    advance: Callable[[], object] | None = None,
) -> list[RecordedRound]:
    """Every recorded round of ``task`` with its verified manifest, in order."""
    from fl_app.ipfs import fetch_manifest

    found: list[RecordedRound] = []
    for index in range(task.rounds_recorded):
        account = client.round(task.address, index)
        manifest = fetch_manifest(ipfs, account.manifest_cid)
        # A skipped round is not recorded, so Flower's round numbers only increase.
        number = manifest.get("round")
        previous = found[-1].manifest["round"] if found else 0
        if (
            manifest.get("task") != str(task.address)
            or not isinstance(number, int)
            or number <= previous
        ):
            raise FlAppError(
                f"manifest {account.manifest_cid} recorded as round {index + 1} of task "
                f"{task.address} describes round {number} of task "
                f"{manifest.get('task')}: the record is inconsistent"
            )
        found.append(RecordedRound(account, manifest))
        if advance is not None:
            advance()
    return found


def signed_round_scalars(
    manifest: Mapping[str, Any], manifest_digest: bytes, key_holder: Pubkey
) -> dict[str, RoundScalars]:
    """Each scored wallet's scalars in one recorded round (empty if it was not scored).

    Raises
    ------
    FlAppError
        The manifest's commitments are not the ones recorded on chain, or its scalars
        do not carry ``key_holder``'s valid signature.
    """
    number = manifest.get("round")
    scoring = manifest.get("scoring")
    if not scoring:  # a round the key holder did not score earns nothing
        return {}
    try:
        aggregation = RoundManifest.from_json(json.dumps(manifest["encrypted_aggregation"]))
        values = np.asarray(scoring["decrypted"], dtype=np.float64)
        reference_norm = float(scoring["reference_norm"])
        weight_scale = float(scoring["weight_scale"])
        attestation = Attestation.from_hex(str(scoring["scores_attestation"]))
    except (KeyError, TypeError, ValueError) as err:
        raise FlAppError(
            f"round {number}'s manifest has no signed scalars ({type(err).__name__}: {err})"
        ) from None
    digest = bytes.fromhex(aggregation.digest())
    if digest != manifest_digest:
        raise FlAppError(
            f"round {number}'s manifest lists other commitments than the round recorded "
            "on chain: it was altered after the key holder attested it"
        )
    if attestation.signer != bytes(key_holder):
        raise FlAppError(
            f"round {number}'s scalars are signed by {Pubkey(attestation.signer)}, not by "
            f"the task's key holder {key_holder}"
        )
    try:
        message = scores_message(digest, reference_norm, values)
        VerifyKey(attestation.signer).verify(message, attestation.signature)
    except (ValueError, BadSignatureError):
        raise FlAppError(
            f"round {number}'s scalars are not the ones the key holder {key_holder} "
            "decrypted and signed: the manifest was altered"
        ) from None
    commitments = aggregation.commitments
    derived = scalars_from_decrypted(
        values,
        [c.weight for c in commitments],
        weight_scale=weight_scale,
        reference_norm=reference_norm,
    )
    return {c.signer: s for c, s in zip(commitments, derived, strict=True) if s is not None}


def weights_from_rounds(
    rounds: Sequence[RecordedRound], participants: Sequence[str], key_holder: Pubkey
) -> list[int]:
    """``u64`` scores of ``participants`` over the recorded ``rounds``, from the scalars
    ``key_holder`` signed (see `strategy.contribution`)."""
    ledger = ContributionLedger()
    for recorded in rounds:
        manifest = recorded.manifest
        scalars = signed_round_scalars(manifest, recorded.account.manifest_digest, key_holder)
        if scalars:
            scoring = manifest["scoring"]
            ledger.add_round(
                manifest["round"],
                scalars,
                reference_norm=float(scoring["reference_norm"]),
                weight_scale=float(scoring["weight_scale"]),
            )
    return ledger.weights(list(participants))
