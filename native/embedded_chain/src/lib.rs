//! `embedded_chain`: an in-process Solana runtime (the harness's `LocalBank`: a
//! bank, a banks server and a BanksClient on the chain's own tokio runtime)
//! with the staking program executed natively as a builtin. Dropping a `Chain`
//! stops its runtime and frees its bank.
//!
//! Python hands in transactions signed and serialized by `solders`; they run
//! through the same runtime checks (signatures, fees, account ownership, CPI
//! to the System Program) as on a validator.

// pyo3 0.22's #[pymethods] expansion converts PyErr into PyErr, which
// recent clippy flags in the user's crate.
#![allow(clippy::useless_conversion)]

use std::sync::{Mutex, MutexGuard};

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use solana_program_test::BanksClientError;
use solana_sdk::account::{AccountSharedData, ReadableAccount, WritableAccount};
use solana_sdk::clock::Clock;
use solana_sdk::feature_set::FeatureSet;
use solana_sdk::instruction::InstructionError;
use solana_sdk::message::{Message, VersionedMessage};
use solana_sdk::precompiles::verify_if_precompile;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Signer;
use solana_sdk::system_instruction;
use solana_sdk::transaction::{Transaction, TransactionError, VersionedTransaction};
use staking_harness::LocalBank;
use tokio::runtime::Runtime;

create_exception!(embedded_chain, ChainError, PyException);

fn chain_error(err: impl std::fmt::Display) -> PyErr {
    ChainError::new_err(err.to_string())
}

fn pubkey(bytes: &[u8]) -> PyResult<Pubkey> {
    Pubkey::try_from(bytes).map_err(|_| chain_error("an address must be 32 bytes"))
}

/// Outcome of one submitted transaction.
#[pyclass(module = "embedded_chain", frozen, get_all)]
pub struct TransactionOutcome {
    /// First signature of the transaction (64 bytes).
    signature: Py<PyBytes>,
    /// Whether the transaction executed successfully.
    ok: bool,
    /// Debug rendering of the runtime's error, if any.
    error: Option<String>,
    /// The runtime's error as JSON, exactly as a validator's RPC reports `err`.
    error_json: Option<String>,
    /// Whether the transaction was recorded (executed, fee charged), even if an
    /// instruction failed; false when it was rejected before execution.
    committed: bool,
    /// Index of the failing instruction, if the error was an instruction error.
    instruction_index: Option<u8>,
    /// Custom program error code (e.g. 6000+ for `StakingError`), if any.
    custom_code: Option<u32>,
    /// Log lines of the transaction.
    logs: Vec<String>,
    /// Compute units the runtime reports as consumed.
    compute_units: u64,
    /// Lamports the runtime charges as fee for this message.
    fee: u64,
}

/// An account as stored on the chain.
#[pyclass(module = "embedded_chain", frozen, get_all)]
pub struct AccountData {
    /// Balance in lamports.
    lamports: u64,
    /// Owning program (32 bytes).
    owner: Py<PyBytes>,
    /// Account data.
    data: Py<PyBytes>,
    /// Whether the account is an executable program.
    executable: bool,
}

/// An in-process chain with the staking program deployed as a builtin.
#[pyclass(module = "embedded_chain", frozen)]
pub struct Chain {
    runtime: Runtime,
    context: Mutex<LocalBank>,
}

impl Chain {
    /// Whether a transaction with `tx`'s signature has already been processed.
    fn already_processed(&self, context: &mut LocalBank, tx: &Transaction) -> PyResult<bool> {
        let signature = tx.signatures.first().copied().unwrap_or_default();
        let status = self
            .runtime
            .block_on(context.banks_client.get_transaction_status(signature))
            .map_err(chain_error)?;
        Ok(status.is_some())
    }

    fn context(&self) -> PyResult<MutexGuard<'_, LocalBank>> {
        self.context
            .lock()
            .map_err(|_| chain_error("the chain was poisoned by an earlier panic"))
    }
}

