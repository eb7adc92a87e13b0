//! `round_credit`: batches credit real stakes of this task, each once per
//! round, in ascending key order, never more than the round announced, and
//! must end on the contributors the key holder attested.

mod common;

use common::*;
use solana_sdk::instruction::AccountMeta;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::transaction::TransactionError;
use staking::errors::StakingError;

/// A task with `n` stakes (returned in ascending key order) and round 0
/// recorded, attested for the first `announced` of them.
async fn opened(n: usize, announced: usize) -> (Env, Vec<Pubkey>) {
    let mut env = Env::new().await;
    let mut args = default_args(env.task_id, &env.key_holder.pubkey());
    args.max_participants = staking::MAX_PARTICIPANTS;
    env.create_task_with(args).expect("task_create");
    let mut people = Vec::new();
    for _ in 0..n {
        people.push(env.join(SOL).pubkey());
    }
    let people = ascending(&people);
    let key_holder = env.key_holder.insecure_clone();
    env.record_round_attested(0, &people[..announced], &[&key_holder])
        .expect("round 0");
    (env, people)
}

fn credit(env: &mut Env, index: u32, who: &[Pubkey]) -> Result<(), TransactionError> {
    let authority = env.authority.insecure_clone();
    let ix = round_credit_ix(&authority.pubkey(), &env.task(), index, who);
    env.send(&[ix], &[&authority])
}

#[tokio::test]
async fn ascending_batches_credit_everyone_once() {
    let (mut env, people) = opened(5, 5).await;
    credit(&mut env, 0, &people[..2]).expect("b1");
    credit(&mut env, 0, &people[2..3]).expect("b2");
    credit(&mut env, 0, &people[3..]).expect("b3");
    let task = env.task_state();
    assert_eq!((task.contributors, task.credits_pending), (5, 0));
    assert_eq!(env.round_state(0).credited, 5);
    for who in &people {
        let stake = env.stake_state(who);
        assert_eq!((stake.rounds_contributed, stake.last_round), (1, 1));
    }
}

#[tokio::test]
async fn a_full_batch_fits_one_transaction() {
    // 28 stakes per round_credit batch stay under the 1232-byte packet.
    let (mut env, people) = opened(28, 28).await;
    let authority = env.authority.pubkey();
    let ix = round_credit_ix(&authority, &env.task(), 0, &people);
    assert!(tx_size(&[ix], &authority) <= PACKET);
    credit(&mut env, 0, &people).expect("one batch");
    assert_eq!(env.task_state().contributors, 28);
}

#[tokio::test]
async fn error_double_credit() {
    let (mut env, people) = opened(3, 3).await;
    credit(&mut env, 0, &[people[0]]).expect("first");
    assert_error(
        credit(&mut env, 0, &[people[1], people[0]]),
        code(StakingError::AlreadyCredited),
    );
}

#[tokio::test]
async fn error_double_credit_in_one_batch() {
    let (mut env, people) = opened(3, 3).await;
    assert_error(
        credit(&mut env, 0, &[people[0], people[0]]),
        code(StakingError::AlreadyCredited),
    );
}

#[tokio::test]
async fn error_credits_exceeded() {
    let (mut env, people) = opened(3, 2).await;
    assert_error(
        credit(&mut env, 0, &people),
        code(StakingError::CreditsExceeded),
    );
}

#[tokio::test]
async fn error_empty_batch() {
    let (mut env, _) = opened(1, 1).await;
    assert_error(credit(&mut env, 0, &[]), code(StakingError::EmptyBatch));
}

#[tokio::test]
async fn error_credit_for_older_round() {
    let (mut env, people) = opened(2, 1).await;
    credit(&mut env, 0, &[people[0]]).expect("round 0");
    env.record_round(&[people[0]]).expect("round 1");
    assert_error(
        credit(&mut env, 0, &[people[1]]),
        code(StakingError::RoundOutOfOrder),
    );
}

#[tokio::test]
async fn error_not_authority() {
    let (mut env, people) = opened(1, 1).await;
    let impostor = env.wallet(SOL);
    let ix = round_credit_ix(&impostor.pubkey(), &env.task(), 0, &people);
    assert_error(
        env.send(&[ix], &[&impostor]),
        anchor_code::CONSTRAINT_HAS_ONE,
    );
}

/// The same authority opens a second task, where `who` stakes too.
fn second_task(env: &mut Env, who: &Keypair) -> Pubkey {
    let first = env.task();
    env.task_id += 1;
    env.create_task();
    let second = env.task();
    let ix = stake_deposit_ix(&second, &who.pubkey(), SOL);
    env.send(&[ix], &[who]).expect("stake on second task");
    env.task_id -= 1;
    assert_eq!(env.task(), first);
    second
}

#[tokio::test]
async fn error_stake_of_other_task() {
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    let authority = env.authority.insecure_clone();
    let key_holder = env.key_holder.insecure_clone();
    env.record_round_attested(0, &[a.pubkey()], &[&key_holder])
        .expect("round 0");
    let second = second_task(&mut env, &a);
    let mut ix = round_credit_ix(&authority.pubkey(), &env.task(), 0, &[a.pubkey()]);
    ix.accounts[3] = AccountMeta::new(stake_pda(&second, &a.pubkey()), false);
    assert_error(
        env.send(&[ix], &[&authority]),
        code(StakingError::StakeMismatch),
    );
}

