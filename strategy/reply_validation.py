"""Server-side validation of encrypted train replies, before any aggregation.

Each reply is checked on its own (records present, commitment bound to this task, round
and sender, context, size, digests, ciphertexts parse) and a rejected reply is logged
with its reason and dropped; the round goes on with the rest.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from logging import INFO, WARNING
from typing import Any

from flwr.app import Message, RecordDict
from flwr.common.logger import log

from .ckks import arrayrecord_to_chunks, sha256_hex
from .constants import KEY_COMMITMENT_JSON, RECORD_COMMITMENT, RECORD_UPDATE
from .exceptions import (
    CiphertextSizeError,
    ContextMismatchError,
    DigestMismatchError,
    EncryptedAggregationError,
    MalformedReplyError,
    ReferenceMismatchError,
    ReplayError,
)
from .manifest import UpdateCommitment
from .packing import Packing


@dataclass(frozen=True)
class ExpectedUpdate:
    """What every encrypted update of a round must match.

    Attributes
    ----------
    packing : Packing
        How the task's public context packs values into ciphertexts.
    context_sha256 : str
        Its fingerprint.
    task_id : str
        Task identifier.
    server_round : int
        Current round.
    num_values : int
        Number of model parameters.
    weight_key : str
        Metric holding the participant's number of examples.
    weight_scale : float
        Factor the participant multiplies its number of examples by.
    reference_sha256 : str
        The reference update committed in this round's train config ("" if none).
    """

    packing: Packing
    context_sha256: str
    task_id: str
    server_round: int
    num_values: int
    weight_key: str
    weight_scale: float
    reference_sha256: str = ""


@dataclass(frozen=True)
class AcceptedUpdate:
    """A validated encrypted update."""

    node_id: int
    commitment: UpdateCommitment
    chunks: list[bytes]
    ciphertexts: list[Any]
    content: RecordDict


def validate_reply(msg: Message, expected: ExpectedUpdate) -> AcceptedUpdate:
    """Validate one train reply.

    Raises
    ------
    EncryptedAggregationError
        A specific subclass saying what is wrong with the reply.
    """
    content = msg.content
    node_id = msg.metadata.src_node_id
    if set(content.array_records) != {RECORD_UPDATE}:
        raise MalformedReplyError(
            f"expected only the '{RECORD_UPDATE}' ArrayRecord, got "
            f"{sorted(content.array_records)}; is ckks_mod installed on the ClientApp?"
        )
    if RECORD_COMMITMENT not in content.config_records:
        raise MalformedReplyError(f"no '{RECORD_COMMITMENT}' ConfigRecord")
    commitment = UpdateCommitment.from_json(
        str(content.config_records[RECORD_COMMITMENT].get(KEY_COMMITMENT_JSON, ""))
    )
    commitment.check_bound_to(expected.task_id, expected.server_round, node_id)
    if commitment.context_sha256 != expected.context_sha256:
        raise ContextMismatchError("update is encrypted under another public context")
    if commitment.reference_sha256 != expected.reference_sha256:
        raise ReferenceMismatchError(
            "commitment names another reference update than the round's train config"
        )
    if commitment.num_values != expected.num_values:
        raise CiphertextSizeError(
            f"update has {commitment.num_values} values, the model {expected.num_values}"
        )
    claimed = _num_examples(content, expected.weight_key)
    if not math.isclose(commitment.weight, expected.weight_scale * claimed, rel_tol=1e-9):
        raise MalformedReplyError(
            f"committed weight {commitment.weight} is not weight_scale x "
            f"{expected.weight_key} ({claimed})"
        )
    chunks = arrayrecord_to_chunks(content.array_records[RECORD_UPDATE])
    if len(chunks) != len(commitment.chunk_sha256):
        raise CiphertextSizeError("number of ciphertexts differs from the commitment")
    if tuple(sha256_hex(chunk) for chunk in chunks) != commitment.chunk_sha256:
        raise DigestMismatchError("ciphertexts do not hash to the committed SHA-256")
    ciphertexts = expected.packing.load(chunks, expected.num_values)
    if expected.packing.root_of(ciphertexts) != commitment.vector_root:
        raise DigestMismatchError("the committed vector root is not the update's")
    return AcceptedUpdate(node_id, commitment, chunks, ciphertexts, content)


def validate_replies(replies: Iterable[Message], expected: ExpectedUpdate) -> list[AcceptedUpdate]:
    """Validate a batch of replies, logging and dropping every rejected one."""
    accepted: list[AcceptedUpdate] = []
    seen_chunks: set[str] = set()
    for msg in replies:
        node_id = msg.metadata.src_node_id
        if msg.has_error():
            log(WARNING, "Dropped reply of node %d: error %s", node_id, msg.error.reason)
            continue
        try:
            update = validate_reply(msg, expected)
            if seen_chunks.intersection(update.commitment.chunk_sha256):
                raise ReplayError("ciphertext already submitted by another node this round")
        except EncryptedAggregationError as err:
            log(WARNING, "Dropped reply of node %d: %s: %s", node_id, type(err).__name__, err)
            continue
        seen_chunks.update(update.commitment.chunk_sha256)
        accepted.append(update)
    log(INFO, "aggregate_train: %d encrypted updates accepted", len(accepted))
    return accepted


def _num_examples(content: RecordDict, weight_key: str) -> float:
    records = list(content.metric_records.values())
    if len(records) != 1 or weight_key not in records[0]:
        raise MalformedReplyError(f"expected one MetricRecord with '{weight_key}'")
    value = records[0][weight_key]
    if isinstance(value, list) or not value > 0:
        raise MalformedReplyError(f"'{weight_key}' must be a positive number")
    return float(value)
