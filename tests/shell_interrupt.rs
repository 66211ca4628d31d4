//! Ctrl-C at the console: the kernel gets `Message::Interrupt` through its
//! inbox (as from the terminal thread) and sends `INT` to the console's
//! foreground group, which an interactive `sh` makes each foreground job's
//! own. So it ends the foreground job, and only it: not a background job,
//! not the shell.

mod support;

use std::time::Duration;

use support::{exit_status, foreground, session, Input};
use syscalls::Pid;

#[test]
fn ctrl_c_ends_the_foreground_job_only() {
    let run = session(&[
        Input::Text("sleep 1000 & sleep 100\n"),
        Input::Interrupt,
        Input::Text("echo $?\n"),
        Input::Text("jobs\n"),
        Input::Text("ps\n"),
    ]);
    // sh is pid 2; `sleep 1000` pid 3, in a group of its own; `sleep 100`
    // pid 4, the foreground job.
    assert_eq!(exit_status(&run, Pid(4)), Some(130), "sleep 100: 128 + INT");
    assert_eq!(
        exit_status(&run, Pid(3)),
        Some(143),
        "sleep 1000: TERM, from init at the end"
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[..4],
        [
            "$ [1] 3",
            // The newline after the `^C` a terminal echoes.
            "",
            "$ 130",
            "$ [1]+  Running                 sleep 1000 &",
        ],
        "{}",
        run.stdout
    );
    // ps, after the Ctrl-C: the background job is still asleep, the
    // foreground one gone.
    assert!(
        lines[4].starts_with("$   PID  PPID STATE "),
        "{}",
        run.stdout
    );
    let sleeper = lines
        .iter()
        .find(|l| l.ends_with(" sleep 1000"))
        .expect("sleep 1000 in ps");
    assert!(sleeper.contains(" sleeping until 1000.000s "), "{sleeper}");
    assert!(!run.stdout.contains(" sleep 100\n"), "{}", run.stdout);
    assert!(run.stdout.ends_with("$ exit\n"), "{}", run.stdout);
    // The shell lived on to the end of input, with `sleep 1000` still
    // running then; no time passed.
    assert_eq!(run.status, Some(0));
    assert_eq!(run.leftover, ["sleep 1000"]);
    assert_eq!(run.clock, Duration::ZERO);
}

#[test]
fn ctrl_c_reaches_every_task_of_the_foreground_pipeline() {
    let run = session(&[
        Input::Text("sleep 100 | sleep 200 | wc -l\n"),
        Input::Interrupt,
        Input::Text("echo $?\n"),
    ]);
    assert_eq!(run.stdout, "$ \n$ 130\n$ exit\n");
    for pid in [3, 4, 5] {
        assert_eq!(exit_status(&run, Pid(pid)), Some(130), "pid {pid}");
    }
    assert_eq!(run.clock, Duration::ZERO);
}

#[test]
fn ctrl_c_at_the_prompt_ends_nothing() {
    let run = session(&[
        Input::Text("sleep 1000 &\n"),
        Input::Interrupt,
        Input::Text("jobs\n"),
    ]);
    assert_eq!(
        run.stdout,
        "$ [1] 3\n$ [1]+  Running                 sleep 1000 &\n$ exit\n"
    );
    // At the prompt the console's foreground is no group at all.
    assert_eq!(foreground(&run).last(), Some(&Pid(0)));
    assert_eq!(run.status, Some(0));
    assert_eq!(run.leftover, ["sleep 1000"]);
}

#[test]
fn the_shell_survives_ctrl_c_and_prompts_again() {
    let run = session(&[
        Input::Text("sleep 100\n"),
        Input::Interrupt,
        Input::Text("sleep 100\n"),
        Input::Interrupt,
        Input::Text("echo alive $$\n"),
    ]);
    assert_eq!(run.stdout, "$ \n$ \n$ alive 2\n$ exit\n");
    assert_eq!(
        exit_status(&run, Pid(2)),
        Some(0),
        "sh ended at end of input"
    );
    assert_eq!(run.clock, Duration::ZERO);
}

#[test]
fn a_job_left_alone_is_not_interrupted() {
    // Without the Ctrl-C, the same line runs its full time.
    let run = session(&[
        Input::Text("sleep 1000 & sleep 100\n"),
        Input::Text("echo $?\n"),
    ]);
    assert_eq!(exit_status(&run, Pid(4)), Some(0));
    assert_eq!(run.stdout, "$ [1] 3\n$ 0\n$ exit\n");
    assert_eq!(run.clock, Duration::from_secs(100));
}
