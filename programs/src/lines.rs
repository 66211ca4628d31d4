//! Lines from a descriptor: `LineBuf` splits bytes into lines whatever the
//! read boundaries (a line may arrive in pieces; the last one may have no
//! newline), and `LineReader` feeds it with 64 KiB reads from a descriptor.
//! [`past_newlines`] counts lines off a chunk without splitting it (`head`,
//! `tail`).

use std::ops::Range;

use syscalls::{Fd, Sys, SysResult};

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

/// The splitting, apart from any I/O: bytes go in through [`LineBuf::spare`]
/// and [`LineBuf::filled`], whole lines come out of [`LineBuf::next_line`].
pub struct LineBuf {
    buf: Vec<u8>,
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
    /// A splitter that reads `chunk` bytes at a time (it grows for a line
    /// longer than that).
    pub fn new(chunk: usize) -> LineBuf {
        LineBuf {
            buf: vec![0; chunk.max(1)],
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
    /// the buffer when they fill it. Never empty.
    pub fn spare(&mut self) -> &mut [u8] {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.scanned -= self.start.min(self.scanned);
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let bigger = self.buf.len() * 2;
            self.buf.resize(bigger, 0);
        }
        &mut self.buf[self.end..]
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

    /// A reader of `fd`.
    pub fn new(sys: &Sys, fd: Fd) -> LineReader {
        LineReader {
            sys: sys.clone(),
            fd,
            lines: LineBuf::new(LineReader::CHUNK),
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
    /// As `Sys::read`.
    pub async fn fill(&mut self) -> SysResult<bool> {
        if self.lines.is_finished() {
            return Ok(false);
        }
        let n = self.sys.read(self.fd, self.lines.spare()).await?;
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
        let mut lines = LineBuf::new(chunk);
        let mut out = Vec::new();
        for piece in pieces {
            let mut piece: &[u8] = piece;
            while !piece.is_empty() {
                let spare = lines.spare();
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
        out
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
