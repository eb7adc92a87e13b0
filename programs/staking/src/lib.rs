//! Staking for federated-learning tasks: participants lock stakes, the task
//! authority records rounds and posts contribution scores, and the program
//! pays each participant its stake back plus a share of the reward pool.

use anchor_lang::prelude::*;

pub mod attestation;
pub mod constants;
pub mod errors;
pub mod events;
pub mod instructions;
pub mod state;
pub mod utils;

pub use constants::*;
use instructions::*;

declare_id!("9a6PfratSytaXyNi6XPJMqmMHJjDMCorcFJhviWgyeEW");

#[program]
pub mod staking {
    use super::*;

    /// Create a task and move its reward pool from the authority into it.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn task_create(ctx: Context<TaskCreate>, args: TaskCreateArgs) -> Result<()> {
        task_create_handler(ctx, args)
    }

    /// Give the task a decryption committee of `size` stakers, `threshold` of
    /// whom attest each round; before any stake.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn committee_configure(
        ctx: Context<CommitteeConfigure>,
        args: CommitteeConfigureArgs,
    ) -> Result<()> {
        committee_configure_handler(ctx, args)
    }

    /// Draw the committee from the stakers by slot-hash sortition, going
    /// through the stakes in ascending order in batches; anyone may call it.
    #[access_control(ctx.accounts.validate())]
    pub fn committee_draw<'info>(
        ctx: Context<'_, '_, 'info, 'info, CommitteeDraw<'info>>,
    ) -> Result<()> {
        committee_draw_handler(ctx)
    }

    /// Lock a participant's stake on an open task before its join deadline.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn stake_deposit(ctx: Context<StakeDeposit>, args: StakeDepositArgs) -> Result<()> {
        stake_deposit_handler(ctx, args)
    }

    /// Take a stake back before the first round is recorded.
    #[access_control(ctx.accounts.validate())]
    pub fn stake_withdraw(ctx: Context<StakeWithdraw>) -> Result<()> {
        stake_withdraw_handler(ctx)
    }

    /// Open the next round: its manifest and how many participants it credits.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn round_record<'info>(
        ctx: Context<'_, '_, 'info, 'info, RoundRecord<'info>>,
        args: RoundRecordArgs,
    ) -> Result<()> {
        round_record_handler(ctx, args)
    }

    /// Credit a batch of the latest round's contributors, each once.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn round_credit<'info>(
        ctx: Context<'_, '_, 'info, 'info, RoundCredit<'info>>,
        args: RoundCreditArgs,
    ) -> Result<()> {
        round_credit_handler(ctx, args)
    }

    /// Begin finalization: announce the total score and the final model.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn task_finalize_begin(
        ctx: Context<TaskFinalizeBegin>,
        args: TaskFinalizeBeginArgs,
    ) -> Result<()> {
        task_finalize_begin_handler(ctx, args)
    }

    /// Post the final scores of a batch of stakes, each once.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn scores_post<'info>(
        ctx: Context<'_, '_, 'info, 'info, ScoresPost<'info>>,
        args: ScoresPostArgs,
    ) -> Result<()> {
        scores_post_handler(ctx, args)
    }

    /// Complete finalization: every stake scored once and the total matches.
    #[access_control(ctx.accounts.validate())]
    pub fn task_finalize(ctx: Context<TaskFinalize>) -> Result<()> {
        task_finalize_handler(ctx)
    }

    /// Pay a participant its reward share and remaining stake; closes the stake.
    #[access_control(ctx.accounts.validate())]
    pub fn reward_claim(ctx: Context<RewardClaim>) -> Result<()> {
        reward_claim_handler(ctx)
    }

    /// Slash a stake within the task's bound, with evidence, into the pool.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn participant_slash(
        ctx: Context<ParticipantSlash>,
        args: ParticipantSlashArgs,
    ) -> Result<()> {
        participant_slash_handler(ctx, args)
    }

    /// Expire a task not settled by its deadline plus grace period.
    #[access_control(ctx.accounts.validate())]
    pub fn task_expire(ctx: Context<TaskExpire>) -> Result<()> {
        task_expire_handler(ctx)
    }

    /// Cancel a task nobody staked on; refunds the pool and closes it.
    #[access_control(ctx.accounts.validate())]
    pub fn task_cancel(ctx: Context<TaskCancel>) -> Result<()> {
        task_cancel_handler(ctx)
    }

    /// Close a batch of a settled task's round records; rent to the authority.
    #[access_control(ctx.accounts.validate())]
    pub fn rounds_close<'info>(
        ctx: Context<'_, '_, 'info, 'info, RoundsClose<'info>>,
    ) -> Result<()> {
        rounds_close_handler(ctx)
    }

    /// Close a settled, fully claimed task (and its last round records).
    #[access_control(ctx.accounts.validate())]
    pub fn task_close<'info>(ctx: Context<'_, '_, 'info, 'info, TaskClose<'info>>) -> Result<()> {
        task_close_handler(ctx)
    }
}
