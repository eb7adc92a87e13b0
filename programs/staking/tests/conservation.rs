//! Conservation: after any sequence of instructions the vault holds exactly
//! its rent-exempt minimum + the pool + the stakes it still owes, and every
//! lamport that left it went to a participant (or, with no contributor, back
//! to the authority on expiry).

mod common;

use common::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signer};

async fn check(env: &mut Env, people: &[Keypair]) {
    let task_key = env.task();
    let account = env.account(&task_key).await.expect("task");
    let rent = env.rent(account.data.len()).await;
    let task = env.task_state().await;
    let mut owed_stakes = 0;
    for person in people {
        if let Some(stake) = env.account(&stake_pda(&task_key, &person.pubkey())).await {
            let stake: staking::state::Stake =
                anchor_lang::AccountDeserialize::try_deserialize(&mut stake.data.as_slice())
                    .expect("stake");
            if !stake.claimed {
                owed_stakes += stake.remaining();
            }
        }
    }
    assert_eq!(task.stake_held, owed_stakes);
    assert_eq!(account.lamports, rent + task.reward_pool + task.stake_held);
}

async fn run(seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut env = Env::new().await;
    env.create_task().await;
    let mut people: Vec<Keypair> = Vec::new();
    let mut staked: Vec<bool> = Vec::new();
    let mut now = START_TIME;
    for _ in 0..25 {
        now += 1;
        env.set_time(now).await;
        let live: Vec<Pubkey> = people
            .iter()
            .zip(&staked)
            .filter(|(_, s)| **s)
            .map(|(p, _)| p.pubkey())
            .collect();
        // Failures are part of the sequence: the invariant must hold either way.
        match rng.gen_range(0..5) {
            0 => {
                let person = env.wallet(10 * SOL).await;
                let amount = rng.gen_range(MIN_STAKE - 10..3 * SOL);
                let ix = stake_deposit_ix(&env.task(), &person.pubkey(), amount);
                let ok = env.send(&[ix], &[&person]).await.is_ok();
                people.push(person);
                staked.push(ok);
            }
            1 if !people.is_empty() => {
                let i = rng.gen_range(0..people.len());
                let ix = stake_withdraw_ix(&env.task(), &people[i].pubkey());
                let person = people[i].insecure_clone();
                if env.send(&[ix], &[&person]).await.is_ok() {
                    staked[i] = false;
                }
            }
            2 if !live.is_empty() => {
                let n = rng.gen_range(1..=live.len());
                let _ = env.record_round(&live[..n]).await;
            }
            3 if !live.is_empty() => {
                let who = live[rng.gen_range(0..live.len())];
                let _ = env.slash(&who, rng.gen_range(1..SOL)).await;
            }
            _ => {}
        }
        check(&mut env, &people).await;
    }

    let live: Vec<Pubkey> = people
        .iter()
        .zip(&staked)
        .filter(|(_, s)| **s)
        .map(|(p, _)| p.pubkey())
        .collect();
    if rng.gen_bool(0.5) {
        let mut scores = Vec::new();
        for key in &live {
            let stake = env.stake_state(key).await;
            scores.push(if stake.rounds_contributed > 0 {
                rng.gen_range(0..100)
            } else {
                0
            });
        }
        let _ = env.finalize(&live, &scores).await;
    } else {
        env.set_time(START_TIME + 20_000).await;
        let caller = env.wallet(SOL).await;
        env.expire(&caller).await.expect("expire");
    }
    check(&mut env, &people).await;
    let settled = env.task_state().await.state != staking::state::TaskState::Open;
    for i in 0..people.len() {
        if staked[i] {
            let person = people[i].insecure_clone();
            let result = env.claim(&person).await;
            assert_eq!(result.is_ok(), settled);
            check(&mut env, &people).await;
        }
    }
    if settled {
        let task = env.task_state().await;
        assert_eq!(task.stake_held, 0);
        if task.contributors > 0 {
            assert_eq!(task.reward_pool, 0, "the whole pool went to participants");
        }
    }
}

#[tokio::test]
async fn vault_balance_matches_pool_and_stakes_after_random_sequences() {
    for seed in 0..4 {
        run(seed).await;
    }
}
