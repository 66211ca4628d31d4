//! `coos run` and `coos programs`, end to end on the real binary: what
//! follows the program's name is the program's, options included. Every
//! run is bounded (`support::child`): a coos that does not end fails the
//! test, with what it printed.

mod support;

use std::process::Stdio;

use support::child::{self, Coos};

/// Runs `coos ARGS` to the end with an empty stdin.
#[track_caller]
fn coos(args: &[&str]) -> std::process::Output {
    child::run(args)
}

#[test]
fn run_passes_help_to_the_program_not_to_coos() {
    let out = coos(&["run", "cat", "--help"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("Usage: cat "), "{stdout}");
}

#[test]
fn run_passes_options_to_the_program() {
    let out = coos(&["run", "seq", "-s", ",", "3"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1,2,3\n");
}

#[test]
fn run_exits_with_the_programs_status() {
    assert_eq!(coos(&["run", "false"]).status.code(), Some(1));
    assert_eq!(coos(&["run", "true"]).status.code(), Some(0));
}

#[test]
fn run_refuses_a_program_coos_does_not_carry() {
    let out = coos(&["run", "fortune"]);
    assert_eq!(out.status.code(), Some(127));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("fortune: no such program"), "{stderr}");
}

#[test]
fn run_without_a_program_is_a_usage_error() {
    assert_eq!(coos(&["run"]).status.code(), Some(2));
}

#[test]
fn programs_lists_every_program_with_its_description() {
    let out = coos(&["programs"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for name in ["bench", "cat", "ps", "sh", "yes"] {
        assert!(
            stdout.lines().any(|l| l.starts_with(&format!("{name} "))),
            "{name}: {stdout}"
        );
    }
}

/// Runs coos with `stdin` fed to it, returns what it printed and its exit.
#[track_caller]
fn coos_with_input(args: &[&str], stdin: &str) -> std::process::Output {
    child::run_with_input(args, stdin)
}

#[test]
fn a_host_pipeline_feeds_a_program_its_stdin() {
    let out = coos_with_input(&["run", "wc", "-l"], "1\n2\n3\n4\n5\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "5\n");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_script_on_stdin_runs_in_sh() {
    let out = coos_with_input(&[], "seq 3 | wc -l\necho done\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "3\ndone\n");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_reader_that_goes_away_ends_yes_quietly_not_coos_by_sigpipe() {
    let mut coos = Coos::start(&["run", "yes"], Stdio::null());
    for _ in 0..3 {
        assert_eq!(coos.line(), "y\n");
    }
    coos.close_stdout(); // `| head -3`: the reader is gone
    let (status, stderr) = coos.wait("its reader went away");
    assert_eq!(
        status,
        Some(0),
        "an exit status, not death by a signal; stderr: {stderr}"
    );
}
