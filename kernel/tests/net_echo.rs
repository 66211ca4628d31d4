//! Sockets over loopback: listen, accept, connect, read, write, shutdown,
//! on the host's clock (real sockets), every wait bounded with
//! `Sys::timeout` so that a failure is an error, never a hang.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use syscalls::{Command, Errno, Fd, FdMap, Shutdown, Sys};

/// A bound on every wait: generous, since the machine may be busy.
const LIMIT: Duration = Duration::from_secs(20);

/// Echoes what `conn` sends until end-of-file, then closes it.
async fn echo(sys: &Sys, conn: Fd) -> Result<usize, Errno> {
    let mut buf = [0u8; 1024];
    let mut total = 0;
    loop {
        let n = sys.timeout(LIMIT, sys.read(conn, &mut buf)).await?;
        if n == 0 {
            sys.close(conn).await?;
            return Ok(total);
        }
        sys.timeout(LIMIT, sys.write_all(conn, &buf[..n])).await?;
        total += n;
    }
}

#[test]
fn hundreds_of_clients_get_every_byte_echoed() {
    const CLIENTS: u64 = 200;
    let echoed = Rc::new(Cell::new(0u64));
    let seen = echoed.clone();
    let run = support::run_with(b"", support::host_clock(), move |sys| async move {
        let listener = sys.listen("127.0.0.1:0").await.unwrap();
        let addr = sys.local_addr(listener).await.unwrap();
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        // The server: a task per connection, as echod does.
        // Children get only the fds their FdMap names: the listener, and
        // each handler its connection, at the same numbers.
        let server = Command::from_fn(move |sys| async move {
            for _ in 0..CLIENTS {
                let conn = sys.timeout(LIMIT, sys.accept(listener)).await.unwrap();
                Command::from_fn(move |sys| async move {
                    match echo(&sys, conn).await {
                        Ok(_) => 0,
                        Err(_) => 1,
                    }
                })
                .fds(FdMap::stdio().set(conn, conn))
                .spawn(&sys)
                .await
                .unwrap();
                sys.close(conn).await.unwrap();
            }
            while let Ok((_, status)) = sys.wait_any().await {
                assert_eq!(status, 0, "a connection handler failed");
            }
            0
        })
        .fds(FdMap::stdio().set(listener, listener))
        .spawn(&sys)
        .await
        .unwrap();
        sys.close(listener).await.unwrap();
        for i in 0..CLIENTS {
            let (addr, seen) = (addr.clone(), seen.clone());
            sys.spawn_fn(move |sys| async move {
                let conn = sys.timeout(LIMIT, sys.connect(&addr)).await.unwrap();
                // Distinct, checkable bytes per client, several writes.
                let message: Vec<u8> = (0..3000u64).map(|j| ((i * 7 + j) % 251) as u8).collect();
                for chunk in message.chunks(700) {
                    sys.write_all(conn, chunk).await.unwrap();
                }
                sys.shutdown(conn, Shutdown::Write).await.unwrap();
                let mut back = Vec::new();
                sys.timeout(LIMIT, sys.read_to_end(conn, &mut back))
                    .await
                    .unwrap();
                assert_eq!(back, message, "client {i} got its bytes back");
                seen.set(seen.get() + back.len() as u64);
                0
            })
            .await
            .unwrap();
        }
        while let Ok((pid, status)) = sys.wait_any().await {
            assert_eq!(status, 0, "task {pid} failed");
        }
        let _ = server;
        0
    });
    run.expect_clean();
    assert_eq!(echoed.get(), CLIENTS * 3000);
}

#[test]
fn connecting_where_nobody_listens_is_refused() {
    let run = support::run_with(b"", support::host_clock(), |sys| async move {
        // A port that was just free: listen, learn it, close.
        let l = sys.listen("127.0.0.1:0").await.unwrap();
        let addr = sys.local_addr(l).await.unwrap();
        sys.close(l).await.unwrap();
        assert_eq!(
            sys.timeout(LIMIT, sys.connect(&addr)).await,
            Err(Errno::ECONNREFUSED)
        );
        assert_eq!(sys.connect("not an address").await, Err(Errno::EINVAL));
        assert_eq!(sys.listen("127.0.0.1").await, Err(Errno::EINVAL));
        0
    });
    run.expect_clean();
}

#[test]
fn an_accept_with_no_client_times_out_and_socket_calls_on_a_pipe_fail() {
    let run = support::run_with(b"", support::host_clock(), |sys| async move {
        let l = sys.listen("127.0.0.1:0").await.unwrap();
        let waited = sys.timeout(Duration::from_millis(50), sys.accept(l)).await;
        assert_eq!(waited, Err(Errno::ETIMEDOUT));
        let (r, _w) = sys.pipe().await.unwrap();
        assert_eq!(sys.accept(r).await, Err(Errno::ENOTSOCK));
        assert_eq!(sys.shutdown(r, Shutdown::Both).await, Err(Errno::ENOTSOCK));
        let mut buf = [0u8; 4];
        assert_eq!(
            sys.read(l, &mut buf).await,
            Err(Errno::ENOTCONN),
            "a listener is not read"
        );
        0
    });
    run.expect_clean();
}

#[test]
fn a_killed_reader_of_a_socket_leaves_the_connection_to_the_others() {
    let run = support::run_with(b"", support::host_clock(), |sys| async move {
        let l = sys.listen("127.0.0.1:0").await.unwrap();
        let addr = sys.local_addr(l).await.unwrap();
        let client = sys.timeout(LIMIT, sys.connect(&addr)).await.unwrap();
        let conn = sys.timeout(LIMIT, sys.accept(l)).await.unwrap();
        // A child blocks reading the connection, and is killed there.
        let reader = Command::from_fn(move |sys| async move {
            let mut buf = [0u8; 8];
            let _ = sys.read(conn, &mut buf).await;
            0
        })
        .fds(FdMap::stdio().set(conn, conn))
        .spawn(&sys)
        .await
        .unwrap();
        sys.yield_now().await;
        sys.kill(reader, syscalls::Signal::Kill).await.unwrap();
        assert_eq!(sys.wait(reader).await, Ok((reader, 137)));
        // The connection still works for the parent.
        sys.write_all(client, b"ping").await.unwrap();
        let mut buf = [0u8; 8];
        let n = sys.timeout(LIMIT, sys.read(conn, &mut buf)).await.unwrap();
        assert_eq!(&buf[..n], b"ping");
        0
    });
    run.expect_clean();
}
