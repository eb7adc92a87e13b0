"""How a command speaks: readable text, ``--quiet`` for scripts, or one JSON object."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

__all__ = ["Advance", "Output", "OutputMode", "add_output_options"]

OutputMode = Literal["text", "quiet", "json"]
OUTPUT_FORMATS = ("display", "json", "json-compact")
Advance = Callable[..., None]
"""``advance(amount=1, *, description=None)`` of a progress bar."""


def add_output_options(parser: argparse.ArgumentParser, *, top_level: bool = False) -> None:
    """``--output``, ``--json`` and ``--quiet``, accepted before or after the subcommand."""
    # On subcommands the default is SUPPRESS, so an option given before the subcommand is
    # not reset by the subcommand's own default.
    default: Any = False if top_level else argparse.SUPPRESS
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument(
        "--output",
        choices=OUTPUT_FORMATS,
        default="display" if top_level else argparse.SUPPRESS,
        help="as in the Solana CLI: display (default), json, or json-compact (one line)",
    )
    modes.add_argument(
        "--json",
        action="store_const",
        const="json-compact",
        dest="output",
        default=argparse.SUPPRESS,
        help="the same as --output json-compact (for scripts)",
    )
    modes.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        default=default,
        help="print only the essential value (an address, a URL), nothing else",
    )


class Output:
    """Where a command's lines, results and progress go.

    In ``text`` mode lines are printed as they come; in ``quiet`` mode only the result's
    essential value is printed; in ``json`` mode nothing but the result object (or the
    error object) reaches stdout. Warnings and errors go to stderr in every mode.
    """

    def __init__(self, mode: OutputMode = "text", *, indent: int | None = None) -> None:
        self.mode: OutputMode = mode
        self._indent = indent
        self._stderr = Console(stderr=True, highlight=False, soft_wrap=True)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Output:
        output = getattr(args, "output", "display")
        if output == "json":
            return cls("json", indent=2)
        if output == "json-compact":
            return cls("json")
        if getattr(args, "quiet", False):
            return cls("quiet")
        return cls("text")

    def say(self, text: str = "") -> None:
        """A line for people (text mode only)."""
        if self.mode == "text":
            print(text, flush=True)

    def warn(self, text: str) -> None:
        """A warning on stderr, in every mode but quiet."""
        if self.mode != "quiet":
            print(f"fl-app: warning: {text}", file=sys.stderr, flush=True)

    def result(
        self,
        data: Mapping[str, Any],
        *,
        text: str | Sequence[str] = (),
        quiet: str | None = None,
    ) -> None:
        """The command's outcome: ``data`` as JSON, ``text`` lines, or the ``quiet`` value."""
        if self.mode == "json":
            print(json.dumps(data, sort_keys=True, default=str, indent=self._indent), flush=True)
        elif self.mode == "quiet":
            if quiet is not None:
                print(quiet, flush=True)
        else:
            for line in [text] if isinstance(text, str) else text:
                print(line, flush=True)

    def error(self, message: str) -> None:
        """One line on stderr, and the error object on stdout in JSON mode."""
        print(f"fl-app: error: {message}", file=sys.stderr, flush=True)
        if self.mode == "json":
            print(json.dumps({"error": message}), flush=True)

    @contextmanager
    def progress(self, description: str, total: float | None = None) -> Iterator[Advance]:
        """A progress bar on stderr for long work; silent unless stderr is a terminal.

        Yields ``advance(amount=1, description=None)``; without ``total`` it is a spinner.
        """
        shown = self.mode == "text" and self._stderr.is_terminal
        columns = [
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
        ]
        with Progress(*columns, console=self._stderr, transient=True, disable=not shown) as bar:
            task = bar.add_task(description, total=total)

            def advance(amount: float = 1, *, description: str | None = None) -> None:
                bar.update(task, advance=amount, description=description)

            yield advance
