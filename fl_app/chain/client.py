"""Settlement client: typed calls to every staking instruction and typed reads."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from anchorpy import Context, Program, Provider, Wallet
from anchorpy.program.event import Event, EventParser
from solana.rpc.async_api import AsyncClient
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.sysvar import INSTRUCTIONS as INSTRUCTIONS_SYSVAR
from solders.sysvar import SLOT_HASHES as SLOT_HASHES_SYSVAR
from solders.transaction import Transaction

from fl_app.chain.accounts import (
    RoundAccount,
    StakeAccount,
    TaskAccount,
    decode_account,
)
from fl_app.chain.ed25519 import ed25519_instruction
from fl_app.chain.errors import ProgramError, TransactionRejectedError
from fl_app.chain.idl import load_spec
from fl_app.chain.pda import round_address, stake_address, task_address
from fl_app.chain.transport import BatchResult, SendResult, Transport
from strategy.attestation import (
    Attestation,
    contributors_digest,
    final_message,
    round_message,
    scores_digest,
)

__all__ = [
    "CREDIT_BATCH",
    "ROUND_CLOSE_BATCH",
    "SCORE_BATCH",
    "Claimed",
    "StakingClient",
    "TaskParams",
]

# anchorpy's Program wants a provider; instructions are only built here and
# sent through a Transport, so this endpoint is never contacted.
_UNUSED_ENDPOINT = "http://127.0.0.1:8899"
# Signatures remembered to detect an identical resend, and how long to wait
# for a fresh blockhash (a slot is ~0.4 s).
_RECENT_SIGNATURES = 256
_BLOCKHASH_WAIT_S = 10.0
# Stake accounts per batch so one transaction stays within the 1232-byte
# packet: 33 bytes per credited stake, 41 per scored stake (key, index, score).
CREDIT_BATCH = 28
SCORE_BATCH = 24
# Round records per rounds_close / task_close transaction (30 fit a 1232-byte packet).
ROUND_CLOSE_BATCH = 30
# Stakes per committee_draw transaction (32-byte keys, like credits).
COMMITTEE_DRAW_BATCH = 28


@dataclass(frozen=True, kw_only=True)
class TaskParams:
    """Parameters fixed when a task is created (see `TaskCreateArgs` in Rust)."""

    task_id: int
    reward_pool: int
    min_stake: int
    max_participants: int
    rounds_planned: int
    join_deadline: int
    settle_deadline: int
    grace_period: int
    max_slash_bps: int
    key_holder: Pubkey
    template_cid: str
    he_context_cid: str


@dataclass(frozen=True, kw_only=True)
class Claimed:
    """What one claim paid, as its ``RewardClaimed`` event says (lamports).

    The claim closes the stake account, so this is the only record of the payout.
    """

    reward: int
    stake_returned: int
    score: int
    rounds_contributed: int
    rent_returned: int

    @property
    def received(self) -> int:
        """Everything the participant received: reward, stake and the account's rent."""
        return self.reward + self.stake_returned + self.rent_returned


