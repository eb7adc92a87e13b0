"""A committee member as a Flower participant: the queries the aggregator sends it.

``register_committee_member(app, load_member)`` adds five query handlers to a ClientApp:

- ``threshold_identify``: sign the server's nonce with the member's wallet;
- ``threshold_key_shares``: key generation, first step. The member makes its public-key
  share (signed) and one Shamir share per member (signed, sealed to each recipient's
  wallet). Its additive secret exists only inside that call; it keeps nothing.
- ``threshold_key_finish``: opens the Shamir shares sealed to it, checks every sender's
  signature, adds them into its threshold secret, computes the collective public key
  from the signed public-key shares itself, and stores both, the secret sealed to its
  wallet. It answers with its wallet's signature of the key's fingerprint.
- ``threshold_challenge`` and ``threshold_release``: ``DecryptionGuard``'s two steps.

Each message may run in a fresh process, so everything a member keeps lives in its
store, a directory of its own machine (never the node state, which a new Flower run of
the organisation would start empty): the sealed threshold secret, the public key, and
the guard's memory of the rounds it fixed and released, written whole or not at all.

Nodes for which ``load_member`` returns None refuse, so one ClientApp runs everywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from logging import INFO, WARNING
from pathlib import Path
from typing import cast

from flwr.app import ConfigRecord, Context, Error, Message, RecordDict
from flwr.clientapp import ClientApp
from flwr.common.logger import log

from ..ckks import arrayrecord_to_chunks
from ..constants import (
    ACTION_CHALLENGE,
    ACTION_KEY_FINISH,
    ACTION_KEY_SHARES,
    ACTION_MEMBER_IDENTIFY,
    ACTION_RELEASE,
    KEY_AGGREGATE_ROOT,
    KEY_ATTESTATION,
    KEY_DECRYPTING,
    KEY_LEAVES,
    KEY_MANIFEST_JSON,
    KEY_MEMBER,
    KEY_NONCE,
    KEY_PUBLIC_KEY_SHARE,
    KEY_PUBLIC_KEY_SHARES,
    KEY_REFERENCE_BODIES,
    KEY_REFERENCE_SHA256,
    KEY_REFERENCE_SHARES,
    KEY_ROUND_INDEX,
    KEY_SCORES_ATTESTATION,
    KEY_SEALED_SHARES,
    KEY_SEED,
    KEY_SHARE,
    KEY_SIGNATURE,
    KEY_SIZE,
    KEY_THRESHOLD,
    KEY_VALUES,
    KEY_WALLET,
    KEY_WALLETS,
    NODE_CONFIG_ALLOWED_SIGNERS,
    NODE_CONFIG_MEMBER_STORE,
    NODE_CONFIG_MIN_INPUTS,
    RECORD_AGGREGATE,
    RECORD_COMMITTEE,
    RECORD_IDENTITY,
    RECORD_MASKS,
    RECORD_OPENINGS,
    RECORD_REFERENCE,
    RECORD_SUM,
)
from ..exceptions import EncryptedAggregationError
from ..manifest import RoundManifest
from ..stake_gate import wallet_from_node_config
from ..wallet import Wallet
from .committee import CommitteeConfig, CommitteeMember
from .decryption_guard import DecryptionGuard, ScoreInputs, SumRequest, key_fingerprint
from .errors import ThresholdCkksError
from .spot_check import Opening, PolyOpening
from .transport import (
    key_message,
    open_shamir_shares,
    seal_shamir_shares,
    sign_public_key_share,
    verified_public_key_shares,
)

ERROR_CODE_REFUSED = 4200
IDENTITY_DOMAIN = b"fl-app/threshold-member-identity/v1"


@dataclass(frozen=True)
class MemberSetup:
    """What a participant's machine gives its committee member.

    Attributes
    ----------
    wallet : Wallet
        The participant's wallet (its stake's).
    store : Path
        A directory of the participant's own where the member keeps its state.
    min_inputs : int
        ``k``: the fewest inputs of a sum it decrypts.
    allowed_signers : frozenset[str]
        Wallets staked on the task, as the member reads them from the chain.
    """

    wallet: Wallet
    store: Path
    min_inputs: int
    allowed_signers: frozenset[str]


MemberLoader = Callable[[Context], MemberSetup | None]


def member_from_node_config(context: Context) -> MemberSetup | None:
    """A committee member set up by node config, or None on a node that is not one.

    ``ckks-member-store`` is the member's store directory, ``wallet-keypair`` its wallet
    file, ``ckks-allowed-signers`` a file of the task's staked wallets (one a line, as
    read from the chain) and ``ckks-min-inputs`` its ``k`` (default 3).
    """
    config = context.node_config
    store = config.get(NODE_CONFIG_MEMBER_STORE)
    if not store:
        return None
    wallet = wallet_from_node_config(context)
    signers = config.get(NODE_CONFIG_ALLOWED_SIGNERS)
    if wallet is None or not signers:
        raise ThresholdCkksError(
            f"node config '{NODE_CONFIG_MEMBER_STORE}' needs 'wallet-keypair' and "
            f"'{NODE_CONFIG_ALLOWED_SIGNERS}' too"
        )
    return MemberSetup(
        wallet=wallet,
        store=Path(str(store)),
        min_inputs=int(cast(int, config.get(NODE_CONFIG_MIN_INPUTS, 3))),
        allowed_signers=frozenset(Path(str(signers)).read_text(encoding="utf-8").split()),
    )


def identity_message(nonce: bytes) -> bytes:
    """Bytes a member signs to prove its wallet over a server nonce."""
    return IDENTITY_DOMAIN + nonce


def _committee(record: ConfigRecord) -> tuple[CommitteeConfig, int, dict[int, str]]:
    config = CommitteeConfig(
        seed=bytes(cast(bytes, record[KEY_SEED])),
        size=int(cast(int, record[KEY_SIZE])),
        threshold=int(cast(int, record[KEY_THRESHOLD])),
    )
    wallets = {i: str(w) for i, w in enumerate(cast(list[str], record[KEY_WALLETS]), 1)}
    if len(wallets) != config.size:
        raise ThresholdCkksError(f"{len(wallets)} wallets for a committee of {config.size}")
    return config, int(cast(int, record[KEY_MEMBER])), wallets


class _Store:
    """One member's files for one committee: key, sealed secret, guard state."""

    def __init__(self, setup: MemberSetup, seed: bytes) -> None:
        name = f"{hashlib.sha256(seed).hexdigest()[:32]}-{setup.wallet.address}.json"
        self.path = setup.store / name
        self.setup = setup

    def save(self, body: dict[str, object]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=self.path.parent, delete=False, suffix=".part"
        ) as part:
            json.dump(body, part)
        os.replace(part.name, self.path)

    def load(self) -> dict[str, str]:
        if not self.path.is_file():
            raise ThresholdCkksError("this member holds no key of that committee")
        return cast(dict[str, str], json.loads(self.path.read_text()))

    def guard(self, seed: bytes) -> tuple[DecryptionGuard, dict[str, str]]:
        body = self.load()
        config = CommitteeConfig(seed, int(body["size"]), int(body["threshold"]))
        wallet = self.setup.wallet
        member = CommitteeMember(
            config,
            int(body["member"]),
            threshold_secret=wallet.open_sealed(bytes.fromhex(body["sealed_secret"])),
            public_key=bytes.fromhex(body["public_key"]),
        )
        guard = DecryptionGuard(
            member,
            wallet,
            min_inputs=self.setup.min_inputs,
            allowed_signers=self.setup.allowed_signers,
        )
        guard.restore(body.get("rounds", "[]"))
        return guard, body


