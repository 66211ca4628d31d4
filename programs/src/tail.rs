//! `tail [-n [+]N | -c [+]N | -N] [-qv] [FILE]...`: output the last lines
//! (or bytes) of standard input (`-`, or no operand), or everything from
//! line (byte) N on. Works on endless input: it keeps only the chunks that
//! hold the last N lines, never the whole input, and at most [`MAX_HELD`]
//! bytes of them (the input decides how long lines are: one that never
//! ends is an error, not an allocation that grows with it).

use std::collections::VecDeque;

use syscalls::{ExitCode, Fd, Sys};

use crate::fail::Failed;
use crate::inputs;
use crate::lines::past_newlines;
use crate::usage::{parse_count, Numbers, Opt, Spec};

const SPEC: Spec = Spec {
    numbers: Numbers::Option('n'),
    ..Spec::new(
        "tail",
        "Usage: tail [OPTION]... [FILE]...\n\
         Print the last 10 lines of each FILE to standard output.\n\
         With more than one FILE, precede each with a header giving the file name.\n\
         \n\
         With no FILE, or when FILE is -, read standard input.\n\
         coos has no files yet: any FILE other than - is reported missing.\n\
         \n\
         \x20 -c, --bytes=[+]NUM       output the last NUM bytes; or use -c +NUM to\n\
         \x20                            output starting with byte NUM of each file\n\
         \x20 -n, --lines=[+]NUM       output the last NUM lines, instead of the last 10;\n\
         \x20                            or use -n +NUM to skip NUM-1 lines at the start\n\
         \x20 -NUM                     same as -n NUM\n\
         \x20 -q, --quiet, --silent    never output headers giving file names\n\
         \x20 -v, --verbose            always output headers giving file names\n\
         \x20     --help               display this help and exit\n\
         \n\
         NUM may have a multiplier suffix:\n\
         b 512, kB 1000, K 1024, MB 1000*1000, M 1024*1024,\n\
         GB 1000*1000*1000, G 1024*1024*1024, and so on for T, P, E.\n\
         \n\
         The last lines (or bytes) are held until the input ends, 64 MiB at most:\n\
         more is an error.\n",
        &[
            Opt::value('c', "bytes"),
            Opt::value('n', "lines"),
            Opt::flag('q', "quiet"),
            Opt::flag('q', "silent"),
            Opt::flag('v', "verbose"),
        ],
    )
};

/// How much one read asks for, and the size small reads are merged up to.
const CHUNK: usize = 64 * 1024;

/// The most of an input held for its last lines or bytes (a chunk more at
/// most): coos is one host process, and one `tail` of a line that never
/// ends must not take all of its memory.
const MAX_HELD: usize = 64 * 1024 * 1024;

/// Lines or bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Lines,
    Bytes,
}

/// What to output of each input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// The last N units.
    Last(u64),
    /// Everything from unit N on (1 is the first; 0 counts as 1).
    From(u64),
}

/// Reads `-n`'s or `-c`'s value: `N` or `-N` is the last N, `+N` from N on.
fn parse_part(value: &str) -> Option<Part> {
    if let Some(n) = value.strip_prefix('+') {
        return parse_count(n).map(Part::From);
    }
    parse_count(value.strip_prefix('-').unwrap_or(value)).map(Part::Last)
}

/// Outputs part of each input; status 1 if an operand was missing or a read
/// failed.
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    let args = match SPEC.parse(&sys, &args).await {
        Ok(args) => args,
        Err(status) => return status,
    };
    let mut unit = Unit::Lines;
    let mut part = Part::Last(10);
    let mut headers = None;
    for (opt, value) in &args.opts {
        match opt {
            'n' | 'c' => {
                let (u, what) = if *opt == 'n' {
                    (Unit::Lines, "lines")
                } else {
                    (Unit::Bytes, "bytes")
                };
                let Some(p) = parse_part(value) else {
                    return SPEC
                        .fail(&sys, format_args!("invalid number of {what}: '{value}'"))
                        .await;
                };
                unit = u;
                part = p;
            }
            'q' => headers = Some(false),
            _ => headers = Some(true),
        }
    }
    inputs::each_input(
        &sys,
        SPEC.name,
        &args.operands,
        headers,
        async || match part {
            Part::Last(n) => last(&sys, Fd::STDIN, unit, n).await,
            Part::From(n) => from(&sys, Fd::STDIN, unit, n).await,
        },
    )
    .await
}

