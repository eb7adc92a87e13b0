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
    emit!(TaskCancelled {
        task: ctx.accounts.task.key(),
        authority: ctx.accounts.authority.key(),
        refunded: ctx.accounts.task.to_account_info().lamports(),
    });
    Ok(())
}
