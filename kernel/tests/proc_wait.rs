//! wait(pid), wait_any(), try_wait(): reaping children, and ECHILD.

mod support;

use std::time::Duration;

use syscalls::{Errno, Pid, Sys, TaskState};

/// Spawns a child that sleeps `ms` virtual milliseconds, then ends with `code`.
async fn sleeper(sys: &Sys, ms: u64, code: u8) -> Pid {
    sys.spawn_fn(move |sys| async move {
        sys.sleep(Duration::from_millis(ms)).await.unwrap();
        code
    })
    .await
    .unwrap()
}

#[test]
fn wait_blocks_until_the_child_ends_and_returns_its_pid_and_status() {
    let run = support::run(b"", |sys| async move {
        let pid = sleeper(&sys, 250, 6).await;
        assert_eq!(sys.wait(pid).await, Ok((pid, 6)));
        assert_eq!(sys.now().await, Duration::from_millis(250));
        0
    });
    run.expect_clean();
    let lines = run.trace_lines();
    assert!(lines.contains(&"block 2 waiting for pid 3".to_string()));
}

#[test]
fn wait_for_one_child_leaves_the_others_for_later() {
    let run = support::run(b"", |sys| async move {
        let a = sleeper(&sys, 10, 1).await;
        let b = sleeper(&sys, 20, 2).await;
        // b is waited for first although a ends first.
        assert_eq!(sys.wait(b).await, Ok((b, 2)));
        assert_eq!(sys.now().await, Duration::from_millis(20));
        assert_eq!(sys.try_wait(Some(a)).await, Ok(Some((a, 1))));
        assert_eq!(sys.wait_any().await, Err(Errno::ECHILD));
        0
    });
    run.expect_clean();
}

#[test]
fn wait_any_reaps_children_in_the_order_they_ended() {
    let run = support::run(b"", |sys| async move {
        let slow = sleeper(&sys, 30, 30).await;
        let fast = sleeper(&sys, 10, 10).await;
        let mid = sleeper(&sys, 20, 20).await;
        assert_eq!(sys.wait_any().await, Ok((fast, 10)));
        assert_eq!(sys.wait_any().await, Ok((mid, 20)));
        assert_eq!(sys.wait_any().await, Ok((slow, 30)));
        assert_eq!(sys.wait_any().await, Err(Errno::ECHILD));
        0
    });
    run.expect_clean();
}

#[test]
fn wait_any_returns_at_once_when_a_child_is_already_a_zombie() {
    let run = support::run(b"", |sys| async move {
        let pid = sys.spawn_fn(|_| async { 4 }).await.unwrap();
        sys.yield_now().await;
        assert_eq!(sys.wait_any().await, Ok((pid, 4)));
        0
    });
    run.expect_clean();
    assert!(
        !run.trace_lines()
            .contains(&"block 2 waiting for a child".to_string()),
        "no need to block: {:#?}",
        run.trace_lines()
    );
}

#[test]
fn wait_for_a_pid_that_does_not_exist_fails_with_echild() {
    let run = support::run(b"", |sys| async move {
        assert_eq!(sys.wait(Pid(4242)).await, Err(Errno::ECHILD));
        assert_eq!(sys.try_wait(Some(Pid(4242))).await, Err(Errno::ECHILD));
        0
    });
    run.expect_clean();
}

