//! Driving a kernel from tests: boot it on a scripted console with a
//! virtual clock, run a registered program (or a closure, or a pipeline),
//! and get back its status, what it wrote, and what it left behind. The
//! programs' and the shell's unit tests use this, so that they run on the
//! real kernel, not on a stand-in.
//!
//! ```
//! use kernel::testing::Harness;
//! let out = Harness::new(Vec::new()).run_fn(|sys| async move {
//!     let _ = sys.print("hi\n").await;
//!     3
//! });
//! assert_eq!((out.status, out.stdout.as_str()), (Some(3), "hi\n"));
//! ```

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use syscalls::{Command, ExitCode, Fd, FdMap, Pid, Program, Sys, TaskState};

use crate::{ClockKind, Config, ConsoleInput, ConsoleOutput, ConsoleSpec, Event, Kernel, Step};

/// A run to set up.
pub struct Harness {
    programs: Vec<Program>,
    config: Config,
    input: VecDeque<Vec<u8>>,
    typed: bool,
    terminal: bool,
    merged: bool,
    stdout_limit: Option<usize>,
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
        }
    }

    /// Console input: these bytes, then end-of-file.
    pub fn stdin(mut self, bytes: impl AsRef<[u8]>) -> Harness {
        self.input = VecDeque::from([bytes.as_ref().to_vec()]);
        self.typed = false;
        self
    }

    /// Console input typed a chunk at a time, each only once every task is
    /// blocked (a person who types when the screen is still), then
    /// end-of-file.
    pub fn typed(mut self, chunks: &[&str]) -> Harness {
        self.input = chunks.iter().map(|c| c.as_bytes().to_vec()).collect();
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

    /// Changes any other setting of the kernel.
    pub fn config(mut self, change: impl FnOnce(&mut Config)) -> Harness {
        change(&mut self.config);
        self
    }

    /// Runs the registered program `argv[0]` with the rest as arguments.
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

    fn boot(self, first: Command) -> Outcome {
        let stdout = Rc::new(RefCell::new(Vec::new()));
        let writes = Rc::new(Cell::new(0));
        let sink = {
            let (stdout, writes) = (stdout.clone(), writes.clone());
            ConsoleOutput::Sink(Box::new(move |bytes: &[u8]| {
                writes.set(writes.get() + 1);
                stdout.borrow_mut().extend_from_slice(bytes);
            }))
        };
        let stderr = Rc::new(RefCell::new(Vec::new()));
        let err_sink = if self.merged {
            let stdout = stdout.clone();
            ConsoleOutput::Sink(Box::new(move |bytes: &[u8]| {
                stdout.borrow_mut().extend_from_slice(bytes)
            }))
        } else {
            ConsoleOutput::Capture(stderr.clone())
        };
        let mut input = self.input;
        let first_input = if self.typed {
            Vec::new()
        } else {
            input.pop_front().unwrap_or_default()
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
        let mut leftover = None;
        let mut ended_input = !self.typed;
        let status = loop {
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
                Step::Idle if kernel.is_stalled() => match input.pop_front() {
                    Some(chunk) => kernel.feed_console(&chunk),
                    None if !ended_input => {
                        kernel.end_console();
                        ended_input = true;
                    }
                    None => break None,
                },
                Step::Idle => {}
            }
        };
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
