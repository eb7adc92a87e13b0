"""``fl-app keys create``: the key holder's ceremony for one task's CKKS keys."""

from __future__ import annotations

import argparse
from pathlib import Path

from fl_app.commands.command_parser import add_command, signer
from fl_app.commands.output import Output
from fl_app.errors import FlAppError

__all__ = ["register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``keys`` and its subcommands."""
    keys = commands.add_parser("keys", help="the key holder's CKKS keys for a task")
    group = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    create = add_command(
        group,
        "create",
        _create,
        help="generate CKKS keys and seal the secret to your wallet",
        description="The key holder's ceremony: generate the task's CKKS keys (scoring "
        "profile), seal the secret context to the key holder's wallet (-k), and write "
        "public_context.bin for the organisation (fl-app task create --context).",
        keypair=True,
    )
    create.add_argument(
        "--dir", type=Path, default=Path("keys"), help="where the key files go (default ./keys)"
    )
    create.add_argument(
        "--aggregation-only",
        action="store_true",
        help="smaller keys without contribution scoring (rewards then cannot follow "
        "measured contribution)",
    )
    create.add_argument("--force", action="store_true", help="replace existing key files")


def _create(args: argparse.Namespace, out: Output) -> int:
    from fl_app.keys import KeyFiles
    from strategy import Wallet

    directory: Path = args.dir
    existing = KeyFiles(directory)
    if existing.public_context.exists() and not args.force:
        raise FlAppError(
            f"{directory} already holds task keys: use another --dir, or --force to replace "
            "them (a task created with the old context then cannot be decrypted)"
        )
    keypair = signer(args)
    if args.aggregation_only:
        out.warn("aggregation-only keys: contribution cannot be scored, rewards are split equally")
    with out.progress("generating CKKS keys"):
        files = KeyFiles.create(
            directory,
            wallet=Wallet.from_keypair_bytes(bytes(keypair)),
            scoring=not args.aggregation_only,
        )
    address = files.key_holder_address
    out.result(
        {
            "key_holder": address,
            "public_context": str(files.public_context),
            "sealed_secret": str(files.sealed_secret),
            "scoring": not args.aggregation_only,
        },
        text=[
            f"key holder: {address}",
            f"public context: {files.public_context} (give it to the organisation)",
            f"sealed secret: {files.sealed_secret} (opens only with your wallet)",
            f"next: the organisation runs fl-app task create --key-holder {address} "
            f"--context {files.public_context} ...",
        ],
        quiet=address,
    )
    return 0
