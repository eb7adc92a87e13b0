//! Begin finalization: announce the total score and the final model.

use anchor_lang::prelude::*;

use crate::constants::SEED_TASK;
use crate::errors::StakingError;
use crate::events::FinalizeBegun;
use crate::state::{Task, TaskState};
use crate::utils::validate_cid;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct TaskFinalizeBeginArgs {
    /// Sum of all final scores; `task_finalize` checks the batches add up to it.
    pub total_score: u64,
    /// CID of the final model.
    pub model_cid: String,
}

#[derive(Accounts)]
pub struct TaskFinalizeBegin<'info> {
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

impl TaskFinalizeBegin<'_> {
    pub fn validate(&self, args: &TaskFinalizeBeginArgs) -> Result<()> {
        let task = &self.task;
        require!(task.state == TaskState::Open, StakingError::TaskNotOpen);
        require!(
            Clock::get()?.unix_timestamp <= task.settle_window_end()?,
            StakingError::SettlementWindowClosed
        );
        require!(task.credits_pending == 0, StakingError::CreditsPending);
        require!(task.contributors > 0, StakingError::NoContributors);
        validate_cid(&args.model_cid)?;
        Ok(())
    }
}

pub fn task_finalize_begin_handler(
    ctx: Context<TaskFinalizeBegin>,
    args: TaskFinalizeBeginArgs,
) -> Result<()> {
    let task = &mut ctx.accounts.task;
    task.total_score = args.total_score;
    task.model_cid = args.model_cid;
    task.stakes_scored = 0;
    task.score_posted = 0;
    task.state = TaskState::Finalizing;
    task.check_invariants(&task.to_account_info())?;

    emit!(FinalizeBegun {
        task: task.key(),
        total_score: task.total_score,
        model_cid: task.model_cid.clone(),
    });
    Ok(())
}
