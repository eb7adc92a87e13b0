//! Complete finalization once every stake is scored and the totals match.

use anchor_lang::prelude::*;

use crate::constants::SEED_TASK;
use crate::errors::StakingError;
use crate::events::TaskFinalized;
use crate::state::{Task, TaskState};

#[derive(Accounts)]
pub struct TaskFinalize<'info> {
    /// The task authority.
    pub authority: Signer<'info>,
    /// The task settled.
    #[account(
        mut,
        has_one = authority,
        seeds = [SEED_TASK, task.authority.as_ref(), &task.task_id.to_le_bytes()],
        bump = task.bump,
    )]
    pub task: Account<'info, Task>,
}

impl TaskFinalize<'_> {
    pub fn validate(&self) -> Result<()> {
        let task = &self.task;
        require!(
            task.state == TaskState::Finalizing,
            StakingError::TaskNotFinalizing
        );
        require!(
            Clock::get()?.unix_timestamp <= task.settle_window_end()?,
            StakingError::SettlementWindowClosed
        );
        // Open stakes cannot change while finalizing (no deposit, withdrawal
        // or slash), and each is scored at most once: equal counts mean every
        // stake is scored exactly once.
        require_eq!(
            task.stakes_scored,
            task.participants,
            StakingError::StakesUnscored
        );
        require_eq!(
            task.score_posted,
            task.total_score,
            StakingError::ScoreTotalMismatch
        );
        require!(
            task.running_digest == task.attested_digest,
            StakingError::ScoresDigestMismatch
        );
        Ok(())
    }
}

/// Fixes the shares: from now on each claim takes
/// `pool * score / unclaimed_score` (floored) of what is left, so the shares
/// are proportional to the scores and the last scored claim takes the
/// remainder, leaving the pool at zero. With a zero total the pool is split
/// equally among contributors; it never goes back to the authority once
/// someone has worked.
pub fn task_finalize_handler(ctx: Context<TaskFinalize>) -> Result<()> {
    let task = &mut ctx.accounts.task;
    task.unclaimed_score = task.total_score;
    task.unclaimed_contributors = task.contributors;
    task.state = TaskState::Finalized;
    task.check_invariants(&task.to_account_info())?;

    emit!(TaskFinalized {
        task: task.key(),
        total_score: task.total_score,
        reward_pool: task.reward_pool,
        model_cid: task.model_cid.clone(),
    });
    Ok(())
}
