//! `task_cancel`: before any stake, refunds and closes; a closed task stays dead.

mod common;

use common::*;
use solana_sdk::signature::Signer;
use solana_sdk::system_instruction;
use staking::errors::StakingError;

#[tokio::test]
async fn cancels_and_refunds_everything() {
    let mut env = Env::new().await;
    let before = env.lamports(&env.authority.pubkey());
    env.create_task();
    let ix = task_cancel_ix(&env.authority.pubkey(), &env.task());
    let authority = env.authority.insecure_clone();
    env.send(&[ix], &[&authority]).expect("cancel");
    assert!(env.account(&env.task()).is_none());
    assert_eq!(env.lamports(&env.authority.pubkey()), before - 2 * 5_000);
}

#[tokio::test]
async fn cancel_allowed_after_all_stakes_withdrawn() {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    let ix = stake_withdraw_ix(&env.task(), &a.pubkey());
    env.send(&[ix], &[&a]).expect("withdraw");
    let ix = task_cancel_ix(&env.authority.pubkey(), &env.task());
    let authority = env.authority.insecure_clone();
    env.send(&[ix], &[&authority]).expect("cancel");
}

#[tokio::test]
async fn cancel_after_slashed_victim_withdraws_refunds_only_the_funding() {
    let mut env = Env::new().await;
    let authority_before = env.lamports(&env.authority.pubkey());
    env.create_task();
    let victim = env.join(2 * SOL);
    // The attack: slash the victim to the cap, let it leave, cancel.
    env.slash(&victim.pubkey(), SOL).expect("slash");
    let victim_before = env.lamports(&victim.pubkey());
    let ix = stake_withdraw_ix(&env.task(), &victim.pubkey());
    env.send(&[ix], &[&victim]).expect("withdraw");
    let ix = task_cancel_ix(&env.authority.pubkey(), &env.task());
    let authority = env.authority.insecure_clone();
    env.send(&[ix], &[&authority]).expect("cancel");

    // The authority paid three fees (create, slash, cancel) and got back only
    // its funding and the task's rent; the victim got its whole deposit.
    assert_eq!(
        env.lamports(&env.authority.pubkey()),
        authority_before - 3 * 5_000
    );
    let stake_rent = env.rent(8 + <staking::state::Stake as anchor_lang::Space>::INIT_SPACE);
    assert_eq!(
        env.lamports(&victim.pubkey()),
        victim_before + 2 * SOL + stake_rent - 5_000
    );
}

#[tokio::test]
async fn error_task_has_stakes() {
    let mut env = Env::new().await;
    env.create_task();
    env.join(SOL);
    let ix = task_cancel_ix(&env.authority.pubkey(), &env.task());
    let authority = env.authority.insecure_clone();
    assert_error(
        env.send(&[ix], &[&authority]),
        code(StakingError::TaskHasStakes),
    );
}

#[tokio::test]
async fn error_not_authority() {
    let mut env = Env::new().await;
    env.create_task();
    let impostor = env.wallet(SOL);
    let ix = task_cancel_ix(&impostor.pubkey(), &env.task());
    assert_error(
        env.send(&[ix], &[&impostor]),
        anchor_code::CONSTRAINT_HAS_ONE,
    );
}

#[tokio::test]
async fn error_revived_task() {
    let mut env = Env::new().await;
    env.create_task();
    let authority = env.authority.insecure_clone();
    let participant = env.wallet(10 * SOL);
    let task_key = env.task();
    // Close the task, refund its address and stake on it in one transaction.
    let ixs = [
        task_cancel_ix(&authority.pubkey(), &task_key),
        system_instruction::transfer(&authority.pubkey(), &task_key, 10_000_000),
        stake_deposit_ix(&task_key, &participant.pubkey(), SOL),
    ];
    assert_ix_error(
        env.send(&ixs, &[&authority, &participant]),
        2,
        anchor_code::ACCOUNT_OWNED_BY_WRONG_PROGRAM,
    );
}
