"""Scores from the recorded rounds, trusting only what the task's decryptors signed.

A round's pinned manifest is written by the organisation. The chain holds the digest of
its encrypted-aggregation manifest (attested by the decryptors when the round was
recorded), and the manifest carries what they decrypted of the scores with their
signatures:

- a committee's members each sign the body parts, the reference's digest and scale and
  their own shares (`strategy.attestation.committee_scores_message`); the scalars are
  decoded here from the shares of every member of a decrypting set of at least the
  task's threshold, and the reference is fetched by its CID and checked against the
  digest they signed;
- a key holder signs the scalars themselves (`strategy.attestation.scores_message`).

Scores are derived from that signed material alone, never from the organisation's own
``scalars`` table, so an organisation that edits a manifest to favour a wallet of its
own, or to drop an honest participant, gets scores the decryptors will not attest and
the chain will not accept.
"""

from __future__ import annotations

import io
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
from strategy.attestation import Attestation, committee_scores_message, scores_message
from strategy.contribution import (
    ContributionLedger,
    RoundScalars,
    scalars_from_decrypted,
    scalars_from_inner,
)
from strategy.reference import reference_sha256
from strategy.threshold.scoring import DecryptedScores

__all__ = ["RecordedRound", "fetch_rounds", "signed_round_scalars", "weights_from_rounds"]


@dataclass(frozen=True)
class RecordedRound:
    """A Round account, the manifest its CID names and, for a scored round, the
    reference update the manifest pins."""

    account: RoundAccount
    manifest: dict[str, Any]
    reference: np.ndarray | None = None


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
        found.append(RecordedRound(account, manifest, _reference(ipfs, manifest)))
        if advance is not None:
            advance()
    return found


def _reference(ipfs: IpfsClient, manifest: Mapping[str, Any]) -> np.ndarray | None:
    """The reference update a scored round's manifest pins, fetched by its CID."""
    from fl_app.ipfs import fetch_verified

    scoring = manifest.get("scoring")
    if not scoring or "committee" not in scoring:
        return None  # a key holder signs the reference's norm with the scalars
    try:
        data = fetch_verified(ipfs, str(scoring["reference_update_cid"]), what="reference")
        return np.asarray(np.load(io.BytesIO(data), allow_pickle=False), dtype=np.float64)
    except (KeyError, ValueError, OSError) as err:
        raise FlAppError(
            f"round {manifest.get('round')}'s reference update cannot be read "
            f"({type(err).__name__}: {err})"
        ) from None


def signed_round_scalars(
    recorded: RecordedRound, task: TaskAccount
) -> tuple[dict[str, RoundScalars], float]:
    """Each scored wallet's scalars in one recorded round, and ``||g0||``.

    Empty (and 0.0) if the round was not scored.

    Raises
    ------
    FlAppError
        The manifest's commitments are not the ones recorded on chain, or its scores do
        not carry the valid signatures of the task's decryptors.
    """
    manifest = recorded.manifest
    number = manifest.get("round")
    scoring = manifest.get("scoring")
    if not scoring:  # a round the decryptors did not score earns nothing
        return {}, 0.0
    try:
        aggregation = RoundManifest.from_json(json.dumps(manifest["encrypted_aggregation"]))
        weight_scale = float(scoring["weight_scale"])
    except (KeyError, TypeError, ValueError) as err:
        raise FlAppError(
            f"round {number}'s manifest has no signed scalars ({type(err).__name__}: {err})"
        ) from None
    digest = bytes.fromhex(aggregation.digest())
    if digest != recorded.account.manifest_digest:
        raise FlAppError(
            f"round {number}'s manifest lists other commitments than the round recorded "
            "on chain: it was altered after its decryptors attested it"
        )
    weights = [c.weight for c in aggregation.commitments]
    if task.committee_size > 0:
        inner, reference_norm = _committee_inner_products(recorded, task, digest)
        if len(inner) != len(weights):
            raise FlAppError(f"round {number}'s scores are not one per committed input")
        derived: list[RoundScalars | None] = list(
            scalars_from_inner(inner, weights, weight_scale=weight_scale)
        )
    else:
        values, reference_norm = _key_holder_scalars(manifest, task.key_holder, digest)
        derived = scalars_from_decrypted(
            values, weights, weight_scale=weight_scale, reference_norm=reference_norm
        )
    scalars = {
        c.signer: s for c, s in zip(aggregation.commitments, derived, strict=True) if s is not None
    }
    return scalars, reference_norm


