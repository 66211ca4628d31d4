//! Drop counters: however a task ends, its coroutine (and everything it
//! holds) is dropped exactly once, at the moment it ends.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use syscalls::{Command, Errno, Fd, FdMap, PGroup, Signal};

/// Counts its drops in a shared cell.
struct Guard(Rc<Cell<u32>>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

fn counter() -> (Rc<Cell<u32>>, Guard) {
    let count = Rc::new(Cell::new(0));
    let guard = Guard(count.clone());
    (count, guard)
}

#[test]
fn a_task_killed_while_blocked_in_read_is_dropped_exactly_once() {
    let (drops, guard) = counter();
    let seen = drops.clone();
    let run = support::run(b"", move |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let pid = Command::from_fn(move |sys| async move {
            let _held = guard;
            let mut buf = [0u8; 4];
            let _ = sys.read(Fd(0), &mut buf).await;
            0
        })
        .fds(FdMap::empty().set(Fd(0), r))
        .spawn(&sys)
        .await
        .unwrap();
        sys.yield_now().await;
        assert_eq!(seen.get(), 0, "alive while blocked");
        sys.kill(pid, Signal::Kill).await.unwrap();
        assert_eq!(seen.get(), 1, "dropped by the kill itself");
        // A write to the pipe the dead reader was parked on must not touch it.
        sys.close(r).await.unwrap();
        assert_eq!(sys.write(w, b"late").await, Err(Errno::EPIPE));
        assert_eq!(sys.wait(pid).await, Ok((pid, 137)));
        assert_eq!(seen.get(), 1, "not again when reaped");
        0
    });
    run.expect_clean();
    assert_eq!(drops.get(), 1);
}

#[test]
fn a_task_killed_while_its_reader_waits_with_data_pending_is_dropped_once() {
    // Hostile: the reader is killed after a writer handed it bytes but
    // before it ran to take them.
    let (drops, guard) = counter();
    let run = support::run(b"", move |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let pid = Command::from_fn(move |sys| async move {
            let _held = guard;
            let mut buf = [0u8; 4];
            let _ = sys.read(Fd(0), &mut buf).await;
            sys.print("reader ran on\n").await.unwrap();
            0
        })
        .fds(FdMap::stdio().set(Fd(0), r))
        .spawn(&sys)
        .await
        .unwrap();
        sys.yield_now().await;
        sys.write(w, b"data").await.unwrap();
        sys.kill(pid, Signal::Term).await.unwrap();
        assert_eq!(sys.wait(pid).await, Ok((pid, 143)));
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "");
    assert_eq!(drops.get(), 1);
}

#[test]
fn tasks_killed_while_sleeping_waiting_or_writing_are_each_dropped_once() {
    let (sleep_drops, sleep_guard) = counter();
    let (wait_drops, wait_guard) = counter();
    let (write_drops, write_guard) = counter();
    let (ready_drops, ready_guard) = counter();
    let counts = [
        sleep_drops.clone(),
        wait_drops.clone(),
        write_drops.clone(),
        ready_drops.clone(),
    ];
    let run = support::run(b"", move |sys| async move {
        let sleeper = sys
            .spawn_fn(move |sys| async move {
                let _held = sleep_guard;
                sys.sleep(Duration::from_secs(10)).await.unwrap();
                0
            })
            .await
            .unwrap();
        let waiter = sys
            .spawn_fn(move |sys| async move {
                let _held = wait_guard;
                let child = sys
                    .spawn_fn(|sys| async move {
                        sys.sleep(Duration::from_secs(10)).await.unwrap();
                        0
                    })
                    .await
                    .unwrap();
                let _ = sys.wait(child).await;
                0
            })
            .await
            .unwrap();
        let (_r, w) = sys.pipe_with_capacity(4).await.unwrap();
        let writer = Command::from_fn(move |sys| async move {
            let _held = write_guard;
            let _ = sys.write_all(Fd(1), b"more than four").await;
            0
        })
        .fds(FdMap::empty().set(Fd(1), w))
        .spawn(&sys)
        .await
        .unwrap();
        // Never polled: the guard is in the closure's future, not yet run.
        let never_ran = sys
            .spawn_fn(move |_| async move {
                let _held = ready_guard;
                0
            })
            .await
            .unwrap();
        sys.kill(never_ran, Signal::Kill).await.unwrap();
        sys.yield_now().await;
        for pid in [sleeper, waiter, writer] {
            sys.kill(pid, Signal::Kill).await.unwrap();
        }
        for pid in [sleeper, waiter, writer, never_ran] {
            assert_eq!(sys.wait(pid).await, Ok((pid, 137)));
        }
        0
    });
    run.expect_clean();
    for (what, count) in ["sleeping", "waiting", "writing", "never ran"]
        .iter()
        .zip(&counts)
    {
        assert_eq!(count.get(), 1, "{what}");
    }
}

