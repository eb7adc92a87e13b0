//! `participant_slash`: bounded, with evidence, into the pool, never to the authority.

mod common;

use anchor_lang::InstructionData;
use common::*;
use solana_sdk::signature::{Keypair, Signer};
use staking::errors::StakingError;
use staking::instructions::ParticipantSlashArgs;

async fn staked() -> (Env, Keypair) {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(2 * SOL);
    (env, a)
}

#[tokio::test]
async fn slashes_into_pool_with_evidence() {
    let (mut env, a) = staked().await;
    let task_key = env.task();
    let vault_before = env.lamports(&task_key);
    let authority_before = env.lamports(&env.authority.pubkey());
    env.slash(&a.pubkey(), SOL / 2).expect("slash");

    let stake = env.stake_state(&a.pubkey());
    assert_eq!(stake.slashed, SOL / 2);
    assert_eq!(stake.slash_evidence_cid, CID);
    let task = env.task_state();
    assert_eq!(task.reward_pool, POOL + SOL / 2);
    assert_eq!(task.stake_held, 2 * SOL - SOL / 2);
    assert_eq!(env.lamports(&task_key), vault_before);
    assert_eq!(
        env.lamports(&env.authority.pubkey()),
        authority_before - 5_000
    );
}

#[tokio::test]
async fn error_slash_limit_exceeded() {
    let (mut env, a) = staked().await;
    // Cap is 50% of 2 SOL: 0.6 + 0.4 is allowed, one more lamport is not.
    env.slash(&a.pubkey(), 600_000_000).expect("first slash");
    env.slash(&a.pubkey(), 400_000_000).expect("second slash");
    assert_error(
        env.slash(&a.pubkey(), 1),
        code(StakingError::SlashLimitExceeded),
    );
}

#[tokio::test]
async fn error_zero_slash() {
    let (mut env, a) = staked().await;
    assert_error(env.slash(&a.pubkey(), 0), code(StakingError::ZeroSlash));
}

#[tokio::test]
async fn error_evidence_missing() {
    let (mut env, a) = staked().await;
    let mut ix = participant_slash_ix(&env.authority.pubkey(), &env.task(), &a.pubkey(), 1);
    ix.data = staking::instruction::ParticipantSlash {
        args: ParticipantSlashArgs {
            amount: 1,
            evidence_cid: String::new(),
        },
    }
    .data();
    let authority = env.authority.insecure_clone();
    assert_error(env.send(&[ix], &[&authority]), code(StakingError::CidEmpty));
}

#[tokio::test]
async fn error_not_authority() {
    let (mut env, a) = staked().await;
    let impostor = env.wallet(SOL);
    let ix = participant_slash_ix(&impostor.pubkey(), &env.task(), &a.pubkey(), 1);
    assert_error(
        env.send(&[ix], &[&impostor]),
        anchor_code::CONSTRAINT_HAS_ONE,
    );
}

#[tokio::test]
async fn error_authority_not_signer() {
    let (mut env, a) = staked().await;
    let payer = env.wallet(SOL);
    let mut ix = participant_slash_ix(&env.authority.pubkey(), &env.task(), &a.pubkey(), 1);
    ix.accounts[0].is_signer = false;
    assert_error(env.send(&[ix], &[&payer]), anchor_code::ACCOUNT_NOT_SIGNER);
}

#[tokio::test]
async fn error_after_finalize() {
    let (mut env, a) = staked().await;
    env.record_round(&[a.pubkey()]).expect("round");
    env.finalize(&[a.pubkey()], &[1]).expect("finalize");
    assert_error(env.slash(&a.pubkey(), 1), code(StakingError::TaskNotOpen));
}
