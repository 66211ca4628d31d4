//! Reading a script: the bytes of fd 0, in chunks, cut into lines.

use syscalls::{Fd, Sys};

/// How much of fd 0 one read asks for.
const READ_CHUNK: usize = 4096;

/// Lines of fd 0, read in chunks.
pub(crate) struct LineReader {
    fd: Fd,
    lines: LineBuffer,
    /// Where a read puts its bytes; kept, not made anew for each line.
    chunk: Vec<u8>,
}

impl LineReader {
    pub fn new(fd: Fd) -> LineReader {
        LineReader {
            fd,
            lines: LineBuffer::default(),
            chunk: vec![0u8; READ_CHUNK],
        }
    }

    /// The next line without its newline; `None` at end of input. A read
    /// error counts as the end: there is nothing more to read.
    pub async fn next_line(&mut self, sys: &Sys) -> Option<String> {
        loop {
            if let Some(line) = self.lines.pop_line() {
                return Some(line);
            }
            match sys.read(self.fd, &mut self.chunk).await {
                Ok(n) if n > 0 => self.lines.push(&self.chunk[..n]),
                _ => return self.lines.finish(),
            }
        }
    }
}

/// Bytes in, lines out: keeps a partial line until its newline comes.
///
/// Linear in what goes through it, however long the lines and however many
/// come in one chunk: a byte is searched for a newline once (`scanned`
/// remembers how far the last search went), and the lines taken are cut
/// off the front only when they are at least as long as what is left, so
/// that moving the rest costs no more than what was taken.
#[derive(Debug, Default)]
struct LineBuffer {
    bytes: Vec<u8>,
    /// Where the first line not yet taken starts.
    start: usize,
    /// `bytes[start..scanned]` holds no newline.
    scanned: usize,
    /// Bytes searched or moved so far, which the tests bound.
    #[cfg(test)]
    work: usize,
}

/// Capacity a buffer may keep after a long line is gone: the room of a
/// few reads, not that of the longest line the script ever had.
const KEPT_CAPACITY: usize = 16 * READ_CHUNK;

impl LineBuffer {
    fn push(&mut self, bytes: &[u8]) {
        let left = self.bytes.len() - self.start;
        if self.start > 0 && self.start >= left {
            self.bytes.drain(..self.start);
            self.count(left);
            self.scanned -= self.start;
            self.start = 0;
            let wanted = left + bytes.len();
            if self.bytes.capacity() > KEPT_CAPACITY.max(4 * wanted) {
                self.bytes.shrink_to(KEPT_CAPACITY.max(2 * wanted));
            }
        }
        self.bytes.extend_from_slice(bytes);
    }

    /// The first complete line, without its newline (invalid UTF-8 becomes
    /// U+FFFD).
    fn pop_line(&mut self) -> Option<String> {
        let unscanned = &self.bytes[self.scanned..];
        let Some(at) = unscanned.iter().position(|&b| b == b'\n') else {
            let searched = unscanned.len();
            self.count(searched);
            self.scanned = self.bytes.len();
            return None;
        };
        self.count(at + 1);
        let end = self.scanned + at;
        let line = String::from_utf8_lossy(&self.bytes[self.start..end]).into_owned();
        self.start = end + 1;
        self.scanned = self.start;
        Some(line)
    }

    /// At end of input: what is left, if anything, as a last line.
    fn finish(&mut self) -> Option<String> {
        let rest = &self.bytes[self.start..];
        let line = (!rest.is_empty()).then(|| String::from_utf8_lossy(rest).into_owned());
        *self = LineBuffer {
            #[cfg(test)]
            work: self.work,
            ..LineBuffer::default()
        };
        line
    }

    #[cfg(test)]
    fn count(&mut self, bytes: usize) {
        self.work += bytes;
    }

    #[cfg(not(test))]
    fn count(&mut self, _bytes: usize) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_across_reads() {
        let mut b = LineBuffer::default();
        b.push(b"echo a\nec");
        assert_eq!(b.pop_line().as_deref(), Some("echo a"));
        assert_eq!(b.pop_line(), None);
        b.push(b"ho b");
        assert_eq!(b.pop_line(), None);
        b.push(b"\n\nlast");
        assert_eq!(b.pop_line().as_deref(), Some("echo b"));
        assert_eq!(b.pop_line().as_deref(), Some(""));
        assert_eq!(b.pop_line(), None);
        assert_eq!(b.finish().as_deref(), Some("last"));
        assert_eq!(b.finish(), None);
    }

    #[test]
    fn a_character_split_across_reads_survives() {
        let mut b = LineBuffer::default();
        let bytes = "é\n".as_bytes();
        b.push(&bytes[..1]);
        assert_eq!(b.pop_line(), None);
        b.push(&bytes[1..]);
        assert_eq!(b.pop_line().as_deref(), Some("é"));
        b.push(b"\xff\n");
        assert_eq!(b.pop_line().as_deref(), Some("\u{fffd}"));
    }

    #[test]
    fn a_long_line_is_searched_once_not_again_after_every_read() {
        // Issue 11: each read rescanned the whole line so far, and an 8 MB
        // line took seconds. Here a 1 MiB line comes in reads of 4 KiB.
        let mut b = LineBuffer::default();
        let chunks = 256;
        for _ in 0..chunks {
            b.push(&[b'x'; READ_CHUNK]);
            assert_eq!(b.pop_line(), None);
        }
        b.push(b"\n");
        assert_eq!(b.pop_line().map(|l| l.len()), Some(chunks * READ_CHUNK));
        let input = chunks * READ_CHUNK + 1;
        assert!(b.work <= 2 * input, "{} bytes of work for {input}", b.work);
    }

    #[test]
    fn many_lines_in_one_read_are_taken_without_moving_the_rest_each_time() {
        // Cutting each line off the front moved all the lines after it.
        let mut b = LineBuffer::default();
        let lines = 10_000;
        let text = "ab\n".repeat(lines);
        b.push(text.as_bytes());
        for _ in 0..lines {
            assert_eq!(b.pop_line().as_deref(), Some("ab"));
        }
        assert_eq!(b.pop_line(), None);
        b.push(b"c\n");
        assert_eq!(b.pop_line().as_deref(), Some("c"));
        let input = text.len() + 2;
        assert!(b.work <= 2 * input, "{} bytes of work for {input}", b.work);
    }

    #[test]
    fn the_room_a_long_line_took_is_given_back() {
        let mut b = LineBuffer::default();
        b.push(&vec![b'x'; 64 * KEPT_CAPACITY]);
        b.push(b"\n");
        assert!(b.pop_line().is_some());
        b.push(b"a\n");
        assert_eq!(b.pop_line().as_deref(), Some("a"));
        assert!(
            b.bytes.capacity() <= 2 * KEPT_CAPACITY,
            "{}",
            b.bytes.capacity()
        );
    }
}
