//! `kill [-s SIGNAL | -SIGNAL] PID...`: send a signal (TERM by default) to
//! tasks; a negative PID names a process group. `kill -l` and `kill -t`
//! list the signals.

use syscalls::{ExitCode, Pid, Signal, Sys};

use crate::fail;
use crate::usage::Spec;

/// `kill` parses its own command line (a signal can be `-9` or `-KILL`);
/// the spec serves for `--help` and the usage errors.
const SPEC: Spec = Spec::new(
    "kill",
    "Usage: kill [-s SIGNAL | -SIGNAL] PID...\n\
     \x20 or:  kill -l [SIGNAL]...\n\
     \x20 or:  kill -t [SIGNAL]...\n\
     Send signals to tasks, or list signals.\n\
     \n\
     \x20 -s, --signal=SIGNAL, -SIGNAL\n\
     \x20                  specify the name or number of the signal to be sent\n\
     \x20 -l, --list       list signal names, or convert signal names to/from numbers\n\
     \x20 -t, --table      print a table of signal information\n\
     \x20     --help       display this help and exit\n\
     \n\
     SIGNAL may be a name like 'HUP', 'SIGHUP' or a number like '1', or the\n\
     exit status of a task a signal ended, like '129'.  The default is TERM.\n\
     PID is a task id; a negative PID -N names every task of process group N.\n\
     Signals: HUP (1), INT (2), QUIT (3), KILL (9), TERM (15).\n",
    &[],
);

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Request {
    Help,
    /// Send the signal to each target.
    Send(Signal, Vec<String>),
    /// `-l`: names, or translate each operand.
    List(Vec<String>),
    /// `-t`: a table of the operands, or of every signal.
    Table(Vec<String>),
}

/// Reads a signal as an option value: `KILL`, `SIGKILL`, `kill`, `9`.
fn signal(text: &str) -> Result<Signal, String> {
    Signal::parse(text).ok_or_else(|| format!("'{text}': invalid signal"))
}

/// Parses the command line; `Err` holds a usage error's message.
fn parse(args: &[String]) -> Result<Request, String> {
    let mut rest = args.iter().skip(1).peekable();
    let mut chosen = None;
    while let Some(arg) = rest.peek() {
        if chosen.is_some() || !arg.starts_with('-') || arg.as_str() == "-" {
            break;
        }
        let arg = rest.next().expect("peeked");
        match arg.as_str() {
            "--" => break,
            "--help" => return Ok(Request::Help),
            "-l" | "--list" => return Ok(Request::List(operands(rest))),
            "-t" | "--table" => return Ok(Request::Table(operands(rest))),
            "-s" | "--signal" => match rest.next() {
                Some(name) => chosen = Some(signal(name)?),
                None if arg == "-s" => return Err("option requires an argument -- 's'".into()),
                None => return Err("option '--signal' requires an argument".into()),
            },
            long if long.starts_with("--") => match long.strip_prefix("--signal=") {
                Some(name) => chosen = Some(signal(name)?),
                None => return Err(format!("unrecognized option '{long}'")),
            },
            short => {
                let body = &short[1..];
                if let Some(name) = body.strip_prefix('s') {
                    chosen = Some(signal(name)?);
                } else if body.starts_with(|c: char| c.is_ascii_alphanumeric()) {
                    chosen = Some(signal(body)?);
                } else {
                    let c = body.chars().next().unwrap_or('-');
                    return Err(format!("invalid option -- '{c}'"));
                }
            }
        }
    }
    let targets = operands(rest);
    if targets.is_empty() {
        return Err("no process ID specified".into());
    }
    Ok(Request::Send(chosen.unwrap_or(Signal::Term), targets))
}

/// The operands left, after a `--` if one comes first.
fn operands<'a>(rest: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut rest = rest.peekable();
    rest.next_if(|a| a.as_str() == "--");
    rest.cloned().collect()
}

/// Who a PID operand names.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Task(Pid),
    Group(Pid),
}

/// Reads `123` (a task) or `-123` (a group).
fn target(text: &str) -> Option<Target> {
    match text.strip_prefix('-') {
        Some(group) => group
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .map(|n| Target::Group(Pid(n))),
        None => text
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .map(|n| Target::Task(Pid(n))),
    }
}

