//! `head [-n N | -c N | -N] [-qv] [FILE]...`: output the first lines (or
//! bytes) of standard input (`-`, or no operand), then stop reading.

use syscalls::{ExitCode, Fd, Sys};

use crate::fail::Failed;
use crate::inputs;
use crate::lines::past_newlines;
use crate::usage::{parse_count, Numbers, Opt, Spec};

const SPEC: Spec = Spec {
    numbers: Numbers::Option('n'),
    ..Spec::new(
        "head",
        "Usage: head [OPTION]... [FILE]...\n\
         Print the first 10 lines of each FILE to standard output.\n\
         With more than one FILE, precede each with a header giving the file name.\n\
         \n\
         With no FILE, or when FILE is -, read standard input.\n\
         coos has no files yet: any FILE other than - is reported missing.\n\
         \n\
         \x20 -c, --bytes=NUM         print the first NUM bytes of each file\n\
         \x20 -n, --lines=NUM         print the first NUM lines instead of the first 10\n\
         \x20 -NUM                    same as -n NUM\n\
         \x20 -q, --quiet, --silent   never print headers giving file names\n\
         \x20 -v, --verbose           always print headers giving file names\n\
         \x20     --help              display this help and exit\n\
         \n\
         NUM may have a multiplier suffix:\n\
         b 512, kB 1000, K 1024, MB 1000*1000, M 1024*1024,\n\
         GB 1000*1000*1000, G 1024*1024*1024, and so on for T, P, E.\n",
        &[
            Opt::value('c', "bytes"),
            Opt::value('n', "lines"),
            Opt::flag('q', "quiet"),
            Opt::flag('q', "silent"),
            Opt::flag('v', "verbose"),
        ],
    )
};

/// How much one read asks for.
const CHUNK: usize = 64 * 1024;

/// What to keep of each input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Amount {
    Lines(u64),
    Bytes(u64),
}

/// Copies the first lines or bytes of each input; status 1 if an operand
/// was missing or a read failed.
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    let args = match SPEC.parse(&sys, &args).await {
        Ok(args) => args,
        Err(status) => return status,
    };
    let mut amount = Amount::Lines(10);
    let mut headers = None;
    for (opt, value) in &args.opts {
        match opt {
            'n' => match parse_count(value) {
                Some(n) => amount = Amount::Lines(n),
                None => {
                    return SPEC
                        .fail(&sys, format_args!("invalid number of lines: '{value}'"))
                        .await
                }
            },
            'c' => match parse_count(value) {
                Some(n) => amount = Amount::Bytes(n),
                None => {
                    return SPEC
                        .fail(&sys, format_args!("invalid number of bytes: '{value}'"))
                        .await
                }
            },
            'q' => headers = Some(false),
            _ => headers = Some(true),
        }
    }
    let mut buf = vec![0u8; CHUNK];
    inputs::each_input(&sys, SPEC.name, &args.operands, headers, async || {
        head(&sys, Fd::STDIN, amount, &mut buf).await
    })
    .await
}

/// Copies the first `amount` of `fd` to standard output, reading no more
/// than the chunk that holds its end.
async fn head(sys: &Sys, fd: Fd, amount: Amount, buf: &mut [u8]) -> Result<(), Failed> {
    let mut left = match amount {
        Amount::Lines(n) | Amount::Bytes(n) => n,
    };
    while left > 0 {
        let n = sys.read(fd, buf).await.map_err(Failed::Read)?;
        if n == 0 {
            break;
        }
        let keep = match amount {
            Amount::Lines(_) => past_newlines(&buf[..n], &mut left),
            Amount::Bytes(_) => {
                let keep = n.min(usize::try_from(left).unwrap_or(usize::MAX));
                left -= keep as u64;
                keep
            }
        };
        sys.write_all(Fd::STDOUT, &buf[..keep])
            .await
            .map_err(Failed::Write)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::run;
    use kernel::testing::Harness;

    fn numbers(n: usize) -> String {
        (1..=n).map(|i| format!("{i}\n")).collect()
    }

    #[test]
    fn head_prints_ten_lines_by_default() {
        let out = run(&["head"], &numbers(20));
        assert_eq!((out.status, out.stdout), (Some(0), numbers(10)));
    }

    #[test]
    fn head_takes_n_and_the_dash_number_shorthand() {
        assert_eq!(run(&["head", "-n", "3"], &numbers(20)).stdout, numbers(3));
        assert_eq!(run(&["head", "-n3"], &numbers(20)).stdout, numbers(3));
        assert_eq!(run(&["head", "--lines=4"], &numbers(20)).stdout, numbers(4));
        assert_eq!(run(&["head", "-2"], &numbers(20)).stdout, numbers(2));
        assert_eq!(run(&["head", "-n", "0"], &numbers(20)).stdout, "");
        assert_eq!(run(&["head", "-n", "50"], "a\nb").stdout, "a\nb");
    }

    #[test]
    fn head_takes_bytes() {
        assert_eq!(run(&["head", "-c", "5"], "hello world").stdout, "hello");
        assert_eq!(
            run(&["head", "-c", "1K"], &"x".repeat(5000)).stdout.len(),
            1024
        );
    }

    #[test]
    fn head_stops_reading_once_done() {
        // yes never ends by itself: only head leaving ends it.
        let out = Harness::new(crate::registry()).pipeline(&[&["yes"], &["head", "-n", "2"]]);
        assert_eq!(out.stdout, "y\ny\n");
        assert_eq!(out.statuses, [0, 0]);
    }

    #[test]
    fn head_rejects_bad_counts() {
        let out = run(&["head", "-n", "x"], "");
        assert_eq!(out.status, Some(1));
        assert_eq!(
            out.stderr,
            "head: invalid number of lines: 'x'\nTry 'head --help' for more information.\n"
        );
        let out = run(&["head", "-c", "-1"], "");
        assert_eq!(
            out.stderr.lines().next(),
            Some("head: invalid number of bytes: '-1'")
        );
    }

    #[test]
    fn head_reports_a_broken_pipe() {
        for argv in [&["head"][..], &["head", "-v"]] {
            let out = Harness::new(crate::registry())
                .stdin("a\n")
                .stdout_closes_after(0)
                .run(argv);
            assert_eq!(out.status, Some(1), "{argv:?}");
            assert_eq!(out.stderr, "head: write error: broken pipe\n", "{argv:?}");
        }
    }

    #[test]
    fn head_prints_headers_for_several_inputs() {
        let out = run(&["head", "-n1", "-", "nosuch", "-"], "a\nb\n");
        assert_eq!(out.status, Some(1));
        // The first read took all of the pipe's bytes, as it does in GNU head.
        assert_eq!(
            out.stdout,
            "==> standard input <==\na\n\n==> standard input <==\n"
        );
        assert_eq!(
            out.stderr,
            "head: cannot open 'nosuch' for reading: no such file or directory\n"
        );
        assert_eq!(
            run(&["head", "-v", "-n1"], "a\n").stdout,
            "==> standard input <==\na\n"
        );
    }
}
