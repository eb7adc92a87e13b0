//! Open one training round: its manifest CID and the contributors of its
//! decrypted sum, as attested by the task's attestors (count and chained
//! digest). `round_credit` then credits them in batches.

use anchor_lang::prelude::*;
use anchor_lang::solana_program::sysvar::instructions as instructions_sysvar;

use crate::attestation::{require_attested, round_message, DIGEST_START};

use crate::constants::{SEED_ROUND, SEED_TASK};
use crate::errors::StakingError;
use crate::events::RoundRecorded;
use crate::state::{Round, Task, TaskState};
use crate::utils::validate_cid;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct RoundRecordArgs {
    /// Must equal the task's `rounds_recorded`.
    pub round_index: u32,
    /// CID of the round manifest.
    pub manifest_cid: String,
    /// CID of the round's aggregate or model, if pinned.
    pub aggregate_cid: Option<String>,
    /// Number of participants the round credits; `round_credit` batches must
    /// credit exactly this many before the next round or finalize.
    pub contributors: u32,
    /// sha256 of the round manifest the attestors checked.
    pub manifest_digest: [u8; 32],
    /// Chained digest of the contributors in ascending key order
    /// (see [`crate::attestation::chain_contributor`]).
    pub contributors_digest: [u8; 32],
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
    /// CHECK: the instructions sysvar (checked by address), read for the
    /// Ed25519 program instructions carrying the attestations.
    #[account(address = instructions_sysvar::ID)]
    pub instructions_sysvar: UncheckedAccount<'info>,
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
        require!(task.credits_pending == 0, StakingError::CreditsPending);
        // A partly drawn committee is whoever the caller let the draw see.
        require!(
            task.committee_size == 0 || task.committee_drawn(),
            StakingError::CommitteeNotDrawn
        );
        require_gte!(
            task.participants,
            args.contributors,
            StakingError::StakeCountMismatch
        );
        if args.contributors == 0 {
            require!(
                args.contributors_digest == DIGEST_START,
                StakingError::ContributorsDigestMismatch
            );
        }
        let message = round_message(
            &task.key(),
            args.round_index,
            &args.manifest_digest,
            args.contributors,
            &args.contributors_digest,
        );
        require_attested(
            &self.instructions_sysvar,
            &task.attestors,
            task.attestor_threshold,
            &message,
        )
    }
}

pub fn round_record_handler<'info>(
    ctx: Context<'_, '_, 'info, 'info, RoundRecord<'info>>,
    args: RoundRecordArgs,
) -> Result<()> {
    let task_key = ctx.accounts.task.key();
    let now = Clock::get()?.unix_timestamp;
    let aggregate_cid = args.aggregate_cid.unwrap_or_default();
    ctx.accounts.round.set_inner(Round {
        task: task_key,
        index: args.round_index,
        contributors: args.contributors,
        credited: 0,
        recorded_at: now,
        manifest_cid: args.manifest_cid.clone(),
        manifest_digest: args.manifest_digest,
        aggregate_cid: aggregate_cid.clone(),
        bump: ctx.bumps.round,
    });

    let task = &mut ctx.accounts.task;
    task.rounds_recorded = task
        .rounds_recorded
        .checked_add(1)
        .ok_or(StakingError::ArithmeticOverflow)?;
    task.credits_pending = args.contributors;
    task.round_new_contributors = 0;
    task.begin_sequence(args.contributors_digest);
    task.check_invariants(&task.to_account_info())?;

    emit!(RoundRecorded {
        task: task_key,
        round_index: args.round_index,
        manifest_cid: args.manifest_cid,
        aggregate_cid,
        contributors: args.contributors,
        contributors_digest: args.contributors_digest,
    });
    Ok(())
}