def _refusal(message: Message, reason: str) -> Message:
    return Message(Error(code=ERROR_CODE_REFUSED, reason=reason), reply_to=message)


def register_committee_member(app: ClientApp, load_member: MemberLoader) -> None:
    """Register the committee member's query handlers on a ClientApp."""

    def handler(action: str, serve: Callable[[Message, MemberSetup], RecordDict]) -> None:
        @app.query(action)
        def handle(msg: Message, context: Context) -> Message:
            setup = load_member(context)
            if setup is None:
                return _refusal(msg, "this node is not a committee member")
            try:
                return Message(serve(msg, setup), reply_to=msg)
            except (EncryptedAggregationError, ThresholdCkksError, KeyError, ValueError) as err:
                log(WARNING, "Committee member refused %s: %s: %s", action, type(err).__name__, err)
                return _refusal(msg, f"{type(err).__name__}: {err}")

    handler(ACTION_MEMBER_IDENTIFY, _identify)
    handler(ACTION_KEY_SHARES, _key_shares)
    handler(ACTION_KEY_FINISH, _key_finish)
    handler(ACTION_CHALLENGE, _challenge)
    handler(ACTION_RELEASE, _release)


def _identify(msg: Message, setup: MemberSetup) -> RecordDict:
    nonce = bytes(cast(bytes, msg.content.config_records[RECORD_IDENTITY][KEY_NONCE]))
    wallet = setup.wallet
    return RecordDict(
        {
            RECORD_IDENTITY: ConfigRecord(
                {KEY_WALLET: wallet.address, KEY_SIGNATURE: wallet.sign(identity_message(nonce))}
            )
        }
    )


def _check_new_key(
    config: CommitteeConfig, member: int, wallets: dict[int, str], setup: MemberSetup
) -> None:
    """Refuse key generation for another wallet's seat, or a second key for a task.

    A second key would reset what the member remembers of the rounds it decrypted, and
    let the same round be summed twice, once under each key.
    """
    if wallets.get(member) != setup.wallet.address:
        raise ThresholdCkksError(f"member {member} of this committee is another wallet")
    if _Store(setup, config.seed).path.exists():
        raise ThresholdCkksError("this member already holds a key of this task's committee")


