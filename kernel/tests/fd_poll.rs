//! poll: waiting on several descriptors at once (the select of coroutine
//! OSes), with and without readiness, with a timeout, on pipes and
//! sockets.

mod support;

use std::time::Duration;

use syscalls::{Command, Errno, Fd, FdMap, Interest, PollFd};

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn poll_returns_at_once_with_the_descriptors_that_are_ready() {
    let run = support::run(b"", |sys| async move {
        let (a_r, a_w) = sys.pipe().await.unwrap();
        let (b_r, _b_w) = sys.pipe().await.unwrap();
        sys.write(a_w, b"x").await.unwrap();
        let mut fds = [
            PollFd::new(a_r, Interest::READ),
            PollFd::new(b_r, Interest::READ),
            PollFd::new(a_w, Interest::WRITE),
        ];
        assert_eq!(sys.poll(&mut fds, None).await, Ok(2));
        assert!(fds[0].ready.read);
        assert!(!fds[1].ready.read);
        assert!(fds[2].ready.write && !fds[2].ready.read);
        assert_eq!(sys.now().await, Duration::ZERO);
        0
    });
    run.expect_clean();
}

#[test]
fn poll_waits_until_one_of_several_pipes_has_bytes() {
    let run = support::run(b"", |sys| async move {
        let (a_r, _a_w) = sys.pipe().await.unwrap();
        let (b_r, b_w) = sys.pipe().await.unwrap();
        Command::from_fn(|sys| async move {
            sys.sleep(s(2)).await.unwrap();
            sys.write(Fd::STDOUT, b"late").await.unwrap();
            0
        })
        .fds(FdMap::empty().set(Fd::STDOUT, b_w))
        .spawn(&sys)
        .await
        .unwrap();
        sys.close(b_w).await.unwrap();
        let mut fds = [
            PollFd::new(a_r, Interest::READ),
            PollFd::new(b_r, Interest::READ),
        ];
        assert_eq!(sys.poll(&mut fds, None).await, Ok(1));
        assert_eq!((fds[0].ready.read, fds[1].ready.read), (false, true));
        assert_eq!(sys.now().await, s(2), "woken by the write, not before");
        let mut buf = [0u8; 8];
        assert_eq!(sys.read(b_r, &mut buf).await, Ok(4));
        // The writer has exited: its end is closed, and poll says the read
        // end is ready (end-of-file), without waiting.
        sys.wait_any().await.unwrap();
        let mut fds = [PollFd::new(b_r, Interest::READ)];
        assert_eq!(sys.poll(&mut fds, None).await, Ok(1));
        assert_eq!(sys.read(b_r, &mut buf).await, Ok(0));
        0
    });
    run.expect_clean();
}

#[test]
fn poll_with_a_timeout_returns_zero_when_nothing_comes() {
    let run = support::run(b"", |sys| async move {
        let (r, _w) = sys.pipe().await.unwrap();
        let mut fds = [PollFd::new(r, Interest::READ)];
        assert_eq!(sys.poll(&mut fds, Some(s(3))).await, Ok(0));
        assert!(fds[0].ready.is_empty());
        assert_eq!(sys.now().await, s(3));
        // The deadline is gone afterwards: a plain sleep is not cut short.
        sys.sleep(s(10)).await.unwrap();
        assert_eq!(sys.now().await, s(13));
        0
    });
    run.expect_clean();
}

#[test]
fn poll_for_writing_waits_for_room_in_a_full_pipe() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe_with_capacity(8).await.unwrap();
        sys.write_all(w, b"12345678").await.unwrap();
        Command::from_fn(|sys| async move {
            sys.sleep(s(1)).await.unwrap();
            let mut buf = [0u8; 3];
            sys.read(Fd::STDIN, &mut buf).await.unwrap();
            0
        })
        .fds(FdMap::empty().set(Fd::STDIN, r))
        .spawn(&sys)
        .await
        .unwrap();
        let mut fds = [PollFd::new(w, Interest::WRITE)];
        assert_eq!(sys.poll(&mut fds, None).await, Ok(1));
        assert!(fds[0].ready.write);
        assert_eq!(sys.now().await, s(1));
        assert_eq!(sys.write(w, b"abc").await, Ok(3));
        sys.wait_any().await.unwrap();
        0
    });
    run.expect_clean();
}

#[test]
fn poll_on_a_closed_fd_is_ebadf_and_a_killed_poller_wakes_nobody() {
    let run = support::run(b"", |sys| async move {
        let mut fds = [PollFd::new(Fd(9), Interest::READ)];
        assert_eq!(sys.poll(&mut fds, None).await, Err(Errno::EBADF));
        let (r, w) = sys.pipe().await.unwrap();
        let poller = Command::from_fn(|sys| async move {
            let mut fds = [PollFd::new(Fd::STDIN, Interest::READ)];
            let _ = sys.poll(&mut fds, None).await;
            0
        })
        .fds(FdMap::empty().set(Fd::STDIN, r))
        .spawn(&sys)
        .await
        .unwrap();
        sys.yield_now().await;
        sys.kill(poller, syscalls::Signal::Kill).await.unwrap();
        assert_eq!(sys.wait(poller).await, Ok((poller, 137)));
        // Bytes now wake nobody, and stay for a reader.
        sys.write(w, b"kept").await.unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(sys.read(r, &mut buf).await, Ok(4));
        0
    });
    run.expect_clean();
}

#[test]
fn poll_on_sockets_sees_a_connection_to_accept_and_bytes_to_read() {
    let run = support::run_with(b"", support::host_clock(), |sys| async move {
        let limit = Some(s(20));
        let l = sys.listen("127.0.0.1:0").await.unwrap();
        let addr = sys.local_addr(l).await.unwrap();
        let mut fds = [PollFd::new(l, Interest::READ)];
        assert_eq!(
            sys.poll(&mut fds, Some(Duration::from_millis(10))).await,
            Ok(0),
            "no client yet"
        );
        let client = sys.timeout(s(20), sys.connect(&addr)).await.unwrap();
        assert_eq!(
            sys.poll(&mut fds, limit).await,
            Ok(1),
            "a connection to accept"
        );
        let conn = sys.accept(l).await.unwrap();
        let mut fds = [PollFd::new(conn, Interest::READ)];
        sys.write_all(client, b"hey").await.unwrap();
        assert_eq!(sys.poll(&mut fds, limit).await, Ok(1));
        let mut buf = [0u8; 8];
        assert_eq!(sys.read(conn, &mut buf).await, Ok(3));
        0
    });
    run.expect_clean();
}
