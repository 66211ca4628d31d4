//! `echod [-n N] [--idle-timeout SECS] [ADDR]`: the echo server. Every
//! client gets a task of its own, which sends back each byte it reads; so a
//! slow or idle client stalls nobody else, and a client that fails (its
//! connection reset) ends its own task only.
//!
//! A client that shuts down its sending side gets the rest of its echo,
//! then end-of-file. With `--idle-timeout`, a client that sends nothing (or
//! takes back nothing) for that long is disconnected.

use syscalls::{Errno, ExitCode, Sys};

use crate::conn::Conn;
use crate::duration::{within, Limit};
use crate::server;
use crate::usage::{Opt, Spec};

const SPEC: Spec = Spec::new(
    "echod",
    "Usage: echod [OPTION]... [ADDR]\n\
     Echo every byte each client sends back to it, a task per client.\n\
     ADDR is IP:PORT (default 127.0.0.1:7777); port 0 picks a free port.\n\
     The address as bound is printed on stderr: 'echod: listening on ADDR'.\n\
     \n\
     \x20 -n, --max-clients=N     serve at most N clients at once; later ones\n\
     \x20                           wait to be accepted\n\
     \x20     --idle-timeout=SECS disconnect a client idle for SECS (suffixes\n\
     \x20                           s, m, h, d; 0, the default, never)\n\
     \x20     --help              display this help and exit\n",
    &[
        Opt::value('n', "max-clients"),
        Opt::value('i', "idle-timeout"),
    ],
);

/// Where to listen when no ADDR is given.
const DEFAULT_ADDR: &str = "127.0.0.1:7777";

/// How much one read of a client asks for: small enough for thousands of
/// clients at once.
const CHUNK: usize = 8 * 1024;

/// Serves until accepting fails; status 1 then, or on bad arguments.
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    let args = match SPEC.parse(&sys, &args).await {
        Ok(args) => args,
        Err(status) => return status,
    };
    let mut idle = Limit::Never;
    for (opt, value) in &args.opts {
        if *opt == 'i' {
            idle = match server::limit(&sys, &SPEC, value).await {
                Ok(limit) => limit,
                Err(status) => return status,
            };
        }
    }
    let (listener, max) = match server::start(&sys, &SPEC, &args, DEFAULT_ADDR).await {
        Ok(started) => started,
        Err(status) => return status,
    };
    server::serve(&sys, SPEC.name, listener, max, move |sys, conn| {
        echo(sys, Conn::socket(conn), idle)
    })
    .await
}

