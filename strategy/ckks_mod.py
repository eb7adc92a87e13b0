"""Client-side Flower mod that encrypts a train reply's update under CKKS.

Add it to an existing ClientApp, ``ClientApp(mods=[ckks_mod])``; the app's train
function is unchanged. The mod lets the app train, then replaces the reply's plaintext
ArrayRecord by the encrypted, pre-weighted update ``n_k * s * (w_k - w_global)`` (``s`` is
the strategy's ``weight_scale``) plus a commitment to its ciphertexts, bound to the task,
round, node and (when the round is scored) the reference update the server committed
to before training. The MetricRecord is passed on unchanged.

The public context reaches the mod once per run: the strategy sends it (``ckks-context``)
in the first train message a node gets, and the mod keeps the verified bytes in the
node's ``Context.state``, which the SuperNode keeps across messages of a run (also
when every message runs in a fresh ClientApp process). Later train messages carry only
its fingerprint (``ckks-context-sha256``). If the strategy never sends it, the mod reads
the file named by the node-config key ``ckks-public-context``. Every round the bytes the
mod encrypts under are hashed again and must equal the announced fingerprint, the
context the node accepted earlier in the run, and the participant's pin, the node-config
key ``ckks-context-sha256`` (the fingerprint recorded for the task): a server that sent
a context of its own making could decrypt the update. Without a pin the mod warns once
per context, and still refuses a context that differs from the run's first. With a
``wallet-keypair`` node-config key the commitment is signed by the participant's wallet.

The verified bytes are also cached on disk by fingerprint (``$CKKS_CONTEXT_CACHE``, by
default ``~/.cache/flwr-encrypted-fedavg/contexts``): Flower keeps the node state of the
message that finished last, so a concurrent message of the same run can drop it. A node
that holds the context neither way answers with a one-line error reply instead of
training; the strategy sends the context again in its next train message.

The public material may instead be a committee's collective public key (threshold
CKKS, ``strategy.threshold``): the mod then encrypts under it, commits the Merkle root of
the encrypted vector that committee members spot-check, and first checks that every
member of the committee signed the key, made from this task's id. The committee's
wallets are pinned by the node-config key ``ckks-committee-wallets`` (or, for nodes that
read it elsewhere, by the loader given to ``signing_ckks_mod``); without a pin the
server's list is trusted with a warning. With node config ``ckks-own-updates`` (a
directory) the participant keeps each encrypted vector it sends there, named by its
committed root: with the round's published reference it can recompute its own
contribution scalar's body part and catch an aggregator that moved part of it to another
input (``strategy.threshold.scoring.own_body_part``).

Fails closed: a train message without the CKKS configuration, a context carrying a
secret key, a pin mismatch or an update too large for the modulus raise an error
instead of sending anything.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from logging import WARNING
from pathlib import Path
from typing import cast

import numpy as np
from flwr.app import (
    ArrayRecord,
    ConfigRecord,
    Context,
    Error,
    Message,
    MessageType,
    RecordDict,
)
from flwr.clientapp.typing import ClientAppCallable, Mod
from flwr.common.constant import ErrorCode
from flwr.common.logger import log

from .ckks import (
    chunks_to_arrayrecord,
    context_fingerprint,
    flatten_arrays,
    sha256_hex,
)
from .constants import (
    CONFIG_COMMITTEE_WALLETS,
    CONFIG_CONTEXT,
    CONFIG_CONTEXT_SHA256,
    CONFIG_KEY_SIGNATURES,
    CONFIG_MAX_ABS,
    CONFIG_REFERENCE_SHA256,
    CONFIG_TASK_ID,
    CONFIG_WEIGHT_KEY,
    CONFIG_WEIGHT_SCALE,
    KEY_COMMITMENT_JSON,
    NODE_CONFIG_COMMITTEE,
    NODE_CONFIG_CONTEXT_PIN,
    NODE_CONFIG_OWN_UPDATES,
    NODE_CONFIG_PUBLIC_CONTEXT,
    NUM_EXAMPLES,
    RECORD_COMMITMENT,
    RECORD_UPDATE,
    SERVER_ROUND,
    STATE_PUBLIC_CONTEXT,
)
from .exceptions import (
    CiphertextSizeError,
    ContextMismatchError,
    MalformedReplyError,
    PlaintextOverflowError,
)
from .manifest import UpdateCommitment
from .packing import Packing, packing_from_public
from .stake_gate import WalletLoader, wallet_from_node_config
from .threshold.errors import ThresholdCkksError
from .threshold.packing import ThresholdPacking
from .threshold.transport import check_key_signatures

_PACKINGS: dict[str, Packing] = {}
CONTEXT_CACHE_ENV = "CKKS_CONTEXT_CACHE"
"""Directory of the node's cache of verified public contexts (public data, by SHA-256)."""
_WARNED_UNPINNED: set[str] = set()

