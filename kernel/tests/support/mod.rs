//! Helpers for kernel tests: boot a kernel on a scripted console with a
//! virtual clock, run a closure as the first task, read what it printed.
#![allow(dead_code)]

use std::future::Future;

use kernel::testing::Budget;
use kernel::{Capture, ClockKind, Config, ConsoleSpec, Event, Kernel};
use syscalls::{Command, ExitCode, Pid, Program, Sys, TaskInfo, TaskState};

/// How long a test that waits on the host (a thread, a socket) may wait
/// for one thing: generous, since the machine may be busy; reaching it is
/// a failure, never a pass.
pub const LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

/// What a run left behind.
pub struct Run {
    pub status: Option<ExitCode>,
    pub stdout: String,
    pub stderr: String,
    pub trace: Vec<Event>,
    pub kernel: Kernel,
}

impl Run {
    /// Asserts the first task ended with `status`, showing stderr (where a
    /// failed assertion inside a task is reported) when it did not.
    #[track_caller]
    pub fn expect_status(&self, status: ExitCode) -> &Run {
        assert_eq!(
            self.status,
            Some(status),
            "first task's status; stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts the first task ended with 0 and nothing went to stderr.
    #[track_caller]
    pub fn expect_clean(&self) -> &Run {
        self.expect_status(0);
        assert_eq!(self.stderr, "", "nothing on stderr");
        self
    }

    /// The trace, one `Display` line per event.
    pub fn trace_lines(&self) -> Vec<String> {
        lines(&self.trace)
    }
}

/// Events as the lines `Display` makes of them.
pub fn lines(events: &[Event]) -> Vec<String> {
    events.iter().map(ToString::to_string).collect()
}

pub fn config() -> Config {
    Config {
        clock: ClockKind::Virtual,
        trace: true,
        ..Config::default()
    }
}

/// `pid`'s row in a fresh task list.
pub async fn row_of(sys: &Sys, pid: Pid) -> Option<TaskInfo> {
    sys.tasks().await.into_iter().find(|t| t.pid == pid)
}

/// The state of `pid` in a fresh task list.
pub async fn state_of(sys: &Sys, pid: Pid) -> Option<TaskState> {
    row_of(sys, pid).await.map(|t| t.state)
}

/// `config` on the host's clock, untraced: for tests that wait on the
/// host (sockets, threads of the blocking pool).
pub fn host_clock() -> Config {
    Config {
        clock: ClockKind::Host,
        trace: false,
        ..config()
    }
}

/// Boots a traced, virtual-clock kernel whose first task is `main`, with
/// `stdin` as console input followed by end-of-file.
pub fn boot<F, Fut>(stdin: &[u8], config: Config, main: F) -> (Kernel, Capture, Capture)
where
    F: FnOnce(Sys) -> Fut + 'static,
    Fut: Future<Output = ExitCode> + 'static,
{
    boot_programs(stdin, config, Vec::new(), main)
}

/// As `boot`, with `programs` as the registry.
pub fn boot_programs<F, Fut>(
    stdin: &[u8],
    config: Config,
    programs: Vec<Program>,
    main: F,
) -> (Kernel, Capture, Capture)
where
    F: FnOnce(Sys) -> Fut + 'static,
    Fut: Future<Output = ExitCode> + 'static,
{
    let (mut k, out, err) = boot_open(stdin, config, programs, main);
    k.end_console();
    (k, out, err)
}

/// As `boot_programs`, but console input stays open: the test feeds more
/// with `Kernel::feed_console` and ends it with `Kernel::end_console`.
pub fn boot_open<F, Fut>(
    stdin: &[u8],
    config: Config,
    programs: Vec<Program>,
    main: F,
) -> (Kernel, Capture, Capture)
where
    F: FnOnce(Sys) -> Fut + 'static,
    Fut: Future<Output = ExitCode> + 'static,
{
    let (spec, out, err) = ConsoleSpec::scripted(stdin);
    let mut k = Kernel::boot(config, programs, spec).expect("boot");
    k.start(Command::from_fn(main).name("main"));
    (k, out, err)
}

/// Runs `main` as the first task until the kernel halts or stalls.
pub fn run<F, Fut>(stdin: &[u8], main: F) -> Run
where
    F: FnOnce(Sys) -> Fut + 'static,
    Fut: Future<Output = ExitCode> + 'static,
{
    run_with(stdin, config(), main)
}

pub fn run_with<F, Fut>(stdin: &[u8], config: Config, main: F) -> Run
where
    F: FnOnce(Sys) -> Fut + 'static,
    Fut: Future<Output = ExitCode> + 'static,
{
    run_programs(stdin, config, Vec::new(), main)
}

/// Runs `main` with `programs` as the registry.
pub fn run_programs<F, Fut>(stdin: &[u8], config: Config, programs: Vec<Program>, main: F) -> Run
where
    F: FnOnce(Sys) -> Fut + 'static,
    Fut: Future<Output = ExitCode> + 'static,
{
    run_within(stdin, config, programs, Budget::DEFAULT, main)
}

/// `run_programs`, failing if the run takes more than `budget`.
#[track_caller]
pub fn run_within<F, Fut>(
    stdin: &[u8],
    config: Config,
    programs: Vec<Program>,
    budget: Budget,
    main: F,
) -> Run
where
    F: FnOnce(Sys) -> Fut + 'static,
    Fut: Future<Output = ExitCode> + 'static,
{
    let (mut kernel, out, err) = boot_programs(stdin, config, programs, main);
    let status = kernel::testing::run_until_idle(&mut kernel, budget);
    finish(kernel, status, &out, &err)
}

/// `Kernel::run_until_idle`, bounded by `Budget::DEFAULT`: a run that
/// neither halts nor stalls within it fails with the task table and the
/// end of the trace, instead of hanging the test.
#[track_caller]
pub fn run_until_idle(kernel: &mut Kernel) -> Option<ExitCode> {
    kernel::testing::run_until_idle(kernel, Budget::DEFAULT)
}

/// Collects what a kernel run left behind.
pub fn finish(mut kernel: Kernel, status: Option<ExitCode>, out: &Capture, err: &Capture) -> Run {
    let trace = kernel.take_trace();
    Run {
        status,
        stdout: text(out),
        stderr: text(err),
        trace,
        kernel,
    }
}

/// What a capture holds, as text.
pub fn text(c: &Capture) -> String {
    String::from_utf8_lossy(&c.borrow()).into_owned()
}
