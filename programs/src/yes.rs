//! `yes [STRING]...`: output a line (the arguments, or `y`) over and over,
//! until the reader goes away.

use syscalls::{ExitCode, Fd, Sys};

use crate::fail;
use crate::usage::Spec;

const SPEC: Spec = Spec {
    // `yes a -x` prints `a -x`: the first operand ends the options.
    permute: false,
    ..Spec::new(
        "yes",
        "Usage: yes [STRING]...\n\
         Repeatedly output a line with all specified STRING(s), or 'y'.\n\
         \n\
         \x20     --help     display this help and exit\n",
        &[],
    )
};

/// How big one write is: many copies of the line, so the cost of a system
/// call is spread over 64 KiB of output.
const BATCH: usize = 64 * 1024;

/// Never ends by itself. A reader that goes away (`EPIPE`) ends it quietly
/// with status 0: coreutils `yes` dies of `SIGPIPE` there, and coos has
/// none (see the crate docs). Any other write error: status 1.
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    let args = match SPEC.parse(&sys, &args).await {
        Ok(args) => args,
        Err(status) => return status,
    };
    let batch = batch(&args.operands);
    loop {
        if let Err(errno) = sys.write_all(Fd::STDOUT, &batch).await {
            return fail::source_write_error(&sys, SPEC.name, errno).await;
        }
    }
}

/// As many whole copies of the line as fit in [`BATCH`] (at least one).
fn batch(words: &[String]) -> Vec<u8> {
    let mut line = if words.is_empty() {
        "y".to_string()
    } else {
        words.join(" ")
    };
    line.push('\n');
    let copies = (BATCH / line.len()).max(1);
    line.repeat(copies).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::testing::Harness;

    #[test]
    fn the_batch_holds_whole_lines() {
        let b = batch(&[]);
        assert_eq!(b.len(), BATCH);
        assert!(b.starts_with(b"y\ny\n"));
        let b = batch(&["a".into(), "bc".into()]);
        assert_eq!(b.len() % 5, 0);
        assert!(b.starts_with(b"a bc\na bc\n"));
        let long = "x".repeat(BATCH * 2);
        assert_eq!(batch(std::slice::from_ref(&long)).len(), long.len() + 1);
    }

    #[test]
    fn yes_repeats_until_the_reader_leaves_then_ends_quietly() {
        let out = Harness::new(crate::registry())
            .stdout_closes_after(200_000)
            .run(&["yes", "hi", "there"]);
        assert_eq!((out.status, out.stderr.as_str()), (Some(0), ""));
        assert_eq!(out.stdout.len(), 200_000);
        assert!(out.stdout.starts_with("hi there\nhi there\n"));
        assert!(out.stdout_writes <= 5, "{} writes", out.stdout_writes);
    }

    #[test]
    fn yes_takes_dashed_words_after_the_first() {
        let out = Harness::new(crate::registry())
            .stdout_closes_after(6)
            .run(&["yes", "a", "-x"]);
        assert_eq!(out.stdout, "a -x\na");
        let out = Harness::new(crate::registry())
            .stdout_closes_after(3)
            .run(&["yes", "--", "-x"]);
        assert_eq!(out.stdout, "-x\n");
        let out = Harness::new(crate::registry()).run(&["yes", "-x"]);
        assert_eq!(out.status, Some(1));
        assert_eq!(
            out.stderr,
            "yes: invalid option -- 'x'\nTry 'yes --help' for more information.\n"
        );
    }
}
