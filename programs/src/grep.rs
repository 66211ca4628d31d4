//! `grep [-cFhHinqsv] [-m NUM] [-e PATTERNS | PATTERNS] [FILE]...`: print
//! the lines of standard input (`-`, or no operand) that contain one of
//! PATTERNS, which are fixed strings, one per line (as with `grep -F`).
//! Status 0 if a line was selected, 1 if none, 2 on error.

use syscalls::{ExitCode, Fd, Sys};

use crate::fail::{self, Failed};
use crate::lines::{LineError, LineReader};
use crate::output::Output;
use crate::usage::{Opt, Spec};

const SPEC: Spec = Spec {
    status: ERROR,
    ..Spec::new(
        "grep",
        "Usage: grep [OPTION]... PATTERNS [FILE]...\n\
         Search for PATTERNS in each FILE.\n\
         PATTERNS are fixed strings (coos has no regular expressions yet),\n\
         separated by newlines; a line is selected if it contains any of them.\n\
         Example: grep -i 'hello world' -\n\
         \n\
         Pattern selection and interpretation:\n\
         \x20 -F, --fixed-strings     PATTERNS are strings (always the case here)\n\
         \x20 -e, --regexp=PATTERNS   use PATTERNS for matching\n\
         \x20 -i, --ignore-case       ignore case distinctions (ASCII letters)\n\
         \n\
         Miscellaneous:\n\
         \x20 -s, --no-messages       suppress error messages about missing files\n\
         \x20 -v, --invert-match      select non-matching lines\n\
         \x20     --help              display this help text and exit\n\
         \n\
         Output control:\n\
         \x20 -m, --max-count=NUM     stop after NUM selected lines\n\
         \x20 -n, --line-number       print line number with output lines\n\
         \x20 -H, --with-filename     print file name with output lines\n\
         \x20 -h, --no-filename       suppress the file name prefix on output\n\
         \x20 -q, --quiet, --silent   suppress all normal output\n\
         \x20 -c, --count             print only a count of selected lines per FILE\n\
         \n\
         When FILE is '-', read standard input.  With no FILE, read '-'.\n\
         coos has no files yet: any FILE other than - is reported missing.\n\
         With fewer than two FILEs, assume -h.\n\
         A line longer than 16 MiB is an error: it ends the search of its FILE.\n\
         Exit status is 0 if any line is selected, 1 otherwise;\n\
         if any error occurs and -q is not given, the exit status is 2.\n",
        &[
            Opt::flag('c', "count"),
            Opt::value('e', "regexp"),
            Opt::flag('F', "fixed-strings"),
            Opt::flag('h', "no-filename"),
            Opt::flag('H', "with-filename"),
            Opt::flag('i', "ignore-case"),
            Opt::value('m', "max-count"),
            Opt::flag('n', "line-number"),
            Opt::flag('q', "quiet"),
            Opt::flag('q', "silent"),
            Opt::flag('s', "no-messages"),
            Opt::flag('v', "invert-match"),
        ],
    )
};

/// Status: some line was selected.
const FOUND: ExitCode = 0;
/// Status: no line was selected.
const NOT_FOUND: ExitCode = 1;
/// Status: trouble (bad usage, missing input, failed I/O).
const ERROR: ExitCode = 2;

/// How lines are chosen and shown.
#[derive(Debug, Default)]
struct Options {
    invert: bool,
    count: bool,
    line_numbers: bool,
    quiet: bool,
    no_messages: bool,
    with_filename: Option<bool>,
    max_count: Option<u64>,
}

/// The fixed strings a line is searched for.
struct Matcher {
    patterns: Vec<Vec<u8>>,
    ignore_case: bool,
    /// Where a line is lowercased for `-i`.
    folded: Vec<u8>,
}

