//! HTTP/1.x messages, as `httpd` reads requests and `fetch` reads
//! responses: finding where a head ends, parsing its start line and header
//! fields (strictly: a malformed head is an error, never a guess), the
//! fields that frame a message and keep its connection, reading a response
//! from a descriptor (its head whole, at most [`MAX_HEAD`]; its body a piece
//! at a time, under a size limit), the bytes a server has [`Received`],
//! and `http://` URLs.

use std::fmt;

use syscalls::{Errno, Fd, Sys};

/// The largest head (start line and header fields) either side accepts.
pub const MAX_HEAD: usize = 8 * 1024;

/// How much one read of a connection asks for.
const CHUNK: usize = 16 * 1024;

/// Why a head could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadError {
    /// Malformed: the reason, for the 400 page.
    Malformed(&'static str),
    /// An HTTP version other than 1.x.
    Version,
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeadError::Malformed(why) => f.write_str(why),
            HeadError::Version => f.write_str("HTTP version not supported"),
        }
    }
}

/// Where the head that starts `buf` ends (just past its empty line), if it
/// is all there. Lines may end in CRLF or, leniently, LF.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = buf[from..].iter().position(|&b| b == b'\n') {
        let next = from + at + 1;
        match &buf[next..] {
            [b'\n', ..] => return Some(next + 1),
            [b'\r', b'\n', ..] => return Some(next + 2),
            _ => from = next,
        }
    }
    None
}

/// The empty lines a client may send before a request (RFC 9112 §2.2).
pub fn leading_blank_lines(buf: &[u8]) -> usize {
    let mut at = 0;
    loop {
        match &buf[at..] {
            [b'\r', b'\n', ..] => at += 2,
            [b'\n', ..] => at += 1,
            _ => return at,
        }
    }
}

/// Header fields, in order, names as sent: owned (`Fields<String>`, as a
/// response keeps them) or borrowed from the head they came in
/// (`Fields<&str>`, as `httpd` reads a request: no allocation for each).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields<S = String>(pub Vec<(S, S)>);

impl<S: AsRef<str>> Fields<S> {
    /// Every value of the field `name` (any case).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }

    /// The first value of the field `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }

    /// Whether the comma-separated list field `name` holds `token`
    /// (`Connection: keep-alive, Upgrade`).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.all(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// The message's `Content-Length`: `None` when absent; an error when
    /// it is not a number, or several disagree.
    pub fn content_length(&self) -> Result<Option<u64>, HeadError> {
        let mut found = None;
        for value in self.all("content-length").flat_map(|v| v.split(',')) {
            let value = value.trim();
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(HeadError::Malformed("invalid Content-Length"));
            }
            let n: u64 = value
                .parse()
                .map_err(|_| HeadError::Malformed("invalid Content-Length"))?;
            if found.is_some_and(|f| f != n) {
                return Err(HeadError::Malformed("conflicting Content-Length"));
            }
            found = Some(n);
        }
        Ok(found)
    }

    /// The same fields, owned.
    pub fn owned(&self) -> Fields {
        Fields(
            self.0
                .iter()
                .map(|(n, v)| (n.as_ref().to_string(), v.as_ref().to_string()))
                .collect(),
        )
    }
}

/// A request head: owned, or borrowed from the bytes it was parsed from
/// (see [`Fields`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<S = String> {
    /// `GET`, `HEAD`, …
    pub method: S,
    /// The request target as sent (`/ps?x=1`).
    pub target: S,
    /// The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    /// The header fields.
    pub fields: Fields<S>,
}

impl<S: AsRef<str>> Request<S> {
    /// Whether the connection stays open after the response: HTTP/1.1
    /// unless `Connection: close`, HTTP/1.0 only with
    /// `Connection: keep-alive`.
    pub fn keep_alive(&self) -> bool {
        if self.fields.has_token("connection", "close") {
            return false;
        }
        self.minor >= 1 || self.fields.has_token("connection", "keep-alive")
    }

