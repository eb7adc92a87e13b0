//! `stake_deposit`: limits, deadlines and account substitution attacks.

mod common;

use common::*;
use solana_sdk::account::{Account, AccountSharedData};
use solana_sdk::signature::Signer;
use solana_sdk::system_program;
use staking::errors::StakingError;
use staking::state::Stake;

#[tokio::test]
async fn deposits_stake_into_task_vault() {
    let mut env = Env::new().await;
    env.create_task();
    let task_key = env.task();
    let vault_before = env.lamports(&task_key);
    let participant = env.join(2 * SOL);

    let stake = env.stake_state(&participant.pubkey());
    assert_eq!(stake.task, task_key);
    assert_eq!(stake.participant, participant.pubkey());
    assert_eq!(stake.amount, 2 * SOL);
    assert_eq!(stake.joined_at, START_TIME);

    let task = env.task_state();
    assert_eq!(task.participants, 1);
    assert_eq!(task.stake_held, 2 * SOL);
    assert_eq!(env.lamports(&task_key), vault_before + 2 * SOL);
    let stake_rent = env.rent(8 + <Stake as anchor_lang::Space>::INIT_SPACE);
    assert_eq!(
        env.lamports(&participant.pubkey()),
        10 * SOL - 2 * SOL - stake_rent - 5_000
    );
}

#[tokio::test]
async fn error_stake_below_minimum() {
    let mut env = Env::new().await;
    env.create_task();
    let participant = env.wallet(10 * SOL);
    let ix = stake_deposit_ix(&env.task(), &participant.pubkey(), MIN_STAKE - 1);
    assert_error(
        env.send(&[ix], &[&participant]),
        code(StakingError::StakeBelowMinimum),
    );
}

#[tokio::test]
async fn error_join_deadline_passed() {
    let mut env = Env::new().await;
    env.create_task();
    env.set_time(START_TIME + 1_000);
    let participant = env.wallet(10 * SOL);
    let ix = stake_deposit_ix(&env.task(), &participant.pubkey(), SOL);
    assert_error(
        env.send(&[ix], &[&participant]),
        code(StakingError::JoinDeadlinePassed),
    );
}

#[tokio::test]
async fn error_task_full() {
    let mut env = Env::new().await;
    env.create_task();
    for _ in 0..5 {
        env.join(SOL);
    }
    let participant = env.wallet(10 * SOL);
    let ix = stake_deposit_ix(&env.task(), &participant.pubkey(), SOL);
    assert_error(
        env.send(&[ix], &[&participant]),
        code(StakingError::TaskFull),
    );
}

#[tokio::test]
async fn error_authority_cannot_stake() {
    let mut env = Env::new().await;
    env.create_task();
    let authority = env.authority.insecure_clone();
    let ix = stake_deposit_ix(&env.task(), &authority.pubkey(), SOL);
    assert_error(
        env.send(&[ix], &[&authority]),
        code(StakingError::AuthorityCannotStake),
    );
}

#[tokio::test]
async fn error_task_not_open() {
    let mut env = Env::new().await;
    env.create_task();
    env.set_time(START_TIME + 20_000);
    let caller = env.wallet(SOL);
    env.expire(&caller).expect("expire");
    let participant = env.wallet(10 * SOL);
    let ix = stake_deposit_ix(&env.task(), &participant.pubkey(), SOL);
    assert_error(
        env.send(&[ix], &[&participant]),
        code(StakingError::TaskNotOpen),
    );
}

#[tokio::test]
async fn error_reinitialization() {
    let mut env = Env::new().await;
    env.create_task();
    let participant = env.join(SOL);
    let ix = stake_deposit_ix(&env.task(), &participant.pubkey(), 3 * SOL);
    assert_error(
        env.send(&[ix], &[&participant]),
        anchor_code::SYSTEM_ACCOUNT_ALREADY_IN_USE,
    );
    assert_eq!(env.stake_state(&participant.pubkey()).amount, SOL);
}

#[tokio::test]
async fn error_task_owned_by_wrong_program() {
    let mut env = Env::new().await;
    env.create_task();
    // Same bytes as the real task, but at another address and owned by the
    // System Program: a forged task must not be accepted.
    let real = env.account(&env.task()).expect("task");
    let forged = solana_sdk::pubkey::Pubkey::new_unique();
    env.ctx.set_account(
        &forged,
        &AccountSharedData::from(Account {
            owner: system_program::ID,
            ..real
        }),
    );
    let participant = env.wallet(10 * SOL);
    let ix = stake_deposit_ix(&forged, &participant.pubkey(), SOL);
    assert_error(
        env.send(&[ix], &[&participant]),
        anchor_code::ACCOUNT_OWNED_BY_WRONG_PROGRAM,
    );
}

#[tokio::test]
async fn error_stake_passed_as_task() {
    let mut env = Env::new().await;
    env.create_task();
    let first = env.join(SOL);
    let cosplay = stake_pda(&env.task(), &first.pubkey());
    let participant = env.wallet(10 * SOL);
    let ix = stake_deposit_ix(&cosplay, &participant.pubkey(), SOL);
    assert_error(
        env.send(&[ix], &[&participant]),
        anchor_code::ACCOUNT_DISCRIMINATOR_MISMATCH,
    );
}
