//! `task_expire`: anyone, after deadline + grace; stakes back, pool to contributors.

mod common;

use common::*;
use solana_sdk::signature::Signer;
use staking::errors::StakingError;
use staking::state::TaskState;

const AFTER_GRACE: i64 = START_TIME + 11_001;

#[tokio::test]
async fn expired_pool_is_split_among_contributors() {
    let mut env = Env::new().await;
    env.create_task().await;
    let a = env.join(SOL).await;
    let b = env.join(SOL).await;
    let c = env.join(SOL).await;
    let idle = env.join(SOL).await;
    env.slash(&c.pubkey(), SOL / 4).await.expect("slash");
    env.record_round(&[a.pubkey(), b.pubkey(), c.pubkey()])
        .await
        .expect("round");
    env.set_time(AFTER_GRACE).await;
    let caller = env.wallet(SOL).await;
    let authority_before = env.lamports(&env.authority.pubkey()).await;
    env.expire(&caller).await.expect("expire");
    assert_eq!(env.task_state().await.state, TaskState::Expired);
    assert_eq!(
        env.lamports(&env.authority.pubkey()).await,
        authority_before
    );

    // Pool = funding + slash, split in three as each claims (pool left / contributors
    // left), so the shares differ by at most one lamport and sum to the pool.
    let pool = POOL + SOL / 4;
    let mut paid = Vec::new();
    for (who, stake_back) in [(&a, SOL), (&b, SOL), (&c, SOL - SOL / 4), (&idle, SOL)] {
        let before = env.lamports(&who.pubkey()).await;
        env.claim(who).await.expect("claim");
        let got = env.lamports(&who.pubkey()).await + 5_000 - before;
        paid.push(got - stake_back);
    }
    let first = pool / 3;
    let second = (pool - first) / 2;
    assert_eq!(paid, vec![first, second, pool - first - second, 0]);
    let task = env.task_state().await;
    assert_eq!((task.reward_pool, task.stake_held), (0, 0));
}

#[tokio::test]
async fn pool_returns_to_authority_without_contributors() {
    let mut env = Env::new().await;
    env.create_task().await;
    let a = env.join(SOL).await;
    env.set_time(AFTER_GRACE).await;
    let caller = env.wallet(SOL).await;
    let authority_before = env.lamports(&env.authority.pubkey()).await;
    env.expire(&caller).await.expect("expire");
    assert_eq!(
        env.lamports(&env.authority.pubkey()).await,
        authority_before + POOL
    );

    let before = env.lamports(&a.pubkey()).await;
    env.claim(&a).await.expect("claim");
    assert_eq!(env.lamports(&a.pubkey()).await, before + SOL - 5_000);
}

#[tokio::test]
async fn error_expire_too_early() {
    let mut env = Env::new().await;
    env.create_task().await;
    env.set_time(AFTER_GRACE - 1).await;
    let caller = env.wallet(SOL).await;
    assert_error(
        env.expire(&caller).await,
        code(StakingError::ExpireTooEarly),
    );
}

#[tokio::test]
async fn error_pool_sent_to_other_account() {
    let mut env = Env::new().await;
    env.create_task().await;
    env.set_time(AFTER_GRACE).await;
    let caller = env.wallet(SOL).await;
    let ix = task_expire_ix(&caller.pubkey(), &env.task(), &caller.pubkey());
    assert_error(
        env.send(&[ix], &[&caller]).await,
        anchor_code::CONSTRAINT_HAS_ONE,
    );
}

#[tokio::test]
async fn error_after_finalize() {
    let mut env = Env::new().await;
    env.create_task().await;
    let a = env.join(SOL).await;
    env.record_round(&[a.pubkey()]).await.expect("round");
    env.finalize(&[a.pubkey()], &[1]).await.expect("finalize");
    env.set_time(AFTER_GRACE).await;
    let caller = env.wallet(SOL).await;
    assert_error(env.expire(&caller).await, code(StakingError::TaskNotOpen));
}
