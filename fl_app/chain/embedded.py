"""Transport over the in-process chain of the `embedded_chain` extension."""

from __future__ import annotations

import importlib
from types import ModuleType

from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from fl_app.chain.errors import ChainError
from fl_app.chain.transport import AccountSnapshot, SendResult

__all__ = ["EmbeddedTransport"]


class EmbeddedTransport:
    """A fresh in-process chain running the staking program natively.

    Transactions go through the same runtime as a validator's (signature
    and fee checks, account ownership, CPI to the System Program); only the
    program runs as native code instead of SBF, so compute units are not
    metered like on a cluster.
    """

    def __init__(self) -> None:
        self._module = load_extension()
        self._chain = self._module.Chain()

    @property
    def program_id(self) -> Pubkey:
        """Address the staking program is deployed at."""
        return Pubkey.from_bytes(self._module.Chain.program_id())

    def payer(self) -> Keypair:
        """The genesis account, funded with plenty of SOL."""
        return Keypair.from_bytes(self._chain.payer_keypair())

    def send_transaction(self, transaction: bytes) -> SendResult:
        outcome = self._chain.send_transaction(transaction)
        return SendResult(
            signature=Signature.from_bytes(outcome.signature),
            ok=outcome.ok,
            error=outcome.error,
            instruction_index=outcome.instruction_index,
            custom_code=outcome.custom_code,
            logs=list(outcome.logs),
            compute_units=outcome.compute_units,
            fee=outcome.fee,
        )

    def get_account(self, address: Pubkey) -> AccountSnapshot | None:
        account = self._chain.get_account(bytes(address))
        if account is None:
            return None
        return AccountSnapshot(
            lamports=account.lamports,
            owner=Pubkey.from_bytes(account.owner),
            data=account.data,
            executable=account.executable,
        )

    def latest_blockhash(self) -> Hash:
        return Hash.from_bytes(self._chain.latest_blockhash())

    def airdrop(self, address: Pubkey, lamports: int) -> None:
        self._chain.airdrop(bytes(address), lamports)

    def unix_timestamp(self) -> int:
        return self._chain.unix_timestamp()

    def minimum_balance_for_rent_exemption(self, size: int) -> int:
        return self._chain.minimum_balance_for_rent_exemption(size)

    def set_unix_timestamp(self, unix_timestamp: int) -> None:
        """Move the clock (and to a new slot, so blockhashes change)."""
        self._chain.set_unix_timestamp(unix_timestamp)


def load_extension() -> ModuleType:
    """The ``embedded_chain`` extension, imported on first use so that the JSON-RPC
    transport works without it."""
    try:
        return importlib.import_module("embedded_chain")
    except ImportError as err:
        raise ChainError(
            "the embedded_chain extension is not installed; run scripts/setup_chain.sh"
        ) from err
