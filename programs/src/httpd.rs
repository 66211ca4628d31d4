//! `httpd [OPTION]... [ADDR]`: a small HTTP/1.1 server, a task per
//! connection. It serves `GET` and `HEAD` of `/` (a page about coos) and
//! `/ps` (the task table as JSON); other paths are 404, other methods 405.
//!
//! A connection stays open between requests (HTTP/1.1 unless
//! `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`) until
//! it has been idle for `--idle-timeout`. A request whose head does not
//! arrive whole within `--request-timeout` gets 408; a malformed one 400;
//! one whose head exceeds 8 KiB 431 (400 for over 8 KiB of empty lines
//! before it); one with a body 413 (none is accepted): each of these errors
//! closes the connection. So what a client sends is held 8 KiB and one
//! read at a time, and a client that sends without end is cut off.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::Duration;

use syscalls::{Errno, ExitCode, Fd, Sys, TaskInfo};

use crate::conn::Conn;
use crate::duration::{set_limit, Limit};
use crate::http::{self, HeadError, Received, Request};
use crate::server;
use crate::usage::{Opt, Spec};

const SPEC: Spec = Spec::new(
    "httpd",
    "Usage: httpd [OPTION]... [ADDR]\n\
     Serve HTTP/1.1 on ADDR, IP:PORT (default 127.0.0.1:8080; port 0 picks a\n\
     free port), a task per connection. The address as bound is printed on\n\
     stderr: 'httpd: listening on ADDR'.\n\
     \n\
     \x20 /     a page about coos\n\
     \x20 /ps   the task table, as JSON\n\
     \n\
     \x20 -n, --max-clients=N        serve at most N connections at once\n\
     \x20     --request-timeout=SECS close a connection whose request has not\n\
     \x20                              come whole within SECS (default 10)\n\
     \x20     --idle-timeout=SECS    close a kept-alive connection idle for SECS\n\
     \x20                              (default 30)\n\
     \x20     --help                 display this help and exit\n\
     SECS take the suffixes s, m, h and d; 0 means no limit.\n",
    &[
        Opt::value('n', "max-clients"),
        Opt::value('r', "request-timeout"),
        Opt::value('i', "idle-timeout"),
    ],
);

/// Where to listen when no ADDR is given.
const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// How long a connection being closed after an error may still send (what
/// it sends is dropped): closing with unread bytes would reset the
/// connection, and the client could lose the error response.
const LINGER: Duration = Duration::from_secs(2);

/// The most a lingering connection may send before it is closed anyway.
const LINGER_BYTES: usize = 64 * 1024;

/// The page `/` serves.
const HOME: &str = "<!DOCTYPE html>\n\
<html lang=\"en\">\n\
<head><meta charset=\"utf-8\"><title>coos</title></head>\n\
<body>\n\
<h1>coos</h1>\n\
<p>coos is a cooperative operating system that runs in user space, as one\n\
host process. Its processes are coroutines (tasks): they talk to the kernel\n\
only through system calls, and the kernel schedules them, owns every\n\
resource they use, and gives a person a shell to start and watch them.</p>\n\
<p>This page comes from <code>httpd</code>, a coos program that serves each\n\
connection with a task of its own.</p>\n\
<p><a href=\"/ps\">/ps</a>: the tasks running now, as JSON.</p>\n\
</body>\n\
</html>\n";

/// The connection's limits.
#[derive(Clone, Copy)]
struct Limits {
    request: Limit,
    idle: Limit,
}

/// Serves until accepting fails; status 1 then, or on bad arguments.
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    let args = match SPEC.parse(&sys, &args).await {
        Ok(args) => args,
        Err(status) => return status,
    };
    let mut limits = Limits {
        request: Limit::After(Duration::from_secs(10)),
        idle: Limit::After(Duration::from_secs(30)),
    };
    for (opt, value) in &args.opts {
        let limit = match opt {
            'r' => &mut limits.request,
            'i' => &mut limits.idle,
            _ => continue,
        };
        *limit = match server::limit(&sys, &SPEC, value).await {
            Ok(parsed) => parsed,
            Err(status) => return status,
        };
    }
    let (listener, max) = match server::start(&sys, &SPEC, &args, DEFAULT_ADDR).await {
        Ok(started) => started,
        Err(status) => return status,
    };
    server::serve(&sys, SPEC.name, listener, max, move |sys, conn| {
        connection(sys, Conn::socket(conn), limits)
    })
    .await
}

