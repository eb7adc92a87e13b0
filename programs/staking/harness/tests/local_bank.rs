//! A dropped chain frees its bank: the AccountsDb threads of every chain
//! started and dropped in a process must not pile up.

use std::time::{Duration, Instant};

use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Signer;
use solana_sdk::system_instruction;
use solana_sdk::transaction::Transaction;
use staking_harness::LocalBank;

/// Threads a dropped chain may still leave behind (a runtime's thread being parked, say).
const SLACK: usize = 2;

fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("procfs")
        .count()
}

/// The thread count once it has fallen to `limit`, or after ten seconds.
async fn settled_thread_count(limit: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let count = thread_count();
        if count <= limit || Instant::now() > deadline {
            return count;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts a chain, sends a transfer and warps past the first epoch, then drops it.
async fn run_chain() {
    let mut chain = LocalBank::start().await;
    let payer = chain.payer.insecure_clone();
    let transfer = system_instruction::transfer(&payer.pubkey(), &Pubkey::new_unique(), 1_000_000);
    let blockhash = chain
        .banks_client
        .get_latest_blockhash()
        .await
        .expect("blockhash");
    let tx = Transaction::new_signed_with_payer(
        &[transfer],
        Some(&payer.pubkey()),
        &[&payer],
        blockhash,
    );
    chain
        .banks_client
        .process_transaction(tx)
        .await
        .expect("transfer");
    chain.warp_to_slot(100).expect("warp");
}

#[tokio::test]
async fn dropped_chains_leave_no_threads_behind() {
    // The first chain also starts the process's one-time threads.
    run_chain().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline = thread_count();
    for _ in 0..5 {
        run_chain().await;
    }
    let after = settled_thread_count(baseline + SLACK).await;
    assert!(
        after <= baseline + SLACK,
        "{baseline} threads after the first chain, {after} after five more"
    );
}
