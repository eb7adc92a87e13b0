//! Money invariants under a malicious authority: seeded random sequences in
//! which the authority and its sybil wallets send any instruction, in any
//! order, with any arguments, next to honest participants.
//!
//! After every step: the vault holds exactly its rent-exempt minimum + the
//! pool + the stakes it still owes (conservation), and the authority's wallet
//! never holds more than it started with, minus what it funded, plus what it
//! funded and was not paid out (refund cap). At the end anyone can expire the
//! task, every open stake is claimable, and no honest participant lost more
//! than the task's slash cap of its deposit (plus its stake account's rent).

mod common;

use std::time::Instant;

use common::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use solana_program_test::BanksClientError;
use solana_sdk::instruction::{AccountMeta, Instruction};
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::transaction::Transaction;
use staking::state::{Stake, Task, TaskState};

/// Sequences per run: 100k in release (`cargo test --release`), fewer in debug.
const SEQUENCES: u64 = if cfg!(debug_assertions) { 100 } else { 100_000 };
/// Random steps per sequence, before the final expiry and claims.
const STEPS: usize = 24;
const HONEST: usize = 3;
const SYBILS: usize = 2;

/// Everyone who can act, with the authority first.
struct Actors {
    authority: Keypair,
    honest: Vec<Keypair>,
    sybils: Vec<Keypair>,
}

impl Actors {
    fn all(&self) -> Vec<&Keypair> {
        std::iter::once(&self.authority)
            .chain(&self.honest)
            .chain(&self.sybils)
            .collect()
    }

    fn pick(&self, rng: &mut ChaCha8Rng) -> Keypair {
        self.all().choose(rng).expect("actors").insecure_clone()
    }
}

/// Sends with the genesis payer paying the fee, so an actor's balance moves
/// only through the program.
async fn send(
    env: &mut Env,
    instructions: &[Instruction],
    signers: &[&Keypair],
) -> Result<(), BanksClientError> {
    let payer = env.ctx.payer.insecure_clone();
    let mut all: Vec<&Keypair> = vec![&payer];
    all.extend(signers.iter().filter(|s| s.pubkey() != payer.pubkey()));
    let blockhash = env
        .ctx
        .banks_client
        .get_latest_blockhash()
        .await
        .expect("blockhash");
    let tx =
        Transaction::new_signed_with_payer(instructions, Some(&payer.pubkey()), &all, blockhash);
    env.ctx.banks_client.process_transaction(tx).await
}

async fn read_task(env: &mut Env) -> Option<(Task, u64, usize)> {
    let account = env.account(&env.task()).await?;
    let task = anchor_lang::AccountDeserialize::try_deserialize(&mut account.data.as_slice())
        .expect("task decodes");
    Some((task, account.lamports, account.data.len()))
}

async fn read_stake(env: &mut Env, who: &Pubkey) -> Option<Stake> {
    let account = env.account(&stake_pda(&env.task(), who)).await?;
    Some(
        anchor_lang::AccountDeserialize::try_deserialize(&mut account.data.as_slice())
            .expect("stake decodes"),
    )
}

/// Conservation and the refund cap, checked from balances, not from the
/// program's own counters alone.
async fn check(env: &mut Env, actors: &Actors, authority_start: u64, funded: u64) {
    let authority_now = env.lamports(&actors.authority.pubkey()).await;
    let Some((task, lamports, len)) = read_task(env).await else {
        // Cancelled: the authority got back at most its funding and the rent.
        assert!(
            authority_now <= authority_start,
            "cancel paid the authority"
        );
        return;
    };
    let mut owed = 0;
    for who in actors.all() {
        if let Some(stake) = read_stake(env, &who.pubkey()).await {
            if !stake.claimed {
                owed += stake.remaining();
            }
        }
    }
    assert_eq!(task.stake_held, owed, "stake ledger");
    let rent = env.rent(len).await;
    assert_eq!(lamports, rent + task.reward_pool + task.stake_held, "vault");
    let refundable = funded.saturating_sub(task.reward_paid);
    assert!(
        authority_now + funded <= authority_start + refundable,
        "authority holds {authority_now}, started with {authority_start}, \
         funded {funded}, refundable {refundable}"
    );
}