/// The checks a validator's signature-verification stage makes before a
/// transaction reaches the bank: every signature, and every precompile
/// instruction (ed25519, secp256k1). BanksClient's `process_transaction`
/// makes them, but `process_transaction_with_metadata` does not, so without
/// this anyone could send a transaction "signed" by any wallet.
fn verify(tx: &Transaction) -> Result<(), TransactionError> {
    tx.verify()?;
    tx.verify_precompiles(&FeatureSet::all_enabled())
}

/// [`verify`] for a legacy or v0 transaction. A program id is always a static
/// key, so the precompile instructions are found without address lookups.
fn verify_versioned(tx: &VersionedTransaction) -> Result<(), TransactionError> {
    tx.verify_and_hash_message()?;
    let keys = tx.message.static_account_keys();
    let instructions = tx.message.instructions();
    for instruction in instructions {
        let program_id = keys
            .get(usize::from(instruction.program_id_index))
            .ok_or(TransactionError::AccountNotFound)?;
        verify_if_precompile(
            program_id,
            instruction,
            instructions,
            &FeatureSet::all_enabled(),
        )
        .map_err(|_| TransactionError::InvalidAccountIndex)?;
    }
    Ok(())
}

/// What the runtime reported for one transaction, executed or simulated.
struct Execution {
    result: Result<(), TransactionError>,
    logs: Vec<String>,
    compute_units: u64,
    committed: bool,
}

fn executed(
    result: Result<solana_program_test::BanksTransactionResultWithMetadata, BanksClientError>,
) -> Result<Execution, BanksClientError> {
    match result {
        Ok(with_meta) => {
            let committed = with_meta.metadata.is_some();
            let (logs, compute_units) = with_meta
                .metadata
                .map(|m| (m.log_messages, m.compute_units_consumed))
                .unwrap_or_default();
            Ok(Execution {
                result: with_meta.result,
                logs,
                compute_units,
                committed,
            })
        }
        Err(BanksClientError::TransactionError(err))
        | Err(BanksClientError::SimulationError { err, .. }) => Ok(Execution {
            result: Err(err),
            logs: Vec::new(),
            compute_units: 0,
            committed: false,
        }),
        Err(other) => Err(other),
    }
}

fn outcome(
    py: Python<'_>,
    signature: &[u8],
    fee: u64,
    execution: Result<Execution, BanksClientError>,
) -> TransactionOutcome {
    let Execution {
        result,
        logs,
        compute_units,
        committed,
    } = match execution {
        Ok(execution) => execution,
        Err(other) => {
            return TransactionOutcome {
                signature: PyBytes::new_bound(py, signature).unbind(),
                ok: false,
                error: Some(other.to_string()),
                error_json: None,
                committed: false,
                instruction_index: None,
                custom_code: None,
                logs: Vec::new(),
                compute_units: 0,
                fee: 0,
            }
        }
    };
    let (instruction_index, custom_code) = match &result {
        Err(TransactionError::InstructionError(index, InstructionError::Custom(code))) => {
            (Some(*index), Some(*code))
        }
        Err(TransactionError::InstructionError(index, _)) => (Some(*index), None),
        _ => (None, None),
    };
    let error_json = result
        .as_ref()
        .err()
        .and_then(|e| serde_json::to_string(e).ok());
    TransactionOutcome {
        signature: PyBytes::new_bound(py, signature).unbind(),
        ok: result.is_ok(),
        error: result.err().map(|e| format!("{e:?}")),
        error_json,
        committed,
        instruction_index,
        custom_code,
        logs,
        compute_units,
        fee,
    }
}

