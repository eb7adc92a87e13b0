"""Solana settlement: the staking program's client, transports and typed accounts."""

from fl_app.chain.accounts import RoundAccount, StakeAccount, TaskAccount, TaskState
from fl_app.chain.client import Claimed, StakingClient, TaskParams
from fl_app.chain.embedded import EmbeddedTransport
from fl_app.chain.errors import ChainError, ProgramError, TransactionRejectedError
from fl_app.chain.pda import round_address, stake_address, task_address
from fl_app.chain.rpc import RpcTransport
from fl_app.chain.transport import AccountSnapshot, BatchResult, SendResult, Transport

__all__ = [
    "AccountSnapshot",
    "BatchResult",
    "ChainError",
    "Claimed",
    "EmbeddedTransport",
    "ProgramError",
    "RoundAccount",
    "RpcTransport",
    "SendResult",
    "StakeAccount",
    "StakingClient",
    "TaskAccount",
    "TaskParams",
    "TaskState",
    "TransactionRejectedError",
    "Transport",
    "round_address",
    "stake_address",
    "task_address",
]
