//! `sh` at a terminal console: prompts, the console's foreground handed to
//! each job, history, and how a job's end by a signal is shown.

mod support;

use support::{foreground, typed};
use syscalls::Pid;

#[test]
fn the_console_shows_prompts_and_the_job_gets_the_foreground() {
    let run = typed(&["seq 3 | wc -l\n"]);
    assert_eq!(run.stdout, "$ 3\n$ exit\n");
    // init gives the console to sh's group (2); sh takes it for itself (no
    // group); seq, pid 3, leads the job's group; then sh takes it back.
    assert_eq!(foreground(&run), [Pid(2), Pid(0), Pid(3), Pid(0)]);
    assert_eq!(run.status, Some(0));
}

#[test]
fn a_foreground_job_ended_by_a_signal_is_named() {
    let run = typed(&["(exit 137)\n", "(exit 130)\n", "echo $?\n"]);
    assert_eq!(run.stdout, "$ Killed\n$ \n$ 130\n$ exit\n");
}

#[test]
fn history_lists_what_was_typed() {
    let run = typed(&["echo a\n", "\n", "(echo b\n", "echo c)\n", "history\n"]);
    assert_eq!(
        run.stdout,
        "$ a\n$ $ > b\nc\n$     1  echo a\n    2  (echo b\necho c)\n    3  history\n$ exit\n"
    );
}

#[test]
fn the_shell_ends_at_end_of_input_with_the_last_status() {
    let run = typed(&["false\n"]);
    assert_eq!((run.stdout.as_str(), run.status), ("$ $ exit\n", Some(1)));
}