#[tokio::test]
async fn error_batch_for_another_task() {
    // A round record of another task cannot stand in for this task's round.
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    let authority = env.authority.insecure_clone();
    let key_holder = env.key_holder.insecure_clone();
    env.record_round_attested(0, &[a.pubkey()], &[&key_holder])
        .expect("round 0");
    let second = second_task(&mut env, &a);
    let digest = contributors_digest(&[a.pubkey()]);
    let message = staking::attestation::round_message(&second, 0, &MANIFEST_DIGEST, 1, &digest);
    let attestation = ed25519_ix(&key_holder, &message);
    let ix = round_record_ix(&authority.pubkey(), &second, 0, 1, digest);
    env.send(&[attestation, ix], &[&authority])
        .expect("round 0 there");
    let mut ix = round_credit_ix(&authority.pubkey(), &env.task(), 0, &[a.pubkey()]);
    ix.accounts[2] = AccountMeta::new(round_pda(&second, 0), false);
    assert_error(
        env.send(&[ix], &[&authority]),
        anchor_code::CONSTRAINT_SEEDS,
    );
}

#[tokio::test]
async fn error_task_passed_as_stake() {
    let (mut env, people) = opened(1, 1).await;
    let authority = env.authority.insecure_clone();
    let mut ix = round_credit_ix(&authority.pubkey(), &env.task(), 0, &people);
    ix.accounts[3] = AccountMeta::new(env.task(), false);
    assert_error(
        env.send(&[ix], &[&authority]),
        anchor_code::ACCOUNT_DISCRIMINATOR_MISMATCH,
    );
}

#[tokio::test]
async fn error_stake_not_writable() {
    let (mut env, people) = opened(1, 1).await;
    let authority = env.authority.insecure_clone();
    let mut ix = round_credit_ix(&authority.pubkey(), &env.task(), 0, &people);
    ix.accounts[3].is_writable = false;
    assert_error(
        env.send(&[ix], &[&authority]),
        code(StakingError::StakeNotWritable),
    );
}

#[tokio::test]
async fn error_keys_not_ascending_in_a_batch() {
    let (mut env, people) = opened(3, 3).await;
    assert_error(
        credit(&mut env, 0, &[people[1], people[0]]),
        code(StakingError::KeysNotAscending),
    );
}

#[tokio::test]
async fn error_keys_not_ascending_across_batches() {
    let (mut env, people) = opened(3, 3).await;
    credit(&mut env, 0, &[people[1]]).expect("b1");
    assert_error(
        credit(&mut env, 0, &[people[0]]),
        code(StakingError::KeysNotAscending),
    );
}

#[tokio::test]
async fn error_last_batch_off_the_attested_digest() {
    // Attested: the two lowest keys. The authority credits the lowest and,
    // instead of the second, the highest (its sybil): refused, and the
    // sybil's stake stays uncredited.
    let (mut env, people) = opened(3, 2).await;
    credit(&mut env, 0, &people[..1]).expect("b1");
    assert_error(
        credit(&mut env, 0, &[people[2]]),
        code(StakingError::ContributorsDigestMismatch),
    );
    assert_eq!(env.stake_state(&people[2]).rounds_contributed, 0);
    credit(&mut env, 0, &[people[1]]).expect("the attested one");
    assert_eq!(env.task_state().credits_pending, 0);
}

#[tokio::test]
async fn a_sybil_credited_in_an_unfinished_round_gets_nothing() {
    // Round 0 is fully credited to `a`. Round 1 is attested for `a` and `b`;
    // the authority credits its sybil as a first, non-final batch (no batch
    // but the last can be checked against the digest), then leaves the round
    // unfinished and lets the task expire. The unfinished round counts for
    // nobody: the sybil gets its stake back and no reward.
    let mut env = Env::new().await;
    env.create_task();
    let a = env.join(SOL);
    let b = env.join(SOL);
    let sybil = env.join(SOL);
    env.record_round(&[a.pubkey()]).expect("round 0");
    let key_holder = env.key_holder.insecure_clone();
    let attested = ascending(&[a.pubkey(), b.pubkey()]);
    env.record_round_attested(1, &attested, &[&key_holder])
        .expect("round 1");
    credit(&mut env, 1, &[sybil.pubkey()]).expect("a non-final batch is not checked yet");
    assert_eq!(env.stake_state(&sybil.pubkey()).rounds_contributed, 1);

    env.set_time(START_TIME + 11_001);
    let caller = env.wallet(SOL);
    env.expire(&caller).expect("expire");
    assert_eq!(env.task_state().contributors, 1);
    assert_eq!(env.claim_reward(&sybil).expect("sybil claims"), 0);
    assert_eq!(env.claim_reward(&b).expect("b claims"), 0);
    assert_eq!(env.claim_reward(&a).expect("a claims"), POOL);
}
