//! Shared setup for the staking program's integration tests: a native
//! runtime with the program as a builtin, PDA helpers, instruction builders
//! and error assertions.

#![allow(dead_code)]

use anchor_lang::prelude::Pubkey;
use anchor_lang::{AccountDeserialize, InstructionData, ToAccountMetas};
use solana_sdk::account::Account;
use solana_sdk::clock::Clock;
use solana_sdk::instruction::{AccountMeta, Instruction, InstructionError};
use solana_sdk::rent::Rent;
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::transaction::TransactionError;
use solana_sdk::{system_instruction, system_program};
use staking::attestation::{
    chain_contributor, chain_score, final_message, round_message, DIGEST_START,
};
use staking::instructions::{
    CommitteeConfigureArgs, ParticipantSlashArgs, RoundCreditArgs, RoundRecordArgs, ScoresPostArgs,
    StakeDepositArgs, TaskCreateArgs, TaskFinalizeBeginArgs,
};
use staking::state::{Round, Stake, Task};
use staking::{SEED_ROUND, SEED_STAKE, SEED_TASK};
use staking_harness::LocalBank;

pub const SOL: u64 = 1_000_000_000;
pub const START_TIME: i64 = 1_700_000_000;
pub const POOL: u64 = 10 * SOL;
pub const MIN_STAKE: u64 = SOL;
/// Fee of a transaction with one signature.
pub const FEE: u64 = 5_000;
/// Stakes per `round_credit` / `scores_post` batch in the helpers.
pub const BATCH: usize = 24;
pub const CID: &str = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
/// Manifest digest the helpers attest rounds with.
pub const MANIFEST_DIGEST: [u8; 32] = [5; 32];
/// Model digest the helpers attest final scores with.
pub const MODEL_DIGEST: [u8; 32] = [9; 32];

/// Anchor framework error codes asserted by the attack tests.
pub mod anchor_code {
    pub const CONSTRAINT_HAS_ONE: u32 = 2001;
    pub const CONSTRAINT_SEEDS: u32 = 2006;
    pub const ACCOUNT_DISCRIMINATOR_MISMATCH: u32 = 3002;
    pub const ACCOUNT_OWNED_BY_WRONG_PROGRAM: u32 = 3007;
    pub const INVALID_PROGRAM_ID: u32 = 3008;
    pub const ACCOUNT_NOT_SIGNER: u32 = 3010;
    pub const ACCOUNT_NOT_INITIALIZED: u32 = 3012;
    /// `SystemError::AccountAlreadyInUse` from the System Program's allocate.
    pub const SYSTEM_ACCOUNT_ALREADY_IN_USE: u32 = 0;
}

/// Program error code of a `StakingError` variant.
pub fn code(err: staking::errors::StakingError) -> u32 {
    anchor_lang::error::ERROR_CODE_OFFSET + err as u32
}

/// A started chain plus the keys of one task's actors. Only starting it is
/// async (the chain's banks server runs on the test's runtime); transactions
/// and reads run synchronously on the working bank.
pub struct Env {
    pub ctx: LocalBank,
    pub authority: Keypair,
    pub key_holder: Keypair,
    pub task_id: u64,
}

impl Env {
    /// Starts a chain at `START_TIME` with a funded authority.
    pub async fn new() -> Self {
        let ctx = LocalBank::start().await;
        let mut env = Self {
            ctx,
            authority: Keypair::new(),
            key_holder: Keypair::new(),
            task_id: 7,
        };
        env.set_time(START_TIME);
        let authority = env.authority.pubkey();
        env.airdrop(&authority, 100 * SOL);
        env
    }

    pub fn task(&self) -> Pubkey {
        task_pda(&self.authority.pubkey(), self.task_id)
    }

    /// Sends `lamports` from the genesis payer (a real transfer, so the
    /// bank's capitalization stays consistent across slot warps).
    pub fn airdrop(&mut self, address: &Pubkey, lamports: u64) {
        let payer = self.ctx.payer.insecure_clone();
        let ix = system_instruction::transfer(&payer.pubkey(), address, lamports);
        self.send(&[ix], &[&payer]).expect("airdrop");
    }

    /// A new wallet holding `lamports`.
    pub fn wallet(&mut self, lamports: u64) -> Keypair {
        let keypair = Keypair::new();
        self.airdrop(&keypair.pubkey(), lamports);
        keypair
    }

