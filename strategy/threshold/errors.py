"""Errors of the threshold CKKS engine, each saying what was wrong and what to do."""

from __future__ import annotations

from ..exceptions import DisallowedOperationError, EncryptedAggregationError


class ThresholdCkksError(EncryptedAggregationError):
    """Base class for every error raised by the threshold CKKS engine."""


class ReleaseRefusedError(ThresholdCkksError, DisallowedOperationError):
    """A member's release failed a check the engine makes before any share exists.

    For example, a scored round's body parts that do not add up to the aggregate's.
    """


class EngineUnavailableError(ThresholdCkksError):
    """The engine's shared library is not built for these sources.

    Run ``make setup`` (or ``bash scripts/setup_threshold.sh``), or point
    ``FL_APP_THRESHOLD_LIB`` at a built ``libthreshold_ckks`` library.
    """


class MalformedMessageError(ThresholdCkksError):
    """Bytes that should be a key share, key, ciphertext or decryption share do not parse.

    They were corrupted in transit or made by another engine version or parameter set;
    ask the sender for the message again.
    """


class KeyMismatchError(ThresholdCkksError):
    """Messages that must belong together do not.

    A key share made with another task seed, a ciphertext under another public key, a
    decryption share of another ciphertext or for another set of decrypting members, or a
    repeated sender. Drop the foreign message and ask its sender for one of this task.
    """


class InsufficientSharesError(ThresholdCkksError):
    """Fewer shares than the protocol step needs.

    Key generation needs every member's shares; a decryption needs at least ``t`` members
    and a share from each member of the decrypting set. Wait for the missing members or
    choose a decrypting set of members who are online.
    """


class InvalidArgumentError(ThresholdCkksError, ValueError):
    """An argument is outside what the engine accepts (sizes, member numbers, values).

    Committees need ``1 <= t <= n``, members are numbered ``1..n`` and encrypted values
    must be finite and within ``MAX_ABS_VALUE``.
    """


class EngineInternalError(ThresholdCkksError):
    """The engine failed in a way no input should cause; report it with the message."""


class ShareAuthenticationError(ThresholdCkksError):
    """A key-generation message is not signed by the wallet of the member it is from.

    The relay (or someone else) substituted it; drop it and ask the member, by its wallet
    recorded on chain, for its message again.
    """
