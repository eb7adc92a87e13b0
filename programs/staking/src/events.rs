//! Events, one per state change.

use anchor_lang::prelude::*;

#[event]
pub struct TaskCreated {
    pub task: Pubkey,
    pub authority: Pubkey,
    pub key_holder: Pubkey,
    pub task_id: u64,
    pub reward_pool: u64,
    pub min_stake: u64,
    pub template_cid: String,
}

#[event]
pub struct StakeDeposited {
    pub task: Pubkey,
    pub participant: Pubkey,
    pub amount: u64,
    /// Unix time after which anyone may expire the task and the stake is
    /// claimable, whatever the authority does (bounded at creation).
    pub recoverable_after: i64,
}

#[event]
pub struct StakeWithdrawn {
    pub task: Pubkey,
    pub participant: Pubkey,
    pub amount: u64,
}

#[event]
pub struct RoundRecorded {
    pub task: Pubkey,
    pub round_index: u32,
    pub manifest_cid: String,
    pub aggregate_cid: String,
    /// Participants the round credits; `round_credit` batches credit them.
    pub contributors: u32,
    /// Attested chained digest of the contributors.
    pub contributors_digest: [u8; 32],
}

#[event]
pub struct RoundCredited {
    pub task: Pubkey,
    pub round_index: u32,
    pub participants: Vec<Pubkey>,
}

#[event]
pub struct FinalizeBegun {
    pub task: Pubkey,
    pub total_score: u64,
    pub model_cid: String,
}

#[event]
pub struct ScoresPosted {
    pub task: Pubkey,
    pub participants: Vec<Pubkey>,
    pub scores: Vec<u64>,
}

#[event]
pub struct TaskFinalized {
    pub task: Pubkey,
    pub total_score: u64,
    pub reward_pool: u64,
    pub model_cid: String,
}

#[event]
pub struct RewardClaimed {
    pub task: Pubkey,
    pub participant: Pubkey,
    pub reward: u64,
    pub stake_returned: u64,
}

#[event]
pub struct ParticipantSlashed {
    pub task: Pubkey,
    pub participant: Pubkey,
    pub amount: u64,
    pub total_slashed: u64,
    pub evidence_cid: String,
}

#[event]
pub struct TaskExpired {
    pub task: Pubkey,
    pub contributors: u32,
    pub reward_pool: u64,
    pub returned_to_authority: u64,
}

#[event]
pub struct TaskCancelled {
    pub task: Pubkey,
    pub authority: Pubkey,
    pub refunded: u64,
}
