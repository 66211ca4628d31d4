//! The pipe's bounded buffer: 64 KiB by default, set per pipe up to the
//! kernel's limit; a writer blocks while it is full.

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use kernel::Config;
use syscalls::{Command, Errno, Fd, FdMap, TaskState};

const KIB: usize = 1024;

#[test]
fn the_default_pipe_holds_64_kib_and_a_writer_blocks_on_the_next_byte() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        // No reader is waiting: all 64 KiB go into the buffer at once.
        assert_eq!(sys.write(w, &vec![1u8; 64 * KIB]).await, Ok(64 * KIB));
        let one_more = Command::from_fn(|sys| async move {
            match sys.write(Fd(1), b"!").await {
                Ok(1) => 0,
                _ => 1,
            }
        })
        .fds(FdMap::empty().set(Fd(1), w))
        .spawn(&sys)
        .await
        .unwrap();
        sys.yield_now().await;
        let state = support::state_of(&sys, one_more).await;
        assert_eq!(state, Some(TaskState::Writing(Fd(1))), "the pipe is full");
        let mut buf = vec![0u8; 1];
        assert_eq!(sys.read(r, &mut buf).await, Ok(1));
        assert_eq!(sys.wait(one_more).await, Ok((one_more, 0)));
        0
    });
    run.expect_clean();
    assert!(run
        .trace_lines()
        .contains(&"block 3 writing fd 1".to_string()));
}

#[test]
fn a_writer_of_100_kib_completes_only_after_the_reader_has_read() {
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let seen = log.clone();
    let run = support::run(b"", move |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let writer_log = seen.clone();
        let writer = Command::from_fn(move |sys| async move {
            let n = sys.write(Fd(1), &vec![7u8; 100 * KIB]).await.unwrap();
            writer_log.borrow_mut().push(format!("wrote {n}"));
            0
        })
        .fds(FdMap::empty().set(Fd(1), w))
        .spawn(&sys)
        .await
        .unwrap();
        sys.close(w).await.unwrap();
        sys.yield_now().await;
        let state = support::state_of(&sys, writer).await;
        assert_eq!(state, Some(TaskState::Writing(Fd(1))));
        let mut total = 0;
        let mut buf = vec![0u8; 10 * KIB];
        loop {
            let n = sys.read(r, &mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            assert!(buf[..n].iter().all(|&b| b == 7));
            total += n;
            seen.borrow_mut().push(format!("read {total}"));
            // Let the writer run if it can.
            sys.yield_now().await;
        }
        assert_eq!(total, 100 * KIB);
        assert_eq!(sys.wait(writer).await, Ok((writer, 0)));
        0
    });
    run.expect_clean();
    let log = log.borrow();
    let done = log.iter().position(|l| l == "wrote 102400").unwrap();
    // The writer finished once 100 - 64 = 36 KiB had been read, not before.
    assert_eq!(log[done - 1], "read 40960", "{log:#?}");
    assert!(log[..done].iter().all(|l| l.starts_with("read")));
    assert_eq!(log.len(), 11, "ten reads of 10 KiB and the write: {log:#?}");
}

#[test]
fn pipe_with_capacity_bounds_the_buffer_to_that_many_bytes() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe_with_capacity(16).await.unwrap();
        let writer = Command::from_fn(|sys| async move {
            let n = sys.write(Fd(1), b"0123456789abcdefXYZ").await.unwrap();
            assert_eq!(n, 19);
            0
        })
        .fds(FdMap::empty().set(Fd(1), w))
        .spawn(&sys)
        .await
        .unwrap();
        sys.yield_now().await;
        let mut buf = [0u8; 64];
        // A full buffer's worth, no more: the writer is still blocked.
        assert_eq!(sys.read(r, &mut buf).await, Ok(16));
        assert_eq!(&buf[..16], b"0123456789abcdef");
        assert_eq!(sys.read(r, &mut buf).await, Ok(3));
        assert_eq!(&buf[..3], b"XYZ");
        assert_eq!(sys.wait(writer).await, Ok((writer, 0)));
        // Sixteen bytes fit without blocking.
        assert_eq!(sys.write(w, &[0u8; 16]).await, Ok(16));
        0
    });
    run.expect_clean();
}

#[test]
fn a_pipe_over_the_kernels_maximum_fails_with_einval() {
    let config = Config {
        max_pipe_capacity: 1 << 20,
        ..support::config()
    };
    let run = support::run_with(b"", config, |sys| async move {
        assert_eq!(
            sys.pipe_with_capacity((1 << 20) + 1).await,
            Err(Errno::EINVAL)
        );
        assert_eq!(sys.pipe_with_capacity(usize::MAX).await, Err(Errno::EINVAL));
        // No descriptors were used up by the failures.
        assert_eq!(sys.open("/dev/null").await, Ok(Fd(3)));
        let (r, w) = sys.pipe_with_capacity(1 << 20).await.unwrap();
        assert_eq!((r, w), (Fd(4), Fd(5)));
        assert_eq!(sys.write(w, &vec![0u8; 1 << 20]).await, Ok(1 << 20));
        0
    });
    run.expect_clean();
}

