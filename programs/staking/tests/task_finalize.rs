//! `task_finalize`: completes only when every stake is scored once and the
//! scores add up to the announced total; claims then follow the scores and
//! pay out the whole pool.

mod common;

use common::*;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signer};
use staking::errors::StakingError;
use staking::state::TaskState;

/// A task with three stakes; the first two contributed to one round.
async fn trained() -> (Env, Vec<Keypair>) {
    let mut env = Env::new().await;
    env.create_task();
    let mut people = Vec::new();
    for _ in 0..3 {
        people.push(env.join(SOL));
    }
    // Ascending keys: the order scores are posted in.
    people.sort_by_key(|p| p.pubkey());
    env.record_round(&[people[0].pubkey(), people[1].pubkey()])
        .expect("round");
    (env, people)
}

fn keys(people: &[Keypair]) -> Vec<Pubkey> {
    people.iter().map(|p| p.pubkey()).collect()
}

/// Claims for everyone and returns each one's reward.
fn claim_all(env: &mut Env, people: &[Keypair]) -> Vec<u64> {
    let mut rewards = Vec::new();
    for who in people {
        rewards.push(env.claim_reward(who).expect("claim"));
    }
    rewards
}

#[tokio::test]
async fn shares_follow_scores_and_sum_to_pool() {
    let (mut env, people) = trained().await;
    env.finalize(&keys(&people), &[3, 1, 0]).expect("finalize");
    let task = env.task_state();
    assert_eq!(task.state, TaskState::Finalized);
    assert_eq!((task.total_score, task.unclaimed_score), (4, 4));
    assert_eq!(task.model_cid, CID);
    assert_eq!(env.stake_state(&people[0].pubkey()).score, 3);
    let rewards = claim_all(&mut env, &people);
    assert_eq!(rewards, vec![POOL * 3 / 4, POOL / 4, 0]);
    let task = env.task_state();
    assert_eq!((task.reward_pool, task.reward_paid), (0, POOL));
}

#[tokio::test]
async fn rounding_remainder_goes_to_the_last_scored_claim() {
    let (mut env, people) = trained().await;
    env.finalize(&keys(&people), &[1, 2, 0]).expect("finalize");
    let rewards = claim_all(&mut env, &people);
    assert_eq!(rewards[0], POOL / 3);
    assert_eq!(rewards[0] + rewards[1], POOL);
    assert_eq!(env.task_state().reward_pool, 0);
}

#[tokio::test]
async fn all_zero_scores_split_pool_among_contributors() {
    let (mut env, people) = trained().await;
    env.finalize(&keys(&people), &[0, 0, 0]).expect("finalize");
    let rewards = claim_all(&mut env, &people);
    assert_eq!(rewards, vec![POOL / 2, POOL / 2, 0]);
}

#[tokio::test]
async fn a_sybil_scored_zero_gets_nothing() {
    let (mut env, people) = trained().await;
    // people[2] stands for an authority wallet that did no work.
    env.finalize(&keys(&people), &[5, 5, 0]).expect("finalize");
    // Its stake (and the stake account's rent) comes back; no reward.
    assert_eq!(env.claim_reward(&people[2]).expect("claim"), 0);
}

#[tokio::test]
async fn error_finishing_with_stakes_unscored() {
    let (mut env, people) = trained().await;
    env.finalize_begin(2, &keys(&people), &[1, 1, 0])
        .expect("begin");
    env.post_scores(&keys(&people[..2]), &[1, 1])
        .expect("two of three");
    assert_error(env.finalize_complete(), code(StakingError::StakesUnscored));
}

#[tokio::test]
async fn error_scores_short_of_total() {
    let (mut env, people) = trained().await;
    env.finalize_begin(5, &keys(&people), &[1, 1, 0])
        .expect("begin");
    env.post_scores(&keys(&people), &[1, 1, 0])
        .expect("all scored");
    assert_error(
        env.finalize_complete(),
        code(StakingError::ScoreTotalMismatch),
    );
}

#[tokio::test]
async fn error_not_begun() {
    let (mut env, _) = trained().await;
    assert_error(
        env.finalize_complete(),
        code(StakingError::TaskNotFinalizing),
    );
}

#[tokio::test]
async fn error_settlement_window_closed() {
    let (mut env, people) = trained().await;
    env.finalize_begin(2, &keys(&people), &[1, 1, 0])
        .expect("begin");
    env.post_scores(&keys(&people), &[1, 1, 0]).expect("scores");
    env.set_time(START_TIME + 11_001);
    assert_error(
        env.finalize_complete(),
        code(StakingError::SettlementWindowClosed),
    );
}

#[tokio::test]
async fn error_finalize_twice() {
    let (mut env, people) = trained().await;
    env.finalize(&keys(&people), &[1, 1, 0]).expect("finalize");
    assert_error(
        env.finalize_complete(),
        code(StakingError::TaskNotFinalizing),
    );
}

#[tokio::test]
async fn error_not_authority() {
    let (mut env, people) = trained().await;
    env.finalize_begin(2, &keys(&people), &[1, 1, 0])
        .expect("begin");
    env.post_scores(&keys(&people), &[1, 1, 0]).expect("scores");
    let impostor = env.wallet(SOL);
    let ix = task_finalize_ix(&impostor.pubkey(), &env.task());
    assert_error(
        env.send(&[ix], &[&impostor]),
        anchor_code::CONSTRAINT_HAS_ONE,
    );
}

#[tokio::test]
async fn unfinished_finalization_expires() {
    let (mut env, people) = trained().await;
    env.finalize_begin(2, &keys(&people), &[1, 1, 0])
        .expect("begin");
    env.set_time(START_TIME + 11_001);
    let caller = people[2].insecure_clone();
    env.expire(&caller).expect("expire");
    assert_eq!(env.task_state().state, TaskState::Expired);
    let rewards = claim_all(&mut env, &people);
    assert_eq!(rewards, vec![POOL / 2, POOL / 2, 0]);
}
