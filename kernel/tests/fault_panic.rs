//! Faults in tasks never take the kernel down: a panicking task, or one
//! that returns Pending without a system call, ends with status 101 and a
//! one-line message naming it on the console's stderr, and the kernel runs on.

mod support;

use std::time::Duration;

use syscalls::{Command, Fd, FdMap, Program, Sys, TaskFuture};

fn boom(sys: Sys, _args: Vec<String>) -> TaskFuture {
    Box::pin(async move {
        sys.yield_now().await;
        panic!("kaboom");
    })
}

fn stall(_sys: Sys, _args: Vec<String>) -> TaskFuture {
    Box::pin(async move {
        std::future::pending::<()>().await;
        0
    })
}

fn programs() -> Vec<Program> {
    vec![
        Program {
            name: "boom",
            about: "panic",
            main: boom,
        },
        Program {
            name: "stall",
            about: "await something that is not a system call",
            main: stall,
        },
    ]
}

/// Asserts `stderr` is exactly one line starting with `start`.
#[track_caller]
fn one_line(stderr: &str, start: &str) {
    assert!(
        stderr.starts_with(start),
        "{stderr:?} starts with {start:?}"
    );
    assert!(stderr.ends_with('\n'), "{stderr:?}");
    assert_eq!(stderr.matches('\n').count(), 1, "one line: {stderr:?}");
}

#[test]
fn a_panicking_program_exits_101_with_a_one_line_message_naming_it() {
    let run = support::run_programs(b"", support::config(), programs(), |sys| async move {
        let pid = sys.spawn("boom", ["arg"], FdMap::stdio()).await.unwrap();
        assert_eq!(sys.wait(pid).await, Ok((pid, 101)));
        sys.print("main goes on\n").await.unwrap();
        0
    });
    run.expect_status(0);
    assert_eq!(run.stdout, "main goes on\n");
    one_line(&run.stderr, "coos: pid 3 (boom): panicked: kaboom");
    assert!(run.stderr.contains("fault_panic.rs"), "says where");
    assert!(run.trace_lines().contains(&"exit 3 101".to_string()));
}

#[test]
fn a_task_returning_pending_without_a_syscall_exits_101_with_a_message() {
    let run = support::run_programs(b"", support::config(), programs(), |sys| async move {
        let pid = sys
            .spawn("stall", Vec::<String>::new(), FdMap::stdio())
            .await;
        let pid = pid.unwrap();
        assert_eq!(sys.wait(pid).await, Ok((pid, 101)));
        0
    });
    run.expect_status(0);
    one_line(
        &run.stderr,
        "coos: pid 3 (stall): returned Pending without a system call",
    );
}

#[test]
fn the_kernel_runs_other_tasks_on_after_a_panic_and_a_stall() {
    let run = support::run_programs(b"", support::config(), programs(), |sys| async move {
        let worker = Command::from_fn(|sys| async move {
            for i in 0..3 {
                sys.print(&format!("tick {i}\n")).await.unwrap();
                sys.sleep(Duration::from_millis(10)).await.unwrap();
            }
            7
        })
        .name("worker")
        .spawn(&sys)
        .await
        .unwrap();
        let bad = sys
            .spawn("boom", Vec::<String>::new(), FdMap::stdio())
            .await;
        let stuck = sys
            .spawn("stall", Vec::<String>::new(), FdMap::stdio())
            .await;
        let (bad, stuck) = (bad.unwrap(), stuck.unwrap());
        assert_eq!(sys.wait(bad).await, Ok((bad, 101)));
        assert_eq!(sys.wait(stuck).await, Ok((stuck, 101)));
        assert_eq!(sys.wait(worker).await, Ok((worker, 7)));
        // And new tasks still start and run.
        let after = sys.spawn_fn(|_| async { 8 }).await.unwrap();
        assert_eq!(sys.wait(after).await, Ok((after, 8)));
        0
    });
    run.expect_status(0);
    assert_eq!(run.stdout, "tick 0\ntick 1\ntick 2\n");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    // The stall is caught at its first poll, the panic after a yield.
    assert!(lines[0].starts_with("coos: pid 5 (stall): returned Pending"));
    assert!(lines[1].starts_with("coos: pid 4 (boom): panicked: kaboom"));
}