#[test]
fn the_default_maximum_is_16_mib() {
    let run = support::run(b"", |sys| async move {
        assert!(sys.pipe_with_capacity(16 << 20).await.is_ok());
        assert_eq!(
            sys.pipe_with_capacity((16 << 20) + 1).await,
            Err(Errno::EINVAL)
        );
        0
    });
    run.expect_clean();
}

#[test]
fn config_pipe_capacity_sets_the_default_size() {
    let config = Config {
        pipe_capacity: 100,
        ..support::config()
    };
    let run = support::run_with(b"", config, |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let writer = Command::from_fn(|sys| async move {
            sys.write_all(Fd(1), &[3u8; 150]).await.unwrap();
            0
        })
        .fds(FdMap::empty().set(Fd(1), w))
        .spawn(&sys)
        .await
        .unwrap();
        sys.yield_now().await;
        let mut buf = [0u8; 1000];
        assert_eq!(sys.read(r, &mut buf).await, Ok(100));
        assert_eq!(sys.read(r, &mut buf).await, Ok(50));
        assert_eq!(sys.wait(writer).await, Ok((writer, 0)));
        0
    });
    run.expect_clean();
}

#[test]
fn bytes_reach_a_parked_reader_only_when_its_read_is_polled() {
    // The kernel touches a task's buffer only while that task's call is
    // polled (DESIGN.md, "Lent memory"): a write to the pipe a reader
    // waits on goes into the pipe and wakes the reader, which copies the
    // bytes out when it runs; a second write finds the pipe full and waits
    // for it.
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe_with_capacity(8).await.unwrap();
        let reader = Command::from_fn(|sys| async move {
            let mut first = [0u8; 8];
            let n = sys.read(Fd(0), &mut first).await.unwrap();
            let mut rest = Vec::new();
            sys.read_to_end(Fd(0), &mut rest).await.unwrap();
            sys.print(&format!(
                "{} {}",
                String::from_utf8_lossy(&first[..n]),
                String::from_utf8_lossy(&rest)
            ))
            .await
            .unwrap();
            0
        })
        .fds(FdMap::stdio().set(Fd(0), r))
        .spawn(&sys)
        .await
        .unwrap();
        sys.close(r).await.unwrap();
        sys.yield_now().await; // The reader parks.
        let state = support::state_of(&sys, reader).await;
        assert_eq!(state, Some(TaskState::Reading(Fd(0))));
        assert_eq!(sys.write(w, b"abcdefgh").await, Ok(8));
        let state = support::state_of(&sys, reader).await;
        // Woken, but its read (which moves the bytes) has not run yet.
        assert_eq!(state, Some(TaskState::Reading(Fd(0))));
        // The pipe is full: this waits until the reader has run.
        assert_eq!(sys.write(w, b"ABCDEFGH").await, Ok(8));
        sys.close(w).await.unwrap();
        assert_eq!(sys.wait(reader).await, Ok((reader, 0)));
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "abcdefgh ABCDEFGH");
}

#[test]
fn a_write_wakes_as_many_parked_readers_as_its_bytes_feed() {
    // Three readers of one byte each wait on an empty pipe; two bytes
    // come. The two readers those bytes are for run at once (woken by the
    // write, before the writer's next turn); the third waits on.
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let mut readers = Vec::new();
        for _ in 0..3 {
            let reader = Command::from_fn(|sys| async move {
                let mut byte = [0u8; 1];
                match sys.read(Fd(0), &mut byte).await {
                    Ok(1) => 0,
                    _ => 1,
                }
            })
            .fds(FdMap::empty().set(Fd(0), r))
            .spawn(&sys)
            .await
            .unwrap();
            readers.push(reader);
        }
        sys.close(r).await.unwrap();
        sys.yield_now().await; // The readers park.
        for &reader in &readers {
            let state = support::state_of(&sys, reader).await;
            assert_eq!(state, Some(TaskState::Reading(Fd(0))));
        }
        assert_eq!(sys.write(w, b"ab").await, Ok(2));
        sys.yield_now().await;
        let mut states = Vec::new();
        for &reader in &readers {
            states.push(support::state_of(&sys, reader).await);
        }
        assert_eq!(
            states,
            [
                Some(TaskState::Zombie(0)),
                Some(TaskState::Zombie(0)),
                Some(TaskState::Reading(Fd(0)))
            ],
            "the first two readers took a byte each; the third waits"
        );
        sys.close(w).await.unwrap();
        for reader in readers {
            sys.wait(reader).await.unwrap();
        }
        0
    });
    run.expect_clean();
}
