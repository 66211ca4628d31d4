//! `timeout [OPTION]... DURATION COMMAND [ARG]...`: run a command, and
//! signal it if it is still running after DURATION (coreutils semantics).
//!
//! The command runs as a child; `timeout` waits for it under a deadline
//! (`Sys::timeout` around `wait`). When time is up it sends the signal
//! (TERM, or `-s`), and with `-k` sends KILL that much later if the command
//! has still not ended. In coos every signal ends its target at once, so
//! `-k` is there for scripts written for Unix.

use syscalls::{Command, Errno, ExitCode, Pid, Signal, Sys};

use crate::duration::{within, Limit};
use crate::fail;
use crate::usage::{Opt, Spec};

const SPEC: Spec = Spec {
    // `timeout 1 ls -l`: the options after COMMAND are its own.
    permute: false,
    status: FAILED,
    ..Spec::new(
        "timeout",
        "Usage: timeout [OPTION] DURATION COMMAND [ARG]...\n\
         Start COMMAND, and kill it if still running after DURATION.\n\
         \n\
         \x20     --preserve-status\n\
         \x20                  exit with the same status as COMMAND, even when the\n\
         \x20                    command times out\n\
         \x20     --foreground\n\
         \x20                  accepted for compatibility: COMMAND always stays in\n\
         \x20                    timeout's process group\n\
         \x20 -k, --kill-after=DURATION\n\
         \x20                  also send a KILL signal if COMMAND is still running\n\
         \x20                    this long after the initial signal was sent\n\
         \x20 -s, --signal=SIGNAL\n\
         \x20                  specify the signal to be sent on timeout;\n\
         \x20                    SIGNAL may be a name like 'HUP' or a number\n\
         \x20 -v, --verbose    diagnose to stderr any signal sent upon timeout\n\
         \x20     --help       display this help and exit\n\
         \n\
         DURATION is a floating point number with an optional suffix:\n\
         's' for seconds (the default), 'm' for minutes, 'h' for hours or 'd' for days.\n\
         A duration of 0 disables the associated timeout.\n\
         \n\
         Upon timeout, send the TERM signal to COMMAND, if no other SIGNAL specified.\n\
         \n\
         Exit status:\n\
         \x20 124  if COMMAND times out, and --preserve-status is not specified\n\
         \x20 125  if the timeout command itself fails\n\
         \x20 127  if COMMAND cannot be found\n\
         \x20 137  if COMMAND (or timeout itself) is sent the KILL (9) signal (128+9)\n\
         \x20 -    the exit status of COMMAND otherwise\n",
        &[
            Opt::flag('P', "preserve-status"),
            Opt::flag('F', "foreground"),
            Opt::value('k', "kill-after"),
            Opt::value('s', "signal"),
            Opt::flag('v', "verbose"),
        ],
    )
};

/// The command ran out of time.
const TIMED_OUT: ExitCode = 124;
/// `timeout` itself failed (bad arguments, a failed call).
const FAILED: ExitCode = 125;
/// The command does not exist.
const NOT_FOUND: ExitCode = 127;

/// What the command line asks for.
struct Plan {
    limit: Limit,
    signal: Signal,
    kill_after: Limit,
    verbose: bool,
    preserve: bool,
    command: Vec<String>,
}

/// Runs the command under its time limit; see the exit statuses in `--help`.
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    let args = match SPEC.parse(&sys, &args).await {
        Ok(args) => args,
        Err(status) => return status,
    };
    let plan = match plan(args) {
        Ok(plan) => plan,
        Err(message) => return SPEC.fail(&sys, message).await,
    };
    let (name, rest) = plan.command.split_first().expect("plan has a command");
    let pid = match Command::new(name).args(rest).spawn(&sys).await {
        Ok(pid) => pid,
        Err(errno) => {
            let what = format!("failed to run command '{name}'");
            fail::call_failed(&sys, SPEC.name, &what, errno).await;
            return if errno == Errno::ENOENT {
                NOT_FOUND
            } else {
                FAILED
            };
        }
    };
    match within(&sys, plan.limit, sys.wait(pid)).await {
        Ok((_, status)) => status,
        Err(Errno::ETIMEDOUT) => match time_is_up(&sys, &plan, pid, name).await {
            Ok(status) if plan.preserve => status,
            // A command KILL ended reports that, as coreutils does.
            Ok(status) if status == Signal::Kill.exit_code() => status,
            Ok(_) => TIMED_OUT,
            Err(errno) => wait_failed(&sys, errno).await,
        },
        Err(errno) => wait_failed(&sys, errno).await,
    }
}

/// `wait` failed: `timeout` itself failed.
async fn wait_failed(sys: &Sys, errno: Errno) -> ExitCode {
    fail::call_failed(sys, SPEC.name, "wait", errno).await;
    FAILED
}

