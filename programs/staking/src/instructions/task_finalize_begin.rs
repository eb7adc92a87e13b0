//! Begin finalization: announce the final model and scores (total, count
//! and chained digest) as attested by the task's attestors.

use anchor_lang::prelude::*;
use anchor_lang::solana_program::sysvar::instructions as instructions_sysvar;

use crate::attestation::{final_message, require_attested};

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
    /// sha256 of the final model the attestors accepted.
    pub model_digest: [u8; 32],
    /// Chained digest of every open stake's `(participant, score)` in
    /// ascending key order (see [`crate::attestation::chain_score`]).
    pub scores_digest: [u8; 32],
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
    /// CHECK: the instructions sysvar (checked by address), read for the
    /// Ed25519 program instructions carrying the attestations.
    #[account(address = instructions_sysvar::ID)]
    pub instructions_sysvar: UncheckedAccount<'info>,
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
        // Every open stake is scored (task_finalize checks the count), so
        // the attestors sign for exactly `participants` pairs.
        let message = final_message(
            &task.key(),
            &args.model_digest,
            args.total_score,
            task.participants,
            &args.scores_digest,
        );
        require_attested(
            &self.instructions_sysvar,
            &task.attestors,
            task.attestor_threshold,
            &message,
        )
    }
}

pub fn task_finalize_begin_handler(
    ctx: Context<TaskFinalizeBegin>,
    args: TaskFinalizeBeginArgs,
) -> Result<()> {
    let task = &mut ctx.accounts.task;
    task.total_score = args.total_score;
    task.model_cid = args.model_cid;
    task.model_digest = args.model_digest;
    task.begin_sequence(args.scores_digest);
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
