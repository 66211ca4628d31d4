//! `wc [-clmw] [FILE]...`: count lines, words, characters and bytes of
//! standard input (`-`, or no operand), printed as GNU wc prints them.

use syscalls::{ExitCode, Fd, Sys};

use crate::fail;
use crate::usage::{Opt, Spec};

const SPEC: Spec = Spec::new(
    "wc",
    "Usage: wc [OPTION]... [FILE]...\n\
     Print newline, word, and byte counts for each FILE, and a total line if\n\
     more than one FILE is specified.  A word is a nonempty sequence of\n\
     non white space delimited by white space characters or by start or end of input.\n\
     \n\
     With no FILE, or when FILE is -, read standard input.\n\
     coos has no files yet: any FILE other than - is reported missing.\n\
     \n\
     The options below may be used to select which counts are printed, always in\n\
     the following order: newline, word, character, byte.\n\
     \x20 -c, --bytes            print the byte counts\n\
     \x20 -m, --chars            print the character counts (UTF-8)\n\
     \x20 -l, --lines            print the newline counts\n\
     \x20 -w, --words            print the word counts\n\
     \x20     --help             display this help and exit\n",
    &[
        Opt::flag('c', "bytes"),
        Opt::flag('m', "chars"),
        Opt::flag('l', "lines"),
        Opt::flag('w', "words"),
    ],
);

/// How much one read asks for.
const CHUNK: usize = 64 * 1024;

/// Which counts to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shown {
    lines: bool,
    words: bool,
    chars: bool,
    bytes: bool,
}

impl Shown {
    fn how_many(self) -> usize {
        [self.lines, self.words, self.chars, self.bytes]
            .iter()
            .filter(|&&b| b)
            .count()
    }
}

/// The counts of one input, and what counting needs to carry from one chunk
/// to the next.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    lines: u64,
    words: u64,
    chars: u64,
    bytes: u64,
    /// The last byte seen was part of a word.
    in_word: bool,
}

impl Counts {
    /// Counts `chunk`, which follows what was counted before. A word is a
    /// maximal run of bytes that are not ASCII white space; a character is a
    /// byte that does not continue a UTF-8 sequence.
    fn add(&mut self, chunk: &[u8]) {
        self.bytes += chunk.len() as u64;
        let mut words = 0;
        let mut lines = 0;
        let mut chars = 0;
        let mut in_word = self.in_word;
        for &b in chunk {
            let space = matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
            words += u64::from(!space && !in_word);
            in_word = !space;
            lines += u64::from(b == b'\n');
            chars += u64::from(b & 0xc0 != 0x80);
        }
        self.in_word = in_word;
        self.words += words;
        self.lines += lines;
        self.chars += chars;
    }

    fn plus(self, other: Counts) -> Counts {
        Counts {
            lines: self.lines + other.lines,
            words: self.words + other.words,
            chars: self.chars + other.chars,
            bytes: self.bytes + other.bytes,
            in_word: false,
        }
    }
}

/// One line of output: the chosen counts right-aligned in `width`, one
/// space apart, then the name if there is one.
fn format_line(counts: &Counts, shown: Shown, width: usize, name: Option<&str>) -> String {
    let fields = [
        (shown.lines, counts.lines),
        (shown.words, counts.words),
        (shown.chars, counts.chars),
        (shown.bytes, counts.bytes),
    ];
    let mut line = String::new();
    for (_, n) in fields.iter().filter(|(on, _)| *on) {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&format!("{n:>width$}"));
    }
    if let Some(name) = name {
        line.push(' ');
        line.push_str(name);
    }
    line.push('\n');
    line
}

/// The column width GNU wc picks when its inputs are not regular files
/// (pipes): 1 for a single count of a single input, and when no input can
/// be read (all are missing); otherwise 7.
fn width(inputs: usize, shown: Shown, any_read: bool) -> usize {
    if (inputs <= 1 && shown.how_many() == 1) || !any_read {
        1
    } else {
        7
    }
}

