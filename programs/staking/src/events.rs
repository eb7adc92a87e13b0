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
    /// Reward share paid.
    pub reward: u64,
    /// Deposit paid back (less slashes, unless they went back to it).
    pub stake_returned: u64,
    /// Final score of the stake (0 after an expiry with no finalize).
    pub score: u64,
    /// Rounds the stake was credited in.
    pub rounds_contributed: u32,
    /// Rent of the stake account, closed to the participant.
    pub rent_returned: u64,
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

#[event]
pub struct RoundsClosed {
    pub task: Pubkey,
    /// Indices of the round records closed by this instruction.
    pub rounds: Vec<u32>,
    /// Round records closed so far, of `rounds_recorded`.
    pub rounds_closed: u32,
    /// Rent of the closed records, returned to the authority.
    pub rent_returned: u64,
}

#[event]
pub struct TaskClosed {
    pub task: Pubkey,
    pub authority: Pubkey,
    /// Lamports returned to the authority: the task account's rent, any
    /// unpaid pool (within the refund cap) and the rent of the round records
    /// this same instruction closed.
    pub returned: u64,
    /// Of `returned`, the unpaid pool counted as a refund (0 in every
    /// settlement that pays the pool out, which is all of them but a
    /// rounding-free edge).
    pub refunded: u64,
}

#[event]
pub struct CommitteeConfigured {
    pub task: Pubkey,
    pub size: u8,
    pub threshold: u8,
}

#[event]
pub struct CommitteeDrawn {
    pub task: Pubkey,
    pub seed: [u8; 32],
    pub members: Vec<Pubkey>,
}
