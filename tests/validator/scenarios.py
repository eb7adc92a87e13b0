"""Staking scenarios shared by the embedded-chain and validator suites.

Each scenario drives a real chain through `StakingClient` and asserts every
balance change to the lamport, fees included (taken from what the runtime
charged for each transaction).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from fl_app.chain import (
    BatchResult,
    ProgramError,
    SendResult,
    StakeAccount,
    StakingClient,
    TaskParams,
    TaskState,
)
from fl_app.chain.attestations import final_attestation, round_attestation
from fl_app.chain.pda import round_address, task_address
from strategy.attestation import model_digest

SOL = 1_000_000_000
CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
MANIFEST_CIDS = [
    f"bafkreimanifest{i:02d}aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" for i in range(3)
]


@dataclass
class Chain:
    """A client plus what a scenario needs besides it.

    Attributes
    ----------
    client : StakingClient
        Client over the transport under test.
    fund : Callable[[Pubkey, int], None]
        Gives an address lamports.
    wait_until : Callable[[int], None]
        Returns once the chain clock is past the given unix time.
    """

    client: StakingClient
    fund: Callable[[Pubkey, int], None]
    wait_until: Callable[[int], None]

    def wallet(self, lamports: int) -> Keypair:
        keypair = Keypair()
        self.fund(keypair.pubkey(), lamports)
        return keypair

    def rent(self, address: Pubkey) -> int:
        account = self.client.transport.get_account(address)
        assert account is not None
        return self.client.transport.minimum_balance_for_rent_exemption(len(account.data))


@dataclass
class OpenTask:
    """A created task with its actors."""

    authority: Keypair
    key_holder: Keypair
    address: Pubkey
    params: TaskParams


def create_task(
    chain: Chain, *, join_in: int = 60, settle_in: int = 120, grace: int = 5
) -> OpenTask:
    """Create a 10 SOL task and assert the authority paid pool + rent + fee."""
    client = chain.client
    authority = chain.wallet(50 * SOL)
    key_holder = Keypair()
    now = client.transport.unix_timestamp()
    params = TaskParams(
        task_id=1,
        reward_pool=10 * SOL,
        min_stake=SOL,
        max_participants=5,
        rounds_planned=3,
        join_deadline=now + join_in,
        settle_deadline=now + settle_in,
        grace_period=grace,
        max_slash_bps=2_000,
        key_holder=key_holder.pubkey(),
        template_cid=CID,
        he_context_cid=CID,
    )
    before = client.balance(authority.pubkey())
    result = client.task_create(authority, params)
    address = task_address(authority.pubkey(), params.task_id)
    task_rent = chain.rent(address)
    assert (
        client.balance(authority.pubkey()) == before - params.reward_pool - task_rent - result.fee
    )
    assert client.balance(address) == task_rent + params.reward_pool
    return OpenTask(authority, key_holder, address, params)


MANIFEST_DIGEST = bytes(range(32))


def record_round(
    chain: Chain,
    task: OpenTask,
    round_index: int,
    contributors: list[Pubkey],
    *,
    authority: Keypair | None = None,
    attestor: Keypair | None = None,
    manifest_cid: str = CID,
    aggregate_cid: str | None = None,
) -> BatchResult:
    """Record and credit a round, attested by ``attestor`` (default: the key holder)."""
    attestation = round_attestation(
        attestor or task.key_holder, task.address, round_index, MANIFEST_DIGEST, contributors
    )
    return chain.client.round_record(
        authority or task.authority,
        task.address,
        round_index=round_index,
        manifest_cid=manifest_cid,
        manifest_digest=MANIFEST_DIGEST,
        contributors=contributors,
        attestations=[attestation],
        aggregate_cid=aggregate_cid,
    )


def finalize(
    chain: Chain, task: OpenTask, scores: dict[Pubkey, int], *, attestor: Keypair | None = None
) -> BatchResult:
    """Finalize with ``scores`` attested by ``attestor`` (default: the key holder)."""
    attestation = final_attestation(attestor or task.key_holder, task.address, CID, scores)
    return chain.client.task_finalize(
        task.authority,
        task.address,
        scores=scores,
        model_cid=CID,
        model_digest=model_digest(CID),
        attestations=[attestation],
    )


def deposit(chain: Chain, task: OpenTask, amount: int) -> Keypair:
    """Stake ``amount`` from a new participant; assert both sides to the lamport."""
    client = chain.client
    participant = chain.wallet(5 * SOL)
    vault_before = client.balance(task.address)
    result = client.stake_deposit(participant, task.address, amount)
    stake = client.stake(task.address, participant.pubkey())
    assert stake is not None and stake.amount == amount
    stake_rent = chain.rent(stake.address)
    assert client.balance(participant.pubkey()) == 5 * SOL - amount - stake_rent - result.fee
    assert client.balance(task.address) == vault_before + amount
    return participant


def stake_of(chain: Chain, task: OpenTask, participant: Pubkey) -> StakeAccount:
    """The stake of ``participant`` on ``task``, which must exist."""
    stake = chain.client.stake(task.address, participant)
    assert stake is not None, f"no stake of {participant}"
    return stake


def expected_shares(pool: int, scores: list[int]) -> list[int]:
    """The program's rule for claims in this order: each takes
    floor(left * s / unclaimed score) of what is left; the last scored takes the rest."""
    shares = []
    left, unclaimed = pool, sum(scores)
    for score in scores:
        share = left * score // unclaimed if score else 0
        shares.append(share)
        left, unclaimed = left - share, unclaimed - score
    return shares


def run_full_task(chain: Chain) -> dict[str, SendResult | BatchResult]:
    """Create, 5 stakes, 3 rounds, a slash, finalize and 5 claims.

    Returns one successful `SendResult` per instruction name (for benchmarks).
    """
    client = chain.client
    results: dict[str, SendResult | BatchResult] = {}
    task = create_task(chain)
    amounts = [SOL, 2 * SOL, SOL, 3 * SOL, 2 * SOL]
    people = [deposit(chain, task, amount) for amount in amounts]
    keys = [p.pubkey() for p in people]

    # Rounds: the fifth participant drops out after round 0.
    contributors = [keys, keys[:4], keys[:4]]
    for index, credited in enumerate(contributors):
        before = client.balance(task.authority.pubkey())
        result = record_round(
            chain,
            task,
            index,
            credited,
            manifest_cid=MANIFEST_CIDS[index],
            aggregate_cid=CID,
        )
        round_rent = chain.rent(client.round(task.address, index).address)
        assert client.balance(task.authority.pubkey()) == before - round_rent - result.fee
        results["round_record"] = result
    assert [stake_of(chain, task, k).rounds_contributed for k in keys] == [3, 3, 3, 3, 1]

    # Slash the drop-out by 10% of its stake (cap 20%): pool grows, vault unchanged.
    slash = amounts[4] // 10
    vault_before = client.balance(task.address)
    authority_before = client.balance(task.authority.pubkey())
    results["participant_slash"] = client.participant_slash(
        task.authority, task.address, participant=keys[4], amount=slash, evidence_cid=CID
    )
    fee = results["participant_slash"].fee
    assert client.balance(task.address) == vault_before
    assert client.balance(task.authority.pubkey()) == authority_before - fee
    assert client.task(task.address).reward_pool == task.params.reward_pool + slash

    scores = [40, 30, 20, 10, 0]
    authority_before = client.balance(task.authority.pubkey())
    results["task_finalize"] = finalize(chain, task, dict(zip(keys, scores, strict=True)))
    fee = results["task_finalize"].fee
    assert client.balance(task.authority.pubkey()) == authority_before - fee
    assert client.task(task.address).state is TaskState.FINALIZED
    pool = task.params.reward_pool + slash
    shares = expected_shares(pool, scores)

    for person, amount, share, score in zip(people, amounts, shares, scores, strict=True):
        stake = stake_of(chain, task, person.pubkey())
        stake_rent = chain.rent(stake.address)
        before = client.balance(person.pubkey())
        vault_before = client.balance(task.address)
        result = client.reward_claim(person, task.address)
        paid = share + amount - stake.slashed
        # The claim closes the stake account: its rent comes back with the payout.
        assert client.balance(person.pubkey()) == before + paid + stake_rent - result.fee
        assert client.balance(task.address) == vault_before - paid
        assert client.stake(task.address, person.pubkey()) is None
        claimed = client.claimed(result)
        assert (claimed.reward, claimed.stake_returned, claimed.score) == (
            share,
            amount - stake.slashed,
            score,
        )
        assert claimed.rent_returned == stake_rent
        results["reward_claim"] = result

    state = client.task(task.address)
    assert (state.reward_pool, state.stake_held, state.participants) == (0, 0, 0)
    task_rent = chain.rent(task.address)
    assert client.balance(task.address) == task_rent

    # Nothing is owed any more: the authority closes the round records and the task
    # and gets back exactly the rents it paid.
    round_rents = sum(
        chain.rent(client.round(task.address, i).address) for i in range(len(contributors))
    )
    authority_before = client.balance(task.authority.pubkey())
    closed = client.task_close(task.authority, task.address)
    fees = sum(r.fee for r in closed.results)
    assert client.balance(task.authority.pubkey()) == (
        authority_before + task_rent + round_rents - fees
    )
    assert client.transport.get_account(task.address) is None
    results["task_close"] = closed.results[-1]
    return results


def expect_program_error(name: str, action: Callable[[], object]) -> None:
    """Run ``action`` and assert it fails with the program error ``name``."""
    with pytest.raises(ProgramError) as caught:
        action()
    assert caught.value.name == name, caught.value.logs


def run_wrong_signer(chain: Chain) -> None:
    task = create_task(chain)
    participant = deposit(chain, task, SOL)
    impostor = chain.wallet(SOL)
    expect_program_error(
        "AnchorError.ConstraintHasOne",
        lambda: record_round(chain, task, 0, [participant.pubkey()], authority=impostor),
    )


def run_claim_rules(chain: Chain) -> None:
    """Claim before finalize fails, a claim succeeds once, a second claim fails."""
    client = chain.client
    task = create_task(chain)
    participant = deposit(chain, task, SOL)
    record_round(chain, task, 0, [participant.pubkey()])
    expect_program_error(
        "StakingError.NotSettled", lambda: client.reward_claim(participant, task.address)
    )
    finalize(chain, task, {participant.pubkey(): 1})
    client.reward_claim(participant, task.address)
    # The claim closed the stake account: nothing is left to claim.
    expect_program_error(
        "AnchorError.AccountNotInitialized",
        lambda: client.reward_claim(participant, task.address),
    )


def run_close_rules(chain: Chain) -> None:
    """Close refused before settlement and while a stake is unclaimed, then allowed."""
    client = chain.client
    task = create_task(chain)
    first = deposit(chain, task, SOL)
    second = deposit(chain, task, SOL)
    record_round(chain, task, 0, [first.pubkey()])
    expect_program_error(
        "StakingError.NotSettled", lambda: client.task_close(task.authority, task.address)
    )
    finalize(chain, task, {first.pubkey(): 1, second.pubkey(): 0})
    client.reward_claim(first, task.address)
    expect_program_error(
        "StakingError.StakesUnclaimed", lambda: client.task_close(task.authority, task.address)
    )
    client.reward_claim(second, task.address)
    client.task_close(task.authority, task.address)
    assert client.transport.get_account(task.address) is None
    assert client.transport.get_account(round_address(task.address, 0)) is None


def run_over_limit_slash(chain: Chain) -> None:
    client = chain.client
    task = create_task(chain)
    participant = deposit(chain, task, 2 * SOL)
    cap = 2 * SOL * task.params.max_slash_bps // 10_000
    expect_program_error(
        "StakingError.SlashLimitExceeded",
        lambda: client.participant_slash(
            task.authority,
            task.address,
            participant=participant.pubkey(),
            amount=cap + 1,
            evidence_cid=CID,
        ),
    )


def run_expire(chain: Chain) -> None:
    """Expire fails before deadline + grace, then succeeds and stakes come back."""
    client = chain.client
    task = create_task(chain, join_in=5, settle_in=10, grace=2)
    participant = deposit(chain, task, SOL)
    caller = chain.wallet(SOL)
    expect_program_error(
        "StakingError.ExpireTooEarly", lambda: client.task_expire(caller, task.address)
    )
    chain.wait_until(task.params.settle_deadline + task.params.grace_period + 1)
    authority_before = client.balance(task.authority.pubkey())
    client.task_expire(caller, task.address)
    # Nobody contributed, so the pool goes back to the authority that funded it.
    assert client.balance(task.authority.pubkey()) == authority_before + task.params.reward_pool
    assert client.task(task.address).state is TaskState.EXPIRED
    rent = chain.rent(stake_of(chain, task, participant.pubkey()).address)
    before = client.balance(participant.pubkey())
    result = client.reward_claim(participant, task.address)
    assert client.balance(participant.pubkey()) == before + SOL + rent - result.fee


def run_slash_never_reaches_authority(chain: Chain) -> None:
    """An authority that slashes, credits nobody and lets the task expire gets back
    exactly its funding; the slashed lamports go back to the slashed stake."""
    client = chain.client
    task = create_task(chain, join_in=5, settle_in=10, grace=2)
    victim = deposit(chain, task, 2 * SOL)
    # A round crediting nobody locks the stake, then the authority slashes it.
    record_round(chain, task, 0, [])
    slash = 2 * SOL * task.params.max_slash_bps // 10_000
    client.participant_slash(
        task.authority, task.address, participant=victim.pubkey(), amount=slash, evidence_cid=CID
    )
    chain.wait_until(task.params.settle_deadline + task.params.grace_period + 1)
    authority_before = client.balance(task.authority.pubkey())
    client.task_expire(chain.wallet(SOL), task.address)
    assert client.balance(task.authority.pubkey()) == authority_before + task.params.reward_pool
    account = client.task(task.address)
    assert (account.refunded, account.reward_pool) == (task.params.reward_pool, slash)
    rent = chain.rent(stake_of(chain, task, victim.pubkey()).address)
    before = client.balance(victim.pubkey())
    result = client.reward_claim(victim, task.address)
    assert client.balance(victim.pubkey()) == before + 2 * SOL + rent - result.fee
    # Then the authority closes the task: it gets back its rents, not the slash.
    authority_before = client.balance(task.authority.pubkey())
    task_rent = chain.rent(task.address)
    round_rent = chain.rent(round_address(task.address, 0))
    closed = client.task_close(task.authority, task.address)
    fees = sum(r.fee for r in closed.results)
    assert client.balance(task.authority.pubkey()) == (
        authority_before + task_rent + round_rent - fees
    )
