//! What `sh` does with what it cannot parse: one line naming where, status
//! 2; at the prompt it goes on with the next command, a script or `sh -c`
//! stops there.

mod support;

use support::{foreground, out, script, sh_c, spawned, typed};
use syscalls::Pid;

#[test]
fn a_syntax_error_runs_nothing_and_exits_2_in_c_mode() {
    let run = sh_c("echo a; echo )");
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str(), run.status),
        (
            "",
            "sh: syntax error at column 14: unexpected ')'\n",
            Some(2)
        )
    );
    assert_eq!(spawned(&run, "echo"), 0);
}

/// The malformed inputs of the shell issue, each with the one line `sh -c`
/// prints for it.
const MALFORMED: &[(&str, &str)] = &[
    (
        "echo 'abc",
        "sh: syntax error at column 10: unterminated single quote\n",
    ),
    ("| wc", "sh: syntax error at column 1: unexpected '|'\n"),
    (
        "ls |",
        "sh: syntax error at column 5: unexpected end of input\n",
    ),
    (
        "a && && b",
        "sh: syntax error at column 6: unexpected '&&'\n",
    ),
    ("&&", "sh: syntax error at column 1: unexpected '&&'\n"),
    (
        "( echo",
        "sh: syntax error at column 7: unexpected end of input, expected ')'\n",
    ),
    ("echo )", "sh: syntax error at column 6: unexpected ')'\n"),
];

#[test]
fn each_malformed_command_prints_one_line_with_its_column_and_exits_2() {
    for (command, message) in MALFORMED {
        let run = sh_c(command);
        assert_eq!(
            (run.stdout.as_str(), run.stderr.as_str(), run.status),
            ("", *message, Some(2)),
            "{command}"
        );
        assert_eq!(run.stderr.lines().count(), 1, "{command}");
        assert!(run.stderr.contains(" column "), "{command}");
    }
}

#[test]
fn after_each_malformed_command_the_status_is_2_and_the_shell_goes_on() {
    // A script runs each one in its own `sh -c`, then reads `$?`.
    let lines: String = MALFORMED
        .iter()
        .map(|(command, _)| format!("sh -c \"{command}\"\necho $?\n"))
        .collect();
    let run = support::system()
        .stdin(format!("{lines}echo on\n"))
        .run(&["sh"]);
    assert_eq!(run.stdout, format!("{}on\n", "2\n".repeat(MALFORMED.len())));
    let expected: String = MALFORMED.iter().map(|(_, message)| *message).collect();
    assert_eq!(run.stderr, expected);
    assert_eq!(run.status, Some(0));
}

#[test]
fn a_malformed_line_at_the_console_sets_status_2_and_the_next_prompt_comes() {
    // The complete ones; an open quote, `(` or a trailing `|` asks for
    // more instead (see below).
    let run = typed(&[
        "| wc\n",
        "echo $?\n",
        "a && && b\n",
        "echo $?\n",
        "&&\n",
        "echo $?\n",
        "echo )\n",
        "echo $?\n",
    ]);
    assert_eq!(
        run.stdout,
        "$ sh: syntax error at column 1: unexpected '|'\n$ 2\n\
         $ sh: syntax error at column 6: unexpected '&&'\n$ 2\n\
         $ sh: syntax error at column 1: unexpected '&&'\n$ 2\n\
         $ sh: syntax error at column 6: unexpected ')'\n$ 2\n\
         $ exit\n"
    );
    assert_eq!(run.status, Some(0));
}

#[test]
fn an_open_command_continues_on_the_next_line() {
    let run = typed(&["(echo a\n", "echo b) |\n", "wc -l\n"]);
    assert_eq!(run.stdout, "$ > > 2\n$ exit\n");
    let run = typed(&["echo 'a\n", "b'\n"]);
    assert_eq!(run.stdout, "$ > a\nb\n$ exit\n");
}

#[test]
fn a_syntax_error_at_the_console_sets_status_2_and_goes_on() {
    let run = typed(&["a && && b\n", "echo $?\n", "echo a\n", "(a\n", "&&&\n"]);
    assert_eq!(
        run.stdout,
        "$ sh: syntax error at column 6: unexpected '&&'\n$ 2\n$ a\n$ > \
         sh: syntax error at line 2, column 1: unexpected '&&'\n$ exit\n"
    );
}

#[test]
fn a_script_on_stdin_runs_line_by_line_until_a_syntax_error() {
    let run = script("echo a\necho 'b\nc'\n(echo d\necho e) | wc -l\necho b &&&\necho $?");
    assert_eq!(
        run.stdout,
        "a\nb\nc\n2\nsh: syntax error at line 6, column 10: unexpected '&'\n"
    );
    assert_eq!(run.status, Some(2));
    // Only init handed the console to sh's group: a script does no job
    // control.
    assert_eq!(foreground(&run), [Pid(2)]);
}

#[test]
fn a_syntax_error_ends_a_script_with_status_2_and_the_lines_after_it_do_not_run() {
    // Issue 11: `printf '| wc\necho alive\n' | coos` went on to `alive`
    // and exit 0.
    let run = script("| wc\necho alive\n");
    assert_eq!(
        (run.stdout.as_str(), run.status),
        (
            "sh: syntax error at line 1, column 1: unexpected '|'\n",
            Some(2)
        )
    );
    assert_eq!(spawned(&run, "echo"), 0);
    assert_eq!(spawned(&run, "wc"), 0);
}

#[test]
fn a_syntax_error_on_a_later_line_of_a_script_names_the_line_and_stops_there() {
    let run = script("echo a\nfalse\necho ) b\necho c\n");
    assert_eq!(
        (run.stdout.as_str(), run.status),
        (
            "a\nsh: syntax error at line 3, column 6: unexpected ')'\n",
            Some(2)
        )
    );
    assert_eq!(spawned(&run, "echo"), 1);
}

#[test]
fn a_syntax_error_in_a_many_line_c_command_runs_none_of_it() {
    let run = sh_c("echo a\necho b &&&\necho c");
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str(), run.status),
        (
            "",
            "sh: syntax error at line 2, column 10: unexpected '&'\n",
            Some(2)
        )
    );
}

#[test]
fn a_script_ending_inside_a_quote_is_an_error() {
    let run = script("echo a\necho 'abc\n");
    assert_eq!(
        run.stdout,
        "a\nsh: syntax error at line 2, column 10: unterminated single quote\n"
    );
    assert_eq!(run.status, Some(2));
}

#[test]
fn lines_split_across_reads_are_joined() {
    let run = support::system()
        .merged_output()
        .typed(&["ec", "ho a\nseq 2 |", " wc -l\n"])
        .run(&["sh"]);
    assert_eq!(run.stdout, "a\n2\n");
}

#[test]
fn sh_answers_help_and_rejects_a_bad_option() {
    let run = support::system().run(&["sh", "--help"]);
    assert!(run.stdout.starts_with("usage: sh"), "{}", run.stdout);
    assert_eq!(run.status, Some(0));
    let run = support::system().run(&["sh", "-x"]);
    assert!(
        run.stderr.starts_with("sh: -x: invalid option\nusage"),
        "{}",
        run.stderr
    );
    assert_eq!(run.status, Some(2));
}

#[test]
fn words_in_quotes_keep_their_spaces() {
    assert_eq!(out("echo 'a  b' \"c  d\" e\\ f"), "a  b c  d e f\n");
}
