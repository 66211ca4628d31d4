//! An idle coos uses no CPU: the interactive shell waiting at its prompt,
//! and the `coos` binary running `sleep`, leave the kernel asleep in the
//! poller. (The kernel's own tests, `kernel/tests/idle_poller.rs`, cover a
//! sleeping task, a server in `accept` and a deadlocked pipeline.)

mod support;

use std::time::Duration;

use kernel::{Capture, ConsoleInput, ConsoleOutput, ConsoleSpec, Kernel};
use nix::sys::resource::{getrusage, UsageWho};

/// How long coos sits idle.
const IDLE: Duration = Duration::from_millis(300);

#[test]
fn the_shell_waiting_at_its_prompt_leaves_the_poller_asleep() {
    // A terminal whose person never types: the line editor is asked for a
    // line and never answers.
    let screen = Capture::default();
    let console = ConsoleSpec {
        input: ConsoleInput::Terminal(Box::new(|_| {})),
        stdout: ConsoleOutput::Capture(screen.clone()),
        stderr: ConsoleOutput::Capture(screen.clone()),
        terminal: Some(true),
    };
    let config = kernel::Config {
        clock: kernel::ClockKind::Host,
        ..kernel::Config::default()
    };
    let mut kernel: Kernel = coos::boot(config, console, &["sh".to_string()]).expect("boot");
    kernel::testing::run_for(&mut kernel, IDLE);
    let waits = kernel.stats().poller_waits;
    assert!(
        String::from_utf8_lossy(&screen.borrow()).contains("$ "),
        "the prompt was shown"
    );
    assert!(waits <= 20, "the poller returned {waits} times in {IDLE:?}");
}

#[test]
fn coos_running_sleep_uses_next_to_no_cpu() {
    let before = getrusage(UsageWho::RUSAGE_CHILDREN).expect("getrusage");
    let out = support::child::run(&["run", "sleep", "0.5"]);
    assert!(out.status.success(), "coos run sleep 0.5: {out:?}");
    let after = getrusage(UsageWho::RUSAGE_CHILDREN).expect("getrusage");
    let cpu = |u: &nix::sys::resource::Usage| {
        let (us, sy) = (u.user_time(), u.system_time());
        Duration::new(us.tv_sec() as u64, us.tv_usec() as u32 * 1000)
            + Duration::new(sy.tv_sec() as u64, sy.tv_usec() as u32 * 1000)
    };
    let used = cpu(&after) - cpu(&before);
    // A spinning kernel burns the whole half second; an idle one a few ms
    // (boot included). The bound leaves room for a loaded machine.
    assert!(
        used < Duration::from_millis(250),
        "coos used {used:?} of CPU sleeping 0.5 s"
    );
}
