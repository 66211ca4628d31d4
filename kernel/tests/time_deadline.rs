//! Deadlines (`Sys::timeout`, asyncio's `wait_for`): a blocked call still
//! waiting at the deadline returns ETIMEDOUT and the task goes on; nested
//! deadlines keep the earliest; the one before is restored. Virtual clock:
//! the times asserted are exact and take no real time.

mod support;

use std::time::Duration;

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
