//! Credit a batch of the latest round's contributors.

use anchor_lang::prelude::*;

use crate::attestation::chain_contributor;
use crate::constants::{SEED_ROUND, SEED_TASK};
use crate::errors::StakingError;
use crate::events::RoundCredited;
use crate::state::{Round, Task, TaskState};
use crate::utils::load_task_stake;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct RoundCreditArgs {
    /// The round credited; must be the latest recorded one.
    pub round_index: u32,
}

#[derive(Accounts)]
#[instruction(args: RoundCreditArgs)]
pub struct RoundCredit<'info> {
    /// The task authority.
    pub authority: Signer<'info>,
    /// The task the round belongs to.
    #[account(
        mut,
        has_one = authority,
        seeds = [SEED_TASK, task.authority.as_ref(), &task.task_id.to_le_bytes()],
        bump = task.bump,
    )]
    pub task: Account<'info, Task>,
    /// The round record, of this task and index.
    #[account(
        mut,
        has_one = task,
        seeds = [SEED_ROUND, task.key().as_ref(), &args.round_index.to_le_bytes()],
        bump = round.bump,
    )]
    pub round: Account<'info, Round>,
}

impl RoundCredit<'_> {
    pub fn validate(&self, args: &RoundCreditArgs) -> Result<()> {
        let task = &self.task;
        require!(task.state == TaskState::Open, StakingError::TaskNotOpen);
        require!(
            Clock::get()?.unix_timestamp <= task.settle_window_end()?,
            StakingError::SettlementWindowClosed
        );
        // Only the latest round takes credits: a stake's `last_round` then
        // tells whether it is credited for it, whatever the batch order.
        require!(
            args.round_index.checked_add(1) == Some(task.rounds_recorded),
            StakingError::RoundOutOfOrder
        );
        Ok(())
    }
}

pub fn round_credit_handler<'info>(
    ctx: Context<'_, '_, 'info, 'info, RoundCredit<'info>>,
    args: RoundCreditArgs,
) -> Result<()> {
    let batch = u32::try_from(ctx.remaining_accounts.len())
        .map_err(|_| StakingError::ArithmeticOverflow)?;
    require!(batch > 0, StakingError::EmptyBatch);
    require_gte!(
        ctx.accounts.task.credits_pending,
        batch,
        StakingError::CreditsExceeded
    );
    let task_key = ctx.accounts.task.key();
    let credited_mark = args
        .round_index
        .checked_add(1)
        .ok_or(StakingError::ArithmeticOverflow)?;
    let mut new_contributors: u32 = 0;
    let mut participants = Vec::with_capacity(ctx.remaining_accounts.len());
    for info in ctx.remaining_accounts {
        // Each stake is written back before the next is read, so an account
        // repeated in the batch is seen as credited the second time.
        let mut stake = load_task_stake(info, &task_key, None)?;
        require_gt!(
            credited_mark,
            stake.last_round,
            StakingError::AlreadyCredited
        );
        let task = &mut ctx.accounts.task;
        let next = chain_contributor(&task.running_digest, &stake.participant);
        task.advance_sequence(stake.participant, next)?;
        if stake.rounds_contributed == 0 {
            new_contributors = new_contributors
                .checked_add(1)
                .ok_or(StakingError::ArithmeticOverflow)?;
        }
        stake.rounds_contributed = stake
            .rounds_contributed
            .checked_add(1)
            .ok_or(StakingError::ArithmeticOverflow)?;
        stake.last_round = credited_mark;
        stake.exit(ctx.program_id)?;
        participants.push(stake.participant);
    }

    let round = &mut ctx.accounts.round;
    round.credited = round
        .credited
        .checked_add(batch)
        .ok_or(StakingError::ArithmeticOverflow)?;
    let task = &mut ctx.accounts.task;
    task.credits_pending = task
        .credits_pending
        .checked_sub(batch)
        .ok_or(StakingError::ArithmeticOverflow)?;
    task.contributors = task
        .contributors
        .checked_add(new_contributors)
        .ok_or(StakingError::ArithmeticOverflow)?;
    task.round_new_contributors = task
        .round_new_contributors
        .checked_add(new_contributors)
        .ok_or(StakingError::ArithmeticOverflow)?;
    if task.credits_pending == 0 {
        require!(
            task.running_digest == task.attested_digest,
            StakingError::ContributorsDigestMismatch
        );
    }
    task.check_invariants(&task.to_account_info())?;

    emit!(RoundCredited {
        task: task_key,
        round_index: args.round_index,
        participants,
    });
    Ok(())
}
