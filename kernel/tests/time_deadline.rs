//! Deadlines (`Sys::timeout`, asyncio's `wait_for`): a blocked call still
//! waiting at the deadline returns ETIMEDOUT and the task goes on; nested
//! deadlines keep the earliest; the one before is restored. Virtual clock:
//! the times asserted are exact and take no real time.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use kernel::Config;
use syscalls::{Command, Errno, Fd, FdMap};

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn a_read_with_a_timeout_returns_etimedout_and_the_task_goes_on() {
    let run = support::run(b"", |sys| async move {
        let (r, _w) = sys.pipe().await.unwrap();
        let mut buf = [0u8; 8];
        let got = sys.timeout(s(1), sys.read(r, &mut buf)).await;
        assert_eq!(got, Err(Errno::ETIMEDOUT));
        assert_eq!(
            sys.now().await,
            s(1),
            "timed out at the deadline, not later"
        );
        // The task goes on, and its next calls have no deadline.
        sys.sleep(s(5)).await.unwrap();
        assert_eq!(sys.now().await, s(6));
        0
    });
    run.expect_clean();
}

#[test]
fn a_read_that_gets_data_in_time_returns_it() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        Command::from_fn(|sys| async move {
            sys.sleep(Duration::from_millis(500)).await.unwrap();
            sys.write(Fd::STDOUT, b"hi").await.unwrap();
            0
        })
        .fds(FdMap::empty().set(Fd::STDOUT, w))
        .spawn(&sys)
        .await
        .unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(sys.timeout(s(1), sys.read(r, &mut buf)).await, Ok(2));
        assert_eq!(sys.now().await, Duration::from_millis(500));
        sys.wait_any().await.unwrap();
        0
    });
    run.expect_clean();
}

#[test]
fn a_wait_with_a_timeout_gives_up_and_the_child_can_be_waited_for_later() {
    let run = support::run(b"", |sys| async move {
        let child = sys
            .spawn_fn(|sys| async move {
                sys.sleep(s(10)).await.unwrap();
                7
            })
            .await
            .unwrap();
        assert_eq!(
            sys.timeout(s(1), sys.wait(child)).await,
            Err(Errno::ETIMEDOUT)
        );
        assert_eq!(sys.now().await, s(1));
        assert_eq!(sys.wait(child).await, Ok((child, 7)));
        assert_eq!(sys.now().await, s(10));
        0
    });
    run.expect_clean();
}

#[test]
fn nested_deadlines_keep_the_earliest() {
    let run = support::run(b"", |sys| async move {
        // The outer deadline is earlier: it ends the inner sleep.
        let inner = sys
            .timeout(s(5), sys.timeout(s(10), sys.sleep(s(20))))
            .await;
        assert_eq!(inner, Err(Errno::ETIMEDOUT));
        assert_eq!(sys.now().await, s(5));
        // The inner deadline is earlier: it wins, and the outer one is
        // in force again afterwards.
        let outer = sys
            .timeout(s(10), async {
                let first = sys.timeout(s(2), sys.sleep(s(20))).await;
                assert_eq!(sys.now().await, s(7));
                let second = sys.sleep(s(20)).await;
                (first, second)
            })
            .await;
        assert_eq!(outer, (Err(Errno::ETIMEDOUT), Err(Errno::ETIMEDOUT)));
        assert_eq!(sys.now().await, s(15));
        0
    });
    run.expect_clean();
}

#[test]
fn a_call_made_after_the_deadline_passed_times_out_at_once() {
    let run = support::run(b"", |sys| async move {
        let (r, _w) = sys.pipe().await.unwrap();
        let (slept, read) = sys
            .timeout(s(1), async {
                let slept = sys.sleep(s(3)).await;
                let mut buf = [0u8; 1];
                (slept, sys.read(r, &mut buf).await)
            })
            .await;
        assert_eq!(slept, Err(Errno::ETIMEDOUT));
        assert_eq!(read, Err(Errno::ETIMEDOUT));
        assert_eq!(sys.now().await, s(1));
        0
    });
    run.expect_clean();
}

