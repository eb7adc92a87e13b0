"""Transport over Solana JSON-RPC (solana-test-validator, devnet, mainnet)."""

from __future__ import annotations

import time

from solana.exceptions import SolanaRpcException
from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solana.rpc.core import RPCException
from solana.rpc.types import TxOpts
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.signature import Signature
from solders.sysvar import CLOCK
from solders.transaction import Transaction
from solders.transaction_status import (
    InstructionErrorCustom,
    TransactionErrorInstructionError,
)

from fl_app.chain.errors import TransactionRejectedError
from fl_app.chain.transport import AccountSnapshot, SendResult

__all__ = ["RpcTransport"]

# Byte offset of `unix_timestamp` in the Clock sysvar (after slot, epoch
# start timestamp, epoch and leader schedule epoch).
_CLOCK_UNIX_TIMESTAMP = slice(32, 40)


class RpcTransport:
    """A cluster reached over JSON-RPC at ``endpoint``.

    Parameters
    ----------
    endpoint : str
        RPC URL, e.g. ``http://127.0.0.1:8899`` for solana-test-validator.
    timeout_s : float
        Longest wait for one confirmation or transaction lookup.
    """

    def __init__(self, endpoint: str, *, timeout_s: float = 30.0) -> None:
        self._client = Client(endpoint, commitment=Confirmed, timeout=timeout_s)
        self._timeout_s = timeout_s

    def send_transaction(self, transaction: bytes) -> SendResult:
        signature = Transaction.from_bytes(transaction).signatures[0]
        try:
            self._client.send_raw_transaction(
                transaction, opts=TxOpts(skip_preflight=True, preflight_commitment=Confirmed)
            )
        except (RPCException, SolanaRpcException) as rejected:
            failure = rejected.args[0] if rejected.args else None
            if isinstance(failure, SendTransactionPreflightFailureMessage):
                # Refused before it ran (e.g. an unknown blockhash): say why, with logs.
                return SendResult(
                    signature=signature,
                    ok=False,
                    error=failure.message,
                    logs=list(failure.data.logs or []),
                )
            return SendResult(signature=signature, ok=False, error=str(rejected))
        meta = self._wait_for_meta(signature)
        err = meta.err
        index: int | None = None
        code: int | None = None
        if isinstance(err, TransactionErrorInstructionError):
            index = err.index
            if isinstance(err.err, InstructionErrorCustom):
                code = err.err.code
        return SendResult(
            signature=signature,
            ok=err is None,
            error=None if err is None else str(err),
            instruction_index=index,
            custom_code=code,
            logs=list(meta.log_messages or []),
            compute_units=meta.compute_units_consumed or 0,
            fee=meta.fee,
        )

    def _wait_for_meta(self, signature: Signature):
        deadline = time.monotonic() + self._timeout_s
        while time.monotonic() < deadline:
            resp = self._client.get_transaction(
                signature, commitment=Confirmed, max_supported_transaction_version=0
            )
            if resp.value is not None and resp.value.transaction.meta is not None:
                return resp.value.transaction.meta
            time.sleep(0.25)
        raise TransactionRejectedError(
            f"transaction {signature} not confirmed in {self._timeout_s} s"
        )

    def get_account(self, address: Pubkey) -> AccountSnapshot | None:
        account = self._client.get_account_info(address).value
        if account is None:
            return None
        return AccountSnapshot(
            lamports=account.lamports,
            owner=account.owner,
            data=bytes(account.data),
            executable=account.executable,
        )

    def latest_blockhash(self) -> Hash:
        return self._client.get_latest_blockhash().value.blockhash

    def airdrop(self, address: Pubkey, lamports: int) -> None:
        signature = self._client.request_airdrop(address, lamports).value
        self._wait_for_meta(signature)

    def unix_timestamp(self) -> int:
        clock = self.get_account(CLOCK)
        if clock is None:
            raise TransactionRejectedError("the cluster has no Clock sysvar")
        return int.from_bytes(clock.data[_CLOCK_UNIX_TIMESTAMP], "little", signed=True)

    def minimum_balance_for_rent_exemption(self, size: int) -> int:
        return self._client.get_minimum_balance_for_rent_exemption(size).value
