"""A participant: stakes on a task, verifies the client template, and claims."""

from __future__ import annotations

from pathlib import Path

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from fl_app.chain import Claimed, StakingClient
from fl_app.client.fetch import fetch_template
from fl_app.ipfs.content import ContentSource
from strategy import Wallet

__all__ = ["Participant"]


class Participant:
    """One data owner's actions, signed by its wallet."""

    def __init__(self, client: StakingClient, keypair: Keypair) -> None:
        self.client = client
        self.keypair = keypair

    @property
    def address(self) -> Pubkey:
        return self.keypair.pubkey()

    @property
    def wallet(self) -> Wallet:
        """The same key, as the Flower side uses it to sign proofs."""
        return Wallet.from_keypair_bytes(bytes(self.keypair))

    def stake(self, task: Pubkey, amount: int) -> None:
        """Lock ``amount`` lamports in the task's vault."""
        self.client.stake_deposit(self.keypair, task, amount)

    def fetch_template(self, task: Pubkey, source: ContentSource, destination: Path) -> Path:
        """Fetch the client template by the CID recorded on chain and unpack it.

        Raises
        ------
        CidMismatchError
            If the bytes ``source`` returns do not hash to that CID; nothing is written.
        """
        cid = self.client.task(task).template_cid
        return fetch_template(cid, source=source, destination=destination)

    def claim(self, task: Pubkey) -> Claimed:
        """Claim reward and remaining stake; return what the claim paid.

        The claim closes the stake account (its rent comes back too), so the payout is
        read from the claim's ``RewardClaimed`` event rather than from the stake.
        """
        result = self.client.reward_claim(self.keypair, task)
        return self.client.claimed(result)