fn random_contributors(rng: &mut ChaCha8Rng, actors: &Actors) -> Vec<Pubkey> {
    let mut keys: Vec<Pubkey> = actors
        .all()
        .iter()
        .filter(|_| rng.gen_bool(0.6))
        .map(|k| k.pubkey())
        .collect();
    if rng.gen_bool(0.05) && !keys.is_empty() {
        keys.push(keys[0]);
    }
    keys.shuffle(rng);
    keys
}

/// One malicious or honest action with random arguments; failures are fine.
async fn step(env: &mut Env, rng: &mut ChaCha8Rng, actors: &Actors, task: &mut TaskClock) {
    let task_key = env.task();
    let authority = actors.authority.insecure_clone();
    let result = match rng.gen_range(0..16) {
        0 | 1 => {
            let who = actors.pick(rng);
            let amount = rng.gen_range(0..3 * SOL);
            let ix = stake_deposit_ix(&task_key, &who.pubkey(), amount);
            send(env, &[ix], &[&who]).await
        }
        2 => {
            let who = actors.pick(rng);
            let mut ix = stake_withdraw_ix(&task_key, &who.pubkey());
            if rng.gen_bool(0.3) {
                // Withdraw someone else's stake into the signer's wallet.
                let victim = actors.pick(rng).pubkey();
                ix.accounts[2] = AccountMeta::new(stake_pda(&task_key, &victim), false);
            }
            send(env, &[ix], &[&who]).await
        }
        3 => {
            let index = match read_task(env).await {
                Some((t, ..)) if rng.gen_bool(0.9) => t.rounds_recorded,
                _ => rng.gen_range(0..4),
            };
            let count = rng.gen_range(0..=actors.all().len() as u32 + 1);
            let ix = round_record_ix(&authority.pubkey(), &task_key, index, count);
            send(env, &[ix], &[&authority]).await
        }
        10 | 11 => {
            let index = match read_task(env).await {
                Some((t, ..)) if rng.gen_bool(0.9) => t.rounds_recorded.saturating_sub(1),
                _ => rng.gen_range(0..4),
            };
            let contributors = random_contributors(rng, actors);
            let ix = round_credit_ix(&authority.pubkey(), &task_key, index, &contributors);
            send(env, &[ix], &[&authority]).await
        }
        4 => {
            let who = actors.pick(rng).pubkey();
            let amount = rng.gen_range(0..2 * SOL);
            let ix = participant_slash_ix(&authority.pubkey(), &task_key, &who, amount);
            send(env, &[ix], &[&authority]).await
        }
        5 => {
            let total = match rng.gen_range(0..3) {
                0 => 0,
                1 => u64::MAX / 2,
                _ => rng.gen_range(0..400),
            };
            let ix = task_finalize_begin_ix(&authority.pubkey(), &task_key, total);
            send(env, &[ix], &[&authority]).await
        }
        12 if rng.gen_bool(0.5) => {
            // The batch that makes the totals match: every unscored stake,
            // the missing score on the first contributor among them.
            let (left, mut who, mut scores) = match read_task(env).await {
                Some((t, ..)) => (t.total_score.saturating_sub(t.score_posted), vec![], vec![]),
                None => (0, vec![], vec![]),
            };
            let mut left = left;
            for key in actors.all().iter().map(|k| k.pubkey()) {
                if let Some(stake) = read_stake(env, &key).await {
                    if !stake.scored && !stake.claimed {
                        who.push(key);
                        let score = if stake.rounds_contributed > 0 {
                            left
                        } else {
                            0
                        };
                        left -= score;
                        scores.push(score);
                    }
                }
            }
            let ix = scores_post_ix(&authority.pubkey(), &task_key, &who, &scores);
            send(env, &[ix], &[&authority]).await
        }
        12 | 13 => {
            let mut who = Vec::new();
            for key in actors.all().iter().map(|k| k.pubkey()) {
                if read_stake(env, &key).await.is_some() && rng.gen_bool(0.7) || rng.gen_bool(0.05)
                {
                    who.push(key);
                }
            }
            if rng.gen_bool(0.05) && !who.is_empty() {
                who.push(who[0]);
            }
            let sybils: Vec<Pubkey> = actors.sybils.iter().map(|k| k.pubkey()).collect();
            let scores: Vec<u64> = who
                .iter()
                .map(|k| match rng.gen_range(0..3) {
                    0 if sybils.contains(k) => u64::MAX / 4,
                    0 => 0,
                    _ => rng.gen_range(0..100),
                })
                .collect();
            let ix = scores_post_ix(&authority.pubkey(), &task_key, &who, &scores);
            send(env, &[ix], &[&authority]).await
        }
        14 => {
            let ix = task_finalize_ix(&authority.pubkey(), &task_key);
            send(env, &[ix], &[&authority]).await
        }
        6 => {
            let caller = actors.pick(rng);
            let refund_to = if rng.gen_bool(0.8) {
                authority.pubkey()
            } else {
                actors.pick(rng).pubkey()
            };
            let ix = task_expire_ix(&caller.pubkey(), &task_key, &refund_to);
            send(env, &[ix], &[&caller]).await
        }
        7 => {
            let ix = task_cancel_ix(&authority.pubkey(), &task_key);
            send(env, &[ix], &[&authority]).await
        }
        8 => {
            let who = actors.pick(rng);
            let mut ix = reward_claim_ix(&task_key, &who.pubkey());
            if rng.gen_bool(0.3) {
                // Claim someone else's stake into the signer's wallet.
                let victim = actors.pick(rng).pubkey();
                ix.accounts[2] = AccountMeta::new(stake_pda(&task_key, &victim), false);
            }
            send(env, &[ix], &[&who]).await
        }
        _ => {
            task.advance(env, rng).await;
            Ok(())
        }
    };
    let _ = result;
}

