//! `task_create`: parameters validated, pool funded, PDA checks.

mod common;

use common::*;
use solana_sdk::instruction::AccountMeta;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signer};
use staking::errors::StakingError;
use staking::state::TaskState;
use staking::SEED_TASK;

async fn create_error(
    mutate: impl FnOnce(&mut staking::instructions::TaskCreateArgs),
    expected: StakingError,
) {
    let mut env = Env::new().await;
    let mut args = default_args(env.task_id, &env.key_holder.pubkey());
    mutate(&mut args);
    assert_error(env.create_task_with(args), code(expected));
}

#[tokio::test]
async fn creates_task_and_funds_pool() {
    let mut env = Env::new().await;
    let before = env.lamports(&env.authority.pubkey());
    env.create_task();

    let task = env.task_state();
    assert_eq!(task.authority, env.authority.pubkey());
    assert_eq!(task.key_holder, env.key_holder.pubkey());
    assert_eq!(task.reward_pool, POOL);
    assert_eq!(task.reward_funded, POOL);
    assert_eq!(task.stake_held, 0);
    assert_eq!(task.state, TaskState::Open);
    assert_eq!(task.created_at, START_TIME);
    assert_eq!(task.template_cid, CID);

    let task_key = env.task();
    let account = env.account(&task_key).expect("task");
    let rent = env.rent(account.data.len());
    assert_eq!(account.lamports, rent + POOL);
    let after = env.lamports(&env.authority.pubkey());
    // One signature at the default 5000 lamports per signature.
    assert_eq!(before - after, POOL + rent + 5_000);
}

#[tokio::test]
async fn error_key_holder_is_authority() {
    let mut env = Env::new().await;
    let mut args = default_args(env.task_id, &env.key_holder.pubkey());
    args.key_holder = env.authority.pubkey();
    assert_error(
        env.create_task_with(args),
        code(StakingError::KeyHolderIsAuthority),
    );
}

#[tokio::test]
async fn error_empty_reward_pool() {
    create_error(|a| a.reward_pool = 0, StakingError::EmptyRewardPool).await;
}

#[tokio::test]
async fn error_zero_min_stake() {
    create_error(|a| a.min_stake = 0, StakingError::ZeroMinStake).await;
}

#[tokio::test]
async fn error_invalid_max_participants() {
    create_error(
        |a| a.max_participants = 0,
        StakingError::InvalidMaxParticipants,
    )
    .await;
    create_error(
        |a| a.max_participants = staking::MAX_PARTICIPANTS + 1,
        StakingError::InvalidMaxParticipants,
    )
    .await;
}

#[tokio::test]
async fn error_zero_rounds_planned() {
    create_error(|a| a.rounds_planned = 0, StakingError::ZeroRoundsPlanned).await;
}

#[tokio::test]
async fn error_deadlines_not_ordered() {
    create_error(
        |a| a.settle_deadline = a.join_deadline,
        StakingError::DeadlinesNotOrdered,
    )
    .await;
    create_error(
        |a| a.join_deadline = START_TIME,
        StakingError::DeadlinesNotOrdered,
    )
    .await;
}

#[tokio::test]
async fn error_negative_grace_period() {
    create_error(|a| a.grace_period = -1, StakingError::NegativeGracePeriod).await;
}

#[tokio::test]
async fn error_slash_bps_too_high() {
    create_error(|a| a.max_slash_bps = 10_001, StakingError::SlashBpsTooHigh).await;
}

#[tokio::test]
async fn error_cid_empty() {
    create_error(|a| a.template_cid = String::new(), StakingError::CidEmpty).await;
}

#[tokio::test]
async fn error_cid_too_long() {
    create_error(
        |a| a.he_context_cid = "b".repeat(staking::MAX_CID_LEN + 1),
        StakingError::CidTooLong,
    )
    .await;
}

