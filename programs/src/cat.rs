//! `cat [-u] [FILE]...`: copy standard input (`-`, or no operand) to
//! standard output. coos has no files yet: any other operand is reported as
//! missing, and the rest still get copied.

use syscalls::{ExitCode, Fd, Sys};

use crate::fail::{self, Failed};
use crate::usage::{Opt, Spec};

const SPEC: Spec = Spec::new(
    "cat",
    "Usage: cat [OPTION]... [FILE]...\n\
     Concatenate FILE(s) to standard output.\n\
     \n\
     With no FILE, or when FILE is -, read standard input.\n\
     coos has no files yet: any FILE other than - is reported missing.\n\
     \n\
     \x20 -u         (ignored)\n\
     \x20     --help display this help and exit\n",
    &[Opt::flag('u', "")],
);

/// How much one read asks for.
const CHUNK: usize = 64 * 1024;

/// Copies its inputs; status 1 if an operand was missing or a read failed.
/// A reader gone from standard output ends it quietly (see the crate docs).
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    let args = match SPEC.parse(&sys, &args).await {
        Ok(args) => args,
        Err(status) => return status,
    };
    let mut operands = args.operands;
    if operands.is_empty() {
        operands.push("-".into());
    }
    let mut status = 0;
    let mut buf = vec![0u8; CHUNK];
    for name in &operands {
        if name != "-" {
            fail::no_such_file(&sys, SPEC.name, name).await;
            status = fail::FAILURE;
            continue;
        }
        match copy(&sys, Fd::STDIN, &mut buf).await {
            Ok(()) => {}
            Err(Failed::Write(errno)) => {
                return fail::source_write_error(&sys, SPEC.name, errno).await;
            }
            Err(failed) => {
                fail::error(&sys, SPEC.name, format_args!("-: {failed}")).await;
                status = fail::FAILURE;
            }
        }
    }
    status
}

/// Copies `fd` to standard output until end-of-file, chunk by chunk.
async fn copy(sys: &Sys, fd: Fd, buf: &mut [u8]) -> Result<(), Failed> {
    loop {
        let n = sys.read(fd, buf).await.map_err(Failed::Read)?;
        if n == 0 {
            return Ok(());
        }
        sys.write_all(Fd::STDOUT, &buf[..n])
            .await
            .map_err(Failed::Write)?;
    }
}

#[cfg(test)]
mod tests {
    use crate::run;
    use kernel::testing::Harness;

    #[test]
    fn cat_copies_standard_input() {
        let out = run(&["cat"], "a\nb");
        assert_eq!(
            (out.status, out.stdout.as_str(), out.stderr.as_str()),
            (Some(0), "a\nb", "")
        );
        let out = run(&["cat", "-u", "-"], "x\n");
        assert_eq!((out.status, out.stdout.as_str()), (Some(0), "x\n"));
    }

    #[test]
    fn cat_reports_missing_files_and_goes_on() {
        let out = run(&["cat", "nosuch", "-", "other"], "data\n");
        assert_eq!(out.status, Some(1));
        assert_eq!(out.stdout, "data\n");
        assert_eq!(
            out.stderr,
            "cat: nosuch: no such file or directory\ncat: other: no such file or directory\n"
        );
    }

    #[test]
    fn cat_copies_big_input_in_big_writes() {
        let input = "0123456789abcdef".repeat(16 * 1024);
        let out = run(&["cat"], &input);
        assert_eq!(out.stdout.len(), input.len());
        assert!(out.stdout_writes <= 4, "{} writes", out.stdout_writes);
    }

    #[test]
    fn cat_stops_quietly_when_its_reader_goes_away() {
        let out = Harness::new(crate::registry())
            .stdin("a".repeat(100_000))
            .stdout_closes_after(10)
            .run(&["cat"]);
        assert_eq!((out.status, out.stderr.as_str()), (Some(0), ""));
        assert_eq!(out.stdout.len(), 10);
    }

    #[test]
    fn cat_rejects_unknown_options() {
        let out = run(&["cat", "-n"], "");
        assert_eq!(out.status, Some(1));
        assert_eq!(
            out.stderr,
            "cat: invalid option -- 'n'\nTry 'cat --help' for more information.\n"
        );
    }
}
