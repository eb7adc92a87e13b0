"""Settlement client behaviour on the embedded chain: errors, events, reads."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from solders.keypair import Keypair

from fl_app.chain import (
    EmbeddedTransport,
    ProgramError,
    StakeAccount,
    StakingClient,
    TaskAccount,
    TaskState,
    TransactionRejectedError,
)
from fl_app.chain.accounts import decode_account
from fl_app.chain.attestations import round_attestation
from fl_app.chain.errors import AttestationMismatchError, error_name
from fl_app.chain.idl import load_spec
from tests.validator import scenarios

pytestmark = pytest.mark.filterwarnings("ignore:The `repr_ns` argument:DeprecationWarning")


@pytest.fixture
def transport() -> EmbeddedTransport:
    return EmbeddedTransport()


@pytest.fixture
def chain(transport: EmbeddedTransport) -> scenarios.Chain:
    return scenarios.Chain(
        client=StakingClient(transport),
        fund=transport.airdrop,
        wait_until=transport.set_unix_timestamp,
    )


def test_program_id_in_the_idl_is_the_deployed_one(transport: EmbeddedTransport) -> None:
    assert load_spec().program_id == transport.program_id


def test_error_names_come_from_the_idl_and_anchor() -> None:
    assert error_name(6000) == "StakingError.KeyHolderIsAuthority"
    assert error_name(6027) == "StakingError.StakesUnclaimed"
    assert error_name(2001) == "AnchorError.ConstraintHasOne"
    assert error_name(3010) == "AnchorError.AccountNotSigner"
    assert error_name(0) == "SystemError.AccountAlreadyInUse"


def test_key_holder_equal_to_authority_is_refused(chain: scenarios.Chain) -> None:
    authority = chain.wallet(20 * scenarios.SOL)
    task = scenarios.create_task(chain)
    params = dataclasses.replace(task.params, key_holder=authority.pubkey())
    with pytest.raises(ProgramError) as caught:
        chain.client.task_create(authority, params)
    assert caught.value.name == "StakingError.KeyHolderIsAuthority"
    assert caught.value.instruction_index == 0


def test_events_are_decoded_from_logs(chain: scenarios.Chain) -> None:
    task = scenarios.create_task(chain)
    participant = chain.wallet(5 * scenarios.SOL)
    result = chain.client.stake_deposit(participant, task.address, scenarios.SOL)
    events = chain.client.events(result)
    assert [event.name for event in events] == ["StakeDeposited"]
    assert events[0].data.participant == participant.pubkey()
    assert events[0].data.amount == scenarios.SOL


def test_accounts_decode_to_typed_dataclasses(chain: scenarios.Chain) -> None:
    task = scenarios.create_task(chain)
    state = chain.client.task(task.address)
    assert isinstance(state, TaskAccount)
    assert state.state is TaskState.OPEN
    assert state.key_holder == task.key_holder.pubkey()
    assert state.template_cid == scenarios.CID
    assert chain.client.stake(task.address, Keypair().pubkey()) is None
    account = chain.client.transport.get_account(task.address)
    assert account is not None
    data = account.data
    with pytest.raises(ValueError, match="is a Task, not a Stake"):
        decode_account(StakeAccount, task.address, data)


def test_withdraw_before_training_returns_stake_and_rent(chain: scenarios.Chain) -> None:
    client = chain.client
    task = scenarios.create_task(chain)
    participant = scenarios.deposit(chain, task, 2 * scenarios.SOL)
    stake_rent = chain.rent(scenarios.stake_of(chain, task, participant.pubkey()).address)
    before = client.balance(participant.pubkey())
    result = client.stake_withdraw(participant, task.address)
    assert (
        client.balance(participant.pubkey()) == before + 2 * scenarios.SOL + stake_rent - result.fee
    )
    assert client.stake(task.address, participant.pubkey()) is None


def test_cancel_refunds_pool_and_rent(chain: scenarios.Chain) -> None:
    client = chain.client
    task = scenarios.create_task(chain)
    vault = client.balance(task.address)
    before = client.balance(task.authority.pubkey())
    result = client.task_cancel(task.authority, task.address)
    assert client.balance(task.authority.pubkey()) == before + vault - result.fee
    assert client.transport.get_account(task.address) is None


def test_cancel_with_stakes_is_refused(chain: scenarios.Chain) -> None:
    task = scenarios.create_task(chain)
    scenarios.deposit(chain, task, scenarios.SOL)
    scenarios.expect_program_error(
        "StakingError.TaskHasStakes",
        lambda: chain.client.task_cancel(task.authority, task.address),
    )


def test_unfunded_fee_payer_fails_before_the_program(chain: scenarios.Chain) -> None:
    task = scenarios.create_task(chain)
    with pytest.raises(TransactionRejectedError):
        chain.client.stake_deposit(Keypair(), task.address, scenarios.SOL)


def test_expired_pool_goes_to_contributors(chain: scenarios.Chain) -> None:
    client = chain.client
    task = scenarios.create_task(chain)
    worker = scenarios.deposit(chain, task, scenarios.SOL)
    idle = scenarios.deposit(chain, task, scenarios.SOL)
    scenarios.record_round(chain, task, 0, [worker.pubkey()])
    chain.wait_until(task.params.settle_deadline + task.params.grace_period + 1)
    client.task_expire(chain.wallet(scenarios.SOL), task.address)
    # Each claim also returns the stake account's rent: the account is closed.
    rent = chain.rent(scenarios.stake_of(chain, task, worker.pubkey()).address)
    before = client.balance(worker.pubkey())
    result = client.reward_claim(worker, task.address)
    paid = task.params.reward_pool + scenarios.SOL
    assert client.balance(worker.pubkey()) == before + paid + rent - result.fee
    before = client.balance(idle.pubkey())
    result = client.reward_claim(idle, task.address)
    assert client.balance(idle.pubkey()) == before + scenarios.SOL + rent - result.fee


def test_organisation_cannot_credit_its_sybil_without_the_key_holder(
    chain: scenarios.Chain,
) -> None:
    # The authority records a round crediting its own staked wallet, signing the
    # attestation itself, then with the sybil's key, then with none: all refused.
    task = scenarios.create_task(chain)
    scenarios.deposit(chain, task, scenarios.SOL)
    sybil = scenarios.deposit(chain, task, scenarios.SOL)
    for attestor in (task.authority, sybil):
        scenarios.expect_program_error(
            "StakingError.AttestationMissing",
            lambda a=attestor: scenarios.record_round(chain, task, 0, [sybil.pubkey()], attestor=a),
        )
    scenarios.expect_program_error(
        "StakingError.AttestationMissing",
        lambda: chain.client.round_record(
            task.authority,
            task.address,
            round_index=0,
            manifest_cid=scenarios.CID,
            manifest_digest=scenarios.MANIFEST_DIGEST,
            contributors=[sybil.pubkey()],
            attestations=[],
        ),
    )
    assert chain.client.task(task.address).rounds_recorded == 0
    assert scenarios.stake_of(chain, task, sybil.pubkey()).rounds_contributed == 0


def test_sybil_slipped_past_the_attested_contributors_is_refused(
    chain: scenarios.Chain,
) -> None:
    # The key holder attests `worker`; the authority swaps in its sybil at credit time.
    task = scenarios.create_task(chain)
    worker = scenarios.deposit(chain, task, scenarios.SOL)
    sybil = scenarios.deposit(chain, task, scenarios.SOL)
    attestation = round_attestation(
        task.key_holder, task.address, 0, scenarios.MANIFEST_DIGEST, [worker.pubkey()]
    )
    # The key holder's signature is not over the sybil's list: the client refuses to
    # send what the runtime's Ed25519 check would reject (tests/test_chain_local_rpc.py).
    with pytest.raises(AttestationMismatchError):
        chain.client.round_record(
            task.authority,
            task.address,
            round_index=0,
            manifest_cid=scenarios.CID,
            manifest_digest=scenarios.MANIFEST_DIGEST,
            contributors=[sybil.pubkey()],
            attestations=[attestation],
        )
    assert chain.client.task(task.address).rounds_recorded == 0
    scenarios.record_round(chain, task, 0, [worker.pubkey()])
    scenarios.expect_program_error(
        "StakingError.AttestationMissing",
        lambda: scenarios.finalize(
            chain, task, {worker.pubkey(): 0, sybil.pubkey(): 1}, attestor=task.authority
        ),
    )
    scenarios.finalize(chain, task, {worker.pubkey(): 1, sybil.pubkey(): 0})
    result = chain.client.reward_claim(sybil, task.address)
    assert chain.client.claimed(result).reward == 0


def test_committee_is_drawn_from_the_stakers_and_alone_attests(chain: scenarios.Chain) -> None:
    # The organisation gives the task a committee of 3, 2 of whom attest, before stakes.
    client = chain.client
    task = scenarios.create_task(chain)
    client.committee_configure(task.authority, task.address, size=3, threshold=2)
    stakers = {
        s.pubkey(): s for s in (scenarios.deposit(chain, task, scenarios.SOL) for _ in range(5))
    }
    chain.wait_until(task.params.join_deadline + 1)
    # Anyone draws it, past the join deadline; the seed is the latest slot hash.
    client.committee_draw(chain.wallet(scenarios.SOL), task.address, list(stakers))
    on_chain = client.task(task.address)
    assert on_chain.committee_drawn and on_chain.attestor_threshold == 2
    tickets = {
        p: hashlib.sha256(
            b"fl-app/committee-ticket/v1" + on_chain.committee_seed + bytes(task.address) + bytes(p)
        ).digest()
        for p in stakers
    }
    assert on_chain.attestors == sorted(stakers, key=tickets.__getitem__)[:3]
    # The key holder named at creation attests nothing any more; two members do.
    contributors = sorted(stakers, key=bytes)[:2]
    scenarios.expect_program_error(
        "StakingError.AttestationMissing",
        lambda: scenarios.record_round(chain, task, 0, contributors),
    )
    members = [stakers[p] for p in on_chain.attestors[:2]]
    attestations = [
        round_attestation(m, task.address, 0, scenarios.MANIFEST_DIGEST, contributors)
        for m in members
    ]
    client.round_record(
        task.authority,
        task.address,
        round_index=0,
        manifest_cid=scenarios.CID,
        manifest_digest=scenarios.MANIFEST_DIGEST,
        contributors=contributors,
        attestations=attestations,
    )
    assert client.task(task.address).rounds_recorded == 1
