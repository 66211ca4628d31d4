//! `fetch [-c N] [-t SECS] [-m SIZE] [URL]...`: the concurrent crawler.
//! Each URL is fetched by a task of its own, at most N at once: the parent
//! starts N, and the next each time one ends. URLs on standard input are
//! read as there is room for them, so fetching starts with the first line
//! and an endless list costs no more than a short one.
//!
//! A body is counted as it streams in, a piece at a time, never kept: a
//! URL costs a few tens of KiB however big its body is. Two limits end a
//! URL that goes on too long, since a peer decides how much it sends: the
//! time limit bounds the whole request (connecting, sending, and a body
//! however fast it comes), and a body over the size limit is an error.
//!
//! Per URL it prints `STATUS BYTES TIME URL` (`200 1234 3.2ms
//! http://127.0.0.1:8080/`) or `ERR WHY TIME URL` (`ERR timeout 5000.0ms
//! …`, `ERR connection refused 0.3ms …`) as each one ends, then a summary
//! on stderr. Tasks hand their outcome to the parent through shared memory
//! (an `Rc`), as threads of one program would, and wake it through a pipe
//! each, which the parent polls together with standard input.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use syscalls::{Command, Errno, ExitCode, Fd, FdMap, Interest, Pid, PollFd, Sys};

use crate::addr;
use crate::conn::Conn;
use crate::duration::{within, Limit};
use crate::fail::{self, Failed};
use crate::http::{self, Body, ReadError, Url};
use crate::lines::{LineError, LineReader};
use crate::usage::{parse_count, Opt, Spec};

const SPEC: Spec = Spec::new(
    "fetch",
    "Usage: fetch [OPTION]... [URL]...\n\
     Fetch each URL with HTTP/1.1 GET, several at once, and print for each\n\
     'STATUS BYTES TIME URL' (or 'ERR WHY TIME URL') as it ends, then a\n\
     summary on stderr. With no URL, read URLs from standard input, one a line.\n\
     URLs are http://HOST[:PORT][/PATH]; HOST is an IP address or localhost.\n\
     \n\
     \x20 -c, --concurrency=N   fetch at most N URLs at once (default 4)\n\
     \x20 -t, --timeout=SECS    give up on a URL after SECS, body included\n\
     \x20                         (default 5; suffixes s, m, h, d; 0: no limit)\n\
     \x20 -m, --max-size=SIZE   give up on a URL whose body is over SIZE bytes\n\
     \x20                         (default 1G; suffixes K, M, G, T are powers\n\
     \x20                         of 1024, KB, MB, GB, TB of 1000)\n\
     \x20     --help            display this help and exit\n\
     \n\
     Exit status is 0 if every URL answered 2xx or 3xx, 1 otherwise.\n",
    &[
        Opt::value('c', "concurrency"),
        Opt::value('t', "timeout"),
        Opt::value('m', "max-size"),
    ],
);

/// URLs in flight when `-c` is not given.
const DEFAULT_CONCURRENCY: usize = 4;

/// The longest line of standard input taken as a URL: a URL goes into a
/// request head, which servers (httpd among them) refuse past a few KiB.
const MAX_URL: usize = http::MAX_HEAD;

/// A URL's limit when `-t` is not given.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest body taken when `-m` is not given: more than a page or a
/// download a person means, far less than a body that never ends.
const DEFAULT_MAX_SIZE: u64 = 1 << 30;

/// What ends a URL that goes on too long.
#[derive(Clone, Copy)]
struct Limits {
    time: Limit,
    max_size: u64,
}

/// One URL to fetch.
struct Job {
    text: String,
    addr: SocketAddr,
    url: Url,
}

/// How a fetch ended.
#[derive(Debug)]
struct Outcome {
    /// The status and body size, or why there are none.
    result: Result<(u16, u64), String>,
    elapsed: Duration,
}

/// The totals of the summary.
#[derive(Default)]
struct Totals {
    urls: usize,
    ok: usize,
    bytes: u64,
    /// Reading URLs from standard input failed: some may not have been read.
    input_failed: bool,
}

