"""``fl-app wallet new | show`` and ``fl-app airdrop``: a participant's Solana wallet."""

from __future__ import annotations

import argparse
from pathlib import Path

from fl_app.commands.command_parser import add_command, signer
from fl_app.commands.output import Output
from fl_app.errors import FlAppError

__all__ = ["register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``wallet`` and ``airdrop``."""
    wallet = commands.add_parser(
        "wallet",
        help="create or show a Solana wallet (keypair file)",
        description="Wallets are ordinary Solana keypair files, as the Solana CLI writes them.",
    )
    group = wallet.add_subparsers(dest="wallet_command", required=True, metavar="COMMAND")
    new = add_command(
        group,
        "new",
        _new,
        help="create a keypair file (refuses to overwrite one)",
        description="Create a new keypair file (mode 0600, new directories 0700) and print "
        "its address. An existing file is kept unless --force is given.",
        keypair=True,
    )
    new.add_argument("--force", action="store_true", help="replace an existing keypair file")
    add_command(
        group,
        "show",
        _show,
        help="print a wallet's address and balance",
        keypair=True,
    )
    airdrop = add_command(
        commands,
        "airdrop",
        _airdrop,
        help="get test SOL (embedded and localnet only)",
        description="Fund a wallet with SOL on the embedded chain or a local validator.",
        keypair=True,
    )
    airdrop.add_argument("amount", metavar="SOL", help="amount of SOL, e.g. 20 or 0.5")
    airdrop.add_argument(
        "recipient", nargs="?", metavar="ADDRESS", help="who gets it (default: your wallet)"
    )


def _keypair_path(args: argparse.Namespace) -> Path:
    from fl_app.keypair_files import default_keypair_path

    path: Path = args.keypair or default_keypair_path()
    return path.expanduser()


def _new(args: argparse.Namespace, out: Output) -> int:
    from solders.keypair import Keypair

    from fl_app.keypair_files import write_keypair

    path = _keypair_path(args)
    keypair = Keypair()
    write_keypair(path, keypair, force=args.force)
    address = str(keypair.pubkey())
    out.result(
        {"address": address, "keypair": str(path)},
        text=[f"address: {address}", f"keypair: {path} (keep it secret: it holds the key)"],
        quiet=address,
    )
    return 0


def _show(args: argparse.Namespace, out: Output) -> int:
    from fl_app.commands.amounts import format_sol
    from fl_app.commands.cluster import open_chain

    path = _keypair_path(args)
    address = signer(args).pubkey()
    with open_chain(args) as chain:
        lamports = chain.balance(address)
    out.result(
        {
            "address": str(address),
            "keypair": str(path),
            "cluster": chain.cluster.url,
            "balance_lamports": lamports,
            "balance_sol": format_sol(lamports),
        },
        text=[
            f"address: {address}",
            f"keypair: {path}",
            f"balance: {format_sol(lamports)} SOL on {chain.cluster.name} ({chain.cluster.url})",
        ],
        quiet=str(address),
    )
    return 0


def _airdrop(args: argparse.Namespace, out: Output) -> int:
    from fl_app.commands.amounts import format_sol, parse_sol
    from fl_app.commands.cluster import open_chain, parse_address, resolve_cluster

    lamports = parse_sol(args.amount)
    cluster = resolve_cluster(args.url)
    if not cluster.is_local:
        raise FlAppError(
            f"airdrop works on embedded and localnet only, not {cluster.url}: "
            "get devnet SOL from https://faucet.solana.com"
        )
    if lamports == 0:
        raise FlAppError("airdrop of 0 SOL: give a positive amount, e.g. fl-app airdrop 20")
    recipient = (
        parse_address(args.recipient, what="recipient") if args.recipient else signer(args).pubkey()
    )
    with open_chain(args) as chain:
        chain.client.transport.airdrop(recipient, lamports)
        balance = chain.balance(recipient)
    out.result(
        {
            "address": str(recipient),
            "airdrop_lamports": lamports,
            "balance_lamports": balance,
            "balance_sol": format_sol(balance),
        },
        text=f"{format_sol(lamports)} SOL to {recipient}; balance {format_sol(balance)} SOL",
        quiet=format_sol(balance),
    )
    return 0
