//! Slash part of a stake, with evidence, into the reward pool.

use anchor_lang::prelude::*;

use crate::constants::{BPS_DENOMINATOR, SEED_STAKE, SEED_TASK};
use crate::errors::StakingError;
use crate::events::ParticipantSlashed;
use crate::state::{Stake, Task, TaskState};
use crate::utils::validate_cid;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct ParticipantSlashArgs {
    /// Lamports to slash.
    pub amount: u64,
    /// CID of the evidence (e.g. the round manifest showing the fault).
    pub evidence_cid: String,
}

#[derive(Accounts)]
pub struct ParticipantSlash<'info> {
    /// The task authority.
    pub authority: Signer<'info>,
    /// The task; slashed lamports stay in it, moving from stakes to the pool.
    #[account(
        mut,
        has_one = authority,
        seeds = [SEED_TASK, task.authority.as_ref(), &task.task_id.to_le_bytes()],
        bump = task.bump,
    )]
    pub task: Account<'info, Task>,
    /// The stake slashed.
    #[account(
        mut,
        has_one = task,
        seeds = [SEED_STAKE, task.key().as_ref(), stake.participant.as_ref()],
        bump = stake.bump,
    )]
    pub stake: Account<'info, Stake>,
}

impl ParticipantSlash<'_> {
    /// Most lamports this stake may lose in total.
    fn slash_cap(&self) -> Result<u64> {
        let cap = u128::from(self.stake.amount)
            .checked_mul(u128::from(self.task.max_slash_bps))
            .and_then(|v| v.checked_div(u128::from(BPS_DENOMINATOR)))
            .ok_or(StakingError::ArithmeticOverflow)?;
        u64::try_from(cap).map_err(|_| error!(StakingError::ArithmeticOverflow))
    }

    pub fn validate(&self, args: &ParticipantSlashArgs) -> Result<()> {
        require!(
            self.task.state == TaskState::Open,
            StakingError::TaskNotOpen
        );
        require!(args.amount > 0, StakingError::ZeroSlash);
        validate_cid(&args.evidence_cid)?;
        let total = self
            .stake
            .slashed
            .checked_add(args.amount)
            .ok_or(StakingError::ArithmeticOverflow)?;
        require_gte!(self.slash_cap()?, total, StakingError::SlashLimitExceeded);
        Ok(())
    }
}

pub fn participant_slash_handler(
    ctx: Context<ParticipantSlash>,
    args: ParticipantSlashArgs,
) -> Result<()> {
    let stake = &mut ctx.accounts.stake;
    stake.slashed = stake
        .slashed
        .checked_add(args.amount)
        .ok_or(StakingError::ArithmeticOverflow)?;
    stake.slash_evidence_cid = args.evidence_cid.clone();

    // The slashed lamports never leave the vault: they move from the stake
    // ledger to the pool, which only participants can be paid from.
    let task = &mut ctx.accounts.task;
    task.stake_held = task
        .stake_held
        .checked_sub(args.amount)
        .ok_or(StakingError::ArithmeticOverflow)?;
    task.reward_pool = task
        .reward_pool
        .checked_add(args.amount)
        .ok_or(StakingError::ArithmeticOverflow)?;
    task.check_invariants(&task.to_account_info())?;

    emit!(ParticipantSlashed {
        task: task.key(),
        participant: stake.participant,
        amount: args.amount,
        total_slashed: stake.slashed,
        evidence_cid: args.evidence_cid,
    });
    Ok(())
}
