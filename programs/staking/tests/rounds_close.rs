//! `rounds_close`: batches of a settled task's round records, closed to the
//! authority; only records of this task, each once.

mod common;

use anchor_lang::Space;
use common::*;
use solana_sdk::instruction::AccountMeta;
use solana_sdk::signature::{Keypair, Signer};
use staking::errors::StakingError;
use staking::state::Round;

/// Most round records one `rounds_close` transaction carries.
const ROUNDS_PER_BATCH: usize = 30;

/// A task with three rounds, finalized, and both stakes claimed.
async fn claimed() -> (Env, Keypair) {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(2 * SOL);
    for _ in 0..3 {
        env.record_round(&[a.pubkey()]).expect("round");
    }
    env.finalize(&[a.pubkey()], &[1]).expect("finalize");
    env.claim(&a).expect("claim");
    (env, a)
}

#[tokio::test]
async fn closes_in_batches_then_the_task_closes() {
    let (mut env, _) = claimed().await;
    let authority = env.authority.pubkey();
    let round_rent = env.rent(8 + Round::INIT_SPACE);
    let before = env.lamports(&authority);

    env.close_rounds(&[0]).expect("first batch");
    assert_eq!(env.task_state().rounds_closed, 1);
    env.close_rounds(&[2, 1]).expect("second batch");
    assert_eq!(env.task_state().rounds_closed, 3);
    assert_eq!(env.lamports(&authority), before + 3 * round_rent - 2 * FEE);
    for index in 0..3 {
        assert!(env.account(&round_pda(&env.task(), index)).is_none());
    }
    env.close_task(&[]).expect("task_close");
    assert!(env.account(&env.task()).is_none());
}

#[tokio::test]
async fn a_full_batch_fits_one_transaction() {
    let authority = Keypair::new().pubkey();
    let task = task_pda(&authority, 7);
    let indices: Vec<u32> = (0..ROUNDS_PER_BATCH as u32).collect();
    let ix = rounds_close_ix(&authority, &task, &indices);
    assert!(tx_size(&[ix], &authority) <= PACKET);
}

#[tokio::test]
async fn error_round_of_another_task() {
    let (mut env, _) = claimed().await;
    // A second task of the same authority, with a round record.
    env.task_id = 8;
    env.create_task();
    let b = env.join(SOL);
    env.record_round(&[b.pubkey()]).expect("round");
    let other_round = round_pda(&env.task(), 0);
    env.task_id = 7;
    let mut ix = rounds_close_ix(&env.authority.pubkey(), &env.task(), &[0]);
    ix.accounts[2] = AccountMeta::new(other_round, false);
    let authority = env.authority.insecure_clone();
    assert_error(
        env.send(&[ix], &[&authority]),
        code(StakingError::RoundMismatch),
    );
    assert!(env.account(&other_round).is_some(), "round kept");
}

#[tokio::test]
async fn error_task_passed_as_round() {
    let (mut env, _) = claimed().await;
    let mut ix = rounds_close_ix(&env.authority.pubkey(), &env.task(), &[0]);
    ix.accounts[2] = AccountMeta::new(env.task(), false);
    let authority = env.authority.insecure_clone();
    assert_error(
        env.send(&[ix], &[&authority]),
        anchor_code::ACCOUNT_DISCRIMINATOR_MISMATCH,
    );
}

#[tokio::test]
async fn error_round_twice_in_one_batch() {
    let (mut env, _) = claimed().await;
    assert_error(
        env.close_rounds(&[1, 1]),
        anchor_code::ACCOUNT_NOT_INITIALIZED,
    );
    assert_eq!(env.task_state().rounds_closed, 0);
}

#[tokio::test]
async fn error_round_closed_before() {
    let (mut env, _) = claimed().await;
    env.close_rounds(&[1]).expect("close");
    env.set_time(START_TIME + 5);
    assert_error(env.close_rounds(&[1]), anchor_code::ACCOUNT_NOT_INITIALIZED);
}

#[tokio::test]
async fn error_round_not_writable() {
    let (mut env, _) = claimed().await;
    let mut ix = rounds_close_ix(&env.authority.pubkey(), &env.task(), &[0]);
    ix.accounts[2].is_writable = false;
    let authority = env.authority.insecure_clone();
    assert_error(
        env.send(&[ix], &[&authority]),
        code(StakingError::RoundNotWritable),
    );
}

#[tokio::test]
async fn error_empty_batch() {
    let (mut env, _) = claimed().await;
    assert_error(env.close_rounds(&[]), code(StakingError::EmptyBatch));
}

#[tokio::test]
async fn error_stake_unclaimed() {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    env.record_round(&[a.pubkey()]).expect("round");
    env.finalize(&[a.pubkey()], &[1]).expect("finalize");
    assert_error(env.close_rounds(&[0]), code(StakingError::StakesUnclaimed));
}

#[tokio::test]
async fn error_not_settled() {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    env.record_round(&[a.pubkey()]).expect("round");
    assert_error(env.close_rounds(&[0]), code(StakingError::NotSettled));
}

#[tokio::test]
async fn error_not_authority() {
    let (mut env, a) = claimed().await;
    let ix = rounds_close_ix(&a.pubkey(), &env.task(), &[0]);
    assert_error(env.send(&[ix], &[&a]), anchor_code::CONSTRAINT_HAS_ONE);
}
