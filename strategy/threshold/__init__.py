"""Threshold CKKS: a t-of-n committee of participants holds the key (Lattigo bridge)."""

from .committee import (
    CommitteeConfig,
    CommitteeMember,
    KeyShares,
    aggregate_public_key,
    seal_shamir_shares,
)
from .engine import parameters
from .errors import (
    EngineInternalError,
    EngineUnavailableError,
    InsufficientSharesError,
    InvalidArgumentError,
    KeyMismatchError,
    MalformedMessageError,
    ThresholdCkksError,
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
    "ThresholdCkksError",
    "add",
    "aggregate_public_key",
    "combine",
    "encrypt",
    "max_abs_value",
    "parameters",
    "seal_shamir_shares",
    "sum_vectors",
]
