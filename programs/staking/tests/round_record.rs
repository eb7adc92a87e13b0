//! `round_record`: authority only, in order, and only once the previous
//! round's credits are complete.

mod common;

use common::*;
use solana_sdk::signature::Signer;
use staking::errors::StakingError;

#[tokio::test]
async fn records_round_and_credits_contributors() {
    let mut env = Env::new().await;
    env.create_task().await;
    let a = env.join(SOL).await;
    let b = env.join(SOL).await;
    let idle = env.join(SOL).await;
    env.record_round(&[a.pubkey(), b.pubkey()])
        .await
        .expect("round 0");
    env.record_round(&[a.pubkey()]).await.expect("round 1");

    let task = env.task_state().await;
    assert_eq!((task.rounds_recorded, task.contributors), (2, 2));
    assert_eq!(task.credits_pending, 0);
    assert_eq!(env.stake_state(&a.pubkey()).await.rounds_contributed, 2);
    assert_eq!(env.stake_state(&b.pubkey()).await.rounds_contributed, 1);
    assert_eq!(env.stake_state(&idle.pubkey()).await.rounds_contributed, 0);
    let round = env.round_state(1).await;
    assert_eq!((round.index, round.contributors, round.credited), (1, 1, 1));
    assert_eq!(round.manifest_cid, CID);
    assert_eq!(round.task, env.task());
}

#[tokio::test]
async fn announces_credits_pending() {
    let mut env = Env::new().await;
    env.create_task().await;
    env.join(SOL).await;
    env.join(SOL).await;
    let ix = round_record_ix(&env.authority.pubkey(), &env.task(), 0, 2);
    let authority = env.authority.insecure_clone();
    env.send(&[ix], &[&authority]).await.expect("record");
    let task = env.task_state().await;
    assert_eq!((task.rounds_recorded, task.credits_pending), (1, 2));
    assert_eq!(env.round_state(0).await.credited, 0);
}

#[tokio::test]
async fn emits_round_recorded_event() {
    let mut env = Env::new().await;
    env.create_task().await;
    env.join(SOL).await;
    let ix = round_record_ix(&env.authority.pubkey(), &env.task(), 0, 1);
    let authority = env.authority.insecure_clone();
    let blockhash = env
        .ctx
        .banks_client
        .get_latest_blockhash()
        .await
        .expect("hash");
    let tx = solana_sdk::transaction::Transaction::new_signed_with_payer(
        &[ix],
        Some(&authority.pubkey()),
        &[&authority],
        blockhash,
    );
    let result = env
        .ctx
        .banks_client
        .process_transaction_with_metadata(tx)
        .await
        .expect("processed");
    assert!(result.result.is_ok());
    let logs = result.metadata.expect("metadata").log_messages;
    assert!(
        logs.iter().any(|l| l.starts_with("Program data: ")),
        "{logs:?}"
    );
}

#[tokio::test]
async fn error_not_authority() {
    let mut env = Env::new().await;
    env.create_task().await;
    env.join(SOL).await;
    let impostor = env.wallet(SOL).await;
    let ix = round_record_ix(&impostor.pubkey(), &env.task(), 0, 1);
    assert_error(
        env.send(&[ix], &[&impostor]).await,
        anchor_code::CONSTRAINT_HAS_ONE,
    );
}

#[tokio::test]
async fn error_round_out_of_order() {
    let mut env = Env::new().await;
    env.create_task().await;
    env.join(SOL).await;
    let ix = round_record_ix(&env.authority.pubkey(), &env.task(), 1, 1);
    let authority = env.authority.insecure_clone();
    assert_error(
        env.send(&[ix], &[&authority]).await,
        code(StakingError::RoundOutOfOrder),
    );
}

#[tokio::test]
async fn error_round_limit_reached() {
    let mut env = Env::new().await;
    env.create_task().await;
    let a = env.join(SOL).await;
    for _ in 0..3 {
        env.record_round(&[a.pubkey()]).await.expect("round");
    }
    assert_error(
        env.record_round(&[a.pubkey()]).await,
        code(StakingError::RoundLimitReached),
    );
}

#[tokio::test]
async fn error_settle_deadline_passed() {
    let mut env = Env::new().await;
    env.create_task().await;
    let a = env.join(SOL).await;
    env.set_time(START_TIME + 10_000).await;
    assert_error(
        env.record_round(&[a.pubkey()]).await,
        code(StakingError::SettleDeadlinePassed),
    );
}

#[tokio::test]
async fn error_previous_round_credits_pending() {
    let mut env = Env::new().await;
    env.create_task().await;
    let a = env.join(SOL).await;
    env.join(SOL).await;
    let authority = env.authority.insecure_clone();
    let ix = round_record_ix(&authority.pubkey(), &env.task(), 0, 2);
    env.send(&[ix], &[&authority]).await.expect("round 0");
    env.credit_round(0, &[a.pubkey()]).await.expect("half");
    let ix = round_record_ix(&authority.pubkey(), &env.task(), 1, 1);
    assert_error(
        env.send(&[ix], &[&authority]).await,
        code(StakingError::CreditsPending),
    );
}

#[tokio::test]
async fn error_more_contributors_than_stakes() {
    let mut env = Env::new().await;
    env.create_task().await;
    env.join(SOL).await;
    let ix = round_record_ix(&env.authority.pubkey(), &env.task(), 0, 2);
    let authority = env.authority.insecure_clone();
    assert_error(
        env.send(&[ix], &[&authority]).await,
        code(StakingError::StakeCountMismatch),
    );
}