/// Fetches every URL; status 0 if all answered 2xx or 3xx.
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    let args = match SPEC.parse(&sys, &args).await {
        Ok(args) => args,
        Err(status) => return status,
    };
    let mut concurrency = DEFAULT_CONCURRENCY;
    let mut limits = Limits {
        time: Limit::After(DEFAULT_TIMEOUT),
        max_size: DEFAULT_MAX_SIZE,
    };
    for (opt, value) in &args.opts {
        match opt {
            'c' => match value.parse::<usize>() {
                Ok(n) if n > 0 => concurrency = n,
                _ => {
                    let message = format!("invalid concurrency: '{value}'");
                    return SPEC.fail(&sys, message).await;
                }
            },
            'm' => match parse_count(value) {
                Some(n) => limits.max_size = n,
                None => {
                    let message = format!("invalid size: '{value}'");
                    return SPEC.fail(&sys, message).await;
                }
            },
            _ => match Limit::parse(value) {
                Some(parsed) => limits.time = parsed,
                None => {
                    let message = format!("invalid time interval '{value}'");
                    return SPEC.fail(&sys, message).await;
                }
            },
        }
    }
    let mut urls = if args.operands.is_empty() {
        Urls::Stdin {
            lines: LineReader::with_max_line(&sys, Fd::STDIN, MAX_URL),
            eof: false,
        }
    } else {
        Urls::Operands(args.operands.into_iter())
    };
    let started = sys.now().await;
    let mut totals = Totals::default();
    match crawl(&sys, &mut urls, concurrency, limits, &mut totals).await {
        Ok(()) => {}
        Err(Failed::Write(errno)) => return fail::write_error(&sys, SPEC.name, errno).await,
        Err(failed) => {
            fail::error(&sys, SPEC.name, format_args!("poll: {failed}")).await;
            return fail::FAILURE;
        }
    }
    let elapsed = sys.now().await.saturating_sub(started);
    let summary = format!(
        "{} urls, {} ok, {} failed, {} bytes in {:.1} ms",
        totals.urls,
        totals.ok,
        totals.urls - totals.ok,
        totals.bytes,
        millis(elapsed)
    );
    fail::error(&sys, SPEC.name, summary).await;
    if totals.ok == totals.urls && !totals.input_failed {
        0
    } else {
        fail::FAILURE
    }
}

/// Where the URLs come from: the operands, or standard input, one a line,
/// read as they are needed, so that an endless list costs no more memory
/// than a short one, and fetching starts with its first line.
enum Urls {
    Operands(std::vec::IntoIter<String>),
    Stdin {
        lines: LineReader,
        eof: bool,
    },
    /// No more.
    Done,
}

impl Urls {
    /// The next URL already at hand (an operand, or a line already read;
    /// blank lines are skipped), without waiting for input.
    fn at_hand(&mut self) -> Option<String> {
        let next = match self {
            Urls::Operands(operands) => operands.next(),
            Urls::Stdin { lines, .. } => loop {
                let Some(line) = lines.buffered_line() else {
                    break None;
                };
                let text = String::from_utf8_lossy(line);
                if !text.trim().is_empty() {
                    break Some(text.trim().to_string());
                }
            },
            Urls::Done => None,
        };
        if next.is_none() && matches!(self, Urls::Operands(_) | Urls::Stdin { eof: true, .. }) {
            *self = Urls::Done;
        }
        next
    }

    /// The descriptor more URLs come from, while they may.
    fn input(&self) -> Option<Fd> {
        match self {
            Urls::Stdin { eof: false, .. } => Some(Fd::STDIN),
            _ => None,
        }
    }

    /// Reads more of standard input (call it when [`Urls::input`] is
    /// ready: it does not wait then). After an error there are no more.
    async fn fill(&mut self) -> Result<(), LineError> {
        let Urls::Stdin { lines, eof } = self else {
            return Ok(());
        };
        match lines.fill().await {
            Ok(more) => {
                // After end-of-file, a last line without a newline is at hand.
                *eof = !more;
                Ok(())
            }
            Err(e) => {
                *self = Urls::Done;
                Err(e)
            }
        }
    }

    fn is_done(&self) -> bool {
        matches!(self, Urls::Done)
    }

    fn stop(&mut self) {
        *self = Urls::Done;
    }
}

/// A URL to fetch, or the message that says why it cannot be.
fn job(text: String) -> Result<Job, String> {
    let Some(url) = Url::parse(&text) else {
        return Err(format!(
            "{text}: invalid URL (not http://HOST[:PORT][/PATH])"
        ));
    };
    match addr::resolve(&url.host) {
        Ok(ip) => Ok(Job {
            addr: SocketAddr::new(ip, url.port),
            url,
            text,
        }),
        Err(e) => Err(format!("{text}: {e}")),
    }
}

/// A fetch task, as the parent keeps it while it runs.
struct Running {
    job: Job,
    /// Where the task leaves its outcome.
    slot: Rc<RefCell<Option<Outcome>>>,
    /// The read end of a pipe whose one writer is the task: it becomes
    /// readable when the task has said its outcome, or has ended however
    /// it ended (end-of-file). A task's end is not a descriptor; this makes
    /// it one, to wait for it and for standard input at once.
    ended: Fd,
}