/// The sequence's clock: moves forward by small steps or across deadlines.
struct TaskClock {
    now: i64,
    join: i64,
    settle: i64,
    window_end: i64,
}

impl TaskClock {
    async fn advance(&mut self, env: &mut Env, rng: &mut ChaCha8Rng) {
        let target = *[
            self.now + 1,
            self.now + rng.gen_range(1..500),
            self.join,
            self.join + 1,
            self.settle,
            self.window_end,
            self.window_end + 1,
        ]
        .choose(rng)
        .expect("targets");
        self.now = self.now.max(target);
        env.set_time(self.now).await;
    }
}

/// Keeps every actor funded across many sequences: lamports move from the
/// richest actor to any that runs low (the authority pays out most pools).
async fn rebalance(env: &mut Env, actors: &Actors) {
    let all: Vec<Keypair> = actors.all().iter().map(|k| k.insecure_clone()).collect();
    for poor in &all {
        if env.lamports(&poor.pubkey()).await >= 500 * SOL {
            continue;
        }
        let mut richest = &all[0];
        let mut most = 0;
        for who in &all {
            let balance = env.lamports(&who.pubkey()).await;
            if balance > most {
                (richest, most) = (who, balance);
            }
        }
        let ix = solana_sdk::system_instruction::transfer(
            &richest.pubkey(),
            &poor.pubkey(),
            1_000 * SOL,
        );
        send(env, &[ix], &[richest]).await.expect("rebalance");
    }
}

