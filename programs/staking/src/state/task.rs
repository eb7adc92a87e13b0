//! The task account. It is also the vault: it holds the reward pool and all
//! stakes as lamports above its own rent-exempt minimum.

use anchor_lang::prelude::*;

use crate::attestation::DIGEST_START;
use crate::constants::{MAX_ATTESTORS, MAX_CID_LEN};
use crate::errors::StakingError;

/// Life cycle of a task. A cancelled task is closed, so it has no state.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug, InitSpace)]
pub enum TaskState {
    /// Accepting stakes (until the join deadline) and rounds.
    Open,
    /// Final scores are being posted in batches (`scores_post`); no more
    /// stakes, rounds or slashes.
    Finalizing,
    /// Scores posted and totals checked; participants claim.
    Finalized,
    /// Not settled in time; stakes return and the pool is split among contributors.
    Expired,
}

#[account]
#[derive(InitSpace, Debug)]
pub struct Task {
    /// Organisation that created and funded the task and records rounds.
    pub authority: Pubkey,
    /// Holder of the CKKS secret key; never equal to `authority`.
    pub key_holder: Pubkey,
    /// Keys whose ed25519 attestations credit rounds and accept final
    /// scores; never the authority.
    #[max_len(MAX_ATTESTORS)]
    pub attestors: Vec<Pubkey>,
    /// Distinct attestors that must sign each attestation.
    pub attestor_threshold: u8,
    /// Authority-chosen id; part of the seeds so one authority can run many tasks.
    pub task_id: u64,
    /// Lamports the authority funded the pool with at creation.
    pub reward_funded: u64,
    /// Pool lamports not yet paid out (funding + slashes − claimed rewards − refunds).
    pub reward_pool: u64,
    /// Reward lamports paid to participants so far.
    pub reward_paid: u64,
    /// Lamports refunded to the authority so far (never more than
    /// `reward_funded − reward_paid`, see [`Task::check_refund_cap`]).
    pub refunded: u64,
    /// Sum of `amount − slashed` over stakes not yet withdrawn or claimed.
    pub stake_held: u64,
    /// Smallest accepted deposit, in lamports.
    pub min_stake: u64,
    /// Most stakes the task accepts (at most `MAX_PARTICIPANTS`).
    pub max_participants: u32,
    /// Stake accounts currently open on this task.
    pub participants: u32,
    /// Stakes credited with at least one round.
    pub contributors: u32,
    /// After expiry: contributors that have not claimed their equal pool part yet.
    pub unclaimed_contributors: u32,
    /// Rounds the task plans to run; `round_record` refuses more.
    pub rounds_planned: u32,
    /// Rounds recorded so far; the next round index.
    pub rounds_recorded: u32,
    /// Round records closed after settlement (`rounds_close`, `task_close`);
    /// the task closes only once this reaches `rounds_recorded`.
    pub rounds_closed: u32,
    /// Unix time after which no stake is accepted.
    pub join_deadline: i64,
    /// Unix time by which the authority should finalize.
    pub settle_deadline: i64,
    /// Seconds after `settle_deadline` during which finalize is still allowed.
    pub grace_period: i64,
    /// Cap on the total slash of one stake, in basis points of its deposit.
    pub max_slash_bps: u16,
    /// Total of the final scores, announced by `task_finalize_begin`.
    pub total_score: u64,
    /// Credits the last recorded round still expects (`round_credit` batches).
    pub credits_pending: u32,
    /// New contributors credited by the latest round's batches so far. They
    /// count only once the round is fully credited (see [`Task::settled_contributors`]).
    pub round_new_contributors: u32,
    /// Chained digest the running credits or scores must end on, as attested
    /// at `round_record` or `task_finalize_begin`.
    pub attested_digest: [u8; 32],
    /// Chained digest of the credits or scores posted so far.
    pub running_digest: [u8; 32],
    /// Participant key of the last credit or score posted (keys go in
    /// strictly ascending order, so none is credited or scored twice).
    pub last_key: Pubkey,
    /// Attested digest of the final model, set at `task_finalize_begin`.
    pub model_digest: [u8; 32],
    /// Stakes scored so far by `scores_post` batches.
    pub stakes_scored: u32,
    /// Sum of the scores posted so far; must reach `total_score` exactly.
    pub score_posted: u64,
    /// After finalize: sum of the scores of stakes not claimed yet.
    pub unclaimed_score: u64,
    /// CID of the client template participants must run.
    #[max_len(MAX_CID_LEN)]
    pub template_cid: String,
    /// CID of the CKKS public context.
    #[max_len(MAX_CID_LEN)]
    pub he_context_cid: String,
    /// CID of the final model, set at finalize (empty before).
    #[max_len(MAX_CID_LEN)]
    pub model_cid: String,
    /// Where the task is in its life cycle.
    pub state: TaskState,
    /// Unix time of creation.
    pub created_at: i64,
    /// Canonical bump of the task PDA.
    pub bump: u8,
    /// Members of the decryption committee drawn from the stakers; 0 when a
    /// single key holder attests instead. Set before any stake, with the
    /// threshold in `attestor_threshold`.
    pub committee_size: u8,
    /// Seed of the committee draw: the latest slot hash when the draw began
    /// (zero before).
    pub committee_seed: [u8; 32],
    /// Stakes the draw has gone through, in ascending participant order.
    pub committee_scanned: u32,
    /// Participant of the last stake the draw went through.
    pub committee_last_key: Pubkey,
    /// Tickets of the members drawn so far, ascending; `attestors` holds
    /// their wallets in the same order.
    #[max_len(MAX_ATTESTORS)]
    pub committee_tickets: Vec<[u8; 32]>,
}

