//! The shape `echod` and `httpd` share: listen on an address and say where,
//! then accept connections forever, each served by a task of its own that
//! gets the connection (and nothing else of the server's), reaping the
//! tasks that have ended as it goes.
//!
//! ```text
//!   server ──accept──▶ conn ──spawn(fds: conn)──▶ client task: serves, closes
//!     │                  └── close (the task holds it now)
//!     └── try_wait: reap the client tasks that ended
//! ```

use std::future::Future;
use std::time::Duration;

use syscalls::{Command, Errno, ExitCode, Fd, FdMap, Sys};

use crate::addr;
use crate::duration::Limit;
use crate::fail;
use crate::usage::{Args, Spec};

/// How often a server with client tasks wakes to reap the ones that ended
/// while no connection came: zombies then live a second at most, and an
/// idle server without clients never wakes.
const REAP_EVERY: Duration = Duration::from_secs(1);

/// The part of a server's command line echod and httpd share: `-n N`
/// (the most clients at once), and the one ADDR operand (`default` when
/// none). Listens there; `Err` is the status to exit with, the message
/// printed.
pub async fn start(
    sys: &Sys,
    spec: &Spec,
    args: &Args,
    default: &str,
) -> Result<(Fd, Option<u64>), ExitCode> {
    let mut max = None;
    for (_, value) in args.opts.iter().filter(|(opt, _)| *opt == 'n') {
        match value.parse::<u64>() {
            Ok(n) if n > 0 => max = Some(n),
            _ => {
                return Err(spec
                    .fail(sys, format_args!("invalid number of clients: '{value}'"))
                    .await)
            }
        }
    }
    let addr = match spec.at_most(sys, &args.operands, 1).await? {
        [addr, ..] => addr.as_str(),
        [] => default,
    };
    Ok((listen(sys, spec, addr).await?, max))
}

/// A time-limit option's value (`--idle-timeout 30`), or the usage error.
pub async fn limit(sys: &Sys, spec: &Spec, value: &str) -> Result<Limit, ExitCode> {
    match Limit::parse(value) {
        Some(limit) => Ok(limit),
        None => Err(spec
            .fail(sys, format_args!("invalid time interval '{value}'"))
            .await),
    }
}

/// Listens on `addr` (`IP:PORT` or `localhost:PORT`; port 0 picks a free
/// one) and prints `NAME: listening on IP:PORT` on stderr, the address as
/// bound: a test (or a person) learns the port from it. `Err` is the
/// status to exit with, the message printed.
pub async fn listen(sys: &Sys, spec: &Spec, addr: &str) -> Result<Fd, ExitCode> {
    let bound = match addr::parse(addr) {
        Ok(bound) => bound,
        Err(e) => return Err(spec.fail(sys, e).await),
    };
    let listener = match sys.listen(&bound.to_string()).await {
        Ok(fd) => fd,
        Err(errno) => {
            let what = format!("cannot listen on {bound}");
            return Err(fail::call_failed(sys, spec.name, &what, errno).await);
        }
    };
    let local = match sys.local_addr(listener).await {
        Ok(local) => local,
        Err(errno) => return Err(fail::call_failed(sys, spec.name, "getsockname", errno).await),
    };
    fail::error(sys, spec.name, format_args!("listening on {local}")).await;
    Ok(listener)
}

/// Accepts connections on `listener` forever, each served by a task
/// `NAME client` running `client(sys, conn)`; at most `max` at once
/// (`None`: as many as the kernel allows). Returns only when accepting
/// fails for good: status 1, the message printed.
pub async fn serve<F, Fut>(
    sys: &Sys,
    name: &'static str,
    listener: Fd,
    max: Option<u64>,
    client: F,
) -> ExitCode
where
    F: Fn(Sys, Fd) -> Fut + Clone + 'static,
    Fut: Future<Output = ExitCode> + 'static,
{
    let mut live: u64 = 0;
    loop {
        reap(sys, &mut live).await;
        if max.is_some_and(|max| live >= max) {
            // Full: the next connection waits in the backlog for a slot.
            wait_for_one(sys, &mut live).await;
            continue;
        }
        let accepted = if live > 0 {
            sys.timeout(REAP_EVERY, sys.accept(listener)).await
        } else {
            sys.accept(listener).await
        };
        let conn = match accepted {
            Ok(conn) => conn,
            Err(Errno::ETIMEDOUT) => continue,
            Err(errno @ (Errno::EMFILE | Errno::EAGAIN)) if live > 0 => {
                fail::call_failed(sys, name, "accept", errno).await;
                wait_for_one(sys, &mut live).await;
                continue;
            }
            Err(errno) => return fail::call_failed(sys, name, "accept", errno).await,
        };
        let client = client.clone();
        let spawned = Command::from_fn(move |sys| client(sys, conn))
            .name(name)
            .arg("client")
            .fds(FdMap::stdio().set(conn, conn))
            .spawn(sys)
            .await;
        // The client task holds the connection now (or nobody will).
        let _ = sys.close(conn).await;
        match spawned {
            Ok(_) => live += 1,
            Err(errno) => {
                fail::call_failed(sys, name, "cannot start a client task", errno).await;
                if live > 0 {
                    wait_for_one(sys, &mut live).await;
                }
            }
        }
    }
}

/// Reaps every client task that has ended, without blocking.
async fn reap(sys: &Sys, live: &mut u64) {
    while let Ok(Some(_)) = sys.try_wait(None).await {
        *live = live.saturating_sub(1);
    }
}

/// Waits for one client task to end.
async fn wait_for_one(sys: &Sys, live: &mut u64) {
    match sys.wait_any().await {
        Ok(_) => *live = live.saturating_sub(1),
        Err(_) => *live = 0,
    }
}