/// A response to send.
struct Reply {
    status: u16,
    content_type: &'static str,
    /// Borrowed when it is a page that never changes (`/`): no copy of it
    /// is made for each request.
    body: Cow<'static, [u8]>,
    /// More fields, each `Name: value\r\n`.
    extra: &'static str,
    /// Close the connection after it.
    close: bool,
}

impl Reply {
    fn new(status: u16, content_type: &'static str, body: impl Into<Cow<'static, [u8]>>) -> Reply {
        Reply {
            status,
            content_type,
            body: body.into(),
            extra: "",
            close: false,
        }
    }

    /// An error page, `404 Not Found`.
    fn error(status: u16, detail: impl std::fmt::Display) -> Reply {
        let body = format!("{status} {}: {detail}\n", http::reason(status));
        Reply::new(status, "text/plain; charset=utf-8", body.into_bytes())
    }

    /// An error after which the connection closes.
    fn fatal(status: u16, detail: impl std::fmt::Display) -> Reply {
        Reply {
            close: true,
            ..Reply::error(status, detail)
        }
    }

    /// Puts the head and (unless after `HEAD`) the body, as sent, in
    /// `out`, which a connection keeps from one response to the next. Built
    /// a piece at a time: `format!`, a new `String` and a copy of the body
    /// for each response cost some 150 ns a request, a sixth of httpd's
    /// time in user space.
    fn write_to(&self, out: &mut Vec<u8>, with_body: bool, minor: u8) {
        out.clear();
        out.extend_from_slice(b"HTTP/1.1 ");
        push_decimal(out, self.status.into());
        out.push(b' ');
        out.extend_from_slice(http::reason(self.status).as_bytes());
        out.extend_from_slice(b"\r\nServer: coos-httpd\r\nContent-Type: ");
        out.extend_from_slice(self.content_type.as_bytes());
        out.extend_from_slice(b"\r\nContent-Length: ");
        push_decimal(out, self.body.len());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(self.extra.as_bytes());
        if self.close {
            out.extend_from_slice(b"Connection: close\r\n");
        } else if minor == 0 {
            out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if with_body {
            out.extend_from_slice(&self.body);
        }
    }
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// How the wait for a request ended.
enum Next {
    /// A head, `buf[..end]`.
    Head(usize),
    /// The client closed, went idle, failed, or sent nothing in time:
    /// close without a word.
    Gone,
    /// An error response to send before closing.
    Refuse(Reply),
}

/// One connection: requests and responses until either side closes.
///
/// Each phase runs under a deadline set as it starts ([`set_limit`]):
/// waiting for a kept connection's next request, and writing a response,
/// under the idle limit; reading the rest of a head under the request
/// limit; lingering under [`LINGER`]. A phase that never waits (its head
/// came whole with the read before) sets none, and none is put back
/// after a phase, the next one replacing it: four calls a kept-alive
/// request where `within` around each phase made nine.
async fn connection(sys: Sys, conn: Conn, limits: Limits) -> ExitCode {
    let mut buf = Received::default();
    let mut out = Vec::new();
    let mut first = true;
    loop {
        let next = next_request(&sys, conn, &mut buf, limits, first).await;
        first = false;
        let (reply, with_body, minor) = match next {
            Next::Gone => break,
            Next::Refuse(reply) => (reply, true, 1),
            Next::Head(end) => {
                // The request borrows its head from `buf`: taken after.
                let answer = match http::parse_request_borrowed(&buf.bytes()[..end]) {
                    Ok(request) => {
                        let reply = respond(&sys, &request).await;
                        (reply, request.method != "HEAD", request.minor)
                    }
                    Err(e @ HeadError::Malformed(_)) => (Reply::fatal(400, e), true, 1),
                    Err(e @ HeadError::Version) => (Reply::fatal(505, e), true, 1),
                };
                buf.take(end);
                answer
            }
        };
        let close = reply.close;
        reply.write_to(&mut out, with_body, minor);
        set_limit(&sys, limits.idle).await;
        if sys.write_all(conn.output, &out).await.is_err() {
            break;
        }
        if close {
            linger(&sys, conn).await;
            break;
        }
    }
    conn.close(&sys).await;
    0
}

/// Waits for the next request's head: the first request's whole head
/// within the request timeout; a later one's first byte within the idle
/// timeout, then the rest within the request timeout.
async fn next_request(
    sys: &Sys,
    conn: Conn,
    buf: &mut Received,
    limits: Limits,
    first: bool,
) -> Next {
    let mut blank = Blank::default();
    if let Err(reply) = blank.skip(buf) {
        return Next::Refuse(reply);
    }
    if buf.is_empty() && !first {
        set_limit(sys, limits.idle).await;
        match buf.read_more(sys, conn.input).await {
            Ok(0) | Err(_) => return Next::Gone,
            Ok(_) => {}
        }
    }
    match read_head(sys, conn.input, buf, blank, limits.request).await {
        Ok(Some(end)) => Next::Head(end),
        Ok(None) => Next::Gone,
        Err(Some(reply)) => Next::Refuse(reply),
        Err(None) => Next::Gone,
    }
}

/// The empty lines a client sent before a request (RFC 9112 §2.2 lets a
/// server skip them). They are dropped as they come, so they take no
/// memory, but they count toward the request's head: a client sending
/// nothing else would otherwise keep its task reading for ever (its reads
/// never wait, so no timeout ends them either).
#[derive(Default)]
struct Blank {
    skipped: usize,
}

impl Blank {
    /// Drops the empty lines at the front of `buf`; `Err` with the response
    /// that refuses them when they go over the head's limit.
    fn skip(&mut self, buf: &mut Received) -> Result<(), Reply> {
        let blank = http::leading_blank_lines(buf.bytes());
        buf.take(blank);
        self.skipped += blank;
        if self.skipped > http::MAX_HEAD {
            return Err(Reply::fatal(
                400,
                "over 8 KiB of empty lines before the request",
            ));
        }
        Ok(())
    }
}

/// Reads until `buf` holds a whole head, within `limit` from its first
/// read: `Some(its end)`, `None` at end-of-file; `Err` with the response
/// to refuse it with, or `Err(None)` when the connection failed.
async fn read_head(
    sys: &Sys,
    conn: Fd,
    buf: &mut Received,
    mut blank: Blank,
    limit: Limit,
) -> Result<Option<usize>, Option<Reply>> {
    let mut limited = false;
    loop {
        blank.skip(buf).map_err(Some)?;
        match http::head_end(buf.bytes()) {
            Some(end) if end <= http::MAX_HEAD => return Ok(Some(end)),
            Some(_) => return Err(Some(too_large())),
            None if buf.len() > http::MAX_HEAD => return Err(Some(too_large())),
            None => {}
        }
        if !limited {
            set_limit(sys, limit).await;
            limited = true;
        }
        match buf.read_more(sys, conn).await {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(Errno::ETIMEDOUT) if !buf.is_empty() => {
                return Err(Some(Reply::fatal(408, "the request did not come in time")))
            }
            Err(_) => return Err(None),
        }
    }
}

fn too_large() -> Reply {
    Reply::fatal(431, "the request head is over 8 KiB")
}

/// The response to a well-formed request.
async fn respond(sys: &Sys, request: &Request<&str>) -> Reply {
    let mut reply = route(sys, request).await;
    reply.close |= !request.keep_alive();
    reply
}

async fn route(sys: &Sys, request: &Request<&str>) -> Reply {
    if request.minor >= 1 && request.fields.get("host").is_none() {
        return Reply::fatal(400, "HTTP/1.1 needs a Host field");
    }
    let length = match request.fields.content_length() {
        Ok(length) => length,
        Err(e) => return Reply::fatal(400, e),
    };
    let has_body =
        length.is_some_and(|n| n > 0) || request.fields.get("transfer-encoding").is_some();
    if !matches!(request.method, "GET" | "HEAD") {
        let mut reply = Reply::error(405, format_args!("{} is not served", request.method));
        reply.extra = "Allow: GET, HEAD\r\n";
        // A body we do not read would be taken for the next request.
        reply.close = has_body;
        return reply;
    }
    if has_body {
        return Reply::fatal(413, "requests with a body are not accepted");
    }
    match request.path() {
        Some("/") => Reply::new(200, "text/html; charset=utf-8", HOME.as_bytes()),
        Some("/ps") => {
            let json = tasks_json(&sys.tasks().await);
            Reply::new(200, "application/json", json.into_bytes())
        }
        Some(path) => Reply::error(404, format_args!("no page at {path}")),
        None => Reply::fatal(400, "bad request target"),
    }
}

/// The task table as a JSON array of objects, one per task.
fn tasks_json(tasks: &[TaskInfo]) -> String {
    let mut out = String::from("[");
    for (i, task) in tasks.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let args: Vec<String> = task.args.iter().map(|a| json_string(a)).collect();
        let _ = write!(
            out,
            "\n{{\"pid\":{},\"ppid\":{},\"args\":[{}],\"state\":{},\"scheduled\":{},\"syscalls\":{},\"cpu_ms\":{:.3}}}",
            task.pid,
            task.ppid,
            args.join(","),
            json_string(&task.state.to_string()),
            task.scheduled,
            task.syscalls,
            task.cpu.as_secs_f64() * 1000.0
        );
    }
    out.push_str("\n]\n");
    out
}

/// `text` as a JSON string, quoted and escaped.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Closes the sending side, and takes what the client still sends for a
/// while, so that the close does not reset the connection under a
/// response the client has not read yet.
async fn linger(sys: &Sys, conn: Conn) {
    let _ = conn.shutdown_output(sys).await;
    set_limit(sys, Limit::After(LINGER)).await;
    let mut taken = 0;
    let mut buf = [0u8; 4096];
    while taken < LINGER_BYTES {
        match sys.read(conn.input, &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => taken += n,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use kernel::testing::Harness;
    use syscalls::Sys;

    use super::{connection, json_string, tasks_json, Limits};
    use crate::conn::tests::serve_on_pipes;
    use crate::conn::Conn;
    use crate::duration::Limit;
    use crate::echod::tests::{on_host, start_server, stop_server, LIMIT};
    use crate::http::{self, Response};
    use crate::run;

    /// A connection to the server at `addr`.
    async fn connect(sys: &Sys, addr: &str) -> Conn {
        let fd = sys
            .timeout(LIMIT, sys.connect(addr))
            .await
            .expect("connect");
        Conn::socket(fd)
    }

    /// Sends `raw` on `conn` and reads one response (no body after `HEAD`).
    async fn exchange(sys: &Sys, conn: Conn, buf: &mut Vec<u8>, raw: &str) -> (Response, String) {
        sys.timeout(LIMIT, sys.write_all(conn.output, raw.as_bytes()))
            .await
            .expect("send the request");
        let head = raw.starts_with("HEAD ");
        let (response, body) = sys
            .timeout(LIMIT, http::read_response(sys, conn.input, buf, head))
            .await
            .expect("a response");
        (response, String::from_utf8(body).expect("text"))
    }

    /// The server closed the connection: nothing more comes.
    async fn expect_closed(sys: &Sys, conn: Conn, buf: &[u8]) {
        assert_eq!(
            String::from_utf8_lossy(buf),
            "",
            "nothing after the response"
        );
        let mut byte = [0u8; 1];
        let got = sys.timeout(LIMIT, sys.read(conn.input, &mut byte)).await;
        assert!(
            matches!(got, Ok(0) | Err(syscalls::Errno::ECONNRESET)),
            "{got:?}"
        );
    }

    /// Runs `test` against an httpd started with `argv` on a free port.
    fn with_httpd<F, Fut>(argv: &'static [&'static str], test: F)
    where
        F: FnOnce(Sys, String) -> Fut + 'static,
        Fut: std::future::Future<Output = ()> + 'static,
    {
        let out = on_host("", move |sys| async move {
            let (server, addr, stderr) = start_server(&sys, argv).await;
            test(sys.clone(), addr).await;
            stop_server(&sys, server, stderr).await;
            0
        });
        assert_eq!(out.stderr, "");
        assert_eq!(out.status, Some(0));
    }

    #[test]
    fn httpd_keeps_a_connection_alive_across_requests() {
        with_httpd(&["httpd", "127.0.0.1:0"], |sys, addr| async move {
            let conn = connect(&sys, &addr).await;
            let mut buf = Vec::new();
            let (r, body) =
                exchange(&sys, conn, &mut buf, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
            assert_eq!(r.status, 200);
            assert_eq!(
                r.fields.get("content-type"),
                Some("text/html; charset=utf-8")
            );
            assert!(body.contains("<h1>coos</h1>"), "{body}");
            let (r, body) = exchange(
                &sys,
                conn,
                &mut buf,
                "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
            )
            .await;
            assert_eq!(
                (r.status, body.as_str()),
                (404, "404 Not Found: no page at /nope\n")
            );
            // Two requests in one write (pipelined), the second one closing.
            let two = "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nPOST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
            let (r, body) = exchange(&sys, conn, &mut buf, two).await;
            assert_eq!(r.status, 200);
            assert_eq!(body, "", "HEAD has no body");
            assert_eq!(
                r.fields.content_length(),
                Ok(Some(super::HOME.len() as u64))
            );
            let (r, _) = sys
                .timeout(
                    LIMIT,
                    http::read_response(&sys, conn.input, &mut buf, false),
                )
                .await
                .expect("the second response");
            assert_eq!(r.status, 405);
            assert_eq!(r.fields.get("allow"), Some("GET, HEAD"));
            assert_eq!(r.fields.get("connection"), Some("close"));
            expect_closed(&sys, conn, &buf).await;
            conn.close(&sys).await;
        });
    }

    #[test]
    fn httpd_closes_http_1_0_connections_unless_kept_alive() {
        with_httpd(&["httpd", "127.0.0.1:0"], |sys, addr| async move {
            let conn = connect(&sys, &addr).await;
            let mut buf = Vec::new();
            let (r, _) = exchange(
                &sys,
                conn,
                &mut buf,
                "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            )
            .await;
            assert_eq!(r.fields.get("connection"), Some("keep-alive"));
            let (r, _) = exchange(&sys, conn, &mut buf, "GET / HTTP/1.0\r\n\r\n").await;
            assert_eq!((r.status, r.fields.get("connection")), (200, Some("close")));
            expect_closed(&sys, conn, &buf).await;
            conn.close(&sys).await;
        });
    }

    #[test]
    fn httpd_refuses_bad_requests_and_closes() {
        with_httpd(&["httpd", "127.0.0.1:0"], |sys, addr| async move {
            let big = format!(
                "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
                "a".repeat(9000)
            );
            // Hostile: empty lines and nothing else, for ever (here 10 KB).
            let blank = format!("{}GET / HTTP/1.1\r\nHost: x\r\n\r\n", "\r\n".repeat(5000));
            let cases = [
                ("GARBAGE\r\n\r\n", 400),
                (blank.as_str(), 400),
                ("GET / HTTP/1.1\r\n\r\n", 400),
                ("GET / HTTP/1.1\r\nHost: x\r\nBad field\r\n\r\n", 400),
                ("GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505),
                (
                    "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
                    413,
                ),
                (
                    "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                    400,
                ),
                (big.as_str(), 431),
            ];
            for (raw, status) in cases {
                let conn = connect(&sys, &addr).await;
                let mut buf = Vec::new();
                let (r, _) = exchange(&sys, conn, &mut buf, raw).await;
                assert_eq!(r.status, status, "{:?}", &raw[..raw.len().min(40)]);
                assert_eq!(r.fields.get("connection"), Some("close"));
                expect_closed(&sys, conn, &buf).await;
                conn.close(&sys).await;
            }
        });
    }

    /// The limits of the connection tests on the virtual clock: any will
    /// do, as long as they are apart from each other and from `LIMIT`.
    const TEST_LIMITS: Limits = Limits {
        request: Limit::After(Duration::from_secs(2)),
        idle: Limit::After(Duration::from_secs(5)),
    };

    /// Runs `test` as the client of one httpd connection task over pipes,
    /// on the virtual clock (see `conn.rs`); then checks the task ends, and
    /// with status 0.
    fn with_connection<F, Fut>(test: F)
    where
        F: FnOnce(Sys, Conn) -> Fut + 'static,
        Fut: std::future::Future<Output = ()> + 'static,
    {
        let out = Harness::new(crate::registry()).run_fn(|sys| async move {
            let serve = |sys, conn| connection(sys, conn, TEST_LIMITS);
            let (server, client) = serve_on_pipes(&sys, serve).await;
            test(sys.clone(), client).await;
            client.close(&sys).await;
            let waited = sys.timeout(LIMIT, sys.wait(server)).await;
            assert_eq!(waited, Ok((server, 0)), "the connection task ends");
            0
        });
        assert_eq!(out.status, Some(0), "{}", out.stderr);
    }

    #[test]
    fn httpd_answers_408_to_a_request_that_does_not_come_in_time() {
        with_connection(|sys, conn| async move {
            // Half a request, then nothing: 408, then closed.
            sys.write_all(conn.output, b"GET / HTTP/1.1\r\n")
                .await
                .expect("send");
            let mut buf = Vec::new();
            let (r, body) = sys
                .timeout(
                    LIMIT,
                    http::read_response(&sys, conn.input, &mut buf, false),
                )
                .await
                .expect("a response");
            assert_eq!(r.status, 408, "{body:?}");
            assert_eq!(r.fields.get("connection"), Some("close"));
            expect_closed(&sys, conn, &buf).await;
        });
        with_connection(|sys, conn| async move {
            // The same for the second request on a kept connection.
            let mut buf = Vec::new();
            let (r, _) = exchange(&sys, conn, &mut buf, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
            assert_eq!(r.status, 200);
            sys.write_all(conn.output, b"GET / HTTP/1.1\r\nHo")
                .await
                .expect("send");
            let (r, _) = sys
                .timeout(
                    LIMIT,
                    http::read_response(&sys, conn.input, &mut buf, false),
                )
                .await
                .expect("a response");
            assert_eq!(r.status, 408);
            expect_closed(&sys, conn, &buf).await;
        });
    }

    /// Asserts that `d` (the time something took) is `expected`, give or
    /// take the virtual clock's scheduling.
    fn assert_took(d: Duration, expected: Duration, what: &str) {
        let slack = Duration::from_millis(10);
        assert!(
            d >= expected && d < expected + slack,
            "{what}: took {d:?}, not {expected:?}"
        );
    }

    #[test]
    fn httpd_times_each_wait_from_its_start() {
        let (request, idle) = match TEST_LIMITS {
            Limits {
                request: Limit::After(request),
                idle: Limit::After(idle),
            } => (request, idle),
            _ => unreachable!("the test limits are finite"),
        };
        with_connection(move |sys, conn| async move {
            // A kept connection's next request starts a second after the
            // response and never ends: 408 at the request limit from its
            // first byte.
            let mut buf = Vec::new();
            let (r, _) = exchange(&sys, conn, &mut buf, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
            assert_eq!(r.status, 200);
            sys.sleep(Duration::from_secs(1)).await.expect("sleep");
            sys.write_all(conn.output, b"GET / HTTP/1.1\r\nHo")
                .await
                .expect("send");
            let sent = sys.now().await;
            assert_eq!(response(&sys, conn, &mut buf, false).await.0, 408);
            assert_took(sys.now().await - sent, request, "the 408");
            expect_closed(&sys, conn, &buf).await;
        });
        with_connection(move |sys, conn| async move {
            // A response, then silence: closed at the idle limit.
            let mut buf = Vec::new();
            let (r, _) = exchange(&sys, conn, &mut buf, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
            assert_eq!(r.status, 200);
            let answered = sys.now().await;
            expect_closed(&sys, conn, &buf).await;
            assert_took(sys.now().await - answered, idle, "the idle close");
        });
        // An error, then a client that keeps its side open and silent:
        // the server lingers LINGER, then ends.
        let out = Harness::new(crate::registry()).run_fn(|sys| async move {
            let serve = |sys, conn| connection(sys, conn, TEST_LIMITS);
            let (server, client) = serve_on_pipes(&sys, serve).await;
            let mut buf = Vec::new();
            let (r, _) = exchange(&sys, client, &mut buf, "GARBAGE\r\n\r\n").await;
            assert_eq!(r.status, 400);
            let refused = sys.now().await;
            let waited = sys.timeout(LIMIT, sys.wait(server)).await;
            assert_eq!(waited, Ok((server, 0)), "the connection task ends");
            assert_took(sys.now().await - refused, super::LINGER, "the linger");
            client.close(&sys).await;
            0
        });
        assert_eq!(out.status, Some(0), "{}", out.stderr);
    }

    /// Reads one response on `conn` (no body after `HEAD` if `head`).
    async fn response(sys: &Sys, conn: Conn, buf: &mut Vec<u8>, head: bool) -> (u16, String) {
        let (r, body) = sys
            .timeout(LIMIT, http::read_response(sys, conn.input, buf, head))
            .await
            .expect("a response");
        (r.status, String::from_utf8(body).expect("text"))
    }

    #[test]
    fn httpd_answers_requests_that_come_in_pieces() {
        with_connection(|sys, conn| async move {
            // Each request in three writes, apart in time (less than the
            // request timeout): the first and a kept connection's next.
            let mut buf = Vec::new();
            for _ in 0..2 {
                for piece in ["G", "ET /nope HTTP/1.1\r\nHo", "st: x\r\n\r\n"] {
                    sys.sleep(Duration::from_millis(500)).await.expect("sleep");
                    sys.write_all(conn.output, piece.as_bytes())
                        .await
                        .expect("send");
                }
                let (status, body) = response(&sys, conn, &mut buf, false).await;
                assert_eq!(
                    (status, body.as_str()),
                    (404, "404 Not Found: no page at /nope\n")
                );
            }
        });
    }

    #[test]
    fn httpd_answers_each_of_the_requests_that_come_in_one_read() {
        with_connection(|sys, conn| async move {
            // Three requests in one write: the server reads them at once.
            let three = "GET / HTTP/1.1\r\nHost: x\r\n\r\n\
                         HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n\
                         \r\nGET /ps HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HT";
            sys.write_all(conn.output, three.as_bytes())
                .await
                .expect("send");
            let mut buf = Vec::new();
            let (status, body) = response(&sys, conn, &mut buf, false).await;
            assert_eq!(status, 200);
            assert!(body.contains("<h1>coos</h1>"), "{body}");
            assert_eq!(
                response(&sys, conn, &mut buf, true).await,
                (404, String::new())
            );
            let (status, body) = response(&sys, conn, &mut buf, false).await;
            assert_eq!(status, 200);
            assert!(body.starts_with("[\n{\"pid\":"), "{body}");
            // The start of a fourth came with them; its rest comes later.
            sys.write_all(conn.output, b"TP/1.1\r\nHost: x\r\n\r\n")
                .await
                .expect("send");
            assert_eq!(response(&sys, conn, &mut buf, true).await.0, 404);
        });
    }

    #[test]
    fn httpd_closes_a_kept_connection_left_idle() {
        with_connection(|sys, conn| async move {
            // A request, then silence: closed without a word.
            let mut buf = Vec::new();
            let (r, _) = exchange(&sys, conn, &mut buf, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
            assert_eq!(r.status, 200);
            expect_closed(&sys, conn, &buf).await;
        });
    }

    #[test]
    fn httpd_drops_a_client_that_takes_no_responses() {
        // Hostile: requests sent and their responses never read, until the
        // responses fill the pipe and the server's write waits.
        let out = Harness::new(crate::registry()).run_fn(|sys| async move {
            let serve = |sys, conn| connection(sys, conn, TEST_LIMITS);
            let (server, client) = serve_on_pipes(&sys, serve).await;
            let requests = "GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(200);
            sys.timeout(LIMIT, sys.write_all(client.output, requests.as_bytes()))
                .await
                .expect("the requests fit in the pipe");
            // The client holds its ends open: only the idle limit on the
            // server's write can end the connection task.
            let waited = sys.timeout(LIMIT, sys.wait(server)).await;
            assert_eq!(waited, Ok((server, 0)), "the connection task ends");
            client.close(&sys).await;
            0
        });
        assert_eq!(out.status, Some(0), "{}", out.stderr);
    }

    #[test]
    fn httpd_serves_the_task_table_as_json() {
        with_httpd(&["httpd", "127.0.0.1:0"], |sys, addr| async move {
            let conn = connect(&sys, &addr).await;
            let mut buf = Vec::new();
            let request = "GET /ps?x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
            let (r, body) = exchange(&sys, conn, &mut buf, request).await;
            assert_eq!(r.status, 200);
            assert_eq!(r.fields.get("content-type"), Some("application/json"));
            let rest = json::value(body.as_bytes()).expect("valid JSON");
            assert!(json::skip_space(rest).is_empty(), "nothing after the array");
            assert!(body.starts_with("[\n{\"pid\":1,\"ppid\":0,"), "{body}");
            assert!(
                body.contains("\"args\":[\"httpd\",\"127.0.0.1:0\"]"),
                "{body}"
            );
            assert!(
                body.contains("\"args\":[\"httpd\",\"client\"],\"state\":\"running\""),
                "{body}"
            );
            conn.close(&sys).await;
        });
    }

    #[test]
    fn numbers_are_written_in_decimal() {
        for n in [0, 7, 10, 596, 65_535, usize::MAX] {
            let mut out = b"x".to_vec();
            super::push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(
            json_string("a\"b\\c\nd\u{1}é"),
            "\"a\\\"b\\\\c\\nd\\u0001é\""
        );
        assert_eq!(tasks_json(&[]), "[\n]\n");
        assert!(json::value(json_string("x\u{7}\"\\").as_bytes()).is_some());
    }

    #[test]
    fn httpd_rejects_bad_arguments() {
        let cases: &[(&[&str], &str)] = &[
            (&["httpd", "-n", "x"], "invalid number of clients: 'x'"),
            (
                &["httpd", "--request-timeout", "soon"],
                "invalid time interval 'soon'",
            ),
            (
                &["httpd", "--idle-timeout=-1"],
                "invalid time interval '-1'",
            ),
            (&["httpd", "8080"], "invalid address '8080'"),
            (&["httpd", "a", "b"], "extra operand 'b'"),
        ];
        for (argv, message) in cases {
            let out = run(argv, "");
            assert_eq!(out.status, Some(1), "{argv:?}");
            assert_eq!(
                out.stderr,
                format!("httpd: {message}\nTry 'httpd --help' for more information.\n")
            );
        }
    }

    /// Just enough of a JSON parser to say whether a text is JSON: each
    /// function takes one value (or part) off the front and returns the
    /// rest, `None` if the text is not JSON there.
    mod json {
        pub fn skip_space(s: &[u8]) -> &[u8] {
            let n = s.iter().take_while(|b| b" \t\r\n".contains(b)).count();
            &s[n..]
        }

        pub fn value(s: &[u8]) -> Option<&[u8]> {
            let s = skip_space(s);
            match s.first()? {
                b'{' => sequence(&s[1..], b'}', |s| {
                    let s = string(skip_space(s))?;
                    value(skip_space(s).strip_prefix(b":")?)
                }),
                b'[' => sequence(&s[1..], b']', value),
                b'"' => string(s),
                b't' => s.strip_prefix(b"true"),
                b'f' => s.strip_prefix(b"false"),
                b'n' => s.strip_prefix(b"null"),
                _ => number(s),
            }
        }

        fn sequence(s: &[u8], close: u8, item: fn(&[u8]) -> Option<&[u8]>) -> Option<&[u8]> {
            let s = skip_space(s);
            if s.first() == Some(&close) {
                return Some(&s[1..]);
            }
            let mut s = s;
            loop {
                s = skip_space(item(s)?);
                match s.first()? {
                    b',' => s = &s[1..],
                    b if *b == close => return Some(&s[1..]),
                    _ => return None,
                }
            }
        }

        fn string(s: &[u8]) -> Option<&[u8]> {
            let mut rest = s.strip_prefix(b"\"")?;
            loop {
                match rest.first()? {
                    b'"' => return Some(&rest[1..]),
                    b'\\' => {
                        rest = match rest.get(1)? {
                            b'u' if rest.len() >= 6
                                && rest[2..6].iter().all(u8::is_ascii_hexdigit) =>
                            {
                                &rest[6..]
                            }
                            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => &rest[2..],
                            _ => return None,
                        }
                    }
                    b if *b < 0x20 => return None,
                    _ => rest = &rest[1..],
                }
            }
        }

        fn number(s: &[u8]) -> Option<&[u8]> {
            let s = s.strip_prefix(b"-").unwrap_or(s);
            let digits = |s: &[u8]| s.iter().take_while(|b| b.is_ascii_digit()).count();
            let whole = digits(s);
            if whole == 0 {
                return None;
            }
            let mut s = &s[whole..];
            if let Some(fraction) = s.strip_prefix(b".") {
                let n = digits(fraction);
                if n == 0 {
                    return None;
                }
                s = &fraction[n..];
            }
            Some(s)
        }
    }
}
