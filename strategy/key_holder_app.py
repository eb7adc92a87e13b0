"""The key holder as a Flower participant: the query handlers that reach it.

The aggregator sends ``query.ckks_identify`` (prove the wallet and context) and
``query.ckks_decrypt`` (a verified decryption request) to the key holder's node. The
same ClientApp runs on every participant; nodes that hold no sealed secret refuse.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from logging import INFO, WARNING
from pathlib import Path

from flwr.app import ConfigRecord, Context, Error, Message, RecordDict
from flwr.clientapp import ClientApp
from flwr.common.logger import log

from .app_bundle import refuse_bundled_secrets
from .constants import (
    ACTION_DECRYPT,
    ACTION_IDENTIFY,
    KEY_NONCE,
    NODE_CONFIG_MIN_INPUTS,
    NODE_CONFIG_SEALED_SECRET,
    NODE_CONFIG_WALLET,
    RECORD_IDENTITY,
    STATE_DECRYPTED_ROUNDS,
    STATE_KEY_HOLDER,
    STATE_SCORED_ROUNDS,
    STATE_SUMMED_INPUTS,
)
from .decrypt_request import DecryptRequest, plaintext_reply_content
from .exceptions import EncryptedAggregationError, KeyHolderError
from .key_holder import ERROR_CODE_REFUSED, KeyHolder
from .wallet import Wallet

__all__ = ["KeyHolderLoader", "key_holder_from_node_config", "register_key_holder"]

ENV_SEALED_SECRET = "CKKS_SEALED_SECRET"
ENV_WALLET_KEYPAIR = "CKKS_WALLET_KEYPAIR"
ENV_MIN_INPUTS = "CKKS_MIN_INPUTS"
ENV_KEY_HOLDER_PARTITION = "CKKS_KEY_HOLDER_PARTITION"
NODE_CONFIG_PARTITION = "partition-id"


KeyHolderLoader = Callable[[Context], KeyHolder | None]


def key_holder_from_node_config(context: Context) -> KeyHolder | None:
    """Load the key holder from node config, or None if this node is not one.

    Reads ``ckks-sealed-secret`` (path of the secret context sealed to the wallet),
    ``wallet-keypair`` (Solana keypair file) and ``ckks-min-inputs`` (default 3), e.g.
    ``flower-supernode --node-config "ckks-sealed-secret='k.sealed' wallet-keypair='id.json'"``.

    The Simulation Engine gives nodes no config of their own, only ``partition-id``; there
    the machine's operator names the key holder in the environment instead:
    ``CKKS_SEALED_SECRET``, ``CKKS_WALLET_KEYPAIR``, ``CKKS_MIN_INPUTS`` (default 3) and
    ``CKKS_KEY_HOLDER_PARTITION`` (default 0), the partition whose node holds the key.
    Never the run config: the organisation writes that.
    """
    sealed_path = context.node_config.get(NODE_CONFIG_SEALED_SECRET)
    if sealed_path:
        wallet_path = str(context.node_config[NODE_CONFIG_WALLET])
        min_inputs = int(context.node_config.get(NODE_CONFIG_MIN_INPUTS, 3))
    else:
        sealed_path = os.environ.get(ENV_SEALED_SECRET, "")
        partition = context.node_config.get(NODE_CONFIG_PARTITION)
        wanted = os.environ.get(ENV_KEY_HOLDER_PARTITION, "0")
        if not sealed_path or partition is None or str(partition) != wanted:
            return None
        wallet_path = os.environ.get(ENV_WALLET_KEYPAIR, "")
        if not wallet_path:
            raise KeyHolderError(f"{ENV_SEALED_SECRET} is set but {ENV_WALLET_KEYPAIR} is not")
        min_inputs = int(os.environ.get(ENV_MIN_INPUTS, "3"))
    return KeyHolder.from_sealed(
        Path(str(sealed_path)).read_bytes(),
        Wallet.from_keypair_file(wallet_path),
        min_inputs=min_inputs,
    )


_LOADED: dict[tuple[int, int], KeyHolder | None] = {}


def _cached_key_holder(context: Context, load: KeyHolderLoader) -> KeyHolder | None:
    key = (context.run_id, context.node_id)
    if key not in _LOADED:
        _LOADED[key] = load(context)
    return _LOADED[key]


def _refusal(message: Message, reason: str) -> Message:
    return Message(Error(code=ERROR_CODE_REFUSED, reason=reason), reply_to=message)


def register_key_holder(
    app: ClientApp,
    load_key_holder: KeyHolderLoader = key_holder_from_node_config,
    *,
    app_file: str | Path | None = None,
) -> None:
    """Register the key holder's query handlers on a ClientApp.

    Nodes for which ``load_key_holder`` returns None answer with an error reply, so the
    same ClientApp can run on every participant.

    Refuses (:class:`~strategy.exceptions.BundledSecretError`) when the Flower app that
    holds ``app_file`` (by default, the module calling this) would ship a wallet keypair,
    sealed secret or secret context in its bundle: the ClientApp then fails to load on
    every node instead of running with a key every participant received.
    """
    caller_file = app_file if app_file is not None else sys._getframe(1).f_globals.get("__file__")
    if caller_file is not None:
        refuse_bundled_secrets(caller_file)

    @app.query(ACTION_IDENTIFY)
    def identify(msg: Message, context: Context) -> Message:
        holder = _cached_key_holder(context, load_key_holder)
        if holder is None:
            return _refusal(msg, "this node is not a key holder")
        nonce = msg.content.config_records[RECORD_IDENTITY][KEY_NONCE]
        return Message(RecordDict({RECORD_IDENTITY: holder.identity(bytes(nonce))}), reply_to=msg)  # type: ignore[arg-type]

    @app.query(ACTION_DECRYPT)
    def decrypt(msg: Message, context: Context) -> Message:
        holder = _cached_key_holder(context, load_key_holder)
        if holder is None:
            return _refusal(msg, "this node is not a key holder")
        _restore_rounds(holder, context)
        try:
            request = DecryptRequest.from_recorddict(msg.content)
            values = holder.decrypt(request)
        except EncryptedAggregationError as err:
            log(WARNING, "Key holder refused a decryption: %s: %s", type(err).__name__, err)
            return _refusal(msg, f"{type(err).__name__}: {err}")
        _save_rounds(holder, context)
        log(
            INFO,
            "Key holder decrypted round %d (%s)",
            request.manifest.server_round,
            request.kind,
        )
        attestation = holder.attestations.get(
            (request.manifest.task_id, request.manifest.server_round, request.kind)
        )
        return Message(
            plaintext_reply_content(values, request.manifest.digest(), attestation),
            reply_to=msg,
        )


def _restore_rounds(holder: KeyHolder, context: Context) -> None:
    # Actors of the Simulation Engine may change between messages; the node state is
    # what persists, so the set of decrypted rounds lives there.
    record = context.state.config_records.get(STATE_KEY_HOLDER)
    if record is not None:
        for entry in record.get(STATE_DECRYPTED_ROUNDS, []):  # type: ignore[union-attr]
            task_id, _, round_text = str(entry).rpartition("#")
            holder.decrypted_rounds.add((task_id, int(round_text)))
        for entry in record.get(STATE_SCORED_ROUNDS, []):  # type: ignore[union-attr]
            task_id, _, round_text = str(entry).rpartition("#")
            holder.scored_rounds.add((task_id, int(round_text)))
        for entry in record.get(STATE_SUMMED_INPUTS, []):  # type: ignore[union-attr]
            task_id, round_text, digest = str(entry).rsplit("#", 2)
            holder.summed_inputs[(task_id, int(round_text))] = digest


def _save_rounds(holder: KeyHolder, context: Context) -> None:
    context.state.config_records[STATE_KEY_HOLDER] = ConfigRecord(
        {
            STATE_DECRYPTED_ROUNDS: sorted(f"{t}#{r}" for t, r in holder.decrypted_rounds),
            STATE_SCORED_ROUNDS: sorted(f"{t}#{r}" for t, r in holder.scored_rounds),
            STATE_SUMMED_INPUTS: sorted(
                f"{t}#{r}#{digest}" for (t, r), digest in holder.summed_inputs.items()
            ),
        }
    )
