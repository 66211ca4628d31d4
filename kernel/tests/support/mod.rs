//! Helpers for kernel tests: boot a kernel on a scripted console with a
//! virtual clock, run a closure as the first task, read what it printed.
#![allow(dead_code)]

use std::future::Future;

use kernel::{Capture, ClockKind, Config, ConsoleSpec, Event, Kernel};
use syscalls::{Command, ExitCode, Sys};

/// What a run left behind.
pub struct Run {
    pub status: Option<ExitCode>,
    pub stdout: String,
    pub stderr: String,
    pub trace: Vec<Event>,
    pub kernel: Kernel,
}

pub fn config() -> Config {
    Config {
        clock: ClockKind::Virtual,
        trace: true,
        ..Config::default()
    }
}

/// Boots a traced, virtual-clock kernel whose first task is `main`, with
/// `stdin` as console input followed by end-of-file.
pub fn boot<F, Fut>(stdin: &[u8], config: Config, main: F) -> (Kernel, Capture, Capture)
where
    F: FnOnce(Sys) -> Fut + 'static,
    Fut: Future<Output = ExitCode> + 'static,
{
    let (spec, out, err) = ConsoleSpec::scripted(stdin);
    let mut k = Kernel::boot(config, Vec::new(), spec).expect("boot");
    k.end_console();
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
    let (mut kernel, out, err) = boot(stdin, config, main);
    let status = kernel.run_until_idle();
    let trace = kernel.take_trace();
    let text = |c: &Capture| String::from_utf8_lossy(&c.borrow()).into_owned();
    Run {
        status,
        stdout: text(&out),
        stderr: text(&err),
        trace,
        kernel,
    }
}