/// Fetches the URLs, at most `concurrency` at once, taking the next as
/// one ends, and prints each line as its fetch ends. `Err` when standard
/// output failed (`Failed::Write`), or waiting did (`Failed::Read`).
async fn crawl(
    sys: &Sys,
    urls: &mut Urls,
    concurrency: usize,
    limits: Limits,
    totals: &mut Totals,
) -> Result<(), Failed> {
    let mut running: HashMap<Pid, Running> = HashMap::new();
    // A URL that could not start for want of descriptors: it starts once
    // a running one has ended.
    let mut pending: Option<Job> = None;
    loop {
        while running.len() < concurrency {
            let job = match pending.take() {
                Some(job) => job,
                None => {
                    let Some(text) = urls.at_hand() else { break };
                    match job(text) {
                        Ok(job) => job,
                        Err(message) => {
                            totals.urls += 1;
                            fail::error(sys, SPEC.name, message).await;
                            continue;
                        }
                    }
                }
            };
            match start(sys, &job, limits).await {
                Ok((pid, slot, ended)) => {
                    running.insert(pid, Running { job, slot, ended });
                }
                Err(Errno::EMFILE) if !running.is_empty() => {
                    pending = Some(job);
                    break;
                }
                Err(errno) => {
                    let outcome = Outcome {
                        result: Err(errno.to_string()),
                        elapsed: Duration::ZERO,
                    };
                    report(sys, &job, &outcome, totals).await?;
                }
            }
        }
        if running.is_empty() && pending.is_none() {
            if urls.is_done() {
                return Ok(());
            }
            // Only input to wait for: a read, which (unlike a poll) sees
            // end-of-file at once.
            if let Err(e) = urls.fill().await {
                fail::error(sys, SPEC.name, format_args!("standard input: {e}")).await;
                totals.input_failed = true;
            }
            continue;
        }
        // Wait for a fetch to end or, with room for one more, for input.
        let pids: Vec<Pid> = running.keys().copied().collect();
        let mut fds: Vec<PollFd> = pids
            .iter()
            .map(|pid| PollFd::new(running[pid].ended, Interest::READ))
            .collect();
        let input = urls
            .input()
            .filter(|_| running.len() < concurrency && pending.is_none());
        if let Some(fd) = input {
            fds.push(PollFd::new(fd, Interest::READ));
        }
        // A task that dies without a word closes its pipe: end-of-file,
        // which wakes the poll as bytes do; so does the end of input.
        if let Err(errno) = sys.poll(&mut fds, None).await {
            if input.is_none() {
                return Err(Failed::Read(errno));
            }
            // Standard input cannot be waited for (closed): no more URLs.
            fail::error(sys, SPEC.name, format_args!("standard input: {errno}")).await;
            totals.input_failed = true;
            urls.stop();
            continue;
        }
        for (pid, entry) in pids.iter().zip(&fds) {
            if !entry.ready.read {
                continue;
            }
            let Some(run) = running.remove(pid) else {
                continue;
            };
            let _ = sys.close(run.ended).await;
            let status = sys.wait(*pid).await.map_or(0, |(_, status)| status);
            // A task that died before it could say (killed, or panicked).
            let outcome = run.slot.take().unwrap_or_else(|| Outcome {
                result: Err(format!("task ended with status {status}")),
                elapsed: Duration::ZERO,
            });
            report(sys, &run.job, &outcome, totals).await?;
        }
        if input.is_some() && fds.last().is_some_and(|entry| entry.ready.read) {
            if let Err(e) = urls.fill().await {
                fail::error(sys, SPEC.name, format_args!("standard input: {e}")).await;
                totals.input_failed = true;
            }
        }
    }
}

/// Starts the task that fetches `job`: its pid, where it leaves its
/// outcome, and the descriptor that reads end-of-file once it has ended.
async fn start(
    sys: &Sys,
    job: &Job,
    limits: Limits,
) -> Result<(Pid, Rc<RefCell<Option<Outcome>>>, Fd), Errno> {
    let (ended, ended_w) = sys.pipe().await?;
    let slot = Rc::new(RefCell::new(None));
    let (addr, url, outcome) = (job.addr, job.url.clone(), slot.clone());
    let spawned = Command::from_fn(move |sys| async move {
        *outcome.borrow_mut() = Some(fetch(&sys, addr, &url, limits).await);
        // Wakes the parent at once (see `LOOK_AGAIN`).
        let _ = sys.write(ended_w, b"!").await;
        0
    })
    .name(SPEC.name)
    .arg(&job.text)
    // The write end of `ended` and nothing else: it closes when the task
    // ends, and no other task holds a copy to keep it open.
    .fds(FdMap::empty().set(ended_w, ended_w))
    .spawn(sys)
    .await;
    let _ = sys.close(ended_w).await;
    match spawned {
        Ok(pid) => Ok((pid, slot, ended)),
        Err(errno) => {
            let _ = sys.close(ended).await;
            Err(errno)
        }
    }
}

