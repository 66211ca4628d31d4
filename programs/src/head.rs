//! `head [-n N | -c N | -N] [-qv] [FILE]...`: output the first lines (or
//! bytes) of standard input (`-`, or no operand), then stop reading.

use syscalls::{Errno, ExitCode, Fd, Sys};

use crate::fail;
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
    let mut operands = args.operands;
    if operands.is_empty() {
        operands.push("-".into());
    }
    let headers = headers.unwrap_or(operands.len() > 1);

    let mut status = 0;
    let mut first = true;
    let mut buf = vec![0u8; CHUNK];
    for name in &operands {
        if name != "-" {
            fail::error(
                &sys,
                SPEC.name,
                format_args!("cannot open '{name}' for reading: {}", Errno::ENOENT),
            )
            .await;
            status = fail::FAILURE;
            continue;
        }
        if headers {
            let header = format!("{}==> standard input <==\n", if first { "" } else { "\n" });
            if let Err(errno) = sys.print(&header).await {
                return fail::write_error(&sys, SPEC.name, errno).await;
            }
        }
        first = false;
        match head(&sys, Fd::STDIN, amount, &mut buf).await {
            Ok(()) => {}
            Err(Failed::Read(errno)) => {
                fail::error(
                    &sys,
                    SPEC.name,
                    format_args!("error reading 'standard input': {errno}"),
                )
                .await;
                status = fail::FAILURE;
            }
            Err(Failed::Write(errno)) => return fail::write_error(&sys, SPEC.name, errno).await,
        }
    }
    status
}

/// Which side of a copy failed.
enum Failed {
    Read(Errno),
    Write(Errno),
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
            Amount::Lines(_) => take_lines(&buf[..n], &mut left),
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

/// How much of `chunk` the next `*lines` lines take; counts them off.
fn take_lines(chunk: &[u8], lines: &mut u64) -> usize {
    for (at, _) in chunk.iter().enumerate().filter(|(_, &b)| b == b'\n') {
        *lines -= 1;
        if *lines == 0 {
            return at + 1;
        }
    }
    chunk.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run;
    use kernel::testing::Harness;

    fn numbers(n: usize) -> String {
        (1..=n).map(|i| format!("{i}\n")).collect()
    }

    #[test]
    fn take_lines_stops_after_the_last_newline_wanted() {
        let mut left = 2;
        assert_eq!(take_lines(b"a\nb\nc\n", &mut left), 4);
        assert_eq!(left, 0);
        let mut left = 5;
        assert_eq!(take_lines(b"a\nb", &mut left), 3);
        assert_eq!(left, 4);
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
