//! A private chain in this process: one bank with the staking program as a
//! builtin, served to a `BanksClient` by a banks server on the current tokio
//! runtime, and freed (bank, AccountsDb and its threads) when dropped.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use solana_accounts_db::accounts_db::{
    AccountShrinkThreshold, AccountsDbConfig, CalcAccountsHashDataSource,
};
use solana_accounts_db::accounts_index::{
    AccountSecondaryIndexes, AccountsIndexConfig, IndexLimitMb, ACCOUNTS_INDEX_CONFIG_FOR_TESTING,
};
use solana_accounts_db::epoch_accounts_hash::EpochAccountsHash;
use solana_banks_client::{start_client, BanksClient};
use solana_banks_server::banks_server::start_local_server;
use solana_program_runtime::loaded_programs::LoadedProgram;
use solana_program_test::ProgramTestBanksClientExt;
use solana_runtime::accounts_background_service::{AbsRequestSender, SnapshotRequestKind};
use solana_runtime::bank::Bank;
use solana_runtime::bank_forks::BankForks;
use solana_runtime::commitment::BlockCommitmentCache;
use solana_runtime::genesis_utils::create_genesis_config_with_leader_ex;
use solana_sdk::account::AccountSharedData;
use solana_sdk::clock::Slot;
use solana_sdk::fee_calculator::{FeeRateGovernor, DEFAULT_TARGET_LAMPORTS_PER_SIGNATURE};
use solana_sdk::genesis_config::{ClusterType, GenesisConfig};
use solana_sdk::hash::Hash;
use solana_sdk::native_token::sol_to_lamports;
use solana_sdk::poh_config::PohConfig;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::rent::Rent;
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::sysvar::{Sysvar, SysvarId};
use solana_sdk::vote::state::VoteState;
use tokio::task::JoinHandle;

use crate::{builtin, install_stubs, PROGRAM_NAME};

/// Warps between two cleanings of the rooted banks, as a validator's accounts
/// background service cleans every 100 blocks.
const CLEAN_INTERVAL: u64 = 100;

/// Length of one PoH tick; 64 ticks make a slot, so a new blockhash is
/// registered every 6.4 ms while the runtime runs.
const TICK: Duration = Duration::from_micros(100);

/// A warp to a slot that is not ahead of the working bank's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotNotAhead {
    /// Slot of the working bank.
    pub current: Slot,
    /// Slot that was asked for.
    pub requested: Slot,
}

impl fmt::Display for SlotNotAhead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "slot {} is not ahead of the current slot {}",
            self.requested, self.current
        )
    }
}

impl std::error::Error for SlotNotAhead {}

/// A fresh chain: genesis, a funded payer and the staking program at
/// `staking::ID`, reached through `banks_client` or, synchronously, through
/// [`LocalBank::execute`], [`LocalBank::account`] and [`LocalBank::sysvar`].
pub struct LocalBank {
    /// Client of the banks server that executes transactions on this chain.
    pub banks_client: BanksClient,
    /// The genesis mint, funded with a million SOL.
    pub payer: Keypair,
    /// Blockhash of the working bank when it was last set up or warped to.
    pub last_blockhash: Hash,
    bank_forks: Arc<RwLock<BankForks>>,
    block_commitment_cache: Arc<RwLock<BlockCommitmentCache>>,
    blockhash_ticker: JoinHandle<()>,
    /// Warps since the rooted banks were last cleaned.
    roots_since_clean: u64,
}

impl LocalBank {
    /// Starts a chain at slot 1 on the current tokio runtime.
    pub async fn start() -> Self {
        install_stubs().await;
        let payer = Keypair::new();
        let genesis = genesis_config(&payer.pubkey());
        let bank = first_bank(&genesis);
        let slot = bank.slot();
        let last_blockhash = bank.last_blockhash();
        let bank_forks = BankForks::new_rw_arc(bank);
        let block_commitment_cache = Arc::new(RwLock::new(
            BlockCommitmentCache::new_for_tests_with_slots(slot, slot),
        ));
        let transport =
            start_local_server(bank_forks.clone(), block_commitment_cache.clone(), TICK).await;
        let banks_client = start_client(transport)
            .await
            .unwrap_or_else(|err| panic!("the banks client cannot connect: {err}"));
        let slot_duration = TICK * genesis.ticks_per_slot as u32;
        let blockhash_ticker =
            tokio::spawn(register_blockhashes(bank_forks.clone(), slot_duration));
        Self {
            banks_client,
            payer,
            last_blockhash,
            bank_forks,
            block_commitment_cache,
            blockhash_ticker,
            roots_since_clean: 0,
        }
    }

