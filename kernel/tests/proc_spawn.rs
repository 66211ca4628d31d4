//! spawn(program, args, fds), spawn_fn and Command: what a child starts
//! with, and every way spawn can fail.

mod support;

use kernel::Kernel;
use syscalls::{
    Command, Errno, ExitCode, Fd, FdMap, PGroup, Pid, Program, Sys, TaskFuture, TaskState,
};

/// Prints its arguments after its name, space-separated, and a newline.
fn echo(sys: Sys, args: Vec<String>) -> TaskFuture {
    Box::pin(async move {
        let line = format!("{}\n", args[1..].join(" "));
        match sys.print(&line).await {
            Ok(()) => 0,
            Err(_) => 1,
        }
    })
}

/// Prints its whole argv, `Debug`-formatted, and its pid and ppid.
fn argv(sys: Sys, args: Vec<String>) -> TaskFuture {
    Box::pin(async move {
        let me = sys.getpid().await;
        let parent = sys.getppid().await;
        sys.print(&format!("{args:?} pid={me} ppid={parent}\n"))
            .await
            .unwrap();
        0
    })
}

/// Says which of fds 0..8 are open (any call that names an fd tells).
fn fds(sys: Sys, _args: Vec<String>) -> TaskFuture {
    Box::pin(async move {
        let mut open = Vec::new();
        for fd in 0..8 {
            if sys.is_terminal(Fd(fd)).await.is_ok() {
                open.push(fd.to_string());
            }
        }
        // Report on stderr, which every test maps to the console.
        sys.eprint(&format!("open: {}\n", open.join(" ")))
            .await
            .unwrap();
        0
    })
}

/// Copies standard input to standard output, tagging it.
fn tag(sys: Sys, args: Vec<String>) -> TaskFuture {
    Box::pin(async move {
        let mut all = Vec::new();
        sys.read_to_end(Fd::STDIN, &mut all).await.unwrap();
        let text = String::from_utf8(all).unwrap();
        sys.print(&format!("{}: {text}", args[1])).await.unwrap();
        sys.eprint("tag: done\n").await.unwrap();
        0
    })
}

/// Ends with the status its first argument names.
fn status(_sys: Sys, args: Vec<String>) -> TaskFuture {
    Box::pin(async move { args[1].parse::<ExitCode>().unwrap() })
}

fn programs() -> Vec<Program> {
    vec![
        Program {
            name: "echo",
            about: "print arguments",
            main: echo,
        },
        Program {
            name: "argv",
            about: "print argv",
            main: argv,
        },
        Program {
            name: "fds",
            about: "list open fds",
            main: fds,
        },
        Program {
            name: "tag",
            about: "tag input",
            main: tag,
        },
        Program {
            name: "status",
            about: "exit with a status",
            main: status,
        },
    ]
}

fn run<F, Fut>(stdin: &[u8], main: F) -> support::Run
where
    F: FnOnce(Sys) -> Fut + 'static,
    Fut: std::future::Future<Output = ExitCode> + 'static,
{
    support::run_programs(stdin, support::config(), programs(), main)
}

#[test]
fn spawn_by_name_returns_the_childs_pid_and_passes_its_args() {
    let run = run(b"", |sys| async move {
        let pid = sys
            .spawn("argv", ["one", "two words"], FdMap::stdio())
            .await
            .unwrap();
        assert_eq!(pid, Pid(3), "init is 1, main is 2, its first child 3");
        assert_eq!(sys.wait(pid).await, Ok((pid, 0)));
        0
    });
    run.expect_clean();
    assert_eq!(
        run.stdout,
        "[\"argv\", \"one\", \"two words\"] pid=3 ppid=2\n"
    );
}

#[test]
fn a_programs_return_value_is_the_status_its_parent_sees() {
    let run = run(b"", |sys| async move {
        for code in [0u8, 1, 42, 255] {
            let pid = sys
                .spawn("status", [code.to_string()], FdMap::stdio())
                .await
                .unwrap();
            assert_eq!(sys.wait(pid).await, Ok((pid, code)));
        }
        0
    });
    run.expect_clean();
}

