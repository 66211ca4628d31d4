//! Driving a kernel from tests: boot it on a scripted console with a
//! virtual clock, run a registered program (or a closure, or a pipeline),
//! and get back its status, what it wrote, and what it left behind. The
//! programs' unit tests and the whole-system tests (`tests/shell_*.rs`:
//! `sh` with every program) use this, so that they run on the real kernel,
//! not on a stand-in.
//!
//! ```
//! use kernel::testing::Harness;
//! let out = Harness::new(Vec::new()).run_fn(|sys| async move {
//!     let _ = sys.print("hi\n").await;
//!     3
//! });
//! assert_eq!((out.status, out.stdout.as_str()), (Some(3), "hi\n"));
//! ```
//!
//! A person at the console is a script of [`Input`] steps: text typed,
//! Ctrl-C pressed, time let pass. Each step comes once no task is ready
//! to run (the screen is still), before the virtual clock moves on to the
//! next timer, so a step can reach a task that sleeps:
//!
//! ```
//! use std::time::Duration;
//! use kernel::testing::{Harness, Input};
//! use syscalls::Fd;
//! let out = Harness::new(Vec::new())
//!     .script(&[Input::Text("a\n"), Input::Wait(Duration::from_secs(2)), Input::Text("b\n")])
//!     .run_fn(|sys| async move {
//!         let mut buf = [0u8; 16];
//!         while let Ok(n @ 1..) = sys.read(Fd::STDIN, &mut buf).await {
//!             let line = String::from_utf8_lossy(&buf[..n]).into_owned();
//!             let _ = sys.print(&format!("{:?} at {:?}\n", line, sys.now().await)).await;
//!         }
//!         0
//!     });
//! assert_eq!(out.stdout, "\"a\\n\" at 0ns\n\"b\\n\" at 2s\n");
//! ```

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use syscalls::{Command, ExitCode, Fd, FdMap, Pid, Program, Sys, TaskState};

mod budget;

pub use budget::{report, run, run_for, run_until_idle, step, within, Budget};

use crate::{
    ClockKind, Config, ConsoleInput, ConsoleOutput, ConsoleSpec, Event, Kernel, Message, Step,
};

/// A run to set up.
pub struct Harness {
    programs: Vec<Program>,
    config: Config,
    /// With `stdin`: one chunk, then end-of-file at once. With `script`:
    /// the steps, then end-of-file once the screen is still.
    input: VecDeque<Scripted>,
    typed: bool,
    terminal: bool,
    merged: bool,
    stdout_limit: Option<usize>,
    budget: Budget,
}

/// One thing a person at the console does (see [`Harness::script`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    /// Types this text (a line ends with its `\n`).
    Text(&'a str),
    /// Presses Ctrl-C: `Message::Interrupt` goes into the kernel's inbox,
    /// as the terminal thread sends it, and the kernel takes it at once:
    /// the console's foreground group gets `INT`.
    Interrupt,
    /// Waits this long before the next step: virtual time runs on, and
    /// the timers due meanwhile fire in order.
    Wait(Duration),
}

/// An [`Input`] the harness keeps.
#[derive(Debug, Clone)]
enum Scripted {
    Text(Vec<u8>),
    Interrupt,
    Wait(Duration),
}

impl From<&Input<'_>> for Scripted {
    fn from(input: &Input<'_>) -> Scripted {
        match *input {
            Input::Text(text) => Scripted::Text(text.as_bytes().to_vec()),
            Input::Interrupt => Scripted::Interrupt,
            Input::Wait(by) => Scripted::Wait(by),
        }
    }
}

/// What a run left behind.
#[derive(Debug)]
pub struct Outcome {
    /// The first task's status; `None` if it never ended (every task was
    /// blocked with nothing left to type).
    pub status: Option<ExitCode>,
    /// What reached the console's standard output (and standard error too,
    /// with `merged_output`).
    pub stdout: String,
    /// What reached the console's standard error.
    pub stderr: String,
    /// How many write calls reached standard output.
    pub stdout_writes: usize,
    /// Tasks alive (not zombies) when the first task ended, init aside, by
    /// argv: children it left running.
    pub leftover: Vec<String>,
    /// The clock at the end.
    pub clock: Duration,
    /// With `pipeline`: every stage's status, in order.
    pub statuses: Vec<ExitCode>,
    /// The event trace.
    pub trace: Vec<Event>,
}