impl Matcher {
    fn new(patterns: &[String], ignore_case: bool) -> Matcher {
        let patterns = patterns
            .iter()
            .flat_map(|p| p.split('\n'))
            .map(|p| {
                let bytes = p.as_bytes();
                if ignore_case {
                    bytes.to_ascii_lowercase()
                } else {
                    bytes.to_vec()
                }
            })
            .collect();
        Matcher {
            patterns,
            ignore_case,
            folded: Vec::new(),
        }
    }

    /// Whether `line` (without its newline) contains a pattern.
    fn matches(&mut self, line: &[u8]) -> bool {
        let line = if self.ignore_case {
            self.folded.clear();
            self.folded.extend(line.iter().map(u8::to_ascii_lowercase));
            &self.folded[..]
        } else {
            line
        };
        self.patterns.iter().any(|p| contains(line, p))
    }
}

/// Whether `needle` occurs in `haystack`: scan for its first byte, then
/// compare.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    if haystack.len() < needle.len() {
        return false;
    }
    let last_start = haystack.len() - needle.len();
    let mut from = 0;
    while let Some(at) = haystack[from..=last_start].iter().position(|&b| b == first) {
        let start = from + at;
        if haystack[start + 1..].starts_with(rest) {
            return true;
        }
        from = start + 1;
    }
    false
}

/// Searches each input; see the module docs for the status.
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    let args = match SPEC.parse(&sys, &args).await {
        Ok(args) => args,
        Err(status) => return status,
    };
    let mut options = Options::default();
    let mut patterns = Vec::new();
    let mut ignore_case = false;
    for (opt, value) in args.opts {
        match opt {
            'c' => options.count = true,
            'e' => patterns.push(value),
            'h' => options.with_filename = Some(false),
            'H' => options.with_filename = Some(true),
            'i' => ignore_case = true,
            'm' => match value.parse::<u64>() {
                Ok(n) => options.max_count = Some(n),
                Err(_) => {
                    return SPEC
                        .fail(&sys, format_args!("invalid max count: '{value}'"))
                        .await
                }
            },
            'n' => options.line_numbers = true,
            'q' => options.quiet = true,
            's' => options.no_messages = true,
            'v' => options.invert = true,
            _ => {} // -F: patterns are always fixed strings.
        }
    }
    let mut operands = args.operands.into_iter();
    if patterns.is_empty() {
        match operands.next() {
            Some(p) => patterns.push(p),
            None => {
                let usage = "Usage: grep [OPTION]... PATTERNS [FILE]...\n\
                             Try 'grep --help' for more information.\n";
                let _ = sys.eprint(usage).await;
                return ERROR;
            }
        }
    }
    let mut inputs: Vec<String> = operands.collect();
    if inputs.is_empty() {
        inputs.push("-".into());
    }
    let with_filename = options.with_filename.unwrap_or(inputs.len() > 1);
    let mut matcher = Matcher::new(&patterns, ignore_case);
    let mut out = Output::stdout(&sys);
    let mut selected_any = false;
    let mut trouble = false;

    for name in &inputs {
        if name != "-" {
            if !options.no_messages {
                fail::no_such_file(&sys, SPEC.name, name).await;
            }
            trouble = true;
            continue;
        }
        let label = with_filename.then_some("(standard input)");
        let mut reader = LineReader::new(&sys, Fd::STDIN);
        match search(&mut reader, label, &options, &mut matcher, &mut out).await {
            Ok(selected) => {
                selected_any |= selected > 0;
                if options.quiet && selected > 0 {
                    return FOUND;
                }
            }
            Err(Failed::Write(errno)) => {
                fail::write_error(&sys, SPEC.name, errno).await;
                return ERROR;
            }
            Err(failed) => {
                fail::error(&sys, SPEC.name, format_args!("(standard input): {failed}")).await;
                trouble = true;
            }
        }
    }
    if trouble {
        ERROR
    } else if selected_any {
        FOUND
    } else {
        NOT_FOUND
    }
}