    /// Overwrites the account at `address`, bypassing the runtime's checks.
    pub fn set_account(&self, address: &Pubkey, account: &AccountSharedData) {
        self.working_bank().store_account(address, account);
    }

    /// Overwrites a sysvar, bypassing the runtime's checks.
    pub fn set_sysvar<T: SysvarId + Sysvar>(&self, sysvar: &T) {
        self.working_bank().set_sysvar_for_tests(sysvar);
    }

    /// Moves the working bank to `slot`, rooting the banks before it and
    /// cleaning the rooted ones every `CLEAN_INTERVAL` warps.
    pub fn warp_to_slot(&mut self, slot: Slot) -> Result<(), SlotNotAhead> {
        let working = self.working_bank();
        // A full slot of ticks records a new blockhash, so a transaction
        // resent after the warp gets a new signature.
        working.fill_bank_with_ticks_for_tests();
        if slot <= working.slot() {
            return Err(SlotNotAhead {
                current: working.slot(),
                requested: slot,
            });
        }
        // The new working bank's parent must be frozen; a warp bank is.
        // Freezing waits for the batch the banks server may be executing, and
        // that batch reads the BankForks (through the program cache), so no
        // BankForks lock is held until the parent is frozen. The server
        // retries a batch that finds its bank frozen on the new working bank.
        let warped = (slot - 1 != working.slot()).then(|| {
            Bank::warp_from_parent(
                working.clone(),
                &Pubkey::default(),
                slot - 1,
                CalcAccountsHashDataSource::IndexForTests,
            )
        });
        working.freeze();
        let mut forks = self
            .bank_forks
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let parent = match warped {
            Some(bank) => forks.insert(bank).clone_without_scheduler(),
            None => working,
        };
        set_root(&mut forks, parent.slot());
        forks.insert(Bank::new_from_parent(
            parent.clone(),
            &Pubkey::default(),
            slot,
        ));
        // The banks server answers from the slot the commitment cache names.
        self.block_commitment_cache
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .set_all_slots(slot, slot);
        self.last_blockhash = forks.working_bank().last_blockhash();
        drop(forks);
        self.roots_since_clean += 1;
        if self.roots_since_clean == CLEAN_INTERVAL {
            self.roots_since_clean = 0;
            clean_roots(&parent);
        }
        Ok(())
    }

    /// Waits (up to a few seconds) for a blockhash other than
    /// `last_blockhash` and makes it the new `last_blockhash`.
    pub async fn get_new_latest_blockhash(&mut self) -> std::io::Result<Hash> {
        self.last_blockhash = self
            .banks_client
            .get_new_latest_blockhash(&self.last_blockhash)
            .await?;
        Ok(self.last_blockhash)
    }

    pub(crate) fn working_bank(&self) -> Arc<Bank> {
        self.bank_forks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .working_bank()
    }
}

impl Drop for LocalBank {
    fn drop(&mut self) {
        self.blockhash_ticker.abort();
        // `BankForks::new_rw_arc` points the banks' program cache back at the
        // BankForks; without cutting that link the banks keep each other, and
        // their AccountsDb threads, alive after every handle is gone.
        self.bank_forks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .root_bank()
            .loaded_programs_cache
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .fork_graph = None;
    }
}

