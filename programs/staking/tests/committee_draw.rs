//! `committee_configure` and `committee_draw`: a decryption committee drawn
//! from the stakers by slot-hash sortition, which the organisation can
//! neither choose nor cut short, and without which no round is recorded.

mod common;

use common::*;
use solana_sdk::signature::{Keypair, Signer};
use staking::errors::StakingError;
use staking::instructions::committee_ticket;
use staking::COMMITTEE_DRAW_WINDOW;

const SIZE: u8 = 5;
const THRESHOLD: u8 = 3;
const STAKERS: usize = 8;

/// A task with a 3-of-5 committee and `STAKERS` stakers, past its join deadline.
async fn staked() -> (Env, Vec<Keypair>) {
    let mut env = Env::new().await;
    let mut args = default_args(env.task_id, &env.key_holder.pubkey());
    args.max_participants = 20;
    env.create_task_with(args).expect("task_create");
    configure(&mut env, SIZE, THRESHOLD).expect("committee_configure");
    let mut stakers: Vec<Keypair> = (0..STAKERS).map(|_| env.join(SOL)).collect();
    stakers.sort_by_key(|k| k.pubkey());
    env.set_time(START_TIME + 1_001);
    (env, stakers)
}

fn configure(env: &mut Env, size: u8, threshold: u8) -> Result<(), TransactionError> {
    let authority = env.authority.insecure_clone();
    let ix = committee_configure_ix(&authority.pubkey(), &env.task(), size, threshold);
    env.send(&[ix], &[&authority])
}

/// Anyone (here a fresh wallet) sends a draw batch over `stakers`.
fn draw(env: &mut Env, stakers: &[Pubkey]) -> Result<(), TransactionError> {
    let caller = env.wallet(SOL);
    let ix = committee_draw_ix(&env.task(), stakers);
    env.send(&[ix], &[&caller])
}

fn keys(stakers: &[Keypair]) -> Vec<Pubkey> {
    stakers.iter().map(Signer::pubkey).collect()
}

use anchor_lang::prelude::Pubkey;
use solana_sdk::transaction::TransactionError;

#[tokio::test]
async fn draws_the_lowest_tickets_and_records_them_as_attestors() {
    let (mut env, stakers) = staked().await;
    let all = keys(&stakers);
    draw(&mut env, &all[..3]).expect("first batch");
    assert!(!env.task_state().committee_drawn());
    draw(&mut env, &all[3..]).expect("second batch");

    let task = env.task_state();
    assert!(task.committee_drawn());
    assert_eq!(task.attestor_threshold, THRESHOLD);
    let mut expected = all.clone();
    expected.sort_by_key(|p| committee_ticket(&task.committee_seed, &env.task(), p));
    expected.truncate(usize::from(SIZE));
    assert_eq!(task.attestors, expected);
    assert_ne!(task.committee_seed, [0; 32]);

    // Three members' attestations record a round; the key holder's no longer do.
    let members: Vec<Keypair> = stakers
        .iter()
        .filter(|k| expected[..3].contains(&k.pubkey()))
        .map(Keypair::insecure_clone)
        .collect();
    let people = ascending(&all[..2]);
    let key_holder = env.key_holder.insecure_clone();
    let refused = env.record_round_attested(0, &people, &[&key_holder]);
    assert_ix_error(refused, 1, code(StakingError::AttestationMissing));
    let attestors: Vec<&Keypair> = members.iter().collect();
    env.record_round_attested(0, &people, &attestors)
        .expect("record");
}

#[tokio::test]
async fn no_round_before_the_draw_has_seen_every_stake() {
    let (mut env, stakers) = staked().await;
    let all = keys(&stakers);
    // The organisation stops the draw after the stakes that suit it.
    draw(&mut env, &all[..6]).expect("partial");
    let seated: Vec<Keypair> = stakers
        .iter()
        .filter(|k| env.task_state().attestors.contains(&k.pubkey()))
        .map(Keypair::insecure_clone)
        .collect();
    let attestors: Vec<&Keypair> = seated.iter().collect();
    let refused = env.record_round_attested(0, &ascending(&all[..2]), &attestors);
    assert_ix_error(
        refused,
        attestors.len() as u8,
        code(StakingError::CommitteeNotDrawn),
    );
}