/// Searches what `reader` reads, printing what `options` ask for; returns
/// how many lines were selected. Output is flushed before each read, so
/// matches show up as soon as their line is typed. A line over the reader's
/// limit ends the search (`Failed::Limit`): what was selected before it has
/// been printed.
async fn search(
    reader: &mut LineReader,
    label: Option<&str>,
    options: &Options,
    matcher: &mut Matcher,
    out: &mut Output,
) -> Result<u64, Failed> {
    let max = options.max_count.unwrap_or(u64::MAX);
    let print_lines = !options.count && !options.quiet;
    let mut number: u64 = 0;
    let mut selected: u64 = 0;
    let mut at_end = false;
    'input: while selected < max {
        while let Some(line) = reader.buffered_line() {
            number += 1;
            let text = line.strip_suffix(b"\n").unwrap_or(line);
            if matcher.matches(text) == options.invert {
                continue;
            }
            selected += 1;
            if options.quiet {
                return Ok(selected);
            }
            if print_lines {
                let buf = out.buffer();
                if let Some(label) = label {
                    buf.extend_from_slice(label.as_bytes());
                    buf.push(b':');
                }
                if options.line_numbers {
                    buf.extend_from_slice(number.to_string().as_bytes());
                    buf.push(b':');
                }
                buf.extend_from_slice(text);
                buf.push(b'\n');
                out.flush_if_full().await.map_err(Failed::Write)?;
            }
            if selected == max {
                break 'input;
            }
        }
        if at_end {
            break;
        }
        out.flush().await.map_err(Failed::Write)?;
        // At end-of-file, a last line without newline is still to come.
        at_end = !reader.fill().await.map_err(|e| match e {
            LineError::Read(errno) => Failed::Read(errno),
            LineError::TooLong(too_long) => Failed::Limit(too_long.to_string()),
        })?;
    }
    if options.count {
        let line = match label {
            Some(label) => format!("{label}:{selected}\n"),
            None => format!("{selected}\n"),
        };
        out.write(line.as_bytes()).await.map_err(Failed::Write)?;
    }
    out.flush().await.map_err(Failed::Write)?;
    Ok(selected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run;
    use kernel::testing::Harness;

    #[test]
    fn contains_finds_fixed_strings() {
        assert!(contains(b"hello world", b"o w"));
        assert!(contains(b"hello", b""));
        assert!(contains(b"aaab", b"aab"));
        assert!(contains(b"ab", b"ab"));
        assert!(!contains(b"ab", b"abc"));
        assert!(!contains(b"hello", b"hex"));
        assert!(!contains(b"", b"x"));
    }

    #[test]
    fn matcher_takes_several_patterns_and_ignores_case() {
        let mut m = Matcher::new(&["foo\nBAR".into()], true);
        assert!(m.matches(b"a Foo"));
        assert!(m.matches(b"bar!"));
        assert!(!m.matches(b"baz"));
        let mut m = Matcher::new(&["Foo".into()], false);
        assert!(!m.matches(b"foo"));
    }

    const TEXT: &str = "apple\nbanana\ncherry\napricot";

    #[test]
    fn grep_prints_matching_lines_and_says_so_in_its_status() {
        let out = run(&["grep", "ap"], TEXT);
        assert_eq!(
            (out.status, out.stdout.as_str()),
            (Some(0), "apple\napricot\n")
        );
        let out = run(&["grep", "kiwi"], TEXT);
        assert_eq!((out.status, out.stdout.as_str()), (Some(1), ""));
    }

    #[test]
    fn grep_options_invert_count_number_ignore_case() {
        assert_eq!(
            run(&["grep", "-v", "an"], TEXT).stdout,
            "apple\ncherry\napricot\n"
        );
        assert_eq!(run(&["grep", "-c", "a"], TEXT).stdout, "3\n");
        assert_eq!(run(&["grep", "-vc", "a"], TEXT).stdout, "1\n");
        assert_eq!(
            run(&["grep", "-n", "r"], TEXT).stdout,
            "3:cherry\n4:apricot\n"
        );
        assert_eq!(run(&["grep", "-i", "APPLE"], TEXT).stdout, "apple\n");
        assert_eq!(run(&["grep", "-m", "1", "a"], TEXT).stdout, "apple\n");
        assert_eq!(
            run(&["grep", "-e", "cherry", "-e", "banana"], TEXT).stdout,
            "banana\ncherry\n"
        );
        assert_eq!(run(&["grep", "-e", "-v"], "a\n-v\n").stdout, "-v\n");
        assert_eq!(run(&["grep", "-c", "kiwi"], TEXT).status, Some(1));
        let out = run(&["grep", "-q", "an"], TEXT);
        assert_eq!((out.status, out.stdout.as_str()), (Some(0), ""));
    }

    #[test]
    fn grep_names_inputs_when_there_are_several() {
        let out = run(&["grep", "-n", "an", "-", "nosuch"], TEXT);
        assert_eq!(out.status, Some(2));
        assert_eq!(out.stdout, "(standard input):2:banana\n");
        assert_eq!(out.stderr, "grep: nosuch: no such file or directory\n");
        let out = run(&["grep", "-s", "an", "nosuch"], TEXT);
        assert_eq!((out.status, out.stderr.as_str()), (Some(2), ""));
        let out = run(&["grep", "-Hc", "an"], TEXT);
        assert_eq!(out.stdout, "(standard input):1\n");
    }

    #[test]
    fn grep_usage_errors_exit_2() {
        let out = run(&["grep"], "");
        assert_eq!(out.status, Some(2));
        assert_eq!(
            out.stderr,
            "Usage: grep [OPTION]... PATTERNS [FILE]...\nTry 'grep --help' for more information.\n"
        );
        let out = run(&["grep", "-E", "x"], "");
        assert_eq!(out.status, Some(2));
        assert_eq!(
            out.stderr,
            "grep: invalid option -- 'E'\nTry 'grep --help' for more information.\n"
        );
    }

    #[test]
    fn grep_filters_a_pipeline() {
        let out =
            Harness::new(crate::registry()).pipeline(&[&["seq", "100000"], &["grep", "-c", "99"]]);
        // Numbers 1..=100000 that contain "99": counted independently.
        let expected = (1..=100_000)
            .filter(|n| n.to_string().contains("99"))
            .count();
        assert_eq!(out.stdout, format!("{expected}\n"));
        assert_eq!(out.statuses, [0, 0]);
    }

    #[test]
    fn grep_stops_at_a_line_over_the_limit_and_says_so() {
        // Hostile: a line longer than the reader takes, after two that fit.
        let input = format!("a1\nb\n{}\na2\n", "a".repeat(100));
        let out = Harness::new(crate::registry())
            .stdin(input)
            .run_fn(|sys| async move {
                let mut reader = LineReader::with_max_line(&sys, Fd::STDIN, 50);
                let mut matcher = Matcher::new(&["a".to_string()], false);
                let mut out = Output::stdout(&sys);
                let options = Options::default();
                let searched = search(&mut reader, None, &options, &mut matcher, &mut out).await;
                let message = match searched {
                    Err(Failed::Limit(message)) => message,
                    other => format!("{other:?}"),
                };
                let _ = sys.eprint(&message).await;
                0
            });
        assert_eq!(out.stdout, "a1\n", "the lines before it are printed");
        assert_eq!(out.stderr, "a line is longer than 50 bytes");
        let documented = format!("longer than {} MiB", LineReader::MAX_LINE >> 20);
        assert!(SPEC.help.contains(&documented), "--help states the limit");
    }

    #[test]
    fn grep_reports_a_broken_pipe_with_status_2() {
        let out = Harness::new(crate::registry())
            .stdin("a\n".repeat(100_000))
            .stdout_closes_after(10)
            .run(&["grep", "a"]);
        assert_eq!(out.status, Some(2));
        assert_eq!(out.stderr, "grep: write error: broken pipe\n");
    }
}
