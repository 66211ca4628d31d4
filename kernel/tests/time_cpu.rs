//! CPU time, as `ps` shows it: a task that computes is charged what it
//! ran, within a tick of the CPU clock (`time::CpuClock`).

mod support;

use std::time::{Duration, Instant};

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
