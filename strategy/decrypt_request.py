"""Decryption requests from the aggregator to the key holder, and their Flower encoding.

A request names an operation (``kind``), the round manifest, the committed inputs it
covers with their ciphertexts, and the aggregate the aggregator computed. The key holder
recomputes the aggregate itself and decrypts only that (see ``KeyHolder``). A scoring
request (``"inner-product"``) carries the round's plaintext reference update instead of
an aggregate; the key holder computes the encrypted scalars itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, RecordDict

from .attestation import Attestation
from .ckks import arrayrecord_to_chunks, chunks_to_arrayrecord
from .constants import (
    ARRAY_DTYPE,
    ARRAY_STYPE,
    KEY_ATTESTATION,
    KEY_INPUT_NODE_IDS,
    KEY_KIND,
    KEY_MANIFEST_JSON,
    KEY_MANIFEST_SHA256,
    KEY_VALUES,
    RECORD_AGGREGATE,
    RECORD_INPUTS,
    RECORD_PLAINTEXT,
    RECORD_REFERENCE,
    RECORD_REQUEST,
)
from .exceptions import MalformedCiphertextError, MalformedReplyError
from .manifest import RoundManifest


@dataclass(frozen=True)
class DecryptRequest:
    """What the aggregator asks the key holder to decrypt.

    Attributes
    ----------
    kind : str
        Operation: ``"weighted-sum"`` (the sum of the inputs) or ``"inner-product"``
        (per input, ``<w_i, reference>`` and ``||w_i||^2``).
    manifest : RoundManifest
        The round manifest with every accepted commitment.
    input_node_ids : tuple[int, ...]
        Nodes whose committed updates the aggregate is claimed to sum.
    inputs : dict[int, list[bytes]]
        Serialized ciphertext chunks of each input node.
    aggregate : list[bytes]
        Serialized chunks of the aggregate the aggregator computed (empty for scores).
    reference : np.ndarray | None
        The round's reference update ``g0`` (scoring requests only).
    """

    kind: str
    manifest: RoundManifest
    input_node_ids: tuple[int, ...]
    inputs: dict[int, list[bytes]]
    aggregate: list[bytes]
    reference: np.ndarray | None = field(default=None, compare=False)

    def to_recorddict(self) -> RecordDict:
        """Encode as Flower message content."""
        input_arrays: dict[str, Array] = {}
        for node_id, chunks in self.inputs.items():
            for index, chunk in enumerate(chunks):
                input_arrays[f"{node_id}:{index}"] = Array(
                    dtype=ARRAY_DTYPE, shape=(len(chunk),), stype=ARRAY_STYPE, data=chunk
                )
        content = RecordDict(
            {
                RECORD_REQUEST: ConfigRecord(
                    {
                        KEY_KIND: self.kind,
                        KEY_MANIFEST_JSON: self.manifest.to_json(),
                        KEY_INPUT_NODE_IDS: list(self.input_node_ids),
                    }
                ),
                RECORD_INPUTS: ArrayRecord(input_arrays),
                RECORD_AGGREGATE: chunks_to_arrayrecord(self.aggregate),
            }
        )
        if self.reference is not None:
            reference = np.asarray(self.reference, dtype=np.float64)
            content[RECORD_REFERENCE] = ArrayRecord({KEY_VALUES: Array(reference)})
        return content

    @classmethod
    def from_recorddict(cls, content: RecordDict) -> DecryptRequest:
        """Decode message content, refusing anything that is not a well-formed request."""
        try:
            config = content.config_records[RECORD_REQUEST]
            input_record = content.array_records[RECORD_INPUTS]
            aggregate_record = content.array_records[RECORD_AGGREGATE]
            node_ids = tuple(int(n) for n in config[KEY_INPUT_NODE_IDS])  # type: ignore[union-attr]
            kind = str(config[KEY_KIND])
            manifest = RoundManifest.from_json(str(config[KEY_MANIFEST_JSON]))
        except (KeyError, TypeError, ValueError) as err:
            raise MalformedReplyError(f"decryption request is incomplete: {err}") from err
        inputs: dict[int, list[bytes]] = {}
        for key, array in input_record.items():
            node_text, _, index_text = key.partition(":")
            if array.stype != ARRAY_STYPE or not node_text.lstrip("-").isdigit():
                raise MalformedCiphertextError(f"input {key!r} is not a ciphertext chunk")
            chunks = inputs.setdefault(int(node_text), [])
            if index_text != str(len(chunks)):
                raise MalformedCiphertextError(f"input {key!r} is out of order")
            chunks.append(bytes(array.data))
        reference = None
        if RECORD_REFERENCE in content.array_records:
            values = content.array_records[RECORD_REFERENCE].get(KEY_VALUES)
            if values is None or values.dtype != "float64":
                raise MalformedReplyError("the reference update must be a float64 array")
            reference = np.asarray(values.numpy(), dtype=np.float64).ravel()
        return cls(
            kind=kind,
            manifest=manifest,
            input_node_ids=node_ids,
            inputs=inputs,
            aggregate=arrayrecord_to_chunks(aggregate_record),
            reference=reference,
        )


def plaintext_reply_content(
    values: np.ndarray, manifest_sha256: str, attestation: Attestation | None = None
) -> RecordDict:
    """Content of the key holder's reply: the decrypted aggregate and, for a sum, the
    key holder's signed attestation of its contributors."""
    request: dict[str, str] = {KEY_MANIFEST_SHA256: manifest_sha256}
    if attestation is not None:
        request[KEY_ATTESTATION] = attestation.to_hex()
    return RecordDict(
        {
            RECORD_PLAINTEXT: ArrayRecord({KEY_VALUES: Array(np.asarray(values))}),
            RECORD_REQUEST: ConfigRecord(request),  # type: ignore[arg-type]
        }
    )


def attestation_from_reply(content: RecordDict) -> Attestation | None:
    """The key holder's attestation in a reply, if it sent one."""
    record = content.config_records.get(RECORD_REQUEST)
    text = None if record is None else record.get(KEY_ATTESTATION)
    if not text:
        return None
    try:
        return Attestation.from_hex(str(text))
    except ValueError as err:
        raise MalformedReplyError(f"key holder attestation is malformed: {err}") from err


def plaintext_from_reply(content: RecordDict, manifest_sha256: str) -> np.ndarray:
    """Extract the decrypted aggregate, checking it answers the given manifest."""
    try:
        echoed = content.config_records[RECORD_REQUEST][KEY_MANIFEST_SHA256]
        values = content.array_records[RECORD_PLAINTEXT][KEY_VALUES].numpy()
    except KeyError as err:
        raise MalformedReplyError(f"key holder reply is incomplete: {err}") from err
    if echoed != manifest_sha256:
        raise MalformedReplyError("key holder answered a different manifest")
    return np.asarray(values, dtype=np.float64)
