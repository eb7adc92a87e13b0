"""The key-holder role: verified decryption of aggregates, answered as Flower queries.

The key holder is a participant node that holds the CKKS secret context (sealed to its
wallet). The aggregator reaches it with ``query.ckks_decrypt`` messages; the key holder
recomputes the requested aggregate from the committed inputs (CKKS addition is
deterministic) and decrypts only a sum over at least ``k`` distinct committed inputs,
once per round. After a round's sum, and once per round, it also serves contribution
scalars over the same inputs: it computes ``Enc(<w_i, g0>)`` and ``Enc(||w_i||^2)`` of
each committed update itself and decrypts only those two scalars, for a reference
``g0`` whose SHA-256 every participant signed into its commitment. Everything else is
refused with a specific error.

Residual risk of scoring: each scored round releases two scalars per participant, one
linear projection of the update and its length. The key holder refuses a reference
concentrated on one coordinate, but any committed ``g0`` reveals ``<w_i, g0>``: it is
pinned publicly with the round manifest so an auditor can check it is a real model
update of the organisation (training the global model on its reference split), not a
crafted probe. A participant that bypasses ``ckks_mod`` can encrypt values whose
scalars exceed the CKKS range (``+-32768``) and decrypt to noise; the strategy drops
scalars that violate Cauchy-Schwarz.

Why queries and not a mod: in flwr 1.41 a ClientApp only runs mods around functions it
has registered, so a message type the app does not register never reaches a mod. The
key holder's ClientApp therefore registers two query actions with
``register_key_holder(app)``; every other participant needs only ``ckks_mod``.
"""

from __future__ import annotations

import time
from logging import WARNING
from typing import Any

import numpy as np
from flwr.app import ConfigRecord
from flwr.common.logger import log

from .attestation import Attestation, attest, round_attestation, scores_message
from .ckks import (
    load_secret_context,
    public_fingerprint_of,
    sha256_hex,
    supports_multiplication,
)
from .committed_inputs import checked_commitments
from .constants import (
    CONFIG_CONTEXT_SHA256,
    KEY_SIGNATURE,
    KEY_WALLET,
    KIND_INNER_PRODUCT,
    KIND_WEIGHTED_SUM,
)
from .decrypt_request import DecryptRequest
from .encrypted_scalars import encrypted_scalars
from .exceptions import (
    DigestMismatchError,
    DisallowedOperationError,
    ReferenceMismatchError,
    ReplayError,
)
from .packing import packing_for
from .reference import check_reference, reference_sha256
from .wallet import Wallet

ERROR_CODE_REFUSED = 4100
IDENTITY_DOMAIN = b"ckks-key-holder-identity:"


