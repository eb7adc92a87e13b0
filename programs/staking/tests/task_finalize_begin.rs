//! `task_finalize_begin`: announces the total once every round is credited;
//! stakes, rounds and slashes stop.

mod common;

use common::*;
use solana_sdk::signature::{Keypair, Signer};
use staking::errors::StakingError;
use staking::state::TaskState;

async fn trained() -> (Env, Keypair) {
    let mut env = Env::new().await;
    env.create_task().await;
    let a = env.join(SOL).await;
    env.record_round(&[a.pubkey()]).await.expect("round");
    (env, a)
}

#[tokio::test]
async fn begins_and_freezes_the_task() {
    let (mut env, a) = trained().await;
    env.finalize_begin(7).await.expect("begin");
    let task = env.task_state().await;
    assert_eq!(task.state, TaskState::Finalizing);
    assert_eq!((task.total_score, task.stakes_scored), (7, 0));
    assert_eq!(task.model_cid, CID);
    assert_error(
        env.slash(&a.pubkey(), 1).await,
        code(StakingError::TaskNotOpen),
    );
    assert_error(
        env.record_round(&[a.pubkey()]).await,
        code(StakingError::TaskNotOpen),
    );
    assert_error(env.claim(&a).await, code(StakingError::NotSettled));
}

#[tokio::test]
async fn error_credits_pending() {
    let mut env = Env::new().await;
    env.create_task().await;
    let a = env.join(SOL).await;
    env.join(SOL).await;
    let authority = env.authority.insecure_clone();
    let ix = round_record_ix(&authority.pubkey(), &env.task(), 0, 2);
    env.send(&[ix], &[&authority]).await.expect("round 0");
    env.credit_round(0, &[a.pubkey()]).await.expect("half");
    assert_error(
        env.finalize_begin(1).await,
        code(StakingError::CreditsPending),
    );
}

#[tokio::test]
async fn error_no_contributors() {
    let mut env = Env::new().await;
    env.create_task().await;
    env.join(SOL).await;
    assert_error(
        env.finalize_begin(0).await,
        code(StakingError::NoContributors),
    );
}

#[tokio::test]
async fn error_begin_twice() {
    let (mut env, _) = trained().await;
    env.finalize_begin(1).await.expect("begin");
    assert_error(env.finalize_begin(2).await, code(StakingError::TaskNotOpen));
}

#[tokio::test]
async fn error_settlement_window_closed() {
    let (mut env, _) = trained().await;
    env.set_time(START_TIME + 11_001).await;
    assert_error(
        env.finalize_begin(1).await,
        code(StakingError::SettlementWindowClosed),
    );
}

#[tokio::test]
async fn error_not_authority() {
    let (mut env, _) = trained().await;
    let impostor = env.wallet(SOL).await;
    let ix = task_finalize_begin_ix(&impostor.pubkey(), &env.task(), 1);
    assert_error(
        env.send(&[ix], &[&impostor]).await,
        anchor_code::CONSTRAINT_HAS_ONE,
    );
}