#[test]
fn a_write_that_moved_bytes_before_the_deadline_returns_their_count() {
    let run = support::run(b"", |sys| async move {
        let (_r, w) = sys.pipe_with_capacity(16).await.unwrap();
        // Bigger than the pipe: 16 bytes go in, the rest waits for a
        // reader that never comes.
        let wrote = sys.timeout(s(1), sys.write(w, &[7u8; 100])).await;
        assert_eq!(wrote, Ok(16));
        assert_eq!(sys.now().await, s(1));
        0
    });
    run.expect_clean();
}

#[test]
fn a_deadline_ends_with_the_timeout_that_set_it() {
    let run = support::run(b"", |sys| async move {
        let quick = sys.timeout(s(5), sys.sleep(s(1))).await;
        assert_eq!(quick, Ok(()));
        // Past the old deadline (5 s): nothing times out any more.
        sys.sleep(s(10)).await.unwrap();
        assert_eq!(sys.now().await, s(11));
        assert_eq!(sys.set_deadline(None).await, None, "no deadline left set");
        0
    });
    run.expect_clean();
}

/// A server's loop: each read parks under a fresh deadline 30 s away and
/// is answered a millisecond later. One timer serves the task's deadlines
/// (set again for the deadline in force when it goes off early), not one
/// per read: a timer per deadline left 10,000 set here, each for 30 s.
#[test]
fn a_deadline_moved_later_again_and_again_keeps_one_timer() {
    const READS: u32 = 10_000;
    let done = Rc::new(Cell::new(false));
    let flag = done.clone();
    let untraced = Config {
        trace: false,
        ..support::config()
    };
    let (mut kernel, _out, _err) = support::boot(b"", untraced, move |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        Command::from_fn(|sys| async move {
            loop {
                sys.sleep(Duration::from_millis(1)).await.unwrap();
                if sys.write(Fd::STDOUT, b"x").await.is_err() {
                    return 0;
                }
            }
        })
        .fds(FdMap::empty().set(Fd::STDOUT, w))
        .spawn(&sys)
        .await
        .unwrap();
        sys.close(w).await.unwrap();
        let mut byte = [0u8; 1];
        for _ in 0..READS {
            assert_eq!(sys.timeout(s(30), sys.read(r, &mut byte)).await, Ok(1));
        }
        flag.set(true);
        sys.close(r).await.unwrap();
        sys.wait_any().await.unwrap();
        0
    });
    let mut steps = 0u64;
    while !done.get() {
        kernel.step();
        steps += 1;
        assert!(steps < 10_000_000, "the reads did not finish");
    }
    assert_eq!(kernel.now(), Duration::from_millis(u64::from(READS)));
    let timers = kernel.stats().timers;
    assert!(timers <= 4, "{timers} timers set after {READS} reads");
}

/// A deadline ended early leaves no reason for virtual time to move: a
/// kernel with nothing left to do stays at the time it stopped, not at
/// the deadline of a read that got its data long before.
#[test]
fn a_deadline_that_ended_early_does_not_move_a_stalled_clock() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        Command::from_fn(|sys| async move {
            sys.sleep(s(1)).await.unwrap();
            sys.write(Fd::STDOUT, b"x").await.unwrap();
            0
        })
        .fds(FdMap::empty().set(Fd::STDOUT, w))
        .spawn(&sys)
        .await
        .unwrap();
        let mut byte = [0u8; 1];
        assert_eq!(sys.timeout(s(30), sys.read(r, &mut byte)).await, Ok(1));
        sys.wait_any().await.unwrap();
        // Stuck for good: a pipe whose writer is this task.
        let (stuck, _keep) = sys.pipe().await.unwrap();
        let _ = sys.read(stuck, &mut byte).await;
        0
    });
    assert_eq!(run.status, None, "the kernel stalls");
    assert_eq!(run.kernel.now(), s(1));
}
