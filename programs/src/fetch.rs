//! `fetch [-c N] [-t SECS] [URL]...`: the concurrent crawler. Each URL is
//! fetched by a task of its own, at most N at once: the parent starts N,
//! and the next each time one ends. Every request (connect, send, receive)
//! runs under its own time limit.
//!
//! Per URL it prints `STATUS BYTES TIME URL` (`200 1234 3.2ms
//! http://127.0.0.1:8080/`) or `ERR WHY TIME URL` (`ERR timeout 5000.0ms
//! …`, `ERR connection refused 0.3ms …`) as each one ends, then a summary
//! on stderr. Tasks hand their outcome to the parent through shared memory
//! (an `Rc`), as threads of one program would.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use syscalls::{Command, Errno, ExitCode, Fd, Pid, Sys};

use crate::addr;
use crate::duration::{within, Limit};
use crate::fail;
use crate::http::{self, ReadError, Url};
use crate::lines::LineReader;
use crate::usage::{Opt, Spec};

const SPEC: Spec = Spec::new(
    "fetch",
    "Usage: fetch [OPTION]... [URL]...\n\
     Fetch each URL with HTTP/1.1 GET, several at once, and print for each\n\
     'STATUS BYTES TIME URL' (or 'ERR WHY TIME URL') as it ends, then a\n\
     summary on stderr. With no URL, read URLs from standard input, one a line.\n\
     URLs are http://HOST[:PORT][/PATH]; HOST is an IP address or localhost.\n\
     \n\
     \x20 -c, --concurrency=N   fetch at most N URLs at once (default 4)\n\
     \x20 -t, --timeout=SECS    give up on a URL after SECS (default 5; suffixes\n\
     \x20                         s, m, h, d; 0 means no limit)\n\
     \x20     --help            display this help and exit\n\
     \n\
     Exit status is 0 if every URL answered 2xx or 3xx, 1 otherwise.\n",
    &[Opt::value('c', "concurrency"), Opt::value('t', "timeout")],
);

/// URLs in flight when `-c` is not given.
const DEFAULT_CONCURRENCY: usize = 4;

/// A URL's limit when `-t` is not given.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

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
    result: Result<(u16, usize), String>,
    elapsed: Duration,
}

/// The totals of the summary.
#[derive(Default)]
struct Totals {
    urls: usize,
    ok: usize,
    bytes: usize,
}

/// Fetches every URL; status 0 if all answered 2xx or 3xx.
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    let args = match SPEC.parse(&sys, &args).await {
        Ok(args) => args,
        Err(status) => return status,
    };
    let mut concurrency = DEFAULT_CONCURRENCY;
    let mut limit = Limit::After(DEFAULT_TIMEOUT);
    for (opt, value) in &args.opts {
        match opt {
            'c' => match value.parse::<usize>() {
                Ok(n) if n > 0 => concurrency = n,
                _ => {
                    let message = format!("invalid concurrency: '{value}'");
                    return SPEC.fail(&sys, message).await;
                }
            },
            _ => match Limit::parse(value) {
                Some(parsed) => limit = parsed,
                None => {
                    let message = format!("invalid time interval '{value}'");
                    return SPEC.fail(&sys, message).await;
                }
            },
        }
    }
    let texts = if args.operands.is_empty() {
        match stdin_urls(&sys).await {
            Ok(texts) => texts,
            Err(e) => {
                fail::error(&sys, SPEC.name, format_args!("read error: {e}")).await;
                return fail::FAILURE;
            }
        }
    } else {
        args.operands
    };
    let started = sys.now().await;
    let mut totals = Totals {
        urls: texts.len(),
        ..Totals::default()
    };
    let mut jobs = Vec::new();
    for text in texts {
        match job(text) {
            Ok(job) => jobs.push(job),
            Err(message) => fail::error(&sys, SPEC.name, message).await,
        }
    }
    if let Err(errno) = crawl(&sys, jobs, concurrency, limit, &mut totals).await {
        return fail::write_error(&sys, SPEC.name, errno).await;
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
    if totals.ok == totals.urls {
        0
    } else {
        fail::FAILURE
    }
}