/// Prints a job's line and counts it.
async fn report(
    sys: &Sys,
    job: &Job,
    outcome: &Outcome,
    totals: &mut Totals,
) -> Result<(), Failed> {
    totals.urls += 1;
    let ms = millis(outcome.elapsed);
    let line = match &outcome.result {
        Ok((status, bytes)) => {
            if (200..400).contains(status) {
                totals.ok += 1;
            }
            totals.bytes += bytes;
            format!("{status} {bytes} {ms:.1}ms {}\n", job.text)
        }
        Err(e) => format!("ERR {e} {ms:.1}ms {}\n", job.text),
    };
    sys.print(&line).await.map_err(Failed::Write)
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One fetch, under `limits`: its status and body size, and how long it
/// took.
async fn fetch(sys: &Sys, addr: SocketAddr, url: &Url, limits: Limits) -> Outcome {
    let started = sys.now().await;
    let deadline = match limits.time {
        Limit::After(d) => Some(started.saturating_add(d)),
        Limit::Never => None,
    };
    let get = get(sys, addr, url, deadline, limits.max_size);
    let result = within(sys, limits.time, get).await;
    Outcome {
        result: result.map_err(|e| match e {
            ReadError::TooLarge(max) => format!("body over --max-size ({max} bytes)"),
            e => e.to_string(),
        }),
        elapsed: sys.now().await.saturating_sub(started),
    }
}

/// Connects, sends the request, and reads the response until its end,
/// counting the body's bytes as they come; until `deadline` at the latest,
/// and no more than `max_size` bytes of body.
async fn get(
    sys: &Sys,
    addr: SocketAddr,
    url: &Url,
    deadline: Option<Duration>,
    max_size: u64,
) -> Result<(u16, u64), ReadError> {
    let conn = sys
        .connect(&addr.to_string())
        .await
        .map_err(ReadError::Call)?;
    let conn = Conn::socket(conn);
    let result = exchange(sys, conn, url, deadline, max_size).await;
    conn.close(sys).await;
    result
}

/// The request and the response of [`get`], on `conn`.
async fn exchange(
    sys: &Sys,
    conn: Conn,
    url: &Url,
    deadline: Option<Duration>,
    max_size: u64,
) -> Result<(u16, u64), ReadError> {
    let host = match url.port {
        80 => url.host.clone(),
        port => format!("{}:{port}", url.host),
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: coos-fetch\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        url.path
    );
    sys.write_all(conn.output, request.as_bytes())
        .await
        .map_err(ReadError::Call)?;
    let mut buf = Vec::new();
    let response = http::read_response_head(sys, conn.input, &mut buf).await?;
    let mut body = Body::new(sys, conn.input, &mut buf, &response, false, max_size)?;
    let mut bytes = 0;
    while let Some(piece) = body.next().await? {
        bytes += piece.len() as u64;
        // The deadline `within` set ends a call that blocks; a body that
        // keeps coming never blocks, so the clock is looked at here too.
        if let Some(at) = deadline {
            if sys.now().await >= at {
                return Err(ReadError::Call(Errno::ETIMEDOUT));
            }
        }
    }
    Ok((response.status, bytes))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use kernel::testing::{Harness, Outcome};
    use syscalls::{Command, ExitCode, Fd, FdMap, Sys};

    use super::{exchange, Conn, Errno, ReadError, Url};
    use crate::echod::tests::{on_host, start_server, stop_server, LIMIT};
    use crate::http;
    use crate::run;

    /// The most a test server sends of a body that would not end: so that
    /// a fetch that does not stop it still ends (and fails its test).
    const CAP: u64 = 4 << 20;

    /// A server for fetch to meet a peer that sends too much: for each
    /// connection, in turn, it reads the request head and answers by its
    /// path, with a body of `x`s:
    /// `/endless`: no `Content-Length`, then bytes until the client goes
    /// (or `CAP`); `/huge`: a
    /// `Content-Length` of 1 TiB, then the same as `/endless`; `/exact`:
    /// 64 KiB, then end-of-file; `/trickle`: a byte every 100 ms, 1000 at
    /// most.
    async fn body_server(sys: Sys, listener: Fd) -> ExitCode {
        let piece = [b'x'; 16 * 1024];
        while let Ok(conn) = sys.accept(listener).await {
            let mut buf = Vec::new();
            while http::head_end(&buf).is_none() {
                if !matches!(http::read_more(&sys, conn, &mut buf).await, Ok(1..)) {
                    break;
                }
            }
            let end = http::head_end(&buf).unwrap_or(0);
            let path = http::parse_request(&buf[..end]).map_or(String::new(), |r| r.target);
            let (head, total, trickle) = match path.as_str() {
                "/huge" => ("Content-Length: 1099511627776\r\n", CAP, false),
                "/exact" => ("", 64 * 1024, false),
                "/trickle" => ("", 1000, true),
                _ => ("", CAP, false),
            };
            let head = format!("HTTP/1.1 200 OK\r\n{head}Connection: close\r\n\r\n");
            let mut sent = match sys.write_all(conn, head.as_bytes()).await {
                Ok(()) => 0,
                Err(_) => total,
            };
            while sent < total {
                let n = if trickle {
                    1
                } else {
                    (total - sent).min(piece.len() as u64)
                };
                if sys.write_all(conn, &piece[..n as usize]).await.is_err() {
                    break;
                }
                sent += n;
                if trickle {
                    let _ = sys.sleep(Duration::from_millis(100)).await;
                }
            }
            let _ = sys.close(conn).await;
        }
        0
    }

    /// Starts [`body_server`] on a free port, runs `fetch ARGS URLS` (the
    /// URLs being paths on it), and returns fetch's status and output.
    async fn fetch_from_body_server(
        sys: &Sys,
        args: &[&str],
        paths: &[&str],
    ) -> (ExitCode, String) {
        let listener = sys.listen("127.0.0.1:0").await.expect("listen");
        let addr = sys.local_addr(listener).await.expect("addr");
        let server = Command::from_fn(move |sys| body_server(sys, listener))
            .fds(FdMap::stdio().set(listener, listener))
            .spawn(sys)
            .await
            .expect("spawn the server");
        sys.close(listener).await.expect("close");
        let (r, w) = sys.pipe().await.expect("pipe");
        let fetch = Command::new("fetch")
            .args(args.iter().copied())
            .args(paths.iter().map(|p| format!("http://{addr}{p}")))
            .fds(FdMap::stdio().set(Fd::STDOUT, w))
            .spawn(sys)
            .await
            .expect("spawn fetch");
        sys.close(w).await.expect("close");
        let mut printed = Vec::new();
        sys.timeout(LIMIT, sys.read_to_end(r, &mut printed))
            .await
            .expect("fetch's output");
        let waited = sys.timeout(LIMIT, sys.wait(fetch)).await;
        let (_, status) = waited.expect("fetch ends");
        sys.kill(server, syscalls::Signal::Term)
            .await
            .expect("kill");
        let _ = sys.wait(server).await;
        (status, String::from_utf8(printed).expect("text"))
    }

    /// The line of `printed` for the URL that ends in `path`.
    fn line_for<'a>(printed: &'a str, path: &str) -> &'a str {
        printed
            .lines()
            .find(|l| l.ends_with(path))
            .unwrap_or_else(|| panic!("{path} in {printed:?}"))
    }

    /// `ERR WHY TIME URL`: the WHY.
    fn why(line: &str) -> &str {
        let rest = line
            .strip_prefix("ERR ")
            .unwrap_or_else(|| panic!("{line:?}"));
        let (why, _) = rest.rsplit_once(' ').expect("TIME URL");
        let (why, _) = why.rsplit_once(' ').expect("TIME");
        why
    }

    fn virtual_clock<F, Fut>(main: F) -> Outcome
    where
        F: FnOnce(Sys) -> Fut + 'static,
        Fut: std::future::Future<Output = ExitCode> + 'static,
    {
        Harness::new(crate::registry()).run_fn(main)
    }

    /// An address where nobody listens: a port that was just free.
    async fn refused_addr(sys: &Sys) -> String {
        let closed = sys.listen("127.0.0.1:0").await.expect("listen");
        let addr = sys.local_addr(closed).await.expect("addr");
        sys.close(closed).await.expect("close");
        addr
    }

    /// Starts `fetch` with `stdin` (given up here) as its standard input:
    /// (fetch, the read end of its stdout).
    async fn fetch_reading(sys: &Sys, stdin: Fd) -> (syscalls::Pid, Fd) {
        let (out_r, out_w) = sys.pipe().await.expect("pipe");
        let fetch = Command::new("fetch")
            .fds(FdMap::stdio().set(Fd::STDIN, stdin).set(Fd::STDOUT, out_w))
            .spawn(sys)
            .await
            .expect("spawn fetch");
        sys.close(stdin).await.expect("close");
        sys.close(out_w).await.expect("close");
        (fetch, out_r)
    }

    /// Starts `fetch -t LIMIT URL` against a server that takes connections
    /// (the kernel's backlog does) and never answers: (fetch, the read end
    /// of its stdout, the server's socket, URL).
    async fn fetch_from_a_silent_server(sys: &Sys, limit: &str) -> (syscalls::Pid, Fd, Fd, String) {
        let silent = sys.listen("127.0.0.1:0").await.expect("listen");
        let url = format!("http://{}/", sys.local_addr(silent).await.expect("addr"));
        let (r, w) = sys.pipe().await.expect("pipe");
        let fetch = Command::new("fetch")
            .args(["-t", limit, url.as_str()])
            .fds(FdMap::stdio().set(Fd::STDOUT, w))
            .spawn(sys)
            .await
            .expect("spawn fetch");
        sys.close(w).await.expect("close");
        (fetch, r, silent, url)
    }

    /// Checks a line `STATUS BYTES TIME URL`.
    fn check_line(line: &str, status: &str, url: &str) {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 4, "{line:?}");
        assert_eq!((fields[0], fields[3]), (status, url), "{line:?}");
        assert!(fields[1].parse::<u64>().is_ok_and(|n| n > 0), "{line:?}");
        let ms = fields[2].strip_suffix("ms").expect("a time in ms");
        assert!(ms.parse::<f64>().is_ok(), "{line:?}");
    }

    #[test]
    fn fetch_gets_every_url_several_at_once() {
        // Real sockets on the host's clock, with a time limit that is
        // never meant to be reached: the test waits for what fetch prints,
        // not for a timer.
        let out = on_host("", |sys| async move {
            let (server, addr, stderr) = start_server(&sys, &["httpd", "127.0.0.1:0"]).await;
            let port = addr.rsplit_once(':').expect("IP:PORT").1;
            let urls = [
                format!("http://{addr}/"),
                format!("http://localhost:{port}/ps"),
                format!("http://{addr}/?again"),
                format!("http://{addr}/nope"),
            ];
            let (r, w) = sys.pipe().await.expect("pipe");
            let fetch = Command::new("fetch")
                .args(["-c", "2", "-t", "30"])
                .args(urls.iter().cloned())
                .fds(FdMap::stdio().set(Fd::STDOUT, w))
                .spawn(&sys)
                .await
                .expect("spawn fetch");
            sys.close(w).await.expect("close");
            let mut printed = Vec::new();
            sys.timeout(LIMIT, sys.read_to_end(r, &mut printed))
                .await
                .expect("fetch's output");
            let waited = sys.timeout(LIMIT, sys.wait(fetch)).await;
            assert_eq!(waited, Ok((fetch, 1)), "one was 404");
            let printed = String::from_utf8(printed).expect("text");
            let line = |url: &str| {
                let found = printed.lines().find(|l| l.ends_with(&format!(" {url}")));
                found
                    .unwrap_or_else(|| panic!("{url} in {printed}"))
                    .to_string()
            };
            check_line(&line(&urls[0]), "200", &urls[0]);
            check_line(&line(&urls[1]), "200", &urls[1]);
            check_line(&line(&urls[2]), "200", &urls[2]);
            check_line(&line(&urls[3]), "404", &urls[3]);
            assert_eq!(printed.lines().count(), 4, "{printed}");
            stop_server(&sys, server, stderr).await;
            0
        });
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        let summary = out.stderr.strip_prefix("fetch: 4 urls, 3 ok, 1 failed, ");
        assert!(
            summary.is_some_and(|s| s.ends_with(" ms\n")),
            "{:?}",
            out.stderr
        );
    }

    #[test]
    fn fetch_times_out_a_server_that_never_answers() {
        // On the virtual clock: the two seconds pass as soon as every task
        // waits. Whatever the host does with the connection meanwhile, the
        // fetch can only end by its time limit.
        let out = virtual_clock(|sys| async move {
            let (fetch, r, silent, url) = fetch_from_a_silent_server(&sys, "2").await;
            let mut printed = Vec::new();
            sys.timeout(LIMIT, sys.read_to_end(r, &mut printed))
                .await
                .expect("fetch's output");
            assert_eq!(sys.timeout(LIMIT, sys.wait(fetch)).await, Ok((fetch, 1)));
            let printed = String::from_utf8(printed).expect("text");
            assert_eq!(why(line_for(&printed, &url)), "timeout");
            sys.close(silent).await.expect("close");
            0
        });
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        assert!(
            out.stderr.starts_with("fetch: 1 urls, 0 ok, 1 failed, "),
            "{}",
            out.stderr
        );
    }

    #[test]
    fn fetch_reads_urls_from_stdin_and_reports_refusals() {
        let out = on_host("", |sys| async move {
            let (server, addr, stderr) = start_server(&sys, &["httpd", "127.0.0.1:0"]).await;
            let closed_addr = refused_addr(&sys).await;
            let (r, w) = sys.pipe().await.expect("pipe");
            let input = format!("http://{addr}/\n\nhttp://{closed_addr}/\n");
            sys.write_all(w, input.as_bytes()).await.expect("write");
            sys.close(w).await.expect("close");
            let (fetch, out_r) = fetch_reading(&sys, r).await;
            let mut printed = Vec::new();
            sys.timeout(LIMIT, sys.read_to_end(out_r, &mut printed))
                .await
                .expect("fetch's output");
            assert_eq!(sys.timeout(LIMIT, sys.wait(fetch)).await, Ok((fetch, 1)));
            let printed = String::from_utf8(printed).expect("text");
            let refused = format!("http://{closed_addr}/");
            assert!(
                printed
                    .lines()
                    .any(|l| l.starts_with("ERR connection refused ") && l.ends_with(&refused)),
                "{printed}"
            );
            assert!(printed.lines().any(|l| l.starts_with("200 ")), "{printed}");
            stop_server(&sys, server, stderr).await;
            0
        });
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        assert!(
            out.stderr.starts_with("fetch: 2 urls, 1 ok, 1 failed, "),
            "{}",
            out.stderr
        );
    }

    #[test]
    fn fetch_starts_on_the_first_urls_before_standard_input_ends() {
        let out = virtual_clock(|sys| async move {
            // A port that was just free: the fetch ends at once (refused).
            let closed_addr = refused_addr(&sys).await;
            let (in_r, in_w) = sys.pipe().await.expect("pipe");
            let (fetch, out_r) = fetch_reading(&sys, in_r).await;
            let url = format!("http://{closed_addr}/");
            sys.write_all(in_w, format!("{url}\n").as_bytes())
                .await
                .expect("write");
            // Its line comes while standard input is still open.
            let mut line = Vec::new();
            let mut byte = [0u8; 1];
            while !line.ends_with(b"\n") {
                let n = sys.timeout(LIMIT, sys.read(out_r, &mut byte)).await;
                assert_eq!(n, Ok(1), "fetch's first line: {line:?}");
                line.push(byte[0]);
            }
            let line = String::from_utf8(line).expect("text");
            assert!(
                line.starts_with("ERR ") && line.ends_with(&format!(" {url}\n")),
                "{line}"
            );
            sys.close(in_w).await.expect("close");
            assert_eq!(sys.timeout(LIMIT, sys.wait(fetch)).await, Ok((fetch, 1)));
            0
        });
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        assert!(
            out.stderr.starts_with("fetch: 1 urls, 0 ok, 1 failed, "),
            "{}",
            out.stderr
        );
    }

    #[test]
    fn fetch_reports_a_fetch_task_that_was_killed() {
        let out = virtual_clock(|sys| async move {
            // The fetch task waits until killed.
            let (fetch, r, _silent, url) = fetch_from_a_silent_server(&sys, "0").await;
            let mut task = None;
            for _ in 0..1000 {
                task = sys.tasks().await.into_iter().find(|t| t.ppid == fetch);
                if task.is_some() {
                    break;
                }
                sys.yield_now().await;
            }
            let task = task.expect("fetch's task for the URL");
            sys.kill(task.pid, syscalls::Signal::Term)
                .await
                .expect("kill");
            let mut printed = Vec::new();
            sys.timeout(LIMIT, sys.read_to_end(r, &mut printed))
                .await
                .expect("fetch's output");
            assert_eq!(sys.timeout(LIMIT, sys.wait(fetch)).await, Ok((fetch, 1)));
            let printed = String::from_utf8(printed).expect("text");
            assert_eq!(why(line_for(&printed, &url)), "task ended with status 143");
            0
        });
        assert_eq!(out.status, Some(0), "{}", out.stderr);
    }

    #[test]
    fn fetch_refuses_a_line_of_standard_input_too_long_for_a_url() {
        // Hostile: a URL list whose first line never ends.
        let input = format!("{}\nhttp://127.0.0.1:1/\n", "x".repeat(100_000));
        let out = run(&["fetch"], &input);
        assert_eq!(out.status, Some(1));
        assert_eq!(out.stdout, "");
        assert_eq!(
            out.stderr,
            "fetch: standard input: a line is longer than 8192 bytes\n\
             fetch: 0 urls, 0 ok, 0 failed, 0 bytes in 0.0 ms\n"
        );
    }

    #[test]
    fn fetch_reports_urls_it_cannot_fetch() {
        let out = run(&["fetch", "http://example.com/", "ftp://x/"], "");
        assert_eq!(out.status, Some(1));
        assert_eq!(out.stdout, "");
        assert_eq!(
            out.stderr,
            "fetch: http://example.com/: cannot resolve example.com (only IP addresses and localhost)\n\
             fetch: ftp://x/: invalid URL (not http://HOST[:PORT][/PATH])\n\
             fetch: 2 urls, 0 ok, 2 failed, 0 bytes in 0.0 ms\n"
        );
        let out = run(&["fetch"], "");
        assert_eq!(out.status, Some(0));
        assert_eq!(
            out.stderr,
            "fetch: 0 urls, 0 ok, 0 failed, 0 bytes in 0.0 ms\n"
        );
    }

    #[test]
    fn fetch_stops_a_body_over_max_size_with_an_error() {
        // Hostile: bodies without end, announced or not.
        let out = on_host("", |sys| async move {
            let paths = ["/endless", "/huge", "/exact"];
            let args = ["-m", "64K", "-c", "3", "-t", "30"];
            let (status, printed) = fetch_from_body_server(&sys, &args, &paths).await;
            assert_eq!(status, 1, "{printed}");
            let over = "body over --max-size (65536 bytes)";
            assert_eq!(why(line_for(&printed, "/endless")), over);
            assert_eq!(why(line_for(&printed, "/huge")), over);
            let exact = line_for(&printed, "/exact");
            assert!(exact.starts_with("200 65536 "), "{exact}");
            0
        });
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        assert!(out
            .stderr
            .starts_with("fetch: 3 urls, 1 ok, 2 failed, 65536 bytes in "));
    }

    /// A connection over two pipes whose response side already holds a
    /// 200 response with a 32 KiB body and end-of-file; the request side is
    /// left open (its buffer takes the request).
    async fn piped_response(sys: &Sys) -> Conn {
        let (_request_r, request_w) = sys.pipe().await.expect("pipe");
        let (response_r, response_w) = sys.pipe().await.expect("pipe");
        let head = "HTTP/1.1 200 OK\r\n\r\n";
        sys.write_all(response_w, head.as_bytes())
            .await
            .expect("write");
        sys.write_all(response_w, &[b'x'; 32 * 1024])
            .await
            .expect("write");
        sys.close(response_w).await.expect("close");
        Conn {
            input: response_r,
            output: request_w,
        }
    }

    #[test]
    fn a_body_that_keeps_coming_is_cut_at_the_deadline() {
        // Hostile: a body that is always there to read, so that no read
        // waits and the kernel's deadline (which ends a call that waits)
        // never comes into play. Time passes while such a body is read on
        // the host's clock; here the deadline has passed when it comes.
        let out = virtual_clock(|sys| async move {
            let url = Url::parse("http://127.0.0.1/").expect("a URL");
            let conn = piped_response(&sys).await;
            let passed = Some(sys.now().await);
            let got = exchange(&sys, conn, &url, passed, u64::MAX).await;
            assert_eq!(got, Err(ReadError::Call(Errno::ETIMEDOUT)));
            // With time to spare, the same response is read whole.
            let conn = piped_response(&sys).await;
            let later = Some(sys.now().await + Duration::from_secs(1));
            let got = exchange(&sys, conn, &url, later, u64::MAX).await;
            assert_eq!(got, Ok((200, 32 * 1024)));
            0
        });
        assert_eq!(out.status, Some(0), "{}", out.stderr);
    }

    #[test]
    fn fetch_ends_a_body_that_trickles_at_its_time_limit() {
        let out = virtual_clock(|sys| async move {
            let args = ["-t", "1"];
            let (status, printed) = fetch_from_body_server(&sys, &args, &["/trickle"]).await;
            assert_eq!(status, 1, "{printed}");
            assert_eq!(why(line_for(&printed, "/trickle")), "timeout");
            0
        });
        assert_eq!(out.status, Some(0), "{}", out.stderr);
    }

    #[test]
    fn fetch_rejects_bad_options() {
        let out = run(&["fetch", "-c", "0"], "");
        assert_eq!(out.status, Some(1));
        assert_eq!(
            out.stderr,
            "fetch: invalid concurrency: '0'\nTry 'fetch --help' for more information.\n"
        );
        let out = run(&["fetch", "-t", "x"], "");
        assert_eq!(
            out.stderr.lines().next(),
            Some("fetch: invalid time interval 'x'")
        );
        let out = run(&["fetch", "--max-size", "1X"], "");
        assert_eq!(out.status, Some(1));
        assert_eq!(out.stderr.lines().next(), Some("fetch: invalid size: '1X'"));
    }
}
