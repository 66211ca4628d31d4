//! The order the scheduler chooses: round robin among ready tasks, a yield
//! goes behind every task already ready, and a busy task cannot hold the
//! CPU for ever.

mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use syscalls::{Command, Pid};

#[test]
fn three_tasks_yielding_in_turn_print_abcabc() {
    let run = support::run(b"", |sys| async move {
        for name in ["A", "B", "C"] {
            Command::from_fn(move |sys| async move {
                for _ in 0..4 {
                    sys.print(name).await.unwrap();
                    sys.yield_now().await;
                }
                0
            })
            .name(name)
            .spawn(&sys)
            .await
            .unwrap();
        }
        while sys.wait_any().await.is_ok() {}
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "ABCABCABCABC");
}

#[test]
fn a_yield_goes_behind_every_task_already_ready() {
    let order = Rc::new(RefCell::new(String::new()));
    let log = order.clone();
    let run = support::run(b"", move |sys| async move {
        for name in ['1', '2', '3'] {
            let log = log.clone();
            sys.spawn_fn(move |_| async move {
                log.borrow_mut().push(name);
                0
            })
            .await
            .unwrap();
        }
        log.borrow_mut().push('m');
        sys.yield_now().await;
        log.borrow_mut().push('M');
        while sys.wait_any().await.is_ok() {}
        0
    });
    run.expect_clean();
    assert_eq!(*order.borrow(), "m123M");
}

#[test]
fn a_woken_task_goes_behind_the_tasks_already_ready() {
    let order = Rc::new(RefCell::new(Vec::<String>::new()));
    let log = order.clone();
    let run = support::run(b"", move |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let reader_log = log.clone();
        Command::from_fn(move |sys| async move {
            let mut buf = [0u8; 1];
            sys.read(syscalls::Fd(0), &mut buf).await.unwrap();
            reader_log.borrow_mut().push("reader".into());
            0
        })
        .fds(syscalls::FdMap::empty().set(syscalls::Fd(0), r))
        .spawn(&sys)
        .await
        .unwrap();
        sys.yield_now().await; // the reader blocks
        for name in ["x", "y"] {
            let log = log.clone();
            sys.spawn_fn(move |_| async move {
                log.borrow_mut().push(name.into());
                0
            })
            .await
            .unwrap();
        }
        sys.write(w, b"!").await.unwrap(); // wakes the reader
        sys.yield_now().await;
        log.borrow_mut().push("main".into());
        while sys.wait_any().await.is_ok() {}
        0
    });
    run.expect_clean();
    assert_eq!(*order.borrow(), vec!["x", "y", "reader", "main"]);
}

#[test]
fn a_task_that_never_blocks_still_lets_the_others_run() {
    // Hostile: a task that makes calls that finish at once, for ever,
    // until another task (which needs one turn) tells it to stop.
    let stop = Rc::new(Cell::new(false));
    let calls = Rc::new(Cell::new(0u32));
    let (stop2, calls2, stop3) = (stop.clone(), calls.clone(), stop.clone());
    let run = support::run(b"", move |sys| async move {
        let busy = sys
            .spawn_fn(move |sys| async move {
                while !stop2.get() {
                    sys.getpid().await;
                    calls2.set(calls2.get() + 1);
                }
                0
            })
            .await
            .unwrap();
        let helper = sys
            .spawn_fn(move |_| async move {
                stop3.set(true);
                0
            })
            .await
            .unwrap();
        assert_eq!(sys.wait(busy).await, Ok((busy, 0)));
        assert_eq!(sys.wait(helper).await, Ok((helper, 0)));
        0
    });
    run.expect_clean();
    assert!(stop.get());
    assert!(
        (1..=64).contains(&calls.get()),
        "the busy task was preempted after a quantum: {} calls",
        calls.get()
    );
}

#[test]
fn calls_that_finish_at_once_do_not_give_up_the_cpu() {
    let run = support::run(b"", |sys| async move {
        let child = sys
            .spawn_fn(|sys| async move {
                sys.print("child ").await.unwrap();
                0
            })
            .await
            .unwrap();
        // getpid, now, tasks and print all finish at once: main runs on.
        for _ in 0..5 {
            sys.getpid().await;
            sys.now().await;
        }
        sys.print("main ").await.unwrap();
        sys.wait(child).await.unwrap();
        sys.print("end").await.unwrap();
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "main child end");
}

#[test]
fn tasks_first_run_in_the_order_they_were_spawned() {
    let run = support::run(b"", |sys| async move {
        let mut pids = Vec::new();
        for i in 0..10 {
            let pid = sys
                .spawn_fn(move |sys| async move {
                    sys.print(&format!("{i} ")).await.unwrap();
                    0
                })
                .await
                .unwrap();
            pids.push(pid);
        }
        for pid in pids {
            sys.wait(pid).await.unwrap();
        }
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "0 1 2 3 4 5 6 7 8 9 ");
    let runs: Vec<String> = run
        .trace_lines()
        .into_iter()
        .filter(|l| l.starts_with("run ") && l != "run 1" && l != "run 2")
        .collect();
    let expected: Vec<String> = (3..13).map(|p| format!("run {}", Pid(p))).collect();
    assert_eq!(runs, expected);
}
