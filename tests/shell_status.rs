//! `$?`, `&&`, `||`, `exit` and `( … )`: how statuses flow through `sh`.

mod support;

use std::time::Duration;

use support::{out, script, sh_c, spawned};

#[test]
fn status_is_0_after_a_command_that_succeeds() {
    assert_eq!(out("true; echo $?"), "0\n");
    assert_eq!(out("seq 2 | wc -l; echo $?"), "2\n0\n");
}

#[test]
fn status_is_1_after_a_command_that_fails() {
    assert_eq!(out("false; echo $?"), "1\n");
    assert_eq!(out("echo a | grep x; echo $?"), "1\n");
}

#[test]
fn status_is_127_after_a_missing_command() {
    let run = sh_c("nosuch; echo $?");
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str()),
        ("127\n", "sh: nosuch: command not found\n")
    );
}

#[test]
fn status_is_2_after_a_syntax_error() {
    // A script stops at the error (shell_syntax.rs), so the shell that
    // reads `$?` runs the broken line in a child.
    let run = script("sh -c 'echo )'\necho $?\n");
    assert_eq!(
        run.stdout,
        "sh: syntax error at column 6: unexpected ')'\n2\n"
    );
}

#[test]
fn and_or_lists_short_circuit_left_to_right() {
    assert_eq!(out("false && echo no || echo yes"), "yes\n");
    assert_eq!(out("true || echo no && echo yes"), "yes\n");
    assert_eq!(out("false || false || echo third"), "third\n");
    assert_eq!(out("true && false && echo no; echo $?"), "1\n");
}

#[test]
fn the_side_and_or_skips_is_never_started() {
    // Had the skipped side run, there would be a `sleep` in the trace, and
    // the virtual clock would have moved on by 100 s.
    for command in [
        "false && sleep 100",
        "true || sleep 100",
        "false && sleep 100 && sleep 100",
        "true || sleep 100 || sleep 100",
    ] {
        let run = sh_c(command);
        assert_eq!(spawned(&run, "sleep"), 0, "{command}");
        assert_eq!(run.clock, Duration::ZERO, "{command}");
    }
    // And the side that does run, runs.
    let run = sh_c("true && sleep 100");
    assert_eq!(spawned(&run, "sleep"), 1);
    assert_eq!(run.clock, Duration::from_secs(100));
}

#[test]
fn subshells_run_lists_and_can_be_stages() {
    assert_eq!(out("(echo a; echo b) | wc -l"), "2\n");
    assert_eq!(out("seq 4 | (cat | wc -l)"), "4\n");
    assert_eq!(out("(exit 4); echo $?"), "4\n");
    assert_eq!(out("((exit 5) && echo no) || echo $?"), "5\n");
    assert_eq!(out("(exit 3); (echo $?)"), "3\n");
    // `$$` is the top-level shell's pid (2: init's first child) in a
    // subshell too.
    assert_eq!(out("echo $$; (echo $$) | cat"), "2\n2\n");
}

#[test]
fn a_subshell_runs_in_a_task_of_its_own() {
    let run = sh_c("(echo a; echo b)");
    assert_eq!(run.stdout, "a\nb\n");
    // The subshell is a child `sh`; each echo its child.
    assert_eq!(spawned(&run, "sh"), 1);
    assert_eq!(spawned(&run, "echo"), 2);
    // `exit` in it leaves the subshell only.
    assert_eq!(out("(exit 1; echo no); echo on"), "on\n");
}

#[test]
fn exit_leaves_with_its_status_but_not_from_a_pipeline() {
    let run = sh_c("exit 3; echo no");
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str(), run.status),
        ("", "", Some(3))
    );
    assert_eq!(sh_c("(exit 6); exit").status, Some(6));
    assert_eq!(out("exit 3 | cat; echo still"), "still\n");
    assert_eq!(sh_c("exit x").status, Some(2));
    assert_eq!(sh_c("exit 1 2; echo on").stdout, "on\n");
}
