//! The line editor's history file, end to end on a pty: `--history FILE`
//! writes each line typed at a prompt to FILE as it is entered and reads
//! them back in the next session (Up brings the last one back); without
//! an option the file is `$XDG_DATA_HOME/coos/history`; `--no-history`
//! writes nothing anywhere.

mod support;

use std::path::Path;

use support::pty::Session;
use support::scratch::Scratch;

/// The lines of a history file, its format's header aside.
fn history(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("the history file {}: {e}", file.display()));
    text.lines()
        .filter(|l| !l.starts_with("#V"))
        .map(String::from)
        .collect()
}

/// Types `command` at the prompt and waits for `output` and the next
/// prompt.
fn run(coos: &mut Session, command: &str, output: &str) {
    coos.send(&format!("{command}\r"));
    coos.expect_line(&format!("$ {command}"));
    coos.expect_line(output);
    coos.expect_prompt();
}

#[test]
fn lines_typed_at_the_prompt_go_to_the_history_file_and_come_back_next_time() {
    let scratch = Scratch::new("history-file");
    // Its folder does not exist yet: coos makes it.
    let file = scratch.path().join("deep/er/history");
    let arg = file.to_str().expect("a UTF-8 path");

    let mut coos = Session::start(&["--history", arg]);
    coos.expect_prompt();
    run(&mut coos, "echo one", "one");
    // As with bash's ignorespace: a line that starts with a space is not
    // kept.
    run(&mut coos, " echo secret", "secret");
    // A line typed for a program (cat reads the console) is data, not a
    // command.
    coos.send("cat\r");
    coos.expect_line("$ cat");
    coos.expect_editor();
    coos.send("some data\r");
    coos.expect_line("some data"); // typed
    coos.expect_line("some data"); // cat's
    coos.expect_editor();
    coos.send("\x04");
    coos.expect_prompt();
    run(&mut coos, "echo two", "two");
    // Written as each line is entered, not when coos ends.
    assert_eq!(history(&file), ["echo one", "cat", "echo two"]);
    coos.leave();
    assert_eq!(history(&file), ["echo one", "cat", "echo two"]);

    // The next session reads them back: Up brings the last line to the
    // prompt, and Enter runs it.
    let mut coos = Session::start(&["--history", arg]);
    coos.expect_prompt();
    coos.send("\x1b[A");
    coos.expect("the last line of history at the prompt", &|screen, mark| {
        let row = screen.row;
        (row >= mark && screen.editing && screen.line(row) == "$ echo two").then_some(row)
    });
    coos.send("\r");
    coos.expect_line("$ echo two");
    coos.expect_line("two");
    coos.expect_prompt();
    coos.leave();
}

#[test]
fn without_an_option_history_goes_to_xdg_data_home() {
    // The same session as the next test, without `--no-history`: this is
    // where that one would write.
    let home = Scratch::new("default-history");
    let mut coos = Session::start_with_env(
        &[],
        &[("XDG_DATA_HOME", home.path()), ("HOME", home.path())],
    );
    coos.expect_prompt();
    run(&mut coos, "echo kept", "kept");
    coos.leave();
    assert_eq!(home.files(), [Path::new("coos/history")]);
    assert_eq!(history(&home.path().join("coos/history")), ["echo kept"]);
}

#[test]
fn no_history_writes_no_history_file() {
    let home = Scratch::new("no-history");
    let mut coos = Session::start_with_env(
        &["--no-history"],
        &[("XDG_DATA_HOME", home.path()), ("HOME", home.path())],
    );
    coos.expect_prompt();
    run(&mut coos, "echo forgotten", "forgotten");
    coos.leave();
    assert_eq!(home.files(), Vec::<std::path::PathBuf>::new());
}
