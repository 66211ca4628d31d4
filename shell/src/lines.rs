//! Reading a script: the bytes of fd 0, in chunks, cut into lines.

use syscalls::{Fd, Sys};

/// How much of fd 0 one read asks for.
const READ_CHUNK: usize = 4096;

/// Lines of fd 0, read in chunks.
pub(crate) struct LineReader {
    fd: Fd,
    lines: LineBuffer,
}

impl LineReader {
    pub fn new(fd: Fd) -> LineReader {
        LineReader {
            fd,
            lines: LineBuffer::default(),
        }
    }

    /// The next line without its newline; `None` at end of input. A read
    /// error counts as the end: there is nothing more to read.
    pub async fn next_line(&mut self, sys: &Sys) -> Option<String> {
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            if let Some(line) = self.lines.pop_line() {
                return Some(line);
            }
            match sys.read(self.fd, &mut chunk).await {
                Ok(n) if n > 0 => self.lines.push(&chunk[..n]),
                _ => return self.lines.finish(),
            }
        }
    }
}

/// Bytes in, lines out: keeps a partial line until its newline comes.
#[derive(Debug, Default)]
struct LineBuffer {
    bytes: Vec<u8>,
}

impl LineBuffer {
    fn push(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// The first complete line, without its newline (invalid UTF-8 becomes
    /// U+FFFD).
    fn pop_line(&mut self) -> Option<String> {
        let end = self.bytes.iter().position(|&b| b == b'\n')?;
        let line: Vec<u8> = self.bytes.drain(..=end).collect();
        Some(String::from_utf8_lossy(&line[..end]).into_owned())
    }

    /// At end of input: what is left, if anything, as a last line.
    fn finish(&mut self) -> Option<String> {
        if self.bytes.is_empty() {
            None
        } else {
            let rest = std::mem::take(&mut self.bytes);
            Some(String::from_utf8_lossy(&rest).into_owned())
        }
    }
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
}
