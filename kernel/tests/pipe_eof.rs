//! End-of-file on pipes: read returns 0 once every write end is closed,
//! counting the ends children inherited, and not before.

mod support;

use std::time::Duration;

use syscalls::{Command, Errno, Fd, FdMap, Signal, TaskState};

#[test]
fn read_returns_eof_after_last_writer_closes() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        sys.write_all(w, b"last words").await.unwrap();
        sys.close(w).await.unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(sys.read(r, &mut buf).await, Ok(10));
        assert_eq!(&buf[..10], b"last words");
        assert_eq!(sys.read(r, &mut buf).await, Ok(0));
        assert_eq!(sys.read(r, &mut buf).await, Ok(0), "and stays at EOF");
        0
    });
    run.expect_clean();
}

#[test]
fn a_reader_blocked_on_an_empty_pipe_wakes_with_eof_when_the_writer_closes() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let reader = Command::from_fn(|sys| async move {
            let mut buf = [0u8; 8];
            match sys.read(Fd(0), &mut buf).await {
                Ok(0) => 0,
                _ => 1,
            }
        })
        .fds(FdMap::empty().set(Fd(0), r))
        .spawn(&sys)
        .await
        .unwrap();
        sys.close(r).await.unwrap();
        sys.yield_now().await;
        let state = support::state_of(&sys, reader).await;
        assert_eq!(state, Some(TaskState::Reading(Fd(0))));
        sys.close(w).await.unwrap();
        assert_eq!(sys.wait(reader).await, Ok((reader, 0)));
        0
    });
    run.expect_clean();
}

#[test]
fn eof_waits_for_the_write_end_a_child_inherited() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let child = Command::from_fn(|sys| async move {
            sys.sleep(Duration::from_secs(1)).await.unwrap();
            sys.write_all(Fd::STDOUT, b"from the child").await.unwrap();
            0
        })
        .fds(FdMap::stdio().set(Fd::STDOUT, w))
        .spawn(&sys)
        .await
        .unwrap();
        sys.close(w).await.unwrap();
        let mut got = Vec::new();
        sys.read_to_end(r, &mut got).await.unwrap();
        assert_eq!(got, b"from the child");
        assert_eq!(
            sys.now().await,
            Duration::from_secs(1),
            "EOF came only when the child ended"
        );
        assert_eq!(sys.wait(child).await, Ok((child, 0)));
        0
    });
    run.expect_clean();
}

#[test]
fn eof_comes_when_a_child_closes_its_inherited_write_end_before_it_ends() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let child = Command::from_fn(|sys| async move {
            sys.sleep(Duration::from_secs(1)).await.unwrap();
            sys.close(Fd(7)).await.unwrap();
            sys.sleep(Duration::from_secs(1)).await.unwrap();
            0
        })
        .fds(FdMap::empty().set(Fd(7), w))
        .spawn(&sys)
        .await
        .unwrap();
        sys.close(w).await.unwrap();
        assert_eq!(sys.read(r, &mut [0u8; 4]).await, Ok(0));
        assert_eq!(sys.now().await, Duration::from_secs(1));
        assert_eq!(sys.wait(child).await, Ok((child, 0)));
        assert_eq!(sys.now().await, Duration::from_secs(2));
        0
    });
    run.expect_clean();
}

#[test]
fn eof_comes_when_a_child_holding_the_write_end_is_killed() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let child = Command::from_fn(|sys| async move {
            sys.sleep(Duration::from_secs(3600)).await.unwrap();
            0
        })
        .fds(FdMap::empty().set(Fd(1), w))
        .spawn(&sys)
        .await
        .unwrap();
        sys.close(w).await.unwrap();
        let killer = sys
            .spawn_fn(move |sys| async move {
                sys.sleep(Duration::from_secs(1)).await.unwrap();
                sys.kill(child, Signal::Kill).await.unwrap();
                0
            })
            .await
            .unwrap();
        assert_eq!(sys.read(r, &mut [0u8; 4]).await, Ok(0));
        assert_eq!(sys.now().await, Duration::from_secs(1));
        assert_eq!(sys.wait(child).await, Ok((child, 137)));
        assert_eq!(sys.wait(killer).await, Ok((killer, 0)));
        0
    });
    run.expect_clean();
}

