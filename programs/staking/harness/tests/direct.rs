//! The direct path refuses what the banks server refuses before execution,
//! and executes a repeated transaction again rather than answering it from
//! the status cache.

use solana_sdk::ed25519_program;
use solana_sdk::instruction::Instruction;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Signer;
use solana_sdk::system_instruction;
use solana_sdk::transaction::TransactionError;
use staking_harness::LocalBank;

/// An Ed25519 program instruction claiming that key `[1; 32]` signed
/// `message` with an all-zero signature: header (one signature), the offsets
/// of signature, key and message within this instruction (`u16::MAX`), then
/// key, signature and message.
fn forged_ed25519(message: &[u8]) -> Instruction {
    const THIS: u16 = u16::MAX;
    let (key_at, signature_at, message_at) = (16u16, 48u16, 112u16);
    let message_len = u16::try_from(message.len()).expect("message fits");
    let mut data = vec![1, 0];
    for field in [
        signature_at,
        THIS,
        key_at,
        THIS,
        message_at,
        message_len,
        THIS,
    ] {
        data.extend_from_slice(&field.to_le_bytes());
    }
    data.extend_from_slice(&[1; 32]);
    data.extend_from_slice(&[0; 64]);
    data.extend_from_slice(message);
    Instruction {
        program_id: ed25519_program::ID,
        accounts: vec![],
        data,
    }
}

fn lamports(chain: &LocalBank, address: &Pubkey) -> u64 {
    chain.account(address).map_or(0, |account| account.lamports)
}

#[tokio::test]
async fn a_forged_precompile_signature_is_refused_before_execution() {
    let chain = LocalBank::start().await;
    let payer = chain.payer.insecure_clone();
    let before = lamports(&chain, &payer.pubkey());
    let result = chain.execute(&[forged_ed25519(b"attested")], &[&payer]);
    assert_eq!(result, Err(TransactionError::InvalidAccountIndex));
    assert_eq!(lamports(&chain, &payer.pubkey()), before, "no fee charged");
}

#[tokio::test]
async fn a_repeated_transaction_executes_again() {
    let chain = LocalBank::start().await;
    let payer = chain.payer.insecure_clone();
    let to = Pubkey::new_unique();
    let transfer = [system_instruction::transfer(
        &payer.pubkey(),
        &to,
        1_000_000,
    )];
    for _ in 0..3 {
        chain.execute(&transfer, &[&payer]).expect("transfer");
    }
    assert_eq!(lamports(&chain, &to), 3_000_000);
}
