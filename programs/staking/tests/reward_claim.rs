//! `reward_claim`: once, by the owner, only after finalize or expiry.

mod common;

use common::*;
use solana_sdk::signature::{Keypair, Signer};
use staking::errors::StakingError;

async fn finalized() -> (Env, Keypair, Keypair) {
    let mut env = Env::new().await;
    env.create_task().await;
    let a = env.join(2 * SOL).await;
    let b = env.join(SOL).await;
    env.record_round(&[a.pubkey(), b.pubkey()])
        .await
        .expect("round");
    env.finalize(&[a.pubkey(), b.pubkey()], &[3, 1])
        .await
        .expect("finalize");
    (env, a, b)
}

#[tokio::test]
async fn pays_share_plus_stake() {
    let (mut env, a, b) = finalized().await;
    let task_key = env.task();
    let before = env.lamports(&a.pubkey()).await;
    let vault_before = env.lamports(&task_key).await;
    env.claim(&a).await.expect("claim");
    let paid = POOL * 3 / 4 + 2 * SOL;
    assert_eq!(env.lamports(&a.pubkey()).await, before + paid - 5_000);
    assert_eq!(env.lamports(&task_key).await, vault_before - paid);
    assert!(env.stake_state(&a.pubkey()).await.claimed);

    env.claim(&b).await.expect("claim");
    let task = env.task_state().await;
    assert_eq!((task.reward_pool, task.stake_held), (0, 0));
    let len = env.account(&task_key).await.expect("task").data.len();
    let rent = env.rent(len).await;
    assert_eq!(env.lamports(&task_key).await, rent);
}

#[tokio::test]
async fn error_already_claimed() {
    let (mut env, a, _) = finalized().await;
    env.claim(&a).await.expect("claim");
    env.set_time(START_TIME + 5).await;
    assert_error(env.claim(&a).await, code(StakingError::AlreadyClaimed));
}

#[tokio::test]
async fn error_not_settled() {
    let mut env = Env::new().await;
    env.create_task().await;
    let a = env.join(SOL).await;
    env.record_round(&[a.pubkey()]).await.expect("round");
    assert_error(env.claim(&a).await, code(StakingError::NotSettled));
}

#[tokio::test]
async fn error_other_participant_claims() {
    let (mut env, a, b) = finalized().await;
    let mut ix = reward_claim_ix(&env.task(), &b.pubkey());
    ix.accounts[2].pubkey = stake_pda(&env.task(), &a.pubkey());
    assert_error(env.send(&[ix], &[&b]).await, anchor_code::CONSTRAINT_SEEDS);
}

#[tokio::test]
async fn error_participant_not_signer() {
    let (mut env, a, _) = finalized().await;
    let payer = env.wallet(SOL).await;
    let mut ix = reward_claim_ix(&env.task(), &a.pubkey());
    ix.accounts[0].is_signer = false;
    assert_error(
        env.send(&[ix], &[&payer]).await,
        anchor_code::ACCOUNT_NOT_SIGNER,
    );
}

#[tokio::test]
async fn error_task_passed_as_stake() {
    let (mut env, a, _) = finalized().await;
    let mut ix = reward_claim_ix(&env.task(), &a.pubkey());
    ix.accounts[2].pubkey = env.task();
    assert_error(
        env.send(&[ix], &[&a]).await,
        anchor_code::ACCOUNT_DISCRIMINATOR_MISMATCH,
    );
}

#[tokio::test]
async fn error_duplicate_task_as_participant() {
    // Passing the task itself as the (mutable) participant cannot sign, so
    // the vault can never be paid to itself.
    let (mut env, a, _) = finalized().await;
    let mut ix = reward_claim_ix(&env.task(), &a.pubkey());
    ix.accounts[0].pubkey = env.task();
    ix.accounts[0].is_signer = false;
    assert_error(
        env.send(&[ix], &[&a]).await,
        anchor_code::ACCOUNT_NOT_SIGNER,
    );
}