    /// The path the target names, without its query: origin form (`/x?q`)
    /// or absolute form (`http://host/x`). `None` for any other form.
    pub fn path(&self) -> Option<&str> {
        let target = self.target.as_ref();
        let origin = if target.starts_with('/') {
            target
        } else {
            let rest = strip_prefix_ignore_case(target, "http://")?;
            rest.find('/').map_or("/", |at| &rest[at..])
        };
        let end = origin
            .bytes()
            .position(|b| b == b'?' || b == b'#')
            .unwrap_or(origin.len());
        Some(&origin[..end])
    }
}

/// A response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The reason phrase (may be empty).
    pub reason: String,
    /// The header fields.
    pub fields: Fields,
}

/// `tchar` of RFC 9110: what a method or field name is made of.
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// `text` cut at its first `byte` (an ASCII one, so both sides are
/// `str`s), without it. A byte loop: for the short strings of a head it
/// is faster than `str::split_once` on a `char`.
fn split_at_byte(text: &str, byte: u8) -> Option<(&str, &str)> {
    let at = text.bytes().position(|b| b == byte)?;
    Some((&text[..at], &text[at + 1..]))
}

/// `HTTP/1.x` → x.
fn version(text: &str) -> Result<u8, HeadError> {
    let digits = text
        .strip_prefix("HTTP/")
        .ok_or(HeadError::Malformed("bad HTTP version"))?;
    match digits.as_bytes() {
        [b'1', b'.', minor] if minor.is_ascii_digit() => Ok(minor - b'0'),
        [major, b'.', minor] if major.is_ascii_digit() && minor.is_ascii_digit() => {
            Err(HeadError::Version)
        }
        _ => Err(HeadError::Malformed("bad HTTP version")),
    }
}

/// Splits a head (as [`head_end`] delimits it) into its start line and
/// header fields, borrowed from it.
fn lines(head: &[u8]) -> Result<(&str, Fields<&str>), HeadError> {
    let mut rest = std::str::from_utf8(head).map_err(|_| HeadError::Malformed("not UTF-8"))?;
    let mut next_line = || {
        let (line, after) = split_at_byte(rest, b'\n').unwrap_or((rest, ""));
        rest = after;
        line.strip_suffix('\r').unwrap_or(line)
    };
    let start = next_line();
    let mut fields = Vec::new();
    loop {
        let line = next_line();
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            return Err(HeadError::Malformed("obsolete line folding"));
        }
        let (name, value) = split_at_byte(line, b':')
            .ok_or(HeadError::Malformed("header field without a colon"))?;
        if !is_token(name) {
            return Err(HeadError::Malformed("bad header field name"));
        }
        let value = value.trim_matches([' ', '\t']);
        if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(HeadError::Malformed("control character in a header field"));
        }
        fields.push((name, value));
    }
    if start.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(HeadError::Malformed("control character in the start line"));
    }
    Ok((start, Fields(fields)))
}

/// Parses a request head, `METHOD SP TARGET SP HTTP/1.x` then fields,
/// into a request that borrows from it.
pub fn parse_request_borrowed(head: &[u8]) -> Result<Request<&str>, HeadError> {
    let (start, fields) = lines(head)?;
    let bad = HeadError::Malformed("bad request line");
    let (method, rest) = split_at_byte(start, b' ').ok_or(bad.clone())?;
    let (target, proto) = split_at_byte(rest, b' ').ok_or(bad.clone())?;
    if proto.contains(' ') || !is_token(method) || target.is_empty() {
        return Err(bad);
    }
    let minor = version(proto)?;
    Ok(Request {
        method,
        target,
        minor,
        fields,
    })
}

/// Parses a request head into an owned request: for tests, which keep it
/// past the bytes it came in.
#[cfg(test)]
pub fn parse_request(head: &[u8]) -> Result<Request, HeadError> {
    let r = parse_request_borrowed(head)?;
    Ok(Request {
        method: r.method.to_string(),
        target: r.target.to_string(),
        minor: r.minor,
        fields: r.fields.owned(),
    })
}

