//! Runs the staking program's own Rust code as a native builtin inside an
//! in-process Solana bank, so tests and the embedded chain execute the same
//! instructions without an SBF toolchain.
//!
//! [`LocalBank`] is the chain: a genesis bank advanced to slot 1 with the
//! program added as a builtin, a banks server on the current tokio runtime and
//! a `BanksClient` to it, which the embedded chain serves RPC through. Tests,
//! which send transactions by the million, execute and read on the working
//! bank directly instead ([`LocalBank::execute`]). Dropping it frees the bank
//! and its AccountsDb threads, so a process can start any number of chains.
//!
//! Two adaptations are needed:
//! * Anchor's `entry` wants `&'info [AccountInfo<'info>]`, which the runtime's
//!   `ProcessInstruction` signature cannot name; [`process_instruction`] bridges it.
//! * solana-program-test's stubs (which let a native program make CPIs) print
//!   `sol_log_data` (Anchor events) to stdout instead of the transaction log;
//!   [`EventLogStubs`] routes them to the log as `Program data: ...`, exactly
//!   as the SBF runtime does.

use std::cell::RefCell;
use std::rc::Rc;

use solana_program_runtime::invoke_context::BuiltinFunctionWithContext;
use solana_program_runtime::log_collector::LogCollector;
use solana_program_runtime::stable_log;
use solana_program_test::{
    get_runtime_environment_key, invoke_builtin_function, EbpfError, EbpfVm, InvokeContext,
    ProgramTest,
};
use solana_sdk::account_info::AccountInfo;
use solana_sdk::entrypoint::ProgramResult;
use solana_sdk::instruction::Instruction;
use solana_sdk::program_stubs::{set_syscall_stubs, SyscallStubs};
use solana_sdk::pubkey::Pubkey;
use tokio::sync::OnceCell;

mod direct;
mod ed25519;
mod local_bank;

pub use ed25519::ed25519_instruction;
pub use local_bank::{LocalBank, SlotNotAhead};

/// Name the program is registered under.
pub const PROGRAM_NAME: &str = "staking";

thread_local! {
    /// Log collector of the instruction the staking builtin is executing.
    static LOG_COLLECTOR: RefCell<Option<Rc<RefCell<LogCollector>>>> = const { RefCell::new(None) };
}

/// Calls Anchor's generated `entry` with the lifetimes it expects.
pub fn process_instruction(
    program_id: &Pubkey,
    accounts: &[AccountInfo],
    data: &[u8],
) -> ProgramResult {
    // SAFETY: only lifetimes change. The account infos are built by the
    // runtime for this call and outlive it; `entry` returns before they are
    // dropped and keeps no reference past its return.
    let accounts: &[AccountInfo] = unsafe { std::mem::transmute(accounts) };
    staking::entry(program_id, accounts, data)
}

/// The staking program's builtin entry: the body of solana-program-test's
/// `processor!`, plus publishing the log collector for [`EventLogStubs`].
pub fn builtin() -> BuiltinFunctionWithContext {
    |vm, _arg0, _arg1, _arg2, _arg3, _arg4| {
        // SAFETY: the runtime passes the VM's environment pointer, as in
        // solana-program-test's `processor!` macro.
        let vm = unsafe {
            &mut *((vm as *mut u64).offset(-(get_runtime_environment_key() as isize))
                as *mut EbpfVm<InvokeContext>)
        };
        let collector = vm.context_object_pointer.get_log_collector();
        LOG_COLLECTOR.with(|slot| *slot.borrow_mut() = collector);
        vm.program_result = invoke_builtin_function(process_instruction, vm.context_object_pointer)
            .map_err(EbpfError::SyscallError)
            .into();
        LOG_COLLECTOR.with(|slot| *slot.borrow_mut() = None);
    }
}

/// Delegates every syscall to solana-program-test's stubs except
/// `sol_log_data`, which goes to the transaction log.
pub struct EventLogStubs {
    inner: Box<dyn SyscallStubs>,
}