#[test]
fn wait_for_a_task_that_is_not_my_child_fails_with_echild() {
    let run = support::run(b"", |sys| async move {
        let me = sys.getpid().await;
        // My parent (init) and myself are not my children.
        assert_eq!(sys.wait(Pid::INIT).await, Err(Errno::ECHILD));
        assert_eq!(sys.wait(me).await, Err(Errno::ECHILD));
        // Nor is a sibling, nor a grandchild.
        let child = sys
            .spawn_fn(|sys| async move {
                let grandchild = sys
                    .spawn_fn(|sys| async move {
                        sys.sleep(Duration::from_millis(5)).await.unwrap();
                        0
                    })
                    .await
                    .unwrap();
                let (_, status) = sys.wait(grandchild).await.unwrap();
                status
            })
            .await
            .unwrap();
        let sibling_of_child = sleeper(&sys, 5, 0).await;
        sys.yield_now().await;
        let rows = sys.tasks().await;
        let grandchild = rows.iter().find(|t| t.ppid == child).unwrap().pid;
        assert_eq!(sys.wait(grandchild).await, Err(Errno::ECHILD));
        assert_eq!(sys.try_wait(Some(grandchild)).await, Err(Errno::ECHILD));
        let not_mine = sys
            .spawn_fn(move |sys| async move {
                match sys.wait(sibling_of_child).await {
                    Err(Errno::ECHILD) => 0,
                    _ => 1,
                }
            })
            .await
            .unwrap();
        assert_eq!(sys.wait(not_mine).await, Ok((not_mine, 0)));
        assert_eq!(sys.wait(child).await, Ok((child, 0)));
        assert_eq!(sys.wait(sibling_of_child).await, Ok((sibling_of_child, 0)));
        0
    });
    run.expect_clean();
}

#[test]
fn wait_any_and_try_wait_with_no_children_fail_with_echild() {
    let run = support::run(b"", |sys| async move {
        assert_eq!(sys.wait_any().await, Err(Errno::ECHILD));
        assert_eq!(sys.try_wait(None).await, Err(Errno::ECHILD));
        // Once the only child is reaped there are none again.
        let pid = sys.spawn_fn(|_| async { 0 }).await.unwrap();
        assert_eq!(sys.wait_any().await, Ok((pid, 0)));
        assert_eq!(sys.wait_any().await, Err(Errno::ECHILD));
        assert_eq!(sys.wait(pid).await, Err(Errno::ECHILD), "already reaped");
        0
    });
    run.expect_clean();
}

#[test]
fn try_wait_returns_none_while_no_child_has_ended_and_does_not_block() {
    let run = support::run(b"", |sys| async move {
        let pid = sleeper(&sys, 100, 8).await;
        sys.yield_now().await;
        let t0 = sys.now().await;
        assert_eq!(sys.try_wait(None).await, Ok(None));
        assert_eq!(sys.try_wait(Some(pid)).await, Ok(None));
        assert_eq!(sys.now().await, t0, "no time passed: it did not block");
        let row = sys.tasks().await.into_iter().find(|t| t.pid == pid);
        assert!(matches!(row.unwrap().state, TaskState::Sleeping { .. }));
        sys.sleep(Duration::from_millis(150)).await.unwrap();
        assert_eq!(sys.try_wait(None).await, Ok(Some((pid, 8))));
        assert_eq!(sys.try_wait(None).await, Err(Errno::ECHILD));
        0
    });
    run.expect_clean();
    assert!(
        !run.trace_lines()
            .iter()
            .any(|l| l.starts_with("block 2 waiting")),
        "try_wait never blocks"
    );
}

#[test]
fn try_wait_reaps_only_children_that_have_ended() {
    let run = support::run(b"", |sys| async move {
        let quick = sys.spawn_fn(|_| async { 1 }).await.unwrap();
        let slow = sleeper(&sys, 50, 2).await;
        sys.yield_now().await;
        assert_eq!(sys.try_wait(None).await, Ok(Some((quick, 1))));
        assert_eq!(sys.try_wait(None).await, Ok(None));
        assert_eq!(sys.wait_any().await, Ok((slow, 2)));
        0
    });
    run.expect_clean();
}

#[test]
fn a_waited_child_is_gone_from_the_task_table() {
    let run = support::run(b"", |sys| async move {
        let pid = sys.spawn_fn(|_| async { 0 }).await.unwrap();
        sys.wait(pid).await.unwrap();
        assert!(sys.tasks().await.iter().all(|t| t.pid != pid));
        0
    });
    run.expect_clean();
    assert!(!run.kernel.has_task(Pid(3)));
}
