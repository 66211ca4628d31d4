//! How a program fails: its message on stderr (`NAME: what: errno message`)
//! and its status, including the one rule for a write whose reader is gone
//! (`EPIPE`, see the crate docs): stream sources stop quietly with status 0,
//! every other program says `write error` and fails.

use std::fmt::Display;

use syscalls::{Errno, ExitCode, Sys};

/// The status of a failed run.
pub const FAILURE: ExitCode = 1;

/// Which side of a copy from an input to standard output failed: a failed
/// read (or an input over a limit) is reported and the program goes on to
/// its next input; a failed write ends it.
#[derive(Debug)]
pub enum Failed {
    /// Reading the input.
    Read(Errno),
    /// The input went over a limit on what the program holds: the message
    /// says which (`a line is longer than 16777216 bytes`).
    Limit(String),
    /// Writing standard output.
    Write(Errno),
}

impl Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failed::Read(errno) | Failed::Write(errno) => errno.fmt(f),
            Failed::Limit(message) => f.write_str(message),
        }
    }
}

/// Prints `NAME: message` on stderr. A failure to print is ignored: there is
/// nowhere left to report it.
pub async fn error(sys: &Sys, name: &str, message: impl Display) {
    let _ = sys.eprint(&format!("{name}: {message}\n")).await;
}

/// A system call failed: prints `NAME: what: errno` and returns
/// [`FAILURE`].
pub async fn call_failed(sys: &Sys, name: &str, what: &str, errno: Errno) -> ExitCode {
    error(sys, name, format_args!("{what}: {errno}")).await;
    FAILURE
}

/// A write to standard output failed: prints `NAME: write error: ...` and
/// returns [`FAILURE`].
pub async fn write_error(sys: &Sys, name: &str, errno: Errno) -> ExitCode {
    error(sys, name, format_args!("write error: {errno}")).await;
    FAILURE
}

/// A write of a stream source (`yes`, `seq`, `cat`, `primes`) failed: a
/// reader that went away (`EPIPE`) ends it quietly with status 0, as
/// `SIGPIPE` ends a Unix one; any other error is reported as by
/// [`write_error`].
pub async fn source_write_error(sys: &Sys, name: &str, errno: Errno) -> ExitCode {
    if errno == Errno::EPIPE {
        return 0;
    }
    write_error(sys, name, errno).await
}

/// The message for an operand that names a file: coos has no files yet, so
/// any name but `-` is `NAME: FILE: no such file or directory`.
pub async fn no_such_file(sys: &Sys, name: &str, file: &str) {
    error(sys, name, format_args!("{file}: {}", Errno::ENOENT)).await;
}