#[test]
fn a_panic_before_the_first_syscall_is_reported_too() {
    let run = support::run(b"", |sys| async move {
        let pid = Command::from_fn(|_| async move {
            let v: Vec<u8> = Vec::new();
            v[3]
        })
        .name("oob")
        .spawn(&sys)
        .await
        .unwrap();
        assert_eq!(sys.wait(pid).await, Ok((pid, 101)));
        0
    });
    run.expect_status(0);
    one_line(
        &run.stderr,
        "coos: pid 3 (oob): panicked: index out of bounds",
    );
}

#[test]
fn a_panic_while_making_the_childs_future_ends_the_child_not_the_parent() {
    let run = support::run(b"", |sys| async move {
        let made = Command::from_fn(|_sys| -> std::future::Ready<u8> {
            panic!("no future for you");
        })
        .name("maker")
        .spawn(&sys)
        .await;
        let pid = made.expect("the spawn itself succeeds");
        assert_eq!(sys.wait(pid).await, Ok((pid, 101)));
        0
    });
    run.expect_status(0);
    one_line(
        &run.stderr,
        "coos: pid 3 (maker): panicked: no future for you",
    );
}

#[test]
fn the_message_goes_to_the_console_even_when_the_tasks_stderr_is_elsewhere() {
    let run = support::run_programs(b"", support::config(), programs(), |sys| async move {
        let null = sys.open("/dev/null").await.unwrap();
        let map = FdMap::empty().set(Fd::STDERR, null).set(Fd::STDOUT, null);
        let pid = sys.spawn("boom", Vec::<String>::new(), map).await.unwrap();
        assert_eq!(sys.wait(pid).await, Ok((pid, 101)));
        0
    });
    run.expect_status(0);
    one_line(&run.stderr, "coos: pid 3 (boom): panicked: kaboom");
}

#[test]
fn a_panicking_first_program_ends_the_kernel_with_101() {
    let run = support::run(b"", |sys| async move {
        sys.print("about to fail\n").await.unwrap();
        panic!("main is broken");
    });
    assert_eq!(run.status, Some(101));
    assert_eq!(run.stdout, "about to fail\n");
    one_line(&run.stderr, "coos: pid 2 (main): panicked: main is broken");
}

#[test]
fn a_non_text_panic_is_still_one_line() {
    let run = support::run(b"", |sys| async move {
        let pid = Command::from_fn(|_| async move {
            std::panic::panic_any(42u32);
        })
        .name("weird")
        .spawn(&sys)
        .await
        .unwrap();
        assert_eq!(sys.wait(pid).await, Ok((pid, 101)));
        0
    });
    run.expect_status(0);
    one_line(&run.stderr, "coos: pid 3 (weird): panicked: ");
}

struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("bad destructor");
    }
}

#[test]
fn a_destructor_that_panics_when_a_task_is_killed_is_reported_and_contained() {
    let run = support::run(b"", |sys| async move {
        let pid = sys
            .spawn_fn(|sys| async move {
                let _bomb = PanicOnDrop;
                sys.sleep(Duration::from_secs(60)).await.unwrap();
                0
            })
            .await
            .unwrap();
        sys.yield_now().await;
        sys.kill(pid, syscalls::Signal::Kill).await.unwrap();
        assert_eq!(sys.wait(pid).await, Ok((pid, 137)));
        sys.print("still here\n").await.unwrap();
        0
    });
    run.expect_status(0);
    assert_eq!(run.stdout, "still here\n");
    one_line(
        &run.stderr,
        "coos: pid 3: panicked while being dropped: bad destructor",
    );
}

#[test]
fn many_tasks_panicking_one_after_another_each_get_their_own_message() {
    let run = support::run(b"", |sys| async move {
        for i in 0..5 {
            Command::from_fn(move |sys| async move {
                sys.yield_now().await;
                panic!("number {i}");
            })
            .name(format!("p{i}"))
            .spawn(&sys)
            .await
            .unwrap();
        }
        while let Ok((_, status)) = sys.wait_any().await {
            assert_eq!(status, 101);
        }
        0
    });
    run.expect_status(0);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 5);
    for (i, line) in lines.iter().enumerate() {
        let start = format!("coos: pid {} (p{i}): panicked: number {i}", i + 3);
        assert!(line.starts_with(&start), "{line:?}");
    }
}
