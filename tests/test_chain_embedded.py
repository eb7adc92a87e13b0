"""The embedded_chain extension's own API: funding, clock, accounts, bad input."""

from __future__ import annotations

import embedded_chain
import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

from fl_app.chain import EmbeddedTransport


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
