//! Close a batch of a settled task's round records, returning their rent to
//! the authority that paid it. A task with more records than one transaction
//! carries closes them over several batches, then `task_close` closes the task.

use anchor_lang::prelude::*;

use crate::constants::SEED_TASK;
use crate::errors::StakingError;
use crate::events::RoundsClosed;
use crate::state::Task;
use crate::utils::load_task_round;

#[derive(Accounts)]
pub struct RoundsClose<'info> {
    /// The task authority; receives the records' rent. Only it may close
    /// them: the records are its audit trail, kept as long as it wants.
    #[account(mut)]
    pub authority: Signer<'info>,
    /// The settled task the records belong to.
    #[account(
        mut,
        has_one = authority,
        seeds = [SEED_TASK, task.authority.as_ref(), &task.task_id.to_le_bytes()],
        bump = task.bump,
    )]
    pub task: Account<'info, Task>,
    // remaining_accounts: the round records closed (writable), each a round
    // PDA of this task.
}

impl RoundsClose<'_> {
    pub fn validate(&self) -> Result<()> {
        self.task.check_closable()
    }
}

pub fn rounds_close_handler<'info>(
    ctx: Context<'_, '_, 'info, 'info, RoundsClose<'info>>,
) -> Result<()> {
    require!(!ctx.remaining_accounts.is_empty(), StakingError::EmptyBatch);
    let authority = ctx.accounts.authority.to_account_info();
    let (rounds, rent_returned) =
        close_rounds(&mut ctx.accounts.task, &authority, ctx.remaining_accounts)?;
    let task = &ctx.accounts.task;
    task.check_invariants(&task.to_account_info())?;
    emit!(RoundsClosed {
        task: task.key(),
        rounds,
        rounds_closed: task.rounds_closed,
        rent_returned,
    });
    Ok(())
}

/// Closes each round record in `infos` to `authority` and counts it on the
/// task. Returns the indices closed and the lamports moved.
///
/// A record closed once is gone (a repeat in the same batch is refused as
/// `AccountNotInitialized`) and records are never re-created after
/// settlement, so `rounds_closed` counts distinct records and reaches
/// `rounds_recorded` exactly when every record is closed. A record holds no
/// stake lamport (the program only ever pays out of the task account), so all
/// of its lamports go to the authority that paid its rent.
pub fn close_rounds<'info>(
    task: &mut Account<'info, Task>,
    authority: &AccountInfo<'info>,
    infos: &'info [AccountInfo<'info>],
) -> Result<(Vec<u32>, u64)> {
    let task_key = task.key();
    let mut rounds = Vec::with_capacity(infos.len());
    let mut rent_returned: u64 = 0;
    for info in infos {
        let round = load_task_round(info, &task_key)?;
        rent_returned = rent_returned
            .checked_add(info.lamports())
            .ok_or(StakingError::ArithmeticOverflow)?;
        rounds.push(round.index);
        round.close(authority.clone())?;
        task.rounds_closed = task
            .rounds_closed
            .checked_add(1)
            .ok_or(StakingError::ArithmeticOverflow)?;
    }
    require_gte!(
        task.rounds_recorded,
        task.rounds_closed,
        StakingError::ArithmeticOverflow
    );
    Ok((rounds, rent_returned))
}
