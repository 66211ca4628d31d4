//! CPU time, as `ps` shows it: a task that computes is charged what it
//! ran, within a tick of the CPU clock (`time::CpuClock`). One test runs
//! on the host's clock and its ticker thread; one on a CPU clock the test
//! moves by hand, where the bookkeeping is checked to the microsecond.

mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use kernel::{Config, CpuClockHandle};
use support::host_clock;

#[test]
fn a_task_that_computes_is_charged_the_time_it_ran() {
    let run = support::run_with(b"", host_clock(), |sys| async move {
        // Computes, without a system call, for 150 ms of the host's time.
        let began = Instant::now();
        let mut x = 1u64;
        while began.elapsed() < Duration::from_millis(150) {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        let ran = began.elapsed();
        sys.yield_now().await;
        let me = sys.getpid().await;
        let charged = support::row_of(&sys, me)
            .await
            .map(|t| t.cpu)
            .unwrap_or_default();
        // The clock moves a millisecond at a time; the host may also have
        // taken the CPU away meanwhile, which both measures count alike.
        let slack = ran / 10;
        let _ = sys
            .print(&format!(
                "ran {} charged {}\n",
                ran.as_micros(),
                charged.as_micros()
            ))
            .await;
        (charged + slack >= ran && charged <= ran + slack + Duration::from_millis(5)) as u8
    });
    assert_eq!(
        run.status,
        Some(1),
        "within 10%: {}{}",
        run.stdout,
        run.stderr
    );
}

/// The bookkeeping, on a CPU clock moved by hand: each turn is charged to
/// the task whose turn it was, time asleep is nobody's, and a zombie keeps
/// its time. A task "computes" by moving the clock (`CpuClockHandle`).
#[test]
fn each_turn_is_charged_to_its_task_on_a_clock_moved_by_hand() {
    let ms = Duration::from_millis;
    let hand: Rc<RefCell<Option<CpuClockHandle>>> = Rc::default();
    let given = hand.clone();
    let config = Config {
        cpu_clock_by_hand: true,
        ..support::config()
    };
    let (mut kernel, out, err) = support::boot(b"", config, move |sys| async move {
        let clock = given.borrow().clone().expect("a clock moved by hand");
        clock.advance(ms(150));
        sys.yield_now().await;
        let theirs = clock.clone();
        let child = sys
            .spawn_fn(move |sys| async move {
                theirs.advance(ms(40));
                sys.sleep(Duration::from_secs(1)).await.unwrap();
                theirs.advance(ms(2));
                0
            })
            .await
            .unwrap();
        // Asleep while the child runs, sleeps and ends (not reaped).
        sys.sleep(Duration::from_secs(2)).await.unwrap();
        let me = sys.getpid().await;
        let cpu = |row: Option<syscalls::TaskInfo>| row.map(|t| t.cpu);
        let mine = cpu(support::row_of(&sys, me).await);
        let childs = cpu(support::row_of(&sys, child).await);
        let inits = cpu(support::row_of(&sys, syscalls::Pid(1)).await);
        let _ = sys
            .print(&format!("me {mine:?} child {childs:?} init {inits:?}\n"))
            .await;
        // Each reading of the clock moves it a nanosecond (readings never
        // repeat), either side of a turn: a few hundred of them are the
        // slack.
        let near = |got: Option<Duration>, want: Duration| {
            got.is_some_and(|got| got.abs_diff(want) < Duration::from_micros(10))
        };
        (near(mine, ms(150)) && near(childs, ms(42)) && near(inits, Duration::ZERO)) as u8
    });
    *hand.borrow_mut() = kernel.cpu_clock_handle();
    let status = support::run_until_idle(&mut kernel);
    assert_eq!(
        status,
        Some(1),
        "{}{}",
        support::text(&out),
        support::text(&err)
    );
}
