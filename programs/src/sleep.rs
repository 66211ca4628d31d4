//! `sleep NUMBER[SUFFIX]...`: pause for the sum of the given times.

use std::time::Duration;

use syscalls::{ExitCode, Sys};

use crate::duration::parse_seconds;
use crate::fail;
use crate::usage::Spec;

const SPEC: Spec = Spec::new(
    "sleep",
    "Usage: sleep NUMBER[SUFFIX]...\n\
     Pause for NUMBER seconds.  SUFFIX may be 's' for seconds (the default),\n\
     'm' for minutes, 'h' for hours or 'd' for days.  NUMBER need not be an\n\
     integer (0.5, 1e-3).  Given two or more arguments, pause for the amount\n\
     of time specified by the sum of their values.  'infinity' never ends.\n\
     \n\
     \x20     --help     display this help and exit\n",
    &[],
);

/// The longest single `sleep` call: a long pause is made of calls no longer
/// than this, so the kernel never has to add a huge length to its clock.
const LONGEST_CALL: Duration = Duration::from_secs(24 * 60 * 60);

/// How long to pause.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Pause {
    For(Duration),
    Forever,
}

/// The sum of the intervals, or the ones that are not intervals.
fn total(operands: &[String]) -> Result<Pause, Vec<&str>> {
    let mut seconds = 0.0;
    let mut invalid = Vec::new();
    for text in operands {
        match parse_seconds(text) {
            Some(s) => seconds += s,
            None => invalid.push(text.as_str()),
        }
    }
    if !invalid.is_empty() {
        return Err(invalid);
    }
    Ok(match Duration::try_from_secs_f64(seconds) {
        Ok(d) => Pause::For(d),
        // Infinite, or beyond what a Duration holds: the same in practice.
        Err(_) => Pause::Forever,
    })
}

/// Sleeps, then exits 0; 1 on bad operands or a failed sleep.
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    let args = match SPEC.parse(&sys, &args).await {
        Ok(args) => args,
        Err(status) => return status,
    };
    if args.operands.is_empty() {
        return SPEC.fail(&sys, "missing operand").await;
    }
    let pause = match total(&args.operands) {
        Ok(pause) => pause,
        Err(invalid) => {
            let (last, before) = invalid.split_last().expect("at least one invalid operand");
            for text in before {
                fail::error(
                    &sys,
                    SPEC.name,
                    format_args!("invalid time interval '{text}'"),
                )
                .await;
            }
            return SPEC
                .fail(&sys, format_args!("invalid time interval '{last}'"))
                .await;
        }
    };
    let mut left = match pause {
        Pause::For(d) => d,
        Pause::Forever => Duration::MAX,
    };
    while !left.is_zero() {
        let step = left.min(LONGEST_CALL);
        if let Err(errno) = sys.sleep(step).await {
            fail::error(&sys, SPEC.name, errno).await;
            return fail::FAILURE;
        }
        if pause != Pause::Forever {
            left -= step;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run;

    #[test]
    fn several_intervals_add_up() {
        let operands: Vec<String> = ["1", "0.5s", "1m"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            total(&operands),
            Ok(Pause::For(Duration::from_millis(61_500)))
        );
        assert_eq!(total(&["inf".to_string()]), Ok(Pause::Forever));
    }

    #[test]
    fn sleep_waits_on_the_kernel_clock() {
        let out = run(&["sleep", "1.5", "2m"], "");
        assert_eq!((out.status, out.stderr.as_str()), (Some(0), ""));
        assert_eq!(out.clock, Duration::from_millis(121_500));
        let out = run(&["sleep", "3d"], "");
        assert_eq!(out.clock, Duration::from_secs(3 * 86400));
    }

    #[test]
    fn sleep_rejects_bad_intervals() {
        let out = run(&["sleep"], "");
        assert_eq!(out.status, Some(1));
        assert_eq!(
            out.stderr,
            "sleep: missing operand\nTry 'sleep --help' for more information.\n"
        );
        let out = run(&["sleep", "x", "1", "y"], "");
        assert_eq!(out.status, Some(1));
        assert_eq!(
            out.stderr,
            "sleep: invalid time interval 'x'\nsleep: invalid time interval 'y'\n\
             Try 'sleep --help' for more information.\n"
        );
        assert_eq!(out.clock, Duration::ZERO);
        let out = run(&["sleep", "-1"], "");
        assert_eq!(
            out.stderr.lines().next(),
            Some("sleep: invalid option -- '1'")
        );
    }
}
