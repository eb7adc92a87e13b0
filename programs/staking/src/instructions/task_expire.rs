//! Expire a task its authority did not settle in time. Anyone may call it.

use anchor_lang::prelude::*;

use crate::constants::SEED_TASK;
use crate::errors::StakingError;
use crate::events::TaskExpired;
use crate::state::{Task, TaskState};
use crate::utils::pay_out;

#[derive(Accounts)]
pub struct TaskExpire<'info> {
    /// Whoever triggers the expiry; pays only the fee.
    pub caller: Signer<'info>,
    /// The task expired.
    #[account(
        mut,
        has_one = authority,
        seeds = [SEED_TASK, task.authority.as_ref(), &task.task_id.to_le_bytes()],
        bump = task.bump,
    )]
    pub task: Account<'info, Task>,
    /// The task authority; receives the pool only if nobody contributed.
    /// CHECK: only credited; `has_one = authority` pins it to the task's authority.
    #[account(mut)]
    pub authority: UncheckedAccount<'info>,
}

impl TaskExpire<'_> {
    pub fn validate(&self) -> Result<()> {
        // A finalization begun but not completed in time expires too.
        require!(
            matches!(self.task.state, TaskState::Open | TaskState::Finalizing),
            StakingError::TaskNotOpen
        );
        require!(
            Clock::get()?.unix_timestamp > self.task.settle_window_end()?,
            StakingError::ExpireTooEarly
        );
        Ok(())
    }
}

pub fn task_expire_handler(ctx: Context<TaskExpire>) -> Result<()> {
    let task = &mut ctx.accounts.task;
    // A round left partly credited is unattested: its new contributors do
    // not count (reward_claim discounts that round the same way).
    task.contributors = task.settled_contributors();
    task.state = TaskState::Expired;
    task.unclaimed_contributors = task.contributors;

    // Stakes are claimable via reward_claim. With contributors the whole
    // pool (funding and slashes) is split among them at claim time and the
    // authority gets nothing. Without, the authority gets back what it funded
    // and was not paid, and each slash goes back to its stake at claim. The
    // pool floor set at creation keeps this refund above an empty wallet's
    // rent-exempt minimum, so no authority wallet state can block expiry.
    let returned_to_authority = if task.contributors == 0 {
        let refund = task
            .reward_funded
            .saturating_sub(task.reward_paid)
            .min(task.reward_pool);
        pay_out(
            &task.to_account_info(),
            &ctx.accounts.authority.to_account_info(),
            refund,
        )?;
        task.reward_pool = task
            .reward_pool
            .checked_sub(refund)
            .ok_or(StakingError::ArithmeticOverflow)?;
        task.refunded = task
            .refunded
            .checked_add(refund)
            .ok_or(StakingError::ArithmeticOverflow)?;
        refund
    } else {
        0
    };
    task.check_invariants(&task.to_account_info())?;

    emit!(TaskExpired {
        task: task.key(),
        contributors: task.contributors,
        reward_pool: task.reward_pool,
        returned_to_authority,
    });
    Ok(())
}