#[test]
fn tasks_that_return_exit_panic_or_stall_are_each_dropped_once() {
    let (ret_drops, ret_guard) = counter();
    let (exit_drops, exit_guard) = counter();
    let (panic_drops, panic_guard) = counter();
    let (stall_drops, stall_guard) = counter();
    let counts = [
        ret_drops.clone(),
        exit_drops.clone(),
        panic_drops.clone(),
        stall_drops.clone(),
    ];
    let run = support::run(b"", move |sys| async move {
        let a = sys
            .spawn_fn(move |sys| async move {
                let _held = ret_guard;
                sys.yield_now().await;
                1
            })
            .await
            .unwrap();
        let b = sys
            .spawn_fn(move |sys| async move {
                let _held = exit_guard;
                match sys.exit(2).await {}
            })
            .await
            .unwrap();
        let c = sys
            .spawn_fn(move |sys| async move {
                let _held = panic_guard;
                sys.yield_now().await;
                panic!("on purpose");
            })
            .await
            .unwrap();
        let d = sys
            .spawn_fn(move |_| async move {
                let _held = stall_guard;
                std::future::pending::<()>().await;
                0
            })
            .await
            .unwrap();
        assert_eq!(sys.wait(a).await, Ok((a, 1)));
        assert_eq!(sys.wait(b).await, Ok((b, 2)));
        assert_eq!(sys.wait(c).await, Ok((c, 101)));
        assert_eq!(sys.wait(d).await, Ok((d, 101)));
        0
    });
    run.expect_status(0);
    for (what, count) in ["returned", "exited", "panicked", "stalled"]
        .iter()
        .zip(&counts)
    {
        assert_eq!(count.get(), 1, "{what}");
    }
}

#[test]
fn every_member_of_a_killed_group_is_dropped_once() {
    let counts: Vec<(Rc<Cell<u32>>, Guard)> = (0..4).map(|_| counter()).collect();
    let (cells, guards): (Vec<_>, Vec<_>) = counts.into_iter().unzip();
    let run = support::run(b"", move |sys| async move {
        let mut guards = guards.into_iter();
        let first = guards.next().unwrap();
        let leader = Command::from_fn(move |sys| async move {
            let _held = first;
            sys.sleep(Duration::from_secs(1)).await.unwrap();
            0
        })
        .pgroup(PGroup::New)
        .spawn(&sys)
        .await
        .unwrap();
        let mut pids = vec![leader];
        for guard in guards {
            let pid = Command::from_fn(move |sys| async move {
                let _held = guard;
                sys.sleep(Duration::from_secs(1)).await.unwrap();
                0
            })
            .pgroup(PGroup::Join(leader))
            .spawn(&sys)
            .await
            .unwrap();
            pids.push(pid);
        }
        sys.yield_now().await;
        sys.kill_group(leader, Signal::Int).await.unwrap();
        for pid in pids {
            assert_eq!(sys.wait(pid).await, Ok((pid, 130)));
        }
        0
    });
    run.expect_clean();
    for cell in &cells {
        assert_eq!(cell.get(), 1);
    }
}

#[test]
fn a_task_init_ends_at_shutdown_is_dropped_once() {
    let (drops, guard) = counter();
    let run = support::run(b"", move |sys| async move {
        sys.spawn_fn(move |sys| async move {
            let _held = guard;
            sys.sleep(Duration::from_secs(3600)).await.unwrap();
            0
        })
        .await
        .unwrap();
        sys.yield_now().await;
        0
    });
    run.expect_clean();
    assert_eq!(drops.get(), 1);
}

#[test]
fn a_spawn_that_fails_drops_the_closure_once_without_running_it() {
    let (drops, guard) = counter();
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let run = support::run(b"", move |sys| async move {
        let result = Command::from_fn(move |_| async move {
            let _held = guard;
            flag.set(true);
            0
        })
        .fds(FdMap::empty().set(Fd(0), Fd(99)))
        .spawn(&sys)
        .await;
        assert_eq!(result, Err(Errno::EBADF));
        0
    });
    run.expect_clean();
    assert_eq!(drops.get(), 1);
    assert!(!ran.get());
}
