//! Draw a task's decryption committee from its stakers. Anyone may call it.
//!
//! Sortition: the first call after the join deadline (and within
//! `COMMITTEE_DRAW_WINDOW`) fixes the seed, the most recent slot hash. Every
//! stake gets the ticket `sha256(COMMITTEE_TICKET_DOMAIN || seed || task ||
//! participant)` and the `committee_size` lowest tickets are the members.
//! Calls go through the stakes in ascending participant order, in batches,
//! and the committee attests only once every stake was seen: nobody can stop
//! the draw where it suits them, and a wallet's key, chosen before the seed
//! existed, says nothing of its ticket. The slot's leader could bias the seed
//! by skipping its slot; the window bounds how many seeds a caller could wait
//! through.

use anchor_lang::prelude::*;
use anchor_lang::solana_program::hash::hashv;
use anchor_lang::solana_program::sysvar::slot_hashes;

use crate::constants::{COMMITTEE_DRAW_WINDOW, COMMITTEE_TICKET_DOMAIN, SEED_TASK};
use crate::errors::StakingError;
use crate::events::CommitteeDrawn;
use crate::state::{Task, TaskState};
use crate::utils::load_task_stake;

#[derive(Accounts)]
pub struct CommitteeDraw<'info> {
    /// The task whose committee is drawn.
    #[account(
        mut,
        seeds = [SEED_TASK, task.authority.as_ref(), &task.task_id.to_le_bytes()],
        bump = task.bump,
    )]
    pub task: Account<'info, Task>,
    /// CHECK: the SlotHashes sysvar, pinned by address; read for the seed.
    #[account(address = slot_hashes::ID)]
    pub slot_hashes: UncheckedAccount<'info>,
}

impl CommitteeDraw<'_> {
    pub fn validate(&self) -> Result<()> {
        let task = &self.task;
        require!(task.state == TaskState::Open, StakingError::TaskNotOpen);
        require!(task.committee_size > 0, StakingError::NoCommittee);
        require!(
            task.committee_scanned < task.participants || task.committee_seed == [0; 32],
            StakingError::CommitteeAlreadyDrawn
        );
        let now = Clock::get()?.unix_timestamp;
        require!(now > task.join_deadline, StakingError::DrawTooEarly);
        if task.committee_seed == [0; 32] {
            require!(
                now <= task.join_deadline.saturating_add(COMMITTEE_DRAW_WINDOW),
                StakingError::DrawWindowClosed
            );
        }
        Ok(())
    }
}

/// Sortition ticket of `participant` for the committee of `task`.
pub fn committee_ticket(seed: &[u8; 32], task: &Pubkey, participant: &Pubkey) -> [u8; 32] {
    hashv(&[
        COMMITTEE_TICKET_DOMAIN,
        seed,
        task.as_ref(),
        participant.as_ref(),
    ])
    .to_bytes()
}

/// The hash of the most recent slot in the SlotHashes sysvar's data
/// (`u64` count, then `(u64 slot, [u8; 32] hash)` entries, newest first).
fn latest_slot_hash(data: &[u8]) -> Result<[u8; 32]> {
    let count = data
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
        .unwrap_or(0);
    let hash = data.get(16..48).filter(|_| count > 0);
    let hash = hash.ok_or(StakingError::NoSlotHash)?;
    let mut seed = [0u8; 32];
    seed.copy_from_slice(hash);
    Ok(seed)
}

pub fn committee_draw_handler<'info>(
    ctx: Context<'_, '_, 'info, 'info, CommitteeDraw<'info>>,
) -> Result<()> {
    require!(!ctx.remaining_accounts.is_empty(), StakingError::EmptyBatch);
    let task_key = ctx.accounts.task.key();
    let task = &mut ctx.accounts.task;
    if task.committee_seed == [0; 32] {
        task.committee_seed = latest_slot_hash(&ctx.accounts.slot_hashes.try_borrow_data()?)?;
    }
    let size = usize::from(task.committee_size);
    for info in ctx.remaining_accounts {
        let stake = load_task_stake(info, &task_key, None)?;
        require!(
            stake.participant > task.committee_last_key,
            StakingError::KeysNotAscending
        );
        task.committee_last_key = stake.participant;
        task.committee_scanned = task
            .committee_scanned
            .checked_add(1)
            .ok_or(StakingError::ArithmeticOverflow)?;
        let ticket = committee_ticket(&task.committee_seed, &task_key, &stake.participant);
        let seat = task.committee_tickets.partition_point(|t| *t < ticket);
        if seat < size {
            task.committee_tickets.insert(seat, ticket);
            task.attestors.insert(seat, stake.participant);
            task.committee_tickets.truncate(size);
            task.attestors.truncate(size);
        }
    }
    require_gte!(
        task.participants,
        task.committee_scanned,
        StakingError::StakeCountMismatch
    );
    if task.committee_drawn() {
        emit!(CommitteeDrawn {
            task: task_key,
            seed: task.committee_seed,
            members: task.attestors.clone(),
        });
    }
    Ok(())
}
