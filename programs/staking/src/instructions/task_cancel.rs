//! Cancel a task nobody has staked on: refund the pool and close the account.

use anchor_lang::prelude::*;

use crate::constants::SEED_TASK;
use crate::errors::StakingError;
use crate::events::TaskCancelled;
use crate::state::{Task, TaskState};

#[derive(Accounts)]
pub struct TaskCancel<'info> {
    /// The task authority; receives the pool and the account's rent.
    #[account(mut)]
    pub authority: Signer<'info>,
    /// The task cancelled and closed.
    #[account(
        mut,
        close = authority,
        has_one = authority,
        seeds = [SEED_TASK, task.authority.as_ref(), &task.task_id.to_le_bytes()],
        bump = task.bump,
    )]
    pub task: Account<'info, Task>,
}

impl TaskCancel<'_> {
    pub fn validate(&self) -> Result<()> {
        let task = &self.task;
        require!(task.state == TaskState::Open, StakingError::TaskNotOpen);
        require!(
            task.participants == 0 && task.rounds_recorded == 0,
            StakingError::TaskHasStakes
        );
        Ok(())
    }
}

pub fn task_cancel_handler(ctx: Context<TaskCancel>) -> Result<()> {
    // Closing refunds the pool (and the account's rent) to the authority.
    // Withdrawals return slashes to their stakes, so the pool is exactly the
    // funding here; the cap check makes that an enforced invariant.
    let task = &mut ctx.accounts.task;
    task.refunded = task
        .refunded
        .checked_add(task.reward_pool)
        .ok_or(StakingError::ArithmeticOverflow)?;
    task.reward_pool = 0;
    task.check_refund_cap()?;
    emit!(TaskCancelled {
        task: ctx.accounts.task.key(),
        authority: ctx.accounts.authority.key(),
        refunded: ctx.accounts.task.to_account_info().lamports(),
    });
    Ok(())
}
