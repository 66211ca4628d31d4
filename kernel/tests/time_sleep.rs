//! sleep, now and the virtual clock: sleepers wake in deadline order, at
//! their deadline exactly, and no real time passes.

mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use syscalls::{Fd, Signal, Sys};

type Log = Rc<RefCell<Vec<(String, Duration)>>>;

/// Spawns a child that sleeps `ms` and logs its name and the time it woke.
async fn sleeper(sys: &Sys, log: &Log, name: &str, ms: u64) {
    let (log, name) = (log.clone(), name.to_string());
    sys.spawn_fn(move |sys| async move {
        sys.sleep(Duration::from_millis(ms)).await.unwrap();
        let now = sys.now().await;
        log.borrow_mut().push((name, now));
        0
    })
    .await
    .unwrap();
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn shorter_sleeps_wake_first_regardless_of_start_order() {
    let log: Log = Rc::default();
    let seen = log.clone();
    let run = support::run(b"", move |sys| async move {
        sleeper(&sys, &seen, "long", 3000).await;
        sleeper(&sys, &seen, "short", 1000).await;
        sleeper(&sys, &seen, "mid", 2000).await;
        while sys.wait_any().await.is_ok() {}
        0
    });
    run.expect_clean();
    assert_eq!(
        *log.borrow(),
        vec![
            ("short".to_string(), ms(1000)),
            ("mid".to_string(), ms(2000)),
            ("long".to_string(), ms(3000)),
        ],
        "each woke at its deadline exactly"
    );
    assert_eq!(run.kernel.now(), ms(3000));
}

#[test]
fn a_sleep_started_later_but_due_sooner_wakes_first() {
    let log: Log = Rc::default();
    let seen = log.clone();
    let run = support::run(b"", move |sys| async move {
        sleeper(&sys, &seen, "early-start", 500).await;
        sys.sleep(ms(200)).await.unwrap();
        sleeper(&sys, &seen, "late-start", 100).await;
        while sys.wait_any().await.is_ok() {}
        0
    });
    run.expect_clean();
    assert_eq!(
        *log.borrow(),
        vec![
            ("late-start".to_string(), ms(300)),
            ("early-start".to_string(), ms(500)),
        ]
    );
}

#[test]
fn now_starts_at_zero_and_moves_only_when_every_task_sleeps() {
    let run = support::run(b"", |sys| async move {
        assert_eq!(sys.now().await, Duration::ZERO);
        for _ in 0..100 {
            sys.yield_now().await;
        }
        assert_eq!(sys.now().await, Duration::ZERO, "yields take no time");
        sys.sleep(Duration::from_micros(1500)).await.unwrap();
        assert_eq!(sys.now().await, Duration::from_micros(1500));
        sys.sleep(Duration::from_secs(86_400)).await.unwrap();
        assert_eq!(
            sys.now().await,
            Duration::from_secs(86_400) + Duration::from_micros(1500)
        );
        0
    });
    run.expect_clean();
}

#[test]
fn sleep_of_zero_is_a_yield_and_takes_no_time() {
    let log: Log = Rc::default();
    let seen = log.clone();
    let run = support::run(b"", move |sys| async move {
        let other = seen.clone();
        sys.spawn_fn(move |sys| async move {
            let now = sys.now().await;
            other.borrow_mut().push(("child".into(), now));
            0
        })
        .await
        .unwrap();
        sys.sleep(Duration::ZERO).await.unwrap();
        let now = sys.now().await;
        seen.borrow_mut().push(("main".into(), now));
        sys.wait_any().await.unwrap();
        0
    });
    run.expect_clean();
    assert_eq!(
        *log.borrow(),
        vec![
            ("child".to_string(), Duration::ZERO),
            ("main".to_string(), Duration::ZERO)
        ],
        "the child ran during main's zero sleep"
    );
    assert!(
        !run.trace_lines().iter().any(|l| l.contains("sleeping")),
        "a zero sleep never blocks"
    );
}

#[test]
fn kernel_advance_moves_virtual_time_and_wakes_only_the_sleepers_due() {
    use kernel::Step::Ran;
    use syscalls::Pid;
    let (mut k, out, err) = support::boot_open(b"", support::config(), vec![], |sys| async move {
        sys.spawn_fn(|sys| async move {
            sys.sleep(Duration::from_secs(5)).await.unwrap();
            sys.print(&format!("child woke at {:?}\n", sys.now().await))
                .await
                .unwrap();
            0
        })
        .await
        .unwrap();
        // main blocks on the console, so only the sleeper has a deadline.
        let mut buf = [0u8; 8];
        let n = sys.read(Fd::STDIN, &mut buf).await.unwrap();
        sys.print(&format!("main read {n} at {:?}\n", sys.now().await))
            .await
            .unwrap();
        sys.wait_any().await.unwrap();
        0
    });
    // Init starts main; main starts the sleeper and blocks; the sleeper
    // blocks. (An idle step would let virtual time jump: none is taken.)
    assert_eq!(k.step(), Ran(Pid(1)));
    assert_eq!(k.step(), Ran(Pid(2)));
    assert_eq!(k.step(), Ran(Pid(3)));
    k.advance(Duration::from_secs(2));
    assert_eq!(k.now(), Duration::from_secs(2));
    k.feed_console(b"go");
    // Only main is ready: the sleeper is not due at 2s.
    assert_eq!(k.step(), Ran(Pid(2)));
    assert_eq!(support::text(&out), "main read 2 at 2s\n");
    k.advance(Duration::from_secs(3));
    assert_eq!(k.step(), Ran(Pid(3)));
    assert_eq!(support::text(&out), "main read 2 at 2s\nchild woke at 5s\n");
    let status = support::run_until_idle(&mut k);
    let run = support::finish(k, status, &out, &err);
    run.expect_clean();
    assert_eq!(run.kernel.now(), Duration::from_secs(5));
}

#[test]
fn a_sleep_too_long_to_add_to_now_sleeps_forever_instead_of_crashing_the_kernel() {
    // Hostile: sleep(Duration::MAX) once the clock is past zero.
    let run = support::run(b"", |sys| async move {
        sys.sleep(ms(1)).await.unwrap();
        let pid = sys
            .spawn_fn(|sys| async move {
                let _ = sys.sleep(Duration::MAX).await;
                sys.print("woke from forever\n").await.unwrap();
                0
            })
            .await
            .unwrap();
        sys.yield_now().await;
        sys.kill(pid, Signal::Kill).await.unwrap();
        assert_eq!(sys.wait(pid).await, Ok((pid, 137)));
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "");
}

#[test]
fn virtual_time_does_not_jump_to_the_deadline_of_a_killed_sleeper() {
    let (mut k, out, err) = support::boot_open(b"", support::config(), vec![], |sys| async move {
        let pid = sys
            .spawn_fn(|sys| async move {
                sys.sleep(Duration::from_secs(3600)).await.unwrap();
                0
            })
            .await
            .unwrap();
        sys.yield_now().await;
        sys.kill(pid, Signal::Kill).await.unwrap();
        sys.wait(pid).await.unwrap();
        // Nothing sleeps now: waiting for the console must not move time.
        let mut buf = [0u8; 4];
        sys.read(Fd::STDIN, &mut buf).await.unwrap();
        sys.print(&format!("{:?}\n", sys.now().await))
            .await
            .unwrap();
        0
    });
    assert_eq!(support::run_until_idle(&mut k), None);
    assert_eq!(k.now(), Duration::ZERO, "no live task has a deadline");
    k.feed_console(b"x");
    let status = support::run_until_idle(&mut k);
    let run = support::finish(k, status, &out, &err);
    run.expect_clean();
    assert_eq!(run.stdout, "0ns\n");
}
