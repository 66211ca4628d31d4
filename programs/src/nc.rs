//! `nc HOST:PORT` or `nc HOST PORT`: connect, then copy standard input to
//! the connection and the connection to standard output, both at once.
//!
//! ```text
//!   stdin ──▶ sender task ──▶ socket ──▶ nc ──▶ stdout
//! ```
//!
//! A child task sends standard input and, at its end, shuts down the
//! sending side (the peer reads end-of-file); `nc` copies what comes back
//! until the peer's end-of-file, then stops the sender if it is still
//! running.

use syscalls::{Command, ExitCode, Fd, FdMap, Shutdown, Sys};

use crate::addr::{self, AddrError};
use crate::fail;
use crate::usage::Spec;

const SPEC: Spec = Spec::new(
    "nc",
    "Usage: nc HOST:PORT\n\
     \x20 or:  nc HOST PORT\n\
     Connect to a TCP port: copy standard input to the connection (shutting\n\
     down the sending side at its end) and the connection to standard output,\n\
     until the peer closes. HOST is an IP address or localhost.\n\
     \n\
     \x20     --help     display this help and exit\n",
    &[],
);

/// How much one read asks for.
const CHUNK: usize = 64 * 1024;

/// Copies both ways; status 1 if the connection or a copy failed.
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    let args = match SPEC.parse(&sys, &args).await {
        Ok(args) => args,
        Err(status) => return status,
    };
    let target = match SPEC.at_most(&sys, &args.operands, 2).await {
        Ok([]) => return SPEC.fail(&sys, "missing operand").await,
        Ok([addr]) => addr::parse(addr),
        Ok([host, port, ..]) => addr::from_parts(host, port),
        Err(status) => return status,
    };
    let target = match target {
        Ok(target) => target,
        Err(e @ AddrError::Invalid(_)) => return SPEC.fail(&sys, e).await,
        Err(e) => {
            fail::error(&sys, SPEC.name, e).await;
            return fail::FAILURE;
        }
    };
    let conn = match sys.connect(&target.to_string()).await {
        Ok(conn) => conn,
        Err(errno) => return fail::call_failed(&sys, SPEC.name, "connect", errno).await,
    };
    let sender = Command::from_fn(move |sys| send(sys, conn))
        .name(SPEC.name)
        .arg("send")
        .fds(FdMap::stdio().set(conn, conn))
        .spawn(&sys)
        .await;
    let sender = match sender {
        Ok(pid) => pid,
        Err(errno) => {
            let _ = sys.close(conn).await;
            return fail::call_failed(&sys, SPEC.name, "cannot start the sender", errno).await;
        }
    };
    let mut status = receive(&sys, conn).await;
    let _ = sys.close(conn).await;
    // The peer is done: what the sender still had to say is moot.
    let sent = match sys.try_wait(Some(sender)).await {
        Ok(Some((_, sent))) => sent,
        _ => {
            let _ = sys.kill(sender, syscalls::Signal::Term).await;
            let _ = sys.wait(sender).await;
            0
        }
    };
    if sent != 0 {
        status = fail::FAILURE;
    }
    status
}

/// Copies the connection to standard output until end-of-file.
async fn receive(sys: &Sys, conn: Fd) -> ExitCode {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match sys.read(conn, &mut buf).await {
            Ok(0) => return 0,
            Ok(n) => n,
            Err(errno) => return fail::call_failed(sys, SPEC.name, "read", errno).await,
        };
        if let Err(errno) = sys.write_all(Fd::STDOUT, &buf[..n]).await {
            return fail::source_write_error(sys, SPEC.name, errno).await;
        }
    }
}

/// The sender task: copies standard input to the connection, then shuts
/// down the sending side.
async fn send(sys: Sys, conn: Fd) -> ExitCode {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match sys.read(Fd::STDIN, &mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(errno) => return fail::call_failed(&sys, SPEC.name, "read error", errno).await,
        };
        if let Err(errno) = sys.write_all(conn, &buf[..n]).await {
            return fail::call_failed(&sys, SPEC.name, "write", errno).await;
        }
    }
    match sys.shutdown(conn, Shutdown::Write).await {
        Ok(()) => 0,
        Err(errno) => fail::call_failed(&sys, SPEC.name, "shutdown", errno).await,
    }
}

#[cfg(test)]
mod tests {
    use syscalls::Command;

    use crate::echod::tests::{on_host, start_server, stop_server, LIMIT};
    use crate::run;

    #[test]
    fn nc_sends_its_input_and_prints_the_echo() {
        // Big enough that sending and receiving must overlap.
        let input: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
        let expected = input.clone();
        let out = on_host(&input, |sys| async move {
            let (server, addr, stderr) = start_server(&sys, &["echod", "127.0.0.1:0"]).await;
            let (host, port) = addr.rsplit_once(':').expect("IP:PORT");
            let port = port.to_string();
            let nc = Command::new("nc")
                .args(["localhost", port.as_str()])
                .spawn(&sys)
                .await
                .expect("spawn nc");
            assert_eq!(host, "127.0.0.1");
            let waited = sys.timeout(LIMIT, sys.wait(nc)).await;
            assert_eq!(waited, Ok((nc, 0)));
            stop_server(&sys, server, stderr).await;
            0
        });
        assert_eq!(out.stderr, "");
        assert_eq!(out.status, Some(0));
        assert!(out.stdout == expected, "{} bytes back", out.stdout.len());
    }

    #[test]
    fn nc_reports_a_refused_connection() {
        let out = on_host("", |sys| async move {
            // A port that was just free: listen, learn it, close.
            let l = sys.listen("127.0.0.1:0").await.expect("listen");
            let addr = sys.local_addr(l).await.expect("addr");
            sys.close(l).await.expect("close");
            let nc = Command::new("nc")
                .arg(addr)
                .spawn(&sys)
                .await
                .expect("spawn");
            sys.timeout(LIMIT, sys.wait(nc)).await.expect("wait").1
        });
        assert_eq!(out.status, Some(1));
        assert_eq!(out.stderr, "nc: connect: connection refused\n");
    }

    #[test]
    fn nc_rejects_bad_addresses() {
        let out = run(&["nc", "example.com", "80"], "");
        assert_eq!(out.status, Some(1));
        assert_eq!(
            out.stderr,
            "nc: cannot resolve example.com (only IP addresses and localhost)\n"
        );
        let cases: &[(&[&str], &str)] = &[
            (&["nc"], "missing operand"),
            (&["nc", "127.0.0.1"], "invalid address '127.0.0.1'"),
            (
                &["nc", "127.0.0.1", "http"],
                "invalid address '127.0.0.1:http'",
            ),
            (&["nc", "a", "1", "b"], "extra operand 'b'"),
        ];
        for (argv, message) in cases {
            let out = run(argv, "");
            assert_eq!(out.status, Some(1), "{argv:?}");
            assert_eq!(
                out.stderr,
                format!("nc: {message}\nTry 'nc --help' for more information.\n")
            );
        }
    }
}
