//! Pay a participant its reward share and remaining stake, and close its stake
//! account to it (rent included). The closed account is what makes a second claim
//! fail: Anchor refuses it as `AccountNotInitialized`.

use anchor_lang::prelude::*;

use crate::constants::{SEED_STAKE, SEED_TASK};
use crate::errors::StakingError;
use crate::events::RewardClaimed;
use crate::state::{Stake, Task, TaskState};
use crate::utils::pay_out;

#[derive(Accounts)]
pub struct RewardClaim<'info> {
    /// Owner of the stake; receives the payout and the stake account's rent.
    #[account(mut)]
    pub participant: Signer<'info>,
    /// The settled task (and vault).
    #[account(
        mut,
        seeds = [SEED_TASK, task.authority.as_ref(), &task.task_id.to_le_bytes()],
        bump = task.bump,
    )]
    pub task: Account<'info, Task>,
    /// The participant's stake on this task; closed to the participant.
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

impl RewardClaim<'_> {
    pub fn validate(&self) -> Result<()> {
        require!(
            matches!(self.task.state, TaskState::Finalized | TaskState::Expired),
            StakingError::NotSettled
        );
        Ok(())
    }
}

pub fn reward_claim_handler(ctx: Context<RewardClaim>) -> Result<()> {
    let task = &mut ctx.accounts.task;
    let stake = &ctx.accounts.stake;

    let equal_split = task.state == TaskState::Expired || task.total_score == 0;
    let reward = if equal_split {
        // Equal split among contributors, computed as each claims: every
        // contributor takes pool / contributors-still-to-claim, so the last
        // one takes the rounding remainder and the pool ends at zero.
        if task.settled_rounds(stake) > 0 {
            let share = task
                .reward_pool
                .checked_div(u64::from(task.unclaimed_contributors))
                .ok_or(StakingError::ArithmeticOverflow)?;
            task.unclaimed_contributors = task
                .unclaimed_contributors
                .checked_sub(1)
                .ok_or(StakingError::ArithmeticOverflow)?;
            share
        } else {
            0
        }
    } else {
        // Proportional to the score, out of what is left: the last scored
        // claim (score == unclaimed_score) takes the rounding remainder.
        if stake.score > 0 {
            let share = u128::from(task.reward_pool)
                .checked_mul(u128::from(stake.score))
                .and_then(|v| v.checked_div(u128::from(task.unclaimed_score)))
                .ok_or(StakingError::ArithmeticOverflow)?;
            task.unclaimed_score = task
                .unclaimed_score
                .checked_sub(stake.score)
                .ok_or(StakingError::ArithmeticOverflow)?;
            u64::try_from(share).map_err(|_| StakingError::ArithmeticOverflow)?
        } else {
            0
        }
    };

    // An expired task nobody contributed to has no contributors' pool: the
    // slashes it holds go back to their stakes (the funding went back to the
    // authority at expiry).
    let slash_returned = if task.state == TaskState::Expired && task.contributors == 0 {
        stake.slashed
    } else {
        0
    };
    let stake_returned = stake.remaining();
    task.reward_pool = task
        .reward_pool
        .checked_sub(reward)
        .and_then(|v| v.checked_sub(slash_returned))
        .ok_or(StakingError::ArithmeticOverflow)?;
    task.reward_paid = task
        .reward_paid
        .checked_add(reward)
        .ok_or(StakingError::ArithmeticOverflow)?;
    task.stake_held = task
        .stake_held
        .checked_sub(stake_returned)
        .ok_or(StakingError::ArithmeticOverflow)?;
    // The stake account closes at the end of the instruction: it no longer
    // counts as open on the task (task_close waits for this to reach zero).
    task.participants = task
        .participants
        .checked_sub(1)
        .ok_or(StakingError::ArithmeticOverflow)?;

    let payout = reward
        .checked_add(stake_returned)
        .and_then(|v| v.checked_add(slash_returned))
        .ok_or(StakingError::ArithmeticOverflow)?;
    pay_out(
        &task.to_account_info(),
        &ctx.accounts.participant.to_account_info(),
        payout,
    )?;
    task.check_invariants(&task.to_account_info())?;

    // The closed stake leaves no receipt on chain: this event is the record
    // of the payout.
    emit!(RewardClaimed {
        task: task.key(),
        participant: stake.participant,
        reward,
        stake_returned: stake_returned
            .checked_add(slash_returned)
            .ok_or(StakingError::ArithmeticOverflow)?,
        score: stake.score,
        rounds_contributed: stake.rounds_contributed,
        rent_returned: stake.to_account_info().lamports(),
    });
    Ok(())
}
