"""The aggregator's side of a committee: find it, run key generation, get a sum decrypted.

The aggregator only relays. In key generation it passes signed public-key shares and
sealed Shamir shares between members and adds the public-key shares into the collective
key itself, checking every member's signature of the key it computed. To decrypt a sum
it asks ``t`` members for a challenge on the aggregate's vector root, sends each the
aggregate with the challenged leaves of each input opened, and combines their
decryption shares; a member that fails to answer either is replaced by the next one, up
to ``n - t`` of them. Every secret
stays with the members: this process receives public-key shares, sealed boxes, leaf
positions, decryption shares and signatures.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from logging import INFO, WARNING
from typing import Any, cast

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MessageType, RecordDict
from flwr.common.logger import log
from flwr.serverapp import Grid

from ..attestation import Attestation
from ..ckks import chunks_to_arrayrecord
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
    RECORD_AGGREGATE,
    RECORD_COMMITTEE,
    RECORD_IDENTITY,
    RECORD_MASKS,
    RECORD_OPENINGS,
    RECORD_REFERENCE,
    RECORD_SUM,
)
from ..exceptions import KeyHolderError
from ..manifest import RoundManifest
from ..wallet import verify_signature
from .committee import CommitteeConfig, aggregate_public_key
from .decryption_guard import key_fingerprint
from .member_app import identity_message
from .scoring import DecryptedScores, ScoringRequest
from .spot_check import VectorTree, mask_positions
from .transport import key_message, verified_public_key_shares
from .vectors import combine


@dataclass(frozen=True)
class Committee:
    """A task's committee as the aggregator reaches it.

    Attributes
    ----------
    config : CommitteeConfig
        Seed (the task), size ``n`` and threshold ``t``.
    wallets : tuple[str, ...]
        Member ``i``'s wallet is ``wallets[i - 1]``, as recorded for the task.
    nodes : Mapping[int, int]
        Member number -> Flower node id.
    key_signatures : tuple[bytes, ...]
        After key generation: each member's signature of the collective key it computed
        (``member_app.key_message``), which participants check before encrypting.
    """

    config: CommitteeConfig
    wallets: tuple[str, ...]
    nodes: Mapping[int, int]
    key_signatures: tuple[bytes, ...] = ()

    def record(self, member: int) -> ConfigRecord:
        """The committee's description, addressed to ``member``."""
        return ConfigRecord(
            {
                KEY_SEED: self.config.seed,
                KEY_SIZE: self.config.size,
                KEY_THRESHOLD: self.config.threshold,
                KEY_MEMBER: member,
                KEY_WALLETS: list(self.wallets),
            }
        )


@dataclass(frozen=True)
class DecryptedSum:
    """A sum the committee decrypted, with each releasing member's attestation."""

    values: np.ndarray
    decrypting: tuple[int, ...]
    attestations: tuple[Attestation, ...]
    scores: DecryptedScores | None = None


def _field(reply: Message, record: str, key: str) -> Any:
    """A value of a reply's ConfigRecord (a KeyError if missing)."""
    return reply.content.config_records[record][key]


def _query(action: str, content: RecordDict, node: int) -> Message:
    return Message(content=content, dst_node_id=node, message_type=f"{MessageType.QUERY}.{action}")


def _ask(grid: Grid, messages: dict[int, Message], timeout: float) -> dict[int, Message]:
    """Send one message per member; return the replies without error, by member."""
    by_node = {message.metadata.dst_node_id: member for member, message in messages.items()}
    answers: dict[int, Message] = {}
    for reply in grid.send_and_receive(list(messages.values()), timeout=timeout):
        member = by_node.get(reply.metadata.src_node_id)
        if member is None:
            continue
        if reply.has_error():
            log(WARNING, "Committee member %d refused: %s", member, reply.error.reason)
            continue
        answers[member] = reply
    return answers