/// Parses a response head: `HTTP/1.x SP NNN [SP reason]`, then fields.
pub fn parse_response(head: &[u8]) -> Result<Response, HeadError> {
    let (start, fields) = lines(head)?;
    let mut parts = start.splitn(3, ' ');
    version(parts.next().unwrap_or(""))?;
    let code = parts.next().unwrap_or("");
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HeadError::Malformed("bad status code"));
    }
    Ok(Response {
        status: code
            .parse()
            .map_err(|_| HeadError::Malformed("bad status code"))?,
        reason: parts.next().unwrap_or("").to_string(),
        fields: fields.owned(),
    })
}

/// The reason phrase of the statuses coos sends.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// Why a response could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// A system call failed (`ETIMEDOUT` under a deadline).
    Call(Errno),
    /// The connection ended before a whole head came.
    Truncated,
    /// The connection ended before the whole body `Content-Length` framed.
    ShortBody,
    /// The head was malformed or too big.
    Head(HeadError),
    /// The body is longer than the reader takes: the limit, in bytes.
    TooLarge(u64),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Call(Errno::ETIMEDOUT) => f.write_str("timeout"),
            ReadError::Call(errno) => errno.fmt(f),
            ReadError::Truncated => f.write_str("connection closed before a response"),
            ReadError::ShortBody => f.write_str("connection closed before the end of the body"),
            ReadError::Head(e) => write!(f, "bad response: {e}"),
            ReadError::TooLarge(max) => write!(f, "body over {max} bytes"),
        }
    }
}

/// Reads a response head from `conn` and parses it. `buf` holds bytes
/// already read; the head is taken off it, and what came after the head
/// (the body's start) stays. Holds at most [`MAX_HEAD`] and one read.
pub async fn read_response_head(
    sys: &Sys,
    conn: Fd,
    buf: &mut Vec<u8>,
) -> Result<Response, ReadError> {
    let end = loop {
        if let Some(end) = head_end(buf) {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Err(ReadError::Head(HeadError::Malformed("head too large")));
        }
        if read_more(sys, conn, buf).await.map_err(ReadError::Call)? == 0 {
            return Err(ReadError::Truncated);
        }
    };
    let response = parse_response(&buf[..end]).map_err(ReadError::Head)?;
    buf.drain(..end);
    Ok(response)
}

/// A response body, read a piece at a time as it comes: whatever its size,
/// it holds one read's worth (and what came with the head). `Content-Length`
/// frames it (there is none after `HEAD`, or for 1xx, 204, 304), else the
/// end of the connection ends it.
pub struct Body<'a> {
    sys: &'a Sys,
    conn: Fd,
    /// The bytes read and not yet handed out, from the front.
    buf: &'a mut Vec<u8>,
    /// How many bytes at the front of `buf` the last piece was.
    handed: usize,
    /// The bytes still to come, as `Content-Length` says; `None`: until
    /// end-of-file.
    left: Option<u64>,
    /// The bytes handed out so far.
    taken: u64,
    /// The most bytes the body may have.
    max: u64,
}