#[test]
fn child_inherits_stdin_stdout_and_stderr_by_default() {
    let run = run(b"fed to the child\n", |sys| async move {
        let pid = sys.spawn("tag", ["in"], FdMap::stdio()).await.unwrap();
        assert_eq!(sys.wait(pid).await, Ok((pid, 0)));
        0
    });
    run.expect_status(0);
    assert_eq!(run.stdout, "in: fed to the child\n");
    assert_eq!(run.stderr, "tag: done\n");
}

#[test]
fn default_fds_are_exactly_0_1_2_and_the_parents_other_fds_stay_out() {
    let run = run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        assert_eq!((r, w), (Fd(3), Fd(4)));
        let pid = sys.spawn("fds", Vec::<String>::new(), FdMap::stdio()).await;
        assert_eq!(sys.wait(pid.unwrap()).await.unwrap().1, 0);
        0
    });
    run.expect_status(0);
    assert_eq!(run.stderr, "open: 0 1 2\n");
}

#[test]
fn spawn_fn_child_also_inherits_0_1_2_only() {
    let run = support::run(b"", |sys| async move {
        let _pipe = sys.pipe().await.unwrap();
        let pid = sys
            .spawn_fn(|sys| async move {
                let mut open = Vec::new();
                for fd in 0..8 {
                    if sys.is_terminal(Fd(fd)).await.is_ok() {
                        open.push(fd);
                    }
                }
                assert_eq!(open, vec![0, 1, 2]);
                sys.print("child on stdout\n").await.unwrap();
                sys.eprint("child on stderr\n").await.unwrap();
                9
            })
            .await
            .unwrap();
        assert_eq!(sys.wait(pid).await, Ok((pid, 9)));
        0
    });
    run.expect_status(0);
    assert_eq!(run.stdout, "child on stdout\n");
    assert_eq!(run.stderr, "child on stderr\n");
}

#[test]
fn fd_map_makes_a_pipes_write_end_the_childs_stdout() {
    let run = run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let pid = sys
            .spawn(
                "echo",
                ["through", "the", "pipe"],
                FdMap::stdio().set(Fd::STDOUT, w),
            )
            .await
            .unwrap();
        sys.close(w).await.unwrap();
        let mut got = Vec::new();
        sys.read_to_end(r, &mut got).await.unwrap();
        assert_eq!(got, b"through the pipe\n");
        assert_eq!(sys.wait(pid).await, Ok((pid, 0)));
        sys.print("parent's stdout is still the console\n")
            .await
            .unwrap();
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "parent's stdout is still the console\n");
}

#[test]
fn fd_map_can_place_a_parent_fd_at_any_child_fd_and_leave_others_closed() {
    let run = run(b"", |sys| async move {
        let null = sys.open("/dev/null").await.unwrap();
        let map = FdMap::empty().set(Fd::STDERR, Fd::STDERR).set(Fd(6), null);
        let pid = sys.spawn("fds", Vec::<String>::new(), map).await.unwrap();
        assert_eq!(sys.wait(pid).await, Ok((pid, 0)));
        0
    });
    run.expect_status(0);
    assert_eq!(run.stderr, "open: 2 6\n");
}

#[test]
fn spawn_of_an_unknown_program_fails_with_enoent_and_makes_no_task() {
    let run = run(b"", |sys| async move {
        let before = sys.tasks().await.len();
        assert_eq!(
            sys.spawn("nosuch", ["x"], FdMap::stdio()).await,
            Err(Errno::ENOENT)
        );
        assert_eq!(sys.tasks().await.len(), before);
        assert_eq!(sys.wait_any().await, Err(Errno::ECHILD));
        0
    });
    run.expect_clean();
}

