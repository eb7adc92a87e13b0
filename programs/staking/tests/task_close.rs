//! `task_close`: only the authority, only once the task is settled, every
//! stake claimed and every round record closed; it returns the rents and
//! never more than the authority funded and was not paid out.

mod common;

use anchor_lang::Space;
use common::*;
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::system_instruction;
use staking::errors::StakingError;
use staking::state::Round;

/// A task with two rounds recorded, finalized, and `a` claimed; `b` not yet.
async fn finalized() -> (Env, Keypair, Keypair) {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(2 * SOL);
    let b = env.join(SOL);
    env.record_round(&[a.pubkey(), b.pubkey()])
        .expect("round 0");
    env.record_round(&[a.pubkey()]).expect("round 1");
    env.finalize(&[a.pubkey(), b.pubkey()], &[3, 1])
        .expect("finalize");
    env.claim(&a).expect("claim a");
    (env, a, b)
}

/// A finalized task with both stakes claimed.
async fn claimed() -> Env {
    let (mut env, _, b) = finalized().await;
    env.claim(&b).expect("claim b");
    env
}

#[tokio::test]
async fn returns_the_rents_to_the_authority_and_closes_everything() {
    let mut env = claimed().await;
    let task_key = env.task();
    let authority = env.authority.pubkey();
    let task_lamports = env.lamports(&task_key);
    let len = env.account(&task_key).expect("task").data.len();
    assert_eq!(task_lamports, env.rent(len), "only rent is left");
    let round_rent = env.rent(8 + Round::INIT_SPACE);
    let before = env.lamports(&authority);

    env.close_task(&[0, 1]).expect("task_close");

    assert_eq!(
        env.lamports(&authority),
        before + task_lamports + 2 * round_rent - FEE
    );
    assert!(env.account(&task_key).is_none(), "task closed");
    for index in [0, 1] {
        let round = round_pda(&task_key, index);
        assert!(env.account(&round).is_none(), "round {index} closed");
    }
}

#[tokio::test]
async fn expired_task_returns_only_rents_after_the_refund() {
    // Nobody contributed: expiry refunded the pool, so the close returns
    // rents only.
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    env.set_time(START_TIME + 11_001);
    let caller = env.wallet(SOL);
    env.expire(&caller).expect("expire");
    env.claim(&a).expect("claim");
    let task_key = env.task();
    let task_lamports = env.lamports(&task_key);
    let len = env.account(&task_key).expect("task").data.len();
    assert_eq!(task_lamports, env.rent(len));
    let before = env.lamports(&env.authority.pubkey());
    env.close_task(&[]).expect("task_close");
    assert_eq!(
        env.lamports(&env.authority.pubkey()),
        before + task_lamports - FEE
    );
}

#[tokio::test]
async fn error_stake_unclaimed() {
    let (mut env, _, _) = finalized().await;
    assert_error(env.close_task(&[0, 1]), code(StakingError::StakesUnclaimed));
}

#[tokio::test]
async fn error_not_settled() {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    env.record_round(&[a.pubkey()]).expect("round");
    assert_error(env.close_task(&[0]), code(StakingError::NotSettled));
}

#[tokio::test]
async fn error_rounds_open() {
    let mut env = claimed().await;
    assert_error(env.close_task(&[0]), code(StakingError::RoundsOpen));
    assert!(env.account(&env.task()).is_some(), "task kept");
}

#[tokio::test]
async fn error_vault_holds_more_than_owed() {
    // Lamports sent to the vault from outside are nobody's refund: the
    // close is refused rather than pay them to the authority.
    let mut env = claimed().await;
    let task_key = env.task();
    let donor = env.wallet(SOL);
    let ix = system_instruction::transfer(&donor.pubkey(), &task_key, 1);
    env.send(&[ix], &[&donor]).expect("transfer");
    assert_error(
        env.close_task(&[0, 1]),
        code(StakingError::RefundExceedsUnpaidFunding),
    );
    assert!(env.account(&task_key).is_some(), "task kept");
}

#[tokio::test]
async fn error_not_authority() {
    let mut env = claimed().await;
    let other = env.wallet(SOL);
    let ix = task_close_ix(&other.pubkey(), &env.task(), &[0, 1]);
    assert_error(env.send(&[ix], &[&other]), anchor_code::CONSTRAINT_HAS_ONE);
}

#[tokio::test]
async fn error_authority_not_signer() {
    let mut env = claimed().await;
    let payer = env.wallet(SOL);
    let mut ix = task_close_ix(&env.authority.pubkey(), &env.task(), &[0, 1]);
    ix.accounts[0].is_signer = false;
    assert_error(env.send(&[ix], &[&payer]), anchor_code::ACCOUNT_NOT_SIGNER);
}
