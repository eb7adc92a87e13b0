"""The checks every decryptor makes of the inputs an aggregate claims to sum.

The key holder (one key) and each committee member (threshold) release plaintext only
for a sum over at least ``k`` distinct inputs of this task and round, each committed
under the task's key and signed by a distinct staked wallet. How each then checks the
ciphertexts against the commitments differs (recomputation, spot checks); these checks
of the commitments themselves are the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from .exceptions import (
    ContextMismatchError,
    DigestMismatchError,
    DisallowedOperationError,
    InsufficientInputsError,
    WalletError,
)
from .manifest import RoundManifest, UpdateCommitment


def checked_commitments(
    manifest: RoundManifest,
    node_ids: Sequence[int],
    *,
    context_sha256: str,
    min_inputs: int,
    allowed_signers: frozenset[str] | None,
) -> list[UpdateCommitment]:
    """The commitments of ``node_ids`` in ``manifest``, after every check.

    Parameters
    ----------
    manifest : RoundManifest
        The round's manifest.
    node_ids : Sequence[int]
        The inputs the aggregate claims to sum.
    context_sha256 : str
        Fingerprint of the key the decryptor holds.
    min_inputs : int
        ``k``.
    allowed_signers : frozenset[str] | None
        Staked wallets; each input must be signed by a distinct one. None trusts node
        ids (a single key holder without a chain).

    Raises
    ------
    EncryptedAggregationError
        A specific subclass naming the first check that failed.
    """
    if manifest.context_sha256 != context_sha256:
        raise ContextMismatchError("the manifest names another CKKS context")
    if len(set(node_ids)) != len(node_ids):
        raise DisallowedOperationError("an input is listed more than once")
    if len(node_ids) < min_inputs:
        raise InsufficientInputsError(
            f"sum over {len(node_ids)} inputs, at least {min_inputs} required"
        )
    signers: set[str] = set()
    commitments: list[UpdateCommitment] = []
    for node_id in node_ids:
        commitment = manifest.commitment_of(node_id)
        if commitment is None:
            raise DigestMismatchError(f"node {node_id} has no commitment in the manifest")
        commitment.check_bound_to(manifest.task_id, manifest.server_round, node_id)
        if commitment.context_sha256 != context_sha256:
            raise ContextMismatchError(f"node {node_id} encrypted under another context")
        if allowed_signers is not None:
            if not commitment.has_valid_signature() or commitment.signer not in allowed_signers:
                raise WalletError("an input is not signed by a staked participant's wallet")
            if commitment.signer in signers:
                raise DisallowedOperationError("two inputs are signed by the same wallet")
            signers.add(commitment.signer)
        if commitments and commitment.num_values != commitments[0].num_values:
            raise DisallowedOperationError("inputs have different sizes")
        commitments.append(commitment)
    return commitments
