//! `scores_post`: batches score real stakes of this task, each once, in
//! ascending key order, never past the announced total, ending on the scores
//! the key holder attested.

mod common;

use common::*;
use solana_sdk::instruction::AccountMeta;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Signer;
use staking::errors::StakingError;

/// A task with one stake per score (returned in ascending key order), all
/// credited in one round, finalization begun with those scores attested.
async fn begun(scores: &[u64]) -> (Env, Vec<Pubkey>) {
    let mut env = Env::new().await;
    let mut args = default_args(env.task_id, &env.key_holder.pubkey());
    args.max_participants = staking::MAX_PARTICIPANTS;
    env.create_task_with(args).expect("task_create");
    let mut people = Vec::new();
    for _ in scores {
        people.push(env.join(SOL).pubkey());
    }
    let people = ascending(&people);
    env.record_round(&people).expect("round");
    let total = scores.iter().sum();
    env.finalize_begin(total, &people, scores).expect("begin");
    (env, people)
}

#[tokio::test]
async fn ascending_batches_score_everyone_once() {
    let (mut env, people) = begun(&[1, 2, 3, 4]).await;
    env.post_scores(&people[..2], &[1, 2]).expect("b1");
    env.post_scores(&people[2..], &[3, 4]).expect("b2");
    let task = env.task_state();
    assert_eq!((task.stakes_scored, task.score_posted), (4, 10));
    let stake = env.stake_state(&people[3]);
    assert!(stake.scored);
    assert_eq!(stake.score, 4);
    env.finalize_complete().expect("complete");
}

#[tokio::test]
async fn a_full_batch_fits_one_transaction() {
    let (mut env, people) = begun(&[1; BATCH]).await;
    let scores = vec![1; BATCH];
    let authority = env.authority.pubkey();
    let ix = scores_post_ix(&authority, &env.task(), &people, &scores);
    assert!(tx_size(&[ix], &authority) <= PACKET);
    env.post_scores(&people, &scores).expect("one batch");
    env.finalize_complete().expect("complete");
}

#[tokio::test]
async fn error_double_score() {
    let (mut env, people) = begun(&[1, 4]).await;
    env.post_scores(&[people[0]], &[1]).expect("first");
    assert_error(
        env.post_scores(&[people[1], people[0]], &[3, 1]),
        code(StakingError::AlreadyScored),
    );
}

#[tokio::test]
async fn error_double_score_in_one_batch() {
    let (mut env, people) = begun(&[1, 4]).await;
    assert_error(
        env.post_scores(&[people[0], people[0]], &[1, 1]),
        code(StakingError::AlreadyScored),
    );
}

#[tokio::test]
async fn error_scores_past_total() {
    let (mut env, people) = begun(&[2, 3]).await;
    assert_error(
        env.post_scores(&people, &[3, 3]),
        code(StakingError::ScoreTotalMismatch),
    );
}

#[tokio::test]
async fn error_score_for_non_contributor() {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    let idle = env.join(SOL);
    env.record_round(&[a.pubkey()]).expect("round");
    env.finalize_begin(2, &[a.pubkey(), idle.pubkey()], &[2, 0])
        .expect("begin");
    assert_error(
        env.post_scores(&[idle.pubkey()], &[1]),
        code(StakingError::ScoreForNonContributor),
    );
}

#[tokio::test]
async fn error_not_finalizing() {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    env.record_round(&[a.pubkey()]).expect("round");
    assert_error(
        env.post_scores(&[a.pubkey()], &[1]),
        code(StakingError::TaskNotFinalizing),
    );
}

#[tokio::test]
async fn error_stake_count_mismatch() {
    let (mut env, people) = begun(&[1, 1]).await;
    let authority = env.authority.insecure_clone();
    let mut ix = scores_post_ix(&authority.pubkey(), &env.task(), &people, &[1, 1]);
    ix.accounts.pop();
    assert_error(
        env.send(&[ix], &[&authority]),
        code(StakingError::StakeCountMismatch),
    );
}

#[tokio::test]
async fn error_batch_for_another_task() {
    let (mut env, people) = begun(&[1]).await;
    let first = env.task();
    env.task_id += 1;
    let mut args = default_args(env.task_id, &env.key_holder.pubkey());
    args.max_participants = 2;
    env.create_task_with(args).expect("second task");
    let b = env.join(SOL).pubkey();
    let second = env.task();
    env.task_id -= 1;
    let authority = env.authority.insecure_clone();
    let mut ix = scores_post_ix(&authority.pubkey(), &first, &people, &[1]);
    ix.accounts[2] = AccountMeta::new(stake_pda(&second, &b), false);
    assert_error(
        env.send(&[ix], &[&authority]),
        code(StakingError::StakeMismatch),
    );
}

#[tokio::test]
async fn error_not_authority() {
    let (mut env, people) = begun(&[1]).await;
    let impostor = env.wallet(SOL);
    let ix = scores_post_ix(&impostor.pubkey(), &env.task(), &people, &[1]);
    assert_error(
        env.send(&[ix], &[&impostor]),
        anchor_code::CONSTRAINT_HAS_ONE,
    );
}

#[tokio::test]
async fn error_keys_not_ascending() {
    let (mut env, people) = begun(&[1, 1]).await;
    assert_error(
        env.post_scores(&[people[1], people[0]], &[1, 1]),
        code(StakingError::KeysNotAscending),
    );
}

#[tokio::test]
async fn error_scores_off_the_attested_digest() {
    // Attested 2 and 3; the authority swaps them (same total): refused.
    let (mut env, people) = begun(&[2, 3]).await;
    env.post_scores(&people, &[3, 2]).expect("posted");
    assert_error(
        env.finalize_complete(),
        code(StakingError::ScoresDigestMismatch),
    );
}
