//! `round_record`: authority only, in order, only once the previous round's
//! credits are complete, and only with the key holder's attestation of the
//! contributors.

mod common;

use common::*;
use solana_sdk::signature::{Keypair, Signer};
use staking::errors::StakingError;

#[tokio::test]
async fn records_round_and_credits_contributors() {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    let b = env.join(SOL);
    let idle = env.join(SOL);
    env.record_round(&[a.pubkey(), b.pubkey()])
        .expect("round 0");
    env.record_round(&[a.pubkey()]).expect("round 1");

    let task = env.task_state();
    assert_eq!((task.rounds_recorded, task.contributors), (2, 2));
    assert_eq!(task.credits_pending, 0);
    assert_eq!(env.stake_state(&a.pubkey()).rounds_contributed, 2);
    assert_eq!(env.stake_state(&b.pubkey()).rounds_contributed, 1);
    assert_eq!(env.stake_state(&idle.pubkey()).rounds_contributed, 0);
    let round = env.round_state(1);
    assert_eq!((round.index, round.contributors, round.credited), (1, 1, 1));
    assert_eq!(round.manifest_cid, CID);
    assert_eq!(round.task, env.task());
}

#[tokio::test]
async fn announces_credits_pending() {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    let b = env.join(SOL);
    let key_holder = env.key_holder.insecure_clone();
    let people = ascending(&[a.pubkey(), b.pubkey()]);
    env.record_round_attested(0, &people, &[&key_holder])
        .expect("record");
    let task = env.task_state();
    assert_eq!(task.attested_digest, contributors_digest(&people));
    assert_eq!(env.round_state(0).manifest_digest, MANIFEST_DIGEST);
    assert_eq!((task.rounds_recorded, task.credits_pending), (1, 2));
    assert_eq!(env.round_state(0).credited, 0);
}

#[tokio::test]
async fn emits_round_recorded_event() {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    let message = staking::attestation::round_message(
        &env.task(),
        0,
        &MANIFEST_DIGEST,
        1,
        &contributors_digest(&[a.pubkey()]),
    );
    let attestation = ed25519_ix(&env.key_holder, &message);
    let ix = round_record_ix(
        &env.authority.pubkey(),
        &env.task(),
        0,
        1,
        contributors_digest(&[a.pubkey()]),
    );
    let authority = env.authority.insecure_clone();
    let logs = env
        .ctx
        .execute(&[attestation, ix], &[&authority])
        .expect("processed");
    assert!(
        logs.iter().any(|l| l.starts_with("Program data: ")),
        "{logs:?}"
    );
}

#[tokio::test]
async fn error_not_authority() {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    let impostor = env.wallet(SOL);
    let digest = contributors_digest(&[a.pubkey()]);
    let ix = round_record_ix(&impostor.pubkey(), &env.task(), 0, 1, digest);
    assert_error(
        env.send(&[ix], &[&impostor]),
        anchor_code::CONSTRAINT_HAS_ONE,
    );
}

#[tokio::test]
async fn error_round_out_of_order() {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    let key_holder = env.key_holder.insecure_clone();
    assert_ix_error(
        env.record_round_attested(1, &[a.pubkey()], &[&key_holder]),
        1,
        code(StakingError::RoundOutOfOrder),
    );
}

#[tokio::test]
async fn error_round_limit_reached() {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    for _ in 0..3 {
        env.record_round(&[a.pubkey()]).expect("round");
    }
    assert_ix_error(
        env.record_round(&[a.pubkey()]),
        1,
        code(StakingError::RoundLimitReached),
    );
}

#[tokio::test]
async fn error_settle_deadline_passed() {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    env.set_time(START_TIME + 10_000);
    assert_ix_error(
        env.record_round(&[a.pubkey()]),
        1,
        code(StakingError::SettleDeadlinePassed),
    );
}

#[tokio::test]
async fn error_previous_round_credits_pending() {
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
        env.record_round_attested(1, &people[..1], &[&key_holder]),
        1,
        code(StakingError::CreditsPending),
    );
}