/// Reads the options and operands; `Err` is a usage error's message.
fn plan(args: crate::usage::Args) -> Result<Plan, String> {
    let mut plan = Plan {
        limit: Limit::Never,
        signal: Signal::Term,
        kill_after: Limit::Never,
        verbose: false,
        preserve: false,
        command: Vec::new(),
    };
    for (opt, value) in &args.opts {
        match opt {
            'P' => plan.preserve = true,
            'F' => {}
            'v' => plan.verbose = true,
            'k' => plan.kill_after = interval(value)?,
            _ => plan.signal = Signal::parse(value).ok_or(format!("{value}: invalid signal"))?,
        }
    }
    let Some((duration, command)) = args.operands.split_first() else {
        return Err("missing operand".into());
    };
    plan.limit = interval(duration)?;
    if command.is_empty() {
        return Err(format!("missing operand after '{duration}'"));
    }
    plan.command = command.to_vec();
    Ok(plan)
}

fn interval(text: &str) -> Result<Limit, String> {
    Limit::parse(text).ok_or_else(|| format!("invalid time interval '{text}'"))
}

/// Sends the signal, then (with `-k`) KILL, and reaps the command: its
/// status.
async fn time_is_up(sys: &Sys, plan: &Plan, pid: Pid, name: &str) -> Result<ExitCode, Errno> {
    send(sys, plan, pid, name, plan.signal).await;
    if plan.kill_after == Limit::Never {
        return sys.wait(pid).await.map(|(_, status)| status);
    }
    match within(sys, plan.kill_after, sys.wait(pid)).await {
        Err(Errno::ETIMEDOUT) => {
            send(sys, plan, pid, name, Signal::Kill).await;
            sys.wait(pid).await.map(|(_, status)| status)
        }
        waited => waited.map(|(_, status)| status),
    }
}

/// Sends `signal` to the command; one that has just ended (a zombie, or
/// gone) needs none.
async fn send(sys: &Sys, plan: &Plan, pid: Pid, name: &str, signal: Signal) {
    if plan.verbose {
        let message = format!("sending signal {signal} to command '{name}'");
        fail::error(sys, SPEC.name, message).await;
    }
    let _ = sys.kill(pid, signal).await;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::run;

    #[test]
    fn a_command_that_ends_in_time_gives_its_own_status() {
        let out = run(&["timeout", "5", "sleep", "1"], "");
        assert_eq!((out.status, out.stderr.as_str()), (Some(0), ""));
        assert_eq!(out.clock, Duration::from_secs(1));
        assert_eq!(run(&["timeout", "5", "false"], "").status, Some(1));
        // The command's options are its own.
        let out = run(&["timeout", "1m", "head", "-n", "1"], "a\nb\n");
        assert_eq!((out.status, out.stdout.as_str()), (Some(0), "a\n"));
    }

    #[test]
    fn a_command_out_of_time_is_terminated_and_timeout_exits_124() {
        let out = run(&["timeout", "1.5", "sleep", "10"], "");
        assert_eq!((out.status, out.stderr.as_str()), (Some(124), ""));
        assert_eq!(out.clock, Duration::from_millis(1500));
        assert_eq!(crate::unreaped(&out), [], "the command is reaped");
        let out = run(&["timeout", "0.5m", "sleep", "1h"], "");
        assert_eq!(
            (out.status, out.clock),
            (Some(124), Duration::from_secs(30))
        );
    }

    #[test]
    fn signal_options_choose_the_signal_and_the_status() {
        let out = run(&["timeout", "-s", "KILL", "1", "sleep", "10"], "");
        assert_eq!(out.status, Some(137));
        let out = run(&["timeout", "--preserve-status", "1", "sleep", "10"], "");
        assert_eq!(out.status, Some(143));
        let out = run(
            &[
                "timeout",
                "-s",
                "INT",
                "--preserve-status",
                "1",
                "sleep",
                "9",
            ],
            "",
        );
        assert_eq!(out.status, Some(130));
        let out = run(&["timeout", "-k", "1", "-v", "1", "sleep", "10"], "");
        assert_eq!(out.status, Some(124));
        assert_eq!(
            out.stderr,
            "timeout: sending signal TERM to command 'sleep'\n"
        );
    }

    #[test]
    fn a_zero_duration_disables_the_timeout() {
        let out = run(&["timeout", "0", "sleep", "3"], "");
        assert_eq!((out.status, out.clock), (Some(0), Duration::from_secs(3)));
    }

    #[test]
    fn a_missing_command_exits_127() {
        let out = run(&["timeout", "1", "nosuch", "x"], "");
        assert_eq!(out.status, Some(127));
        assert_eq!(
            out.stderr,
            "timeout: failed to run command 'nosuch': no such file or directory\n"
        );
    }

    #[test]
    fn bad_arguments_exit_125() {
        let cases: &[(&[&str], &str)] = &[
            (&["timeout"], "missing operand"),
            (&["timeout", "1"], "missing operand after '1'"),
            (&["timeout", "x", "sleep", "1"], "invalid time interval 'x'"),
            (
                &["timeout", "-k", "-1", "1", "true"],
                "invalid time interval '-1'",
            ),
            (
                &["timeout", "-s", "BOGUS", "1", "true"],
                "BOGUS: invalid signal",
            ),
        ];
        for (argv, message) in cases {
            let out = run(argv, "");
            assert_eq!(out.status, Some(125), "{argv:?}");
            assert_eq!(
                out.stderr,
                format!("timeout: {message}\nTry 'timeout --help' for more information.\n")
            );
        }
    }
}