def _committee_inner_products(
    recorded: RecordedRound, task: TaskAccount, digest: bytes
) -> tuple[np.ndarray, float]:
    """``<w_i, g0>`` decoded from the shares of a decrypting set of the task's committee,
    each signed by its member, and ``||g0||`` of the reference they signed the digest of."""
    number = recorded.manifest.get("round")
    scoring = recorded.manifest["scoring"]
    try:
        committee = scoring["committee"]
        scores = DecryptedScores(
            scale=float(committee["scale"]),
            bodies=tuple(int(b) for b in committee["bodies"]),
            shares=tuple(tuple(int(v) for v in member) for member in committee["shares"]),
            decrypting=tuple(int(m) for m in committee["decrypting"]),
            attestations=tuple(Attestation.from_hex(str(a)) for a in committee["attestations"]),
        )
        signed_reference = bytes.fromhex(str(scoring["reference_sha256"]))
    except (KeyError, TypeError, ValueError) as err:
        raise FlAppError(
            f"round {number}'s manifest has no committee scores ({type(err).__name__}: {err})"
        ) from None
    members = scores.decrypting
    if (
        len(set(members)) != len(members)
        or len(members) < task.attestor_threshold
        or not all(1 <= m <= len(task.attestors) for m in members)
    ):
        raise FlAppError(
            f"round {number}'s scores name members {list(members)}, not {task.attestor_threshold} "
            f"distinct members of the task's committee of {len(task.attestors)}"
        )
    if not len(scores.shares) == len(scores.attestations) == len(members):
        raise FlAppError(f"round {number}'s scores lack a member's shares or signature")
    for member, shares, attestation in zip(
        members, scores.shares, scores.attestations, strict=True
    ):
        wallet = task.attestors[member - 1]
        try:
            if attestation.signer != bytes(wallet):
                raise ValueError("another signer")
            message = committee_scores_message(
                digest, signed_reference, scores.scale, scores.bodies, members, shares
            )
            VerifyKey(attestation.signer).verify(message, attestation.signature)
        except (ValueError, BadSignatureError):
            raise FlAppError(
                f"round {number}'s score shares of member {member} are not the ones its "
                f"wallet {wallet} released and signed: the manifest was altered"
            ) from None
    reference = recorded.reference
    if reference is None or bytes.fromhex(reference_sha256(reference)) != signed_reference:
        raise FlAppError(
            f"round {number}'s pinned reference update is not the one the committee fixed"
        )
    return scores.inner_products(), float(np.linalg.norm(reference))


def _key_holder_scalars(
    manifest: Mapping[str, Any], key_holder: Pubkey, digest: bytes
) -> tuple[np.ndarray, float]:
    """The ``[<w_i, g0>, ||w_i||^2]`` table and ``||g0||`` the key holder signed."""
    number = manifest.get("round")
    scoring = manifest["scoring"]
    try:
        values = np.asarray(scoring["decrypted"], dtype=np.float64)
        reference_norm = float(scoring["reference_norm"])
        attestation = Attestation.from_hex(str(scoring["scores_attestation"]))
    except (KeyError, TypeError, ValueError) as err:
        raise FlAppError(
            f"round {number}'s manifest has no signed scalars ({type(err).__name__}: {err})"
        ) from None
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
    return values, reference_norm


def weights_from_rounds(
    rounds: Sequence[RecordedRound], participants: Sequence[str], task: TaskAccount
) -> list[int]:
    """``u64`` scores of ``participants`` over the recorded ``rounds``, from the scores
    ``task``'s decryptors signed (see `strategy.contribution`)."""
    ledger = ContributionLedger()
    for recorded in rounds:
        scalars, reference_norm = signed_round_scalars(recorded, task)
        if scalars:
            ledger.add_round(
                recorded.manifest["round"],
                scalars,
                reference_norm=reference_norm,
                weight_scale=float(recorded.manifest["scoring"]["weight_scale"]),
            )
    return ledger.weights(list(participants))
