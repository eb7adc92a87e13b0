"""Stake before work: only nodes that prove a wallet with an active stake are sampled.

Each round the server sends every connected node a fresh 32-byte nonce. A participant
answers with its wallet address and an ed25519 signature over
``domain || task || node id || nonce``; binding the task and node id stops a proof from
being replayed by another node or for another task. The server verifies the signature and
then asks the chain (through ``stake_lookup``) for that wallet's Stake account on the
task. Nodes without a valid proof, or whose stake is missing, inactive or below the
task's minimum, are left out, each with a log line saying why.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from logging import INFO, WARNING
from typing import Any

from flwr.app import ConfigRecord, Context, Message, MessageType, RecordDict
from flwr.clientapp import ClientApp
from flwr.common import log
from flwr.serverapp import Grid

from .constants import NODE_CONFIG_WALLET
from .wallet import Wallet, verify_signature

__all__ = [
    "ACTION_STAKE_PROOF",
    "GatedGrid",
    "StakeGate",
    "StakeStatus",
    "register_stake_prover",
]

ACTION_STAKE_PROOF = "stake_proof"
RECORD_STAKE_PROOF = "stake-proof"
KEY_NONCE = "nonce"
KEY_TASK = "task"
KEY_WALLET = "wallet"
KEY_SIGNATURE = "signature"
STAKE_PROOF_DOMAIN = b"fl-app-stake-proof:"


@dataclass(frozen=True)
class StakeStatus:
    """What the chain says of a wallet's stake on the task."""

    amount: int
    active: bool


StakeLookup = Callable[[str], StakeStatus | None]
WalletLoader = Callable[[Context], Wallet | None]


def proof_message(task: str, node_id: int, nonce: bytes) -> bytes:
    """The bytes a participant signs to prove its wallet to the server."""
    return STAKE_PROOF_DOMAIN + task.encode() + b":" + node_id.to_bytes(8, "little") + nonce


def wallet_from_node_config(context: Context) -> Wallet | None:
    """The participant's wallet, from node config ``wallet-keypair`` (a keypair file)."""
    path = context.node_config.get(NODE_CONFIG_WALLET)
    return Wallet.from_keypair_file(str(path)) if path else None


def register_stake_prover(
    app: ClientApp, load_wallet: WalletLoader = wallet_from_node_config
) -> None:
    """Answer the server's stake-proof queries with a signature by the node's wallet."""

    @app.query(ACTION_STAKE_PROOF)
    def prove(msg: Message, context: Context) -> Message:
        wallet = load_wallet(context)
        request = msg.content.config_records[RECORD_STAKE_PROOF]
        record = ConfigRecord({KEY_WALLET: ""})
        if wallet is not None:
            nonce = bytes(request[KEY_NONCE])  # type: ignore[arg-type]
            task = str(request[KEY_TASK])
            record[KEY_WALLET] = wallet.address
            record[KEY_SIGNATURE] = wallet.sign(proof_message(task, context.node_id, nonce))
        return Message(RecordDict({RECORD_STAKE_PROOF: record}), reply_to=msg)


