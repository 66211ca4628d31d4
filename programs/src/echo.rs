//! `echo [-neE] [STRING]...`: display a line of text.

use syscalls::{ExitCode, Sys};

use crate::fail;
use crate::usage::Spec;

const SPEC: Spec = Spec::new(
    "echo",
    "Usage: echo [SHORT-OPTION]... [STRING]...\n\
     Echo the STRING(s) to standard output.\n\
     \n\
     \x20 -n             do not output the trailing newline\n\
     \x20 -e             enable interpretation of backslash escapes\n\
     \x20 -E             disable interpretation of backslash escapes (default)\n\
     \x20     --help     display this help and exit\n\
     \n\
     If -e is in effect, the following sequences are recognized:\n\
     \n\
     \x20 \\\\      backslash\n\
     \x20 \\a      alert (BEL)\n\
     \x20 \\b      backspace\n\
     \x20 \\c      produce no further output\n\
     \x20 \\e      escape\n\
     \x20 \\f      form feed\n\
     \x20 \\n      new line\n\
     \x20 \\r      carriage return\n\
     \x20 \\t      horizontal tab\n\
     \x20 \\v      vertical tab\n\
     \x20 \\0NNN   byte with octal value NNN (1 to 3 digits)\n\
     \x20 \\xHH    byte with hexadecimal value HH (1 to 2 digits)\n",
    &[],
);

/// Writes the arguments, separated by spaces, in one write. Like GNU echo,
/// it takes options only while the arguments look like `-neE` clusters, and
/// `--help` only as the sole argument; anything else is text.
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    if args.len() == 2 && args[1] == "--help" {
        return SPEC.help(&sys).await;
    }
    let text = render(&args[1..]);
    match sys.write_all(syscalls::Fd::STDOUT, &text).await {
        Ok(()) => 0,
        Err(errno) => fail::write_error(&sys, SPEC.name, errno).await,
    }
}

/// What `echo` prints for these arguments (its name excluded).
fn render(args: &[String]) -> Vec<u8> {
    let mut newline = true;
    let mut escapes = false;
    let mut words = args;
    while let Some(flags) = words.first().and_then(|w| w.strip_prefix('-')) {
        if flags.is_empty() || !flags.chars().all(|c| matches!(c, 'n' | 'e' | 'E')) {
            break;
        }
        for c in flags.chars() {
            match c {
                'n' => newline = false,
                'e' => escapes = true,
                _ => escapes = false,
            }
        }
        words = &words[1..];
    }
    let mut out = Vec::new();
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        if !escapes {
            out.extend_from_slice(word.as_bytes());
        } else if unescape(word.as_bytes(), &mut out).is_break() {
            // `\c`: nothing more, not even the newline.
            return out;
        }
    }
    if newline {
        out.push(b'\n');
    }
    out
}

/// Appends `word` with its backslash escapes decoded; `Break` at `\c`.
fn unescape(word: &[u8], out: &mut Vec<u8>) -> std::ops::ControlFlow<()> {
    let mut i = 0;
    while i < word.len() {
        let b = word[i];
        i += 1;
        if b != b'\\' || i == word.len() {
            out.push(b);
            continue;
        }
        let c = word[i];
        i += 1;
        let byte = match c {
            b'\\' => b'\\',
            b'a' => 0x07,
            b'b' => 0x08,
            b'c' => return std::ops::ControlFlow::Break(()),
            b'e' => 0x1b,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'v' => 0x0b,
            b'0' => digits(word, &mut i, 3, 8),
            b'x' if word.get(i).is_some_and(u8::is_ascii_hexdigit) => digits(word, &mut i, 2, 16),
            other => {
                // Not an escape: the backslash stays.
                out.push(b'\\');
                other
            }
        };
        out.push(byte);
    }
    std::ops::ControlFlow::Continue(())
}

/// Reads up to `max` digits in `radix` at `word[*i..]` as one byte value.
fn digits(word: &[u8], i: &mut usize, max: usize, radix: u32) -> u8 {
    let mut value: u32 = 0;
    for _ in 0..max {
        let Some(d) = word.get(*i).and_then(|&b| char::from(b).to_digit(radix)) else {
            break;
        };
        value = value * radix + d;
        *i += 1;
    }
    // `\0777` wraps as in GNU echo (it stores the value in a char).
    value as u8
}

#[cfg(test)]
mod tests {
    use super::render;
    use crate::run;
    use kernel::testing::Harness;

    fn echo(args: &[&str]) -> String {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        String::from_utf8(render(&args)).unwrap()
    }

    #[test]
    fn words_are_joined_by_spaces_and_end_in_a_newline() {
        assert_eq!(echo(&["hello", "world"]), "hello world\n");
        assert_eq!(echo(&[]), "\n");
        assert_eq!(echo(&["-n", "a", "b"]), "a b");
    }

    #[test]
    fn only_leading_option_clusters_are_options() {
        assert_eq!(echo(&["-nx", "a"]), "-nx a\n");
        assert_eq!(echo(&["-", "a"]), "- a\n");
        assert_eq!(echo(&["--", "a"]), "-- a\n");
        assert_eq!(echo(&["a", "-n"]), "a -n\n");
        assert_eq!(echo(&["-n", "-e", "a"]), "a");
    }

    #[test]
    fn escapes_are_decoded_with_dash_e_only() {
        assert_eq!(echo(&["a\\tb"]), "a\\tb\n");
        assert_eq!(echo(&["-e", "a\\tb\\\\c\\n"]), "a\tb\\c\n\n");
        assert_eq!(echo(&["-e", "\\0101\\x42\\x\\q"]), "AB\\x\\q\n");
        assert_eq!(echo(&["-e", "a\\cb", "c"]), "a");
        assert_eq!(echo(&["-e", "end\\"]), "end\\\n");
        assert_eq!(echo(&["-eE", "a\\tb"]), "a\\tb\n");
    }

    #[test]
    fn echo_writes_once_and_reports_a_broken_pipe() {
        let out = run(&["echo", "hi", "there"], "");
        assert_eq!((out.status, out.stdout.as_str()), (Some(0), "hi there\n"));
        assert_eq!(out.stdout_writes, 1);
        let out = Harness::new(crate::registry())
            .stdout_closes_after(0)
            .run(&["echo", "hi"]);
        assert_eq!(out.status, Some(1));
        assert_eq!(out.stderr, "echo: write error: broken pipe\n");
    }
}