async fn run(env: &mut Env, actors: &Actors, seed: u64) {
    rebalance(env, actors).await;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    env.task_id = seed;
    let start = START_TIME + i64::try_from(seed).expect("seed") * 1_000_000;
    env.set_time(start).await;
    let join = start + rng.gen_range(1..2_000);
    let settle = join + rng.gen_range(1..5_000);
    let grace = rng.gen_range(0..2_000);
    let mut args = default_args(seed, &actors.honest[0].pubkey());
    args.reward_pool = rng.gen_range(staking::MIN_REWARD_POOL..20 * SOL);
    args.max_participants = rng.gen_range(1..=staking::MAX_PARTICIPANTS);
    args.max_slash_bps = rng.gen_range(0..=10_000);
    args.join_deadline = join;
    args.settle_deadline = settle;
    args.grace_period = grace;
    let (pool, slash_bps) = (args.reward_pool, u64::from(args.max_slash_bps));

    let mut before = Vec::new();
    for who in actors.all() {
        before.push(env.lamports(&who.pubkey()).await);
    }
    let authority_start = before[0];
    let ix = task_create_ix(&actors.authority.pubkey(), args);
    let authority = actors.authority.insecure_clone();
    send(env, &[ix], &[&authority]).await.expect("task_create");

    let mut clock = TaskClock {
        now: start,
        join,
        settle,
        window_end: settle + grace,
    };
    for _ in 0..STEPS {
        step(env, &mut rng, actors, &mut clock).await;
        check(env, actors, authority_start, pool).await;
    }

    // Whatever happened, the stakes come back after the window: anyone
    // (here an honest participant) expires the task, then everyone claims.
    let Some((task, ..)) = read_task(env).await else {
        return;
    };
    if matches!(task.state, TaskState::Open | TaskState::Finalizing) {
        clock.now = clock.now.max(clock.window_end + 1);
        env.set_time(clock.now).await;
        let caller = actors.honest[1].insecure_clone();
        let ix = task_expire_ix(&caller.pubkey(), &env.task(), &authority.pubkey());
        send(env, &[ix], &[&caller])
            .await
            .expect("expiry cannot be blocked");
    }
    let stake_rent = env
        .rent(8 + <Stake as anchor_lang::Space>::INIT_SPACE)
        .await;
    for (i, who) in actors.all().into_iter().enumerate() {
        if let Some(stake) = read_stake(env, &who.pubkey()).await {
            if !stake.claimed {
                let ix = reward_claim_ix(&env.task(), &who.pubkey());
                send(env, &[ix], &[who]).await.expect("stake is claimable");
            }
            check(env, actors, authority_start, pool).await;
            let honest = (1..=HONEST).contains(&i);
            if honest {
                let cap = u128::from(stake.amount) * u128::from(slash_bps) / 10_000;
                let floor = u128::from(before[i]) - cap - u128::from(stake_rent);
                let now = u128::from(env.lamports(&who.pubkey()).await);
                assert!(
                    now >= floor,
                    "honest participant {i} lost more than its slash cap"
                );
            }
        }
    }
    let (task, ..) = read_task(env).await.expect("settled task stays");
    if task.state == TaskState::Finalized {
        assert_eq!(task.unclaimed_score, 0, "every scored stake was paid");
    }
    assert_eq!(task.stake_held, 0, "every stake came back");
    if task.contributors > 0 {
        assert_eq!(task.reward_pool, 0, "the whole pool went to contributors");
        assert_eq!(task.refunded, 0, "the authority got nothing back");
    }
}

#[tokio::test]
async fn malicious_authority_never_breaks_conservation_or_the_refund_cap() {
    let mut env = Env::new().await;
    let authority = env.authority.insecure_clone();
    env.airdrop(&authority.pubkey(), 10_000 * SOL).await;
    let mut honest = Vec::new();
    for _ in 0..HONEST {
        honest.push(env.wallet(10_000 * SOL).await);
    }
    let mut sybils = Vec::new();
    for _ in 0..SYBILS {
        sybils.push(env.wallet(10_000 * SOL).await);
    }
    let actors = Actors {
        authority,
        honest,
        sybils,
    };
    let started = Instant::now();
    for seed in 0..SEQUENCES {
        run(&mut env, &actors, seed).await;
    }
    println!(
        "{SEQUENCES} sequences of {STEPS} steps in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