class StakeGate:
    """Finds the connected nodes that may be sampled for the task.

    Parameters
    ----------
    task
        The task's on-chain address (base58); bound into every proof.
    min_stake
        The task's minimum stake in lamports.
    stake_lookup
        Returns the wallet's stake on the task from the chain, or None if it has none.
    timeout
        Seconds to wait for the nodes' proofs.
    poll_s
        Seconds between two looks at the connected nodes while waiting for stakers.
    """

    def __init__(
        self,
        *,
        task: str,
        min_stake: int,
        stake_lookup: StakeLookup,
        timeout: float = 60.0,
        poll_s: float = 1.0,
    ) -> None:
        self.task = task
        self.min_stake = min_stake
        self.stake_lookup = stake_lookup
        self.timeout = timeout
        self.poll_s = poll_s
        self.wallets: dict[int, str] = {}
        """Wallet address of every node admitted so far, by node id."""
        self.unanswered: set[int] = set()
        """Nodes that sent no proof within ``timeout`` the last time they were asked."""

    def admit(self, grid: Grid, only: set[int] | None = None) -> dict[int, str]:
        """Ask connected nodes (those in ``only`` if given) for a fresh proof.

        Returns the admitted node ids -> wallets.
        """
        nonce = os.urandom(32)
        request = ConfigRecord({KEY_NONCE: nonce, KEY_TASK: self.task})
        node_ids = [n for n in grid.get_node_ids() if only is None or n in only]
        messages = [
            Message(
                content=RecordDict({RECORD_STAKE_PROOF: request}),
                dst_node_id=node_id,
                message_type=f"{MessageType.QUERY}.{ACTION_STAKE_PROOF}",
            )
            for node_id in node_ids
        ]
        replies = {
            m.metadata.src_node_id: m for m in grid.send_and_receive(messages, timeout=self.timeout)
        }
        admitted: dict[int, str] = {}
        self.unanswered = {n for n in node_ids if n not in replies}
        for node_id in node_ids:
            wallet, reason = self._check(replies.get(node_id), node_id, nonce)
            if wallet is None:
                log(WARNING, "stake gate: node %d excluded: %s", node_id, reason)
            else:
                admitted[node_id] = wallet
        log(INFO, "stake gate: %d of %d nodes proved an active stake", len(admitted), len(node_ids))
        self.wallets.update(admitted)
        return admitted

    def wait_for_stakers(self, grid: Grid, needed: int, timeout: float) -> dict[int, str]:
        """Admit nodes until ``needed`` of them proved a stake or ``timeout`` seconds pass.

        Nodes that connect later are asked as they appear, and every node is asked again
        when one did not answer in time (a slow or busy node) or a new one connected (so a
        node that staked late is admitted too). Returns the last admitted set (possibly
        too small).
        """
        deadline = time.monotonic() + timeout
        asked: set[int] = set()
        admitted: dict[int, str] = {}
        last_logged = (-1, -1)
        while True:
            connected = set(grid.get_node_ids())
            if (connected - asked or self.unanswered & connected) and len(connected) >= needed:
                # Proofs given during this wait stay valid; only the others are asked, so
                # a slow node is not sent a second query while it answers the first.
                proven = {n: w for n, w in admitted.items() if n in connected}
                admitted = proven | self.admit(grid, only=connected - set(proven))
                asked = connected
                if len(admitted) >= needed:
                    return admitted
            if time.monotonic() >= deadline:
                return admitted
            if (len(connected), len(admitted)) != last_logged:
                last_logged = (len(connected), len(admitted))
                log(
                    INFO,
                    "stake gate: waiting up to %.0f s for %d staked node(s): "
                    "%d connected, %d proved",
                    deadline - time.monotonic(),
                    needed,
                    len(connected),
                    len(admitted),
                )
            # The Grid offers no connection event, so look again after a short pause.
            time.sleep(min(self.poll_s, max(deadline - time.monotonic(), 0.0)))

    def _check(self, reply: Message | None, node_id: int, nonce: bytes) -> tuple[str | None, str]:
        if reply is None:
            return None, f"no proof within {self.timeout:.0f} s"
        if reply.has_error():
            return None, f"proof failed: {reply.error.reason}"
        record = reply.content.config_records.get(RECORD_STAKE_PROOF)
        wallet = str(record.get(KEY_WALLET, "")) if record is not None else ""
        if record is None or not wallet:
            return None, "no wallet configured (node config 'wallet-keypair')"
        signature = bytes(record.get(KEY_SIGNATURE, b""))  # type: ignore[arg-type]
        if not verify_signature(wallet, proof_message(self.task, node_id, nonce), signature):
            return None, f"signature does not prove control of wallet {wallet}"
        stake = self.stake_lookup(wallet)
        if stake is None:
            return None, f"wallet {wallet} has no stake on task {self.task}"
        if not stake.active:
            return None, f"stake of wallet {wallet} is no longer active"
        if stake.amount < self.min_stake:
            return None, (
                f"stake of wallet {wallet} is {stake.amount} lamports, "
                f"below the task's minimum {self.min_stake}"
            )
        return wallet, ""


class GatedGrid:
    """A view of a Grid in which the nodes admitted this round are the connected ones.

    Strategies sample from ``get_node_ids()``; passing them this view keeps everything
    else (sending, receiving, run metadata) unchanged. The admitted set is fixed for the
    round: a node that disconnects after proving its stake is still listed, so sampling
    never waits for a replacement (Flower's sampler waits without a timeout); its
    message fails and the round goes on with the others' replies.
    """

    def __init__(self, grid: Grid, admitted: Iterable[int]) -> None:
        self._grid = grid
        self._admitted = sorted(set(admitted))

    def get_node_ids(self) -> Iterator[int]:
        return iter(self._admitted)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._grid, name)
