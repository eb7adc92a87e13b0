//! Lock a participant's stake in the task vault.

use anchor_lang::prelude::*;
use anchor_lang::system_program::{transfer, Transfer};

use crate::constants::{SEED_STAKE, SEED_TASK};
use crate::errors::StakingError;
use crate::events::StakeDeposited;
use crate::state::{Stake, Task, TaskState};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct StakeDepositArgs {
    /// Lamports to lock; at least the task's minimum stake.
    pub amount: u64,
}

#[derive(Accounts)]
pub struct StakeDeposit<'info> {
    /// Wallet staking on the task.
    #[account(mut)]
    pub participant: Signer<'info>,
    /// The task (and vault) staked on.
    #[account(
        mut,
        seeds = [SEED_TASK, task.authority.as_ref(), &task.task_id.to_le_bytes()],
        bump = task.bump,
    )]
    pub task: Account<'info, Task>,
    /// The new stake of this participant on this task.
    #[account(
        init,
        payer = participant,
        space = 8 + Stake::INIT_SPACE,
        seeds = [SEED_STAKE, task.key().as_ref(), participant.key().as_ref()],
        bump,
    )]
    pub stake: Account<'info, Stake>,
    pub system_program: Program<'info, System>,
}

impl StakeDeposit<'_> {
    pub fn validate(&self, args: &StakeDepositArgs) -> Result<()> {
        let task = &self.task;
        require!(task.state == TaskState::Open, StakingError::TaskNotOpen);
        require!(
            Clock::get()?.unix_timestamp < task.join_deadline,
            StakingError::JoinDeadlinePassed
        );
        require_keys_neq!(
            self.participant.key(),
            task.authority,
            StakingError::AuthorityCannotStake
        );
        require_gte!(args.amount, task.min_stake, StakingError::StakeBelowMinimum);
        require!(
            task.participants < task.max_participants,
            StakingError::TaskFull
        );
        Ok(())
    }
}

pub fn stake_deposit_handler(ctx: Context<StakeDeposit>, args: StakeDepositArgs) -> Result<()> {
    transfer(
        CpiContext::new(
            ctx.accounts.system_program.to_account_info(),
            Transfer {
                from: ctx.accounts.participant.to_account_info(),
                to: ctx.accounts.task.to_account_info(),
            },
        ),
        args.amount,
    )?;

    let stake = &mut ctx.accounts.stake;
    stake.set_inner(Stake {
        task: ctx.accounts.task.key(),
        participant: ctx.accounts.participant.key(),
        amount: args.amount,
        slashed: 0,
        joined_at: Clock::get()?.unix_timestamp,
        rounds_contributed: 0,
        last_round: 0,
        score: 0,
        scored: false,
        slash_evidence_cid: String::new(),
        bump: ctx.bumps.stake,
    });

    let task = &mut ctx.accounts.task;
    task.participants = task
        .participants
        .checked_add(1)
        .ok_or(StakingError::ArithmeticOverflow)?;
    task.stake_held = task
        .stake_held
        .checked_add(args.amount)
        .ok_or(StakingError::ArithmeticOverflow)?;
    task.check_invariants(&task.to_account_info())?;

    emit!(StakeDeposited {
        task: task.key(),
        participant: stake.participant,
        amount: args.amount,
        recoverable_after: task.settle_window_end()?,
    });
    Ok(())
}
