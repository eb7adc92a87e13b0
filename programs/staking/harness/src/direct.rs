//! Synchronous access to a [`LocalBank`]'s working bank, for tests that send
//! many transactions. The banks client path costs an RPC round trip for every
//! read, a hop to the server's executing thread for every transaction and a
//! status poll that sleeps at least a millisecond; here each call runs on the
//! caller's thread. Transactions are refused exactly as the banks server
//! refuses them before they reach the bank.

use solana_accounts_db::transaction_results::TransactionExecutionResult;
use solana_runtime::bank::Bank;
use solana_sdk::account::{from_account, Account};
use solana_sdk::instruction::Instruction;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::sysvar::{Sysvar, SysvarId};
use solana_sdk::transaction::{
    MessageHash, SanitizedTransaction, Transaction, TransactionError, VersionedTransaction,
};

use crate::LocalBank;

impl LocalBank {
    /// Signs `instructions` with `signers`, the first paying the fee, and
    /// executes them on the working bank. Returns the transaction's log.
    ///
    /// Sent again under the same blockhash, the same instructions and signers
    /// make the same transaction, which the bank's status cache would answer
    /// with `AlreadyProcessed`; on a validator the blockhash moves on between
    /// two sends. So when the bank has already processed this very
    /// transaction, a new blockhash is registered and it is signed again. The
    /// status cache is the bank's own, pruned as slots are rooted.
    ///
    /// Panics when `signers` is empty or does not match the instructions'
    /// signers.
    pub fn execute(
        &self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Vec<String>, TransactionError> {
        let bank = self.working_bank();
        let payer = signers.first().expect("a fee payer").pubkey();
        loop {
            let blockhash = bank.last_blockhash();
            let tx =
                Transaction::new_signed_with_payer(instructions, Some(&payer), signers, blockhash);
            if bank
                .get_signature_status_with_blockhash(&tx.signatures[0], &blockhash)
                .is_none()
            {
                return verify_and_process(&bank, tx.into());
            }
            bank.register_unique_recent_blockhash_for_test();
        }
    }

    /// The account at `address` in the working bank; `None` once it holds no
    /// lamports, as the banks server answers.
    pub fn account(&self, address: &Pubkey) -> Option<Account> {
        self.working_bank().get_account(address).map(Account::from)
    }

    /// A sysvar as the working bank holds it.
    pub fn sysvar<T: SysvarId + Sysvar>(&self) -> T {
        let account = self
            .working_bank()
            .get_account(&T::id())
            .expect("every bank holds its sysvars");
        from_account(&account).expect("a sysvar account decodes")
    }
}

/// Refuses `tx` as the banks server does before executing it: one that does
/// not sanitize, or whose signatures or precompile instructions (ed25519
/// attestations, say) do not verify. The bank itself checks neither: a
/// validator verifies both in its signature-verification stage, before
/// banking. Then executes it on `bank`.
fn verify_and_process(
    bank: &Bank,
    tx: VersionedTransaction,
) -> Result<Vec<String>, TransactionError> {
    let sanitized =
        SanitizedTransaction::try_create(tx.clone(), MessageHash::Compute, Some(false), bank)?;
    sanitized.verify()?;
    sanitized.verify_precompiles(&bank.feature_set)?;
    match bank.process_transaction_with_metadata(tx) {
        TransactionExecutionResult::Executed { details, .. } => details
            .status
            .map(|()| details.log_messages.unwrap_or_default()),
        TransactionExecutionResult::NotExecuted(err) => Err(err),
    }
}
