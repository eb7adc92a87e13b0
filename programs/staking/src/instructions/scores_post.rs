//! Post the final scores of a batch of stakes, each at most once.

use anchor_lang::prelude::*;

use crate::attestation::chain_score;
use crate::constants::SEED_TASK;
use crate::errors::StakingError;
use crate::events::ScoresPosted;
use crate::state::{Task, TaskState};
use crate::utils::load_task_stake;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct ScoresPostArgs {
    /// One score per stake account passed as remaining accounts, same order.
    pub scores: Vec<u64>,
}

#[derive(Accounts)]
pub struct ScoresPost<'info> {
    /// The task authority.
    pub authority: Signer<'info>,
    /// The task being finalized.
    #[account(
        mut,
        has_one = authority,
        seeds = [SEED_TASK, task.authority.as_ref(), &task.task_id.to_le_bytes()],
        bump = task.bump,
    )]
    pub task: Account<'info, Task>,
}

impl ScoresPost<'_> {
    pub fn validate(&self, args: &ScoresPostArgs) -> Result<()> {
        let task = &self.task;
        require!(
            task.state == TaskState::Finalizing,
            StakingError::TaskNotFinalizing
        );
        require!(
            Clock::get()?.unix_timestamp <= task.settle_window_end()?,
            StakingError::SettlementWindowClosed
        );
        require!(!args.scores.is_empty(), StakingError::EmptyBatch);
        Ok(())
    }
}

pub fn scores_post_handler<'info>(
    ctx: Context<'_, '_, 'info, 'info, ScoresPost<'info>>,
    args: ScoresPostArgs,
) -> Result<()> {
    require_eq!(
        ctx.remaining_accounts.len(),
        args.scores.len(),
        StakingError::StakeCountMismatch
    );
    let task_key = ctx.accounts.task.key();
    let mut batch_sum: u64 = 0;
    let mut participants = Vec::with_capacity(args.scores.len());
    for (info, score) in ctx.remaining_accounts.iter().zip(&args.scores) {
        // Written back before the next read: a repeated account is refused.
        let mut stake = load_task_stake(info, &task_key, None)?;
        require!(!stake.scored, StakingError::AlreadyScored);
        require!(
            *score == 0 || stake.rounds_contributed > 0,
            StakingError::ScoreForNonContributor
        );
        let task = &mut ctx.accounts.task;
        let next = chain_score(&task.running_digest, &stake.participant, *score);
        task.advance_sequence(stake.participant, next)?;
        stake.score = *score;
        stake.scored = true;
        stake.exit(ctx.program_id)?;
        batch_sum = batch_sum
            .checked_add(*score)
            .ok_or(StakingError::ArithmeticOverflow)?;
        participants.push(stake.participant);
    }

    let task = &mut ctx.accounts.task;
    let batch = u32::try_from(args.scores.len()).map_err(|_| StakingError::ArithmeticOverflow)?;
    task.stakes_scored = task
        .stakes_scored
        .checked_add(batch)
        .ok_or(StakingError::ArithmeticOverflow)?;
    task.score_posted = task
        .score_posted
        .checked_add(batch_sum)
        .ok_or(StakingError::ArithmeticOverflow)?;
    require_gte!(
        task.total_score,
        task.score_posted,
        StakingError::ScoreTotalMismatch
    );
    task.check_invariants(&task.to_account_info())?;

    emit!(ScoresPosted {
        task: task_key,
        participants,
        scores: args.scores,
    });
    Ok(())
}
