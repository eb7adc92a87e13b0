//! Small checks and lamport moves shared by several instructions.

use anchor_lang::prelude::*;

use crate::constants::{MAX_CID_LEN, SEED_ROUND, SEED_STAKE};
use crate::errors::StakingError;
use crate::state::{Round, Stake};

/// Fails unless `cid` is non-empty and at most `MAX_CID_LEN` bytes.
pub fn validate_cid(cid: &str) -> Result<()> {
    require!(!cid.is_empty(), StakingError::CidEmpty);
    require!(cid.len() <= MAX_CID_LEN, StakingError::CidTooLong);
    Ok(())
}

/// Moves lamports out of an account this program owns.
///
/// The runtime only lets the owner debit an account, so the task (owned by
/// this program) pays out by direct lamport arithmetic, never by a CPI.
pub fn pay_out(from: &AccountInfo, to: &AccountInfo, amount: u64) -> Result<()> {
    if amount == 0 {
        return Ok(());
    }
    let from_balance = from
        .lamports()
        .checked_sub(amount)
        .ok_or_else(|| error!(StakingError::VaultShortfall))?;
    let to_balance = to
        .lamports()
        .checked_add(amount)
        .ok_or_else(|| error!(StakingError::ArithmeticOverflow))?;
    **from.try_borrow_mut_lamports()? = from_balance;
    **to.try_borrow_mut_lamports()? = to_balance;
    Ok(())
}

/// Loads a stake passed in `remaining_accounts` and checks it is the stake
/// PDA of `task` (and of `participant`, when given) and writable.
pub fn load_task_stake<'info>(
    info: &'info AccountInfo<'info>,
    task: &Pubkey,
    participant: Option<&Pubkey>,
) -> Result<Account<'info, Stake>> {
    require!(info.is_writable, StakingError::StakeNotWritable);
    // Checks owner and discriminator: a Task or Round passed here is refused.
    let stake = Account::<Stake>::try_from(info)?;
    require_keys_eq!(stake.task, *task, StakingError::StakeMismatch);
    if let Some(participant) = participant {
        require_keys_eq!(stake.participant, *participant, StakingError::StakeMismatch);
    }
    let expected = Pubkey::create_program_address(
        &[
            SEED_STAKE,
            task.as_ref(),
            stake.participant.as_ref(),
            &[stake.bump],
        ],
        &crate::ID,
    )
    .map_err(|_| error!(StakingError::StakeMismatch))?;
    require_keys_eq!(expected, info.key(), StakingError::StakeMismatch);
    Ok(stake)
}

/// Loads a round record passed in `remaining_accounts` and checks it is the
/// round PDA of `task` and writable (it is about to be closed).
pub fn load_task_round<'info>(
    info: &'info AccountInfo<'info>,
    task: &Pubkey,
) -> Result<Account<'info, Round>> {
    require!(info.is_writable, StakingError::RoundNotWritable);
    // Checks owner and discriminator: a Task or Stake passed here is refused,
    // and so is a record already closed (AccountNotInitialized).
    let round = Account::<Round>::try_from(info)?;
    require_keys_eq!(round.task, *task, StakingError::RoundMismatch);
    let expected = Pubkey::create_program_address(
        &[
            SEED_ROUND,
            task.as_ref(),
            &round.index.to_le_bytes(),
            &[round.bump],
        ],
        &crate::ID,
    )
    .map_err(|_| error!(StakingError::RoundMismatch))?;
    require_keys_eq!(expected, info.key(), StakingError::RoundMismatch);
    Ok(round)
}
