//! Signals sent to the coos process itself: SIGTERM shuts coos down in
//! order (every task ended, all reaped, exit 128 + 15); SIGINT ends the
//! foreground program (130). And while a task spins without a system call
//! (`busy`), holding the kernel thread, SIGTERM, SIGINT and SIGHUP still
//! end coos, with the same statuses, and the host's stdin gets back the
//! flags it had. Each test waits for the program to say it is running
//! before it signals, and bounds every wait; coos is killed if a test
//! fails.

mod support;

use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Stdio;

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::signal::Signal;

use support::child::Coos;

fn run_until_ready_then(signal: Signal) -> Option<i32> {
    let mut coos = Coos::start(
        &["run", "sh", "-c", "sleep 1000 & echo ready; sleep 1000"],
        Stdio::null(),
    );
    assert_eq!(coos.line(), "ready\n");
    coos.signal(signal);
    coos.wait(signal.as_str()).0
}

#[test]
fn sigterm_shuts_coos_down_with_status_143() {
    assert_eq!(run_until_ready_then(Signal::SIGTERM), Some(143));
}

#[test]
fn sigint_ends_the_foreground_program_and_coos_exits_130() {
    assert_eq!(run_until_ready_then(Signal::SIGINT), Some(130));
}

#[test]
fn sighup_shuts_coos_down_with_status_129() {
    assert_eq!(run_until_ready_then(Signal::SIGHUP), Some(129));
}

/// Runs `busy` (it spins for ten minutes without a system call) with a
/// pipe as stdin, signals coos once busy spins, and returns coos's status,
/// its stderr, and whether the pipe was left non-blocking.
fn spin_then(signal: Signal) -> (Option<i32>, String, bool) {
    let (read, _write): (OwnedFd, OwnedFd) = nix::unistd::pipe().expect("pipe");
    let stdin = Stdio::from(read.try_clone().expect("dup the pipe"));
    let mut coos = Coos::start(&["--watchdog", "0", "run", "busy", "600"], stdin);
    // busy prints this in the turn it spins in.
    assert_eq!(coos.line(), "busy: spinning for 600 s\n");
    coos.signal(signal);
    let (status, stderr) = coos.wait(&format!("{signal} while a task spins"));
    let flags = fcntl(read.as_raw_fd(), FcntlArg::F_GETFL).expect("the pipe's flags");
    let nonblocking = OFlag::from_bits_truncate(flags).contains(OFlag::O_NONBLOCK);
    (status, stderr, nonblocking)
}

#[test]
fn sigterm_ends_coos_with_143_while_a_task_spins_and_stdin_is_blocking_again() {
    let (status, stderr, nonblocking) = spin_then(Signal::SIGTERM);
    assert_eq!(status, Some(143), "{stderr}");
    assert!(
        stderr.contains("coos: pid 2 (busy) has run ")
            && stderr.contains("coos: pid 2 holds the kernel: SIGTERM ends coos now\n"),
        "{stderr}"
    );
    assert!(!nonblocking, "coos left its stdin non-blocking");
}

#[test]
fn sigint_ends_coos_with_130_while_a_task_spins() {
    let (status, stderr, _) = spin_then(Signal::SIGINT);
    assert_eq!(status, Some(130), "{stderr}");
}

#[test]
fn sighup_ends_coos_with_129_while_a_task_spins() {
    let (status, stderr, _) = spin_then(Signal::SIGHUP);
    assert_eq!(status, Some(129), "{stderr}");
}
