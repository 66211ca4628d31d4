//! The order the scheduler chooses: round robin among ready tasks, a yield
//! goes behind every task already ready, a task the running one made ready
//! runs next (so a tree of tasks runs depth first), and neither a busy task,
//! nor a pair of tasks handing work to each other, nor a chain of handoffs
//! can hold the CPU for ever (the bounds of `kernel/src/runq.rs`: 64 turns
//! in a row from `next`, the oldest task in `next` every 4,096 turns).

mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use kernel::testing::Budget;
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
fn a_woken_task_runs_after_the_tasks_readied_before_it_in_the_same_turn() {
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

#[test]
fn a_child_runs_before_the_tasks_waiting_at_the_back() {
    let order = Rc::new(RefCell::new(String::new()));
    let log = order.clone();
    let run = support::run(b"", move |sys| async move {
        let (bg_log, child_log) = (log.clone(), log.clone());
        // A task that yields: after its first turn it waits at the back.
        sys.spawn_fn(move |sys| async move {
            for _ in 0..3 {
                bg_log.borrow_mut().push('b');
                sys.yield_now().await;
            }
            0
        })
        .await
        .unwrap();
        sys.yield_now().await; // b runs once, and yields behind main.
        log.borrow_mut().push('m');
        sys.spawn_fn(move |_| async move {
            child_log.borrow_mut().push('c');
            0
        })
        .await
        .unwrap();
        sys.wait_any().await.unwrap(); // Blocks: the child goes first.
        while sys.wait_any().await.is_ok() {}
        0
    });
    run.expect_clean();
    assert_eq!(*order.borrow(), "bmcbb");
}

/// Spawns a 10-ary tree of `depth` levels below the caller; each task
/// logs its path and waits for its children. Returns the tasks made.
fn tree(
    sys: syscalls::Sys,
    path: String,
    depth: u32,
    log: Rc<RefCell<Vec<String>>>,
) -> syscalls::TaskFuture {
    Box::pin(async move {
        log.borrow_mut().push(path.clone());
        if depth > 0 {
            for i in 0..10 {
                let child = tree(sys.clone(), format!("{path}{i}"), depth - 1, log.clone());
                if Command::from_future(child).spawn(&sys).await.is_err() {
                    return 1;
                }
            }
            while let Ok((_, status)) = sys.wait_any().await {
                if status != 0 {
                    return 1;
                }
            }
        }
        0
    })
}

#[test]
fn a_tree_of_tasks_runs_depth_first_children_in_the_order_spawned() {
    let order = Rc::new(RefCell::new(Vec::new()));
    let log = order.clone();
    let run = support::run(b"", move |sys| async move {
        let root = Command::from_future(tree(sys.clone(), "r".into(), 2, log))
            .spawn(&sys)
            .await
            .unwrap();
        sys.wait(root).await.unwrap().1
    });
    run.expect_status(0);
    let order = order.borrow();
    let mut expected = vec!["r".to_string()];
    for i in 0..10 {
        expected.push(format!("r{i}"));
        expected.extend((0..10).map(|j| format!("r{i}{j}")));
    }
    assert_eq!(*order, expected);
}

#[test]
fn a_tree_of_ten_thousand_tasks_keeps_a_few_hundred_alive_at_most() {
    // Run breadth first, all 11,111 would be alive at once (each waits for
    // its children); depth first, a subtree is reaped before the next one
    // starts. The bound leaves room for the old tasks `next` lets run
    // ahead every few thousand turns (see kernel/src/runq.rs).
    let order = Rc::new(RefCell::new(Vec::new()));
    let log = order.clone();
    let config = kernel::Config {
        trace: false,
        ..support::config()
    };
    let (mut k, _out, _err) = support::boot(b"", config, move |sys| async move {
        let root = Command::from_future(tree(sys.clone(), "r".into(), 4, log))
            .spawn(&sys)
            .await
            .unwrap();
        sys.wait(root).await.unwrap().1
    });
    let mut most = 0;
    let end = kernel::testing::step(&mut k, Budget::DEFAULT, |k, step| {
        most = most.max(k.task_count());
        matches!(step, kernel::Step::Halted(_))
    });
    assert_eq!(end, kernel::Step::Halted(0));
    assert_eq!(order.borrow().len(), 11_111, "every task of the tree ran");
    assert!(most < 500, "{most} tasks alive at once");
}

#[test]
fn a_pair_handing_work_to_each_other_does_not_shut_out_the_others() {
    const PASSES: u32 = 20_000;
    let passes = Rc::new(Cell::new(0u32));
    let (count, seen) = (passes.clone(), passes.clone());
    let run = support::run(b"", move |sys| async move {
        let (a_r, b_w) = sys.pipe().await.unwrap();
        let (b_r, a_w) = sys.pipe().await.unwrap();
        // Two tasks that pass a byte back and forth: each write readies the
        // other, which runs next.
        for (r, w, first) in [(a_r, a_w, true), (b_r, b_w, false)] {
            let count = count.clone();
            Command::from_fn(move |sys| async move {
                let mut byte = [0u8; 1];
                if first {
                    sys.write(syscalls::Fd(1), b"x").await.unwrap();
                }
                while count.get() < PASSES {
                    if sys.read(syscalls::Fd(0), &mut byte).await != Ok(1) {
                        return 0;
                    }
                    count.set(count.get() + 1);
                    if sys.write(syscalls::Fd(1), b"x").await.is_err() {
                        return 0;
                    }
                }
                0
            })
            .fds(
                syscalls::FdMap::empty()
                    .set(syscalls::Fd(0), r)
                    .set(syscalls::Fd(1), w),
            )
            .spawn(&sys)
            .await
            .unwrap();
        }
        for fd in [a_r, a_w, b_r, b_w] {
            sys.close(fd).await.unwrap();
        }
        // main waits at the back, yielding, and still gets its turns.
        for _ in 0..100 {
            sys.yield_now().await;
        }
        let when_done = seen.get();
        while sys.wait_any().await.is_ok() {}
        assert!(
            when_done < PASSES / 2,
            "main's 100 turns came only after {when_done} passes"
        );
        0
    });
    run.expect_clean();
    assert!(passes.get() >= PASSES);
}

#[test]
fn a_parent_woken_by_its_children_runs_once_the_last_of_them_has_run() {
    // Five children each write a byte to their parent's pipe. The first
    // write wakes the parent; it runs behind its children still waiting,
    // then reads the five bytes in one turn (not once between every two).
    let order = Rc::new(RefCell::new(String::new()));
    let log = order.clone();
    let run = support::run(b"", move |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        for _ in 0..5 {
            let log = log.clone();
            Command::from_fn(move |sys| async move {
                log.borrow_mut().push('c');
                sys.write(syscalls::Fd(1), b"x").await.unwrap();
                0
            })
            .fds(syscalls::FdMap::empty().set(syscalls::Fd(1), w))
            .spawn(&sys)
            .await
            .unwrap();
        }
        sys.close(w).await.unwrap();
        let mut byte = [0u8; 1];
        for _ in 0..5 {
            assert_eq!(sys.read(r, &mut byte).await, Ok(1));
            log.borrow_mut().push('p');
        }
        while sys.wait_any().await.is_ok() {}
        0
    });
    run.expect_clean();
    assert_eq!(*order.borrow(), "cccccppppp");
}