#[test]
fn a_duplicated_write_end_keeps_the_pipe_open_until_it_too_is_closed() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let copy = sys.dup(w).await.unwrap();
        sys.close(w).await.unwrap();
        sys.write_all(copy, b"via the copy").await.unwrap();
        let mut buf = [0u8; 32];
        assert_eq!(sys.read(r, &mut buf).await, Ok(12));
        // One write end is still open: a reader would block, so check
        // through a child that the read does not see EOF yet.
        let probe = Command::from_fn(|sys| async move {
            match sys.read(Fd(0), &mut [0u8; 4]).await {
                Ok(0) => 0,
                _ => 1,
            }
        })
        .fds(FdMap::empty().set(Fd(0), r))
        .spawn(&sys)
        .await
        .unwrap();
        sys.yield_now().await;
        assert_eq!(sys.try_wait(Some(probe)).await, Ok(None), "still blocked");
        sys.close(copy).await.unwrap();
        assert_eq!(sys.wait(probe).await, Ok((probe, 0)));
        assert_eq!(sys.read(r, &mut buf).await, Ok(0));
        0
    });
    run.expect_clean();
}

#[test]
fn buffered_bytes_are_still_read_after_the_writer_is_gone() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let writer = Command::from_fn(|sys| async move {
            for i in 0..10u8 {
                sys.write_all(Fd(1), &[b'0' + i]).await.unwrap();
            }
            0
        })
        .fds(FdMap::empty().set(Fd(1), w))
        .spawn(&sys)
        .await
        .unwrap();
        sys.close(w).await.unwrap();
        assert_eq!(sys.wait(writer).await, Ok((writer, 0)));
        let mut got = Vec::new();
        let mut buf = [0u8; 3];
        loop {
            let n = sys.read(r, &mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"0123456789");
        0
    });
    run.expect_clean();
}

#[test]
fn every_reader_blocked_on_a_pipe_sees_eof() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let mut readers = Vec::new();
        for _ in 0..5 {
            let pid = Command::from_fn(|sys| async move {
                match sys.read(Fd(0), &mut [0u8; 4]).await {
                    Ok(0) => 0,
                    _ => 1,
                }
            })
            .fds(FdMap::empty().set(Fd(0), r))
            .spawn(&sys)
            .await
            .unwrap();
            readers.push(pid);
        }
        sys.yield_now().await;
        sys.close(w).await.unwrap();
        for pid in readers {
            assert_eq!(sys.wait(pid).await, Ok((pid, 0)));
        }
        0
    });
    run.expect_clean();
}

#[test]
fn reading_a_write_end_or_writing_a_read_end_fails_with_ebadf() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        assert_eq!(sys.read(w, &mut [0u8; 4]).await, Err(Errno::EBADF));
        assert_eq!(sys.write(r, b"x").await, Err(Errno::EBADF));
        0
    });
    run.expect_clean();
}

#[test]
fn a_read_of_zero_bytes_returns_zero_without_blocking() {
    let run = support::run(b"", |sys| async move {
        let (r, _w) = sys.pipe().await.unwrap();
        assert_eq!(sys.read(r, &mut []).await, Ok(0));
        0
    });
    run.expect_clean();
}

#[test]
fn a_write_end_mapped_twice_into_a_child_counts_as_two_writers() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let child = Command::from_fn(|sys| async move {
            sys.close(Fd(1)).await.unwrap();
            sys.sleep(Duration::from_secs(1)).await.unwrap();
            sys.write_all(Fd(5), b"through fd 5").await.unwrap();
            0
        })
        .fds(FdMap::empty().set(Fd(1), w).set(Fd(5), w))
        .spawn(&sys)
        .await
        .unwrap();
        sys.close(w).await.unwrap();
        let mut got = Vec::new();
        sys.read_to_end(r, &mut got).await.unwrap();
        assert_eq!(got, b"through fd 5", "closing fd 1 was not EOF");
        assert_eq!(sys.now().await, Duration::from_secs(1));
        assert_eq!(sys.wait(child).await, Ok((child, 0)));
        0
    });
    run.expect_clean();
}