def _key_shares(msg: Message, setup: MemberSetup) -> RecordDict:
    config, member, wallets = _committee(msg.content.config_records[RECORD_COMMITTEE])
    _check_new_key(config, member, wallets, setup)
    shares = CommitteeMember(config, member).generate_key_shares()
    sealed = seal_shamir_shares(shares, setup.wallet, wallets)
    return RecordDict(
        {
            RECORD_COMMITTEE: ConfigRecord(
                {
                    KEY_PUBLIC_KEY_SHARE: sign_public_key_share(shares, setup.wallet),
                    KEY_SEALED_SHARES: [sealed[i] for i in range(1, config.size + 1)],
                }
            )
        }
    )


def _key_finish(msg: Message, setup: MemberSetup) -> RecordDict:
    record = msg.content.config_records[RECORD_COMMITTEE]
    config, member, wallets = _committee(record)
    _check_new_key(config, member, wallets, setup)
    sealed = cast(list[bytes], record[KEY_SEALED_SHARES])
    signed = cast(list[bytes], record[KEY_PUBLIC_KEY_SHARES])
    committee_member = CommitteeMember(config, member)
    committee_member.receive_shamir_shares(
        open_shamir_shares(
            {i: bytes(box) for i, box in enumerate(sealed, 1)}, setup.wallet, wallets
        )
    )
    public_key = committee_member.receive_public_key_shares(
        verified_public_key_shares({i: bytes(s) for i, s in enumerate(signed, 1)}, wallets)
    )
    fingerprint = key_fingerprint(public_key)
    _Store(setup, config.seed).save(
        {
            "member": member,
            "size": config.size,
            "threshold": config.threshold,
            "public_key": public_key.hex(),
            "sealed_secret": committee_member.sealed_threshold_secret(setup.wallet.address).hex(),
            "rounds": "[]",
        }
    )
    log(INFO, "Committee member %d holds its key share of %s", member, fingerprint[:16])
    return RecordDict(
        {
            RECORD_COMMITTEE: ConfigRecord(
                {
                    KEY_SIGNATURE: setup.wallet.sign(key_message(config.seed, fingerprint)),
                }
            )
        }
    )


def _sum_request(msg: Message) -> tuple[bytes, SumRequest]:
    record = msg.content.config_records[RECORD_SUM]
    manifest = RoundManifest.from_json(str(record[KEY_MANIFEST_JSON]))
    root = str(record[KEY_AGGREGATE_ROOT])
    round_index = int(cast(int, record[KEY_ROUND_INDEX]))
    reference = str(record.get(KEY_REFERENCE_SHA256, ""))
    bodies = tuple(int(v) for v in cast(list[int], record.get(KEY_REFERENCE_BODIES, [])))
    request = SumRequest(manifest, root, round_index, reference, bodies)
    return bytes(cast(bytes, record[KEY_SEED])), request


def _score_inputs(msg: Message) -> ScoreInputs | None:
    """The reference and the masks of a scored round's release, if it has them."""
    if RECORD_MASKS not in msg.content.config_records:
        return None
    reference = msg.content.array_records[RECORD_REFERENCE][KEY_VALUES]
    masks = {
        int(node): [PolyOpening.from_bytes(bytes(o)) for o in cast(list[bytes], items)]
        for node, items in msg.content.config_records[RECORD_MASKS].items()
    }
    return ScoreInputs(reference=reference.numpy(), masks=masks)


def _challenge(msg: Message, setup: MemberSetup) -> RecordDict:
    seed, request = _sum_request(msg)
    store = _Store(setup, seed)
    guard, body = store.guard(seed)
    challenge = guard.challenge(request)
    store.save({**body, "rounds": guard.state_json()})
    return RecordDict({RECORD_SUM: ConfigRecord({KEY_LEAVES: list(challenge.leaves)})})


def _release(msg: Message, setup: MemberSetup) -> RecordDict:
    seed, request = _sum_request(msg)
    record = msg.content.config_records[RECORD_SUM]
    openings_record = msg.content.config_records[RECORD_OPENINGS]
    openings = {
        int(node): [Opening.from_bytes(bytes(o)) for o in cast(list[bytes], items)]
        for node, items in openings_record.items()
    }
    decrypting = [int(m) for m in cast(list[int], record[KEY_DECRYPTING])]
    (aggregate,) = arrayrecord_to_chunks(msg.content.array_records[RECORD_AGGREGATE])
    store = _Store(setup, seed)
    guard, body = store.guard(seed)
    released = guard.release(request, aggregate, openings, decrypting, _score_inputs(msg))
    store.save({**body, "rounds": guard.state_json()})
    log(
        INFO,
        "Committee member %d released round %d%s",
        released.member,
        request.manifest.server_round,
        " and its scores" if released.reference_shares else "",
    )
    reply = ConfigRecord({KEY_SHARE: released.share})
    if released.attestation is not None:
        reply[KEY_ATTESTATION] = released.attestation.to_hex()
    if released.scores_attestation is not None:
        reply[KEY_REFERENCE_SHARES] = list(released.reference_shares)
        reply[KEY_SCORES_ATTESTATION] = released.scores_attestation.to_hex()
    return RecordDict({RECORD_SUM: reply})
