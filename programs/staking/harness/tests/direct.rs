//! The direct path refuses what the banks server refuses before execution,
//! and executes a repeated transaction again rather than answering it from
//! the status cache.

use solana_sdk::instruction::Instruction;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Signer;
use solana_sdk::system_instruction;
use solana_sdk::transaction::TransactionError;
use staking_harness::{ed25519_instruction, LocalBank};

/// Key `[1; 32]` claimed to have signed `message` with an all-zero signature.
fn forged(message: &[u8]) -> Instruction {
    ed25519_instruction(&Pubkey::new_from_array([1; 32]), &[0; 64], message)
}

fn lamports(chain: &LocalBank, address: &Pubkey) -> u64 {
    chain.account(address).map_or(0, |account| account.lamports)
}

#[tokio::test]
async fn a_forged_precompile_signature_is_refused_before_execution() {
    let chain = LocalBank::start().await;
    let payer = chain.payer.insecure_clone();
    let before = lamports(&chain, &payer.pubkey());
    let result = chain.execute(&[forged(b"attested")], &[&payer]);
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
