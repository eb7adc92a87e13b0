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
    env.create_task();
    let a = env.join(SOL);
    let b = env.join(SOL);
    let c = env.join(SOL);
    let idle = env.join(SOL);
    env.slash(&c.pubkey(), SOL / 4).expect("slash");
    env.record_round(&[a.pubkey(), b.pubkey(), c.pubkey()])
        .expect("round");
    env.set_time(AFTER_GRACE);
    let caller = env.wallet(SOL);
    let authority_before = env.lamports(&env.authority.pubkey());
    env.expire(&caller).expect("expire");
    assert_eq!(env.task_state().state, TaskState::Expired);
    assert_eq!(env.lamports(&env.authority.pubkey()), authority_before);

    // Pool = funding + slash, split in three as each claims (pool left / contributors
    // left), so the shares differ by at most one lamport and sum to the pool.
    let pool = POOL + SOL / 4;
    let rent = env.stake_rent();
    let mut paid = Vec::new();
    for (who, stake_back) in [(&a, SOL), (&b, SOL), (&c, SOL - SOL / 4), (&idle, SOL)] {
        let before = env.lamports(&who.pubkey());
        env.claim(who).expect("claim");
        let got = env.lamports(&who.pubkey()) + 5_000 - before;
        paid.push(got - stake_back - rent);
    }
    let first = pool / 3;
    let second = (pool - first) / 2;
    assert_eq!(paid, vec![first, second, pool - first - second, 0]);
    let task = env.task_state();
    assert_eq!((task.reward_pool, task.stake_held), (0, 0));
}

#[tokio::test]
async fn without_contributors_authority_gets_its_funding_and_slashes_go_back() {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    let b = env.join(SOL);
    // A round nobody is credited in locks the stakes; then slash both.
    env.record_round(&[]).expect("round");
    env.slash(&a.pubkey(), SOL / 2).expect("slash");
    env.slash(&b.pubkey(), SOL / 4).expect("slash");
    env.set_time(AFTER_GRACE);
    let caller = env.wallet(SOL);
    let authority_before = env.lamports(&env.authority.pubkey());
    env.expire(&caller).expect("expire");
    assert_eq!(
        env.lamports(&env.authority.pubkey()),
        authority_before + POOL,
        "the authority gets back exactly what it funded, no slashed lamport"
    );
    let task = env.task_state();
    assert_eq!((task.refunded, task.reward_pool), (POOL, SOL / 2 + SOL / 4));

    let rent = env.stake_rent();
    for who in [&a, &b] {
        let before = env.lamports(&who.pubkey());
        env.claim(who).expect("claim");
        assert_eq!(env.lamports(&who.pubkey()), before + SOL + rent - 5_000);
    }
    let task = env.task_state();
    assert_eq!((task.reward_pool, task.stake_held), (0, 0));
}

#[tokio::test]
async fn emptied_authority_wallet_cannot_block_expiry() {
    let mut env = Env::new().await;
    let mut args = default_args(env.task_id, &env.key_holder.pubkey());
    args.reward_pool = staking::MIN_REWARD_POOL;
    env.create_task_with(args).expect("task_create");
    let a = env.join(SOL);
    // The authority drains its wallet to nothing (the account disappears).
    let authority = env.authority.insecure_clone();
    let balance = env.lamports(&authority.pubkey());
    let sink = solana_sdk::pubkey::Pubkey::new_unique();
    let ix = solana_sdk::system_instruction::transfer(&authority.pubkey(), &sink, balance - 5_000);
    env.send(&[ix], &[&authority]).expect("drain");
    assert!(env.account(&authority.pubkey()).is_none());

    env.set_time(AFTER_GRACE);
    let caller = env.wallet(SOL);
    env.expire(&caller).expect("expire");
    assert_eq!(env.lamports(&authority.pubkey()), staking::MIN_REWARD_POOL);
    let rent = env.stake_rent();
    let before = env.lamports(&a.pubkey());
    env.claim(&a).expect("claim");
    assert_eq!(env.lamports(&a.pubkey()), before + SOL + rent - 5_000);
}

#[tokio::test]
async fn abandoned_stake_is_recoverable_at_the_bound_fixed_at_creation() {
    let mut env = Env::new().await;
    let mut args = default_args(env.task_id, &env.key_holder.pubkey());
    args.join_deadline = START_TIME + staking::MAX_JOIN_WINDOW;
    args.settle_deadline = args.join_deadline + staking::MAX_SETTLE_WINDOW;
    args.grace_period = staking::MAX_GRACE_PERIOD;
    env.create_task_with(args).expect("task_create");
    let a = env.join(SOL);
    // Training starts (the stake is locked), then the authority disappears.
    env.record_round(&[a.pubkey()]).expect("round");
    let bound = START_TIME
        + staking::MAX_JOIN_WINDOW
        + staking::MAX_SETTLE_WINDOW
        + staking::MAX_GRACE_PERIOD;
    let caller = env.wallet(SOL);
    env.set_time(bound);
    assert_error(env.expire(&caller), code(StakingError::ExpireTooEarly));
    env.set_time(bound + 1);
    env.expire(&caller).expect("expire");
    let rent = env.stake_rent();
    let before = env.lamports(&a.pubkey());
    env.claim(&a).expect("claim");
    assert_eq!(
        env.lamports(&a.pubkey()),
        before + SOL + POOL + rent - 5_000,
        "the only contributor gets its stake and the whole pool"
    );
}

#[tokio::test]
async fn error_expire_too_early() {
    let mut env = Env::new().await;
    env.create_task();
    env.set_time(AFTER_GRACE - 1);
    let caller = env.wallet(SOL);
    assert_error(env.expire(&caller), code(StakingError::ExpireTooEarly));
}

#[tokio::test]
async fn error_pool_sent_to_other_account() {
    let mut env = Env::new().await;
    env.create_task();
    env.set_time(AFTER_GRACE);
    let caller = env.wallet(SOL);
    let ix = task_expire_ix(&caller.pubkey(), &env.task(), &caller.pubkey());
    assert_error(env.send(&[ix], &[&caller]), anchor_code::CONSTRAINT_HAS_ONE);
}

#[tokio::test]
async fn error_after_finalize() {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    env.record_round(&[a.pubkey()]).expect("round");
    env.finalize(&[a.pubkey()], &[1]).expect("finalize");
    env.set_time(AFTER_GRACE);
    let caller = env.wallet(SOL);
    assert_error(env.expire(&caller), code(StakingError::TaskNotOpen));
}
