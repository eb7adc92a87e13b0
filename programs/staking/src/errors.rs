//! The program's error codes (6000 + variant index).

use anchor_lang::prelude::*;

#[error_code]
pub enum StakingError {
    #[msg("The key holder must be a different key from the task authority")]
    KeyHolderIsAuthority,
    #[msg("The reward pool must be funded with more than zero lamports")]
    EmptyRewardPool,
    #[msg("The minimum stake must be more than zero lamports")]
    ZeroMinStake,
    #[msg("Max participants must be between 1 and MAX_PARTICIPANTS")]
    InvalidMaxParticipants,
    #[msg("A task must plan at least one round")]
    ZeroRoundsPlanned,
    #[msg("Deadlines must satisfy now < join deadline < settle deadline")]
    DeadlinesNotOrdered,
    #[msg("The grace period must not be negative")]
    NegativeGracePeriod,
    #[msg("Max slash must be at most 10000 basis points")]
    SlashBpsTooHigh,
    #[msg("A content identifier must not be empty")]
    CidEmpty,
    #[msg("A content identifier is longer than MAX_CID_LEN bytes")]
    CidTooLong,
    #[msg("The task is not open (already finalized or expired)")]
    TaskNotOpen,
    #[msg("The join deadline has passed")]
    JoinDeadlinePassed,
    #[msg("The deposit is below the task's minimum stake")]
    StakeBelowMinimum,
    #[msg("The task already has its maximum number of participants")]
    TaskFull,
    #[msg("The task authority cannot stake on its own task")]
    AuthorityCannotStake,
    #[msg("Training has started (a round is recorded): stakes are locked")]
    TrainingStarted,
    #[msg("The round index must be the next one (rounds_recorded)")]
    RoundOutOfOrder,
    #[msg("All planned rounds are already recorded")]
    RoundLimitReached,
    #[msg("The settle deadline has passed")]
    SettleDeadlinePassed,
    #[msg("The number of stake accounts does not match the list passed")]
    StakeCountMismatch,
    #[msg("A participant or stake account appears twice")]
    DuplicateStake,
    #[msg("A stake account is not the stake PDA of this task and participant")]
    StakeMismatch,
    #[msg("A stake account passed for update is not writable")]
    StakeNotWritable,
    #[msg("A participant that contributed to no round cannot get a positive score")]
    ScoreForNonContributor,
    #[msg("No participant contributed to any round: nothing to settle")]
    NoContributors,
    #[msg("The settlement window (settle deadline + grace period) is closed; expire the task")]
    SettlementWindowClosed,
    #[msg("The task is neither finalized nor expired yet")]
    NotSettled,
    #[msg("Some stakes on this task are not claimed yet")]
    StakesUnclaimed,
    #[msg("A slash must be of more than zero lamports")]
    ZeroSlash,
    #[msg("The slash would exceed the task's max slash of this stake")]
    SlashLimitExceeded,
    #[msg("A task can expire only after its settle deadline plus grace period")]
    ExpireTooEarly,
    #[msg("The task cannot be cancelled while it holds stakes or recorded rounds")]
    TaskHasStakes,
    #[msg("Arithmetic overflow or underflow")]
    ArithmeticOverflow,
    #[msg("The task account holds fewer lamports than the pool and stakes it owes")]
    VaultShortfall,
    #[msg("The join window (join deadline - now) is longer than MAX_JOIN_WINDOW")]
    JoinWindowTooLong,
    #[msg("The settle window (settle deadline - join deadline) is longer than MAX_SETTLE_WINDOW")]
    SettleWindowTooLong,
    #[msg("The grace period is longer than MAX_GRACE_PERIOD")]
    GracePeriodTooLong,
    #[msg("The reward pool is below MIN_REWARD_POOL lamports")]
    RewardPoolBelowFloor,
    #[msg("The authority's refunds would exceed what it funded and was not paid out")]
    RefundExceedsUnpaidFunding,
    #[msg(
        "An Ed25519 attestation instruction is malformed or refers to another instruction's data"
    )]
    AttestationMalformed,
    #[msg("Fewer than the task's threshold of attestors signed this exact attestation")]
    AttestationMissing,
    #[msg("This stake is already credited for this round")]
    AlreadyCredited,
    #[msg("This stake is already scored")]
    AlreadyScored,
    #[msg("The batch credits more stakes than the round announced")]
    CreditsExceeded,
    #[msg("The last recorded round still has stakes to credit")]
    CreditsPending,
    #[msg("Finalization has not begun (call task_finalize_begin first)")]
    TaskNotFinalizing,
    #[msg("Some open stakes are not scored yet")]
    StakesUnscored,
    #[msg("The posted scores do not add up to the announced total score")]
    ScoreTotalMismatch,
    #[msg("A batch must carry at least one stake account")]
    EmptyBatch,
    #[msg("Stakes must be credited or scored in strictly ascending participant key order")]
    KeysNotAscending,
    #[msg("The credited contributors do not match the attested contributors digest")]
    ContributorsDigestMismatch,
    #[msg("The posted scores do not match the attested scores digest")]
    ScoresDigestMismatch,
    #[msg("A round account is not a round record PDA of this task")]
    RoundMismatch,
    #[msg("A round account passed to be closed is not writable")]
    RoundNotWritable,
    #[msg("Some round records of this task are still open; close them with rounds_close")]
    RoundsOpen,
    #[msg("A committee is configured before any stake, once, with 2 <= threshold <= size <= MAX_ATTESTORS")]
    InvalidCommittee,
    #[msg("This task has no decryption committee")]
    NoCommittee,
    #[msg("The committee is drawn only after the join deadline")]
    DrawTooEarly,
    #[msg("The committee draw had to begin within COMMITTEE_DRAW_WINDOW of the join deadline")]
    DrawWindowClosed,
    #[msg("The committee is already drawn")]
    CommitteeAlreadyDrawn,
    #[msg("The committee draw has not gone through every stake yet")]
    CommitteeNotDrawn,
    #[msg("The committee draw began; stakes are locked")]
    DrawStarted,
    #[msg("The slot hashes sysvar holds no entry")]
    NoSlotHash,
}
