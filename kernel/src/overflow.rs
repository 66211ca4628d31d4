//! A task that overflows its stack. Tasks run on the kernel thread's
//! stack (their coroutines are polled there), so a deep recursion in one
//! runs into the guard page below it and the host ends the whole process:
//! it is a fault, not a panic, and no Rust code can go on from there. The
//! `coos` command gives the kernel thread a large stack (`--stack-mib`,
//! 256 MiB by default: reserved at once, taken from memory only as it is
//! used). When a task overflows it anyway, the handler here says which
//! one before the process ends,
//! `coos: pid 7 (recurse) overflowed the stack (256 MiB ...)`, puts back
//! what coos changed on the host's terminal (`HostRestore`), and hands the
//! fault on to the handler that was there before (Rust's, which prints
//! its own line and aborts).
//!
//! The handler is the process's, installed once; it reports only on a
//! thread that runs a kernel (`watchdog::with_current`), and runs on an
//! alternate signal stack, since the overflowed one has no room left:
//! Rust gives one to every thread it starts, and `prepare_thread` gives
//! one to a kernel thread that has none.

use std::ffi::c_void;
use std::sync::{Once, OnceLock};

use nix::libc;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

use crate::watchdog::{with_current, Line, Running};

/// The alternate signal stack given to a kernel thread that has none:
/// room for the report, and for the handler handed on to after it.
const ALT_STACK: usize = 64 * 1024;

/// How far below a stack's lowest address a fault still means the stack
/// ran out: the guard pages (a frame that jumps over them lands here too).
const GUARD_SPAN: usize = 1 << 20;

/// The handler for SIGSEGV that was there before ours.
static PREVIOUS: OnceLock<SigAction> = OnceLock::new();

/// Where a thread's stack is.
pub(crate) struct Stack {
    /// Its lowest address (it grows down towards it); 0: unknown.
    low: usize,
    size: usize,
}

impl Stack {
    /// The calling thread's stack, as the host knows it.
    pub(crate) fn of_this_thread() -> Stack {
        let unknown = Stack { low: 0, size: 0 };
        let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
        // SAFETY: pthread_getattr_np fills in `attr` for the calling
        // thread when it returns 0.
        if unsafe { libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) } != 0 {
            return unknown;
        }
        let (mut low, mut size) = (std::ptr::null_mut(), 0);
        // SAFETY: `attr` was filled in above; it is destroyed once, after
        // it is read.
        let got = unsafe {
            let got = libc::pthread_attr_getstack(attr.as_ptr(), &mut low, &mut size);
            libc::pthread_attr_destroy(attr.as_mut_ptr());
            got
        };
        if got != 0 {
            return unknown;
        }
        Stack {
            low: low as usize,
            size,
        }
    }

    /// Does a fault at `addr` mean the stack ran out?
    fn ran_out_at(&self, addr: usize) -> bool {
        self.low != 0 && addr < self.low && addr >= self.low.saturating_sub(GUARD_SPAN)
    }
}

/// Readies the calling thread, which is to run a kernel, for a report of
/// its stack overflowing: the process's handler, and an alternate stack.
pub(crate) fn prepare_thread() {
    install_handler();
    give_alt_stack();
}

fn install_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let action = SigAction::new(
            SigHandler::SigAction(on_fault),
            SaFlags::SA_ONSTACK,
            SigSet::empty(),
        );
        // SAFETY: `on_fault` is async-signal-safe: it reads atomics and
        // the task table the faulting thread was not changing (see
        // `Running::name`), calls fcntl, tcgetattr, tcsetattr and write,
        // then the handler that was there before, as the host would have.
        if let Ok(previous) = unsafe { sigaction(Signal::SIGSEGV, &action) } {
            let _ = PREVIOUS.set(previous);
        }
    });
}

/// Gives the calling thread an alternate signal stack if it has none. The
/// memory is never freed: the thread may take a signal on it until it
/// ends (it is one per kernel thread that Rust did not start).
fn give_alt_stack() {
    let mut current = std::mem::MaybeUninit::<libc::stack_t>::uninit();
    // SAFETY: with no new stack given, sigaltstack only writes the current
    // one into `current`.
    if unsafe { libc::sigaltstack(std::ptr::null(), current.as_mut_ptr()) } != 0 {
        return;
    }
    // SAFETY: sigaltstack succeeded: `current` is filled in.
    let current = unsafe { current.assume_init() };
    if current.ss_flags & libc::SS_DISABLE == 0 {
        return;
    }
    let memory: &'static mut [u8] = Box::leak(vec![0u8; ALT_STACK].into_boxed_slice());
    let stack = libc::stack_t {
        ss_sp: memory.as_mut_ptr().cast(),
        ss_flags: 0,
        ss_size: memory.len(),
    };
    // SAFETY: the stack is memory of ours that lives for ever.
    unsafe { libc::sigaltstack(&stack, std::ptr::null_mut()) };
}

extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    // SAFETY: the host hands a SIGSEGV handler the fault's siginfo, whose
    // si_addr is the address that faulted.
    let addr = unsafe { (*info).si_addr() } as usize;
    with_current(|running| report(running, addr));
    hand_on(sig, info, context);
}

/// Says what faulted on the kernel thread, and puts back the host's
/// terminal: the process is about to end.
fn report(running: &Running, addr: usize) {
    let ran_out = running.stack.ran_out_at(addr);
    let mut line = Line::new();
    line.push(b"coos: ");
    match running.task() {
        Some(pid) => {
            // SAFETY: a handler on the kernel thread, which `task` found
            // in `pid`'s code.
            let name = unsafe { running.name(pid) };
            line.push(b"pid ");
            line.push_number(u64::from(pid.0));
            line.push(b" (");
            line.push(name.as_bytes());
            line.push(b") ");
        }
        None => line.push(b"the kernel "),
    }
    if ran_out {
        line.push(b"overflowed the stack (");
        line.push_number((running.stack.size >> 20) as u64);
        line.push(b" MiB, which every task shares; `coos --stack-mib N` sets it)\n");
    } else {
        line.push(b"made a segmentation fault\n");
    }
    line.write_to_stderr();
    running.restore.restore();
}

/// Hands the fault on to the handler that was there before ours.
fn hand_on(sig: libc::c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    match PREVIOUS.get().map(SigAction::handler) {
        Some(SigHandler::SigAction(previous)) => previous(sig, info, context),
        Some(SigHandler::Handler(previous)) => previous(sig),
        // None, the default, or ignored (which would fault for ever): die
        // of it, as with no handler. With the default back, the faulting
        // instruction faults again when this returns.
        _ => {
            let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
            // SAFETY: setting the default action runs no code of ours.
            let _ = unsafe { sigaction(Signal::SIGSEGV, &default) };
        }
    }
}
