//! `task_finalize_begin`: announces the total once every round is credited,
//! only with the key holder's attestation of the scores; stakes, rounds and
//! slashes stop.

mod common;

use common::*;
use solana_sdk::signature::{Keypair, Signer};
use staking::errors::StakingError;
use staking::state::TaskState;

async fn trained() -> (Env, Keypair) {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    env.record_round(&[a.pubkey()]).expect("round");
    (env, a)
}

#[tokio::test]
async fn begins_and_freezes_the_task() {
    let (mut env, a) = trained().await;
    env.finalize_begin(7, &[a.pubkey()], &[7]).expect("begin");
    let task = env.task_state();
    assert_eq!(task.state, TaskState::Finalizing);
    assert_eq!((task.total_score, task.stakes_scored), (7, 0));
    assert_eq!(task.model_cid, CID);
    assert_error(env.slash(&a.pubkey(), 1), code(StakingError::TaskNotOpen));
    assert_ix_error(
        env.record_round(&[a.pubkey()]),
        1,
        code(StakingError::TaskNotOpen),
    );
    assert_error(env.claim(&a), code(StakingError::NotSettled));
}

#[tokio::test]
async fn error_credits_pending() {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    let b = env.join(SOL);
    let key_holder = env.key_holder.insecure_clone();
    let people = ascending(&[a.pubkey(), b.pubkey()]);
    env.record_round_attested(0, &people, &[&key_holder])
        .expect("round 0");
    env.credit_round(0, &people[..1]).expect("half");
    assert_ix_error(
        env.finalize_begin(1, &people, &[1, 0]),
        1,
        code(StakingError::CreditsPending),
    );
}

#[tokio::test]
async fn error_no_contributors() {
    let mut env = Env::new().await;
    env.create_task();
    env.join(SOL);
    assert_ix_error(
        env.finalize_begin(0, &[], &[]),
        1,
        code(StakingError::NoContributors),
    );
}

#[tokio::test]
async fn error_begin_twice() {
    let (mut env, _) = trained().await;
    env.finalize_begin(1, &[], &[]).expect("begin");
    assert_ix_error(
        env.finalize_begin(2, &[], &[]),
        1,
        code(StakingError::TaskNotOpen),
    );
}

#[tokio::test]
async fn error_settlement_window_closed() {
    let (mut env, _) = trained().await;
    env.set_time(START_TIME + 11_001);
    assert_ix_error(
        env.finalize_begin(1, &[], &[]),
        1,
        code(StakingError::SettlementWindowClosed),
    );
}

#[tokio::test]
async fn error_not_authority() {
    let (mut env, _) = trained().await;
    let impostor = env.wallet(SOL);
    let ix = task_finalize_begin_ix(&impostor.pubkey(), &env.task(), 1, [0; 32]);
    assert_error(
        env.send(&[ix], &[&impostor]),
        anchor_code::CONSTRAINT_HAS_ONE,
    );
}

#[tokio::test]
async fn error_without_attestation() {
    let (mut env, a) = trained().await;
    assert_error(
        env.finalize_begin_attested(1, &[a.pubkey()], &[1], &[]),
        code(StakingError::AttestationMissing),
    );
    assert_eq!(env.task_state().state, TaskState::Open);
}

#[tokio::test]
async fn error_attested_by_the_authority() {
    let (mut env, a) = trained().await;
    let authority = env.authority.insecure_clone();
    assert_ix_error(
        env.finalize_begin_attested(1, &[a.pubkey()], &[1], &[&authority]),
        1,
        code(StakingError::AttestationMissing),
    );
}

#[tokio::test]
async fn error_attested_by_a_non_attestor() {
    let (mut env, a) = trained().await;
    let stranger = Keypair::new();
    assert_ix_error(
        env.finalize_begin_attested(1, &[a.pubkey()], &[1], &[&a, &stranger]),
        2,
        code(StakingError::AttestationMissing),
    );
}

#[tokio::test]
async fn error_attestation_over_other_scores() {
    // The key holder attested a score of 1 for `a`; the authority announces
    // a digest giving `a` 1 and its own sybil 5.
    let (mut env, a) = trained().await;
    let task = env.task();
    let participants = env.task_state().participants;
    let attested = staking::attestation::final_message(
        &task,
        &MODEL_DIGEST,
        1,
        participants,
        &scores_digest(&[a.pubkey()], &[1]),
    );
    let attestation = ed25519_ix(&env.key_holder, &attested);
    let sybil = Keypair::new().pubkey();
    let forged = ascending(&[a.pubkey(), sybil]);
    let scores: Vec<u64> = forged
        .iter()
        .map(|k| if *k == sybil { 5 } else { 1 })
        .collect();
    let authority = env.authority.insecure_clone();
    let ix = task_finalize_begin_ix(
        &authority.pubkey(),
        &task,
        1,
        scores_digest(&forged, &scores),
    );
    assert_ix_error(
        env.send(&[attestation, ix], &[&authority]),
        1,
        code(StakingError::AttestationMissing),
    );
}
