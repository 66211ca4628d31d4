//! Programs that misbehave on purpose, to show (and test) what coos does
//! about them. `busy` computes without a system call and so holds the
//! kernel thread: the watchdog reports it, and host signals still end
//! coos. `recurse` recurses until the stack runs out: coos says which task
//! did before the process ends.

use std::time::{Duration, Instant};

use syscalls::{ExitCode, Sys};

/// `busy`'s line in `coos programs`.
pub const BUSY_ABOUT: &str =
    "spin for SECONDS without a system call, holding coos (the watchdog's test)";

/// `recurse`'s line in `coos programs`.
pub const RECURSE_ABOUT: &str =
    "recurse until the stack runs out, which ends coos (the overflow report's test)";

const BUSY_USAGE: &str = "Usage: busy SECONDS\n\
    Spin for SECONDS (a decimal number) without a system call. coos cannot\n\
    preempt a task: meanwhile no other task runs, and the watchdog says so.\n";

/// Says it starts, then spins for the seconds it is given.
pub async fn busy(sys: Sys, args: Vec<String>) -> ExitCode {
    let seconds = match args.get(1..) {
        Some([help]) if help == "--help" => {
            let _ = sys.print(BUSY_USAGE).await;
            return 0;
        }
        Some([text]) => text
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e9),
        _ => None,
    };
    let Some(seconds) = seconds else {
        let _ = sys.eprint(BUSY_USAGE).await;
        return 2;
    };
    // In the same turn as the spin: the line is out when the spin starts.
    let _ = sys
        .print(&format!("busy: spinning for {seconds} s\n"))
        .await;
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    // Reading the host's clock is no system call of coos (nor, through the
    // vDSO, of the host).
    while Instant::now() < until {
        std::hint::spin_loop();
    }
    0
}

/// Says it starts, then recurses until the stack runs out.
pub async fn recurse(sys: Sys, args: Vec<String>) -> ExitCode {
    if args.get(1).is_some_and(|a| a == "--help") {
        let _ = sys
            .print("Usage: recurse\nRecurse until the stack runs out, which ends coos.\n")
            .await;
        return 0;
    }
    let _ = sys.print("recurse: going down\n").await;
    let depth = dive(0);
    let _ = sys.print(&format!("recurse: back from {depth}\n")).await;
    0
}

/// Recurses with a half-KiB frame for ever (the end is out of reach).
#[inline(never)]
fn dive(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 64]);
    if frame[0] == u64::MAX {
        return depth;
    }
    dive(depth + 1).wrapping_add(std::hint::black_box(frame)[1])
}
