//! `stake_withdraw`: only before training, only by the owner, closes the stake.

mod common;

use common::*;
use solana_sdk::signature::Signer;
use solana_sdk::system_instruction;
use staking::errors::StakingError;
use staking::state::Stake;

#[tokio::test]
async fn withdraws_stake_and_closes_account() {
    let mut env = Env::new().await;
    env.create_task();
    let participant = env.join(2 * SOL);
    let task_key = env.task();
    let vault_before = env.lamports(&task_key);
    let wallet_before = env.lamports(&participant.pubkey());

    let ix = stake_withdraw_ix(&task_key, &participant.pubkey());
    env.send(&[ix], &[&participant]).expect("withdraw");

    let stake_rent = env.rent(8 + <Stake as anchor_lang::Space>::INIT_SPACE);
    assert_eq!(
        env.lamports(&participant.pubkey()),
        wallet_before + 2 * SOL + stake_rent - 5_000
    );
    assert_eq!(env.lamports(&task_key), vault_before - 2 * SOL);
    assert!(env
        .account(&stake_pda(&task_key, &participant.pubkey()))
        .is_none());
    let task = env.task_state();
    assert_eq!((task.participants, task.stake_held), (0, 0));
}

#[tokio::test]
async fn slash_before_training_goes_back_to_the_withdrawn_stake() {
    let mut env = Env::new().await;
    env.create_task();
    let participant = env.join(2 * SOL);
    env.slash(&participant.pubkey(), SOL / 2).expect("slash");
    assert_eq!(env.task_state().reward_pool, POOL + SOL / 2);
    let task_key = env.task();
    let wallet_before = env.lamports(&participant.pubkey());

    let ix = stake_withdraw_ix(&task_key, &participant.pubkey());
    env.send(&[ix], &[&participant]).expect("withdraw");

    // Nobody has contributed yet, so the slash has no contributors' pool to
    // go to: the whole deposit comes back and the pool is the funding again.
    let stake_rent = env.rent(8 + <Stake as anchor_lang::Space>::INIT_SPACE);
    assert_eq!(
        env.lamports(&participant.pubkey()),
        wallet_before + 2 * SOL + stake_rent - 5_000
    );
    let task = env.task_state();
    assert_eq!((task.reward_pool, task.stake_held), (POOL, 0));
}

#[tokio::test]
async fn error_training_started() {
    let mut env = Env::new().await;
    env.create_task();
    let participant = env.join(SOL);
    env.record_round(&[participant.pubkey()]).expect("round");
    let ix = stake_withdraw_ix(&env.task(), &participant.pubkey());
    assert_error(
        env.send(&[ix], &[&participant]),
        code(StakingError::TrainingStarted),
    );
}

#[tokio::test]
async fn error_other_participant_withdraws() {
    let mut env = Env::new().await;
    env.create_task();
    let victim = env.join(SOL);
    let thief = env.wallet(SOL);
    let mut ix = stake_withdraw_ix(&env.task(), &thief.pubkey());
    ix.accounts[2].pubkey = stake_pda(&env.task(), &victim.pubkey());
    assert_error(env.send(&[ix], &[&thief]), anchor_code::CONSTRAINT_SEEDS);
}

#[tokio::test]
async fn error_participant_not_signer() {
    let mut env = Env::new().await;
    env.create_task();
    let victim = env.join(SOL);
    let payer = env.wallet(SOL);
    let mut ix = stake_withdraw_ix(&env.task(), &victim.pubkey());
    ix.accounts[0].is_signer = false;
    assert_error(env.send(&[ix], &[&payer]), anchor_code::ACCOUNT_NOT_SIGNER);
}

#[tokio::test]
async fn error_revived_stake_account() {
    let mut env = Env::new().await;
    env.create_task();
    let participant = env.join(SOL);
    let task_key = env.task();
    let stake = stake_pda(&task_key, &participant.pubkey());
    // Close, refund the closed address and withdraw again in one transaction.
    let ixs = [
        stake_withdraw_ix(&task_key, &participant.pubkey()),
        system_instruction::transfer(&participant.pubkey(), &stake, 10_000_000),
        stake_withdraw_ix(&task_key, &participant.pubkey()),
    ];
    assert_ix_error(
        env.send(&ixs, &[&participant]),
        2,
        anchor_code::ACCOUNT_OWNED_BY_WRONG_PROGRAM,
    );
}
