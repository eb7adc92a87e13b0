//! Audit record of one training round.

use anchor_lang::prelude::*;

use crate::constants::MAX_CID_LEN;

#[account]
#[derive(InitSpace, Debug)]
pub struct Round {
    /// The task the round belongs to.
    pub task: Pubkey,
    /// Zero-based round index.
    pub index: u32,
    /// Number of participants the round credits (announced at recording).
    pub contributors: u32,
    /// Participants credited so far by `round_credit` batches.
    pub credited: u32,
    /// Unix time of recording.
    pub recorded_at: i64,
    /// CID of the round manifest (participants, ciphertext digests, metrics).
    #[max_len(MAX_CID_LEN)]
    pub manifest_cid: String,
    /// sha256 of the manifest, as attested.
    pub manifest_digest: [u8; 32],
    /// CID of the aggregate or model of this round (empty if none).
    #[max_len(MAX_CID_LEN)]
    pub aggregate_cid: String,
    /// Canonical bump of the round PDA.
    pub bump: u8,
}