CommitteeLoader = Callable[[Context], Sequence[str]]
"""The task's committee wallets as this participant pinned them (empty: no pin)."""
KeptDirLoader = Callable[[Context], Path | None]
"""Where this participant keeps the encrypted vectors it sends (None: nowhere)."""


def committee_from_node_config(ctxt: Context) -> list[str]:
    """The committee pinned by node config ``ckks-committee-wallets`` (comma or space
    separated wallets, in member order)."""
    return str(ctxt.node_config.get(NODE_CONFIG_COMMITTEE, "")).replace(",", " ").split()


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
        ``ckks-commitment`` records, or an error reply (``MOD_FAILED_PRECONDITION``)
        without training when the node holds no public context.

    Raises
    ------
    ContextMismatchError
        If the public context does not hash to the announced fingerprint, differs from
        the one this node accepted earlier in the run, or is not the pinned one.
    """
    return _encrypt_train_reply(
        msg,
        ctxt,
        call_next,
        wallet_from_node_config,
        committee_from_node_config,
        kept_dir_from_node_config,
    )


def kept_dir_from_node_config(ctxt: Context) -> Path | None:
    """The directory named by node config ``ckks-own-updates``, if any."""
    kept = ctxt.node_config.get(NODE_CONFIG_OWN_UPDATES)
    return Path(str(kept)) if kept else None


def signing_ckks_mod(
    load_wallet: WalletLoader,
    load_committee: CommitteeLoader = committee_from_node_config,
    load_kept_dir: KeptDirLoader = kept_dir_from_node_config,
) -> Mod:
    """`ckks_mod` whose commitments are signed by the wallet ``load_wallet`` finds.

    For nodes whose wallet is not a node-config keypair file (for example simulated
    nodes, which cannot be given their own node config): the same loader as the stake
    prover's (`register_stake_prover`). ``load_committee`` gives the participant's pin
    of the task's committee wallets, which it reads from the chain, and
    ``load_kept_dir`` where it keeps the vectors it sends.
    """

    def mod(msg: Message, ctxt: Context, call_next: ClientAppCallable) -> Message:
        return _encrypt_train_reply(
            msg, ctxt, call_next, load_wallet, load_committee, load_kept_dir
        )

    return mod


def _encrypt_train_reply(
    msg: Message,
    ctxt: Context,
    call_next: ClientAppCallable,
    load_wallet: WalletLoader,
    load_committee: CommitteeLoader,
    load_kept_dir: KeptDirLoader,
) -> Message:
    if msg.metadata.message_type.split(".")[0] != MessageType.TRAIN:
        return call_next(msg, ctxt)
    config = _train_config(msg)
    context_bytes = _public_context_bytes(config, ctxt)
    if context_bytes is None:
        reason = (
            "ckks_mod: this node holds no public context "
            f"{str(config.get(CONFIG_CONTEXT_SHA256, ''))[:16]} (node state lost?); "
            "send it again"
        )
        log(WARNING, "%s", reason)
        return Message(Error(code=ErrorCode.MOD_FAILED_PRECONDITION, reason=reason), reply_to=msg)
    packing, context_sha256 = _verified_packing(context_bytes, config, ctxt, load_committee)
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
        vector_root=packing.vector_root(chunks),
    )
    wallet = load_wallet(ctxt)
    if wallet is not None:
        commitment = commitment.signed_by(wallet)
    kept = load_kept_dir(ctxt)
    if kept is not None and isinstance(packing, ThresholdPacking):
        _keep(kept / f"{commitment.vector_root}.bin", chunks[0])

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
            if CONFIG_CONTEXT_SHA256 not in record:
                raise MalformedReplyError(
                    "the train config announces no ckks-context-sha256; refusing to encrypt "
                    "under an unannounced public context"
                )
            return record
    raise MalformedReplyError(
        "ckks_mod received a train message without CKKS configuration; the server is "
        "not running EncryptedFedAvg, so the update is not sent in plaintext"
    )


def _public_context_bytes(config: ConfigRecord, ctxt: Context) -> bytes | None:
    """The context sent in this message, else the one held for the run, else the file."""
    if CONFIG_CONTEXT in config:
        return bytes(cast(bytes, config[CONFIG_CONTEXT]))
    held = ctxt.state.config_records.get(STATE_PUBLIC_CONTEXT)
    announced = str(config.get(CONFIG_CONTEXT_SHA256, ""))
    if held is not None and announced in held:
        return bytes(cast(bytes, held[announced]))
    path = ctxt.node_config.get(NODE_CONFIG_PUBLIC_CONTEXT)
    if path:
        return Path(str(path)).read_bytes()
    # Flower keeps the node state of whichever message of a run finished last, so a
    # concurrent message can drop what this one kept; the cache survives that. Its bytes
    # are hashed and checked like any others before use.
    cached = _context_cache_dir() / f"{announced}.bin"
    if announced.isalnum() and cached.is_file():
        return cached.read_bytes()
    return None


def _context_cache_dir() -> Path:
    default = Path.home() / ".cache" / "flwr-encrypted-fedavg" / "contexts"
    return Path(os.environ.get(CONTEXT_CACHE_ENV, default))


def _cache_context(fingerprint: str, context_bytes: bytes) -> None:
    """Write a verified context to the cache, whole or not at all."""
    cached = _context_cache_dir() / f"{fingerprint}.bin"
    if cached.is_file():
        return
    try:
        _keep(cached, context_bytes)
    except OSError as err:  # a read-only home only costs the resend
        log(WARNING, "ckks_mod: cannot cache the public context: %s", err)


def _keep(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as part:
        part.write(data)
    os.replace(part.name, path)


def _verified_packing(
    context_bytes: bytes, config: ConfigRecord, ctxt: Context, load_committee: CommitteeLoader
) -> tuple[Packing, str]:
    """Check ``context_bytes`` against the announced, held and pinned fingerprints.

    The bytes are hashed on every call, also when they come from the node state, so a
    changed state or a swapped context cannot pass as the accepted one.
    """
    fingerprint = context_fingerprint(context_bytes)
    if config.get(CONFIG_CONTEXT_SHA256) != fingerprint:
        raise ContextMismatchError("the public context does not hash to the announced SHA-256")
    held = ctxt.state.config_records.get(STATE_PUBLIC_CONTEXT)
    if held is not None and fingerprint not in held:
        raise ContextMismatchError(
            f"the server switched the public context to {fingerprint[:16]} mid-run, after "
            f"{next(iter(held.keys()), '')[:16]}; refusing to encrypt under it"
        )
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
        _PACKINGS[fingerprint] = packing_from_public(context_bytes)
    if isinstance(_PACKINGS[fingerprint], ThresholdPacking):
        _check_committee_key(context_bytes, config, list(load_committee(ctxt)))
    # Kept for the rest of the run, so later train messages need carry only the fingerprint.
    ctxt.state[STATE_PUBLIC_CONTEXT] = ConfigRecord({fingerprint: context_bytes})
    if CONFIG_CONTEXT in config:
        _cache_context(fingerprint, context_bytes)
    return _PACKINGS[fingerprint], fingerprint


def _check_committee_key(public_key: bytes, config: ConfigRecord, pinned: list[str]) -> None:
    """Refuse a committee's key unless every member of the task's committee signed it.

    The committee's wallets are the participant's pin (the committee recorded for the
    task) when it has one; otherwise the server's list is trusted, with a warning.
    """
    wallets = [str(w) for w in cast(list[str], config.get(CONFIG_COMMITTEE_WALLETS, []))]
    signatures = [bytes(s) for s in cast(list[bytes], config.get(CONFIG_KEY_SIGNATURES, []))]
    try:
        check_key_signatures(public_key, str(config[CONFIG_TASK_ID]).encode(), wallets, signatures)
    except ThresholdCkksError as err:
        raise ContextMismatchError(f"refusing to encrypt under the committee's key: {err}") from err
    if pinned and pinned != wallets:
        raise ContextMismatchError(
            "the server's committee is not the task's pinned committee; refusing to encrypt"
        )
    if not pinned and "committee" not in _WARNED_UNPINNED:
        _WARNED_UNPINNED.add("committee")
        log(
            WARNING,
            "ckks_mod: no ckks-committee-wallets pin in the node config; trusting the "
            "server's list of committee wallets. Pin the task's committee.",
        )


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