class KeyHolder:
    """Holds the secret context and serves verified decryption requests.

    Parameters
    ----------
    secret_context : bytes
        Serialized context with the secret key (from ``generate_keys``).
    min_inputs : int
        ``k``: the fewest distinct committed inputs an aggregate may cover.
    wallet : Wallet | None
        The key holder's wallet, used to prove its identity to the aggregator.
    allowed_signers : frozenset[str] | None
        Wallet addresses of staked participants. If set, every input commitment must be
        signed by a distinct one of them. If None, the node ids in the manifest are
        trusted, which lets a dishonest aggregator pad a sum with inputs it fabricated.
    """

    def __init__(
        self,
        *,
        secret_context: bytes,
        min_inputs: int,
        wallet: Wallet | None = None,
        allowed_signers: frozenset[str] | None = None,
    ) -> None:
        if min_inputs < 2:
            raise ValueError("min_inputs must be at least 2 to keep single updates private")
        self._context = load_secret_context(secret_context)
        self._packing = packing_for(self._context)
        self.context_sha256 = public_fingerprint_of(self._context)
        self.min_inputs = min_inputs
        self.wallet = wallet
        self.allowed_signers = allowed_signers
        self.decrypted_rounds: set[tuple[str, int]] = set()
        # Digest of the inputs of each round's decrypted sum; scores must cover the same.
        self.summed_inputs: dict[tuple[str, int], str] = {}
        self.scored_rounds: set[tuple[str, int]] = set()
        # What it signed for each (task, round, kind) it decrypted: the contributors of
        # a sum (for the chain's round record) or a round's scalars (for the final
        # attestation); the reply carries it.
        self.attestations: dict[tuple[str, int, str], Attestation] = {}
        self.can_score = (
            supports_multiplication(self._context)
            and self._context.has_galois_keys()
            and self._context.has_relin_keys()
        )
        if self.can_score:
            # Rotations run before any rescale, at scale 2^56 (see `encrypted_scalars`).
            self._context.auto_rescale = False
        # Wall seconds per phase of the last served request, for operators and benchmarks.
        self.last_timings: dict[str, float] = {}
        if allowed_signers is None:
            log(
                WARNING,
                "KeyHolder: commitments are not checked against participant wallets; "
                "an aggregator could pad a sum with inputs it made up. Pass "
                "allowed_signers to close this.",
            )

    @classmethod
    def from_sealed(
        cls, sealed_secret: bytes, wallet: Wallet, *, min_inputs: int, **kwargs: object
    ) -> KeyHolder:
        """Build a key holder from a secret context sealed to ``wallet``."""
        return cls(
            secret_context=wallet.open_sealed(sealed_secret),
            min_inputs=min_inputs,
            wallet=wallet,
            **kwargs,  # type: ignore[arg-type]
        )

    def decrypt(self, request: DecryptRequest) -> np.ndarray:
        """Verify ``request`` and return the decrypted aggregate.

        Raises
        ------
        EncryptedAggregationError
            A specific subclass naming why the request was refused.
        """
        if request.kind == KIND_INNER_PRODUCT:
            return self.score(request)
        if request.kind != KIND_WEIGHTED_SUM:
            raise DisallowedOperationError(f"unknown operation {request.kind!r}")
        started = time.perf_counter()
        self._check_round_not_summed(request)
        inputs = self._verified_inputs(request)
        verified = time.perf_counter()
        total = self._packing.add(inputs)
        added = time.perf_counter()
        recomputed = [sha256_hex(chunk) for chunk in self._packing.serialize(total)]
        claimed = [sha256_hex(chunk) for chunk in request.aggregate]
        if recomputed != claimed:
            raise DisallowedOperationError(
                "the requested aggregate is not the sum of the listed committed inputs "
                "(for example a single update presented as a sum)"
            )
        checked = time.perf_counter()
        round_key = (request.manifest.task_id, request.manifest.server_round)
        attestation = self._attest_round(request)
        if attestation is not None:
            self.attestations[(*round_key, request.kind)] = attestation
        self.decrypted_rounds.add(round_key)
        self.summed_inputs[round_key] = _inputs_digest(request)
        values = self._packing.decrypt(total, _num_values(request))
        self.last_timings = {
            "verify_inputs_s": verified - started,
            "add_s": added - verified,
            "check_aggregate_s": checked - added,
            "decrypt_s": time.perf_counter() - checked,
        }
        return values

    def score(self, request: DecryptRequest) -> np.ndarray:
        """Verify a scoring request; return ``[<w_i, g0>, ||w_i||^2]`` per listed input.

        Served once per round, after the round's sum was decrypted, over the same
        committed inputs, for the reference whose SHA-256 the inputs committed to.

        Raises
        ------
        EncryptedAggregationError
            A specific subclass naming why the request was refused.
        """
        manifest = request.manifest
        round_key = (manifest.task_id, manifest.server_round)
        if not self.can_score:
            raise DisallowedOperationError(
                "these CKKS keys leave no room for a multiplication; contribution scores "
                "need keys made with generate_keys(profile='scoring')"
            )
        if round_key in self.scored_rounds:
            raise DisallowedOperationError(f"round {manifest.server_round} was already scored")
        if round_key not in self.summed_inputs:
            raise DisallowedOperationError(
                f"round {manifest.server_round}'s sum has not been decrypted; scores are "
                "served only over the inputs of a decrypted sum"
            )
        started = time.perf_counter()
        vectors = self._verified_inputs(request)
        if self.summed_inputs[round_key] != _inputs_digest(request):
            raise DisallowedOperationError(
                "scores must cover exactly the committed inputs of the round's decrypted sum"
            )
        if request.reference is None:
            raise ReferenceMismatchError("the scoring request carries no reference update")
        digest = reference_sha256(request.reference)
        for node_id in request.input_node_ids:
            commitment = manifest.commitment_of(node_id)
            if commitment is None or commitment.reference_sha256 != digest:
                raise ReferenceMismatchError(
                    f"node {node_id} did not commit to this reference update before "
                    "training; the server may only score with the g0 it committed to"
                )
        check_reference(request.reference, _num_values(request))
        verified = time.perf_counter()
        self.scored_rounds.add(round_key)
        encrypted = [encrypted_scalars(chunks, request.reference) for chunks in vectors]
        evaluated = time.perf_counter()
        scalars = np.array(
            [[float(inner.decrypt()[0]), float(square.decrypt()[0])] for inner, square in encrypted]
        )
        attestation = self._attest_scores(request, scalars)
        if attestation is not None:
            self.attestations[(*round_key, request.kind)] = attestation
        self.last_timings = {
            "verify_inputs_s": verified - started,
            "evaluate_s": evaluated - verified,
            "decrypt_s": time.perf_counter() - evaluated,
        }
        return scalars

    def _check_round_not_summed(self, request: DecryptRequest) -> None:
        manifest = request.manifest
        round_key = (manifest.task_id, manifest.server_round)
        if round_key in self.decrypted_rounds:
            raise DisallowedOperationError(
                f"round {manifest.server_round} was already decrypted; a second sum over "
                "another subset would reveal the difference"
            )
        done = [r for t, r in self.decrypted_rounds if t == manifest.task_id]
        if done and manifest.server_round < max(done):
            raise ReplayError(
                f"round {manifest.server_round} is older than round {max(done)}, already decrypted"
            )

    def _verified_inputs(self, request: DecryptRequest) -> list[list[Any]]:
        commitments = checked_commitments(
            request.manifest,
            request.input_node_ids,
            context_sha256=self.context_sha256,
            min_inputs=self.min_inputs,
            allowed_signers=self.allowed_signers,
        )
        if set(request.inputs) != set(request.input_node_ids):
            raise DisallowedOperationError("ciphertexts do not match the listed inputs")
        seen_chunks: set[str] = set()
        vectors = []
        for commitment in commitments:
            chunks = request.inputs[commitment.node_id]
            digests = tuple(sha256_hex(chunk) for chunk in chunks)
            if digests != commitment.chunk_sha256:
                raise DigestMismatchError(
                    f"node {commitment.node_id}'s ciphertexts do not match its committed SHA-256"
                )
            if seen_chunks.intersection(digests):
                raise DisallowedOperationError("the same ciphertext appears in two inputs")
            seen_chunks.update(digests)
            vectors.append(self._packing.load(chunks, commitment.num_values))
        return vectors

    def _attest_round(self, request: DecryptRequest) -> Attestation | None:
        """Sign the contributors of the sum about to be decrypted, for the chain.

        The contributors are the wallets that signed the summed inputs' commitments.
        The on-chain round index is the number of sums of this task decrypted before:
        the organisation records exactly the rounds whose sum was decrypted. Without a
        wallet, or with an unsigned input, there is nothing to attest.
        """
        if self.wallet is None:
            return None
        manifest = request.manifest
        signers = []
        for node_id in request.input_node_ids:
            commitment = manifest.commitment_of(node_id)
            if commitment is None or not commitment.has_valid_signature():
                return None
            signers.append(commitment.signer)
        round_index = sum(1 for task, _ in self.decrypted_rounds if task == manifest.task_id)
        try:
            return round_attestation(
                self.wallet, manifest.task_id, round_index, manifest.digest(), signers
            )
        except ValueError:
            return None  # not a task address: a run without a chain

    def _attest_scores(self, request: DecryptRequest, values: np.ndarray) -> Attestation | None:
        """Sign the scalars about to be returned, in the manifest's commitment order.

        The organisation publishes them in the round's manifest; the key holder's final
        attestation accepts scores only derived from scalars carrying this signature.
        """
        manifest = request.manifest
        in_manifest_order = tuple(c.node_id for c in manifest.commitments)
        if self.wallet is None or request.input_node_ids != in_manifest_order:
            return None
        assert request.reference is not None  # checked by score()
        message = scores_message(
            bytes.fromhex(manifest.digest()), float(np.linalg.norm(request.reference)), values
        )
        return attest(self.wallet, message)

    def identity(self, nonce: bytes) -> ConfigRecord:
        """Prove which wallet and context this key holder has, over a server nonce."""
        record = ConfigRecord({CONFIG_CONTEXT_SHA256: self.context_sha256, KEY_WALLET: ""})
        if self.wallet is not None:
            record[KEY_WALLET] = self.wallet.address
            record[KEY_SIGNATURE] = self.wallet.sign(identity_message(nonce, self.context_sha256))
        return record


def _inputs_digest(request: DecryptRequest) -> str:
    """Fingerprint of a request's manifest and listed inputs."""
    listed = ",".join(str(n) for n in sorted(request.input_node_ids))
    return sha256_hex(f"{request.manifest.digest()}|{listed}".encode("ascii"))


def _num_values(request: DecryptRequest) -> int:
    commitment = request.manifest.commitment_of(request.input_node_ids[0])
    assert commitment is not None  # checked by _verified_inputs
    return commitment.num_values


def identity_message(nonce: bytes, context_sha256: str) -> bytes:
    """Bytes a key holder signs to prove its wallet over a server nonce."""
    return IDENTITY_DOMAIN + nonce + context_sha256.encode("ascii")