/// Outputs the last `n` units of `fd`.
async fn last(sys: &Sys, fd: Fd, unit: Unit, n: u64) -> Result<(), Failed> {
    if n == 0 {
        // Nothing to show: like GNU tail, do not even read.
        return Ok(());
    }
    let mut window = Window::new(unit, n, MAX_HELD);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let got = sys.read(fd, &mut buf).await.map_err(Failed::Read)?;
        if got == 0 {
            break;
        }
        window.push(&buf[..got]).map_err(Failed::Limit)?;
    }
    for piece in window.tail() {
        sys.write_all(Fd::STDOUT, piece)
            .await
            .map_err(Failed::Write)?;
    }
    Ok(())
}

/// Outputs `fd` from unit `n` on, as it comes.
async fn from(sys: &Sys, fd: Fd, unit: Unit, n: u64) -> Result<(), Failed> {
    let mut skip = n.saturating_sub(1);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let got = sys.read(fd, &mut buf).await.map_err(Failed::Read)?;
        if got == 0 {
            return Ok(());
        }
        let chunk = &buf[..got];
        let start = match unit {
            _ if skip == 0 => 0,
            Unit::Lines => past_newlines(chunk, &mut skip),
            Unit::Bytes => {
                let s = usize::try_from(skip).unwrap_or(usize::MAX).min(got);
                skip -= s as u64;
                s
            }
        };
        if start < got {
            sys.write_all(Fd::STDOUT, &chunk[start..])
                .await
                .map_err(Failed::Write)?;
        }
    }
}

/// The end of a stream, kept in chunks: a chunk is dropped from the front
/// once the chunks after it hold the last `n` units by themselves, so memory
/// stays at about `n` lines (or bytes) plus one chunk, however long the input,
/// and at most `max_held` bytes plus one chunk, however long the lines.
struct Window {
    unit: Unit,
    n: u64,
    /// Chunks, each with its count of units (newlines, or bytes).
    chunks: VecDeque<(Vec<u8>, u64)>,
    /// The sum of the chunks' counts.
    units: u64,
    /// The bytes of the chunks after the front one: all of them are needed.
    needed: usize,
    max_held: usize,
}

impl Window {
    fn new(unit: Unit, n: u64, max_held: usize) -> Window {
        Window {
            unit,
            n,
            chunks: VecDeque::new(),
            units: 0,
            needed: 0,
            max_held,
        }
    }

    fn count(&self, bytes: &[u8]) -> u64 {
        match self.unit {
            Unit::Lines => bytes.iter().filter(|&&b| b == b'\n').count() as u64,
            Unit::Bytes => bytes.len() as u64,
        }
    }

    /// Appends `bytes`, then drops what the last `n` units no longer need.
    ///
    /// # Errors
    /// The message to print when what must be held for the last `n` units
    /// goes over `max_held` bytes.
    fn push(&mut self, bytes: &[u8]) -> Result<(), String> {
        let units = self.count(bytes);
        self.units += units;
        match self.chunks.back_mut() {
            // Small reads (a terminal, a slow writer) merge into one chunk.
            Some((last, count)) if last.len() + bytes.len() <= CHUNK => {
                last.extend_from_slice(bytes);
                *count += units;
                if self.chunks.len() > 1 {
                    self.needed += bytes.len();
                }
            }
            _ => {
                if !self.chunks.is_empty() {
                    self.needed += bytes.len();
                }
                self.chunks.push_back((bytes.to_vec(), units));
            }
        }
        // For lines, the chunks after the front must hold n + 1 newlines:
        // the newline before the first line kept is what proves the front
        // chunk holds none of it.
        let needed = match self.unit {
            Unit::Lines => self.n.saturating_add(1),
            Unit::Bytes => self.n,
        };
        while self.chunks.len() > 1 && self.units - self.chunks[0].1 >= needed {
            let (_, count) = self.chunks.pop_front().expect("more than one chunk");
            self.units -= count;
            self.needed -= self.chunks[0].0.len();
        }
        if self.needed > self.max_held {
            let unit = match self.unit {
                Unit::Lines => "lines",
                Unit::Bytes => "bytes",
            };
            return Err(format!(
                "more than {} bytes to hold for the last {} {unit}",
                self.max_held, self.n
            ));
        }
        Ok(())
    }

