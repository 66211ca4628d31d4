//! Lines from a descriptor: `LineBuf` splits bytes into lines whatever the
//! read boundaries (a line may arrive in pieces; the last one may have no
//! newline), and `LineReader` feeds it with 64 KiB reads from a descriptor.
//! [`past_newlines`] counts lines off a chunk without splitting it (`head`,
//! `tail`).
//!
//! A line is held whole until its newline comes, so the input decides how
//! much is held: a line longer than the reader's limit is an error
//! ([`TooLong`]), never an allocation that grows with whatever is sent.
//! Each byte is scanned for a newline once, however the line arrives, so
//! reading a line costs time linear in its length.

use std::fmt;
use std::ops::Range;

use syscalls::{Errno, Fd, Sys};

/// Where `chunk` is past the next `*lines` newlines (its end if it holds
/// fewer, 0 if `*lines` is 0); counts them off.
pub fn past_newlines(chunk: &[u8], lines: &mut u64) -> usize {
    if *lines == 0 {
        return 0;
    }
    for (at, _) in chunk.iter().enumerate().filter(|(_, &b)| b == b'\n') {
        *lines -= 1;
        if *lines == 0 {
            return at + 1;
        }
    }
    chunk.len()
}

/// A line went over the limit of the reader: the limit, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLong(pub usize);

impl fmt::Display for TooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a line is longer than {} bytes", self.0)
    }
}

/// Why no line could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineError {
    /// The read failed.
    Read(Errno),
    /// The line being read went over the limit.
    TooLong(TooLong),
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::Read(errno) => errno.fmt(f),
            LineError::TooLong(too_long) => too_long.fmt(f),
        }
    }
}

/// The splitting, apart from any I/O: bytes go in through [`LineBuf::spare`]
/// and [`LineBuf::filled`], whole lines come out of [`LineBuf::next_line`].
pub struct LineBuf {
    buf: Vec<u8>,
    /// The size the buffer starts at, and shrinks back to after a long line.
    chunk: usize,
    /// The most bytes a line may hold before its newline.
    max_line: usize,
    /// Where the first byte not yet returned is.
    start: usize,
    /// Where the bytes read so far end.
    end: usize,
    /// Bytes in `start..scanned` hold no newline: the next search starts
    /// there, so a long line arriving in pieces is scanned once.
    scanned: usize,
    /// No more bytes will come.
    eof: bool,
}

impl LineBuf {
    /// A splitter that reads `chunk` bytes at a time; it grows for a line
    /// longer than that, up to `max_line` bytes before the newline.
    pub fn new(chunk: usize, max_line: usize) -> LineBuf {
        let chunk = chunk.clamp(1, max_line.saturating_add(1));
        LineBuf {
            buf: vec![0; chunk],
            chunk,
            max_line,
            start: 0,
            end: 0,
            scanned: 0,
            eof: false,
        }
    }

    /// The next whole line, newline included; after [`LineBuf::finish`], the
    /// last bytes even without a newline. `None`: more input is needed (or,
    /// after `finish`, there is no more).
    pub fn next_line(&mut self) -> Option<&[u8]> {
        let range = self.next_range()?;
        Some(&self.buf[range])
    }

    fn next_range(&mut self) -> Option<Range<usize>> {
        let from = self.scanned.max(self.start);
        match self.buf[from..self.end].iter().position(|&b| b == b'\n') {
            Some(at) => {
                let line = self.start..from + at + 1;
                self.start = line.end;
                self.scanned = line.end;
                Some(line)
            }
            None if self.eof && self.start < self.end => {
                let line = self.start..self.end;
                self.start = self.end;
                self.scanned = self.end;
                Some(line)
            }
            None => {
                self.scanned = self.end;
                None
            }
        }
    }