impl SyscallStubs for EventLogStubs {
    fn sol_log(&self, message: &str) {
        self.inner.sol_log(message)
    }
    fn sol_log_compute_units(&self) {
        self.inner.sol_log_compute_units()
    }
    fn sol_remaining_compute_units(&self) -> u64 {
        self.inner.sol_remaining_compute_units()
    }
    fn sol_invoke_signed(
        &self,
        instruction: &Instruction,
        account_infos: &[AccountInfo],
        signers_seeds: &[&[&[u8]]],
    ) -> ProgramResult {
        self.inner
            .sol_invoke_signed(instruction, account_infos, signers_seeds)
    }
    fn sol_get_clock_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.inner.sol_get_clock_sysvar(var_addr)
    }
    fn sol_get_epoch_schedule_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.inner.sol_get_epoch_schedule_sysvar(var_addr)
    }
    fn sol_get_fees_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.inner.sol_get_fees_sysvar(var_addr)
    }
    fn sol_get_rent_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.inner.sol_get_rent_sysvar(var_addr)
    }
    fn sol_get_epoch_rewards_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.inner.sol_get_epoch_rewards_sysvar(var_addr)
    }
    fn sol_get_last_restart_slot(&self, var_addr: *mut u8) -> u64 {
        self.inner.sol_get_last_restart_slot(var_addr)
    }
    unsafe fn sol_memcpy(&self, dst: *mut u8, src: *const u8, n: usize) {
        self.inner.sol_memcpy(dst, src, n)
    }
    unsafe fn sol_memmove(&self, dst: *mut u8, src: *const u8, n: usize) {
        self.inner.sol_memmove(dst, src, n)
    }
    unsafe fn sol_memcmp(&self, s1: *const u8, s2: *const u8, n: usize, result: *mut i32) {
        self.inner.sol_memcmp(s1, s2, n, result)
    }
    unsafe fn sol_memset(&self, s: *mut u8, c: u8, n: usize) {
        self.inner.sol_memset(s, c, n)
    }
    fn sol_get_return_data(&self) -> Option<(Pubkey, Vec<u8>)> {
        self.inner.sol_get_return_data()
    }
    fn sol_set_return_data(&self, data: &[u8]) {
        self.inner.sol_set_return_data(data)
    }
    fn sol_log_data(&self, fields: &[&[u8]]) {
        LOG_COLLECTOR.with(|slot| match &*slot.borrow() {
            Some(collector) => stable_log::program_data(&Some(collector.clone()), fields),
            None => self.inner.sol_log_data(fields),
        })
    }
    fn sol_get_processed_sibling_instruction(&self, index: usize) -> Option<Instruction> {
        self.inner.sol_get_processed_sibling_instruction(index)
    }
    fn sol_get_stack_height(&self) -> u64 {
        self.inner.sol_get_stack_height()
    }
}

/// Placeholder held only while the real stubs are being wrapped.
struct NoStubs;
impl SyscallStubs for NoStubs {}

static STUBS: OnceCell<()> = OnceCell::const_new();

/// Set, solana-accounts-db keeps a test bank's accounts index in memory only.
const IN_MEMORY_INDEX: &str = "SOLANA_TEST_ACCOUNTS_INDEX_MEMORY_LIMIT_MB";

/// Installs [`EventLogStubs`] once per process.
///
/// solana-program-test installs its stubs when its first bank is set up, so a
/// throwaway one is started first; every chain must be started through
/// [`LocalBank::start`] so that no program runs while the stubs are swapped.
/// That bank outlives its context (its banks server keeps it), so it gets an
/// in-memory accounts index (solana's documented switch for tests): a disk
/// index keeps flusher threads waking every millisecond for the life of the
/// process.
async fn install_stubs() {
    STUBS
        .get_or_init(|| async {
            std::env::set_var(IN_MEMORY_INDEX, "1");
            let throwaway = ProgramTest::default().start_with_context().await;
            std::env::remove_var(IN_MEMORY_INDEX);
            drop(throwaway);
            let inner = set_syscall_stubs(Box::new(NoStubs));
            set_syscall_stubs(Box::new(EventLogStubs { inner }));
        })
        .await;
}
