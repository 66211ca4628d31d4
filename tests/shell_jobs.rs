//! Background jobs: `&`, `jobs`, `wait`, `kill %N`, `fg`, and the notices
//! `sh` prints before a prompt. `sleep 1000` stands for a job that runs
//! until something ends it: the clock is virtual, so no test waits for it.

mod support;

use std::time::Duration;

use support::{exit_status, foreground, out, sh_c, system, typed, Input};
use syscalls::Pid;

#[test]
fn background_jobs_run_and_wait_collects_them_quietly_in_a_script() {
    let run = sh_c("seq 2 | wc -l & wait; echo done");
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str(), run.status),
        ("2\ndone\n", "", Some(0))
    );
    assert_eq!(out("(exit 3) & wait %1; echo $?"), "3\n");
    assert_eq!(out("false || echo x & wait"), "x\n");
    assert_eq!(out("(exit 4) & (exit 5) & wait %1 %2; echo $?"), "5\n");
    assert_eq!(sh_c("wait %9").stderr, "sh: wait: %9: no such job\n");
    assert_eq!(
        sh_c("wait 99").stderr,
        "sh: wait: pid 99 is not a child of this shell\n"
    );
    // sh is pid 2, so its first child is pid 3.
    assert_eq!(out("(exit 9) & wait 3; echo $?"), "9\n");
}

#[test]
fn background_jobs_finish_while_a_foreground_job_runs() {
    // The background pipeline runs to its end, and the short sleep ends,
    // while the shell waits 5 s for its foreground sleep; the notices come
    // before the prompt after it, and `jobs` has nothing left to list.
    let run = typed(&["seq 3 | wc -l & sleep 1 & sleep 5\n", "jobs\n"]);
    assert_eq!(
        run.stdout,
        "$ [1] 4\n\
         [2] 5\n\
         3\n\
         [1]-  Done                    seq 3 | wc -l\n\
         [2]+  Done                    sleep 1\n\
         $ $ exit\n"
    );
    assert_eq!(run.clock, Duration::from_secs(5));
    // In a script too: `jobs` after the foreground sleep finds both done.
    let run = sh_c("seq 3 | wc -l & sleep 1 & sleep 5; jobs");
    assert_eq!(
        run.stdout,
        "3\n\
         [1]-  Done                    seq 3 | wc -l\n\
         [2]+  Done                    sleep 1\n"
    );
    assert_eq!(run.clock, Duration::from_secs(5));
}

#[test]
fn wait_with_no_operand_waits_for_every_background_job() {
    let run = sh_c("sleep 3 & sleep 7 & sleep 2 & wait; echo $?; jobs");
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("0\n", ""));
    assert_eq!(run.clock, Duration::from_secs(7));
    assert!(run.leftover.is_empty(), "{:?}", run.leftover);
}

#[test]
fn wait_for_a_pid_waits_for_that_task_only() {
    // pid 3 is `sleep 2`; `sleep 9` is still running when the shell ends.
    let run = sh_c("sleep 2 & sleep 9 & wait 3; echo $?");
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("0\n", ""));
    assert_eq!(run.clock, Duration::from_secs(2));
    assert_eq!(run.leftover, ["sleep 9"]);
    // The status is the task's.
    assert_eq!(out("sh -c 'sleep 1; exit 6' & wait 3; echo $?"), "6\n");
}

#[test]
fn wait_for_a_job_number_waits_for_that_job_only() {
    let run = sh_c("sleep 9 & sleep 4 | (exit 3) & wait %2; echo $?");
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("3\n", ""));
    assert_eq!(run.clock, Duration::from_secs(4));
    assert_eq!(run.leftover, ["sleep 9"]);
}

#[test]
fn kill_takes_job_specs() {
    assert_eq!(out("sleep 1000 & kill %1; wait %1; echo $?"), "143\n");
    assert_eq!(
        out("sleep 1000 | sleep 1000 & kill -KILL %%; jobs"),
        "[1]+  Killed                  sleep 1000 | sleep 1000\n"
    );
    assert_eq!(
        out("sleep 1000 & kill -KILL %1; wait; jobs; echo $?"),
        "0\n"
    );
    let run = sh_c("kill %3");
    assert_eq!(
        (run.stderr.as_str(), run.status),
        ("sh: kill: %3: no such job\n", Some(1))
    );
}

#[test]
fn kill_percent_1_ends_the_first_job_and_no_other() {
    let run = sh_c("sleep 1000 & sleep 2000 & kill %1; wait %1; echo $?; jobs");
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str()),
        ("143\n[2]+  Running                 sleep 2000 &\n", "")
    );
    assert_eq!(exit_status(&run, Pid(3)), Some(143));
    assert_eq!(run.leftover, ["sleep 2000"]);
    assert_eq!(run.clock, Duration::ZERO);
}

