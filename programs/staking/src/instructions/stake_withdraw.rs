//! Take a stake back before training starts; closes the stake account.

use anchor_lang::prelude::*;

use crate::constants::{SEED_STAKE, SEED_TASK};
use crate::errors::StakingError;
use crate::events::StakeWithdrawn;
use crate::state::{Stake, Task, TaskState};
use crate::utils::pay_out;

#[derive(Accounts)]
pub struct StakeWithdraw<'info> {
    /// Owner of the stake; receives it and the stake account's rent.
    #[account(mut)]
    pub participant: Signer<'info>,
    /// The task (and vault) the stake is locked in.
    #[account(
        mut,
        seeds = [SEED_TASK, task.authority.as_ref(), &task.task_id.to_le_bytes()],
        bump = task.bump,
    )]
    pub task: Account<'info, Task>,
    /// The stake withdrawn; closed to the participant.
    #[account(
        mut,
        close = participant,
        has_one = task,
        has_one = participant,
        seeds = [SEED_STAKE, task.key().as_ref(), participant.key().as_ref()],
        bump = stake.bump,
    )]
    pub stake: Account<'info, Stake>,
}

impl StakeWithdraw<'_> {
    pub fn validate(&self) -> Result<()> {
        require!(
            self.task.state == TaskState::Open,
            StakingError::TaskNotOpen
        );
        require!(
            self.task.rounds_recorded == 0,
            StakingError::TrainingStarted
        );
        // The draw counts the stakes it must go through.
        require!(
            self.task.committee_seed == [0; 32],
            StakingError::DrawStarted
        );
        Ok(())
    }
}

pub fn stake_withdraw_handler(ctx: Context<StakeWithdraw>) -> Result<()> {
    // Before training nobody has contributed, so there is no contributors'
    // pool a slash could go to: it goes back to the stake. Otherwise it would
    // stay in the pool and reach the authority when it cancels the task.
    let remaining = ctx.accounts.stake.remaining();
    let slashed = ctx.accounts.stake.slashed;
    let amount = ctx.accounts.stake.amount;
    pay_out(
        &ctx.accounts.task.to_account_info(),
        &ctx.accounts.participant.to_account_info(),
        amount,
    )?;

    let task = &mut ctx.accounts.task;
    task.participants = task
        .participants
        .checked_sub(1)
        .ok_or(StakingError::ArithmeticOverflow)?;
    task.stake_held = task
        .stake_held
        .checked_sub(remaining)
        .ok_or(StakingError::ArithmeticOverflow)?;
    task.reward_pool = task
        .reward_pool
        .checked_sub(slashed)
        .ok_or(StakingError::ArithmeticOverflow)?;
    task.check_invariants(&task.to_account_info())?;

    emit!(StakeWithdrawn {
        task: task.key(),
        participant: ctx.accounts.participant.key(),
        amount,
    });
    Ok(())
}
