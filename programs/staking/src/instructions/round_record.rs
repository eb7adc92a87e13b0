//! Record one training round: manifest CID and the participants it credits.

use anchor_lang::prelude::*;

use crate::constants::{SEED_ROUND, SEED_TASK};
use crate::errors::StakingError;
use crate::events::RoundRecorded;
use crate::state::{Round, Task, TaskState};
use crate::utils::{load_task_stake, require_distinct, validate_cid};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct RoundRecordArgs {
    /// Must equal the task's `rounds_recorded`.
    pub round_index: u32,
    /// CID of the round manifest.
    pub manifest_cid: String,
    /// CID of the round's aggregate or model, if pinned.
    pub aggregate_cid: Option<String>,
    /// Participants credited; their stake PDAs follow as remaining accounts, same order.
    pub contributors: Vec<Pubkey>,
}

#[derive(Accounts)]
#[instruction(args: RoundRecordArgs)]
pub struct RoundRecord<'info> {
    /// The task authority; pays the round record's rent.
    #[account(mut)]
    pub authority: Signer<'info>,
    /// The task the round belongs to.
    #[account(
        mut,
        has_one = authority,
        seeds = [SEED_TASK, task.authority.as_ref(), &task.task_id.to_le_bytes()],
        bump = task.bump,
    )]
    pub task: Account<'info, Task>,
    /// The new round record.
    #[account(
        init,
        payer = authority,
        space = 8 + Round::INIT_SPACE,
        seeds = [SEED_ROUND, task.key().as_ref(), &args.round_index.to_le_bytes()],
        bump,
    )]
    pub round: Account<'info, Round>,
    pub system_program: Program<'info, System>,
}

impl RoundRecord<'_> {
    pub fn validate(&self, args: &RoundRecordArgs) -> Result<()> {
        let task = &self.task;
        require!(task.state == TaskState::Open, StakingError::TaskNotOpen);
        require!(
            Clock::get()?.unix_timestamp < task.settle_deadline,
            StakingError::SettleDeadlinePassed
        );
        require!(
            task.rounds_recorded < task.rounds_planned,
            StakingError::RoundLimitReached
        );
        require_eq!(
            args.round_index,
            task.rounds_recorded,
            StakingError::RoundOutOfOrder
        );
        validate_cid(&args.manifest_cid)?;
        if let Some(cid) = &args.aggregate_cid {
            validate_cid(cid)?;
        }
        require_distinct(&args.contributors)?;
        Ok(())
    }
}

pub fn round_record_handler<'info>(
    ctx: Context<'_, '_, 'info, 'info, RoundRecord<'info>>,
    args: RoundRecordArgs,
) -> Result<()> {
    require_eq!(
        args.contributors.len(),
        ctx.remaining_accounts.len(),
        StakingError::StakeCountMismatch
    );
    let task_key = ctx.accounts.task.key();
    let mut new_contributors: u32 = 0;
    for (info, participant) in ctx.remaining_accounts.iter().zip(&args.contributors) {
        let mut stake = load_task_stake(info, &task_key, Some(participant))?;
        if stake.rounds_contributed == 0 {
            new_contributors = new_contributors
                .checked_add(1)
                .ok_or(StakingError::ArithmeticOverflow)?;
        }
        stake.rounds_contributed = stake
            .rounds_contributed
            .checked_add(1)
            .ok_or(StakingError::ArithmeticOverflow)?;
        stake.last_round = args
            .round_index
            .checked_add(1)
            .ok_or(StakingError::ArithmeticOverflow)?;
        stake.exit(ctx.program_id)?;
    }

    let now = Clock::get()?.unix_timestamp;
    let contributors =
        u32::try_from(args.contributors.len()).map_err(|_| StakingError::ArithmeticOverflow)?;
    let aggregate_cid = args.aggregate_cid.unwrap_or_default();
    ctx.accounts.round.set_inner(Round {
        task: task_key,
        index: args.round_index,
        contributors,
        recorded_at: now,
        manifest_cid: args.manifest_cid.clone(),
        aggregate_cid: aggregate_cid.clone(),
        bump: ctx.bumps.round,
    });

    let task = &mut ctx.accounts.task;
    task.rounds_recorded = task
        .rounds_recorded
        .checked_add(1)
        .ok_or(StakingError::ArithmeticOverflow)?;
    task.contributors = task
        .contributors
        .checked_add(new_contributors)
        .ok_or(StakingError::ArithmeticOverflow)?;
    task.check_invariants(&task.to_account_info())?;

    emit!(RoundRecorded {
        task: task_key,
        round_index: args.round_index,
        manifest_cid: args.manifest_cid,
        aggregate_cid,
        contributors: args.contributors,
    });
    Ok(())
}
