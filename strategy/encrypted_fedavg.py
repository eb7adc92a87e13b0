"""EncryptedFedAvg: FedAvg over CKKS-encrypted updates, decrypted by a committee or a key holder.

Weighted Federated Averaging (McMahan et al. 2017, "Communication-Efficient Learning of
Deep Networks from Decentralized Data") computed under CKKS (Cheon et al. 2017):
participants send ``Enc(n_k * s * delta_k)`` (see ``ckks_mod``), the aggregator adds the
ciphertexts, the decryptors decrypt only the verified sum, and the aggregator sets
``w <- w + sum_k(n_k * s * delta_k) / sum_k(n_k * s)``, which equals plaintext FedAvg of
the participants' models. The aggregator only ever loads public material.

The public material names the scheme. A committee's collective public key
(``strategy.threshold``): ``t`` of ``n`` staked participants must each check the sum
(spot checks against the inputs' committed Merkle roots) and release a decryption share;
no single party can decrypt. A TenSEAL public context: one key holder, trusted by the
participants not to collude with the organisation, recomputes and decrypts the sum.

With a ``reference_update_fn`` the strategy also collects contribution scalars of the
organisation's reference update ``g0`` (FLTrust-style, Cao et al. 2021; see
``strategy.contribution`` for the score built from them). A committee decrypts
``<w_i, g0>`` of every aggregated update with the sum, in one release whose request fixes
``sha256(g0)`` (``strategy.threshold.scoring``), so ``g0`` is trained in a thread while
the participants train. A key holder decrypts the sum first and is then asked for
``<w_i, g0>`` and ``||w_i||^2``, so ``sha256(g0)`` is committed in the train config,
before any update exists.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from logging import INFO, WARNING

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Message, MessageType, MetricRecord, RecordDict
from flwr.common.logger import log
from flwr.serverapp import Grid
from flwr.serverapp.strategy.strategy_utils import sample_nodes

from .attestation import Attestation
from .ckks import (
    MAX_ABS_SUM,
    MIN_PRECISE_TOTAL_WEIGHT,
    context_fingerprint,
    flatten_arrays,
    supports_multiplication,
    unflatten_like,
)
from .constants import (
    ACTION_DECRYPT,
    ACTION_IDENTIFY,
    CONFIG_COMMITTEE_WALLETS,
    CONFIG_CONTEXT,
    CONFIG_CONTEXT_SHA256,
    CONFIG_KEY_SIGNATURES,
    CONFIG_MAX_ABS,
    CONFIG_REFERENCE_SHA256,
    CONFIG_TASK_ID,
    CONFIG_WEIGHT_KEY,
    CONFIG_WEIGHT_SCALE,
    KEY_NONCE,
    KEY_SIGNATURE,
    KEY_WALLET,
    KIND_INNER_PRODUCT,
    KIND_WEIGHTED_SUM,
    RECORD_IDENTITY,
)
from .contribution import RoundScalars, scalars_from_decrypted, scalars_from_inner
from .decrypt_request import DecryptRequest, attestation_from_reply, plaintext_from_reply
from .exceptions import ContextMismatchError, EncryptedAggregationError, KeyHolderError
from .key_holder import identity_message
from .manifest import RoundManifest
from .packing import packing_from_public
from .reference import reference_sha256
from .reply_validation import AcceptedUpdate, ExpectedUpdate, validate_replies
from .round_outcome import ReportingFedAvg, RoundOutcome
from .threshold.committee_client import Committee, decrypt_sum
from .threshold.errors import ThresholdCkksError
from .threshold.packing import ThresholdPacking
from .threshold.scoring import DecryptedScores, ScoringRequest
from .wallet import verify_signature

ReferenceUpdateFn = Callable[[int, ArrayRecord], np.ndarray]


@dataclass(frozen=True)
class _ScoredRound:
    """What was decrypted for a round's scores, and what the server kept."""

    scalars: dict[str, RoundScalars]  # by node id, inconsistent inputs left out
    values: np.ndarray | None = None  # a key holder's [<w_i, g0>, ||w_i||^2] per input
    attestation: Attestation | None = None  # the key holder's signature of ``values``
    committee_scores: DecryptedScores | None = None  # what a committee decrypted


@dataclass(frozen=True)
class _DecryptedRound:
    """A round's decrypted weighted sum, its attestations, and a committee's scores."""

    weighted_sum: np.ndarray
    attestations: tuple[Attestation, ...]
    scored: _ScoredRound | None = None


