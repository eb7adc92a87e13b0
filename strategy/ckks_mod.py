"""Client-side Flower mod that encrypts a train reply's update under CKKS.

Add it to an existing ClientApp, ``ClientApp(mods=[ckks_mod])``; the app's train
function is unchanged. The mod lets the app train, then replaces the reply's plaintext
ArrayRecord by the encrypted, pre-weighted update ``n_k * s * (w_k - w_global)`` (``s`` is
the strategy's ``weight_scale``) plus a commitment to its ciphertexts, bound to the task,
round, node and (when the round is scored) the reference update the server committed
to before training. The MetricRecord is passed on unchanged.

The public context reaches the mod through the train message's ConfigRecord
(``ckks-context``), or, if the strategy does not send it, from the file named by the
node-config key ``ckks-public-context``. A participant should pin the task's context with
the node-config key ``ckks-context-sha256`` (the fingerprint recorded for the task): a
server that sent a context of its own making could decrypt the update. Without a pin the
mod warns on every round. With a ``wallet-keypair`` node-config key the commitment is
signed by the participant's wallet.

Fails closed: a train message without the CKKS configuration, a context carrying a
secret key, a pin mismatch or an update too large for the modulus raise an error
instead of sending anything.
"""

from __future__ import annotations

from logging import WARNING
from pathlib import Path
from typing import cast

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MessageType, RecordDict
from flwr.clientapp.typing import ClientAppCallable
from flwr.common.logger import log

from .ckks import (
    chunks_to_arrayrecord,
    context_fingerprint,
    flatten_arrays,
    load_public_context,
    sha256_hex,
)
from .constants import (
    CONFIG_CONTEXT,
    CONFIG_CONTEXT_SHA256,
    CONFIG_MAX_ABS,
    CONFIG_REFERENCE_SHA256,
    CONFIG_TASK_ID,
    CONFIG_WEIGHT_KEY,
    CONFIG_WEIGHT_SCALE,
    KEY_COMMITMENT_JSON,
    NODE_CONFIG_CONTEXT_PIN,
    NODE_CONFIG_PUBLIC_CONTEXT,
    NODE_CONFIG_WALLET,
    NUM_EXAMPLES,
    RECORD_COMMITMENT,
    RECORD_UPDATE,
    SERVER_ROUND,
)
from .exceptions import (
    CiphertextSizeError,
    ContextMismatchError,
    MalformedReplyError,
    PlaintextOverflowError,
)
from .manifest import UpdateCommitment
from .packing import Packing, packing_for
from .wallet import Wallet

_PACKINGS: dict[str, Packing] = {}
_WARNED_UNPINNED: set[str] = set()