/// What `strsignal` says of each signal.
fn description(signal: Signal) -> &'static str {
    match signal {
        Signal::Hup => "Hangup",
        Signal::Int => "Interrupt",
        Signal::Quit => "Quit",
        Signal::Kill => "Killed",
        Signal::Term => "Terminated",
    }
}

/// One line of `kill -t`: ` 9 KILL Killed`.
fn table_row(signal: Signal) -> String {
    format!(
        "{:>2} {:<4} {}\n",
        signal.number(),
        signal.name(),
        description(signal)
    )
}

/// Looks a signal up for `-l`/`-t`: by name, number, or the exit status of
/// a task it ended (`137` is KILL).
fn lookup(text: &str) -> Option<Signal> {
    Signal::parse(text).or_else(|| text.parse().ok().and_then(Signal::from_exit_code))
}

/// Sends the signal, or prints the list; status 1 if anything failed.
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    let request = match parse(&args) {
        Ok(request) => request,
        Err(message) => return SPEC.fail(&sys, message).await,
    };
    let (mut out, mut status) = (String::new(), 0);
    match request {
        Request::Help => return SPEC.help(&sys).await,
        Request::Send(signal, targets) => {
            for text in &targets {
                let result = match target(text) {
                    Some(Target::Task(pid)) => sys.kill(pid, signal).await,
                    Some(Target::Group(pgid)) => sys.kill_group(pgid, signal).await,
                    None => {
                        fail::error(
                            &sys,
                            SPEC.name,
                            format_args!("failed to parse argument: '{text}'"),
                        )
                        .await;
                        status = fail::FAILURE;
                        continue;
                    }
                };
                if let Err(errno) = result {
                    fail::error(&sys, SPEC.name, format_args!("({text}) - {errno}")).await;
                    status = fail::FAILURE;
                }
            }
        }
        Request::List(names) if names.is_empty() => {
            for signal in Signal::ALL {
                out.push_str(&format!("{}\n", signal.name()));
            }
        }
        Request::List(names) => {
            for text in &names {
                match lookup(text) {
                    // A number translates to a name, a name to a number.
                    Some(s) if text.bytes().all(|b| b.is_ascii_digit()) => {
                        out.push_str(&format!("{}\n", s.name()))
                    }
                    Some(s) => out.push_str(&format!("{}\n", s.number())),
                    None => {
                        fail::error(&sys, SPEC.name, format_args!("'{text}': invalid signal"))
                            .await;
                        status = fail::FAILURE;
                    }
                }
            }
        }
        Request::Table(names) if names.is_empty() => {
            for signal in Signal::ALL {
                out.push_str(&table_row(signal));
            }
        }
        Request::Table(names) => {
            for text in &names {
                match lookup(text) {
                    Some(s) => out.push_str(&table_row(s)),
                    None => {
                        fail::error(&sys, SPEC.name, format_args!("'{text}': invalid signal"))
                            .await;
                        status = fail::FAILURE;
                    }
                }
            }
        }
    }
    if let Err(errno) = sys.print(&out).await {
        return fail::write_error(&sys, SPEC.name, errno).await;
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run;
    use kernel::testing::Harness;
    use syscalls::FdMap;

    fn argv(args: &[&str]) -> Vec<String> {
        std::iter::once("kill")
            .chain(args.iter().copied())
            .map(String::from)
            .collect()
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn signals_come_in_every_spelling() {
        for (args, signal) in [
            (&["5"][..], Signal::Term),
            (&["-9", "5"][..], Signal::Kill),
            (&["-KILL", "5"][..], Signal::Kill),
            (&["-SIGINT", "5"][..], Signal::Int),
            (&["-s", "HUP", "5"][..], Signal::Hup),
            (&["-sQUIT", "5"][..], Signal::Quit),
            (&["--signal=2", "5"][..], Signal::Int),
            (&["--signal", "term", "5"][..], Signal::Term),
        ] {
            assert_eq!(
                parse(&argv(args)),
                Ok(Request::Send(signal, strings(&["5"]))),
                "{args:?}"
            );
        }
    }

    #[test]
    fn after_the_signal_everything_is_a_target() {
        assert_eq!(
            parse(&argv(&["-9", "-5", "7"])),
            Ok(Request::Send(Signal::Kill, strings(&["-5", "7"])))
        );
        assert_eq!(
            parse(&argv(&["--", "-5"])),
            Ok(Request::Send(Signal::Term, strings(&["-5"])))
        );
        assert_eq!(
            parse(&argv(&["-l", "9", "TERM"])),
            Ok(Request::List(strings(&["9", "TERM"])))
        );
        assert_eq!(parse(&argv(&["--help"])), Ok(Request::Help));
    }

    #[test]
    fn bad_command_lines_are_usage_errors() {
        assert_eq!(parse(&argv(&[])), Err("no process ID specified".into()));
        assert_eq!(parse(&argv(&["-9"])), Err("no process ID specified".into()));
        assert_eq!(
            parse(&argv(&["-USR1", "5"])),
            Err("'USR1': invalid signal".into())
        );
        assert_eq!(
            parse(&argv(&["-s"])),
            Err("option requires an argument -- 's'".into())
        );
        assert_eq!(
            parse(&argv(&["--bogus"])),
            Err("unrecognized option '--bogus'".into())
        );
        assert_eq!(parse(&argv(&["-%"])), Err("invalid option -- '%'".into()));
    }

    #[test]
    fn targets_are_tasks_or_groups() {
        assert_eq!(target("12"), Some(Target::Task(Pid(12))));
        assert_eq!(target("-12"), Some(Target::Group(Pid(12))));
        assert_eq!(target("0"), None);
        assert_eq!(target("x"), None);
        assert_eq!(target("--1"), None);
    }

    #[test]
    fn kill_ends_a_sleeping_task_with_128_plus_the_signal() {
        let out = Harness::new(crate::registry()).run_fn(|sys| async move {
            let sleeper = sys
                .spawn("sleep", ["100"], FdMap::stdio())
                .await
                .expect("spawn");
            let killer = sys
                .spawn(
                    "kill",
                    ["-INT".to_string(), sleeper.to_string()],
                    FdMap::stdio(),
                )
                .await
                .expect("spawn");
            let (_, kill_status) = sys.wait(killer).await.expect("wait");
            let (_, sleep_status) = sys.wait(sleeper).await.expect("wait");
            assert_eq!(kill_status, 0);
            sleep_status
        });
        assert_eq!(out.status, Some(130));
        assert!(out.clock < std::time::Duration::from_secs(100));
    }

    #[test]
    fn kill_reports_each_target_that_failed() {
        let out = run(&["kill", "999", "x", "1"], "");
        assert_eq!(out.status, Some(1));
        assert_eq!(
            out.stderr,
            "kill: (999) - no such process\n\
             kill: failed to parse argument: 'x'\n\
             kill: (1) - operation not permitted\n"
        );
    }

    #[test]
    fn kill_lists_signals() {
        assert_eq!(
            run(&["kill", "-l"], "").stdout,
            "HUP\nINT\nQUIT\nKILL\nTERM\n"
        );
        assert_eq!(
            run(&["kill", "-l", "9", "term", "130"], "").stdout,
            "KILL\n15\nINT\n"
        );
        assert_eq!(
            run(&["kill", "-t"], "").stdout,
            " 1 HUP  Hangup\n 2 INT  Interrupt\n 3 QUIT Quit\n 9 KILL Killed\n15 TERM Terminated\n"
        );
        let out = run(&["kill", "-l", "USR1"], "");
        assert_eq!(
            (out.status, out.stderr.as_str()),
            (Some(1), "kill: 'USR1': invalid signal\n")
        );
        let out = run(&["kill", "-t", "137", "USR1", "hup"], "");
        assert_eq!(out.status, Some(1));
        assert_eq!(out.stdout, " 9 KILL Killed\n 1 HUP  Hangup\n");
        assert_eq!(out.stderr, "kill: 'USR1': invalid signal\n");
    }
}