    /// Room to read into: moves the unreturned bytes to the front, and grows
    /// the buffer when they fill it (or shrinks it back once a long line is
    /// gone). Never empty. Call it once [`LineBuf::next_line`] has said
    /// `None`.
    ///
    /// # Errors
    /// [`TooLong`] when the buffer is full of one line with no newline and
    /// may not grow: that line is longer than `max_line`.
    pub fn spare(&mut self) -> Result<&mut [u8], TooLong> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.scanned -= self.start.min(self.scanned);
            self.start = 0;
        }
        // Room for the longest line and its newline, and no more: a line
        // that does not fit is over the limit.
        let cap = self.max_line.saturating_add(1);
        let len = self.buf.len();
        if len > self.chunk && self.end < self.chunk {
            // What a long line needed is not kept for the short ones after.
            self.buf.truncate(self.chunk);
            self.buf.shrink_to_fit();
        } else if self.end == len {
            // Everything held was scanned for a newline: it is one line.
            let one_line = self.scanned >= self.end;
            if one_line && len >= cap {
                return Err(TooLong(self.max_line));
            }
            // Doubling keeps the copies linear in the line's length. (Lines
            // left unread by the caller are not the input's doing: they
            // may go past the cap.)
            let bigger = if one_line {
                (len * 2).min(cap)
            } else {
                len * 2
            };
            self.buf.resize(bigger, 0);
        }
        Ok(&mut self.buf[self.end..])
    }

    /// Records that `n` bytes were read into [`LineBuf::spare`].
    pub fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// Records end-of-file: the bytes after the last newline become a line.
    pub fn finish(&mut self) {
        self.eof = true;
    }

    /// Whether end-of-file was recorded.
    pub fn is_finished(&self) -> bool {
        self.eof
    }
}

/// Lines read from a descriptor.
pub struct LineReader {
    sys: Sys,
    fd: Fd,
    lines: LineBuf,
}

impl LineReader {
    /// How much one read asks for.
    pub const CHUNK: usize = 64 * 1024;

    /// The longest line (before its newline) a reader takes unless told
    /// otherwise: far longer than any line a person reads, and short enough
    /// that a few readers at once cannot run coos (one host process) out of
    /// memory.
    pub const MAX_LINE: usize = 16 * 1024 * 1024;

    /// A reader of `fd`, taking lines of up to [`LineReader::MAX_LINE`].
    pub fn new(sys: &Sys, fd: Fd) -> LineReader {
        LineReader::with_max_line(sys, fd, LineReader::MAX_LINE)
    }

    /// A reader of `fd`, taking lines of up to `max_line` bytes.
    pub fn with_max_line(sys: &Sys, fd: Fd, max_line: usize) -> LineReader {
        LineReader {
            sys: sys.clone(),
            fd,
            lines: LineBuf::new(LineReader::CHUNK, max_line),
        }
    }

    /// The next line already read, if there is one; see [`LineBuf::next_line`].
    /// `None` means: call [`LineReader::fill`] (or, after it said end-of-file,
    /// that the input is done).
    pub fn buffered_line(&mut self) -> Option<&[u8]> {
        self.lines.next_line()
    }

