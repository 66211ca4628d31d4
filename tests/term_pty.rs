//! The interactive terminal, end to end: the real `coos` binary on a
//! pseudo-terminal, driven by keystrokes as a person would (the line
//! editor, the printer, Ctrl-C to a foreground job and at the prompt,
//! Ctrl-D). `support::pty` holds the session and its screen; every wait is
//! bounded.
//!
//! How Ctrl-C reaches coos: while the line editor reads a line the
//! terminal is in raw mode, and Ctrl-C is a key the editor reads (it
//! drops the line; the kernel gets `Message::Interrupt`). While a job runs
//! the terminal is cooked, and Ctrl-C is the pty's SIGINT to its
//! foreground process group (coos is its only process): the kernel's
//! signal thread takes it, and the kernel sends `INT` to the console's
//! foreground group, the job's, if the shell has handed it the console.
//! Jobs are tasks inside coos, not host processes, so the pty's own
//! foreground group (`tcgetpgrp`) is coos's all along: "the job has the
//! terminal" is the kernel's console foreground, which the test observes
//! through the job itself (see the first test).

mod support;

use std::time::Duration;

use nix::sys::termios::{tcgetattr, LocalFlags};
use nix::unistd::tcgetpgrp;

use support::pty::{Session, PATIENCE};

/// Is the pty cooked, with Ctrl-C a signal? (On Linux a pty's master
/// reads the settings of its slave, coos's terminal.)
fn ctrl_c_signals(coos: &Session) -> bool {
    let settings = tcgetattr(&coos.master).expect("the pty's settings");
    settings
        .local_flags
        .contains(LocalFlags::ICANON | LocalFlags::ISIG)
}

/// The pty's foreground process group, which its Ctrl-C signals, is
/// coos's own: jobs inside coos are not host processes.
#[track_caller]
fn pty_foreground_is_coos(coos: &Session) {
    let group = tcgetpgrp(&coos.master).expect("the pty's foreground group");
    assert_eq!(
        group.as_raw(),
        coos.child.id() as i32,
        "coos leads its pty's foreground group"
    );
}

#[test]
fn a_person_runs_a_pipeline_interrupts_a_job_and_leaves_with_ctrl_d() {
    let mut coos = Session::start(&["--no-history"]);
    coos.expect_prompt();

    coos.send("seq 3 | wc -l\r");
    coos.expect_line("$ seq 3 | wc -l");
    coos.expect_line("3");
    coos.expect_prompt();

    // The job says it runs only after `sleep 0.01`, and by then it has the
    // console: the shell hands the console to a job in the turn it starts
    // it (at the latest in its next turn, and the job's timer cannot wake
    // it before that: a woken task goes behind every task ready). And the
    // line editor gave the terminal back (cooked) before it handed the
    // line to the shell. So once "running" is on the screen, one Ctrl-C
    // is a SIGINT that the kernel passes to the job: no retry, no timing.
    coos.send("(sleep 0.01; echo running; sleep 100)\r");
    coos.expect_line("$ (sleep 0.01; echo running; sleep 100)");
    coos.expect_line("running");
    assert!(ctrl_c_signals(&coos), "the editor gave the terminal back");
    pty_foreground_is_coos(&coos);
    coos.send("\x03");
    coos.expect_prompt();
    assert!(
        coos.child.try_wait().expect("ask about coos").is_none(),
        "coos survives a Ctrl-C"
    );

    coos.expect_alive();
    coos.leave();
}

#[test]
fn sigterm_while_a_background_task_spins_ends_coos_with_143_and_restores_the_terminal() {
    use nix::sys::signal::{kill, Signal};
    use nix::sys::termios::{tcgetattr, LocalFlags};

    // On Linux a pty's master reads the settings of its slave, coos's
    // terminal.
    let canonical = |coos: &Session| {
        let settings = tcgetattr(&coos.master).expect("the pty's settings");
        settings.local_flags.contains(LocalFlags::ICANON)
    };
    let mut coos = Session::start(&["--no-history"]);
    coos.expect_prompt();
    // The job spins once the shell is back at its prompt, in raw mode.
    coos.send("(sleep 0.5; busy 600) &\r");
    coos.expect_line("$ (sleep 0.5; busy 600) &");
    coos.expect("busy spinning", &|screen, mark| {
        (mark..screen.row)
            .find(|&row| screen.line(row).contains("busy: spinning for 600 s"))
            .map(|row| row + 1)
    });
    coos.expect_prompt();
    assert!(
        !canonical(&coos),
        "the line editor has the terminal in raw mode"
    );

    let pid = nix::unistd::Pid::from_raw(coos.child.id() as i32);
    kill(pid, Signal::SIGTERM).expect("signal coos");
    let status = coos.expect_exit();
    assert_eq!(
        status.code(),
        Some(143),
        "the screen:\n{}",
        coos.screen.text()
    );
    assert!(canonical(&coos), "coos put the terminal's settings back");
}

/// Waits until coos has taken the host's SIGINT sent to it (its signal
/// thread, which passes it to the kernel's inbox at once): it is no longer
/// pending in `/proc/PID/status`.
#[track_caller]
fn sigint_taken(coos: &Session) {
    const SIGINT_BIT: u64 = 1 << (nix::libc::SIGINT - 1);
    let status = format!("/proc/{}/status", coos.child.id());
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let text = std::fs::read_to_string(&status).unwrap_or_default();
        let pending = text
            .lines()
            .filter_map(|l| l.strip_prefix("ShdPnd:"))
            .filter_map(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            .any(|mask| mask & SIGINT_BIT != 0);
        if !pending {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "coos did not take its SIGINT within {PATIENCE:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn ctrl_c_at_an_empty_prompt_leaves_coos_running() {
    let mut coos = Session::start(&["--no-history"]);
    coos.expect_prompt();

    // The key, at the prompt: the line editor reads it and drops the line;
    // no job is in the foreground, so no task gets `INT`, and the prompt
    // comes again on the next line.
    coos.send("\x03");
    coos.mark += 1;
    coos.expect_prompt();

    // The signal, as the pty sends it for a Ctrl-C pressed while the
    // terminal is cooked (a job just ended, the prompt not yet back): to
    // the pty's foreground group, coos, while no job has the console.
    pty_foreground_is_coos(&coos);
    let group = tcgetpgrp(&coos.master).expect("the pty's foreground group");
    nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGINT).expect("send SIGINT");
    sigint_taken(&coos);

    // coos ends by Ctrl-D, not by the Ctrl-Cs.
    coos.expect_alive();
    coos.leave();
}
