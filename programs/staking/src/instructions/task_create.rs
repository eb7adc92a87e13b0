//! Create a task and fund its reward pool.

use anchor_lang::prelude::*;
use anchor_lang::system_program::{transfer, Transfer};

use crate::attestation::DIGEST_START;
use crate::constants::{
    BPS_DENOMINATOR, MAX_GRACE_PERIOD, MAX_JOIN_WINDOW, MAX_PARTICIPANTS, MAX_SETTLE_WINDOW,
    MIN_REWARD_POOL, SEED_TASK,
};
use crate::errors::StakingError;
use crate::events::TaskCreated;
use crate::state::{Task, TaskState};
use crate::utils::validate_cid;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct TaskCreateArgs {
    /// Authority-chosen id, unique per authority.
    pub task_id: u64,
    /// Lamports moved from the authority into the pool.
    pub reward_pool: u64,
    /// Smallest accepted deposit.
    pub min_stake: u64,
    /// Most stakes accepted.
    pub max_participants: u32,
    /// Rounds the task plans to run.
    pub rounds_planned: u32,
    /// Unix time after which no stake is accepted.
    pub join_deadline: i64,
    /// Unix time by which the authority should finalize.
    pub settle_deadline: i64,
    /// Seconds of grace after the settle deadline.
    pub grace_period: i64,
    /// Cap on the total slash of one stake, in basis points.
    pub max_slash_bps: u16,
    /// Holder of the CKKS secret key.
    pub key_holder: Pubkey,
    /// CID of the client template.
    pub template_cid: String,
    /// CID of the CKKS public context.
    pub he_context_cid: String,
}

#[derive(Accounts)]
#[instruction(args: TaskCreateArgs)]
pub struct TaskCreate<'info> {
    /// Organisation creating and funding the task.
    #[account(mut)]
    pub authority: Signer<'info>,
    /// The new task; also the vault of pool and stakes.
    #[account(
        init,
        payer = authority,
        space = 8 + Task::INIT_SPACE,
        seeds = [SEED_TASK, authority.key().as_ref(), &args.task_id.to_le_bytes()],
        bump,
    )]
    pub task: Account<'info, Task>,
    pub system_program: Program<'info, System>,
}

impl TaskCreate<'_> {
    pub fn validate(&self, args: &TaskCreateArgs) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        require_keys_neq!(
            args.key_holder,
            self.authority.key(),
            StakingError::KeyHolderIsAuthority
        );
        require!(args.reward_pool > 0, StakingError::EmptyRewardPool);
        require_gte!(
            args.reward_pool,
            MIN_REWARD_POOL.max(Rent::get()?.minimum_balance(0)),
            StakingError::RewardPoolBelowFloor
        );
        require!(args.min_stake > 0, StakingError::ZeroMinStake);
        require!(
            (1..=MAX_PARTICIPANTS).contains(&args.max_participants),
            StakingError::InvalidMaxParticipants
        );
        require!(args.rounds_planned > 0, StakingError::ZeroRoundsPlanned);
        require!(
            now < args.join_deadline && args.join_deadline < args.settle_deadline,
            StakingError::DeadlinesNotOrdered
        );
        require!(args.grace_period >= 0, StakingError::NegativeGracePeriod);
        // Bounded windows: every stake is recoverable by a time fixed here.
        require_gte!(
            MAX_JOIN_WINDOW,
            args.join_deadline - now,
            StakingError::JoinWindowTooLong
        );
        require_gte!(
            MAX_SETTLE_WINDOW,
            args.settle_deadline - args.join_deadline,
            StakingError::SettleWindowTooLong
        );
        require_gte!(
            MAX_GRACE_PERIOD,
            args.grace_period,
            StakingError::GracePeriodTooLong
        );
        require!(
            u64::from(args.max_slash_bps) <= BPS_DENOMINATOR,
            StakingError::SlashBpsTooHigh
        );
        validate_cid(&args.template_cid)?;
        validate_cid(&args.he_context_cid)?;
        Ok(())
    }
}

pub fn task_create_handler(ctx: Context<TaskCreate>, args: TaskCreateArgs) -> Result<()> {
    transfer(
        CpiContext::new(
            ctx.accounts.system_program.to_account_info(),
            Transfer {
                from: ctx.accounts.authority.to_account_info(),
                to: ctx.accounts.task.to_account_info(),
            },
        ),
        args.reward_pool,
    )?;

    let task = &mut ctx.accounts.task;
    task.set_inner(Task {
        authority: ctx.accounts.authority.key(),
        key_holder: args.key_holder,
        // The key holder alone attests for now; a decryption committee will
        // record its wallets and threshold here.
        attestors: vec![args.key_holder],
        attestor_threshold: 1,
        task_id: args.task_id,
        reward_funded: args.reward_pool,
        reward_pool: args.reward_pool,
        reward_paid: 0,
        refunded: 0,
        stake_held: 0,
        min_stake: args.min_stake,
        max_participants: args.max_participants,
        participants: 0,
        contributors: 0,
        unclaimed_contributors: 0,
        rounds_planned: args.rounds_planned,
        rounds_recorded: 0,
        rounds_closed: 0,
        join_deadline: args.join_deadline,
        settle_deadline: args.settle_deadline,
        grace_period: args.grace_period,
        max_slash_bps: args.max_slash_bps,
        total_score: 0,
        credits_pending: 0,
        round_new_contributors: 0,
        attested_digest: DIGEST_START,
        running_digest: DIGEST_START,
        last_key: Pubkey::default(),
        model_digest: [0; 32],
        stakes_scored: 0,
        score_posted: 0,
        unclaimed_score: 0,
        template_cid: args.template_cid,
        he_context_cid: args.he_context_cid,
        model_cid: String::new(),
        state: TaskState::Open,
        created_at: Clock::get()?.unix_timestamp,
        bump: ctx.bumps.task,
        committee_size: 0,
        committee_seed: [0; 32],
        committee_scanned: 0,
        committee_last_key: Pubkey::default(),
        committee_tickets: Vec::new(),
    });
    task.check_invariants(&task.to_account_info())?;

    emit!(TaskCreated {
        task: task.key(),
        authority: task.authority,
        key_holder: task.key_holder,
        task_id: task.task_id,
        reward_pool: task.reward_pool,
        min_stake: task.min_stake,
        template_cid: task.template_cid.clone(),
    });
    Ok(())
}