class StakingClient:
    """Builds staking instructions from the IDL and sends them over a transport.

    Every method signs with the keypairs it is given (the first one pays the
    fee), waits for the outcome and returns the runtime's `SendResult`.

    Raises
    ------
    ProgramError
        The program (or Anchor, or the System Program) refused an
        instruction; ``err.name`` is e.g. ``StakingError.NotSettled``.
    TransactionRejectedError
        The runtime refused the transaction before the program ran.
    """

    def __init__(self, transport: Transport, *, program_id: Pubkey | None = None) -> None:
        spec = load_spec()
        self.transport = transport
        self.program_id = program_id or spec.program_id
        provider = Provider(AsyncClient(_UNUSED_ENDPOINT), Wallet(Keypair()))
        self._program = Program(spec.idl, self.program_id, provider)
        self._events = EventParser(self.program_id, self._program.coder)
        self._recent: deque[Signature] = deque(maxlen=_RECENT_SIGNATURES)

    # -- sending -------------------------------------------------------------

    def send(self, instructions: Sequence[Instruction], signers: Sequence[Keypair]) -> SendResult:
        """Sign ``instructions`` with ``signers`` (first pays) and submit them."""
        tx = self._sign(instructions, signers)
        result = self.transport.send_transaction(bytes(tx))
        if result.ok:
            return result
        if result.custom_code is not None:
            raise ProgramError(
                result.custom_code,
                instruction_index=result.instruction_index,
                logs=result.logs,
            )
        raise TransactionRejectedError(result.error or "transaction failed", logs=result.logs)

    def _sign(self, instructions: Sequence[Instruction], signers: Sequence[Keypair]) -> Transaction:
        # The same instructions signed with the same blockhash give the same
        # signature, which the runtime drops as already processed; a repeat
        # (say, a second claim) waits for the next blockhash instead.
        deadline = time.monotonic() + _BLOCKHASH_WAIT_S
        while True:
            blockhash = self.transport.latest_blockhash()
            tx = Transaction.new_signed_with_payer(
                list(instructions), signers[0].pubkey(), list(signers), blockhash
            )
            signature = tx.signatures[0]
            if signature not in self._recent:
                self._recent.append(signature)
                return tx
            if time.monotonic() > deadline:
                raise TransactionRejectedError(
                    "no new blockhash to resend an identical transaction"
                )
            time.sleep(0.05)

    def _ix(
        self,
        name: str,
        accounts: Mapping[str, Pubkey],
        *args: Any,
        remaining: Sequence[AccountMeta] = (),
    ) -> Instruction:
        ctx = Context(accounts=dict(accounts), remaining_accounts=list(remaining))
        return self._program.instruction[name](*args, ctx=ctx)

    def _args(self, type_name: str, **values: Any) -> dict[str, Any]:
        # Building the IDL dataclass checks the field names; the plain dict is
        # what gets encoded, because anchorpy's dataclass path deep-copies its
        # fields and solders keys cannot be copied that way.
        self._program.type[type_name](**values)
        return values

    def events(self, result: SendResult) -> list[Event]:
        """Decode the program's events from a transaction's logs."""
        found: list[Event] = []
        self._events.parse_logs(result.logs, found.append)
        return found

    def claimed(self, result: SendResult) -> Claimed:
        """The payout of a ``reward_claim``, from its ``RewardClaimed`` event.

        Raises
        ------
        TransactionRejectedError
            If the transaction carries no such event.
        """
        for event in self.events(result):
            if event.name == "RewardClaimed":
                data = event.data
                return Claimed(
                    reward=data.reward,
                    stake_returned=data.stake_returned,
                    score=data.score,
                    rounds_contributed=data.rounds_contributed,
                    rent_returned=data.rent_returned,
                )
        raise TransactionRejectedError("the claim's transaction carries no RewardClaimed event")

    # -- instructions ----------------------------------------------------------

    def task_create(
        self,
        authority: Keypair,
        params: TaskParams,
        *,
        committee: tuple[int, int] | None = None,
    ) -> SendResult:
        """Create a task and move ``params.reward_pool`` into it.

        ``committee`` is ``(size, threshold)`` of a decryption committee drawn from the
        stakers, configured in the same transaction: nobody can stake on the task
        before its committee is recorded.
        """
        task = task_address(authority.pubkey(), params.task_id)
        accounts = {
            "authority": authority.pubkey(),
            "task": task,
            "system_program": SYSTEM_PROGRAM_ID,
        }
        values = {f.name: getattr(params, f.name) for f in fields(params)}
        args = self._args("TaskCreateArgs", **values)
        instructions = [self._ix("task_create", accounts, args)]
        if committee is not None:
            instructions.append(self._committee_configure(authority, task, *committee))
        return self.send(instructions, [authority])

    def committee_configure(
        self, authority: Keypair, task: Pubkey, *, size: int, threshold: int
    ) -> SendResult:
        """Give ``task`` a decryption committee of ``size`` stakers, ``threshold`` of whom
        attest each round; before anyone stakes."""
        return self.send([self._committee_configure(authority, task, size, threshold)], [authority])

    def _committee_configure(
        self, authority: Keypair, task: Pubkey, size: int, threshold: int
    ) -> Instruction:
        accounts = {"authority": authority.pubkey(), "task": task}
        args = self._args("CommitteeConfigureArgs", size=size, threshold=threshold)
        return self._ix("committee_configure", accounts, args)

    def committee_draw(
        self, caller: Keypair, task: Pubkey, participants: Sequence[Pubkey]
    ) -> BatchResult:
        """Draw ``task``'s committee, going through every stake in ascending order.

        ``participants`` are all the task's stakers; anyone may call it once the join
        deadline passed (within the program's draw window for the first batch).
        """
        ordered = sorted(participants, key=bytes)
        accounts = {"task": task, "slot_hashes": SLOT_HASHES_SYSVAR}
        results = []
        for batch in _chunks(ordered, COMMITTEE_DRAW_BATCH):
            remaining = [_writable(stake_address(task, p)) for p in batch]
            ix = self._ix("committee_draw", accounts, remaining=remaining)
            results.append(self.send([ix], [caller]))
        return BatchResult(tuple(results))

    def stake_deposit(self, participant: Keypair, task: Pubkey, amount: int) -> SendResult:
        """Lock ``amount`` lamports of ``participant`` on ``task``."""
        accounts = {
            "participant": participant.pubkey(),
            "task": task,
            "stake": stake_address(task, participant.pubkey()),
            "system_program": SYSTEM_PROGRAM_ID,
        }
        args = self._args("StakeDepositArgs", amount=amount)
        return self.send([self._ix("stake_deposit", accounts, args)], [participant])

    def stake_withdraw(self, participant: Keypair, task: Pubkey) -> SendResult:
        """Take a stake back before the first round is recorded."""
        accounts = {
            "participant": participant.pubkey(),
            "task": task,
            "stake": stake_address(task, participant.pubkey()),
        }
        return self.send([self._ix("stake_withdraw", accounts)], [participant])

    def round_record(
        self,
        authority: Keypair,
        task: Pubkey,
        *,
        round_index: int,
        manifest_cid: str,
        manifest_digest: bytes,
        contributors: Sequence[Pubkey],
        attestations: Sequence[Attestation],
        aggregate_cid: str | None = None,
    ) -> BatchResult:
        """Record round ``round_index``, then credit ``contributors`` in batches.

        One ``round_record`` transaction carries the attestors' signatures of the
        contributors (see `strategy.attestation.round_message`) and announces how many
        are credited, then one ``round_credit`` transaction per `CREDIT_BATCH`
        contributors follows, in ascending key order.
        """
        ordered = sorted(contributors, key=bytes)
        keys = [bytes(k) for k in ordered]
        accounts = {
            "authority": authority.pubkey(),
            "task": task,
            "round": round_address(task, round_index),
            "instructions_sysvar": INSTRUCTIONS_SYSVAR,
            "system_program": SYSTEM_PROGRAM_ID,
        }
        args = self._args(
            "RoundRecordArgs",
            round_index=round_index,
            manifest_cid=manifest_cid,
            aggregate_cid=aggregate_cid,
            contributors=len(keys),
            manifest_digest=list(manifest_digest),
            contributors_digest=list(contributors_digest(keys)),
        )
        message = round_message(bytes(task), round_index, manifest_digest, keys)
        signed = [ed25519_instruction(a, message) for a in attestations]
        record = self._ix("round_record", accounts, args)
        results = [self.send([*signed, record], [authority])]
        for batch in _chunks(ordered, CREDIT_BATCH):
            results.append(self.round_credit(authority, task, round_index, batch))
        return BatchResult(tuple(results))

    def round_credit(
        self, authority: Keypair, task: Pubkey, round_index: int, contributors: Sequence[Pubkey]
    ) -> SendResult:
        """Credit one batch of round ``round_index``'s contributors."""
        accounts = {
            "authority": authority.pubkey(),
            "task": task,
            "round": round_address(task, round_index),
        }
        args = self._args("RoundCreditArgs", round_index=round_index)
        remaining = [_writable(stake_address(task, p)) for p in contributors]
        ix = self._ix("round_credit", accounts, args, remaining=remaining)
        return self.send([ix], [authority])

    def task_finalize(
        self,
        authority: Keypair,
        task: Pubkey,
        *,
        scores: Mapping[Pubkey, int],
        model_cid: str,
        model_digest: bytes,
        attestations: Sequence[Attestation],
    ) -> BatchResult:
        """Post a score for every open stake in batches; the program checks the totals.

        ``task_finalize_begin`` carries the attestors' signatures of the scores (see
        `strategy.attestation.final_message`) and announces their sum, one
        ``scores_post`` transaction per `SCORE_BATCH` stakes follows in ascending key
        order, and ``task_finalize`` completes once every stake is scored.
        """
        by_key = {bytes(k): v for k, v in scores.items()}
        accounts = {"authority": authority.pubkey(), "task": task}
        begin = self._args(
            "TaskFinalizeBeginArgs",
            total_score=sum(scores.values()),
            model_cid=model_cid,
            model_digest=list(model_digest),
            scores_digest=list(scores_digest(by_key)),
        )
        message = final_message(bytes(task), model_digest, by_key)
        signed = [ed25519_instruction(a, message) for a in attestations]
        begin_accounts = {**accounts, "instructions_sysvar": INSTRUCTIONS_SYSVAR}
        begin_ix = self._ix("task_finalize_begin", begin_accounts, begin)
        results = [self.send([*signed, begin_ix], [authority])]
        for batch in _chunks(sorted(scores, key=bytes), SCORE_BATCH):
            args = self._args("ScoresPostArgs", scores=[scores[p] for p in batch])
            remaining = [_writable(stake_address(task, p)) for p in batch]
            ix = self._ix("scores_post", accounts, args, remaining=remaining)
            results.append(self.send([ix], [authority]))
        results.append(self.send([self._ix("task_finalize", accounts)], [authority]))
        return BatchResult(tuple(results))

    def reward_claim(self, participant: Keypair, task: Pubkey) -> SendResult:
        """Pay ``participant`` its reward share and remaining stake; closes the stake.

        The stake account is gone afterwards (its rent goes to the participant too): the
        ``RewardClaimed`` event in ``events(result)`` is the record of the payout.
        """
        accounts = {
            "participant": participant.pubkey(),
            "task": task,
            "stake": stake_address(task, participant.pubkey()),
        }
        return self.send([self._ix("reward_claim", accounts)], [participant])

    def participant_slash(
        self,
        authority: Keypair,
        task: Pubkey,
        *,
        participant: Pubkey,
        amount: int,
        evidence_cid: str,
    ) -> SendResult:
        """Slash ``amount`` of ``participant``'s stake into the pool."""
        accounts = {
            "authority": authority.pubkey(),
            "task": task,
            "stake": stake_address(task, participant),
        }
        args = self._args("ParticipantSlashArgs", amount=amount, evidence_cid=evidence_cid)
        return self.send([self._ix("participant_slash", accounts, args)], [authority])

    def task_expire(self, caller: Keypair, task: Pubkey) -> SendResult:
        """Expire a task not settled by its deadline plus grace period."""
        authority = self.task(task).authority
        accounts = {"caller": caller.pubkey(), "task": task, "authority": authority}
        return self.send([self._ix("task_expire", accounts)], [caller])

    def task_cancel(self, authority: Keypair, task: Pubkey) -> SendResult:
        """Cancel a task nobody staked on; refunds and closes it."""
        accounts = {"authority": authority.pubkey(), "task": task}
        return self.send([self._ix("task_cancel", accounts)], [authority])

    def rounds_close(
        self, authority: Keypair, task: Pubkey, round_indices: Sequence[int]
    ) -> SendResult:
        """Close round records ``round_indices`` of a settled, fully claimed ``task``.

        Their rent goes back to the authority; at most `ROUND_CLOSE_BATCH` fit one call.
        """
        accounts = {"authority": authority.pubkey(), "task": task}
        remaining = [_writable(round_address(task, i)) for i in round_indices]
        ix = self._ix("rounds_close", accounts, remaining=remaining)
        return self.send([ix], [authority])

    def task_close(self, authority: Keypair, task: Pubkey) -> BatchResult:
        """Close a settled task every stake was claimed on, returning all rent.

        The round records still open go in ``rounds_close`` batches of
        `ROUND_CLOSE_BATCH`, the last batch with ``task_close`` itself, which closes
        the task (the vault) to the authority.
        """
        recorded = self.task(task).rounds_recorded
        open_rounds = [
            i for i in range(recorded) if self.transport.get_account(round_address(task, i))
        ]
        batches = _chunks(open_rounds, ROUND_CLOSE_BATCH)
        last = batches.pop() if batches else []
        results = [self.rounds_close(authority, task, batch) for batch in batches]
        accounts = {"authority": authority.pubkey(), "task": task}
        remaining = [_writable(round_address(task, i)) for i in last]
        ix = self._ix("task_close", accounts, remaining=remaining)
        results.append(self.send([ix], [authority]))
        return BatchResult(tuple(results))

    # -- readers ---------------------------------------------------------------

    def task(self, address: Pubkey) -> TaskAccount:
        """Read the task at ``address``."""
        return decode_account(TaskAccount, address, self._data(address))

    def stake(self, task: Pubkey, participant: Pubkey) -> StakeAccount | None:
        """Read ``participant``'s stake on ``task``, or None if it has none."""
        address = stake_address(task, participant)
        account = self.transport.get_account(address)
        if account is None:
            return None
        return decode_account(StakeAccount, address, account.data)

    def round(self, task: Pubkey, round_index: int) -> RoundAccount:
        """Read the record of round ``round_index`` of ``task``."""
        address = round_address(task, round_index)
        return decode_account(RoundAccount, address, self._data(address))

    def balance(self, address: Pubkey) -> int:
        """Lamports at ``address`` (0 if the account does not exist)."""
        account = self.transport.get_account(address)
        return 0 if account is None else account.lamports

    def _data(self, address: Pubkey) -> bytes:
        account = self.transport.get_account(address)
        if account is None:
            raise TransactionRejectedError(f"no account at {address}")
        return account.data


_Item = TypeVar("_Item")


def _chunks(items: Sequence[_Item], size: int) -> list[Sequence[_Item]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _writable(address: Pubkey) -> AccountMeta:
    return AccountMeta(pubkey=address, is_signer=False, is_writable=True)