impl<'a> Body<'a> {
    /// The body of `response` (read after a `HEAD` request if
    /// `after_head_request`), whose first bytes may be in `buf` already.
    ///
    /// # Errors
    /// `ReadError::Head` for a bad `Content-Length`; `ReadError::TooLarge`
    /// when it says the body is over `max` bytes.
    pub fn new(
        sys: &'a Sys,
        conn: Fd,
        buf: &'a mut Vec<u8>,
        response: &Response,
        after_head_request: bool,
        max: u64,
    ) -> Result<Body<'a>, ReadError> {
        let no_body = after_head_request || matches!(response.status, 100..=199 | 204 | 304);
        let left = if no_body {
            Some(0)
        } else {
            response.fields.content_length().map_err(ReadError::Head)?
        };
        if left.is_some_and(|n| n > max) {
            return Err(ReadError::TooLarge(max));
        }
        Ok(Body {
            sys,
            conn,
            buf,
            handed: 0,
            left,
            taken: 0,
            max,
        })
    }

    /// The next piece of the body, `None` at its end. Bytes after the end
    /// (the next response's start on a kept connection) stay in the buffer.
    ///
    /// # Errors
    /// `ReadError::Call` as `Sys::read`; `ReadError::ShortBody` when the
    /// connection ends before the length given; `ReadError::TooLarge` when
    /// the body goes over the limit.
    pub async fn next(&mut self) -> Result<Option<&[u8]>, ReadError> {
        self.buf.drain(..self.handed);
        self.handed = 0;
        if self.left == Some(0) {
            return Ok(None);
        }
        if self.buf.is_empty() {
            let got = read_more(self.sys, self.conn, self.buf)
                .await
                .map_err(ReadError::Call)?;
            if got == 0 {
                return match self.left {
                    None => Ok(None),
                    Some(_) => Err(ReadError::ShortBody),
                };
            }
        }
        let n = match self.left {
            Some(left) => self
                .buf
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX)),
            None => self.buf.len(),
        };
        self.taken += n as u64;
        if self.taken > self.max {
            return Err(ReadError::TooLarge(self.max));
        }
        if let Some(left) = &mut self.left {
            *left -= n as u64;
        }
        self.handed = n;
        Ok(Some(&self.buf[..n]))
    }
}

/// Reads one whole response from `conn`, its body into memory: for tests,
/// whose responses are small. See [`read_response_head`] and [`Body`].
#[cfg(test)]
pub async fn read_response(
    sys: &Sys,
    conn: Fd,
    buf: &mut Vec<u8>,
    after_head_request: bool,
) -> Result<(Response, Vec<u8>), ReadError> {
    let response = read_response_head(sys, conn, buf).await?;
    let mut body = Body::new(sys, conn, buf, &response, after_head_request, u64::MAX)?;
    let mut bytes = Vec::new();
    while let Some(piece) = body.next().await? {
        bytes.extend_from_slice(piece);
    }
    Ok((response, bytes))
}

/// Appends one read's worth of `conn` to `buf`: how many bytes came (0 at
/// end-of-file).
pub async fn read_more(sys: &Sys, conn: Fd, buf: &mut Vec<u8>) -> Result<usize, Errno> {
    let start = buf.len();
    buf.resize(start + CHUNK, 0);
    let got = sys.read(conn, &mut buf[start..]).await;
    buf.truncate(start + *got.as_ref().unwrap_or(&0));
    got
}

/// What a connection has sent and its reader has not taken yet, read a
/// [`CHUNK`] at a time into memory zeroed once. [`read_more`] zeroes a
/// chunk of its `Vec` before every read (safe code cannot read into
/// memory not yet initialized): on a kept-alive connection, a read for
/// each small request, that zeroing was 3% of `httpd`'s time under load.
#[derive(Debug, Default)]
pub struct Received {
    /// All zeroed once; `bytes[start..end]` is what has not been taken.
    bytes: Vec<u8>,
    start: usize,
    end: usize,
}

impl Received {
    /// The bytes received and not yet taken.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[self.start..self.end]
    }

    /// How many bytes are held.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Takes the first `n` bytes away. Caller must hold at least `n`.
    pub fn take(&mut self, n: usize) {
        assert!(n <= self.len(), "taking {n} of {} bytes", self.len());
        self.start += n;
        if self.start == self.end {
            // Empty: the next read starts at the front, so nothing ever
            // moves while requests are taken whole.
            self.start = 0;
            self.end = 0;
        }
    }

    /// Appends one read's worth of `conn` (at most [`CHUNK`] bytes, as
    /// [`read_more`]): how many bytes came (0 at end-of-file).
    ///
    /// # Errors
    /// As `Sys::read`.
    pub async fn read_more(&mut self, sys: &Sys, conn: Fd) -> Result<usize, Errno> {
        self.make_room();
        let got = sys
            .read(conn, &mut self.bytes[self.end..self.end + CHUNK])
            .await;
        if let Ok(n) = got {
            self.end += n;
        }
        got
    }

    /// Makes room for a chunk after what is held: moves it to the front
    /// if it does not fit, and zeroes more memory only if it still does
    /// not. So the memory held is at most what is held and a chunk.
    fn make_room(&mut self) {
        if self.bytes.len() - self.end >= CHUNK {
            return;
        }
        self.bytes.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        if self.bytes.len() < self.end + CHUNK {
            self.bytes.resize(self.end + CHUNK, 0);
        }
    }
}

