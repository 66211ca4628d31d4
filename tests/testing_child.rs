//! The bounds on a test that runs the `coos` binary (`support::child`): a
//! coos that does not do what is awaited in time fails the test with what
//! it printed, and no coos outlives the test that started it.

mod support;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::Stdio;
use std::time::Duration;

use support::child::Coos;

/// The message of the panic `f` ends with; fails if it returns.
fn failure(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("the wait fails");
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(_) => "(not text)".to_string(),
    }
}

#[test]
fn a_coos_that_does_not_end_in_time_fails_the_test_with_its_output_and_is_killed() {
    let coos = Coos::start(
        &["run", "sh", "-c", "echo started; sleep 100"],
        Stdio::null(),
    )
    .patience(Duration::from_millis(300));
    let pid = coos.pid();
    let message = failure(|| {
        coos.output("sleep 100");
    });
    assert!(
        message.starts_with("coos run sh -c echo started; sleep 100: it did not end within 300ms"),
        "{message}"
    );
    assert!(
        message.contains("--- its stdout so far:\nstarted\n"),
        "{message}"
    );
    // Killed and reaped: the pid names no process.
    let gone = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None);
    assert_eq!(
        gone,
        Err(nix::errno::Errno::ESRCH),
        "coos {pid} still exists"
    );
}

#[test]
fn a_line_that_does_not_come_in_time_fails_the_test() {
    let mut coos =
        Coos::start(&["run", "sleep", "100"], Stdio::null()).patience(Duration::from_millis(300));
    let message = failure(|| {
        coos.line();
    });
    assert!(
        message.starts_with("coos run sleep 100: no line on stdout within 300ms"),
        "{message}"
    );
}

#[test]
fn a_coos_dies_with_the_thread_that_started_it() {
    // The thread stands for a test whose process is killed from outside:
    // nothing of the test runs any more, and the host ends coos.
    let mut coos = std::thread::spawn(|| {
        let mut coos = Coos::start(
            &["run", "sh", "-c", "echo started; sleep 100"],
            Stdio::null(),
        );
        assert_eq!(coos.line(), "started\n");
        coos
    })
    .join()
    .expect("the starting thread");
    let (status, stderr) = coos.wait("the end of the thread that started it");
    assert_eq!(status, None, "killed by a signal; stderr: {stderr}");
}