#[tokio::test]
async fn error_authority_not_signer() {
    let mut env = Env::new().await;
    let payer = env.wallet(SOL);
    let mut ix = task_create_ix(
        &env.authority.pubkey(),
        default_args(env.task_id, &env.key_holder.pubkey()),
    );
    ix.accounts[0].is_signer = false;
    assert_error(env.send(&[ix], &[&payer]), anchor_code::ACCOUNT_NOT_SIGNER);
}

#[tokio::test]
async fn error_reinitialization() {
    let mut env = Env::new().await;
    env.create_task();
    let mut args = default_args(env.task_id, &env.key_holder.pubkey());
    args.reward_pool = 1;
    assert_error(
        env.create_task_with(args),
        anchor_code::SYSTEM_ACCOUNT_ALREADY_IN_USE,
    );
    assert_eq!(env.task_state().reward_pool, POOL);
}

#[tokio::test]
async fn error_system_program_substituted() {
    let mut env = Env::new().await;
    let mut ix = task_create_ix(
        &env.authority.pubkey(),
        default_args(env.task_id, &env.key_holder.pubkey()),
    );
    ix.accounts[2] = AccountMeta::new_readonly(staking::ID, false);
    let authority = env.authority.insecure_clone();
    assert_error(
        env.send(&[ix], &[&authority]),
        anchor_code::INVALID_PROGRAM_ID,
    );
}

#[tokio::test]
async fn error_non_canonical_bump() {
    let mut env = Env::new().await;
    let authority = env.authority.pubkey();
    let id = env.task_id.to_le_bytes();
    let (_, canonical) =
        Pubkey::find_program_address(&[SEED_TASK, authority.as_ref(), &id], &staking::ID);
    let other = (0..canonical)
        .rev()
        .find_map(|bump| {
            Pubkey::create_program_address(
                &[SEED_TASK, authority.as_ref(), &id, &[bump]],
                &staking::ID,
            )
            .ok()
        })
        .expect("a second bump");
    let mut ix = task_create_ix(
        &authority,
        default_args(env.task_id, &env.key_holder.pubkey()),
    );
    ix.accounts[1] = AccountMeta::new(other, false);
    let signer: Keypair = env.authority.insecure_clone();
    assert_error(env.send(&[ix], &[&signer]), anchor_code::CONSTRAINT_SEEDS);
}

#[tokio::test]
async fn error_reward_pool_below_floor() {
    create_error(
        |a| a.reward_pool = staking::MIN_REWARD_POOL - 1,
        StakingError::RewardPoolBelowFloor,
    )
    .await;
}

#[tokio::test]
async fn error_join_window_too_long() {
    create_error(
        |a| {
            a.join_deadline = START_TIME + staking::MAX_JOIN_WINDOW + 1;
            a.settle_deadline = a.join_deadline + 1;
        },
        StakingError::JoinWindowTooLong,
    )
    .await;
}

#[tokio::test]
async fn error_settle_window_too_long() {
    create_error(
        |a| a.settle_deadline = a.join_deadline + staking::MAX_SETTLE_WINDOW + 1,
        StakingError::SettleWindowTooLong,
    )
    .await;
}

#[tokio::test]
async fn error_grace_period_too_long() {
    create_error(
        |a| a.grace_period = staking::MAX_GRACE_PERIOD + 1,
        StakingError::GracePeriodTooLong,
    )
    .await;
}

#[tokio::test]
async fn accepts_the_longest_windows_and_smallest_pool() {
    let mut env = Env::new().await;
    let mut args = default_args(env.task_id, &env.key_holder.pubkey());
    args.reward_pool = staking::MIN_REWARD_POOL;
    args.join_deadline = START_TIME + staking::MAX_JOIN_WINDOW;
    args.settle_deadline = args.join_deadline + staking::MAX_SETTLE_WINDOW;
    args.grace_period = staking::MAX_GRACE_PERIOD;
    env.create_task_with(args).expect("task_create");
    let task = env.task_state();
    assert_eq!(
        task.settle_window_end().expect("window"),
        START_TIME
            + staking::MAX_JOIN_WINDOW
            + staking::MAX_SETTLE_WINDOW
            + staking::MAX_GRACE_PERIOD
    );
}