#[test]
fn fg_needs_job_control() {
    assert_eq!(sh_c("fg").stderr, "sh: fg: no job control\n");
}

#[test]
fn a_background_job_is_announced_and_its_end_reported_before_a_prompt() {
    let run = typed(&["seq 3 | wc -l &\n", "\n"]);
    assert_eq!(
        run.stdout,
        // The shell announces the job (its last task, pid 4) and prompts
        // before the job runs; its end is noticed at the next prompt.
        "$ [1] 4\n$ 3\n[1]+  Done                    seq 3 | wc -l\n$ exit\n"
    );
}

#[test]
fn jobs_lists_running_jobs_and_kill_percent_ends_them() {
    let run = typed(&[
        "sleep 1000 &\n",
        "(exit 2) &\n",
        "jobs\n",
        "kill %1\n",
        "echo x\n",
        "exit 5\n",
    ]);
    // The shell prompts again before job 2 has run: `jobs` finds it done
    // and reports it (once), beside job 1 still running.
    assert_eq!(
        run.stdout,
        "$ [1] 3\n\
         $ [2] 4\n\
         $ [1]-  Running                 sleep 1000 &\n\
         [2]+  Exit 2                  (exit 2)\n\
         $ [1]+  Terminated              sleep 1000\n\
         $ x\n\
         $ "
    );
    assert_eq!(run.status, Some(5));
    assert_eq!(run.clock, Duration::ZERO);
}

#[test]
fn kill_percent_at_the_console_ends_the_jobs_whole_group() {
    // The subshell's `sleep` is in the job's group: it ends too.
    let run = typed(&["(sleep 1000; echo no) | sleep 1000 &\n", "kill %1\n"]);
    assert_eq!(
        run.stdout,
        "$ [1] 4\n$ [1]+  Terminated              (sleep 1000; echo no) | sleep 1000\n$ exit\n"
    );
    assert_eq!(run.leftover, Vec::<String>::new());
    assert_eq!(run.clock, Duration::ZERO);
    // Without job control the job's tasks are signalled one by one.
    let run = sh_c("(sleep 1000; echo no) | sleep 1000 & kill %1");
    assert_eq!(
        run.leftover,
        ["sleep 1000"],
        "the subshell's child lives on"
    );
}

#[test]
fn fg_hands_the_console_to_the_job_and_waits() {
    let run = support::session(&[
        Input::Text("sleep 1000 &\n"),
        Input::Text("fg\n"),
        Input::Wait(Duration::from_secs(10)),
        Input::Interrupt,
        Input::Text("echo $?\n"),
    ]);
    // The job is in the foreground: Ctrl-C reaches it.
    assert_eq!(run.stdout, "$ [1] 3\n$ sleep 1000\n\n$ 130\n$ exit\n");
    // init gave sh's group the console; sh took it for itself (no group),
    // handed it to the job (pid 3 leads its group) and took it back, then
    // likewise for `echo` (pid 4).
    assert_eq!(
        foreground(&run),
        [Pid(2), Pid(0), Pid(3), Pid(0), Pid(4), Pid(0)]
    );
    assert_eq!(run.clock, Duration::from_secs(10));
    // Left alone, fg waits for the job to end.
    let run = typed(&["sleep 1000 &\n", "fg\n"]);
    assert_eq!(run.stdout, "$ [1] 3\n$ sleep 1000\n$ exit\n");
    assert_eq!(run.clock, Duration::from_secs(1000));
    assert_eq!(
        typed(&["fg %4\n"]).stdout,
        "$ sh: fg: %4: no such job\n$ exit\n"
    );
    assert_eq!(
        typed(&["fg\n"]).stdout,
        "$ sh: fg: current: no such job\n$ exit\n"
    );
}

#[test]
fn wait_at_the_console_leaves_the_done_notice_for_the_prompt() {
    // cat gets the console's input after the shell has read `wait`.
    let run = typed(&["cat &\n", "wait\n", "xyz\n"]);
    assert_eq!(
        run.stdout,
        "$ [1] 3\n$ xyz\n[1]+  Done                    cat\n$ exit\n"
    );
}

#[test]
fn a_background_job_keeps_running_after_the_shell_prompts_again() {
    let run = typed(&["sleep 1000 &\n", "ps\n"]);
    assert!(
        run.stdout.contains(" sleeping until 1000.000s ") && run.stdout.contains(" sleep 1000\n"),
        "{}",
        run.stdout
    );
    assert_eq!(run.leftover, ["sleep 1000"]);
    let run = system().run(&["sh", "-c", "sleep 5 & echo started"]);
    assert_eq!(run.stdout, "started\n");
    assert_eq!(run.leftover, ["sleep 5"]);
}