/// Genesis of a one-validator development cluster whose mint is `payer`,
/// charging 5000 lamports a signature.
fn genesis_config(payer: &Pubkey) -> GenesisConfig {
    let rent = Rent::default();
    let fee_rate_governor = FeeRateGovernor {
        lamports_per_signature: DEFAULT_TARGET_LAMPORTS_PER_SIGNATURE / 2,
        ..FeeRateGovernor::default()
    };
    let validator_stake = rent.minimum_balance(VoteState::size_of()) + sol_to_lamports(1_000_000.0);
    let mut genesis = create_genesis_config_with_leader_ex(
        sol_to_lamports(1_000_000.0),
        payer,
        &Pubkey::new_unique(),
        &Pubkey::new_unique(),
        &Pubkey::new_unique(),
        validator_stake,
        42,
        fee_rate_governor,
        rent,
        ClusterType::Development,
        Vec::new(),
    );
    genesis.poh_config = PohConfig::new_sleep(TICK);
    genesis
}

/// The bank of slot 1, child of the genesis bank with the staking program
/// added as a builtin.
fn first_bank(genesis: &GenesisConfig) -> Bank {
    let mut bank = Bank::new_with_paths(
        genesis,
        Arc::default(),
        Vec::new(),
        None,
        None,
        AccountSecondaryIndexes::default(),
        AccountShrinkThreshold::default(),
        false,
        Some(accounts_db_config()),
        None,
        None,
        Arc::default(),
    );
    bank.add_builtin(
        staking::ID,
        PROGRAM_NAME.to_string(),
        LoadedProgram::new_builtin(0, PROGRAM_NAME.len(), builtin()),
    );
    let genesis_bank = Arc::new(bank);
    genesis_bank.fill_bank_with_ticks_for_tests();
    Bank::new_from_parent(genesis_bank.clone(), genesis_bank.collector_id(), 1)
}

/// The accounts index for a chain of a few hundred accounts: in memory, in
/// upstream's test configuration (two bins, one background thread). The
/// default backs it with disk buckets in 8192 bins, and its background
/// threads, woken whenever an index range is held (every accounts hash, so
/// every warp), walk all the bins: that costs more than the transactions.
fn accounts_db_config() -> AccountsDbConfig {
    AccountsDbConfig {
        index: Some(AccountsIndexConfig {
            index_limit_mb: IndexLimitMb::InMemOnly,
            ..ACCOUNTS_INDEX_CONFIG_FOR_TESTING
        }),
        ..AccountsDbConfig::default()
    }
}

/// Roots `slot`, completing at once the epoch accounts hash that rooting may
/// request: no background service computes it here, and a later bank would
/// wait for it forever when frozen.
fn set_root(forks: &mut BankForks, slot: Slot) {
    let (requests, requested) = crossbeam_channel::unbounded();
    forks.set_root(slot, &AbsRequestSender::new(requests), Some(slot));
    for request in requested.try_iter() {
        if request.request_kind == SnapshotRequestKind::EpochAccountsHash {
            let bank = &request.snapshot_root_bank;
            bank.rc
                .accounts
                .accounts_db
                .epoch_accounts_hash_manager
                .set_valid(EpochAccountsHash::new(Hash::new_unique()), bank.slot());
        }
    }
}

/// Does for the banks rooted up to `root` what a validator's accounts
/// background service does: writes their cached accounts to storage (the
/// latest version of each only), then drops from the index and the storage
/// the versions no bank reads any more, and the accounts closed at zero
/// lamports. Without it every rooted slot's accounts stay in the cache and
/// every account's index entry lists every slot that wrote it, so memory and
/// reads grow with every warp.
fn clean_roots(root: &Bank) {
    root.force_flush_accounts_cache();
    root.rc.accounts.accounts_db.clean_accounts(
        Some(root.slot()),
        false,
        None,
        root.epoch_schedule(),
    );
    root.shrink_candidate_slots();
}

/// Registers a new blockhash on the working bank every `slot_duration`, as a
/// validator's PoH service would, so identical transactions sent in series
/// get distinct signatures. A bank being frozen (a warp) is left alone: its
/// freeze lock is held while registering, as the banks server holds it while
/// executing.
async fn register_blockhashes(bank_forks: Arc<RwLock<BankForks>>, slot_duration: Duration) {
    loop {
        tokio::time::sleep(slot_duration).await;
        let bank = bank_forks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .working_bank();
        let frozen_hash = bank.freeze_lock();
        if *frozen_hash == Hash::default() {
            bank.register_unique_recent_blockhash_for_test();
        }
    }
}
