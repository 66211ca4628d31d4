//! tasks(): a snapshot of the task table, by pid, showing what each task
//! waits for and how often it ran and called.

mod support;

use std::time::Duration;

use syscalls::{Command, Fd, FdMap, Pid, TaskInfo, TaskState};

fn row(rows: &[TaskInfo], pid: Pid) -> &TaskInfo {
    rows.iter()
        .find(|t| t.pid == pid)
        .unwrap_or_else(|| panic!("pid {pid} in {rows:#?}"))
}

#[test]
fn tasks_shows_pid_ppid_args_and_what_each_task_waits_for() {
    let run = support::run(b"", |sys| async move {
        let sleeper = Command::from_fn(|sys| async move {
            sys.sleep(Duration::from_millis(250)).await.unwrap();
            0
        })
        .name("sleeper")
        .spawn(&sys)
        .await
        .unwrap();
        let (r, w) = sys.pipe().await.unwrap();
        let reader = Command::from_fn(|sys| async move {
            let _ = sys.read(Fd(5), &mut [0u8; 1]).await;
            0
        })
        .name("reader")
        .fds(FdMap::empty().set(Fd(5), r))
        .spawn(&sys)
        .await
        .unwrap();
        let (_r2, w2) = sys.pipe_with_capacity(1).await.unwrap();
        let writer = Command::from_fn(|sys| async move {
            let _ = sys.write_all(Fd(1), b"xy").await;
            0
        })
        .name("writer")
        .fds(FdMap::empty().set(Fd(1), w2))
        .spawn(&sys)
        .await
        .unwrap();
        let waiter = Command::from_fn(move |sys| async move {
            let child = sys
                .spawn_fn(|sys| async move {
                    sys.sleep(Duration::from_secs(1)).await.unwrap();
                    0
                })
                .await
                .unwrap();
            let _ = sys.wait(child).await;
            0
        })
        .name("waiter")
        .spawn(&sys)
        .await
        .unwrap();
        let zombie = Command::from_fn(|_| async { 7 })
            .name("zombie")
            .arg("extra")
            .spawn(&sys)
            .await
            .unwrap();
        let quick = Command::from_fn(|_| async { 0 })
            .name("quick")
            .spawn(&sys)
            .await
            .unwrap();
        // Every child runs before main runs again; `late` has not run yet.
        sys.yield_now().await;
        let late = Command::from_fn(|_| async { 0 })
            .name("late")
            .spawn(&sys)
            .await
            .unwrap();

        let me = sys.getpid().await;
        let rows = sys.tasks().await;
        let pids: Vec<Pid> = rows.iter().map(|t| t.pid).collect();
        let mut sorted = pids.clone();
        sorted.sort();
        assert_eq!(pids, sorted, "by pid");

        assert_eq!(row(&rows, Pid::INIT).ppid, Pid(0));
        assert_eq!(row(&rows, Pid::INIT).args, vec!["init".to_string()]);
        assert_eq!(row(&rows, Pid::INIT).state, TaskState::Waiting(None));
        assert_eq!(row(&rows, me).state, TaskState::Running);
        assert_eq!(
            row(&rows, sleeper).state,
            TaskState::Sleeping {
                until: Duration::from_millis(250)
            }
        );
        assert_eq!(row(&rows, sleeper).args, vec!["sleeper".to_string()]);
        assert_eq!(row(&rows, reader).state, TaskState::Reading(Fd(5)));
        assert_eq!(row(&rows, writer).state, TaskState::Writing(Fd(1)));
        let grandchild = rows.iter().find(|t| t.ppid == waiter).unwrap().pid;
        assert_eq!(
            row(&rows, waiter).state,
            TaskState::Waiting(Some(grandchild))
        );
        assert_eq!(row(&rows, zombie).state, TaskState::Zombie(7));
        assert_eq!(
            row(&rows, zombie).args,
            vec!["zombie".to_string(), "extra".to_string()]
        );
        assert_eq!(row(&rows, late).state, TaskState::Ready);
        assert_eq!(row(&rows, late).scheduled, 0);
        assert_eq!(row(&rows, quick).state, TaskState::Zombie(0));
        for pid in [sleeper, reader, writer, waiter, zombie, quick, late] {
            assert_eq!(row(&rows, pid).ppid, me);
            assert_eq!(row(&rows, pid).pgid, me, "children inherit the group");
        }

        // What `ps` prints for them.
        let shown = |pid| row(&rows, pid).state.to_string();
        assert_eq!(shown(sleeper), "sleeping until 0.250s");
        assert_eq!(shown(reader), "reading fd 5");
        assert_eq!(shown(writer), "writing fd 1");
        assert_eq!(shown(waiter), format!("waiting for pid {grandchild}"));
        assert_eq!(shown(Pid::INIT), "waiting for a child");
        assert_eq!(shown(zombie), "zombie (7)");
        assert_eq!(shown(late), "ready");
        assert_eq!(shown(me), "running");

        sys.close(w).await.unwrap();
        for pid in [sleeper, reader, writer, waiter, zombie, quick, late] {
            let _ = sys.kill(pid, syscalls::Signal::Kill).await;
            sys.wait(pid).await.unwrap();
        }
        0
    });
    run.expect_clean();
}

