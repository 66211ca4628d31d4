//! The bound on a kernel run in a test, and what a test that hits it says.
//!
//! A regression (a kill that misses blocked tasks, a pipe that never
//! reaches end-of-file) must fail its test, not hang the suite: a hung
//! run in CI is cut off from outside and says nothing about why. So every
//! run the harness drives has a [`Budget`]: on the virtual clock a number
//! of steps, which makes the bound deterministic (a run that fails, fails
//! at the same step every time); on the host's clock a time instead, since
//! a step there may sleep in the poller. A run that spends its budget
//! panics with the task table and the end of the event trace: what every
//! task was still waiting for.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use syscalls::ExitCode;

use crate::{Kernel, Step};

/// How far a test run may go before it fails.
///
/// On the virtual clock a run is bounded by steps alone, never by time, so
/// the bound is deterministic. A step is one call into the scheduler: for
/// [`Harness`](super::Harness) and [`step`], one task's turn or one look
/// at events (`Kernel::step`). [`run_until_idle`] and [`run`] drive the
/// kernel in batches, as `Kernel::run_until_idle` and `Kernel::run` do
/// (up to 64 turns, then a look at events), and charge each batch 64
/// steps.
///
/// On the host's clock a run is bounded by time alone: there a run may
/// wait for a socket or a thread, and how many steps that takes depends
/// on how fast the host answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Steps before a run on the virtual clock fails.
    pub steps: u64,
    /// Host time before a run on the host's clock fails.
    pub time: Duration,
}

impl Budget {
    /// The budget of every run that names none. The steps are five times
    /// what the longest such run of the suite takes (a pair of tasks
    /// passing 20,000 bytes: 315 batches), a run that never halts spends
    /// them in a few seconds of a debug build, and its trace (a few
    /// million events) fits in memory. The time is long enough for a loaded
    /// machine, short enough to fail within a minute.
    pub const DEFAULT: Budget = Budget {
        steps: 100_000,
        time: Duration::from_secs(30),
    };

    /// This many steps (for a run on the virtual clock).
    pub const fn steps(steps: u64) -> Budget {
        Budget {
            steps,
            time: Budget::DEFAULT.time,
        }
    }
}

impl Default for Budget {
    fn default() -> Budget {
        Budget::DEFAULT
    }
}

/// The steps a batch is charged: the most turns it takes, so that a
/// budget means about as much work whichever way the kernel is driven.
const BATCH: u64 = crate::sched::CHECK_EVERY as u64;

/// How many events of the trace a failure shows.
const TRACE_TAIL: usize = 40;

/// Keeps count of a run's steps and time; panics with the kernel's tasks
/// and trace once the budget is spent.
pub(crate) struct Meter {
    budget: Budget,
    steps: u64,
    /// On the host's clock: the time the run must end by, and the alarm
    /// that wakes a kernel asleep in the poller then. (Steps are not
    /// counted against the budget.)
    deadline: Option<(Instant, Alarm)>,
}

impl Meter {
    /// Starts counting for a run of `kernel`.
    pub(crate) fn start(kernel: &Kernel, budget: Budget) -> Meter {
        let deadline = (!kernel.clock.is_virtual()).then(|| {
            (
                Instant::now() + budget.time,
                Alarm::set(kernel, budget.time),
            )
        });
        Meter {
            budget,
            steps: 0,
            deadline,
        }
    }

    /// Counts `steps` steps. Panics if the budget is spent: `waiting` says
    /// what the run waited for, `more` is added to the report (what the
    /// console got, for the harness).
    #[track_caller]
    pub(crate) fn charge(
        &mut self,
        kernel: &Kernel,
        steps: u64,
        waiting: &str,
        more: &dyn Fn() -> String,
    ) {
        self.steps += steps;
        let spent = match &self.deadline {
            None => self.steps > self.budget.steps,
            Some((at, _)) => Instant::now() >= *at,
        };
        if spent {
            let spent = match self.deadline {
                None => format!("{} steps", self.budget.steps),
                Some(_) => format!("{:?} of host time", self.budget.time),
            };
            panic!(
                "the kernel did not {waiting} within {spent} (a Budget raises the bound); \
                 clock at {:?}\n{}{}",
                kernel.now(),
                report(kernel),
                more()
            );
        }
    }
}

