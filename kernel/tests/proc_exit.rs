//! exit: a program's return value is its status; exit(code) ends it early.

mod support;

use std::cell::Cell;
use std::rc::Rc;

use syscalls::{Sys, Syscall, TaskState};

#[test]
fn the_first_tasks_return_value_is_the_kernels_status() {
    for code in [0u8, 3, 200, 255] {
        let run = support::run(b"", move |_sys| async move { code });
        assert_eq!(run.status, Some(code));
    }
}

#[test]
fn exit_ends_the_task_at_once_and_code_after_it_never_runs() {
    let after = Rc::new(Cell::new(false));
    let flag = after.clone();
    let run = support::run(b"", move |sys| async move {
        let pid = sys
            .spawn_fn(move |sys| async move {
                sys.print("before\n").await.unwrap();
                // The raw call, so that a reply would let the code go on
                // (`Sys::exit` returns `Infallible`).
                // SAFETY: exit carries no buffer.
                let _ = unsafe { sys.call(Syscall::Exit(17)) }.await;
                flag.set(true);
                sys.print("after\n").await.unwrap();
                0
            })
            .await
            .unwrap();
        assert_eq!(sys.wait(pid).await, Ok((pid, 17)));
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "before\n");
    assert!(!after.get(), "no code after exit ran");
}

async fn deep(sys: &Sys, depth: u32) {
    if depth == 0 {
        match sys.exit(42).await {}
    }
    Box::pin(deep(sys, depth - 1)).await;
    let _ = sys.print("unwound past exit\n").await;
}

#[test]
fn exit_from_deep_inside_nested_calls_ends_the_whole_task() {
    let run = support::run(b"", |sys| async move {
        let pid = sys
            .spawn_fn(|sys| async move {
                deep(&sys, 5).await;
                0
            })
            .await
            .unwrap();
        assert_eq!(sys.wait(pid).await, Ok((pid, 42)));
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "");
}

#[test]
fn exit_of_the_first_task_halts_the_kernel_with_that_code() {
    let run = support::run(b"", |sys| async move {
        sys.print("bye\n").await.unwrap();
        match sys.exit(12).await {}
    });
    assert_eq!(run.status, Some(12));
    assert_eq!(run.stdout, "bye\n");
    assert!(!run.kernel.has_task(syscalls::Pid(2)));
}

#[test]
fn an_exited_child_keeps_its_exit_code_as_a_zombie_until_waited() {
    let run = support::run(b"", |sys| async move {
        let pid = sys
            .spawn_fn(|sys| async move { match sys.exit(77).await {} })
            .await
            .unwrap();
        sys.yield_now().await;
        let row = sys.tasks().await.into_iter().find(|t| t.pid == pid);
        assert_eq!(row.unwrap().state, TaskState::Zombie(77));
        assert_eq!(sys.wait(pid).await, Ok((pid, 77)));
        assert!(sys.tasks().await.iter().all(|t| t.pid != pid));
        0
    });
    run.expect_clean();
}
