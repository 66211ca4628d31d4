//! A job that floods the terminal does not make coos deaf: the kernel
//! never waits for the screen (the printer takes what there is room for,
//! and a writer it has no room for waits in the kernel), so a Ctrl-C or a
//! SIGTERM is taken at once. Before, `yes` then Ctrl-C went on for 38 s
//! (393 MB on the screen) while the kernel sat in blocking writes.

mod support;

use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use support::pty::Session;

/// Starts `yes` at the prompt and waits until its lines reach the screen.
fn flooded() -> Session {
    let mut coos = Session::start(&["--no-history"]);
    coos.expect_prompt();
    coos.send("yes\r");
    coos.expect_line("$ yes");
    coos.expect_line("y");
    coos
}

#[test]
fn ctrl_c_during_yes_gets_the_prompt_back_and_stops_the_output() {
    let mut coos = flooded();
    let before = coos.screen.lines.len();
    coos.send("\x03");
    // Within `PATIENCE` (20 s), however loaded the machine: the kernel
    // takes the Ctrl-C at its next look at the inbox.
    coos.expect_prompt();
    let after = coos.screen.lines.len();
    // What was waiting for the screen (64 KiB, about 33,000 lines of "y")
    // and what the terminal held: not hundreds of megabytes.
    assert!(
        after - before < 100_000,
        "{} lines after the Ctrl-C",
        after - before
    );
    // And nothing more comes: the job is gone.
    coos.read_some(Duration::from_millis(300));
    assert_eq!(coos.screen.lines.len(), after, "output after the prompt");
    coos.expect_alive();
    coos.leave();
}

#[test]
fn sigterm_during_yes_at_the_terminal_ends_coos_with_143() {
    let mut coos = flooded();
    let pid = Pid::from_raw(coos.child.id() as i32);
    kill(pid, Signal::SIGTERM).expect("signal coos");
    let status = coos.expect_exit();
    assert_eq!(status.code(), Some(143), "the screen's end:\n{}", {
        let text = coos.screen.text();
        text[text.len().saturating_sub(300)..].to_string()
    });
}