#[tokio::test]
async fn stakes_go_through_once_in_ascending_order_and_only_this_tasks() {
    let (mut env, stakers) = staked().await;
    let all = keys(&stakers);
    draw(&mut env, &all[..2]).expect("batch");
    // Repeated, or out of order: refused.
    assert_error(
        draw(&mut env, &all[1..3]),
        code(StakingError::KeysNotAscending),
    );
    assert_error(
        draw(&mut env, &[all[3], all[2]]),
        code(StakingError::KeysNotAscending),
    );
    // A stake of another task (or no stake at all) is refused.
    let stranger = Keypair::new().pubkey();
    assert!(draw(&mut env, &[stranger]).is_err());
    draw(&mut env, &all[2..]).expect("rest");
    assert_error(
        draw(&mut env, &all[..1]),
        code(StakingError::CommitteeAlreadyDrawn),
    );
}

#[tokio::test]
async fn the_draw_opens_at_the_join_deadline_and_must_begin_within_the_window() {
    let mut env = Env::new().await;
    let mut args = default_args(env.task_id, &env.key_holder.pubkey());
    args.max_participants = 20;
    env.create_task_with(args).expect("task_create");
    configure(&mut env, SIZE, THRESHOLD).expect("configure");
    let stakers: Vec<Keypair> = (0..STAKERS).map(|_| env.join(SOL)).collect();
    let all = ascending(&keys(&stakers));
    assert_error(draw(&mut env, &all), code(StakingError::DrawTooEarly));
    // Waiting for a better slot hash past the window leaves no committee at all.
    env.set_time(START_TIME + 1_000 + COMMITTEE_DRAW_WINDOW + 1);
    assert_error(draw(&mut env, &all), code(StakingError::DrawWindowClosed));
}

#[tokio::test]
async fn stakes_are_locked_once_the_draw_began() {
    let (mut env, stakers) = staked().await;
    draw(&mut env, &keys(&stakers)[..1]).expect("batch");
    let ix = stake_withdraw_ix(&env.task(), &stakers[5].pubkey());
    assert_error(
        env.send(&[ix], &[&stakers[5]]),
        code(StakingError::DrawStarted),
    );
}

#[tokio::test]
async fn the_committee_is_set_once_before_any_stake() {
    let mut env = Env::new().await;
    env.create_task();
    // Below 2, above n, over MAX_ATTESTORS, or no strict majority (two disjoint
    // decrypting sets could each decrypt a different sum of one round).
    for (size, threshold) in [(5, 1), (3, 4), (8, 5), (4, 2), (7, 3)] {
        assert_error(
            configure(&mut env, size, threshold),
            code(StakingError::InvalidCommittee),
        );
    }
    configure(&mut env, 3, 2).expect("configure");
    assert_error(
        configure(&mut env, 5, 3),
        code(StakingError::InvalidCommittee),
    );
    let mut late = Env::new().await;
    late.create_task();
    late.join(SOL);
    assert_error(
        configure(&mut late, 3, 2),
        code(StakingError::InvalidCommittee),
    );
    // Only the authority configures it.
    let stranger = late.wallet(SOL);
    let ix = committee_configure_ix(&stranger.pubkey(), &late.task(), 3, 2);
    assert!(late.send(&[ix], &[&stranger]).is_err());
}

#[tokio::test]
async fn a_task_without_a_committee_has_nothing_to_draw() {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    env.set_time(START_TIME + 1_001);
    assert_error(
        draw(&mut env, &[a.pubkey()]),
        code(StakingError::NoCommittee),
    );
}