class EncryptedFedAvg(ReportingFedAvg):
    """FedAvg whose aggregation runs on CKKS ciphertexts; a drop-in for ``FedAvg``.

    Parameters
    ----------
    public_context : bytes
        The task's public material: a committee's collective public key (from
        ``strategy.threshold.committee_client.generate_key``), or a serialized TenSEAL
        public context (no secret key; refused otherwise).
    task_id : str
        Task identifier bound into every commitment.
    committee : Committee | None
        The decryption committee, for a committee's public key.
    key_holder_node_id : int | None
        Flower node id of the key holder of a TenSEAL context. Give this or
        ``key_holder_wallet``.
    key_holder_wallet : str | None
        Base58 wallet address of the key holder; the node is found by a signed
        ``query.ckks_identify`` exchange before the first round.
    min_decrypt_inputs : int (default: 3)
        ``k``: rounds with fewer valid encrypted updates are skipped.
    weight_scale : float (default: 1.0)
        Participants encrypt ``weight_scale * n_k * delta``; lower it when
        ``n_k * |delta|`` would exceed the CKKS headroom.
    decrypt_timeout : float (default: 600.0)
        Seconds to wait for the key holder.
    send_context : bool (default: True)
        Send the public context in the train ConfigRecord of each node that does not
        hold it yet (its first train message of the run, and the next one after a round
        in which it sent no accepted update); other train messages carry only its
        fingerprint. If False, participants read it from their ``ckks-public-context``
        node-config path.
    reference_update_fn : Callable[[int, ArrayRecord], np.ndarray] | None
        ``(server_round, global_arrays) -> g0``: the organisation's reference update,
        flattened in ``ArrayRecord`` key order (as ``ckks_mod`` flattens updates) and
        rounded to float32, the precision of the model it is an update of. When
        given, every round is scored; a key holder's public context must come from
        ``generate_keys(profile="scoring")``.
    **fedavg_kwargs
        Passed to ``FedAvg`` (``fraction_train``, ``min_train_nodes``, ...).
    """

    def __init__(
        self,
        *,
        public_context: bytes,
        task_id: str,
        committee: Committee | None = None,
        key_holder_node_id: int | None = None,
        key_holder_wallet: str | None = None,
        min_decrypt_inputs: int = 3,
        weight_scale: float = 1.0,
        decrypt_timeout: float = 600.0,
        send_context: bool = True,
        reference_update_fn: ReferenceUpdateFn | None = None,
        **fedavg_kwargs: object,
    ) -> None:
        super().__init__(**fedavg_kwargs)
        if min_decrypt_inputs < 2:
            raise ValueError("min_decrypt_inputs must be at least 2")
        self._packing = packing_from_public(public_context)
        if isinstance(self._packing, ThresholdPacking):
            if committee is None or key_holder_node_id or key_holder_wallet:
                raise ValueError("a committee's public key is decrypted by its committee only")
        elif committee is not None or (key_holder_node_id is None) == (key_holder_wallet is None):
            raise ValueError("give exactly one of key_holder_node_id and key_holder_wallet")
        elif reference_update_fn is not None and not supports_multiplication(self._packing.context):
            raise ContextMismatchError(
                "contribution scoring needs CKKS keys with room for one multiplication; "
                "make the task's keys with generate_keys(profile='scoring')"
            )
        if committee is not None and committee.config.seed != task_id.encode():
            raise ValueError("the committee's key must be made from the task id as its seed")
        self.committee = committee
        self.public_context = public_context
        self.context_sha256 = context_fingerprint(public_context)
        self.task_id = task_id
        self.key_holder_node_id = key_holder_node_id
        self.key_holder_wallet = key_holder_wallet
        self.min_decrypt_inputs = min_decrypt_inputs
        self.weight_scale = weight_scale
        self.decrypt_timeout = decrypt_timeout
        self.send_context = send_context
        self.reference_update_fn = reference_update_fn
        # The reference update g0 of each scored round, and those still being trained.
        self._references: dict[int, np.ndarray] = {}
        self._reference_jobs: dict[int, Future[np.ndarray]] = {}
        self._reference_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reference")
        self.context_holders: set[int] = set()
        """Nodes whose update under the public context was accepted: they hold it."""
        self._grid: Grid | None = None
        self._global_arrays: ArrayRecord | None = None
        self._configured_round: int | None = None
        self._trained_nodes: set[int] = set()

    def summary(self) -> None:
        """Log summary configuration of the strategy."""
        super().summary()
        log(INFO, "\t└──> CKKS encrypted aggregation:")
        log(INFO, "\t\t├── Task: '%s', context sha256 %s", self.task_id, self.context_sha256)
        if self.committee is not None:
            config = self.committee.config
            log(INFO, "\t\t├── Committee: %d of %d members", config.threshold, config.size)
        else:
            log(INFO, "\t\t├── Key holder: %s", self.key_holder_node_id or self.key_holder_wallet)
        log(INFO, "\t\t└── Min inputs per decryption: %d", self.min_decrypt_inputs)

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Configure training and hand participants the CKKS task parameters."""
        self._grid = grid
        self._global_arrays = arrays
        self._configured_round = None
        if self.committee is None and self.key_holder_node_id is None:
            # Ask once as many nodes are connected as the round would wait for anyway
            # (Flower's own wait), not whoever happens to be connected at start-up.
            sample_nodes(grid, self.min_available_nodes, sample_size=0)
            try:
                self.key_holder_node_id = find_key_holder(
                    grid,
                    wallet=str(self.key_holder_wallet),
                    context_sha256=self.context_sha256,
                    timeout=self.decrypt_timeout,
                )
            except KeyHolderError as err:
                self._skip(server_round, str(err))
                return []
        self._configured_round = server_round
        num_nodes = int(len(list(grid.get_node_ids())) * self.fraction_train)
        sample_size = max(num_nodes, self.min_train_nodes, 1)
        config[CONFIG_TASK_ID] = self.task_id
        config[CONFIG_CONTEXT_SHA256] = self.context_sha256
        config[CONFIG_WEIGHT_SCALE] = float(self.weight_scale)
        config[CONFIG_WEIGHT_KEY] = self.weighted_by_key
        # Each update gets an equal share of the modulus headroom of the sum.
        config[CONFIG_MAX_ABS] = MAX_ABS_SUM / sample_size
        if self.committee is not None:
            # What each participant checks before it encrypts under the key.
            config[CONFIG_COMMITTEE_WALLETS] = list(self.committee.wallets)
            config[CONFIG_KEY_SIGNATURES] = list(self.committee.key_signatures)
        reference_fn = self.reference_update_fn
        if reference_fn is not None and self.committee is None:
            # A key holder decrypts the sum before the scalars, so g0 is committed in the
            # train config, in every input's commitment, before any update exists.
            reference = _rounded(reference_fn(server_round, arrays))
            self._references[server_round] = reference
            config[CONFIG_REFERENCE_SHA256] = reference_sha256(reference)
        elif reference_fn is not None:
            # A committee decrypts the sum and the scalars in one release, whose request
            # fixes g0 (``SumRequest.reference_sha256``): it is trained while the
            # participants train.
            self._reference_jobs[server_round] = self._reference_pool.submit(
                lambda: _rounded(reference_fn(server_round, arrays))
            )
        messages = list(super().configure_train(server_round, arrays, config, grid))
        self._trained_nodes = {message.metadata.dst_node_id for message in messages}
        if not self.send_context:
            return messages
        return [
            message
            if message.metadata.dst_node_id in self.context_holders
            else self._with_context(message)
            for message in messages
        ]

    def _reference(self, server_round: int) -> np.ndarray | None:
        """The round's reference update, once trained; None for an unscored round."""
        job = self._reference_jobs.pop(server_round, None)
        if job is not None:
            self._references[server_round] = job.result()
        return self._references.get(server_round)

    def _with_context(self, message: Message) -> Message:
        """A copy of a train message whose ConfigRecord also carries the public context."""
        content = RecordDict(dict(message.content.items()))
        config = message.content.config_records[self.configrecord_key]
        content[self.configrecord_key] = ConfigRecord(
            {**config, CONFIG_CONTEXT: self.public_context}
        )
        return Message(
            content=content,
            dst_node_id=message.metadata.dst_node_id,
            message_type=message.metadata.message_type,
        )

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Validate encrypted replies, sum them, and have the key holder decrypt the sum."""
        if self._global_arrays is None or self._configured_round != server_round:
            if server_round not in self.outcomes:
                self._skip(server_round, "no training was configured")
            return None, None
        global_flat = flatten_arrays(self._global_arrays)
        expected = ExpectedUpdate(
            packing=self._packing,
            context_sha256=self.context_sha256,
            task_id=self.task_id,
            server_round=server_round,
            num_values=int(global_flat.size),
            weight_key=self.weighted_by_key,
            weight_scale=self.weight_scale,
            reference_sha256=(
                reference_sha256(self._references[server_round])
                if server_round in self._references
                else ""
            ),
        )
        started = time.perf_counter()
        accepted = validate_replies(replies, expected)
        validated = time.perf_counter()
        # A node that trained this round holds the context only if its update under it
        # was accepted; any other node (no reply, lost state, rejected) is sent it again.
        self.context_holders -= self._trained_nodes
        self.context_holders |= {update.node_id for update in accepted} & self._trained_nodes
        if len(accepted) < self.min_decrypt_inputs:
            self._skip(
                server_round,
                f"{len(accepted)} valid encrypted updates, "
                f"{self.min_decrypt_inputs} needed to decrypt a sum",
            )
            return None, None
        accepted.sort(key=lambda update: update.node_id)
        manifest = RoundManifest(
            task_id=self.task_id,
            server_round=server_round,
            context_sha256=self.context_sha256,
            commitments=tuple(update.commitment for update in accepted),
        )
        total = self._packing.add([update.ciphertexts for update in accepted])
        added = time.perf_counter()
        request = DecryptRequest(
            kind=KIND_WEIGHTED_SUM,
            manifest=manifest,
            input_node_ids=tuple(update.node_id for update in accepted),
            inputs={update.node_id: update.chunks for update in accepted},
            aggregate=self._packing.serialize(total),
        )
        reference = self._reference(server_round)
        ready = time.perf_counter()
        try:
            decrypted = self._decrypt_sum(request, accepted, reference)
        except (EncryptedAggregationError, ThresholdCkksError) as err:
            self._skip(server_round, f"{type(err).__name__}: {err}")
            return None, None
        timings = {
            "validate_s": validated - started,
            "add_s": added - validated,
            "committee_s" if self.committee else "key_holder_s": time.perf_counter() - ready,
        }
        if reference is not None and self.committee is not None:
            timings["reference_wait_s"] = ready - added  # g0 still training, if positive
        scored = decrypted.scored
        if reference is not None and self.committee is None:
            started_scoring = time.perf_counter()
            scored = self._collect_scalars(server_round, request, accepted, reference)
            timings["score_s"] = time.perf_counter() - started_scoring
        scalars = {} if scored is None else dict(scored.scalars)
        self.outcomes[server_round] = RoundOutcome(
            server_round=server_round,
            contributors=tuple(str(update.node_id) for update in accepted),
            manifest=manifest,
            scalars=scalars,
            reference_norm=float(np.linalg.norm(reference))
            if scalars and reference is not None
            else 0.0,
            reference_update=reference,
            decrypted_scalars=None if scored is None else scored.values,
            scores_attestation=None if scored is None else scored.attestation,
            committee_scores=None if scored is None else scored.committee_scores,
            ciphertext_bytes=tuple(
                sum(len(chunk) for chunk in update.chunks) for update in accepted
            ),
            timings=timings,
            attestations=decrypted.attestations,
        )
        if manifest.total_weight < MIN_PRECISE_TOTAL_WEIGHT:
            log(
                WARNING,
                "Round %d: total weight %.3g is below %.0f, so CKKS noise may move the "
                "average by more than 1e-5; raise weight_scale if the headroom allows",
                server_round,
                manifest.total_weight,
                MIN_PRECISE_TOTAL_WEIGHT,
            )
        mean_delta = decrypted.weighted_sum / manifest.total_weight
        arrays = unflatten_like(global_flat + mean_delta, self._global_arrays)
        metrics = self.train_metrics_aggr_fn(
            [update.content for update in accepted], self.weighted_by_key
        )
        return arrays, metrics

    def _collect_scalars(
        self,
        server_round: int,
        summed: DecryptRequest,
        accepted: list[AcceptedUpdate],
        reference: np.ndarray,
    ) -> _ScoredRound | None:
        """Ask the key holder for the round's scalars; None if it fails."""
        request = DecryptRequest(
            kind=KIND_INNER_PRODUCT,
            manifest=summed.manifest,
            input_node_ids=summed.input_node_ids,
            inputs=summed.inputs,
            aggregate=[],
            reference=reference,
        )
        try:
            values, attestation = self._request_decryption(request)
        except EncryptedAggregationError as err:
            log(WARNING, "Round %d not scored: %s: %s", server_round, type(err).__name__, err)
            return None
        if values.shape != (len(accepted), 2):
            log(
                WARNING,
                "Round %d not scored: key holder sent %s scalars",
                server_round,
                values.shape,
            )
            return None
        reference_norm = float(np.linalg.norm(reference))
        derived = scalars_from_decrypted(
            values,
            [update.commitment.weight for update in accepted],
            weight_scale=self.weight_scale,
            reference_norm=reference_norm,
        )
        scalars: dict[str, RoundScalars] = {}
        for update, found in zip(accepted, derived, strict=True):
            if found is None:
                log(
                    WARNING,
                    "Round %d: scalars of node %d are inconsistent (out of the CKKS range); "
                    "it is not scored this round",
                    server_round,
                    update.node_id,
                )
            else:
                scalars[str(update.node_id)] = found
        return _ScoredRound(values=values, scalars=scalars, attestation=attestation)

    def _decrypt_sum(
        self,
        request: DecryptRequest,
        accepted: list[AcceptedUpdate],
        reference: np.ndarray | None,
    ) -> _DecryptedRound:
        """The decrypted sum and its decryptors' attestations, by committee or key holder.

        A committee decrypts a scored round's scalars with the sum, in the same release.
        """
        if self.committee is None:
            values, attestation = self._request_decryption(request)
            return _DecryptedRound(values, () if attestation is None else (attestation,))
        assert self._grid is not None
        (aggregate,) = request.aggregate
        trees = {update.node_id: update.ciphertexts[0] for update in accepted}
        weights = [update.commitment.weight for update in accepted]
        scoring = (
            None
            if reference is None
            else ScoringRequest.of(reference, weights, [tree.vector for tree in trees.values()])
        )
        decrypted = decrypt_sum(
            self._grid,
            self.committee,
            request.manifest,
            trees,
            aggregate,
            # Rounds are recorded on chain in the order their sums were decrypted.
            sum(1 for outcome in self.outcomes.values() if not outcome.skipped),
            self.decrypt_timeout,
            scoring,
        )
        if decrypted.scores is None:
            return _DecryptedRound(decrypted.values, decrypted.attestations)
        found = scalars_from_inner(
            decrypted.scores.inner_products(), weights, weight_scale=self.weight_scale
        )
        scored = _ScoredRound(
            scalars={str(u.node_id): x for u, x in zip(accepted, found, strict=True)},
            committee_scores=decrypted.scores,
        )
        return _DecryptedRound(decrypted.values, decrypted.attestations, scored)

    def _request_decryption(self, request: DecryptRequest) -> tuple[np.ndarray, Attestation | None]:
        assert self._grid is not None and self.key_holder_node_id is not None
        message = Message(
            content=request.to_recorddict(),
            dst_node_id=self.key_holder_node_id,
            message_type=f"{MessageType.QUERY}.{ACTION_DECRYPT}",
        )
        replies = list(self._grid.send_and_receive([message], timeout=self.decrypt_timeout))
        if not replies:
            raise KeyHolderError(
                f"key holder node {self.key_holder_node_id} did not answer within "
                f"{self.decrypt_timeout:.0f} s"
            )
        reply = replies[0]
        if reply.has_error():
            raise KeyHolderError(f"key holder refused: {reply.error.reason}")
        values = plaintext_from_reply(reply.content, request.manifest.digest())
        return values, attestation_from_reply(reply.content)


