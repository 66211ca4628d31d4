//! `coos run` and `coos programs`, end to end on the real binary: what
//! follows the program's name is the program's, options included.

use std::process::{Command, Output};

/// Runs `coos ARGS` to the end with an empty stdin.
fn coos(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coos"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the coos binary")
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