#[test]
fn scheduled_and_syscall_counts_increase_as_a_task_runs() {
    let run = support::run(b"", |sys| async move {
        let me = sys.getpid().await;
        let first = sys.tasks().await;
        let a = row(&first, me).clone();
        // Three calls that finish at once, then a yield: one more run.
        sys.getpid().await;
        sys.getppid().await;
        sys.now().await;
        sys.yield_now().await;
        let second = sys.tasks().await;
        let b = row(&second, me).clone();
        assert_eq!(
            b.syscalls,
            a.syscalls + 5,
            "getpid, getppid, now, yield, tasks"
        );
        assert_eq!(b.scheduled, a.scheduled + 1, "run again after the yield");
        // A task that has not run yet counts nothing.
        let child = sys.spawn_fn(|_| async { 0 }).await.unwrap();
        let third = sys.tasks().await;
        let c = row(&third, child);
        assert_eq!((c.scheduled, c.syscalls), (0, 0));
        sys.wait(child).await.unwrap();
        0
    });
    run.expect_clean();
}

#[test]
fn a_child_that_ran_shows_its_counts_while_a_zombie() {
    let run = support::run(b"", |sys| async move {
        let child = sys
            .spawn_fn(|sys| async move {
                for _ in 0..3 {
                    sys.yield_now().await;
                }
                3
            })
            .await
            .unwrap();
        sys.sleep(Duration::from_millis(1)).await.unwrap();
        let rows = sys.tasks().await;
        let c = row(&rows, child);
        assert_eq!(c.state, TaskState::Zombie(3));
        assert_eq!(c.syscalls, 3, "three yields");
        assert_eq!(c.scheduled, 4, "the first run and one after each yield");
        sys.wait(child).await.unwrap();
        0
    });
    run.expect_clean();
}

#[test]
fn a_task_list_answering_the_last_call_of_a_quantum_waits_for_its_task_whole() {
    // The 64th call in a row ends the task's quantum: its answer waits
    // while the other ready task runs. A task list does not fit the
    // two-word answer a ready task keeps; it is kept aside, and arrives.
    let run = support::run(b"", |sys| async move {
        let other = sys
            .spawn_fn(|sys| async move {
                sys.yield_now().await;
                0
            })
            .await
            .unwrap();
        sys.yield_now().await; // A fresh quantum from here.
        for _ in 0..63 {
            sys.getpid().await;
        }
        let rows = sys.tasks().await; // The 64th call.
        assert_eq!(row(&rows, Pid(2)).args, ["main"]);
        assert!(rows.iter().any(|t| t.pid == other));
        let (_, status) = sys.wait(other).await.unwrap();
        assert_eq!(status, 0);
        0
    });
    run.expect_clean();
    let kept_aside = run
        .trace_lines()
        .iter()
        .position(|l| l == "syscall 2 tasks")
        .expect("main called tasks");
    let next_run = run.trace_lines()[kept_aside..]
        .iter()
        .find(|l| l.starts_with("run "))
        .cloned();
    assert_eq!(
        next_run.as_deref(),
        Some("run 3"),
        "the quantum ended at the tasks call: the other task ran before main went on"
    );
}