/// An `http://HOST[:PORT][/PATH]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// The host as written (`127.0.0.1`, `localhost`, `[::1]`).
    pub host: String,
    /// The port (80 by default).
    pub port: u16,
    /// The path and query (`/` by default), without a fragment.
    pub path: String,
}

impl Url {
    /// Parses `http://HOST[:PORT][/PATH]`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Url> {
        let rest = strip_prefix_ignore_case(text, "http://")?;
        let rest = rest.split('#').next().unwrap_or("");
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.contains('@') || authority.is_empty() {
            return None;
        }
        let (host, port) = if authority.starts_with('[') {
            let (host, after) = authority.split_at(authority.find(']')? + 1);
            match after {
                "" => (host, None),
                after => (host, Some(after.strip_prefix(':')?)),
            }
        } else {
            match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        let port = match port {
            None => 80,
            Some(port) => port.parse().ok()?,
        };
        if host.is_empty() || host.bytes().any(|b| b.is_ascii_whitespace()) {
            return None;
        }
        let path = match path {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return None;
        }
        Some(Url {
            host: host.to_string(),
            port,
            path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_ends_at_its_first_empty_line() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nrest"), Some(27));
        assert_eq!(head_end(b"GET / HTTP/1.1\nHost: x\n\nrest"), Some(24));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
        assert_eq!(head_end(b""), None);
        assert_eq!(leading_blank_lines(b"\r\n\nGET"), 3);
        assert_eq!(leading_blank_lines(b"GET"), 0);
    }

    #[test]
    fn requests_parse_strictly() {
        let r =
            parse_request(b"GET /ps?x=1 HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, x\r\n\r\n")
                .unwrap();
        assert_eq!((r.method.as_str(), r.minor), ("GET", 1));
        assert_eq!(r.path(), Some("/ps"));
        assert_eq!(r.fields.get("HOST"), Some("a"));
        assert!(r.fields.has_token("connection", "keep-alive"));
        assert!(r.keep_alive());
        let old = parse_request(b"HEAD http://h:1/a#f HTTP/1.0\r\n\r\n").unwrap();
        assert_eq!(old.path(), Some("/a"));
        assert!(!old.keep_alive());
        let close = parse_request(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap();
        assert!(!close.keep_alive());
        assert_eq!(
            parse_request(b"GET * HTTP/1.1\r\n\r\n").unwrap().path(),
            None
        );

        let lf = parse_request_borrowed(b"GET /a#b HTTP/1.1\nA:1\nB: \t2 \n\n").unwrap();
        assert_eq!(
            (lf.method, lf.target, lf.path()),
            ("GET", "/a#b", Some("/a"))
        );
        assert_eq!(lf.fields, Fields(vec![("A", "1"), ("B", "2")]));

        for bad in [
            &b"GARBAGE\r\n\r\n"[..],
            b"GET  / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1 x\r\n\r\n",
            b"GET / HTTP/1.1 \r\n\r\n",
            b" GET / HTTP/1.1\r\n\r\n",
            b"GET /\r\n\r\n",
            b"GET / HTTP/1.1\r\n: empty name\r\n\r\n",
            b"GET / FTP/1.1\r\n\r\n",
            b"G(T / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nNo colon\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad name: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
            b"GET / HTTP/1.1\r\nA: b\x01c\r\n\r\n",
            b"GET / HTTP/1.1\r\nA: \xff\r\n\r\n",
        ] {
            assert!(
                matches!(parse_request(bad), Err(HeadError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            parse_request(b"GET / HTTP/2.0\r\n\r\n"),
            Err(HeadError::Version)
        );
    }

    #[test]
    fn content_length_must_be_one_number() {
        let fields = |v: &[&str]| {
            Fields(
                v.iter()
                    .map(|v| ("Content-Length".to_string(), v.to_string()))
                    .collect(),
            )
        };
        assert_eq!(fields(&[]).content_length(), Ok(None));
        assert_eq!(fields(&["12"]).content_length(), Ok(Some(12)));
        assert_eq!(fields(&["5, 5", "5"]).content_length(), Ok(Some(5)));
        for bad in [
            &["-1"][..],
            &["x"],
            &["1", "2"],
            &[""],
            &["99999999999999999999999"],
        ] {
            assert!(fields(bad).content_length().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn responses_parse_with_or_without_a_reason() {
        let r = parse_response(b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\n").unwrap();
        assert_eq!((r.status, r.reason.as_str()), (404, "Not Found"));
        assert_eq!(r.fields.content_length(), Ok(Some(3)));
        assert_eq!(parse_response(b"HTTP/1.0 200\r\n\r\n").unwrap().status, 200);
        assert!(parse_response(b"HTTP/1.1 20 OK\r\n\r\n").is_err());
        assert!(parse_response(b"SSH-2.0-x\r\n\r\n").is_err());
    }

    /// Runs `check` on a kernel (virtual clock) with a pipe whose read end
    /// holds `response`, then end-of-file.
    fn with_response<F, Fut>(response: &'static [u8], check: F)
    where
        F: FnOnce(Sys, Fd) -> Fut + 'static,
        Fut: std::future::Future<Output = ()> + 'static,
    {
        let out = kernel::testing::Harness::new(Vec::new()).run_fn(move |sys| async move {
            let (r, w) = sys.pipe().await.expect("pipe");
            sys.write_all(w, response).await.expect("write");
            sys.close(w).await.expect("close");
            check(sys, r).await;
            0
        });
        assert_eq!(out.status, Some(0), "{}", out.stderr);
    }

    /// Reads the response on `conn` with bodies of at most `max` bytes.
    async fn body_of(
        sys: &Sys,
        conn: Fd,
        buf: &mut Vec<u8>,
        max: u64,
    ) -> Result<Vec<u8>, ReadError> {
        let response = read_response_head(sys, conn, buf).await?;
        let mut body = Body::new(sys, conn, buf, &response, false, max)?;
        let mut bytes = Vec::new();
        while let Some(piece) = body.next().await? {
            bytes.extend_from_slice(piece);
        }
        Ok(bytes)
    }

    #[test]
    fn a_body_ends_where_its_length_says_and_the_rest_is_kept() {
        with_response(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 204 No Content\r\n\r\n",
            |sys, r| async move {
                let mut buf = Vec::new();
                assert_eq!(body_of(&sys, r, &mut buf, 5).await, Ok(b"hello".to_vec()));
                assert_eq!(
                    body_of(&sys, r, &mut buf, 5).await,
                    Ok(Vec::new()),
                    "204: none"
                );
                assert!(buf.is_empty());
            },
        );
        with_response(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
            |sys, r| async move {
                let got = body_of(&sys, r, &mut Vec::new(), 100).await;
                assert_eq!(got, Err(ReadError::ShortBody));
            },
        );
    }

    #[test]
    fn a_body_over_the_limit_is_an_error_whether_announced_or_not() {
        with_response(b"HTTP/1.1 200 OK\r\n\r\nhello", |sys, r| async move {
            assert_eq!(
                body_of(&sys, r, &mut Vec::new(), 4).await,
                Err(ReadError::TooLarge(4))
            );
        });
        with_response(b"HTTP/1.1 200 OK\r\n\r\nhello", |sys, r| async move {
            assert_eq!(
                body_of(&sys, r, &mut Vec::new(), 5).await,
                Ok(b"hello".to_vec())
            );
        });
        with_response(
            b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n",
            |sys, r| async move {
                // Refused from its head, before any of it is read.
                assert_eq!(
                    body_of(&sys, r, &mut Vec::new(), 5).await,
                    Err(ReadError::TooLarge(5))
                );
            },
        );
    }

    #[test]
    fn a_body_is_held_one_read_at_a_time_whatever_its_size() {
        let out = kernel::testing::Harness::new(Vec::new()).run_fn(|sys| async move {
            let (r, w) = sys.pipe().await.expect("pipe");
            const SIZE: usize = 1 << 20;
            syscalls::Command::from_fn(move |sys| async move {
                let _ = sys.write_all(w, b"HTTP/1.1 200 OK\r\n\r\n").await;
                for _ in 0..SIZE / 4096 {
                    let _ = sys.write_all(w, &[b'x'; 4096]).await;
                }
                0
            })
            .fds(syscalls::FdMap::empty().set(w, w))
            .spawn(&sys)
            .await
            .expect("spawn");
            sys.close(w).await.expect("close");
            let mut buf = Vec::new();
            let response = read_response_head(&sys, r, &mut buf).await.expect("head");
            let mut body = Body::new(&sys, r, &mut buf, &response, false, u64::MAX).expect("body");
            let mut total = 0;
            let mut most = 0;
            while let Some(piece) = body.next().await.expect("a piece") {
                total += piece.len();
                most = most.max(body.buf.capacity());
            }
            assert_eq!(total, SIZE);
            assert!(most <= MAX_HEAD + 2 * CHUNK, "{most} bytes held");
            0
        });
        assert_eq!(out.status, Some(0), "{}", out.stderr);
    }

    #[test]
    fn received_bytes_come_in_order_however_they_are_read_and_taken() {
        let out = kernel::testing::Harness::new(Vec::new()).run_fn(|sys| async move {
            let (r, w) = sys.pipe().await.expect("pipe");
            let mut received = Received::default();
            // Every byte sent, and how many of them have been taken.
            let mut sent = Vec::new();
            let mut taken = 0;
            for round in 0..300usize {
                // Pieces of 1 to CHUNK + 1 bytes, a running count.
                let size = round * 997 % (CHUNK + 1) + 1;
                let piece: Vec<u8> = (sent.len()..sent.len() + size).map(|i| i as u8).collect();
                sys.write_all(w, &piece).await.expect("write");
                sent.extend_from_slice(&piece);
                let got = received.read_more(&sys, r).await.expect("read");
                assert!((1..=CHUNK).contains(&got));
                assert_eq!(received.bytes(), &sent[taken..taken + received.len()]);
                // Take all, none, or some; all when over a head's worth,
                // as httpd does.
                let n = match round % 3 {
                    _ if received.len() > MAX_HEAD => received.len(),
                    0 => received.len(),
                    1 => 0,
                    _ => received.len() / 2,
                };
                received.take(n);
                taken += n;
                assert_eq!(received.bytes(), &sent[taken..taken + received.len()]);
                assert!(
                    received.bytes.len() <= MAX_HEAD + CHUNK,
                    "{} bytes of memory",
                    received.bytes.len()
                );
            }
            0
        });
        assert_eq!(out.status, Some(0), "{}", out.stderr);
    }

    #[test]
    fn urls_are_http_host_port_and_path() {
        let url = |host: &str, port, path: &str| Url {
            host: host.into(),
            port,
            path: path.into(),
        };
        assert_eq!(
            Url::parse("http://127.0.0.1:8080/ps"),
            Some(url("127.0.0.1", 8080, "/ps"))
        );
        assert_eq!(
            Url::parse("HTTP://localhost"),
            Some(url("localhost", 80, "/"))
        );
        assert_eq!(Url::parse("http://h?q=1#frag"), Some(url("h", 80, "/?q=1")));
        assert_eq!(
            Url::parse("http://[::1]:81/a"),
            Some(url("[::1]", 81, "/a"))
        );
        assert_eq!(Url::parse("http://[::1]/"), Some(url("[::1]", 80, "/")));
        for bad in [
            "https://h/",
            "h:80/",
            "http://",
            "http://u@h/",
            "http://h:x/",
            "http://h/a b",
        ] {
            assert_eq!(Url::parse(bad), None, "{bad:?}");
        }
    }
}
