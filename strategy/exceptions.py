"""Errors raised by encrypted aggregation, each saying what was wrong and what to do."""

from __future__ import annotations


class EncryptedAggregationError(Exception):
    """Base class for every error raised by the encrypted aggregation plugin."""


class SecretKeyExposedError(EncryptedAggregationError):
    """A context that must be public carries a CKKS secret key.

    The aggregator (and every participant) must only ever load the public context.
    Re-export the context with ``save_secret_key=False`` (see ``generate_keys``).
    """


class ContextMismatchError(EncryptedAggregationError):
    """A ciphertext or commitment refers to a CKKS context other than the task's.

    The participant must encrypt under the public context pinned for the task; check
    that its ``ckks-context-sha256`` node-config pin matches the task's context.
    """


class MalformedCiphertextError(EncryptedAggregationError):
    """Bytes that should be a CKKS ciphertext do not parse under the task context.

    Either the bytes were corrupted in transit or they were produced with other
    encryption parameters; the participant must re-encrypt with the task context.
    """


class CiphertextSizeError(EncryptedAggregationError):
    """A ciphertext or update has the wrong number of chunks or values.

    The participant's model does not have the global model's layout; it must train the
    model the server sent, with the same parameter names and shapes.
    """


class DigestMismatchError(EncryptedAggregationError):
    """A ciphertext does not hash to the SHA-256 committed for it in the round manifest.

    Whoever presented the ciphertext altered or substituted it; do not decrypt it.
    """


class ReplayError(EncryptedAggregationError):
    """A commitment is bound to another task, round or node than the one presenting it.

    It is a replay of an earlier (or foreign) update; drop it and ask the node for a
    fresh update in the current round.
    """


class InsufficientInputsError(EncryptedAggregationError):
    """A decryption would reveal an aggregate over fewer than ``k`` distinct inputs.

    Wait for more participants or lower ``min_decrypt_inputs`` in the task
    configuration (which weakens privacy).
    """


class DisallowedOperationError(EncryptedAggregationError):
    """A decryption request asks for something other than an allowed aggregate.

    Examples: an aggregate that is not the sum of the listed committed inputs, a second
    aggregate for a round already decrypted, or an operation kind the key holder does
    not offer yet.
    """


class ReferenceMismatchError(EncryptedAggregationError):
    """A scoring request's reference update is not the one committed for the round.

    The server must commit ``sha256(g0)`` in the round's train config before updates
    arrive (participants copy it into their signed commitments) and later ask for
    scores with exactly that ``g0``; a reference chosen after seeing the updates, or one
    shaped like a probe of single coordinates, is refused.
    """


class MalformedReplyError(EncryptedAggregationError):
    """A reply lacks the records the encrypted protocol needs, or carries plaintext.

    Install ``ckks_mod`` on the participant's ClientApp and return the quickstart
    reply shape (an ArrayRecord and a MetricRecord with the weighting key).
    """


class PlaintextOverflowError(EncryptedAggregationError):
    """A pre-weighted update is too large for the CKKS modulus headroom.

    The decrypted sum would wrap around and be garbage. Lower the strategy's
    ``weight_scale`` (so that ``weight_scale * num-examples * |delta|`` stays small)
    or clip the update before it reaches ``ckks_mod``.
    """


class KeyHolderError(EncryptedAggregationError):
    """The decryptors could not be found, did not answer in time, or refused: the key
    holder, or fewer than ``t`` committee members (or one of them in key generation).

    Check that the nodes named by the task configuration are connected, run a ClientApp
    with ``register_key_holder`` (or ``register_committee_member``) and hold this task's
    key material.
    """


class WalletError(EncryptedAggregationError, ValueError):
    """A wallet keypair, sealed key, signature or base58 text is invalid.

    Use the Solana CLI keypair file (a JSON array of 64 bytes) of the intended wallet.
    """


class BundledSecretError(EncryptedAggregationError):
    """The Flower app bundle would carry a key to every node.

    ``flwr run`` packs the app directory and ships it to every SuperNode. Move wallet
    keypairs, sealed secrets and secret contexts out of the app directory (or list them
    in its ``.gitignore``) and name them in the key holder's node config instead.
    """
