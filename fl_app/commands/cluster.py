"""Which chain a command talks to, chosen like the Solana CLI's ``--url/-u``."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from fl_app.errors import FlAppError

if TYPE_CHECKING:
    from solders.keypair import Keypair
    from solders.pubkey import Pubkey

    from fl_app.chain import StakingClient, TaskAccount

__all__ = [
    "CLUSTERS",
    "ChainSession",
    "Cluster",
    "add_chain_options",
    "check_reachable",
    "open_chain",
    "parse_address",
    "resolve_cluster",
]

EMBEDDED_URL = "http://127.0.0.1:8999"
CLUSTERS = {
    "embedded": EMBEDDED_URL,
    "localnet": "http://127.0.0.1:8899",
    "devnet": "https://api.devnet.solana.com",
    "testnet": "https://api.testnet.solana.com",
    "mainnet-beta": "https://api.mainnet-beta.solana.com",
}
# The Solana CLI's one-letter monikers; ``localhost`` is its name for a local validator.
_MONIKER_ALIASES = {
    "e": "embedded",
    "l": "localnet",
    "localhost": "localnet",
    "d": "devnet",
    "t": "testnet",
    "m": "mainnet-beta",
}
_HEALTH_TIMEOUT_S = 5.0
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Cluster:
    """A cluster's name (``embedded``, ``localnet``, ``devnet`` or ``custom``) and URL."""

    name: str
    url: str

    @property
    def is_local(self) -> bool:
        """A chain on this machine (embedded, localnet): test SOL is free there."""
        return urlsplit(self.url).hostname in _LOOPBACK_HOSTS

    def start_hint(self) -> str:
        if self.name == "embedded":
            return "start it with fl-app services start"
        if self.name == "localnet":
            return "start it with solana-test-validator"
        return "check the URL and your network"


def add_chain_options(
    parser: argparse.ArgumentParser, *, keypair: bool = True, top_level: bool = False
) -> None:
    """``--url/-u`` and, for commands that sign, ``--keypair/-k``.

    As in the Solana CLI both may come before or after the subcommand: the top-level
    parser holds the defaults and a subcommand's own copies default to SUPPRESS, so they
    do not reset a value given before the subcommand.
    """
    parser.add_argument(
        "--url",
        "-u",
        default="embedded" if top_level else argparse.SUPPRESS,
        metavar="URL_OR_MONIKER",
        help="embedded (default: the local chain service), localnet, devnet, testnet, "
        "mainnet-beta, or an RPC URL",
    )
    if keypair:
        parser.add_argument(
            "--keypair",
            "-k",
            type=Path,
            default=None if top_level else argparse.SUPPRESS,
            metavar="PATH",
            help="wallet keypair file (default ~/.config/solana/id.json)",
        )


def resolve_cluster(value: str) -> Cluster:
    """Map a moniker or URL to a cluster; ``embedded`` follows ``fl-app services start``."""
    name = _MONIKER_ALIASES.get(value, value)
    if name == "embedded":
        from fl_app.services import running_chain_url

        return Cluster("embedded", running_chain_url() or EMBEDDED_URL)
    if name in CLUSTERS:
        return Cluster(name, CLUSTERS[name])
    if value.startswith(("http://", "https://")):
        return Cluster("custom", value.rstrip("/"))
    raise FlAppError(
        f"unknown cluster {value!r}: use embedded, localnet, devnet, testnet, mainnet-beta "
        "or an http(s) URL"
    )


def parse_address(text: str, *, what: str = "address") -> Pubkey:
    """A base58 public key, or a one-line error."""
    from solders.pubkey import Pubkey

    try:
        return Pubkey.from_string(text)
    except ValueError:
        raise FlAppError(f"{what} {text!r} is not a Solana address (base58)") from None


class ChainSession:
    """A reachable cluster and a staking client for it."""

    def __init__(self, cluster: Cluster, client: StakingClient) -> None:
        self.cluster = cluster
        self.client = client

    def task(self, address: Pubkey) -> TaskAccount:
        """The task at ``address``, or a one-line error saying it is not there."""
        account = self.client.transport.get_account(address)
        if account is None:
            raise FlAppError(
                f"no task at {address} on {self.cluster.url}: check the address "
                "and the cluster (--url)"
            )
        from fl_app.chain import TaskAccount
        from fl_app.chain.accounts import decode_account

        try:
            return decode_account(TaskAccount, address, account.data)
        except ValueError:
            raise FlAppError(f"{address} is not a task of the staking program") from None

    def balance(self, address: Pubkey) -> int:
        return self.client.balance(address)

    def require_funds(
        self, wallet: Keypair, needed: int, *, action: str, keypair: Path | None = None
    ) -> None:
        """Refuse early, with the fix, when ``wallet`` cannot pay ``needed`` lamports.

        ``keypair`` is the wallet's ``--keypair`` file (None: the default wallet), named
        in the hint so that it funds the right wallet.
        """
        from fl_app.commands.amounts import format_sol
        from fl_app.commands.program_errors import airdrop_hint

        have = self.balance(wallet.pubkey())
        if have < needed:
            amount = format_sol(_round_up_sol(needed - have))
            hint = (
                f"{airdrop_hint(keypair, amount)} on embedded/localnet"
                if self.cluster.is_local
                else "send it SOL from a funded wallet"
            )
            raise FlAppError(
                f"wallet {wallet.pubkey()} has {format_sol(have)} SOL, {action} needs "
                f"{format_sol(needed)} SOL: fund it ({hint})"
            )


def _round_up_sol(lamports: int) -> int:
    per_sol = 10**9
    return -(-lamports // per_sol) * per_sol


def check_reachable(cluster: Cluster) -> None:
    """Fail in one line, naming the fix, unless the cluster answers ``getHealth``."""
    request = {"jsonrpc": "2.0", "id": 1, "method": "getHealth"}
    try:
        # A loopback chain must not be reached through an HTTP proxy.
        response = httpx.post(
            cluster.url,
            json=request,
            timeout=_HEALTH_TIMEOUT_S,
            trust_env=not cluster.is_local,
        )
        response.raise_for_status()
    except httpx.HTTPError:
        raise FlAppError(f"no chain at {cluster.url}: {cluster.start_hint()}") from None


@contextmanager
def open_chain(args: argparse.Namespace) -> Iterator[ChainSession]:
    """Connect to the cluster of ``--url``; report a lost connection in one line."""
    from solana.exceptions import SolanaRpcException
    from solana.rpc.core import RPCException

    from fl_app.chain import RpcTransport, StakingClient

    cluster = resolve_cluster(args.url)
    check_reachable(cluster)
    session = ChainSession(cluster, StakingClient(RpcTransport(cluster.url)))
    try:
        yield session
    except (SolanaRpcException, httpx.HTTPError):
        raise FlAppError(
            f"lost the chain at {cluster.url} during the command: {cluster.start_hint()}"
        ) from None
    except RPCException as err:
        raise FlAppError(f"the chain at {cluster.url} refused: {_rpc_message(err)}") from None


def _rpc_message(err: Exception) -> str:
    detail = err.args[0] if err.args else err
    message = getattr(detail, "message", None)
    if message is None and isinstance(detail, dict):
        message = detail.get("message")
    return str(message or detail)