def ckks_mod(msg: Message, ctxt: Context, call_next: ClientAppCallable) -> Message:
    """Encrypt the update in a train reply; pass other messages through.

    Parameters
    ----------
    msg : Message
        Incoming message; only ``train`` messages are touched.
    ctxt : Context
        The node's context (node config supplies the context pin and wallet).
    call_next : ClientAppCallable
        The wrapped train function.

    Returns
    -------
    Message
        The reply with the plaintext ArrayRecord replaced by ``ckks-update`` and
        ``ckks-commitment`` records.
    """
    if msg.metadata.message_type.split(".")[0] != MessageType.TRAIN:
        return call_next(msg, ctxt)
    config = _train_config(msg)
    packing, context_sha256 = _public_packing(config, ctxt)
    global_arrays = _only_arrayrecord(msg.content, "train message")

    reply = call_next(msg, ctxt)
    if reply.has_error():
        return reply
    local_arrays = _only_arrayrecord(reply.content, "train reply")
    if list(local_arrays.keys()) != list(global_arrays.keys()):
        raise CiphertextSizeError("the trained model has other parameter names than the global one")

    weight_key = str(config.get(CONFIG_WEIGHT_KEY, NUM_EXAMPLES))
    weight = float(cast(float, config[CONFIG_WEIGHT_SCALE])) * _num_examples(reply, weight_key)
    delta = flatten_arrays(local_arrays) - flatten_arrays(global_arrays)
    weighted = weight * delta
    max_abs = float(cast(float, config[CONFIG_MAX_ABS]))
    if weighted.size and float(np.max(np.abs(weighted))) > max_abs:
        raise PlaintextOverflowError(
            f"pre-weighted update reaches {float(np.max(np.abs(weighted))):.3g}, above the "
            f"per-update bound {max_abs:.3g}; lower the strategy's weight_scale"
        )
    chunks = packing.encrypt(weighted)
    commitment = UpdateCommitment(
        task_id=str(config[CONFIG_TASK_ID]),
        server_round=int(cast(int, config[SERVER_ROUND])),
        node_id=msg.metadata.dst_node_id,
        context_sha256=context_sha256,
        weight=weight,
        num_values=int(delta.size),
        chunk_sha256=tuple(sha256_hex(chunk) for chunk in chunks),
        reference_sha256=str(config.get(CONFIG_REFERENCE_SHA256, "")),
    )
    wallet_path = ctxt.node_config.get(NODE_CONFIG_WALLET)
    if wallet_path:
        commitment = commitment.signed_by(Wallet.from_keypair_file(str(wallet_path)))

    content = RecordDict()
    for key, record in reply.content.items():
        if not isinstance(record, ArrayRecord):
            content[key] = record
    content[RECORD_UPDATE] = chunks_to_arrayrecord(chunks)
    content[RECORD_COMMITMENT] = ConfigRecord({KEY_COMMITMENT_JSON: commitment.to_json()})
    return Message(content, reply_to=msg)


def _train_config(msg: Message) -> ConfigRecord:
    for record in msg.content.config_records.values():
        if CONFIG_TASK_ID in record:
            return record
    raise MalformedReplyError(
        "ckks_mod received a train message without CKKS configuration; the server is "
        "not running EncryptedFedAvg, so the update is not sent in plaintext"
    )


def _public_packing(config: ConfigRecord, ctxt: Context) -> tuple[Packing, str]:
    if CONFIG_CONTEXT in config:
        context_bytes = bytes(cast(bytes, config[CONFIG_CONTEXT]))
    elif NODE_CONFIG_PUBLIC_CONTEXT in ctxt.node_config:
        context_bytes = Path(str(ctxt.node_config[NODE_CONFIG_PUBLIC_CONTEXT])).read_bytes()
    else:
        raise ContextMismatchError(
            "no public context: the train config has no ckks-context and the node "
            "config no ckks-public-context path"
        )
    fingerprint = context_fingerprint(context_bytes)
    announced = config.get(CONFIG_CONTEXT_SHA256)
    if announced is not None and announced != fingerprint:
        raise ContextMismatchError("the public context does not hash to the announced SHA-256")
    pin = ctxt.node_config.get(NODE_CONFIG_CONTEXT_PIN)
    if pin is None and fingerprint not in _WARNED_UNPINNED:
        _WARNED_UNPINNED.add(fingerprint)
        log(
            WARNING,
            "ckks_mod: no ckks-context-sha256 pin in the node config; trusting the "
            "server's public context %s. Pin the task's context fingerprint.",
            fingerprint[:16],
        )
    elif pin is not None and pin != fingerprint:
        raise ContextMismatchError(
            f"the server's public context {fingerprint[:16]} is not the pinned task "
            f"context {str(pin)[:16]}; refusing to encrypt under it"
        )
    if fingerprint not in _PACKINGS:
        _PACKINGS[fingerprint] = packing_for(load_public_context(context_bytes))
    return _PACKINGS[fingerprint], fingerprint


def _only_arrayrecord(content: RecordDict, what: str) -> ArrayRecord:
    records = list(content.array_records.values())
    if len(records) != 1:
        raise MalformedReplyError(f"{what} must carry exactly one ArrayRecord, got {len(records)}")
    return records[0]


def _num_examples(reply: Message, weight_key: str) -> float:
    for record in reply.content.metric_records.values():
        if weight_key in record:
            value = record[weight_key]
            if isinstance(value, int | float) and value > 0:
                return float(value)
    raise MalformedReplyError(f"train reply has no positive '{weight_key}' metric")