def find_members(grid: Grid, wallets: Sequence[str], timeout: float) -> dict[int, int]:
    """Member number -> node id, for every member whose node proves its wallet."""
    nonce = os.urandom(32)
    members = {wallet: i for i, wallet in enumerate(wallets, 1)}
    messages = [
        _query(
            ACTION_MEMBER_IDENTIFY,
            RecordDict({RECORD_IDENTITY: ConfigRecord({KEY_NONCE: nonce})}),
            node,
        )
        for node in grid.get_node_ids()
    ]
    found: dict[int, int] = {}
    for reply in grid.send_and_receive(messages, timeout=timeout):
        if reply.has_error() or RECORD_IDENTITY not in reply.content.config_records:
            continue
        identity = reply.content.config_records[RECORD_IDENTITY]
        wallet = str(identity.get(KEY_WALLET, ""))
        signature = bytes(cast(bytes, identity.get(KEY_SIGNATURE, b"")))
        if wallet in members and verify_signature(wallet, identity_message(nonce), signature):
            found[members[wallet]] = reply.metadata.src_node_id
    return found


def generate_key(grid: Grid, committee: Committee, timeout: float) -> tuple[bytes, Committee]:
    """Run distributed key generation through the members.

    Returns
    -------
    tuple[bytes, Committee]
        The collective public key, and the committee with every member's signature of it.

    Raises
    ------
    KeyHolderError
        If a member does not take part, or one computed another key.
    """
    size = committee.config.size
    missing = set(range(1, size + 1)) - set(committee.nodes)
    if missing:
        raise KeyHolderError(f"committee members {sorted(missing)} are not connected")
    first = _ask(
        grid,
        {
            m: _query(ACTION_KEY_SHARES, RecordDict({RECORD_COMMITTEE: committee.record(m)}), n)
            for m, n in committee.nodes.items()
        },
        timeout,
    )
    if len(first) != size:
        raise KeyHolderError(
            f"key generation needs all {size} members; {sorted(set(committee.nodes) - set(first))}"
            " did not answer"
        )
    signed = {m: bytes(_field(r, RECORD_COMMITTEE, KEY_PUBLIC_KEY_SHARE)) for m, r in first.items()}
    sealed = {
        m: [bytes(box) for box in _field(r, RECORD_COMMITTEE, KEY_SEALED_SHARES)]
        for m, r in first.items()
    }
    wallets = dict(enumerate(committee.wallets, 1))
    public_key = aggregate_public_key(committee.config, verified_public_key_shares(signed, wallets))
    fingerprint = key_fingerprint(public_key)
    second_messages = {}
    for m, node in committee.nodes.items():
        record = committee.record(m)
        record[KEY_SEALED_SHARES] = [sealed[sender][m - 1] for sender in range(1, size + 1)]
        record[KEY_PUBLIC_KEY_SHARES] = [signed[sender] for sender in range(1, size + 1)]
        second_messages[m] = _query(ACTION_KEY_FINISH, RecordDict({RECORD_COMMITTEE: record}), node)
    second = _ask(grid, second_messages, timeout)
    signatures = []
    for m in range(1, size + 1):
        reply = second.get(m)
        signature = b"" if reply is None else bytes(_field(reply, RECORD_COMMITTEE, KEY_SIGNATURE))
        signatures.append(signature)
        if reply is None or not verify_signature(
            wallets[m], key_message(committee.config.seed, fingerprint), signature
        ):
            raise KeyHolderError(
                f"member {m} did not confirm the collective key {fingerprint[:16]}"
            )
    log(
        INFO,
        "Committee of %d (t = %d) holds key %s",
        size,
        committee.config.threshold,
        fingerprint[:16],
    )
    return public_key, replace(committee, key_signatures=tuple(signatures))


