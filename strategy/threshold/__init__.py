"""Threshold CKKS: a t-of-n committee of participants holds the key (Lattigo bridge)."""

from .committee import (
    CommitteeConfig,
    CommitteeMember,
    KeyShares,
    aggregate_public_key,
)
from .engine import parameters
from .errors import (
    EngineInternalError,
    EngineUnavailableError,
    InsufficientSharesError,
    InvalidArgumentError,
    KeyMismatchError,
    MalformedMessageError,
    ShareAuthenticationError,
    ThresholdCkksError,
)
from .transport import (
    open_shamir_shares,
    seal_shamir_shares,
    sign_public_key_share,
    verified_public_key_shares,
)
from .vectors import add, combine, encrypt, max_abs_value, sum_vectors

__all__ = [
    "CommitteeConfig",
    "CommitteeMember",
    "EngineInternalError",
    "EngineUnavailableError",
    "InsufficientSharesError",
    "InvalidArgumentError",
    "KeyMismatchError",
    "KeyShares",
    "MalformedMessageError",
    "ShareAuthenticationError",
    "ThresholdCkksError",
    "add",
    "aggregate_public_key",
    "combine",
    "encrypt",
    "max_abs_value",
    "open_shamir_shares",
    "parameters",
    "seal_shamir_shares",
    "sign_public_key_share",
    "sum_vectors",
    "verified_public_key_shares",
]
