//! Post final scores and fix every stake's share of the reward pool.

use anchor_lang::prelude::*;

use crate::constants::SEED_TASK;
use crate::errors::StakingError;
use crate::events::TaskFinalized;
use crate::state::{Task, TaskState};
use crate::utils::{load_task_stake, require_distinct, validate_cid};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct TaskFinalizeArgs {
    /// One score per open stake, in the order of the remaining accounts.
    pub scores: Vec<u64>,
    /// CID of the final model.
    pub model_cid: String,
}

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
    pub fn validate(&self, args: &TaskFinalizeArgs) -> Result<()> {
        let task = &self.task;
        require!(task.state == TaskState::Open, StakingError::TaskNotOpen);
        require!(
            Clock::get()?.unix_timestamp <= task.settle_window_end()?,
            StakingError::SettlementWindowClosed
        );
        require!(task.contributors > 0, StakingError::NoContributors);
        validate_cid(&args.model_cid)?;
        // Every open stake must be scored, so no share is left undecided.
        require_eq!(
            args.scores.len(),
            usize::try_from(task.participants).map_err(|_| StakingError::ArithmeticOverflow)?,
            StakingError::StakeCountMismatch
        );
        Ok(())
    }
}

/// Splits `pool` in proportion to `weights` (floor), then gives the
/// remainder to the first largest weight so the shares sum to `pool` exactly.
///
/// Fails if all weights are zero.
pub fn split_pool(pool: u64, weights: &[u64]) -> Result<Vec<u64>> {
    let total: u128 = weights.iter().map(|w| u128::from(*w)).sum();
    require!(total > 0, StakingError::NoContributors);
    let mut shares = Vec::with_capacity(weights.len());
    for weight in weights {
        let share = u128::from(pool)
            .checked_mul(u128::from(*weight))
            .and_then(|v| v.checked_div(total))
            .ok_or(StakingError::ArithmeticOverflow)?;
        shares.push(u64::try_from(share).map_err(|_| StakingError::ArithmeticOverflow)?);
    }
    let paid = shares
        .iter()
        .try_fold(0u64, |acc, s| acc.checked_add(*s))
        .ok_or(StakingError::ArithmeticOverflow)?;
    let remainder = pool
        .checked_sub(paid)
        .ok_or(StakingError::ArithmeticOverflow)?;
    let largest = weights
        .iter()
        .enumerate()
        .max_by(|(i, a), (j, b)| a.cmp(b).then(j.cmp(i)))
        .map(|(i, _)| i)
        .ok_or(StakingError::NoContributors)?;
    shares[largest] = shares[largest]
        .checked_add(remainder)
        .ok_or(StakingError::ArithmeticOverflow)?;
    Ok(shares)
}

pub fn task_finalize_handler<'info>(
    ctx: Context<'_, '_, 'info, 'info, TaskFinalize<'info>>,
    args: TaskFinalizeArgs,
) -> Result<()> {
    require_eq!(
        ctx.remaining_accounts.len(),
        args.scores.len(),
        StakingError::StakeCountMismatch
    );
    let keys: Vec<Pubkey> = ctx
        .remaining_accounts
        .iter()
        .map(|info| info.key())
        .collect();
    require_distinct(&keys)?;
    let task_key = ctx.accounts.task.key();
    let mut stakes = Vec::with_capacity(ctx.remaining_accounts.len());
    for (info, score) in ctx.remaining_accounts.iter().zip(&args.scores) {
        let stake = load_task_stake(info, &task_key, None)?;
        require!(
            *score == 0 || stake.rounds_contributed > 0,
            StakingError::ScoreForNonContributor
        );
        stakes.push(stake);
    }

    let total_score = args
        .scores
        .iter()
        .try_fold(0u64, |acc, s| acc.checked_add(*s))
        .ok_or(StakingError::ArithmeticOverflow)?;
    // All scores zero: the pool is split equally among contributors; it
    // never goes back to the authority once someone has worked.
    let weights: Vec<u64> = if total_score > 0 {
        args.scores.clone()
    } else {
        stakes
            .iter()
            .map(|s| u64::from(s.rounds_contributed > 0))
            .collect()
    };
    let pool = ctx.accounts.task.reward_pool;
    let shares = split_pool(pool, &weights)?;

    for ((stake, score), share) in stakes.iter_mut().zip(&args.scores).zip(&shares) {
        stake.score = *score;
        stake.reward_share = *share;
        stake.exit(ctx.program_id)?;
    }

    let task = &mut ctx.accounts.task;
    task.total_score = total_score;
    task.model_cid = args.model_cid;
    task.state = TaskState::Finalized;
    task.check_invariants(&task.to_account_info())?;

    emit!(TaskFinalized {
        task: task_key,
        total_score,
        reward_pool: pool,
        model_cid: task.model_cid.clone(),
    });
    Ok(())
}
