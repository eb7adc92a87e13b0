"""SOL amounts typed by people, converted exactly to lamports and back."""

from __future__ import annotations

import re
from decimal import Decimal

from fl_app.errors import FlAppError

__all__ = ["LAMPORTS_PER_SOL", "format_sol", "parse_duration", "parse_sol"]

LAMPORTS_PER_SOL = 1_000_000_000
_DECIMALS = 9
_SOL = re.compile(r"^(\d+(\.\d*)?|\.\d+)$")
_DURATION = re.compile(r"^(\d+)([smhdw])$")
_SECONDS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}


def parse_sol(text: str, *, what: str = "amount") -> int:
    """Lamports of a decimal SOL string such as ``"10"``, ``"0.5"`` or ``"1.000000001"``.

    Raises
    ------
    FlAppError
        For a negative amount, more than 9 decimals, or anything that is not a plain
        decimal number (no exponents, no thousands separators).
    """
    value = text.strip()
    if value.startswith("-"):
        raise FlAppError(f"{what} {text!r} is negative: give an amount of SOL such as 1.5")
    if not _SOL.match(value):
        raise FlAppError(f"{what} {text!r} is not an amount of SOL: write it like 10 or 0.25")
    decimals = value.partition(".")[2]
    if len(decimals) > _DECIMALS:
        raise FlAppError(
            f"{what} {text!r} has {len(decimals)} decimals; SOL has at most {_DECIMALS} "
            "(1 lamport = 0.000000001 SOL)"
        )
    return int(Decimal(value) * LAMPORTS_PER_SOL)


def format_sol(lamports: int) -> str:
    """``lamports`` as SOL without trailing zeros: 10_002_000_000 -> ``"10.002"``."""
    sol = Decimal(lamports).scaleb(-_DECIMALS)
    text = f"{sol:.{_DECIMALS}f}".rstrip("0").rstrip(".")
    return text or "0"


def parse_duration(text: str, *, what: str = "duration") -> int:
    """Seconds of ``"90s"``, ``"30m"``, ``"1h"``, ``"7d"`` or ``"2w"`` (or plain seconds)."""
    value = text.strip()
    if value.isdigit():
        return int(value)
    match = _DURATION.match(value)
    if not match:
        raise FlAppError(f"{what} {text!r} is not a duration: write it like 90s, 30m, 1h or 7d")
    return int(match.group(1)) * _SECONDS[match.group(2)]
