//! `task_finalize`: shares follow scores and always sum to the pool.

mod common;

use common::*;
use rand::{Rng, SeedableRng};
use solana_sdk::instruction::AccountMeta;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signer};
use staking::errors::StakingError;
use staking::instructions::split_pool;
use staking::state::TaskState;

/// A task with three stakes; the first two contributed to one round.
async fn trained() -> (Env, Vec<Keypair>) {
    let mut env = Env::new().await;
    env.create_task().await;
    let mut people = Vec::new();
    for _ in 0..3 {
        people.push(env.join(SOL).await);
    }
    env.record_round(&[people[0].pubkey(), people[1].pubkey()])
        .await
        .expect("round");
    (env, people)
}

fn keys(people: &[Keypair]) -> Vec<Pubkey> {
    people.iter().map(|p| p.pubkey()).collect()
}

#[tokio::test]
async fn shares_follow_scores_and_sum_to_pool() {
    let (mut env, people) = trained().await;
    env.finalize(&keys(&people), &[3, 1, 0])
        .await
        .expect("finalize");
    let task = env.task_state().await;
    assert_eq!(task.state, TaskState::Finalized);
    assert_eq!(task.total_score, 4);
    assert_eq!(task.model_cid, CID);
    let a = env.stake_state(&people[0].pubkey()).await;
    let b = env.stake_state(&people[1].pubkey()).await;
    let c = env.stake_state(&people[2].pubkey()).await;
    assert_eq!(
        (a.reward_share, b.reward_share, c.reward_share),
        (POOL * 3 / 4, POOL / 4, 0)
    );
    assert_eq!(a.score, 3);
}

#[tokio::test]
async fn all_zero_scores_split_pool_among_contributors() {
    let (mut env, people) = trained().await;
    env.finalize(&keys(&people), &[0, 0, 0])
        .await
        .expect("finalize");
    let a = env.stake_state(&people[0].pubkey()).await;
    let b = env.stake_state(&people[1].pubkey()).await;
    let c = env.stake_state(&people[2].pubkey()).await;
    assert_eq!(
        (a.reward_share, b.reward_share, c.reward_share),
        (POOL / 2, POOL / 2, 0)
    );
}

#[test]
fn split_pool_never_exceeds_pool_and_gives_remainder_to_top_score() {
    assert_eq!(split_pool(10, &[1, 1, 1]).expect("split"), vec![4, 3, 3]);
    assert_eq!(split_pool(11, &[1, 2, 2]).expect("split"), vec![2, 5, 4]);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    for _ in 0..2_000 {
        let pool = rng.gen_range(0..u64::MAX / 2);
        let n = rng.gen_range(1..=12);
        let weights: Vec<u64> = (0..n).map(|_| rng.gen_range(0..u64::MAX / 16)).collect();
        if weights.iter().all(|w| *w == 0) {
            continue;
        }
        let shares = split_pool(pool, &weights).expect("split");
        assert_eq!(
            shares.iter().map(|s| u128::from(*s)).sum::<u128>(),
            u128::from(pool)
        );
        for (share, weight) in shares.iter().zip(&weights) {
            if *weight == 0 {
                assert_eq!(*share, 0);
            }
        }
    }
    assert!(split_pool(10, &[0, 0]).is_err());
}

#[tokio::test]
async fn error_score_for_non_contributor() {
    let (mut env, people) = trained().await;
    assert_error(
        env.finalize(&keys(&people), &[1, 1, 1]).await,
        code(StakingError::ScoreForNonContributor),
    );
}

#[tokio::test]
async fn error_stake_left_out() {
    let (mut env, people) = trained().await;
    assert_error(
        env.finalize(&keys(&people[..2]), &[1, 1]).await,
        code(StakingError::StakeCountMismatch),
    );
}

#[tokio::test]
async fn error_duplicate_stake() {
    let (mut env, people) = trained().await;
    let dup = [people[0].pubkey(), people[0].pubkey(), people[1].pubkey()];
    assert_error(
        env.finalize(&dup, &[1, 1, 1]).await,
        code(StakingError::DuplicateStake),
    );
}

#[tokio::test]
async fn error_no_contributors() {
    let mut env = Env::new().await;
    env.create_task().await;
    let a = env.join(SOL).await;
    assert_error(
        env.finalize(&[a.pubkey()], &[0]).await,
        code(StakingError::NoContributors),
    );
}

#[tokio::test]
async fn error_settlement_window_closed() {
    let (mut env, people) = trained().await;
    env.set_time(START_TIME + 11_001).await;
    assert_error(
        env.finalize(&keys(&people), &[1, 1, 0]).await,
        code(StakingError::SettlementWindowClosed),
    );
}

#[tokio::test]
async fn error_finalize_twice() {
    let (mut env, people) = trained().await;
    env.finalize(&keys(&people), &[1, 1, 0])
        .await
        .expect("finalize");
    assert_error(
        env.finalize(&keys(&people), &[2, 1, 0]).await,
        code(StakingError::TaskNotOpen),
    );
}

#[tokio::test]
async fn error_not_authority() {
    let (mut env, people) = trained().await;
    let impostor = env.wallet(SOL).await;
    let ix = task_finalize_ix(&impostor.pubkey(), &env.task(), &keys(&people), &[1, 1, 0]);
    assert_error(
        env.send(&[ix], &[&impostor]).await,
        anchor_code::CONSTRAINT_HAS_ONE,
    );
}

#[tokio::test]
async fn error_stake_of_other_task() {
    let (mut env, people) = trained().await;
    let first_task = env.task();
    env.task_id += 1;
    env.create_task().await;
    let ix = stake_deposit_ix(&env.task(), &people[2].pubkey(), SOL);
    env.send(&[ix], &[&people[2]])
        .await
        .expect("stake on second task");
    let other = stake_pda(&env.task(), &people[2].pubkey());

    let mut ix = task_finalize_ix(
        &env.authority.pubkey(),
        &first_task,
        &keys(&people),
        &[1, 1, 0],
    );
    ix.accounts[4] = AccountMeta::new(other, false);
    let authority = env.authority.insecure_clone();
    assert_error(
        env.send(&[ix], &[&authority]).await,
        code(StakingError::StakeMismatch),
    );
}
