//! Signals sent to the coos process itself: SIGTERM shuts coos down in
//! order (every task ended, all reaped, exit 128 + 15); SIGINT ends the
//! foreground program (130). The test waits for the program to say it is
//! running before it signals, and bounds every wait.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

fn run_until_ready_then(signal: Signal) -> Option<i32> {
    let mut coos = Command::new(env!("CARGO_BIN_EXE_coos"))
        .args(["run", "sh", "-c", "sleep 1000 & echo ready; sleep 1000"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("coos starts");
    let mut out = BufReader::new(coos.stdout.take().expect("piped"));
    let mut line = String::new();
    out.read_line(&mut line).expect("coos prints");
    assert_eq!(line, "ready\n");
    kill(Pid::from_raw(coos.id() as i32), signal).expect("signal sent");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = coos.try_wait().expect("wait for coos") {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = coos.kill();
            panic!("coos did not stop after {signal}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sigterm_shuts_coos_down_with_status_143() {
    assert_eq!(run_until_ready_then(Signal::SIGTERM), Some(143));
}

#[test]
fn sigint_ends_the_foreground_program_and_coos_exits_130() {
    assert_eq!(run_until_ready_then(Signal::SIGINT), Some(130));
}

#[test]
fn sighup_shuts_coos_down_with_status_129() {
    assert_eq!(run_until_ready_then(Signal::SIGHUP), Some(129));
}
