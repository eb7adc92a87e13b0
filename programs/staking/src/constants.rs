//! Seeds and limits shared by the program, its tests and (through the IDL) the clients.

use anchor_lang::prelude::*;

/// Seed prefix of a task account: `[SEED_TASK, authority, task_id (u64 LE)]`.
#[constant]
pub const SEED_TASK: &[u8] = b"task";

/// Seed prefix of a stake account: `[SEED_STAKE, task, participant]`.
#[constant]
pub const SEED_STAKE: &[u8] = b"stake";

/// Seed prefix of a round record: `[SEED_ROUND, task, round_index (u32 LE)]`.
#[constant]
pub const SEED_ROUND: &[u8] = b"round";

/// Longest content identifier (IPFS CID string) the program stores.
/// CIDv1 base32 of a sha2-256 digest is 59 characters, CIDv0 is 46.
#[constant]
pub const MAX_CID_LEN: usize = 64;

/// Most stakes a task accepts. Crediting (`round_credit`) and scoring
/// (`scores_post`) go in batches of stake accounts, so no transaction has to
/// carry every stake; the bound keeps settlement within a few dozen batches.
#[constant]
pub const MAX_PARTICIPANTS: u32 = 1000;

/// Denominator of basis-point quantities (100% = 10_000 bps).
#[constant]
pub const BPS_DENOMINATOR: u64 = 10_000;

/// Longest join window: `join_deadline - now` at creation, in seconds (30 days).
#[constant]
pub const MAX_JOIN_WINDOW: i64 = 2_592_000;

/// Longest settle window: `settle_deadline - join_deadline`, in seconds (90 days).
#[constant]
pub const MAX_SETTLE_WINDOW: i64 = 7_776_000;

/// Longest grace period after the settle deadline, in seconds (30 days).
/// With the two windows above, every stake is recoverable (expire, then
/// claim) at most 150 days after the task is created.
#[constant]
pub const MAX_GRACE_PERIOD: i64 = 2_592_000;

/// Smallest reward pool, in lamports. It is above the rent-exempt minimum of
/// an empty wallet (890_880), so refunding the pool on expiry can never fail
/// because the authority emptied its wallet: expiry cannot be blocked.
#[constant]
pub const MIN_REWARD_POOL: u64 = 1_000_000;

/// Most attestors a task records (the key holder alone, or a decryption
/// committee): each signs rounds' contributors and the final scores.
#[constant]
pub const MAX_ATTESTORS: usize = 7;

/// Seconds after the join deadline within which a committee draw must begin.
/// Participants' nodes start it as soon as the deadline passes; the short
/// window bounds how many slot hashes anyone could wait through for a seed.
#[constant]
pub const COMMITTEE_DRAW_WINDOW: i64 = 60;

/// Domain of a committee ticket: `sha256(domain || seed || task || participant)`.
pub const COMMITTEE_TICKET_DOMAIN: &[u8] = b"fl-app/committee-ticket/v1";