/// Counts each input and prints the counts, then a total for several inputs.
/// Status 1 if an operand was missing or a read failed.
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    let args = match SPEC.parse(&sys, &args).await {
        Ok(args) => args,
        Err(status) => return status,
    };
    let mut shown = Shown {
        lines: false,
        words: false,
        chars: false,
        bytes: false,
    };
    for (opt, _) in &args.opts {
        match opt {
            'l' => shown.lines = true,
            'w' => shown.words = true,
            'm' => shown.chars = true,
            _ => shown.bytes = true,
        }
    }
    if shown.how_many() == 0 {
        shown = Shown {
            lines: true,
            words: true,
            chars: false,
            bytes: true,
        };
    }
    let named = !args.operands.is_empty();
    let operands = if named {
        args.operands
    } else {
        vec!["-".to_string()]
    };
    let any_read = operands.iter().any(|o| o == "-");
    let width = width(operands.len(), shown, any_read);

    let mut status = 0;
    let mut total = Counts::default();
    let mut buf = vec![0u8; CHUNK];
    for name in &operands {
        if name != "-" {
            fail::no_such_file(&sys, SPEC.name, name).await;
            status = fail::FAILURE;
            continue;
        }
        let counts = match count(&sys, Fd::STDIN, &mut buf).await {
            Ok(counts) => counts,
            Err(errno) => {
                fail::error(&sys, SPEC.name, format_args!("-: {errno}")).await;
                status = fail::FAILURE;
                continue;
            }
        };
        total = total.plus(counts);
        let line = format_line(&counts, shown, width, named.then_some(name.as_str()));
        if let Err(errno) = sys.print(&line).await {
            return fail::write_error(&sys, SPEC.name, errno).await;
        }
    }
    if operands.len() > 1 {
        let line = format_line(&total, shown, width, Some("total"));
        if let Err(errno) = sys.print(&line).await {
            return fail::write_error(&sys, SPEC.name, errno).await;
        }
    }
    status
}

/// Counts `fd` to end-of-file.
async fn count(sys: &Sys, fd: Fd, buf: &mut [u8]) -> syscalls::SysResult<Counts> {
    let mut counts = Counts::default();
    loop {
        let n = sys.read(fd, buf).await?;
        if n == 0 {
            return Ok(counts);
        }
        counts.add(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run;

    fn counted(pieces: &[&str]) -> (u64, u64, u64, u64) {
        let mut c = Counts::default();
        for p in pieces {
            c.add(p.as_bytes());
        }
        (c.lines, c.words, c.chars, c.bytes)
    }

    #[test]
    fn counting_follows_words_across_chunks() {
        assert_eq!(counted(&[""]), (0, 0, 0, 0));
        assert_eq!(counted(&["hello world\n"]), (1, 2, 12, 12));
        assert_eq!(counted(&["hel", "lo wo", "rld"]), (0, 2, 11, 11));
        assert_eq!(counted(&["  a\t\tb \n\n c\r\x0bd\x0c"]), (2, 4, 15, 15));
        assert_eq!(counted(&["héllo\n"]), (1, 1, 6, 7));
    }

    #[test]
    fn one_count_of_stdin_prints_just_the_number() {
        let out = run(&["wc", "-l"], "1\n2\n3\n4\n5\n");
        assert_eq!((out.status, out.stdout.as_str()), (Some(0), "5\n"));
        assert_eq!(run(&["wc", "-w"], "a b c").stdout, "3\n");
        assert_eq!(run(&["wc", "-c"], "").stdout, "0\n");
    }

    #[test]
    fn several_counts_are_columns_of_width_seven() {
        let out = run(&["wc"], "hello world\nbye\n");
        assert_eq!(out.stdout, "      2       3      16\n");
        assert_eq!(run(&["wc", "-lw"], "a b\n").stdout, "      1       2\n");
        assert_eq!(
            run(&["wc", "-c", "-l"], "a b\n").stdout,
            "      1       4\n"
        );
        assert_eq!(
            run(&["wc", "-m", "--bytes"], "é\n").stdout,
            "      2       3\n"
        );
    }

    #[test]
    fn named_inputs_get_names_and_a_total() {
        let out = run(&["wc", "-l", "-"], "a\nb\n");
        assert_eq!(out.stdout, "2 -\n");
        let out = run(&["wc", "-", "nosuch"], "a\n");
        assert_eq!(out.status, Some(1));
        assert_eq!(
            out.stdout,
            "      1       1       2 -\n      1       1       2 total\n"
        );
        assert_eq!(out.stderr, "wc: nosuch: no such file or directory\n");
        // A missing input does not narrow the columns (GNU wc 9.1), wherever
        // it comes; only inputs all missing do.
        let out = run(&["wc", "-l", "nosuch", "-"], "a\n");
        assert_eq!(out.stdout, "      1 -\n      1 total\n");
        let out = run(&["wc", "-l", "nosuch", "other"], "a\n");
        assert_eq!(out.stdout, "0 total\n");
    }

    #[test]
    fn bad_options_get_the_usage_error() {
        let out = run(&["wc", "-z"], "");
        assert_eq!(out.status, Some(1));
        assert_eq!(out.stdout, "");
        assert_eq!(
            out.stderr,
            "wc: invalid option -- 'z'\nTry 'wc --help' for more information.\n"
        );
    }
}