#[pymethods]
impl Chain {
    /// Starts a fresh chain (genesis, funded payer, staking program).
    #[new]
    fn new(py: Python<'_>) -> PyResult<Self> {
        // solana-program-test logs every instruction at debug level unless
        // told otherwise; keep Python's stderr quiet by default.
        if std::env::var_os("RUST_LOG").is_none() {
            std::env::set_var("RUST_LOG", "off");
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(chain_error)?;
        let context = py.allow_threads(|| runtime.block_on(LocalBank::start()));
        Ok(Self {
            runtime,
            context: Mutex::new(context),
        })
    }

    /// Address of the staking program (32 bytes).
    #[staticmethod]
    fn program_id(py: Python<'_>) -> Py<PyBytes> {
        PyBytes::new_bound(py, staking::ID.as_ref()).unbind()
    }

    /// The genesis payer's keypair as 64 bytes (secret || public), funded.
    fn payer_keypair(&self, py: Python<'_>) -> PyResult<Py<PyBytes>> {
        let bytes = self.context()?.payer.to_bytes();
        Ok(PyBytes::new_bound(py, &bytes).unbind())
    }

    /// Transfers `lamports` from the genesis payer to `address`.
    ///
    /// A real transfer (not a state overwrite) keeps the bank's
    /// capitalization consistent, which slot warps verify. A new account
    /// must receive at least the rent-exempt minimum for 0 bytes.
    fn airdrop(&self, py: Python<'_>, address: &[u8], lamports: u64) -> PyResult<()> {
        let address = pubkey(address)?;
        py.allow_threads(|| {
            let mut context = self.context()?;
            let payer = context.payer.insecure_clone();
            let ix = system_instruction::transfer(&payer.pubkey(), &address, lamports);
            let mut blockhash = self
                .runtime
                .block_on(context.banks_client.get_latest_blockhash())
                .map_err(chain_error)?;
            let mut tx = Transaction::new_signed_with_payer(
                std::slice::from_ref(&ix),
                Some(&payer.pubkey()),
                &[&payer],
                blockhash,
            );
            // The same airdrop twice in one slot has the same signature and
            // would be silently deduplicated; sign it with the next blockhash.
            while self.already_processed(&mut context, &tx)? {
                blockhash = self
                    .runtime
                    .block_on(context.get_new_latest_blockhash())
                    .map_err(chain_error)?;
                tx.sign(&[&payer], blockhash);
            }
            self.runtime
                .block_on(context.banks_client.process_transaction(tx))
                .map_err(|err| chain_error(format!("airdrop failed: {err}")))
        })
    }

    /// Latest blockhash (32 bytes) to sign transactions with.
    fn latest_blockhash(&self, py: Python<'_>) -> PyResult<Py<PyBytes>> {
        let hash = py.allow_threads(|| {
            let mut context = self.context()?;
            self.runtime
                .block_on(context.banks_client.get_latest_blockhash())
                .map_err(chain_error)
        })?;
        Ok(PyBytes::new_bound(py, hash.as_ref()).unbind())
    }

    /// Executes a signed, bincode-serialized legacy transaction.
    fn send_transaction(&self, py: Python<'_>, transaction: &[u8]) -> PyResult<TransactionOutcome> {
        let tx: Transaction = bincode::deserialize(transaction)
            .map_err(|e| chain_error(format!("not a serialized transaction: {e}")))?;
        let signature = tx.signatures.first().copied().unwrap_or_default();
        let (fee, result) = py.allow_threads(|| {
            let mut context = self.context()?;
            if self.already_processed(&mut context, &tx)? {
                // A validator drops a resent transaction instead of running it again.
                return Ok((
                    0,
                    executed(Err(BanksClientError::TransactionError(
                        TransactionError::AlreadyProcessed,
                    ))),
                ));
            }
            if let Err(err) = verify(&tx) {
                // Refused before execution, as by a validator: no fee is taken.
                return Ok((0, executed(Err(BanksClientError::TransactionError(err)))));
            }
            let client = &mut context.banks_client;
            let fee = self
                .runtime
                .block_on(client.get_fee_for_message(tx.message.clone()))
                .map_err(chain_error)?
                .unwrap_or(0);
            let result = self
                .runtime
                .block_on(client.process_transaction_with_metadata(tx));
            Ok::<_, PyErr>((fee, executed(result)))
        })?;
        Ok(outcome(py, signature.as_ref(), fee, result))
    }

    /// Runs a signed, bincode-serialized legacy transaction without recording
    /// it (a validator's preflight). Signatures are not verified here.
    fn simulate_transaction(
        &self,
        py: Python<'_>,
        transaction: &[u8],
    ) -> PyResult<TransactionOutcome> {
        let tx: Transaction = bincode::deserialize(transaction)
            .map_err(|e| chain_error(format!("not a serialized transaction: {e}")))?;
        let signature = tx.signatures.first().copied().unwrap_or_default();
        let (fee, result) = py.allow_threads(|| {
            let mut context = self.context()?;
            let client = &mut context.banks_client;
            let fee = self
                .runtime
                .block_on(client.get_fee_for_message(tx.message.clone()))
                .map_err(chain_error)?
                .unwrap_or(0);
            let result = self
                .runtime
                .block_on(client.simulate_transaction(tx))
                .map(|simulation| {
                    let (logs, compute_units) = simulation
                        .simulation_details
                        .map(|d| (d.logs, d.units_consumed))
                        .unwrap_or_default();
                    Execution {
                        result: simulation.result.unwrap_or(Ok(())),
                        logs,
                        compute_units,
                        committed: false,
                    }
                });
            Ok::<_, PyErr>((fee, result))
        })?;
        Ok(outcome(py, signature.as_ref(), fee, result))
    }

    /// The account at `address`, or None if it does not exist.
    fn get_account(&self, py: Python<'_>, address: &[u8]) -> PyResult<Option<AccountData>> {
        let address = pubkey(address)?;
        let account = py.allow_threads(|| {
            let mut context = self.context()?;
            self.runtime
                .block_on(context.banks_client.get_account(address))
                .map_err(chain_error)
        })?;
        Ok(account.map(|a| AccountData {
            lamports: a.lamports,
            owner: PyBytes::new_bound(py, a.owner().as_ref()).unbind(),
            data: PyBytes::new_bound(py, a.data()).unbind(),
            executable: a.executable,
        }))
    }

    /// Lamports an account of `size` bytes needs to be rent exempt.
    fn minimum_balance_for_rent_exemption(&self, py: Python<'_>, size: usize) -> PyResult<u64> {
        py.allow_threads(|| {
            let mut context = self.context()?;
            let rent = self
                .runtime
                .block_on(context.banks_client.get_rent())
                .map_err(chain_error)?;
            Ok(rent.minimum_balance(size))
        })
    }

    /// Current cluster time (Clock sysvar `unix_timestamp`).
    fn unix_timestamp(&self, py: Python<'_>) -> PyResult<i64> {
        py.allow_threads(|| {
            let mut context = self.context()?;
            let clock: Clock = self
                .runtime
                .block_on(context.banks_client.get_sysvar())
                .map_err(chain_error)?;
            Ok(clock.unix_timestamp)
        })
    }

    /// Advances to a new slot and sets the Clock's `unix_timestamp`.
    ///
    /// The new slot also yields a new blockhash, so a transaction identical to
    /// an earlier one gets a fresh signature.
    fn set_unix_timestamp(&self, py: Python<'_>, unix_timestamp: i64) -> PyResult<()> {
        py.allow_threads(|| {
            let mut context = self.context()?;
            let clock: Clock = self
                .runtime
                .block_on(context.banks_client.get_sysvar())
                .map_err(chain_error)?;
            context.warp_to_slot(clock.slot + 2).map_err(chain_error)?;
            let mut clock: Clock = self
                .runtime
                .block_on(context.banks_client.get_sysvar())
                .map_err(chain_error)?;
            clock.unix_timestamp = unix_timestamp;
            context.set_sysvar(&clock);
            Ok(())
        })
    }

    /// Payer address (32 bytes).
    fn payer(&self, py: Python<'_>) -> PyResult<Py<PyBytes>> {
        let key = self.context()?.payer.pubkey();
        Ok(PyBytes::new_bound(py, key.as_ref()).unbind())
    }

    // -- for a long-running local chain service: versioned transactions,
    // wall-clock slots and restoring saved accounts.

    /// Starts a fresh chain whose blockhashes last as long as a validator's.
    ///
    /// A chain registers a new blockhash every 6.4 ms from a background
    /// task, so a blockhash expires (150 of them) after about a
    /// second. Here that task shares one thread with the calls into the chain
    /// and runs only during them: blockhashes are registered per call and per
    /// slot, and nothing runs while the chain is idle.
    #[staticmethod]
    fn paced(py: Python<'_>) -> PyResult<Self> {
        if std::env::var_os("RUST_LOG").is_none() {
            std::env::set_var("RUST_LOG", "off");
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(chain_error)?;
        let context = py.allow_threads(|| runtime.block_on(LocalBank::start()));
        Ok(Self {
            runtime,
            context: Mutex::new(context),
        })
    }

    /// The feature-set id a validator of this runtime reports in `getVersion`.
    #[staticmethod]
    fn feature_set_id() -> u32 {
        let id = solana_sdk::feature_set::ID.to_bytes();
        u32::from_le_bytes([id[0], id[1], id[2], id[3]])
    }

    /// Executes a signed, bincode-serialized legacy or v0 transaction.
    fn send_versioned_transaction(
        &self,
        py: Python<'_>,
        transaction: &[u8],
    ) -> PyResult<TransactionOutcome> {
        let tx = versioned(transaction)?;
        let signature = tx.signatures.first().copied().unwrap_or_default();
        let (fee, result) = py.allow_threads(|| {
            let mut context = self.context()?;
            let status = self
                .runtime
                .block_on(context.banks_client.get_transaction_status(signature))
                .map_err(chain_error)?;
            if status.is_some() {
                return Ok((
                    0,
                    executed(Err(BanksClientError::TransactionError(
                        TransactionError::AlreadyProcessed,
                    ))),
                ));
            }
            if let Err(err) = verify_versioned(&tx) {
                // Refused before execution, as by a validator: no fee is taken.
                return Ok((0, executed(Err(BanksClientError::TransactionError(err)))));
            }
            let client = &mut context.banks_client;
            let fee = match legacy_message(tx.message.clone()) {
                Some(message) => self
                    .runtime
                    .block_on(client.get_fee_for_message(message))
                    .map_err(chain_error)?
                    .unwrap_or(0),
                None => 0,
            };
            let result = self
                .runtime
                .block_on(client.process_transaction_with_metadata(tx));
            Ok::<_, PyErr>((fee, executed(result)))
        })?;
        Ok(outcome(py, signature.as_ref(), fee, result))
    }

    /// Runs a bincode-serialized legacy or v0 transaction without recording it.
    /// Signatures are not verified here.
    fn simulate_versioned_transaction(
        &self,
        py: Python<'_>,
        transaction: &[u8],
    ) -> PyResult<TransactionOutcome> {
        let tx = versioned(transaction)?;
        let signature = tx.signatures.first().copied().unwrap_or_default();
        let (fee, result) = py.allow_threads(|| {
            let mut context = self.context()?;
            let client = &mut context.banks_client;
            let fee = match legacy_message(tx.message.clone()) {
                Some(message) => self
                    .runtime
                    .block_on(client.get_fee_for_message(message))
                    .map_err(chain_error)?
                    .unwrap_or(0),
                None => 0,
            };
            let result = self
                .runtime
                .block_on(client.simulate_transaction(tx))
                .map(|simulation| {
                    let (logs, compute_units) = simulation
                        .simulation_details
                        .map(|d| (d.logs, d.units_consumed))
                        .unwrap_or_default();
                    Execution {
                        result: simulation.result.unwrap_or(Ok(())),
                        logs,
                        compute_units,
                        committed: false,
                    }
                });
            Ok::<_, PyErr>((fee, result))
        })?;
        Ok(outcome(py, signature.as_ref(), fee, result))
    }

    /// Fee in lamports for a bincode-serialized legacy or v0 message, or None
    /// when its blockhash is unknown or expired (as `getFeeForMessage`).
    fn fee_for_message(&self, py: Python<'_>, message: &[u8]) -> PyResult<Option<u64>> {
        let message: VersionedMessage = bincode::deserialize(message)
            .map_err(|e| chain_error(format!("not a serialized message: {e}")))?;
        let message = legacy_message(message)
            .ok_or_else(|| chain_error("address table lookups are not supported"))?;
        py.allow_threads(|| {
            let mut context = self.context()?;
            self.runtime
                .block_on(context.banks_client.get_fee_for_message(message))
                .map_err(chain_error)
        })
    }

    /// Whether `blockhash` (32 bytes) is still accepted for new transactions.
    fn is_blockhash_valid(&self, py: Python<'_>, blockhash: &[u8]) -> PyResult<bool> {
        let hash = solana_sdk::hash::Hash::new_from_array(
            blockhash
                .try_into()
                .map_err(|_| chain_error("a blockhash must be 32 bytes"))?,
        );
        py.allow_threads(|| {
            let mut context = self.context()?;
            // The bank prices a message only while its blockhash is in the queue.
            let payer = context.payer.pubkey();
            let probe = Message::new_with_blockhash(&[], Some(&payer), &hash);
            let fee = self
                .runtime
                .block_on(context.banks_client.get_fee_for_message(probe))
                .map_err(chain_error)?;
            Ok(fee.is_some())
        })
    }

    /// Current slot (Clock sysvar `slot`).
    fn slot(&self, py: Python<'_>) -> PyResult<u64> {
        py.allow_threads(|| {
            let mut context = self.context()?;
            let clock: Clock = self
                .runtime
                .block_on(context.banks_client.get_sysvar())
                .map_err(chain_error)?;
            Ok(clock.slot)
        })
    }

    /// Moves to `slot` (which must be ahead of the current one; a new slot
    /// also records a new blockhash) and sets the Clock's `unix_timestamp`.
    fn warp(&self, py: Python<'_>, slot: u64, unix_timestamp: i64) -> PyResult<()> {
        py.allow_threads(|| {
            let mut context = self.context()?;
            context
                .warp_to_slot(slot)
                .map_err(|e| chain_error(format!("cannot warp: {e}")))?;
            let mut clock: Clock = self
                .runtime
                .block_on(context.banks_client.get_sysvar())
                .map_err(chain_error)?;
            clock.unix_timestamp = unix_timestamp;
            context.set_sysvar(&clock);
            Ok(())
        })
    }

    /// Writes an account (e.g. one restored from a saved state), taking the
    /// lamports it gains from the genesis payer, or giving back those it
    /// loses, so the total supply (which slot warps verify) is unchanged.
    fn restore_account(
        &self,
        py: Python<'_>,
        address: &[u8],
        lamports: u64,
        owner: &[u8],
        data: &[u8],
        executable: bool,
    ) -> PyResult<()> {
        let address = pubkey(address)?;
        let owner = pubkey(owner)?;
        py.allow_threads(|| {
            let mut context = self.context()?;
            let payer = context.payer.pubkey();
            if address == payer {
                return Err(chain_error("the genesis payer cannot be restored"));
            }
            let client = &mut context.banks_client;
            let before = self
                .runtime
                .block_on(client.get_account(address))
                .map_err(chain_error)?
                .map_or(0, |a| a.lamports);
            let mut funder = self
                .runtime
                .block_on(client.get_account(payer))
                .map_err(chain_error)?
                .ok_or_else(|| chain_error("the genesis payer has no account"))?;
            let funds = i128::from(funder.lamports) + i128::from(before) - i128::from(lamports);
            funder.lamports = u64::try_from(funds)
                .map_err(|_| chain_error("the genesis payer cannot fund this account"))?;
            let mut account = AccountSharedData::new(lamports, data.len(), &owner);
            account.set_data_from_slice(data);
            account.set_executable(executable);
            account.set_rent_epoch(u64::MAX);
            context.set_account(&payer, &AccountSharedData::from(funder));
            context.set_account(&address, &account);
            Ok(())
        })
    }
}

/// The legacy form of a message, for the fee: a v0 message without address
/// table lookups names the same accounts and instructions.
fn legacy_message(message: VersionedMessage) -> Option<Message> {
    match message {
        VersionedMessage::Legacy(message) => Some(message),
        VersionedMessage::V0(v0) if v0.address_table_lookups.is_empty() => Some(Message {
            header: v0.header,
            account_keys: v0.account_keys,
            recent_blockhash: v0.recent_blockhash,
            instructions: v0.instructions,
        }),
        VersionedMessage::V0(_) => None,
    }
}

fn versioned(transaction: &[u8]) -> PyResult<VersionedTransaction> {
    bincode::deserialize(transaction)
        .map_err(|e| chain_error(format!("not a serialized transaction: {e}")))
}

#[pymodule]
fn embedded_chain(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Chain>()?;
    m.add_class::<TransactionOutcome>()?;
    m.add_class::<AccountData>()?;
    m.add("ChainError", m.py().get_type_bound::<ChainError>())?;
    Ok(())
}
