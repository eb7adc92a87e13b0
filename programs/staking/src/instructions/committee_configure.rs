//! Give a task a decryption committee drawn from its stakers.

use anchor_lang::prelude::*;

use crate::constants::{MAX_ATTESTORS, SEED_TASK};
use crate::errors::StakingError;
use crate::events::CommitteeConfigured;
use crate::state::{Task, TaskState};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct CommitteeConfigureArgs {
    /// Members drawn from the stakers.
    pub size: u8,
    /// Members whose attestations record a round or accept final scores
    /// (and who must take part to decrypt).
    pub threshold: u8,
}

#[derive(Accounts)]
pub struct CommitteeConfigure<'info> {
    /// The task authority.
    pub authority: Signer<'info>,
    /// The task, before any stake.
    #[account(
        mut,
        has_one = authority,
        seeds = [SEED_TASK, task.authority.as_ref(), &task.task_id.to_le_bytes()],
        bump = task.bump,
    )]
    pub task: Account<'info, Task>,
}

impl CommitteeConfigure<'_> {
    pub fn validate(&self, args: &CommitteeConfigureArgs) -> Result<()> {
        let task = &self.task;
        require!(task.state == TaskState::Open, StakingError::TaskNotOpen);
        // Participants see the committee before they stake, and it is set once.
        require!(
            task.participants == 0 && task.committee_size == 0,
            StakingError::InvalidCommittee
        );
        // A strict majority: any two decrypting sets share a member, and a member
        // decrypts one sum a round, so no round has two sums whose difference is an
        // update. With 2t <= n, two disjoint sets could each decrypt one.
        require!(
            2 <= args.threshold
                && args.threshold <= args.size
                && 2 * u16::from(args.threshold) > u16::from(args.size)
                && usize::from(args.size) <= MAX_ATTESTORS,
            StakingError::InvalidCommittee
        );
        Ok(())
    }
}

pub fn committee_configure_handler(
    ctx: Context<CommitteeConfigure>,
    args: CommitteeConfigureArgs,
) -> Result<()> {
    let task = &mut ctx.accounts.task;
    task.committee_size = args.size;
    task.attestor_threshold = args.threshold;
    // The key holder named at creation no longer attests; the drawn members will.
    task.attestors.clear();
    emit!(CommitteeConfigured {
        task: task.key(),
        size: args.size,
        threshold: args.threshold,
    });
    Ok(())
}
