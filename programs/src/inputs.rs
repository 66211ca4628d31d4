//! The FILE operands of `head` and `tail`: coos has no files yet, so `-`
//! (or no operand at all) is standard input and any other name is reported
//! missing. Each input is headed by `==> standard input <==` when there are
//! several (or `-v`), and the messages are worded as GNU head and tail word
//! them.

use syscalls::{Errno, ExitCode, Sys};

use crate::fail::{self, Failed};

/// Runs `copy` once for each `-` of `operands` (once if there are none),
/// with headers if `headers` says so (`None`: if there are several
/// operands). Status 1 if an operand was missing or a read failed; a failed
/// write ends it at once with `NAME: write error: ...`.
pub async fn each_input(
    sys: &Sys,
    name: &str,
    operands: &[String],
    headers: Option<bool>,
    mut copy: impl AsyncFnMut() -> Result<(), Failed>,
) -> ExitCode {
    let standard_input = ["-".to_string()];
    let operands = if operands.is_empty() {
        &standard_input[..]
    } else {
        operands
    };
    let headers = headers.unwrap_or(operands.len() > 1);
    let mut status = 0;
    let mut first = true;
    for file in operands {
        if file != "-" {
            let message = format!("cannot open '{file}' for reading: {}", Errno::ENOENT);
            fail::error(sys, name, message).await;
            status = fail::FAILURE;
            continue;
        }
        if headers {
            let header = format!("{}==> standard input <==\n", if first { "" } else { "\n" });
            if let Err(errno) = sys.print(&header).await {
                return fail::write_error(sys, name, errno).await;
            }
        }
        first = false;
        match copy().await {
            Ok(()) => {}
            Err(Failed::Write(errno)) => return fail::write_error(sys, name, errno).await,
            Err(failed) => {
                let message = format!("error reading 'standard input': {failed}");
                fail::error(sys, name, message).await;
                status = fail::FAILURE;
            }
        }
    }
    status
}