def decrypt_sum(
    grid: Grid,
    committee: Committee,
    manifest: RoundManifest,
    inputs: Mapping[int, VectorTree],
    aggregate: bytes,
    round_index: int,
    timeout: float,
    scoring: ScoringRequest | None = None,
) -> DecryptedSum:
    """Have ``t`` members check and decrypt ``aggregate``, the sum of ``inputs``.

    Parameters
    ----------
    inputs : Mapping[int, VectorTree]
        Node id -> the tree of its encrypted update, for every commitment in ``manifest``.
    round_index : int
        The index the round will be recorded under on chain.
    scoring : ScoringRequest | None
        For a scored round: the members also release their shares of each input's
        ``<w_i, g0>`` (``scoring``), sent the reference and every input's masks.

    Raises
    ------
    KeyHolderError
        If fewer than ``t`` members release a share.
    """
    threshold = committee.config.threshold
    sum_record = ConfigRecord(
        {
            KEY_SEED: committee.config.seed,
            KEY_MANIFEST_JSON: manifest.to_json(),
            KEY_AGGREGATE_ROOT: VectorTree(aggregate).root,
            KEY_ROUND_INDEX: round_index,
        }
    )
    scored: dict[str, ArrayRecord | ConfigRecord] = {}
    if scoring is not None:
        sum_record[KEY_REFERENCE_SHA256] = scoring.reference_sha256
        sum_record[KEY_REFERENCE_BODIES] = list(scoring.bodies)
        positions = mask_positions(manifest.commitments[0].num_values)
        # A float32 model update, sent at that precision (members hash it as float64).
        reference = scoring.reference.astype(np.float32)
        if not np.array_equal(reference, scoring.reference):
            raise ValueError("the reference is not float32 values; round it when committing")
        scored[RECORD_REFERENCE] = ArrayRecord({KEY_VALUES: Array(reference)})
        scored[RECORD_MASKS] = ConfigRecord(
            {
                str(node): [tree.open_poly(p).to_bytes() for p in positions]
                for node, tree in inputs.items()
            }
        )
    aggregate_record = chunks_to_arrayrecord([aggregate])
    # Members are asked for challenges t at a time, more only as others fail.
    unasked = sorted(committee.nodes)
    challenged: dict[int, Message] = {}
    while True:
        missing = threshold - len(challenged)
        if missing > 0:
            if not unasked:
                raise KeyHolderError(
                    f"{len(challenged)} committee members can release a share, {threshold} needed"
                )
            batch, unasked = unasked[:missing], unasked[missing:]
            queries = {
                m: _query(
                    ACTION_CHALLENGE,
                    RecordDict({RECORD_SUM: ConfigRecord(dict(sum_record))}),
                    committee.nodes[m],
                )
                for m in batch
            }
            challenged.update(_ask(grid, queries, timeout))
            continue
        decrypting = tuple(sorted(challenged)[:threshold])
        messages = {}
        for m in decrypting:
            leaves = [int(i) for i in _field(challenged[m], RECORD_SUM, KEY_LEAVES)]
            openings = ConfigRecord(
                {
                    str(node): [o.to_bytes() for o in tree.open(leaves)]
                    for node, tree in inputs.items()
                }
            )
            sum_part = ConfigRecord({**sum_record, KEY_DECRYPTING: list(decrypting)})
            content = RecordDict(
                {
                    RECORD_SUM: sum_part,
                    RECORD_AGGREGATE: aggregate_record,
                    RECORD_OPENINGS: openings,
                    **scored,
                }
            )
            messages[m] = _query(ACTION_RELEASE, content, committee.nodes[m])
        replies = _ask(grid, messages, timeout)
        failed = set(decrypting) - set(replies)
        if not failed:
            break
        for m in failed:
            del challenged[m]
    shares = [bytes(_field(replies[m], RECORD_SUM, KEY_SHARE)) for m in decrypting]
    values = combine(aggregate, shares, threshold)
    # A run without a chain has no task address for members to attest rounds of.
    attestations = tuple(
        Attestation.from_hex(str(_field(replies[m], RECORD_SUM, KEY_ATTESTATION)))
        for m in decrypting
        if KEY_ATTESTATION in replies[m].content.config_records[RECORD_SUM]
    )
    scores = None
    if scoring is not None:
        scores = DecryptedScores(
            scale=scoring.scale,
            bodies=scoring.bodies,
            shares=tuple(
                tuple(int(v) for v in _field(replies[m], RECORD_SUM, KEY_REFERENCE_SHARES))
                for m in decrypting
            ),
            decrypting=decrypting,
            attestations=tuple(
                Attestation.from_hex(str(_field(replies[m], RECORD_SUM, KEY_SCORES_ATTESTATION)))
                for m in decrypting
            ),
        )
    return DecryptedSum(
        values=values, decrypting=decrypting, attestations=attestations, scores=scores
    )