#[test]
fn spawn_with_a_parent_fd_that_is_not_open_fails_with_ebadf() {
    let run = run(b"", |sys| async move {
        let map = FdMap::stdio().set(Fd::STDOUT, Fd(9));
        assert_eq!(sys.spawn("echo", ["x"], map).await, Err(Errno::EBADF));
        // A closed fd, not only one never opened.
        let (r, w) = sys.pipe().await.unwrap();
        sys.close(w).await.unwrap();
        let map = FdMap::stdio().set(Fd::STDOUT, w);
        assert_eq!(sys.spawn("echo", ["x"], map).await, Err(Errno::EBADF));
        let closure = Command::from_fn(|_| async { 0 }).fds(FdMap::empty().set(Fd(0), w));
        assert_eq!(closure.spawn(&sys).await, Err(Errno::EBADF));
        assert_eq!(sys.wait_any().await, Err(Errno::ECHILD));
        sys.close(r).await.unwrap();
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "", "no child ran");
}

#[test]
fn spawn_with_a_child_fd_beyond_the_limit_fails_with_einval() {
    let config = kernel::Config {
        max_fds: 8,
        ..support::config()
    };
    let run = support::run_programs(b"", config, programs(), |sys| async move {
        let map = FdMap::stdio().set(Fd(8), Fd::STDOUT);
        assert_eq!(sys.spawn("echo", ["x"], map).await, Err(Errno::EINVAL));
        let map = FdMap::stdio().set(Fd(7), Fd::STDOUT);
        let pid = sys.spawn("echo", ["ok"], map).await.unwrap();
        assert_eq!(sys.wait(pid).await, Ok((pid, 0)));
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "ok\n");
}

#[test]
fn spawn_fn_returns_a_pid_and_the_child_runs_with_the_parents_argv() {
    let run = support::run(b"", |sys| async move {
        let pid = sys
            .spawn_fn(|sys| async move {
                let me = sys.getpid().await;
                let row = sys.tasks().await.into_iter().find(|t| t.pid == me);
                let row = row.expect("the caller is in its own snapshot");
                assert_eq!(row.args, vec!["main".to_string()]);
                assert_eq!(row.state, TaskState::Running);
                sys.print(&format!("child {me} of {}\n", sys.getppid().await))
                    .await
                    .unwrap();
                5
            })
            .await
            .unwrap();
        assert_eq!(sys.wait(pid).await, Ok((pid, 5)));
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "child 3 of 2\n");
}

#[test]
fn command_name_and_pgroup_show_in_the_task_table() {
    let run = support::run(b"", |sys| async move {
        let leader = Command::from_fn(|sys| async move {
            sys.sleep(std::time::Duration::from_secs(1)).await.unwrap();
            0
        })
        .name("leader")
        .pgroup(PGroup::New)
        .spawn(&sys)
        .await
        .unwrap();
        let member = Command::from_fn(|sys| async move {
            sys.sleep(std::time::Duration::from_secs(1)).await.unwrap();
            0
        })
        .name("member")
        .pgroup(PGroup::Join(leader))
        .spawn(&sys)
        .await
        .unwrap();
        let me = sys.getpid().await;
        let rows = sys.tasks().await;
        let row = |pid| rows.iter().find(|t| t.pid == pid).unwrap().clone();
        assert_eq!(row(leader).args, vec!["leader".to_string()]);
        assert_eq!(row(leader).pgid, leader);
        assert_eq!(row(member).args, vec!["member".to_string()]);
        assert_eq!(row(member).pgid, leader);
        assert_eq!(row(me).pgid, me, "init starts main in a group of its own");
        // Joining a group nobody leads or belongs to fails.
        let stray = Command::from_fn(|_| async { 0 })
            .pgroup(PGroup::Join(Pid(999)))
            .spawn(&sys)
            .await;
        assert_eq!(stray, Err(Errno::ESRCH));
        assert_eq!(sys.wait(leader).await, Ok((leader, 0)));
        assert_eq!(sys.wait(member).await, Ok((member, 0)));
        0
    });
    run.expect_clean();
}

#[test]
fn a_first_program_that_does_not_exist_ends_the_kernel_with_127() {
    let (spec, _out, err) = kernel::ConsoleSpec::scripted(b"");
    let mut k = Kernel::boot(support::config(), programs(), spec).unwrap();
    k.end_console();
    k.start(Command::new("nosuch"));
    assert_eq!(support::run_until_idle(&mut k), Some(127));
    let err = support::text(&err);
    assert!(
        err.starts_with("coos: nosuch: no such program"),
        "init explains: {err:?}"
    );
}

#[test]
fn a_registered_program_can_be_the_first_program() {
    let (spec, out, _err) = kernel::ConsoleSpec::scripted(b"");
    let mut k = Kernel::boot(support::config(), programs(), spec).unwrap();
    k.end_console();
    k.start(Command::new("argv").arg("x"));
    assert_eq!(support::run_until_idle(&mut k), Some(0));
    assert_eq!(support::text(&out), "[\"argv\", \"x\"] pid=2 ppid=1\n");
}
