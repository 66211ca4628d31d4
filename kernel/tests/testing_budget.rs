//! The bound on every run a test drives (`kernel::testing::Budget`): a run
//! that never halts fails, and says what each task was waiting for, instead
//! of hanging the suite.

mod support;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use kernel::testing::{Budget, Harness};
use kernel::ClockKind;

/// The message of the panic `f` ends with; fails if it returns.
fn failure(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("the run fails");
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map_or_else(|| "(not text)".to_string(), |s| s.to_string()),
    }
}

#[test]
fn a_run_that_never_halts_fails_with_the_task_table_and_the_end_of_the_trace() {
    // Hostile: a task that yields for ever.
    let message = failure(|| {
        Harness::new(Vec::new())
            .budget(Budget::steps(1000))
            .run_fn(|sys| async move {
                let _ = sys.print("spinning\n").await;
                loop {
                    sys.yield_now().await;
                }
            });
    });
    assert!(
        message.starts_with("the kernel did not halt within 1000 steps"),
        "{message}"
    );
    let row = message
        .lines()
        .find(|l| l.trim_start().starts_with("2 "))
        .unwrap_or_else(|| panic!("no row for pid 2: {message}"));
    assert!(row.contains(" ready ") && row.ends_with(" test"), "{row}");
    assert!(message.contains("the last 40 of "), "{message}");
    assert!(message.contains("\n  syscall 2 yield\n"), "{message}");
    assert!(message.contains("stdout so far:\nspinning\n"), "{message}");
}

#[test]
fn a_deadlocked_run_ends_at_once_without_spending_its_budget() {
    // Every task blocked with nothing left to type is an outcome (status
    // `None`), not a hang.
    let out = Harness::new(Vec::new())
        .budget(Budget::steps(20))
        .run_fn(|sys| async move {
            let (r, _w) = sys.pipe().await.expect("pipe");
            let _ = sys.read(r, &mut [0u8; 1]).await;
            0
        });
    assert_eq!(out.status, None);
}

#[test]
fn run_until_idle_fails_once_a_busy_run_spends_its_budget() {
    let (mut k, _out, _err) = support::boot(b"", support::config(), |sys| async move {
        loop {
            sys.getpid().await;
        }
    });
    let message = failure(|| {
        kernel::testing::run_until_idle(&mut k, Budget::steps(64 * 10));
    });
    assert!(
        message.starts_with("the kernel did not halt or stall within 640 steps"),
        "{message}"
    );
    assert!(message.contains("\n  syscall 2 getpid\n"), "{message}");
}

#[test]
fn a_run_on_the_host_clock_asleep_for_good_fails_at_its_time_budget() {
    // A task that waits for a client that never comes: the kernel sleeps
    // in the poller, and the budget's alarm wakes it to fail.
    // Should the alarm not ring, the test is bounded from outside.
    let started = Instant::now();
    let message = kernel::testing::within(support::LIMIT, "a run past its time", || {
        failure(|| {
            Harness::new(Vec::new())
                .config(|c| c.clock = ClockKind::Host)
                .budget(Budget {
                    steps: 0,
                    time: Duration::from_millis(200),
                })
                .run_fn(|sys| async move {
                    let Ok(listener) = sys.listen("127.0.0.1:0").await else {
                        return 1;
                    };
                    let _ = sys.accept(listener).await;
                    0
                });
        })
    });
    assert!(
        message.starts_with("the kernel did not halt within 200ms of host time"),
        "{message}"
    );
    assert!(message.contains(" accepting on fd "), "{message}");
    assert!(
        started.elapsed() < support::LIMIT,
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn within_fails_a_closure_that_takes_too_long_and_passes_on_its_panic() {
    let message = failure(|| {
        kernel::testing::within(Duration::from_millis(50), "a wait for ever", || {
            std::thread::park();
        })
    });
    assert_eq!(message, "a wait for ever did not finish within 50ms");
    let message = failure(|| kernel::testing::within(support::LIMIT, "a panic", || panic!("boom")));
    assert_eq!(message, "boom");
}