impl Task {
    /// True once the committee draw has gone through every stake and filled
    /// every seat: only then do its members attest.
    pub fn committee_drawn(&self) -> bool {
        self.committee_size > 0
            && self.committee_seed != [0; 32]
            && self.committee_scanned == self.participants
            && self.attestors.len() == usize::from(self.committee_size)
    }

    /// Starts an attested sequence (a round's credits or the final scores)
    /// that must end on `digest`.
    pub fn begin_sequence(&mut self, digest: [u8; 32]) {
        self.attested_digest = digest;
        self.running_digest = DIGEST_START;
        self.last_key = Pubkey::default();
    }

    /// Advances the sequence by `key`, whose chained digest is `next`; fails
    /// unless `key` comes strictly after the previous key.
    pub fn advance_sequence(&mut self, key: Pubkey, next: [u8; 32]) -> Result<()> {
        require!(key > self.last_key, StakingError::KeysNotAscending);
        self.last_key = key;
        self.running_digest = next;
        Ok(())
    }

    /// Contributors that count at settlement: those of fully credited rounds.
    /// A round left partly credited is unattested, so whoever it credited
    /// first gains nothing from it.
    pub fn settled_contributors(&self) -> u32 {
        if self.credits_pending > 0 {
            self.contributors
                .saturating_sub(self.round_new_contributors)
        } else {
            self.contributors
        }
    }

    /// Rounds `stake` contributed to that count at settlement (see
    /// [`Task::settled_contributors`]).
    pub fn settled_rounds(&self, stake: &crate::state::Stake) -> u32 {
        let in_open_round = self.credits_pending > 0 && stake.last_round == self.rounds_recorded;
        stake
            .rounds_contributed
            .saturating_sub(u32::from(in_open_round))
    }

    /// Unix time after which finalize is refused and anyone may expire the task.
    pub fn settle_window_end(&self) -> Result<i64> {
        self.settle_deadline
            .checked_add(self.grace_period)
            .ok_or_else(|| error!(StakingError::ArithmeticOverflow))
    }

    /// Lamports the account must hold: rent-exempt minimum + pool + stakes.
    pub fn owed_lamports(&self, data_len: usize) -> Result<u64> {
        Rent::get()?
            .minimum_balance(data_len)
            .checked_add(self.reward_pool)
            .and_then(|v| v.checked_add(self.stake_held))
            .ok_or_else(|| error!(StakingError::ArithmeticOverflow))
    }

    /// Fails unless the account holds at least what it owes (conservation).
    pub fn check_conservation(&self, info: &AccountInfo) -> Result<()> {
        require_gte!(
            info.lamports(),
            self.owed_lamports(info.data_len())?,
            StakingError::VaultShortfall
        );
        Ok(())
    }

    /// Fails if the authority got back more than it funded and was not paid
    /// out: no stake lamport (slashed or not) ever reaches the authority.
    pub fn check_refund_cap(&self) -> Result<()> {
        require_gte!(
            self.reward_funded.saturating_sub(self.reward_paid),
            self.refunded,
            StakingError::RefundExceedsUnpaidFunding
        );
        Ok(())
    }

    /// Fails unless nothing on the task is owed any more: it is settled
    /// (finalized or expired) and every stake is claimed (each claim closes
    /// its stake). Only then may its round records and itself be closed.
    pub fn check_closable(&self) -> Result<()> {
        require!(
            matches!(self.state, TaskState::Finalized | TaskState::Expired),
            StakingError::NotSettled
        );
        require!(
            self.participants == 0 && self.stake_held == 0,
            StakingError::StakesUnclaimed
        );
        Ok(())
    }

    /// The two money invariants every instruction ends with.
    pub fn check_invariants(&self, info: &AccountInfo) -> Result<()> {
        self.check_conservation(info)?;
        self.check_refund_cap()
    }
}