/// The URLs on standard input, one a line, blank lines skipped.
async fn stdin_urls(sys: &Sys) -> Result<Vec<String>, crate::lines::LineError> {
    let mut lines = LineReader::new(sys, Fd::STDIN);
    let mut urls = Vec::new();
    loop {
        while let Some(line) = lines.buffered_line() {
            let line = String::from_utf8_lossy(line);
            if !line.trim().is_empty() {
                urls.push(line.trim().to_string());
            }
        }
        if !lines.fill().await? {
            // After end-of-file, a last line without a newline.
            if let Some(line) = lines.buffered_line() {
                let line = String::from_utf8_lossy(line);
                if !line.trim().is_empty() {
                    urls.push(line.trim().to_string());
                }
            }
            return Ok(urls);
        }
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

/// Runs the jobs, at most `concurrency` at once, printing each line as a
/// job ends. `Err` when standard output failed.
async fn crawl(
    sys: &Sys,
    jobs: Vec<Job>,
    concurrency: usize,
    limit: Limit,
    totals: &mut Totals,
) -> Result<(), Errno> {
    let outcomes: Rc<RefCell<Vec<Option<Outcome>>>> =
        Rc::new(RefCell::new(jobs.iter().map(|_| None).collect()));
    let mut running: HashMap<Pid, usize> = HashMap::new();
    let mut next = 0;
    loop {
        while running.len() < concurrency && next < jobs.len() {
            let index = next;
            next += 1;
            let job = &jobs[index];
            let (addr, url, slot) = (job.addr, job.url.clone(), outcomes.clone());
            let spawned = Command::from_fn(move |sys| async move {
                let outcome = fetch(&sys, addr, &url, limit).await;
                slot.borrow_mut()[index] = Some(outcome);
                0
            })
            .name(SPEC.name)
            .arg(&job.text)
            .spawn(sys)
            .await;
            match spawned {
                Ok(pid) => {
                    running.insert(pid, index);
                }
                Err(errno) => {
                    let outcome = Outcome {
                        result: Err(errno.to_string()),
                        elapsed: Duration::ZERO,
                    };
                    report(sys, &jobs[index], &outcome, totals).await?;
                }
            }
        }
        if running.is_empty() {
            return Ok(());
        }
        let Ok((pid, status)) = sys.wait_any().await else {
            return Ok(());
        };
        let Some(index) = running.remove(&pid) else {
            continue;
        };
        let outcome = outcomes.borrow_mut()[index].take();
        // A task that died before it could say (killed, or panicked).
        let outcome = outcome.unwrap_or_else(|| Outcome {
            result: Err(format!("task ended with status {status}")),
            elapsed: Duration::ZERO,
        });
        report(sys, &jobs[index], &outcome, totals).await?;
    }
}

/// Prints a job's line and counts it.
async fn report(sys: &Sys, job: &Job, outcome: &Outcome, totals: &mut Totals) -> Result<(), Errno> {
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
    sys.print(&line).await
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One fetch, under `limit`: its status and body size, and how long it took.
async fn fetch(sys: &Sys, addr: SocketAddr, url: &Url, limit: Limit) -> Outcome {
    let started = sys.now().await;
    let result = within(sys, limit, get(sys, addr, url)).await;
    Outcome {
        result: result.map_err(|e| e.to_string()),
        elapsed: sys.now().await.saturating_sub(started),
    }
}

/// Connects, sends the request, and reads the response until its end.
async fn get(sys: &Sys, addr: SocketAddr, url: &Url) -> Result<(u16, usize), ReadError> {
    let conn = sys
        .connect(&addr.to_string())
        .await
        .map_err(ReadError::Call)?;
    let host = match url.port {
        80 => url.host.clone(),
        port => format!("{}:{port}", url.host),
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: coos-fetch\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        url.path
    );
    let mut buf = Vec::new();
    let result = match sys.write_all(conn, request.as_bytes()).await {
        Ok(()) => http::read_response(sys, conn, &mut buf, false)
            .await
            .map(|(response, body)| (response.status, body.len())),
        Err(errno) => Err(ReadError::Call(errno)),
    };
    let _ = sys.close(conn).await;
    result
}

#[cfg(test)]
mod tests {
    use syscalls::{Command, Fd, FdMap};

    use crate::echod::tests::{on_host, start_server, stop_server, LIMIT};
    use crate::run;

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
    fn fetch_gets_every_url_and_times_out_the_silent_one() {
        let out = on_host("", |sys| async move {
            let (server, addr, stderr) = start_server(&sys, &["httpd", "127.0.0.1:0"]).await;
            // A server that takes connections (the kernel's backlog does)
            // and never answers.
            let silent = sys.listen("127.0.0.1:0").await.expect("listen");
            let silent_addr = sys.local_addr(silent).await.expect("addr");
            let port = addr.rsplit_once(':').expect("IP:PORT").1;
            let urls = [
                format!("http://{addr}/"),
                format!("http://localhost:{port}/ps"),
                format!("http://{silent_addr}/"),
                format!("http://{addr}/?again"),
                format!("http://{addr}/nope"),
            ];
            let (r, w) = sys.pipe().await.expect("pipe");
            let fetch = Command::new("fetch")
                .args(["-c", "2", "-t", "2"])
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
            assert_eq!(waited, Ok((fetch, 1)), "one timed out, one was 404");
            let printed = String::from_utf8(printed).expect("text");
            let line = |url: &str| {
                let found = printed.lines().find(|l| l.ends_with(&format!(" {url}")));
                found
                    .unwrap_or_else(|| panic!("{url} in {printed}"))
                    .to_string()
            };
            check_line(&line(&urls[0]), "200", &urls[0]);
            check_line(&line(&urls[1]), "200", &urls[1]);
            check_line(&line(&urls[3]), "200", &urls[3]);
            check_line(&line(&urls[4]), "404", &urls[4]);
            let timed_out = line(&urls[2]);
            assert!(timed_out.starts_with("ERR timeout "), "{timed_out}");
            assert_eq!(printed.lines().count(), 5, "{printed}");
            sys.close(silent).await.expect("close");
            stop_server(&sys, server, stderr).await;
            0
        });
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        let summary = out.stderr.strip_prefix("fetch: 5 urls, 3 ok, 2 failed, ");
        assert!(
            summary.is_some_and(|s| s.ends_with(" ms\n")),
            "{:?}",
            out.stderr
        );
    }

    #[test]
    fn fetch_reads_urls_from_stdin_and_reports_refusals() {
        let out = on_host("", |sys| async move {
            let (server, addr, stderr) = start_server(&sys, &["httpd", "127.0.0.1:0"]).await;
            let closed = sys.listen("127.0.0.1:0").await.expect("listen");
            let closed_addr = sys.local_addr(closed).await.expect("addr");
            sys.close(closed).await.expect("close");
            let (r, w) = sys.pipe().await.expect("pipe");
            let input = format!("http://{addr}/\n\nhttp://{closed_addr}/\n");
            sys.write_all(w, input.as_bytes()).await.expect("write");
            sys.close(w).await.expect("close");
            let (out_r, out_w) = sys.pipe().await.expect("pipe");
            let fetch = Command::new("fetch")
                .fds(FdMap::stdio().set(Fd::STDIN, r).set(Fd::STDOUT, out_w))
                .spawn(&sys)
                .await
                .expect("spawn fetch");
            sys.close(r).await.expect("close");
            sys.close(out_w).await.expect("close");
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
    }
}