/// One client: echoes what it sends until end-of-file (status 0), an idle
/// timeout (0) or an error such as a reset (1), then closes the connection.
async fn echo(sys: Sys, conn: Conn, idle: Limit) -> ExitCode {
    let mut buf = vec![0u8; CHUNK];
    let status = loop {
        let n = match within(&sys, idle, sys.read(conn.input, &mut buf)).await {
            Ok(0) | Err(Errno::ETIMEDOUT) => break 0,
            Ok(n) => n,
            Err(_) => break 1,
        };
        // A client that takes nothing back is as idle as one that sends
        // nothing.
        match within(&sys, idle, sys.write_all(conn.output, &buf[..n])).await {
            Ok(()) => {}
            Err(Errno::ETIMEDOUT) => break 0,
            Err(_) => break 1,
        }
    };
    conn.close(&sys).await;
    status
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use kernel::testing::{Harness, Outcome};
    use kernel::ClockKind;
    use syscalls::{Command, Errno, Fd, FdMap, Pid, Shutdown, Signal, Sys};

    use super::echo;
    use crate::conn::tests::serve_on_pipes;
    use crate::conn::Conn;
    use crate::duration::Limit;
    use crate::run;

    /// A bound on every wait of a socket test: generous, since the machine
    /// may be busy; reaching it is a failure, never a pass.
    pub const LIMIT: Duration = Duration::from_secs(30);

    /// Runs `main` as the first task of a kernel on the host's clock (real
    /// sockets over loopback), with `stdin` as console input.
    pub fn on_host<F, Fut>(stdin: &str, main: F) -> Outcome
    where
        F: FnOnce(Sys) -> Fut + 'static,
        Fut: std::future::Future<Output = u8> + 'static,
    {
        Harness::new(crate::registry())
            .config(|c| {
                c.clock = ClockKind::Host;
                c.trace = false;
            })
            .stdin(stdin)
            .run_fn(main)
    }

    /// Starts the server `argv` (`echod 127.0.0.1:0`) with its stderr on a
    /// pipe, and reads its address from its first line, `NAME: listening
    /// on ADDR`. Returns its pid, the address and the pipe's read end.
    pub async fn start_server(sys: &Sys, argv: &[&str]) -> (Pid, String, Fd) {
        let (r, w) = sys.pipe().await.expect("pipe");
        let pid = Command::new(argv[0])
            .args(argv[1..].iter().copied())
            .fds(FdMap::stdio().set(Fd::STDERR, w))
            .spawn(sys)
            .await
            .expect("spawn the server");
        sys.close(w).await.expect("close");
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while !line.ends_with(b"\n") {
            let n = sys.timeout(LIMIT, sys.read(r, &mut byte)).await;
            assert_eq!(n, Ok(1), "the server's first line: {line:?}");
            line.push(byte[0]);
        }
        let line = String::from_utf8(line).expect("text");
        let prefix = format!("{}: listening on ", argv[0]);
        let addr = line
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{line:?}"))
            .trim_end()
            .to_string();
        (pid, addr, r)
    }

    /// Kills the server, checks it printed nothing more, and reaps it.
    pub async fn stop_server(sys: &Sys, pid: Pid, stderr: Fd) {
        sys.kill(pid, Signal::Term).await.expect("kill the server");
        assert_eq!(sys.wait(pid).await, Ok((pid, 143)));
        let mut rest = Vec::new();
        // Ends when the last client task (which shares stderr) is gone.
        sys.timeout(LIMIT, sys.read_to_end(stderr, &mut rest))
            .await
            .expect("the server's stderr ends");
        assert_eq!(String::from_utf8_lossy(&rest), "", "server's stderr");
        sys.close(stderr).await.expect("close");
    }

    /// A client: sends `message` in pieces, shuts down its sending side
    /// (half-close), and checks every byte comes back, then end-of-file.
    async fn client(sys: &Sys, addr: &str, message: &[u8]) {
        let conn = sys
            .timeout(LIMIT, sys.connect(addr))
            .await
            .expect("connect");
        for chunk in message.chunks(1000) {
            sys.timeout(LIMIT, sys.write_all(conn, chunk))
                .await
                .expect("write");
        }
        sys.shutdown(conn, Shutdown::Write).await.expect("shutdown");
        let mut back = Vec::new();
        sys.timeout(LIMIT, sys.read_to_end(conn, &mut back))
            .await
            .expect("read");
        assert!(back == message, "every byte comes back in order");
        sys.close(conn).await.expect("close");
    }

    #[test]
    fn echod_echoes_every_byte_to_hundreds_of_concurrent_clients() {
        const CLIENTS: u64 = 150;
        let out = on_host("", |sys| async move {
            let (server, addr, stderr) = start_server(&sys, &["echod", "127.0.0.1:0"]).await;
            // An idle client, connected all along: it stalls nobody.
            let idle = sys
                .timeout(LIMIT, sys.connect(&addr))
                .await
                .expect("connect");
            // A client that sends and leaves without reading: its task ends
            // alone (with a reset, or at end-of-file).
            let rude = sys
                .timeout(LIMIT, sys.connect(&addr))
                .await
                .expect("connect");
            sys.write_all(rude, &[7u8; 5000]).await.expect("write");
            sys.close(rude).await.expect("close");
            let mut clients = Vec::new();
            for i in 0..CLIENTS {
                let addr = addr.clone();
                let pid = sys
                    .spawn_fn(move |sys| async move {
                        let message: Vec<u8> =
                            (0..4000u64).map(|j| ((i * 13 + j) % 251) as u8).collect();
                        client(&sys, &addr, &message).await;
                        0
                    })
                    .await
                    .expect("spawn a client");
                clients.push(pid);
            }
            for pid in clients {
                assert_eq!(sys.wait(pid).await, Ok((pid, 0)), "client {pid}");
            }
            // The idle client is still served.
            sys.write_all(idle, b"still here").await.expect("write");
            let mut buf = [0u8; 10];
            let mut got = 0;
            while got < buf.len() {
                let n = sys.timeout(LIMIT, sys.read(idle, &mut buf[got..])).await;
                got += n.expect("read");
            }
            assert_eq!(&buf, b"still here");
            sys.close(idle).await.expect("close");
            stop_server(&sys, server, stderr).await;
            0
        });
        assert_eq!(out.stderr, "");
        assert_eq!(out.status, Some(0));
    }

    /// Runs `test` as the client of one echo task over pipes, with an idle
    /// limit of 5 s, on the virtual clock (see `conn.rs`). The test gets
    /// the task's pid.
    fn with_echo<F, Fut>(test: F)
    where
        F: FnOnce(Sys, Conn, Pid) -> Fut + 'static,
        Fut: std::future::Future<Output = ()> + 'static,
    {
        let out = Harness::new(crate::registry()).run_fn(|sys| async move {
            let idle = Limit::After(Duration::from_secs(5));
            let (server, client) =
                serve_on_pipes(&sys, move |sys, conn| echo(sys, conn, idle)).await;
            test(sys.clone(), client, server).await;
            client.close(&sys).await;
            0
        });
        assert_eq!(out.status, Some(0), "{}", out.stderr);
    }

    #[test]
    fn echod_disconnects_a_client_idle_for_the_idle_timeout() {
        with_echo(|sys, conn, server| async move {
            sys.write_all(conn.output, b"hi").await.expect("write");
            let mut buf = [0u8; 8];
            let got = sys.timeout(LIMIT, sys.read(conn.input, &mut buf)).await;
            assert_eq!(got, Ok(2));
            // Then nothing: end-of-file, not the test's own limit, ends
            // this read.
            let got = sys.timeout(LIMIT, sys.read(conn.input, &mut buf)).await;
            assert_eq!(got, Ok(0));
            assert_eq!(sys.timeout(LIMIT, sys.wait(server)).await, Ok((server, 0)));
        });
    }

    #[test]
    fn echod_disconnects_a_client_that_takes_nothing_back() {
        // Hostile: a client that sends and never reads its echo, until the
        // echo fills the pipe and the server's write waits.
        with_echo(|sys, conn, server| async move {
            let sent = sys
                .timeout(LIMIT, sys.write_all(conn.output, &[7u8; 256 * 1024]))
                .await;
            assert_eq!(sent, Err(Errno::EPIPE), "the server went away");
            assert_eq!(sys.timeout(LIMIT, sys.wait(server)).await, Ok((server, 0)));
        });
    }

    #[test]
    fn echod_serves_a_waiting_client_once_a_slot_frees() {
        let out = on_host("", |sys| async move {
            let (server, addr, stderr) =
                start_server(&sys, &["echod", "-n", "1", "127.0.0.1:0"]).await;
            let first = sys
                .timeout(LIMIT, sys.connect(&addr))
                .await
                .expect("connect");
            sys.write_all(first, b"1").await.expect("write");
            let mut byte = [0u8; 1];
            let got = sys.timeout(LIMIT, sys.read(first, &mut byte)).await;
            assert_eq!((got, byte), (Ok(1), *b"1"), "the first is served");
            // The second waits in the backlog for the first one's slot.
            let second = sys
                .timeout(LIMIT, sys.connect(&addr))
                .await
                .expect("connect");
            sys.write_all(second, b"2").await.expect("write");
            sys.close(first).await.expect("close");
            let got = sys.timeout(LIMIT, sys.read(second, &mut byte)).await;
            assert_eq!((got, byte), (Ok(1), *b"2"), "then the second");
            sys.close(second).await.expect("close");
            stop_server(&sys, server, stderr).await;
            0
        });
        assert_eq!(out.stderr, "");
        assert_eq!(out.status, Some(0));
    }

    #[test]
    fn echod_rejects_bad_arguments() {
        let cases: &[(&[&str], &str)] = &[
            (&["echod", "-n", "0"], "invalid number of clients: '0'"),
            (
                &["echod", "--idle-timeout", "x"],
                "invalid time interval 'x'",
            ),
            (&["echod", "nowhere"], "invalid address 'nowhere'"),
            (
                &["echod", "example.com:7"],
                "cannot resolve example.com (only IP addresses and localhost)",
            ),
            (&["echod", "127.0.0.1:1", "x"], "extra operand 'x'"),
        ];
        for (argv, message) in cases {
            let out = run(argv, "");
            assert_eq!(out.status, Some(1), "{argv:?}");
            assert_eq!(
                out.stderr,
                format!("echod: {message}\nTry 'echod --help' for more information.\n")
            );
        }
    }

    #[test]
    fn echod_reports_an_address_in_use() {
        let out = on_host("", |sys| async move {
            let taken = sys.listen("127.0.0.1:0").await.expect("listen");
            let addr = sys.local_addr(taken).await.expect("addr");
            let server = Command::new("echod").arg(&addr).spawn(&sys).await;
            let pid = server.expect("spawn");
            let waited = sys.timeout(LIMIT, sys.wait(pid)).await;
            assert_eq!(waited, Ok((pid, 1)));
            0
        });
        assert_eq!(out.status, Some(0));
        assert!(
            out.stderr.starts_with("echod: cannot listen on 127.0.0.1:")
                && out.stderr.ends_with(": address already in use\n"),
            "{:?}",
            out.stderr
        );
    }
}
