//! The watchdog, end to end: a task that runs past the limit without a
//! system call is named once on stderr, with its pid, program and how
//! long; `--watchdog 0` turns it off. Nothing waits on the clock: the
//! test acts on what coos says, and bounds each wait.

mod support;

use std::process::Stdio;

use nix::sys::signal::Signal;

use support::child::Coos;

#[test]
fn a_task_that_spins_past_the_limit_is_named_once_on_stderr() {
    let mut coos = Coos::start(&["--watchdog", "0.2", "run", "busy", "600"], Stdio::null());
    assert_eq!(coos.line(), "busy: spinning for 600 s\n");
    let notice = coos.expect_stderr("has run");
    assert!(
        notice.starts_with("coos: pid 2 (busy) has run ")
            && notice.ends_with(" s without a system call"),
        "{notice}"
    );
    // busy spins on: SIGTERM ends it (the signal thread asks for a notice
    // too, which must not come twice for one turn).
    coos.signal(Signal::SIGTERM);
    let (status, stderr) = coos.wait("SIGTERM");
    assert_eq!(status, Some(143), "{stderr}");
    assert_eq!(stderr.matches("has run").count(), 1, "{stderr}");
}

#[test]
fn watchdog_zero_says_nothing_of_a_spinning_task() {
    let mut coos = Coos::start(&["--watchdog", "0", "run", "busy", "0.3"], Stdio::null());
    assert_eq!(coos.line(), "busy: spinning for 0.3 s\n");
    let (status, stderr) = coos.wait("busy's 0.3 s");
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn the_watchdog_takes_no_bad_number() {
    let mut coos = Coos::start(&["--watchdog", "soon", "run", "true"], Stdio::null());
    let (status, stderr) = coos.wait("a usage error");
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("expected seconds"), "{stderr}");
}