impl Harness {
    /// A kernel with `programs` as its registry, a virtual clock, a trace,
    /// empty input and separate stdout and stderr.
    pub fn new(programs: Vec<Program>) -> Harness {
        Harness {
            programs,
            config: Config {
                clock: ClockKind::Virtual,
                trace: true,
                max_tasks: 100_000,
                ..Config::default()
            },
            input: VecDeque::new(),
            typed: false,
            terminal: false,
            merged: false,
            stdout_limit: None,
            budget: Budget::DEFAULT,
        }
    }

    /// Console input: these bytes, then end-of-file.
    pub fn stdin(mut self, bytes: impl AsRef<[u8]>) -> Harness {
        self.input = VecDeque::from([Scripted::Text(bytes.as_ref().to_vec())]);
        self.typed = false;
        self
    }

    /// Console input typed a chunk at a time, then end-of-file: the script
    /// of `Input::Text` steps (see [`Harness::script`]).
    pub fn typed(self, chunks: &[&str]) -> Harness {
        let steps: Vec<Input> = chunks.iter().map(|c| Input::Text(c)).collect();
        self.script(&steps)
    }

    /// A person at the console: text typed, Ctrl-C pressed, time let pass,
    /// then end-of-file (Ctrl-D).
    ///
    /// Each step comes once no task is ready to run and the inbox is empty
    /// (every task is blocked: the screen is still), before the virtual
    /// clock moves on to the next timer. So a person types ahead, or
    /// presses Ctrl-C, while a task sleeps; time passes between two steps
    /// only with `Input::Wait`, and after the last step.
    pub fn script(mut self, steps: &[Input<'_>]) -> Harness {
        self.input = steps.iter().map(Scripted::from).collect();
        self.typed = true;
        self
    }

    /// Does the console say it is a terminal?
    pub fn terminal(mut self, yes: bool) -> Harness {
        self.terminal = yes;
        self
    }

    /// Standard error goes to the same place as standard output (a screen).
    pub fn merged_output(mut self) -> Harness {
        self.merged = true;
        self
    }

    /// Standard output's reader goes away after `n` bytes, so later writes
    /// fail with `EPIPE` (`prog | head -c n`). The program then runs as the
    /// child of a task that reads its output.
    pub fn stdout_closes_after(mut self, n: usize) -> Harness {
        self.stdout_limit = Some(n);
        self
    }

    /// At most `n` tasks at once (init and the first task count).
    pub fn max_tasks(mut self, n: usize) -> Harness {
        self.config.max_tasks = n;
        self
    }

    /// How far the run may go before it fails (see [`Budget`]): a run that
    /// does not halt within it panics with the task table and the end of
    /// the trace. [`Budget::DEFAULT`] unless set.
    pub fn budget(mut self, budget: Budget) -> Harness {
        self.budget = budget;
        self
    }

    /// Changes any other setting of the kernel.
    pub fn config(mut self, change: impl FnOnce(&mut Config)) -> Harness {
        change(&mut self.config);
        self
    }

    /// Runs the registered program `argv[0]` with the rest as arguments.
    #[track_caller]
    pub fn run(self, argv: &[&str]) -> Outcome {
        let command = command(argv);
        match self.stdout_limit {
            None => self.boot(command),
            Some(limit) => {
                let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
                self.run_fn(move |sys| async move {
                    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
                    read_some_then_leave(&sys, command_of(&argv), limit).await
                })
            }
        }
    }

    /// Runs `main` as the first task.
    #[track_caller]
    pub fn run_fn<F, Fut>(mut self, main: F) -> Outcome
    where
        F: FnOnce(Sys) -> Fut + 'static,
        Fut: Future<Output = ExitCode> + 'static,
    {
        self.stdout_limit = None;
        self.boot(Command::from_fn(main).name("test"))
    }

    /// Runs a pipeline of registered programs, `a | b | c`: console input
    /// feeds the first, the last writes the console. `status` is the last
    /// stage's; `statuses` holds them all.
    #[track_caller]
    pub fn pipeline(self, stages: &[&[&str]]) -> Outcome {
        let stages: Vec<Vec<String>> = stages
            .iter()
            .map(|argv| argv.iter().map(|s| s.to_string()).collect())
            .collect();
        let statuses = Rc::new(RefCell::new(Vec::new()));
        let record = statuses.clone();
        let mut out = self.run_fn(move |sys| async move {
            let mut input = Fd::STDIN;
            let mut pids = Vec::new();
            for (i, argv) in stages.iter().enumerate() {
                let (next, output) = if i + 1 == stages.len() {
                    (None, Fd::STDOUT)
                } else {
                    let (r, w) = sys.pipe().await.expect("pipe");
                    (Some(r), w)
                };
                let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
                let fds = FdMap::stdio().set(Fd::STDIN, input).set(Fd::STDOUT, output);
                pids.push(command_of(&argv).fds(fds).spawn(&sys).await.expect("spawn"));
                if input != Fd::STDIN {
                    sys.close(input).await.expect("close");
                }
                if let Some(r) = next {
                    sys.close(output).await.expect("close");
                    input = r;
                }
            }
            for pid in pids {
                let (_, status) = sys.wait(pid).await.expect("wait");
                record.borrow_mut().push(status);
            }
            let last = *record.borrow().last().expect("a stage");
            last
        });
        out.statuses = statuses.take();
        out
    }

    #[track_caller]
    fn boot(self, first: Command) -> Outcome {
        let stdout = Rc::new(RefCell::new(Vec::new()));
        let writes = Rc::new(Cell::new(0));
        let sink = {
            let (stdout, writes) = (stdout.clone(), writes.clone());
            ConsoleOutput::Sink(Box::new(move |bytes: &[u8]| {
                writes.set(writes.get() + 1);
                stdout.borrow_mut().extend_from_slice(bytes);
                bytes.len()
            }))
        };
        let stderr = Rc::new(RefCell::new(Vec::new()));
        let err_sink = if self.merged {
            let stdout = stdout.clone();
            ConsoleOutput::Sink(Box::new(move |bytes: &[u8]| {
                stdout.borrow_mut().extend_from_slice(bytes);
                bytes.len()
            }))
        } else {
            ConsoleOutput::Capture(stderr.clone())
        };
        let mut input = self.input;
        let first_input = match input.pop_front() {
            Some(Scripted::Text(bytes)) if !self.typed => bytes,
            Some(step) => {
                input.push_front(step);
                Vec::new()
            }
            None => Vec::new(),
        };
        let spec = ConsoleSpec {
            input: ConsoleInput::Fed(first_input),
            stdout: sink,
            stderr: err_sink,
            terminal: Some(self.terminal),
        };
        let mut kernel =
            Kernel::boot(self.config, self.programs, spec).expect("a test kernel boots");
        if !self.typed {
            kernel.end_console();
        }
        kernel.start(first);
        let first_pid = Pid(2);
        let mut meter = budget::Meter::start(&kernel, self.budget);
        let console_so_far = || {
            format!(
                "stdout so far:\n{}\nstderr so far:\n{}\n",
                tail(&stdout.borrow()),
                tail(&stderr.borrow())
            )
        };
        let mut leftover = None;
        let mut ended_input = !self.typed;
        // While an `Input::Wait` runs: the time it ends.
        let mut waiting: Option<Duration> = None;
        let status = loop {
            if self.typed && is_still(&kernel) {
                if let Some(until) = waiting {
                    if kernel.next_deadline().is_none_or(|at| at > until) {
                        let now = kernel.now();
                        kernel.advance(until.saturating_sub(now));
                        waiting = None;
                        continue;
                    }
                    // Else an idle step moves the clock to that deadline.
                } else if let Some(step) = input.pop_front() {
                    match step {
                        Scripted::Text(bytes) => kernel.feed_console(&bytes),
                        Scripted::Interrupt => interrupt(&mut kernel),
                        Scripted::Wait(by) => waiting = Some(kernel.now() + by),
                    }
                    continue;
                } else if !ended_input {
                    kernel.end_console();
                    ended_input = true;
                    continue;
                }
            }
            match kernel.step() {
                Step::Halted(code) => break Some(code),
                Step::Ran(_) => {
                    if leftover.is_none()
                        && kernel
                            .task_state(first_pid)
                            .is_none_or(|s| matches!(s, TaskState::Zombie(_)))
                        && kernel.has_task(Pid::INIT)
                    {
                        leftover = Some(kernel.live_tasks(&[Pid::INIT, first_pid]));
                    }
                }
                Step::Idle if kernel.is_stalled() && ended_input && waiting.is_none() => {
                    break None
                }
                Step::Idle => {}
            }
            meter.charge(&kernel, 1, "halt", &console_so_far);
        };
        drop(meter);
        let text = |b: &RefCell<Vec<u8>>| String::from_utf8_lossy(&b.borrow()).into_owned();
        Outcome {
            status,
            stdout: text(&stdout),
            stderr: text(&stderr),
            stdout_writes: writes.get(),
            leftover: leftover.unwrap_or_else(|| kernel.live_tasks(&[Pid::INIT, first_pid])),
            clock: kernel.now(),
            statuses: Vec::new(),
            trace: kernel.take_trace(),
        }
    }
}

/// The end of what a console stream got, for a failure's report.
fn tail(bytes: &[u8]) -> String {
    const SHOWN: usize = 2000;
    let text = String::from_utf8_lossy(&bytes[bytes.len().saturating_sub(SHOWN)..]).into_owned();
    if bytes.len() > SHOWN {
        format!("[… {} bytes before]{text}", bytes.len() - SHOWN)
    } else {
        text
    }
}

/// Is the screen still: no task ready to run, no message waiting? (Timers
/// may be set: a sleeping task is still too.)
fn is_still(kernel: &Kernel) -> bool {
    kernel.halted.is_none() && kernel.ready.is_empty() && kernel.inbox.is_empty()
}

/// Ctrl-C, pressed the way the terminal thread presses it: the message goes
/// through the inbox, and the kernel takes what its inbox holds now (as at
/// its next look at events) without running a task or moving the clock.
fn interrupt(kernel: &mut Kernel) {
    kernel.inbox().send(Message::Interrupt);
    kernel.inbox.acknowledge();
    while let Some(message) = kernel.inbox.pop() {
        kernel.handle_message(message);
    }
}

fn command(argv: &[&str]) -> Command {
    command_of(argv)
}

fn command_of(argv: &[&str]) -> Command {
    let (name, args) = argv.split_first().expect("argv names a program");
    Command::new(name).args(args.iter().copied())
}

/// Runs `command` with its stdout on a pipe, copies the first `limit` bytes
/// of it to the console, then closes the pipe and reaps the child.
async fn read_some_then_leave(sys: &Sys, command: Command, limit: usize) -> ExitCode {
    let (r, w) = sys.pipe().await.expect("pipe");
    let child = command
        .fds(FdMap::stdio().set(Fd::STDOUT, w))
        .spawn(sys)
        .await
        .expect("spawn");
    sys.close(w).await.expect("close");
    let mut taken = 0;
    let mut buf = vec![0u8; 64 * 1024];
    while taken < limit {
        let want = (limit - taken).min(buf.len());
        match sys.read(r, &mut buf[..want]).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let _ = sys.write_all(Fd::STDOUT, &buf[..n]).await;
                taken += n;
            }
        }
    }
    sys.close(r).await.expect("close");
    sys.wait(child)
        .await
        .map(|(_, status)| status)
        .unwrap_or(255)
}
