//! `reward_claim`: once, by the owner, only after finalize or expiry; the
//! claim closes the stake account to its owner.

mod common;

use anchor_lang::Space;
use common::*;
use solana_sdk::signature::{Keypair, Signer};
use staking::errors::StakingError;
use staking::state::Stake;

async fn finalized() -> (Env, Keypair, Keypair) {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(2 * SOL);
    let b = env.join(SOL);
    env.record_round(&[a.pubkey(), b.pubkey()]).expect("round");
    env.finalize(&[a.pubkey(), b.pubkey()], &[3, 1])
        .expect("finalize");
    (env, a, b)
}

#[tokio::test]
async fn pays_share_plus_stake() {
    let (mut env, a, b) = finalized().await;
    let task_key = env.task();
    let before = env.lamports(&a.pubkey());
    let vault_before = env.lamports(&task_key);
    let stake_rent = env.lamports(&stake_pda(&task_key, &a.pubkey()));
    env.claim(&a).expect("claim");
    let paid = POOL * 3 / 4 + 2 * SOL;
    assert_eq!(env.lamports(&a.pubkey()), before + paid + stake_rent - FEE);
    assert_eq!(env.lamports(&task_key), vault_before - paid);

    env.claim(&b).expect("claim");
    let task = env.task_state();
    assert_eq!((task.reward_pool, task.stake_held), (0, 0));
    let len = env.account(&task_key).expect("task").data.len();
    let rent = env.rent(len);
    assert_eq!(env.lamports(&task_key), rent);
}

#[tokio::test]
async fn claim_closes_the_stake_and_returns_its_rent() {
    let (mut env, a, _) = finalized().await;
    let stake_key = stake_pda(&env.task(), &a.pubkey());
    let rent = env.rent(8 + <Stake as Space>::INIT_SPACE);
    assert_eq!(env.lamports(&stake_key), rent);
    let before = env.lamports(&a.pubkey());
    env.claim(&a).expect("claim");
    assert!(env.account(&stake_key).is_none(), "stake closed");
    let paid = POOL * 3 / 4 + 2 * SOL;
    assert_eq!(env.lamports(&a.pubkey()), before + paid + rent - FEE);
}

#[tokio::test]
async fn claim_counts_the_stake_closed() {
    let (mut env, a, b) = finalized().await;
    assert_eq!(env.task_state().participants, 2);
    env.claim(&a).expect("claim");
    assert_eq!(env.task_state().participants, 1);
    env.claim(&b).expect("claim");
    assert_eq!(env.task_state().participants, 0);
}

#[tokio::test]
async fn error_second_claim() {
    let (mut env, a, _) = finalized().await;
    env.claim(&a).expect("claim");
    let vault = env.lamports(&env.task());
    env.set_time(START_TIME + 5);
    assert_error(env.claim(&a), anchor_code::ACCOUNT_NOT_INITIALIZED);
    assert_eq!(env.lamports(&env.task()), vault);
}

#[tokio::test]
async fn error_not_settled() {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    env.record_round(&[a.pubkey()]).expect("round");
    assert_error(env.claim(&a), code(StakingError::NotSettled));
}

#[tokio::test]
async fn error_other_participant_claims() {
    let (mut env, a, b) = finalized().await;
    let mut ix = reward_claim_ix(&env.task(), &b.pubkey());
    ix.accounts[2].pubkey = stake_pda(&env.task(), &a.pubkey());
    assert_error(env.send(&[ix], &[&b]), anchor_code::CONSTRAINT_SEEDS);
}

#[tokio::test]
async fn error_participant_not_signer() {
    let (mut env, a, _) = finalized().await;
    let payer = env.wallet(SOL);
    let mut ix = reward_claim_ix(&env.task(), &a.pubkey());
    ix.accounts[0].is_signer = false;
    assert_error(env.send(&[ix], &[&payer]), anchor_code::ACCOUNT_NOT_SIGNER);
}

#[tokio::test]
async fn error_task_passed_as_stake() {
    let (mut env, a, _) = finalized().await;
    let mut ix = reward_claim_ix(&env.task(), &a.pubkey());
    ix.accounts[2].pubkey = env.task();
    assert_error(
        env.send(&[ix], &[&a]),
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
    assert_error(env.send(&[ix], &[&a]), anchor_code::ACCOUNT_NOT_SIGNER);
}
