//! One participant's stake on one task. It lives until the stake is withdrawn or
//! claimed, which both close it to the participant: an open stake is an unpaid one.

use anchor_lang::prelude::*;

use crate::constants::MAX_CID_LEN;

#[account]
#[derive(InitSpace, Debug)]
pub struct Stake {
    /// The task this stake is locked in.
    pub task: Pubkey,
    /// Wallet that deposited and may withdraw or claim.
    pub participant: Pubkey,
    /// Lamports deposited.
    pub amount: u64,
    /// Lamports slashed so far (moved to the reward pool).
    pub slashed: u64,
    /// Unix time of the deposit.
    pub joined_at: i64,
    /// Rounds this participant was credited in.
    pub rounds_contributed: u32,
    /// `round_index + 1` of the last round credited; 0 before any.
    pub last_round: u32,
    /// Score posted at finalize.
    pub score: u64,
    /// Whether `scores_post` has scored this stake (at most once).
    pub scored: bool,
    /// CID of the evidence for the last slash (empty if never slashed).
    #[max_len(MAX_CID_LEN)]
    pub slash_evidence_cid: String,
    /// Canonical bump of the stake PDA.
    pub bump: u8,
}

impl Stake {
    /// Lamports of the deposit still owed back to the participant.
    pub fn remaining(&self) -> u64 {
        self.amount.saturating_sub(self.slashed)
    }
}
