//! Close a settled task nothing is owed on any more: the round records
//! passed (if any are left) and then the task account, which is the vault,
//! all to the authority.

use anchor_lang::prelude::*;

use crate::constants::SEED_TASK;
use crate::errors::StakingError;
use crate::events::{RoundsClosed, TaskClosed};
use crate::instructions::rounds_close::close_rounds;
use crate::state::Task;

#[derive(Accounts)]
pub struct TaskClose<'info> {
    /// The task authority; receives the rents (it paid them). Only it may
    /// close: the task account is its on-chain record of the settlement.
    #[account(mut)]
    pub authority: Signer<'info>,
    /// The settled task, closed to the authority.
    #[account(
        mut,
        close = authority,
        has_one = authority,
        seeds = [SEED_TASK, task.authority.as_ref(), &task.task_id.to_le_bytes()],
        bump = task.bump,
    )]
    pub task: Account<'info, Task>,
    // remaining_accounts: the last round records to close (writable), each a
    // round PDA of this task; the rest must be closed by `rounds_close`.
}

impl TaskClose<'_> {
    pub fn validate(&self) -> Result<()> {
        self.task.check_closable()
    }
}

pub fn task_close_handler<'info>(
    ctx: Context<'_, '_, 'info, 'info, TaskClose<'info>>,
) -> Result<()> {
    let authority = ctx.accounts.authority.to_account_info();
    let (rounds, rounds_rent) =
        close_rounds(&mut ctx.accounts.task, &authority, ctx.remaining_accounts)?;
    let task = &mut ctx.accounts.task;
    require_eq!(
        task.rounds_closed,
        task.rounds_recorded,
        StakingError::RoundsOpen
    );

    // Closing hands every lamport of the vault to the authority. With every
    // stake claimed (`stake_held == 0`) what is left is the account's rent,
    // which the authority paid, plus any unpaid pool. Whatever is beyond the
    // rent counts as a refund, so the refund cap bounds it: the authority
    // never gets more than it funded and was not paid out. Lamports sent to
    // the vault from outside the program would break the cap: the close is
    // then refused and they stay, with the record, rather than reach the
    // authority.
    let info = task.to_account_info();
    let lamports = info.lamports();
    let refund = lamports
        .checked_sub(Rent::get()?.minimum_balance(info.data_len()))
        .ok_or(StakingError::VaultShortfall)?;
    task.refunded = task
        .refunded
        .checked_add(refund)
        .ok_or(StakingError::ArithmeticOverflow)?;
    task.reward_pool = task.reward_pool.saturating_sub(refund);
    task.check_refund_cap()?;

    if !rounds.is_empty() {
        emit!(RoundsClosed {
            task: task.key(),
            rounds,
            rounds_closed: task.rounds_closed,
            rent_returned: rounds_rent,
        });
    }
    emit!(TaskClosed {
        task: task.key(),
        authority: authority.key(),
        returned: lamports
            .checked_add(rounds_rent)
            .ok_or(StakingError::ArithmeticOverflow)?,
        refunded: refund,
    });
    Ok(())
}
