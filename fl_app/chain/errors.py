"""Errors raised by the settlement client."""

from __future__ import annotations

from anchorpy.error import LangErrorMessage, _LangErrorCode

from fl_app.chain.idl import load_spec

__all__ = [
    "AttestationMismatchError",
    "ChainError",
    "ProgramError",
    "TransactionRejectedError",
    "error_name",
]

# Error numbers the System Program returns when Anchor's `init` CPI fails.
_SYSTEM_ERRORS = {0: "AccountAlreadyInUse", 1: "ResultWithNegativeLamports"}
_ANCHOR_ERROR_START = 100
_PROGRAM_ERROR_START = 6000


class ChainError(Exception):
    """Base class of every failure talking to the chain."""


class TransactionRejectedError(ChainError):
    """The runtime rejected a transaction for a reason outside the program.

    Typical causes: a missing signature, an unknown blockhash, too little
    SOL for fees or rent. The message carries the runtime's own error.
    """

    def __init__(self, message: str, *, logs: list[str] | None = None) -> None:
        super().__init__(message)
        self.logs = logs or []


class AttestationMismatchError(ChainError):
    """An attestation is not a signature of the message the transaction carries.

    The runtime would reject the whole transaction; the client refuses to send it.
    """

    def __init__(self, signer: str) -> None:
        super().__init__(f"the attestation by {signer} is not a signature of this message")
        self.signer = signer


class ProgramError(ChainError):
    """An instruction failed with a custom error code.

    Attributes
    ----------
    name : str
        ``StakingError.<Variant>`` for the program's own errors,
        ``AnchorError.<Variant>`` for framework checks (signer, seeds,
        has_one, ...), ``SystemError.<Variant>`` for the System Program.
    code : int
        The custom error number.
    instruction_index : int | None
        Which instruction of the transaction failed.
    logs : list[str]
        The transaction's log lines.
    """

    def __init__(
        self,
        code: int,
        *,
        instruction_index: int | None = None,
        logs: list[str] | None = None,
    ) -> None:
        self.code = code
        self.name = error_name(code)
        self.instruction_index = instruction_index
        self.logs = logs or []
        super().__init__(f"{self.name} (custom error {code})")


def error_name(code: int) -> str:
    """Qualified name of a custom error code, from the IDL's error table first."""
    if code >= _PROGRAM_ERROR_START:
        variant = load_spec().errors.get(code)
        return f"StakingError.{variant}" if variant else f"StakingError.Unknown{code}"
    if code >= _ANCHOR_ERROR_START:
        try:
            variant = _LangErrorCode(code).name
        except ValueError:
            return f"AnchorError.Unknown{code}"
        return f"AnchorError.{variant}" if code in LangErrorMessage else f"AnchorError.{code}"
    return f"SystemError.{_SYSTEM_ERRORS.get(code, f'Unknown{code}')}"
