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

/// Most stakes a task accepts. Finalize and round recording pass every
/// stake in one transaction, so this is bounded by the 1232-byte packet.
#[constant]
pub const MAX_PARTICIPANTS: u32 = 12;

/// Denominator of basis-point quantities (100% = 10_000 bps).
#[constant]
pub const BPS_DENOMINATOR: u64 = 10_000;