/// A thread that wakes the kernel at the deadline (by starting a task
/// that does nothing), so that a run asleep in the poller for good comes
/// back to its meter and fails. Dropped when the run ends, it goes at once.
struct Alarm {
    cancel: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Alarm {
    fn set(kernel: &Kernel, after: Duration) -> Alarm {
        let handle = kernel.handle();
        let (cancel, cancelled) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("coos-test-alarm".into())
            .spawn(move || {
                if let Err(RecvTimeoutError::Timeout) = cancelled.recv_timeout(after) {
                    let _ = handle.spawn(|_| async { 0 });
                }
            })
            .ok();
        Alarm {
            cancel: Some(cancel),
            thread,
        }
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        drop(self.cancel.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The task table and the end of the trace, for a person reading why a
/// run failed.
pub fn report(kernel: &Kernel) -> String {
    let mut out = String::from(
        "tasks:\n  PID  PPID  PGID STATE                          SCHED SYSCALLS COMMAND\n",
    );
    for t in kernel.snapshot() {
        out.push_str(&format!(
            "{:>5} {:>5} {:>5} {:<30} {:>5} {:>8} {}\n",
            t.pid.to_string(),
            t.ppid.to_string(),
            t.pgid.to_string(),
            t.state.to_string(),
            t.scheduled,
            t.syscalls,
            t.args.join(" ")
        ));
    }
    let trace = kernel.trace();
    if trace.is_empty() {
        out.push_str("no trace (Config::trace is off, or nothing happened)\n");
    } else {
        let from = trace.len().saturating_sub(TRACE_TAIL);
        out.push_str(&format!(
            "the last {} of {} events:\n",
            trace.len() - from,
            trace.len()
        ));
        for event in &trace[from..] {
            out.push_str(&format!("  {event}\n"));
        }
    }
    out
}

/// `Kernel::run_until_idle`, bounded: runs until init halts
/// (`Some(status)`) or nothing can happen without input from outside
/// (`None`); panics with the task table and the trace's end if that takes
/// more than `budget`.
///
/// ```
/// use kernel::testing::{run_until_idle, Budget};
/// # use kernel::{ConsoleSpec, Kernel, Config, ClockKind};
/// # use syscalls::Command;
/// let (console, _out, _err) = ConsoleSpec::scripted(b"");
/// let config = Config { clock: ClockKind::Virtual, ..Config::default() };
/// let mut k = Kernel::boot(config, Vec::new(), console).unwrap();
/// k.start(Command::from_fn(|sys| async move {
///     loop {
///         sys.yield_now().await; // never ends
///     }
/// }));
/// let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
///     run_until_idle(&mut k, Budget::steps(100))
/// }));
/// assert!(ended.is_err(), "a run that never halts fails");
/// ```
#[track_caller]
pub fn run_until_idle(kernel: &mut Kernel, budget: Budget) -> Option<ExitCode> {
    let mut meter = Meter::start(kernel, budget);
    loop {
        match kernel.run_batch(false) {
            Step::Halted(code) => return Some(code),
            Step::Idle if kernel.is_stalled() => return None,
            _ => meter.charge(kernel, BATCH, "halt or stall", &String::new),
        }
    }
}

/// `Kernel::run`, bounded: runs until init halts, sleeping in the poller
/// while nothing is ready; panics with the task table and the trace's end
/// if that takes more than `budget`. On the host's clock a kernel asleep
/// at the deadline is woken to fail.
#[track_caller]
pub fn run(kernel: &mut Kernel, budget: Budget) -> ExitCode {
    let mut meter = Meter::start(kernel, budget);
    loop {
        match kernel.run_batch(true) {
            Step::Halted(code) => return code,
            _ => meter.charge(kernel, BATCH, "halt", &String::new),
        }
    }
}

/// `run` on a kernel whose tasks would go on for ever (a server, a shell
/// at its prompt): after `for_how_long` another thread sends it the host's
/// `SIGTERM`, which ends every task. For tests that watch what an idle
/// kernel does meanwhile (`Kernel::stats`).
#[track_caller]
pub fn run_for(kernel: &mut Kernel, for_how_long: std::time::Duration) -> ExitCode {
    let inbox = kernel.inbox();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(for_how_long);
        inbox.send(crate::Message::HostSignal(syscalls::Signal::Term));
    });
    let code = run(kernel, Budget::DEFAULT);
    stopper.join().expect("the stopper thread");
    code
}

/// Steps `kernel` with `Kernel::step` until `until` says stop (it gets
/// each step's result) and returns the last step; panics with the task
/// table and the trace's end after more than `budget` steps.
#[track_caller]
pub fn step(
    kernel: &mut Kernel,
    budget: Budget,
    mut until: impl FnMut(&Kernel, Step) -> bool,
) -> Step {
    let mut meter = Meter::start(kernel, budget);
    loop {
        let step = kernel.step();
        if until(kernel, step) {
            return step;
        }
        meter.charge(kernel, 1, "reach what the test waits for", &String::new);
    }
}

/// Runs `f` on a thread of its own and returns what it returns; panics if
/// it takes longer than `limit` (saying it was `what`), or with `f`'s own
/// panic. For a test that drives a kernel by means no [`Budget`] covers
/// (`Kernel::run_until_idle` itself, a kernel on another thread). A kernel
/// is not `Send`: `f` boots its own. On a timeout the thread is left
/// running, and ends with the test process.
///
/// ```
/// use std::time::Duration;
/// let four = kernel::testing::within(Duration::from_secs(10), "adding", || 2 + 2);
/// assert_eq!(four, 4);
/// ```
#[track_caller]
pub fn within<R: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> R + Send + 'static,
) -> R {
    let (done, result) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(format!("within: {what}"))
        .spawn(move || {
            let _ = done.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
        })
        .expect("a thread for a bounded test");
    match result.recv_timeout(limit) {
        Ok(Ok(value)) => {
            let _ = thread.join();
            value
        }
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("{what} did not finish within {limit:?}"),
    }
}