def _rounded(reference: np.ndarray) -> np.ndarray:
    """A reference update at the model's float32 precision, as it travels, flat."""
    return np.asarray(reference, dtype=np.float32).astype(np.float64).ravel()


def find_key_holder(grid: Grid, *, wallet: str, context_sha256: str, timeout: float) -> int:
    """Find the node whose key holder proves control of ``wallet`` over a fresh nonce.

    Raises
    ------
    KeyHolderError
        If no connected node proves it holds that wallet and the task's context.
    """
    nonce = os.urandom(32)
    messages = [
        Message(
            content=RecordDict({RECORD_IDENTITY: ConfigRecord({KEY_NONCE: nonce})}),
            dst_node_id=node_id,
            message_type=f"{MessageType.QUERY}.{ACTION_IDENTIFY}",
        )
        for node_id in grid.get_node_ids()
    ]
    for reply in grid.send_and_receive(messages, timeout=timeout):
        if reply.has_error():
            continue
        identity = reply.content.config_records.get(RECORD_IDENTITY)
        if identity is None or identity.get(KEY_WALLET) != wallet:
            continue
        signature = bytes(identity.get(KEY_SIGNATURE, b""))  # type: ignore[arg-type]
        proof = identity_message(nonce, context_sha256)
        if identity.get(CONFIG_CONTEXT_SHA256) == context_sha256 and verify_signature(
            wallet, proof, signature
        ):
            log(INFO, "Key holder %s is node %d", wallet, reply.metadata.src_node_id)
            return reply.metadata.src_node_id
    raise KeyHolderError(f"no connected node proved it is key holder {wallet}")