    /// The last `n` units, as slices of the chunks.
    fn tail(&self) -> Vec<&[u8]> {
        let ends_open = self
            .chunks
            .back()
            .and_then(|(c, _)| c.last())
            .is_some_and(|&b| b != b'\n');
        // Units in the window: a last line without a newline is a line too.
        let have = match self.unit {
            Unit::Lines => self.units + u64::from(ends_open),
            Unit::Bytes => self.units,
        };
        let mut skip = have.saturating_sub(self.n);
        let mut pieces = Vec::new();
        for (chunk, count) in &self.chunks {
            // A chunk is skipped whole when every unit in it is: for lines,
            // when more newlines remain to skip than it holds (the bytes
            // after its last newline start a line that may be kept).
            let whole = match self.unit {
                Unit::Lines => skip > *count,
                Unit::Bytes => skip > 0 && skip >= *count,
            };
            if whole {
                skip -= count;
                continue;
            }
            let start = match self.unit {
                _ if skip == 0 => 0,
                Unit::Lines => past_newlines(chunk, &mut skip),
                Unit::Bytes => {
                    let s = skip as usize;
                    skip = 0;
                    s
                }
            };
            pieces.push(&chunk[start..]);
        }
        pieces
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run;
    use kernel::testing::Harness;

    fn numbers(range: std::ops::RangeInclusive<usize>) -> String {
        range.map(|i| format!("{i}\n")).collect()
    }

    fn window(unit: Unit, n: u64, pieces: &[&str]) -> String {
        let mut w = Window::new(unit, n, usize::MAX);
        for p in pieces {
            w.push(p.as_bytes()).expect("no limit");
        }
        w.tail().concat().iter().map(|&b| b as char).collect()
    }

    #[test]
    fn the_window_keeps_the_last_lines_across_pieces() {
        assert_eq!(window(Unit::Lines, 2, &["a\nb\nc\n"]), "b\nc\n");
        assert_eq!(window(Unit::Lines, 2, &["a\nb\nc"]), "b\nc");
        assert_eq!(window(Unit::Lines, 5, &["a\nb"]), "a\nb");
        assert_eq!(window(Unit::Lines, 1, &[""]), "");
        assert_eq!(window(Unit::Lines, 1, &["\n\n"]), "\n");
        assert_eq!(window(Unit::Bytes, 3, &["ab", "cd", "e"]), "cde");
        assert_eq!(window(Unit::Bytes, 10, &["ab"]), "ab");
        // The kept line starts in a chunk whose newlines are all skipped.
        let mut w = Window::new(Unit::Lines, 1, usize::MAX);
        w.chunks.push_back((b"a\nbb".to_vec(), 1));
        w.chunks.push_back((b"b\n".to_vec(), 1));
        w.units = 2;
        assert_eq!(w.tail().concat(), b"bbb\n");
    }

    #[test]
    fn the_window_drops_chunks_it_no_longer_needs() {
        let mut w = Window::new(Unit::Lines, 3, usize::MAX);
        let line = "x".repeat(CHUNK - 1) + "\n";
        for _ in 0..100 {
            w.push(line.as_bytes()).expect("no limit");
        }
        assert!(w.chunks.len() <= 5, "{} chunks kept", w.chunks.len());
        assert_eq!(w.tail().concat().len(), 3 * CHUNK);
        // Lines spanning chunk boundaries.
        let mut w = Window::new(Unit::Lines, 2, usize::MAX);
        let long = "y".repeat(CHUNK * 2 + 7);
        for piece in [long.as_str(), "\nshort\n", long.as_str(), "\nend"] {
            for part in piece.as_bytes().chunks(1000) {
                w.push(part).expect("no limit");
            }
        }
        let got = w.tail().concat();
        assert_eq!(got, format!("{long}\nend").into_bytes());
    }

    #[test]
    fn the_window_refuses_to_hold_more_than_its_limit() {
        // Hostile: a last line that never ends.
        let mut w = Window::new(Unit::Lines, 1, 1000);
        let piece = [b'x'; 1000];
        let mut fed = 0;
        let err = loop {
            assert!(fed < 10 * CHUNK, "still holding after {fed} bytes");
            match w.push(&piece) {
                Ok(()) => fed += piece.len(),
                Err(message) => break message,
            }
        };
        assert_eq!(err, "more than 1000 bytes to hold for the last 1 lines");
        let held: usize = w.chunks.iter().map(|(c, _)| c.len()).sum();
        assert!(held <= 1000 + 2 * CHUNK, "{held} bytes held");
        // Lines within the limit are kept as before; bytes too.
        assert_eq!(
            window_at_most(Unit::Lines, 2, 4, &["aaaa\nbb\n", "c\n"]),
            Ok("bb\nc\n".into())
        );
        let mut w = Window::new(Unit::Bytes, 3, 3);
        for _ in 0..100 {
            w.push(&[b'y'; CHUNK]).expect("3 bytes to hold");
        }
        assert_eq!(w.tail().concat(), b"yyy");
        let mut w = Window::new(Unit::Bytes, 5000, 4000);
        w.push(&[b'z'; CHUNK]).expect("one chunk is not counted");
        let err = w.push(&[b'z'; 4001]).expect_err("over the limit");
        assert_eq!(err, "more than 4000 bytes to hold for the last 5000 bytes");
    }

    fn window_at_most(unit: Unit, n: u64, max: usize, pieces: &[&str]) -> Result<String, String> {
        let mut w = Window::new(unit, n, max);
        for p in pieces {
            w.push(p.as_bytes())?;
        }
        Ok(w.tail().concat().iter().map(|&b| b as char).collect())
    }

    #[test]
    fn tail_states_its_limit_in_its_help() {
        let documented = format!("{} MiB at most", MAX_HELD >> 20);
        assert!(SPEC.help.contains(&documented), "--help states the limit");
    }

    #[test]
    fn tail_prints_the_last_ten_lines_by_default() {
        let out = run(&["tail"], &numbers(1..=30));
        assert_eq!((out.status, out.stdout), (Some(0), numbers(21..=30)));
    }

    #[test]
    fn tail_takes_n_plus_n_and_the_shorthand() {
        let input = numbers(1..=30);
        assert_eq!(run(&["tail", "-n", "3"], &input).stdout, numbers(28..=30));
        assert_eq!(run(&["tail", "-3"], &input).stdout, numbers(28..=30));
        assert_eq!(run(&["tail", "-n", "-2"], &input).stdout, numbers(29..=30));
        assert_eq!(run(&["tail", "-n", "+28"], &input).stdout, numbers(28..=30));
        assert_eq!(run(&["tail", "-n", "+1"], &input).stdout, input);
        assert_eq!(run(&["tail", "-n", "+0"], &input).stdout, input);
        assert_eq!(run(&["tail", "-n", "0"], &input).stdout, "");
        assert_eq!(run(&["tail", "-n", "+40"], &input).stdout, "");
    }

    #[test]
    fn tail_takes_bytes() {
        assert_eq!(run(&["tail", "-c", "3"], "hello").stdout, "llo");
        assert_eq!(run(&["tail", "-c", "+2"], "hello").stdout, "ello");
        assert_eq!(run(&["tail", "--bytes=9"], "hello").stdout, "hello");
    }

    #[test]
    fn tail_keeps_up_with_long_input_from_a_pipe() {
        let out =
            Harness::new(crate::registry()).pipeline(&[&["seq", "200000"], &["tail", "-n", "2"]]);
        assert_eq!(out.stdout, "199999\n200000\n");
        assert_eq!(out.statuses, [0, 0]);
    }

    #[test]
    fn tail_rejects_bad_counts() {
        let out = run(&["tail", "-n", "x"], "");
        assert_eq!(out.status, Some(1));
        assert_eq!(
            out.stderr,
            "tail: invalid number of lines: 'x'\nTry 'tail --help' for more information.\n"
        );
        let out = run(&["tail", "-c", "+-1"], "");
        assert_eq!(
            out.stderr.lines().next(),
            Some("tail: invalid number of bytes: '+-1'")
        );
    }

    #[test]
    fn tail_reports_missing_files() {
        let out = run(&["tail", "-n1", "nosuch", "-"], "a\nb\n");
        assert_eq!(out.status, Some(1));
        assert_eq!(out.stdout, "==> standard input <==\nb\n");
        assert_eq!(
            out.stderr,
            "tail: cannot open 'nosuch' for reading: no such file or directory\n"
        );
    }
}