    /// Reads once more. `Ok(false)` at end-of-file.
    ///
    /// # Errors
    /// `LineError::Read` as `Sys::read`; `LineError::TooLong` when the line
    /// being read is over the limit (nothing is read then).
    pub async fn fill(&mut self) -> Result<bool, LineError> {
        if self.lines.is_finished() {
            return Ok(false);
        }
        let spare = self.lines.spare().map_err(LineError::TooLong)?;
        let n = self
            .sys
            .read(self.fd, spare)
            .await
            .map_err(LineError::Read)?;
        if n == 0 {
            self.lines.finish();
            return Ok(false);
        }
        self.lines.filled(n);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::testing::Harness;

    /// Feeds `pieces` one by one, collecting the lines.
    fn split(chunk: usize, pieces: &[&[u8]]) -> Vec<Vec<u8>> {
        split_at_most(chunk, usize::MAX, pieces).expect("no limit")
    }

    /// As [`split`], with lines of at most `max_line` bytes.
    fn split_at_most(
        chunk: usize,
        max_line: usize,
        pieces: &[&[u8]],
    ) -> Result<Vec<Vec<u8>>, TooLong> {
        let mut lines = LineBuf::new(chunk, max_line);
        let mut out = Vec::new();
        for piece in pieces {
            let mut piece: &[u8] = piece;
            while !piece.is_empty() {
                let spare = lines.spare()?;
                let n = spare.len().min(piece.len());
                spare[..n].copy_from_slice(&piece[..n]);
                lines.filled(n);
                piece = &piece[n..];
                while let Some(line) = lines.next_line() {
                    out.push(line.to_vec());
                }
            }
        }
        lines.finish();
        while let Some(line) = lines.next_line() {
            out.push(line.to_vec());
        }
        Ok(out)
    }

    fn owned(lines: &[&str]) -> Vec<Vec<u8>> {
        lines.iter().map(|l| l.as_bytes().to_vec()).collect()
    }

    #[test]
    fn past_newlines_stops_after_the_last_newline_wanted() {
        let mut left = 2;
        assert_eq!(past_newlines(b"a\nb\nc\n", &mut left), 4);
        assert_eq!(left, 0);
        let mut left = 5;
        assert_eq!(past_newlines(b"a\nb", &mut left), 3);
        assert_eq!(left, 4);
        let mut left = 0;
        assert_eq!(past_newlines(b"a\nb", &mut left), 0);
    }

    #[test]
    fn lines_split_across_reads_come_out_whole() {
        let got = split(64, &[b"ab", b"c\nde", b"f\n\ng", b"h\n"]);
        assert_eq!(got, owned(&["abc\n", "def\n", "\n", "gh\n"]));
    }

    #[test]
    fn a_last_line_without_newline_is_still_a_line() {
        assert_eq!(split(64, &[b"a\nb"]), owned(&["a\n", "b"]));
        assert_eq!(split(64, &[b""]), owned(&[]));
        assert_eq!(split(64, &[b"\n"]), owned(&["\n"]));
    }

    #[test]
    fn a_line_longer_than_the_buffer_grows_it() {
        let long = "x".repeat(1000) + "\n";
        let input = format!("{long}ab\n{long}");
        assert_eq!(
            split(7, &[input.as_bytes()]),
            owned(&[&long, "ab\n", &long])
        );
    }

    #[test]
    fn a_line_over_the_limit_is_an_error_however_it_arrives() {
        let at_limit = "0123456789\n";
        let over = "0123456789x\n";
        for chunk in [1, 4, 64] {
            let one_at_a_time: Vec<&[u8]> = over.as_bytes().chunks(1).collect();
            assert_eq!(
                split_at_most(chunk, 10, &[over.as_bytes()]),
                Err(TooLong(10)),
                "chunk {chunk}"
            );
            assert_eq!(split_at_most(chunk, 10, &one_at_a_time), Err(TooLong(10)));
            let fits = format!("{at_limit}a\n{at_limit}");
            assert_eq!(
                split_at_most(chunk, 10, &[fits.as_bytes()]),
                Ok(owned(&[at_limit, "a\n", at_limit])),
                "chunk {chunk}"
            );
            // At end-of-file, a last line without newline may be as long.
            assert_eq!(
                split_at_most(chunk, 10, &[b"0123456789"]),
                Ok(owned(&["0123456789"]))
            );
        }
    }

    #[test]
    fn the_buffer_stops_growing_at_the_limit_and_shrinks_after_a_long_line() {
        // Hostile: a line that never ends.
        let mut lines = LineBuf::new(16, 1000);
        let endless = [b'x'; 64];
        let mut fed = 0;
        let err = loop {
            assert!(fed < 100_000, "still taking the line after {fed} bytes");
            match lines.spare() {
                Ok(spare) => {
                    let n = spare.len().min(endless.len());
                    spare[..n].copy_from_slice(&endless[..n]);
                    lines.filled(n);
                    fed += n;
                    assert_eq!(lines.next_line(), None);
                }
                Err(e) => break e,
            }
        };
        assert_eq!(err, TooLong(1000));
        assert_eq!(lines.buf.len(), 1001, "room for the line and its newline");

        let mut lines = LineBuf::new(16, 1000);
        let long = [b"y".repeat(900), b"\nab".to_vec()].concat();
        let mut input: &[u8] = &long;
        while !input.is_empty() {
            let spare = lines.spare().expect("under the limit");
            let n = spare.len().min(input.len());
            spare[..n].copy_from_slice(&input[..n]);
            lines.filled(n);
            input = &input[n..];
            while lines.next_line().is_some() {}
        }
        assert!(lines.buf.len() > 900);
        lines.spare().expect("room");
        assert_eq!(lines.buf.len(), 16, "back to one chunk");
    }

    #[test]
    fn line_reader_reads_lines_from_a_descriptor() {
        let out = Harness::new(crate::registry())
            .stdin("one\ntwo\nthree")
            .run_fn(|sys| async move {
                let mut lines = LineReader::new(&sys, syscalls::Fd::STDIN);
                let mut out = Vec::new();
                let mut count = 0;
                loop {
                    while let Some(line) = lines.buffered_line() {
                        out.extend_from_slice(line);
                        out.push(b'|');
                        count += 1;
                    }
                    if !lines.fill().await.expect("read") {
                        break;
                    }
                }
                // After end-of-file, the last line without newline.
                while let Some(line) = lines.buffered_line() {
                    out.extend_from_slice(line);
                    out.push(b'|');
                    count += 1;
                }
                let _ = sys.write_all(syscalls::Fd::STDOUT, &out).await;
                count
            });
        assert_eq!(out.stdout, "one\n|two\n|three|");
        assert_eq!(out.status, Some(3));
    }
}
