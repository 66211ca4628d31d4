//! `sh` runs pipelines on the real kernel: every stage a task, joined by
//! kernel pipes; the pipeline's status is its last stage's.

mod support;

use support::{out, sh_c, spawned, system};

#[test]
fn a_pipeline_runs_and_its_output_arrives() {
    let run = sh_c("seq 3 | wc -l");
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str(), run.status),
        ("3\n", "", Some(0))
    );
    assert_eq!(out("seq 3 | cat | cat | cat | wc -l"), "3\n");
    assert_eq!(out("echo hello   'big world'"), "hello big world\n");
}

#[test]
fn a_two_stage_pipeline_of_100000_lines_loses_no_byte() {
    let run = sh_c("seq 1 100000 | wc -l");
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str(), run.status),
        ("100000\n", "", Some(0))
    );
    // The bytes too, not only the newlines: 1..=100000, one a line.
    let bytes: usize = (1..=100_000u32).map(|n| n.to_string().len() + 1).sum();
    assert_eq!(out("seq 1 100000 | wc -c"), format!("{bytes}\n"));
}

#[test]
fn a_hundred_stage_pipeline_of_100000_lines_loses_no_byte() {
    let cats = vec!["cat"; 98].join(" | ");
    let command = format!("seq 1 100000 | {cats} | wc -l");
    let run = sh_c(&command);
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str(), run.status),
        ("100000\n", "", Some(0))
    );
    assert_eq!(spawned(&run, "cat"), 98);
    assert!(run.leftover.is_empty(), "{:?}", run.leftover);
}

#[test]
fn the_status_of_a_pipeline_is_its_last_stages() {
    assert_eq!(sh_c("true | false").status, Some(1));
    assert_eq!(sh_c("false | true").status, Some(0));
    assert_eq!(out("(exit 7); echo $?; echo $?"), "7\n0\n");
    assert_eq!(out("(exit 130); echo \"$?\" '$?'"), "130 $?\n");
}

#[test]
fn a_missing_command_is_127_and_the_rest_of_the_pipeline_runs() {
    let run = sh_c("nosuch | wc -l");
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str(), run.status),
        ("0\n", "sh: nosuch: command not found\n", Some(0))
    );
    assert_eq!(sh_c("seq 3 | nosuch").status, Some(127));
    assert_eq!(out("nosuch | nosuch2; echo $?"), "127\n");
}

#[test]
fn a_missing_command_says_command_not_found() {
    let run = sh_c("nosuch");
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str(), run.status),
        ("", "sh: nosuch: command not found\n", Some(127))
    );
}

#[test]
fn builtins_work_as_pipeline_stages() {
    assert_eq!(out("history | wc -l"), "1\n");
    assert_eq!(out("echo a; history"), "a\n    1  echo a; history\n");
    let registry = coos::registry();
    let width = registry.iter().map(|p| p.name.len()).max().unwrap();
    let wc = registry.iter().find(|p| p.name == "wc").unwrap();
    let line = format!("\n  {:<width$}  {}\n", "wc", wc.about);
    let help = out("help | cat");
    assert!(help.contains(&line), "{help}");
}

#[test]
fn sh_runs_inside_sh() {
    assert_eq!(out("sh -c 'seq 2 | wc -l; exit 4'; echo $?"), "2\n4\n");
    assert_eq!(out("echo 'echo from stdin' | sh"), "from stdin\n");
}

#[test]
fn a_stage_that_stops_reading_ends_the_pipeline() {
    // yes never ends by itself: head leaving it a broken pipe does.
    let run = system().run(&["sh", "-c", "yes | head -n 2; echo $?"]);
    assert_eq!((run.stdout.as_str(), run.status), ("y\ny\n0\n", Some(0)));
    assert!(run.leftover.is_empty(), "{:?}", run.leftover);
}
