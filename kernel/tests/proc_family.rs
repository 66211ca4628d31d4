//! getpid, getppid, and orphans: a task whose parent ends goes to init,
//! which reaps it when it ends.

mod support;

use std::time::Duration;

use syscalls::{Command, Fd, FdMap, Pid, Sys, TaskState};

#[test]
fn getpid_and_getppid_name_the_task_and_its_parent() {
    let run = support::run(b"", |sys| async move {
        assert_eq!(sys.getpid().await, Pid(2));
        assert_eq!(sys.getppid().await, Pid::INIT);
        let child = sys
            .spawn_fn(|sys| async move {
                let me = sys.getpid().await;
                let parent = sys.getppid().await;
                sys.print(&format!("{me} {parent}\n")).await.unwrap();
                0
            })
            .await
            .unwrap();
        sys.wait(child).await.unwrap();
        sys.print(&format!("spawn said {child}\n")).await.unwrap();
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "3 2\nspawn said 3\n");
}

#[test]
fn pids_count_up_and_are_not_reused_after_a_reap() {
    let run = support::run(b"", |sys| async move {
        let mut pids = Vec::new();
        for _ in 0..5 {
            let pid = sys.spawn_fn(|_| async { 0 }).await.unwrap();
            sys.wait(pid).await.unwrap();
            pids.push(pid.0);
        }
        assert_eq!(pids, vec![3, 4, 5, 6, 7]);
        0
    });
    run.expect_clean();
}

async fn ppid_of(sys: &Sys, pid: Pid) -> Option<Pid> {
    support::row_of(sys, pid).await.map(|t| t.ppid)
}

#[test]
fn an_orphans_ppid_becomes_1_and_init_reaps_it_when_it_ends() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        // The parent starts a grandchild that outlives it, tells main its
        // pid through the pipe, and ends.
        let parent = Command::from_fn(|sys| async move {
            let orphan = sys
                .spawn_fn(|sys| async move {
                    assert_eq!(sys.getppid().await, Pid(3));
                    sys.sleep(Duration::from_millis(100)).await.unwrap();
                    let ppid = sys.getppid().await;
                    sys.print(&format!("orphan's ppid {ppid}\n")).await.unwrap();
                    21
                })
                .await
                .unwrap();
            // Let the orphan-to-be run first, while it has a parent.
            sys.yield_now().await;
            sys.write_all(Fd(3), &orphan.0.to_le_bytes()).await.unwrap();
            0
        })
        .fds(FdMap::stdio().set(Fd(3), w))
        .spawn(&sys)
        .await
        .unwrap();
        sys.close(w).await.unwrap();
        let mut bytes = [0u8; 4];
        assert_eq!(sys.read(r, &mut bytes).await, Ok(4));
        let orphan = Pid(u32::from_le_bytes(bytes));
        assert_eq!(sys.wait(parent).await, Ok((parent, 0)));
        assert_eq!(ppid_of(&sys, orphan).await, Some(Pid::INIT));
        // main is not its parent and cannot wait for it.
        assert_eq!(sys.wait(orphan).await, Err(syscalls::Errno::ECHILD));
        sys.sleep(Duration::from_millis(200)).await.unwrap();
        assert_eq!(
            ppid_of(&sys, orphan).await,
            None,
            "init reaped the orphan when it ended"
        );
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "orphan's ppid 1\n");
    let lines = run.trace_lines();
    let pos = |l: &str| lines.iter().position(|x| x == l);
    let (exit, reap) = (pos("exit 4 21").unwrap(), pos("reap 4").unwrap());
    assert!(exit < reap, "{lines:#?}");
}

#[test]
fn a_zombie_orphan_is_reaped_by_init_when_its_parent_ends() {
    let run = support::run(b"", |sys| async move {
        let parent = sys
            .spawn_fn(|sys| async move {
                let child = sys.spawn_fn(|_| async { 9 }).await.unwrap();
                sys.yield_now().await;
                // The child is a zombie; the parent ends without waiting.
                let state = support::state_of(&sys, child).await;
                assert_eq!(state, Some(TaskState::Zombie(9)));
                0
            })
            .await
            .unwrap();
        assert_eq!(sys.wait(parent).await, Ok((parent, 0)));
        sys.yield_now().await;
        let rows = sys.tasks().await;
        let pids: Vec<Pid> = rows.iter().map(|t| t.pid).collect();
        assert_eq!(pids, vec![Pid::INIT, Pid(2)], "init reaped the zombie");
        0
    });
    run.expect_clean();
    assert!(run.trace_lines().contains(&"reap 4".to_string()));
}

#[test]
fn grandchildren_of_an_ended_task_all_go_to_init() {
    let run = support::run(b"", |sys| async move {
        let parent = sys
            .spawn_fn(|sys| async move {
                for _ in 0..3 {
                    sys.spawn_fn(|sys| async move {
                        sys.sleep(Duration::from_millis(10)).await.unwrap();
                        0
                    })
                    .await
                    .unwrap();
                }
                0
            })
            .await
            .unwrap();
        sys.wait(parent).await.unwrap();
        let rows = sys.tasks().await;
        let orphans: Vec<Pid> = rows
            .iter()
            .filter(|t| t.ppid == Pid::INIT && t.pid != Pid(2))
            .map(|t| t.pid)
            .collect();
        assert_eq!(orphans, vec![Pid(4), Pid(5), Pid(6)]);
        sys.sleep(Duration::from_millis(20)).await.unwrap();
        assert_eq!(sys.tasks().await.len(), 2, "init reaped all three");
        0
    });
    run.expect_clean();
}

#[test]
fn tasks_left_running_when_the_first_task_ends_are_ended_by_init() {
    let run = support::run(b"", |sys| async move {
        for _ in 0..3 {
            sys.spawn_fn(|sys| async move {
                sys.sleep(Duration::from_secs(3600)).await.unwrap();
                0
            })
            .await
            .unwrap();
        }
        sys.yield_now().await;
        4
    });
    assert_eq!(run.status, Some(4));
    assert_eq!(
        run.kernel.task_count(),
        1,
        "only init, which halted, is left"
    );
    let lines = run.trace_lines();
    for pid in 3..=5 {
        assert!(lines.contains(&format!("exit {pid} 143")), "{lines:#?}");
        assert!(lines.contains(&format!("reap {pid}")), "{lines:#?}");
    }
    assert_eq!(run.kernel.now(), Duration::ZERO, "no one slept it out");
}