/// A link of an endless chain of handoffs: spawns the next link (`left`
/// more) and ends, so `next` always has a fresh task at its front.
fn link(sys: syscalls::Sys, left: u32) -> syscalls::TaskFuture {
    Box::pin(async move {
        if left > 0
            && Command::from_future(link(sys.clone(), left - 1))
                .name("link")
                .spawn(&sys)
                .await
                .is_err()
        {
            return 1;
        }
        0
    })
}

#[test]
fn a_task_left_in_next_runs_within_4096_turns_while_a_chain_of_handoffs_goes_on() {
    // Hostile: a chain of tasks, each spawning the next and ending: each
    // new link runs next, ahead of its waiting sibling. Every 4,096 turns
    // the task longest in `next` runs (README, How the scheduler picks).
    const LINKS: u32 = 20_000;
    const AGE: usize = 4096;
    let run = support::run(b"", |sys| async move {
        // Spawned in one turn: the chain's head runs first, the sibling
        // waits behind it in `next`.
        Command::from_future(link(sys.clone(), LINKS))
            .name("link")
            .spawn(&sys)
            .await
            .unwrap();
        let sibling = Command::from_fn(|_| async { 0 })
            .name("sibling")
            .spawn(&sys)
            .await
            .unwrap();
        sys.wait(sibling).await.unwrap();
        while sys.wait_any().await.is_ok() {}
        0
    });
    run.expect_clean();
    let trace = run.trace_lines();
    let sibling = run
        .trace
        .iter()
        .find_map(|e| match e {
            kernel::Event::Spawn { child, name, .. } if name == "sibling" => Some(*child),
            _ => None,
        })
        .expect("the sibling was spawned");
    let spawned = trace
        .iter()
        .position(|l| l.ends_with(&format!("-> {sibling} sibling")))
        .expect("its spawn");
    let ran = spawned
        + trace[spawned..]
            .iter()
            .position(|l| *l == format!("run {sibling}"))
            .expect("the sibling ran");
    let turns = trace[spawned..ran]
        .iter()
        .filter(|l| l.starts_with("run "))
        .count();
    assert!(
        turns <= AGE,
        "the sibling waited {turns} turns behind the chain"
    );
    // And the chain was still going: the sibling did not merely outlast it.
    let links_after = trace[ran..].iter().filter(|l| l.ends_with(" link")).count();
    assert!(links_after > 0, "the chain had ended when the sibling ran");
}