    /// Moves the clock to `unix_timestamp`, on the next slot (skipping one
    /// would warp the bank, which hashes every account).
    pub fn set_time(&mut self, unix_timestamp: i64) {
        let mut clock: Clock = self.ctx.sysvar();
        self.ctx.warp_to_slot(clock.slot + 1).expect("warp");
        clock = self.ctx.sysvar();
        clock.unix_timestamp = unix_timestamp;
        self.ctx.set_sysvar(&clock);
    }

    /// Signs with `signers` (the first pays) and executes the transaction on
    /// the working bank (a repeated one under a new blockhash).
    pub fn send(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<(), TransactionError> {
        self.ctx.execute(instructions, signers).map(drop)
    }

    pub fn lamports(&self, address: &Pubkey) -> u64 {
        self.account(address).map_or(0, |account| account.lamports)
    }

    pub fn account(&self, address: &Pubkey) -> Option<Account> {
        self.ctx.account(address)
    }

    pub fn read<T: AccountDeserialize>(&self, address: &Pubkey) -> T {
        let account = self.account(address).expect("account exists");
        T::try_deserialize(&mut account.data.as_slice()).expect("decodes")
    }

    pub fn task_state(&self) -> Task {
        let task = self.task();
        self.read::<Task>(&task)
    }

    pub fn stake_state(&self, participant: &Pubkey) -> Stake {
        let stake = stake_pda(&self.task(), participant);
        self.read::<Stake>(&stake)
    }

    pub fn round_state(&self, index: u32) -> Round {
        let round = round_pda(&self.task(), index);
        self.read::<Round>(&round)
    }

    /// Creates the default task.
    pub fn create_task(&mut self) {
        let args = default_args(self.task_id, &self.key_holder.pubkey());
        self.create_task_with(args).expect("task_create");
    }

    pub fn create_task_with(&mut self, args: TaskCreateArgs) -> Result<(), TransactionError> {
        let ix = task_create_ix(&self.authority.pubkey(), args);
        let authority = self.authority.insecure_clone();
        self.send(&[ix], &[&authority])
    }

    /// A new participant with a deposit of `amount` on the task.
    pub fn join(&mut self, amount: u64) -> Keypair {
        let participant = self.wallet(10 * SOL);
        let ix = stake_deposit_ix(&self.task(), &participant.pubkey(), amount);
        self.send(&[ix], &[&participant]).expect("stake_deposit");
        participant
    }

    /// Records the next round, attested by the key holder, and credits
    /// `contributors` (in ascending key order) in batches, one transaction
    /// each; stops at the first failure.
    pub fn record_round(&mut self, contributors: &[Pubkey]) -> Result<(), TransactionError> {
        let sorted = ascending(contributors);
        let index = self.task_state().rounds_recorded;
        let key_holder = self.key_holder.insecure_clone();
        self.record_round_attested(index, &sorted, &[&key_holder])?;
        self.credit_round(index, &sorted)
    }

    /// Records round `index` announcing `contributors` (as given), with
    /// attestations of that list by `attestors`, without crediting.
    pub fn record_round_attested(
        &mut self,
        index: u32,
        contributors: &[Pubkey],
        attestors: &[&Keypair],
    ) -> Result<(), TransactionError> {
        let count = u32::try_from(contributors.len()).expect("count");
        let digest = contributors_digest(contributors);
        let message = round_message(&self.task(), index, &MANIFEST_DIGEST, count, &digest);
        let mut ixs: Vec<Instruction> = attestors
            .iter()
            .map(|signer| ed25519_ix(signer, &message))
            .collect();
        let authority = self.authority.insecure_clone();
        ixs.push(round_record_ix(
            &authority.pubkey(),
            &self.task(),
            index,
            count,
            digest,
        ));
        self.send(&ixs, &[&authority])
    }

    /// Credits `contributors` for round `index` in batches of `BATCH`.
    pub fn credit_round(
        &mut self,
        index: u32,
        contributors: &[Pubkey],
    ) -> Result<(), TransactionError> {
        let authority = self.authority.insecure_clone();
        for batch in contributors.chunks(BATCH) {
            let ix = round_credit_ix(&authority.pubkey(), &self.task(), index, batch);
            self.send(&[ix], &[&authority])?;
        }
        Ok(())
    }

    /// Finalizes with `scores` for `participants` (same order): begin with
    /// their sum, attested by the key holder, post them in ascending key
    /// order in batches, complete. Stops at the first failure.
    pub fn finalize(
        &mut self,
        participants: &[Pubkey],
        scores: &[u64],
    ) -> Result<(), TransactionError> {
        let mut pairs: Vec<(Pubkey, u64)> = participants
            .iter()
            .copied()
            .zip(scores.iter().copied())
            .collect();
        pairs.sort();
        let (who, what): (Vec<Pubkey>, Vec<u64>) = pairs.into_iter().unzip();
        let total = scores.iter().sum();
        self.finalize_begin(total, &who, &what)?;
        self.post_scores(&who, &what)?;
        self.finalize_complete()
    }

    /// Begins finalization announcing `total_score`, attested by the key
    /// holder over the `(participants, scores)` pairs as given.
    pub fn finalize_begin(
        &mut self,
        total_score: u64,
        participants: &[Pubkey],
        scores: &[u64],
    ) -> Result<(), TransactionError> {
        let key_holder = self.key_holder.insecure_clone();
        self.finalize_begin_attested(total_score, participants, scores, &[&key_holder])
    }

    /// Begins finalization with attestations by `attestors` of `total_score`,
    /// the task's participant count and the pairs as given.
    pub fn finalize_begin_attested(
        &mut self,
        total_score: u64,
        participants: &[Pubkey],
        scores: &[u64],
        attestors: &[&Keypair],
    ) -> Result<(), TransactionError> {
        let count = self.task_state().participants;
        let digest = scores_digest(participants, scores);
        let message = final_message(&self.task(), &MODEL_DIGEST, total_score, count, &digest);
        let mut ixs: Vec<Instruction> = attestors
            .iter()
            .map(|signer| ed25519_ix(signer, &message))
            .collect();
        let authority = self.authority.insecure_clone();
        ixs.push(task_finalize_begin_ix(
            &authority.pubkey(),
            &self.task(),
            total_score,
            digest,
        ));
        self.send(&ixs, &[&authority])
    }

    pub fn post_scores(
        &mut self,
        participants: &[Pubkey],
        scores: &[u64],
    ) -> Result<(), TransactionError> {
        let authority = self.authority.insecure_clone();
        for (who, batch) in participants.chunks(BATCH).zip(scores.chunks(BATCH)) {
            let ix = scores_post_ix(&authority.pubkey(), &self.task(), who, batch);
            self.send(&[ix], &[&authority])?;
        }
        Ok(())
    }

    pub fn finalize_complete(&mut self) -> Result<(), TransactionError> {
        let authority = self.authority.insecure_clone();
        let ix = task_finalize_ix(&authority.pubkey(), &self.task());
        self.send(&[ix], &[&authority])
    }

    pub fn claim(&mut self, participant: &Keypair) -> Result<(), TransactionError> {
        let ix = reward_claim_ix(&self.task(), &participant.pubkey());
        self.send(&[ix], &[participant])
    }

    /// Claims for `participant` and returns its reward (plus any slashes
    /// given back): what it received less its remaining stake and the stake
    /// account's rent, with the fee added back.
    pub fn claim_reward(&mut self, participant: &Keypair) -> Result<u64, TransactionError> {
        let stake_key = stake_pda(&self.task(), &participant.pubkey());
        let remaining = self.read::<Stake>(&stake_key).remaining();
        let rent = self.lamports(&stake_key);
        let before = self.lamports(&participant.pubkey());
        self.claim(participant)?;
        let after = self.lamports(&participant.pubkey());
        Ok(after + FEE - before - rent - remaining)
    }

    /// Closes round records `indices` of the task in one `rounds_close`.
    pub fn close_rounds(&mut self, indices: &[u32]) -> Result<(), TransactionError> {
        let authority = self.authority.insecure_clone();
        let ix = rounds_close_ix(&authority.pubkey(), &self.task(), indices);
        self.send(&[ix], &[&authority])
    }

    /// Closes the task with `task_close`, passing round records `indices`.
    pub fn close_task(&mut self, indices: &[u32]) -> Result<(), TransactionError> {
        let authority = self.authority.insecure_clone();
        let ix = task_close_ix(&authority.pubkey(), &self.task(), indices);
        self.send(&[ix], &[&authority])
    }

    pub fn slash(&mut self, participant: &Pubkey, amount: u64) -> Result<(), TransactionError> {
        let ix = participant_slash_ix(&self.authority.pubkey(), &self.task(), participant, amount);
        let authority = self.authority.insecure_clone();
        self.send(&[ix], &[&authority])
    }

    pub fn expire(&mut self, caller: &Keypair) -> Result<(), TransactionError> {
        let ix = task_expire_ix(&caller.pubkey(), &self.task(), &self.authority.pubkey());
        self.send(&[ix], &[caller])
    }

    /// Rent of a stake account, returned to its owner by a claim or withdrawal.
    pub fn stake_rent(&self) -> u64 {
        self.rent(8 + <Stake as anchor_lang::Space>::INIT_SPACE)
    }

    /// Rent-exempt minimum of an account of `len` bytes.
    pub fn rent(&self, len: usize) -> u64 {
        self.ctx.sysvar::<Rent>().minimum_balance(len)
    }
}

/// `keys` sorted ascending (the order attestations and batches use).
pub fn ascending(keys: &[Pubkey]) -> Vec<Pubkey> {
    let mut sorted = keys.to_vec();
    sorted.sort();
    sorted
}

/// Chained digest of `contributors`, in the order given.
pub fn contributors_digest(contributors: &[Pubkey]) -> [u8; 32] {
    contributors
        .iter()
        .fold(DIGEST_START, |digest, key| chain_contributor(&digest, key))
}

/// Chained digest of `(participants, scores)` pairs, in the order given.
pub fn scores_digest(participants: &[Pubkey], scores: &[u64]) -> [u8; 32] {
    participants
        .iter()
        .zip(scores)
        .fold(DIGEST_START, |digest, (key, score)| {
            chain_score(&digest, key, *score)
        })
}

/// An Ed25519 program instruction carrying `signer`'s signature of
/// `message`, self-contained: header, offsets, key, signature, message.
pub fn ed25519_ix(signer: &Keypair, message: &[u8]) -> Instruction {
    let signature = signer.sign_message(message);
    ed25519_ix_with(&signer.pubkey(), signature.as_ref(), message)
}

pub use staking_harness::ed25519_instruction as ed25519_ix_with;

pub fn task_pda(authority: &Pubkey, task_id: u64) -> Pubkey {
    Pubkey::find_program_address(
        &[SEED_TASK, authority.as_ref(), &task_id.to_le_bytes()],
        &staking::ID,
    )
    .0
}

pub fn stake_pda(task: &Pubkey, participant: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(
        &[SEED_STAKE, task.as_ref(), participant.as_ref()],
        &staking::ID,
    )
    .0
}

pub fn round_pda(task: &Pubkey, index: u32) -> Pubkey {
    Pubkey::find_program_address(
        &[SEED_ROUND, task.as_ref(), &index.to_le_bytes()],
        &staking::ID,
    )
    .0
}

pub fn default_args(task_id: u64, key_holder: &Pubkey) -> TaskCreateArgs {
    TaskCreateArgs {
        task_id,
        reward_pool: POOL,
        min_stake: MIN_STAKE,
        max_participants: 5,
        rounds_planned: 3,
        join_deadline: START_TIME + 1_000,
        settle_deadline: START_TIME + 10_000,
        grace_period: 1_000,
        max_slash_bps: 5_000,
        key_holder: *key_holder,
        template_cid: CID.to_string(),
        he_context_cid: CID.to_string(),
    }
}

pub fn task_create_ix(authority: &Pubkey, args: TaskCreateArgs) -> Instruction {
    let task = task_pda(authority, args.task_id);
    Instruction {
        program_id: staking::ID,
        accounts: staking::accounts::TaskCreate {
            authority: *authority,
            task,
            system_program: system_program::ID,
        }
        .to_account_metas(None),
        data: staking::instruction::TaskCreate { args }.data(),
    }
}

pub fn stake_deposit_ix(task: &Pubkey, participant: &Pubkey, amount: u64) -> Instruction {
    Instruction {
        program_id: staking::ID,
        accounts: staking::accounts::StakeDeposit {
            participant: *participant,
            task: *task,
            stake: stake_pda(task, participant),
            system_program: system_program::ID,
        }
        .to_account_metas(None),
        data: staking::instruction::StakeDeposit {
            args: StakeDepositArgs { amount },
        }
        .data(),
    }
}

pub fn stake_withdraw_ix(task: &Pubkey, participant: &Pubkey) -> Instruction {
    Instruction {
        program_id: staking::ID,
        accounts: staking::accounts::StakeWithdraw {
            participant: *participant,
            task: *task,
            stake: stake_pda(task, participant),
        }
        .to_account_metas(None),
        data: staking::instruction::StakeWithdraw {}.data(),
    }
}

pub fn round_record_ix(
    authority: &Pubkey,
    task: &Pubkey,
    round_index: u32,
    contributors: u32,
    contributors_digest: [u8; 32],
) -> Instruction {
    Instruction {
        program_id: staking::ID,
        accounts: staking::accounts::RoundRecord {
            authority: *authority,
            task: *task,
            round: round_pda(task, round_index),
            instructions_sysvar: solana_sdk::sysvar::instructions::ID,
            system_program: system_program::ID,
        }
        .to_account_metas(None),
        data: staking::instruction::RoundRecord {
            args: RoundRecordArgs {
                round_index,
                manifest_cid: CID.to_string(),
                aggregate_cid: Some(CID.to_string()),
                contributors,
                manifest_digest: MANIFEST_DIGEST,
                contributors_digest,
            },
        }
        .data(),
    }
}

pub fn committee_configure_ix(
    authority: &Pubkey,
    task: &Pubkey,
    size: u8,
    threshold: u8,
) -> Instruction {
    Instruction {
        program_id: staking::ID,
        accounts: staking::accounts::CommitteeConfigure {
            authority: *authority,
            task: *task,
        }
        .to_account_metas(None),
        data: staking::instruction::CommitteeConfigure {
            args: CommitteeConfigureArgs { size, threshold },
        }
        .data(),
    }
}

/// A `committee_draw` going through the stakes of `participants` (as given).
pub fn committee_draw_ix(task: &Pubkey, participants: &[Pubkey]) -> Instruction {
    let mut accounts = staking::accounts::CommitteeDraw {
        task: *task,
        slot_hashes: solana_sdk::sysvar::slot_hashes::ID,
    }
    .to_account_metas(None);
    accounts.extend(stake_metas(task, participants));
    Instruction {
        program_id: staking::ID,
        accounts,
        data: staking::instruction::CommitteeDraw {}.data(),
    }
}

/// Stake PDAs of `participants` on `task`, writable, for remaining accounts.
pub fn stake_metas(task: &Pubkey, participants: &[Pubkey]) -> Vec<AccountMeta> {
    participants
        .iter()
        .map(|p| AccountMeta::new(stake_pda(task, p), false))
        .collect()
}

pub fn round_credit_ix(
    authority: &Pubkey,
    task: &Pubkey,
    round_index: u32,
    participants: &[Pubkey],
) -> Instruction {
    let mut accounts = staking::accounts::RoundCredit {
        authority: *authority,
        task: *task,
        round: round_pda(task, round_index),
    }
    .to_account_metas(None);
    accounts.extend(stake_metas(task, participants));
    Instruction {
        program_id: staking::ID,
        accounts,
        data: staking::instruction::RoundCredit {
            args: RoundCreditArgs { round_index },
        }
        .data(),
    }
}

pub fn task_finalize_begin_ix(
    authority: &Pubkey,
    task: &Pubkey,
    total_score: u64,
    scores_digest: [u8; 32],
) -> Instruction {
    Instruction {
        program_id: staking::ID,
        accounts: staking::accounts::TaskFinalizeBegin {
            authority: *authority,
            task: *task,
            instructions_sysvar: solana_sdk::sysvar::instructions::ID,
        }
        .to_account_metas(None),
        data: staking::instruction::TaskFinalizeBegin {
            args: TaskFinalizeBeginArgs {
                total_score,
                model_cid: CID.to_string(),
                model_digest: MODEL_DIGEST,
                scores_digest,
            },
        }
        .data(),
    }
}

pub fn scores_post_ix(
    authority: &Pubkey,
    task: &Pubkey,
    participants: &[Pubkey],
    scores: &[u64],
) -> Instruction {
    let mut accounts = staking::accounts::ScoresPost {
        authority: *authority,
        task: *task,
    }
    .to_account_metas(None);
    accounts.extend(stake_metas(task, participants));
    Instruction {
        program_id: staking::ID,
        accounts,
        data: staking::instruction::ScoresPost {
            args: ScoresPostArgs {
                scores: scores.to_vec(),
            },
        }
        .data(),
    }
}

pub fn task_finalize_ix(authority: &Pubkey, task: &Pubkey) -> Instruction {
    Instruction {
        program_id: staking::ID,
        accounts: staking::accounts::TaskFinalize {
            authority: *authority,
            task: *task,
        }
        .to_account_metas(None),
        data: staking::instruction::TaskFinalize {}.data(),
    }
}

pub fn reward_claim_ix(task: &Pubkey, participant: &Pubkey) -> Instruction {
    Instruction {
        program_id: staking::ID,
        accounts: staking::accounts::RewardClaim {
            participant: *participant,
            task: *task,
            stake: stake_pda(task, participant),
        }
        .to_account_metas(None),
        data: staking::instruction::RewardClaim {}.data(),
    }
}

pub fn participant_slash_ix(
    authority: &Pubkey,
    task: &Pubkey,
    participant: &Pubkey,
    amount: u64,
) -> Instruction {
    Instruction {
        program_id: staking::ID,
        accounts: staking::accounts::ParticipantSlash {
            authority: *authority,
            task: *task,
            stake: stake_pda(task, participant),
        }
        .to_account_metas(None),
        data: staking::instruction::ParticipantSlash {
            args: ParticipantSlashArgs {
                amount,
                evidence_cid: CID.to_string(),
            },
        }
        .data(),
    }
}

pub fn task_expire_ix(caller: &Pubkey, task: &Pubkey, authority: &Pubkey) -> Instruction {
    Instruction {
        program_id: staking::ID,
        accounts: staking::accounts::TaskExpire {
            caller: *caller,
            task: *task,
            authority: *authority,
        }
        .to_account_metas(None),
        data: staking::instruction::TaskExpire {}.data(),
    }
}

pub fn task_cancel_ix(authority: &Pubkey, task: &Pubkey) -> Instruction {
    Instruction {
        program_id: staking::ID,
        accounts: staking::accounts::TaskCancel {
            authority: *authority,
            task: *task,
        }
        .to_account_metas(None),
        data: staking::instruction::TaskCancel {}.data(),
    }
}

/// Round PDAs `indices` of `task`, writable, for remaining accounts.
pub fn round_metas(task: &Pubkey, indices: &[u32]) -> Vec<AccountMeta> {
    indices
        .iter()
        .map(|i| AccountMeta::new(round_pda(task, *i), false))
        .collect()
}

pub fn rounds_close_ix(authority: &Pubkey, task: &Pubkey, indices: &[u32]) -> Instruction {
    let mut accounts = staking::accounts::RoundsClose {
        authority: *authority,
        task: *task,
    }
    .to_account_metas(None);
    accounts.extend(round_metas(task, indices));
    Instruction {
        program_id: staking::ID,
        accounts,
        data: staking::instruction::RoundsClose {}.data(),
    }
}

pub fn task_close_ix(authority: &Pubkey, task: &Pubkey, indices: &[u32]) -> Instruction {
    let mut accounts = staking::accounts::TaskClose {
        authority: *authority,
        task: *task,
    }
    .to_account_metas(None);
    accounts.extend(round_metas(task, indices));
    Instruction {
        program_id: staking::ID,
        accounts,
        data: staking::instruction::TaskClose {}.data(),
    }
}

/// Largest transaction the network carries, in bytes (`PACKET_DATA_SIZE`).
pub const PACKET: usize = 1232;

/// Wire size of a transaction of `instructions` signed by `payer` alone.
pub fn tx_size(instructions: &[Instruction], payer: &Pubkey) -> usize {
    let message = solana_sdk::message::Message::new(instructions, Some(payer));
    let signatures = usize::from(message.header.num_required_signatures);
    // A short-vec count of signatures (one byte below 128), then the signatures.
    1 + 64 * signatures + message.serialize().len()
}

/// Asserts the transaction failed in instruction `index` with custom error `expected`.
pub fn assert_ix_error(result: Result<(), TransactionError>, index: u8, expected: u32) {
    match result {
        Err(TransactionError::InstructionError(at, InstructionError::Custom(found))) => {
            assert_eq!(
                (at, found),
                (index, expected),
                "expected error {expected} at instruction {index}"
            );
        }
        other => panic!("expected custom error {expected}, got {other:?}"),
    }
}

/// Asserts the (single-instruction) transaction failed with custom error `expected`.
pub fn assert_error(result: Result<(), TransactionError>, expected: u32) {
    assert_ix_error(result, 0, expected);
}