#[tokio::test]
async fn error_more_contributors_than_stakes() {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    let key_holder = env.key_holder.insecure_clone();
    assert_ix_error(
        env.record_round_attested(0, &[a.pubkey(), a.pubkey()], &[&key_holder]),
        1,
        code(StakingError::StakeCountMismatch),
    );
}

/// A task with two stakes, `a` and the authority's sybil.
async fn with_sybil() -> (Env, Keypair, Keypair) {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    let sybil = env.join(SOL);
    (env, a, sybil)
}

#[tokio::test]
async fn error_without_attestation() {
    let (mut env, _, sybil) = with_sybil().await;
    assert_error(
        env.record_round_attested(0, &[sybil.pubkey()], &[]),
        code(StakingError::AttestationMissing),
    );
    assert_eq!(env.task_state().rounds_recorded, 0);
}

#[tokio::test]
async fn error_attested_by_the_authority() {
    let (mut env, _, sybil) = with_sybil().await;
    let authority = env.authority.insecure_clone();
    assert_ix_error(
        env.record_round_attested(0, &[sybil.pubkey()], &[&authority]),
        1,
        code(StakingError::AttestationMissing),
    );
}

#[tokio::test]
async fn error_attested_by_a_non_attestor() {
    let (mut env, _, sybil) = with_sybil().await;
    let stranger = Keypair::new();
    assert_ix_error(
        env.record_round_attested(0, &[sybil.pubkey()], &[&sybil, &stranger]),
        2,
        code(StakingError::AttestationMissing),
    );
}

#[tokio::test]
async fn error_attestation_over_other_contributors() {
    // The key holder attested `a` alone; the authority announces its sybil.
    let (mut env, a, sybil) = with_sybil().await;
    let task = env.task();
    let attested = staking::attestation::round_message(
        &task,
        0,
        &MANIFEST_DIGEST,
        1,
        &contributors_digest(&[a.pubkey()]),
    );
    let attestation = ed25519_ix(&env.key_holder, &attested);
    let authority = env.authority.insecure_clone();
    let forged = round_record_ix(
        &authority.pubkey(),
        &task,
        0,
        1,
        contributors_digest(&[sybil.pubkey()]),
    );
    assert_ix_error(
        env.send(&[attestation, forged], &[&authority]),
        1,
        code(StakingError::AttestationMissing),
    );
}

#[tokio::test]
async fn error_bad_signature_fails_the_transaction() {
    // The runtime verifies the Ed25519 program instruction: a signature the
    // key holder never made fails the whole transaction.
    let (mut env, _, sybil) = with_sybil().await;
    let task = env.task();
    let digest = contributors_digest(&[sybil.pubkey()]);
    let message = staking::attestation::round_message(&task, 0, &MANIFEST_DIGEST, 1, &digest);
    let forged = ed25519_ix_with(&env.key_holder.pubkey(), &[7; 64], &message);
    let authority = env.authority.insecure_clone();
    let ix = round_record_ix(&authority.pubkey(), &task, 0, 1, digest);
    // The runtime reports a failed precompile verification as InvalidAccountIndex.
    let result = env.send(&[forged, ix], &[&authority]);
    assert!(
        matches!(
            result,
            Err(solana_sdk::transaction::TransactionError::InvalidAccountIndex)
        ),
        "{result:?}"
    );
    assert_eq!(env.task_state().rounds_recorded, 0);
}

#[tokio::test]
async fn error_empty_round_with_nonzero_digest() {
    let (mut env, a, _) = with_sybil().await;
    let task = env.task();
    let digest = contributors_digest(&[a.pubkey()]);
    let message = staking::attestation::round_message(&task, 0, &MANIFEST_DIGEST, 0, &digest);
    let attestation = ed25519_ix(&env.key_holder, &message);
    let authority = env.authority.insecure_clone();
    let ix = round_record_ix(&authority.pubkey(), &task, 0, 0, digest);
    assert_ix_error(
        env.send(&[attestation, ix], &[&authority]),
        1,
        code(StakingError::ContributorsDigestMismatch),
    );
}
