"""The embedded_chain extension's own API: funding, clock, accounts, bad input, teardown."""

from __future__ import annotations

import gc
import os
import struct
import time

import embedded_chain
import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

from fl_app.chain import EmbeddedTransport

ED25519_PROGRAM_ID = Pubkey.from_string("Ed25519SigVerify111111111111111111111111111")


@pytest.fixture
def transport() -> EmbeddedTransport:
    return EmbeddedTransport()


def test_staking_program_is_deployed(transport: EmbeddedTransport) -> None:
    program = transport.get_account(transport.program_id)
    assert program is not None and program.executable


def test_payer_is_funded_and_airdrop_credits(transport: EmbeddedTransport) -> None:
    payer = transport.payer()
    payer_account = transport.get_account(payer.pubkey())
    assert payer_account is not None and payer_account.lamports >= 10**15
    address = Keypair().pubkey()
    assert transport.get_account(address) is None
    transport.airdrop(address, 2_000_000)
    transport.airdrop(address, 2_000_000)  # identical transfer: must not be dropped
    account = transport.get_account(address)
    assert account is not None
    assert (account.lamports, account.owner) == (4_000_000, SYSTEM_PROGRAM_ID)


def test_clock_can_be_moved_and_blockhash_changes(transport: EmbeddedTransport) -> None:
    before = transport.latest_blockhash()
    transport.set_unix_timestamp(2_000_000_000)
    assert transport.unix_timestamp() == 2_000_000_000
    assert transport.latest_blockhash() != before


def test_rent_exemption_grows_with_size(transport: EmbeddedTransport) -> None:
    small = transport.minimum_balance_for_rent_exemption(0)
    large = transport.minimum_balance_for_rent_exemption(1_000)
    assert 0 < small < large


def test_malformed_input_raises_chain_error(transport: EmbeddedTransport) -> None:
    chain = embedded_chain.Chain()
    with pytest.raises(embedded_chain.ChainError, match="not a serialized transaction"):
        chain.send_transaction(b"\x01\x02")
    with pytest.raises(embedded_chain.ChainError, match="32 bytes"):
        chain.get_account(b"short")
    assert isinstance(transport.program_id, Pubkey)


def test_resent_transaction_is_rejected_not_rerun(transport: EmbeddedTransport) -> None:
    payer = transport.payer()
    address = Keypair().pubkey()
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=address, lamports=10**6))
    tx = Transaction.new_signed_with_payer(
        [ix], payer.pubkey(), [payer], transport.latest_blockhash()
    )
    first = transport.send_transaction(bytes(tx))
    again = transport.send_transaction(bytes(tx))
    assert first.ok and first.fee > 0
    assert not again.ok and again.error == "AlreadyProcessed"
    account = transport.get_account(address)
    assert account is not None and account.lamports == 10**6


def _ed25519_instruction(signer: Keypair, message: bytes, *, tamper: bool) -> Instruction:
    """An Ed25519 program instruction verifying ``signer``'s signature of ``message``."""
    signature = bytes(signer.sign_message(message))
    if tamper:
        message = message[:-1] + bytes([message[-1] ^ 1])
    header = 2 + 7 * 2
    key_at, signature_at, message_at = header, header + 32, header + 32 + 64
    this = 0xFFFF  # every offset refers to this instruction's own data
    offsets = struct.pack("<7H", signature_at, this, key_at, this, message_at, len(message), this)
    data = bytes([1, 0]) + offsets + bytes(signer.pubkey()) + signature + message
    return Instruction(ED25519_PROGRAM_ID, data, [])


def test_forged_signature_is_refused_and_moves_nothing(transport: EmbeddedTransport) -> None:
    victim, thief = Keypair(), Keypair()
    transport.airdrop(victim.pubkey(), 10**9)
    ix = transfer(
        TransferParams(from_pubkey=victim.pubkey(), to_pubkey=thief.pubkey(), lamports=10**8)
    )
    message = Message.new_with_blockhash([ix], victim.pubkey(), transport.latest_blockhash())
    # The thief signs the victim's transfer with its own key.
    forged = Transaction.populate(message, [thief.sign_message(bytes(message))])
    result = transport.send_transaction(bytes(forged))
    assert not result.ok and result.error == "SignatureFailure"
    assert transport.get_account(thief.pubkey()) is None
    victim_account = transport.get_account(victim.pubkey())
    assert victim_account is not None and victim_account.lamports == 10**9


def test_ed25519_precompile_is_verified(transport: EmbeddedTransport) -> None:
    payer, attestor = transport.payer(), Keypair()
    for tamper, expected_ok in ((False, True), (True, False)):
        ix = _ed25519_instruction(attestor, b"round 0 of task", tamper=tamper)
        tx = Transaction.new_signed_with_payer(
            [ix], payer.pubkey(), [payer], transport.latest_blockhash()
        )
        result = transport.send_transaction(bytes(tx))
        assert result.ok is expected_ok, result.error
        if not expected_ok:
            # solana-sdk 1.18 reports any failed precompile check under this name;
            # the transaction is refused before execution, so no fee is taken.
            assert (result.error, result.fee) == ("InvalidAccountIndex", 0)


def _thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


def _settled_thread_count(limit: int, timeout: float = 10.0) -> int:
    """The process's thread count once it is at most ``limit``, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while (count := _thread_count()) > limit and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


def _start_and_drop_chain() -> None:
    transport = EmbeddedTransport()
    transport.airdrop(Keypair().pubkey(), 10**6)
    del transport
    gc.collect()


def test_dropped_chains_leave_no_threads_behind() -> None:
    # The first chain of the process also starts its one-time threads.
    _start_and_drop_chain()
    time.sleep(0.5)
    baseline = _thread_count()
    for _ in range(5):
        _start_and_drop_chain()
    slack = 2
    after = _settled_thread_count(baseline + slack)
    assert after <= baseline + slack, f"{baseline} threads after one chain, {after} after six"
