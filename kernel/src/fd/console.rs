//! The console: what fds 0, 1 and 2 of the first program are. Its input is
//! either the host's stdin (read without blocking, through the poller) or
//! bytes fed to the kernel (by a test, or by the terminal thread through the
//! inbox); its outputs are the host's stdout and stderr, or a capture
//! buffer, or a sink function (the terminal's printer).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use syscalls::{Errno, Fd, Pid, Reply, Transfer};

use super::host::{read_fd, HostFd, Watch};
use super::Object;
use crate::dispatch::Outcome;
use crate::task::WaitOn;
use crate::Kernel;

/// Bytes a test reads back from a captured console stream.
pub type Capture = Rc<RefCell<Vec<u8>>>;

/// A function console output is handed to (the terminal's printer). It
/// takes what it has room for and says how much; 0 when it is full: the
/// writer then waits until `Message::ConsoleWritable` says there is room
/// again. It must never block: it is called on the kernel's thread.
pub type SinkFn = Box<dyn FnMut(&[u8]) -> usize>;

/// Where console input comes from.
pub enum ConsoleInput {
    /// The host's stdin.
    Host,
    /// Bytes fed with `Kernel::feed_console` or `Message::ConsoleInput`,
    /// these first; end-of-file only once told (`Kernel::end_console`).
    Fed(Vec<u8>),
    /// A line editor on another thread (the terminal): the kernel calls the
    /// function when a task waits for input and none is buffered; the
    /// editor answers through the inbox (`ConsoleInput`, `ConsoleEof`,
    /// `Interrupt`). Its end-of-file is a Ctrl-D: it ends one read, not
    /// the console.
    Terminal(Box<dyn FnMut(LineRequest)>),
}

/// What the kernel tells the line editor when it asks for a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRequest {
    /// The live tasks (pid, name), for completing pids.
    pub tasks: Vec<(Pid, String)>,
}

/// Where a console output stream goes.
pub enum ConsoleOutput {
    /// The host's stdout (or stderr for the error stream).
    Host,
    /// Appended to a buffer the caller keeps a clone of.
    Capture(Capture),
    /// Handed to a function (the terminal's printer).
    Sink(SinkFn),
}

/// What the console is made of.
pub struct ConsoleSpec {
    /// Input.
    pub input: ConsoleInput,
    /// Standard output.
    pub stdout: ConsoleOutput,
    /// Standard error (and the kernel's own messages).
    pub stderr: ConsoleOutput,
    /// Does it answer `is_terminal` with yes? `None`: ask the host.
    pub terminal: Option<bool>,
}

impl ConsoleSpec {
    /// The host's stdin, stdout and stderr.
    pub fn host() -> ConsoleSpec {
        ConsoleSpec {
            input: ConsoleInput::Host,
            stdout: ConsoleOutput::Host,
            stderr: ConsoleOutput::Host,
            terminal: None,
        }
    }

    /// Scripted: `input` then end-of-file; both outputs captured. Returns
    /// the spec and the (stdout, stderr) captures.
    pub fn scripted(input: &[u8]) -> (ConsoleSpec, Capture, Capture) {
        let out = Capture::default();
        let err = Capture::default();
        let spec = ConsoleSpec {
            input: ConsoleInput::Fed(input.to_vec()),
            stdout: ConsoleOutput::Capture(out.clone()),
            stderr: ConsoleOutput::Capture(err.clone()),
            terminal: Some(false),
        };
        (spec, out, err)
    }
}

pub(crate) enum Input {
    Fed(Fed),
    Host(HostFd),
}

/// Input the kernel buffers: fed by a test or by the terminal.
pub(crate) struct Fed {
    buf: VecDeque<u8>,
    /// End-of-file: for good (a script ran out), or for one read (Ctrl-D
    /// at a terminal).
    eof: bool,
    terminal: Option<LineEditor>,
}

impl Fed {
    /// Would a read return now (bytes, or end-of-file)?
    pub(crate) fn has_input(&self) -> bool {
        !self.buf.is_empty() || self.eof
    }
}

struct LineEditor {
    ask: Box<dyn FnMut(LineRequest)>,
    /// A line was asked for and has not come yet.
    asked: bool,
}

pub(crate) enum Output {
    Host(HostFd),
    Capture(Capture),
    /// A sink, and whether it may have room (until it took nothing; again
    /// when `Message::ConsoleWritable` comes).
    Sink(SinkFn, bool),
}

impl Output {
    fn host(&self) -> Option<&HostFd> {
        match self {
            Output::Host(fd) => Some(fd),
            _ => None,
        }
    }

    /// Writes what it can now: `Err(EAGAIN)` means try when the poller
    /// says the host fd is writable.
    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<usize, Errno> {
        match self {
            Output::Host(fd) => fd.write(bytes),
            Output::Capture(buf) => {
                buf.borrow_mut().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            Output::Sink(f, _) if bytes.is_empty() => Ok(0),
            Output::Sink(f, _) => match f(bytes) {
                0 => Err(Errno::EAGAIN),
                n => Ok(n.min(bytes.len())),
            },
        }
    }
}

pub(crate) struct Console {
    pub input: Input,
    pub stdout: Output,
    pub stderr: Output,
    pub terminal: bool,
    /// The group Ctrl-C interrupts (0: none).
    pub foreground: Pid,
    /// Tasks parked reading the console.
    pub read_waiters: VecDeque<Pid>,
    /// Tasks parked writing to a host stdout/stderr that was full.
    pub write_waiters: VecDeque<Pid>,
}

/// Writes to a console output stream: the writer a task's poll calls with
/// its bytes (`Transfer::Write`, the stream's address as context).
///
/// # Safety
/// `output` is the address of the kernel's `Output`, lent for this poll:
/// nothing else uses it while the poll runs.
unsafe fn write_output(output: usize, bytes: &[u8]) -> Result<usize, Errno> {
    // SAFETY: the caller's contract.
    unsafe { &mut *(output as *mut Output) }.write(bytes)
}

/// Poller tokens of the host's stdio.
pub(crate) const STDIN_TOKEN: u64 = 1;
pub(crate) const STDOUT_TOKEN: u64 = 2;
pub(crate) const STDERR_TOKEN: u64 = 3;

impl Console {
    pub(crate) fn new(spec: ConsoleSpec) -> Console {
        // Read every host fd's flags before changing any: stdout and stderr
        // often share one file description (the terminal).
        let stdin = HostFd::new(std::io::stdin().as_fd_static());
        let stdout = HostFd::new(std::io::stdout().as_fd_static());
        let stderr = HostFd::new(std::io::stderr().as_fd_static());
        let host_terminal = stdin.is_terminal();
        let input = match spec.input {
            ConsoleInput::Host => Input::Host(stdin),
            ConsoleInput::Fed(bytes) => Input::Fed(Fed {
                buf: bytes.into(),
                eof: false,
                terminal: None,
            }),
            ConsoleInput::Terminal(ask) => Input::Fed(Fed {
                buf: VecDeque::new(),
                eof: false,
                terminal: Some(LineEditor { ask, asked: false }),
            }),
        };
        let output = |o: ConsoleOutput, host: HostFd| match o {
            ConsoleOutput::Host => Output::Host(host),
            ConsoleOutput::Capture(c) => Output::Capture(c),
            ConsoleOutput::Sink(f) => Output::Sink(f, true),
        };
        let console = Console {
            input,
            stdout: output(spec.stdout, stdout),
            stderr: output(spec.stderr, stderr),
            terminal: spec.terminal.unwrap_or(host_terminal),
            foreground: Pid(0),
            read_waiters: VecDeque::new(),
            write_waiters: VecDeque::new(),
        };
        for host in console.host_fds() {
            host.set_nonblocking();
        }
        console
    }

    pub(crate) fn host_fds(&self) -> impl Iterator<Item = &HostFd> {
        let input = match &self.input {
            Input::Host(fd) => Some(fd),
            Input::Fed(_) => None,
        };
        [input, self.stdout.host(), self.stderr.host()]
            .into_iter()
            .flatten()
    }

    pub(crate) fn host_fd_mut(&mut self, token: u64) -> Option<&mut HostFd> {
        match token {
            STDIN_TOKEN => match &mut self.input {
                Input::Host(fd) => Some(fd),
                Input::Fed(_) => None,
            },
            STDOUT_TOKEN => match &mut self.stdout {
                Output::Host(fd) => Some(fd),
                _ => None,
            },
            STDERR_TOKEN => match &mut self.stderr {
                Output::Host(fd) => Some(fd),
                _ => None,
            },
            _ => None,
        }
    }
}

impl Kernel {
    /// Lends the task's next poll the console input there is, or parks
    /// the task until there is some.
    pub(crate) fn console_read(&mut self, pid: Pid, fd: Fd, len: usize) -> Outcome {
        let parked = WaitOn::Read {
            fd,
            object: Object::ConsoleIn,
            len,
        };
        match &mut self.console.input {
            Input::Fed(fed) => {
                if !fed.buf.is_empty() {
                    let (a, b) = fed.buf.as_slices();
                    let transfer = Transfer::Out([(a.as_ptr(), a.len()), (b.as_ptr(), b.len())]);
                    self.lend(Object::ConsoleIn, transfer)
                } else if fed.eof {
                    // A terminal's Ctrl-D ends this read only.
                    fed.eof = fed.terminal.is_none();
                    Outcome::Done(Ok(Reply::Size(0)))
                } else {
                    let ask = matches!(&fed.terminal, Some(editor) if !editor.asked);
                    self.console.read_waiters.push_back(pid);
                    if ask {
                        self.ask_for_line();
                    }
                    Outcome::Block(parked)
                }
            }
            Input::Host(host) if host.ready => {
                let transfer = Transfer::Read(host.raw(), read_fd);
                self.lend(Object::ConsoleIn, transfer)
            }
            Input::Host(_) => self.park_on_host(pid, STDIN_TOKEN, parked),
        }
    }

    /// The task's poll took `n` bytes of console input (or met `EAGAIN` on
    /// the host's stdin).
    pub(crate) fn console_taken(&mut self, n: usize, would_block: bool) {
        match &mut self.console.input {
            Input::Fed(fed) => drop(fed.buf.drain(..n.min(fed.buf.len()))),
            Input::Host(host) => host.ready &= !would_block,
        }
    }

    /// Lends the task's next poll the console output stream to write to
    /// (the host's fd, a capture or a sink), so the bytes are out as the
    /// poll writes them; a full host fd parks the task.
    pub(crate) fn console_write(
        &mut self,
        pid: Pid,
        fd: Fd,
        object: Object,
        len: usize,
        done: usize,
    ) -> Outcome {
        let (out, token) = match object {
            Object::ConsoleErr => (&mut self.console.stderr, STDERR_TOKEN),
            _ => (&mut self.console.stdout, STDOUT_TOKEN),
        };
        let parked = WaitOn::Write {
            fd,
            object,
            len,
            done,
        };
        match out {
            Output::Host(host) if !host.ready => return self.park_on_host(pid, token, parked),
            Output::Sink(_, false) => {
                // The sink says when it has room (ConsoleWritable).
                self.console.write_waiters.push_back(pid);
                return Outcome::Block(parked);
            }
            _ => {}
        }
        let transfer = Transfer::Write(out as *mut Output as usize, write_output);
        self.lend(object, transfer)
    }

    /// The task's poll wrote to console output (or met `EAGAIN` on the
    /// host's fd, which is not ready until the poller says so).
    pub(crate) fn console_given(&mut self, object: Object, would_block: bool) {
        let out = match object {
            Object::ConsoleErr => &mut self.console.stderr,
            _ => &mut self.console.stdout,
        };
        match out {
            Output::Host(host) => host.ready &= !would_block,
            Output::Sink(_, ready) => *ready &= !would_block,
            Output::Capture(_) => {}
        }
    }

    /// The terminal's printer has room again: writers parked on a full
    /// sink try again.
    pub(crate) fn console_writable(&mut self) {
        for out in [&mut self.console.stdout, &mut self.console.stderr] {
            if let Output::Sink(_, ready) = out {
                *ready = true;
            }
        }
        for pid in std::mem::take(&mut self.console.write_waiters) {
            self.retry_io(pid);
        }
    }

    fn park_on_host(&mut self, pid: Pid, token: u64, parked: WaitOn) -> Outcome {
        if self.watch_host(token) == Watch::Unwatchable {
            // Cannot be watched, so it was never going to block: a host
            // quirk; report it rather than spin.
            return Outcome::Done(Err(Errno::EAGAIN));
        }
        match token {
            STDIN_TOKEN => self.console.read_waiters.push_back(pid),
            _ => self.console.write_waiters.push_back(pid),
        }
        Outcome::Block(parked)
    }

    /// Is there a line editor that has not been asked for a line yet?
    pub(crate) fn console_wants_line(&self) -> bool {
        matches!(&self.console.input, Input::Fed(Fed { terminal: Some(editor), .. }) if !editor.asked)
    }

    /// Asks the line editor for a line, telling it the live tasks.
    pub(crate) fn ask_for_line(&mut self) {
        let tasks = self
            .tasks
            .iter()
            .filter(|t| !t.is_zombie())
            .map(|t| (t.pid, t.name().to_string()))
            .collect();
        if let Input::Fed(Fed {
            terminal: Some(editor),
            ..
        }) = &mut self.console.input
        {
            editor.asked = true;
            (editor.ask)(LineRequest { tasks });
        }
    }

    /// The line editor's answer is in, or void (Ctrl-C): a reader still
    /// parked will ask again.
    fn line_answered(fed: &mut Fed) {
        if let Some(editor) = &mut fed.terminal {
            editor.asked = false;
        }
    }

    /// More fed input: parked readers take it, oldest first.
    pub(crate) fn console_feed(&mut self, bytes: &[u8]) {
        if let Input::Fed(fed) = &mut self.console.input {
            fed.buf.extend(bytes);
            Self::line_answered(fed);
            self.retry_console_readers();
        }
    }

    /// Fed input ends: parked readers see end-of-file once it is drained
    /// (at a terminal, the first reader only).
    pub(crate) fn console_end(&mut self) {
        if let Input::Fed(fed) = &mut self.console.input {
            fed.eof = true;
            Self::line_answered(fed);
            self.retry_console_readers();
        }
    }

    /// Ctrl-C: the line being edited is gone; the console's foreground group
    /// (if any) gets `INT`; a reader still parked asks for a new line.
    pub(crate) fn console_interrupt(&mut self) {
        let group = self.console.foreground;
        if group.0 != 0 {
            let _ = self.signal_group(None, group, syscalls::Signal::Int);
        }
        if let Input::Fed(fed) = &mut self.console.input {
            Self::line_answered(fed);
            self.retry_console_readers();
        }
    }

    fn retry_console_readers(&mut self) {
        for pid in std::mem::take(&mut self.console.read_waiters) {
            self.retry_io(pid);
        }
    }
}

/// The host's stdio fds are open for the whole life of the process.
trait StaticFd {
    fn as_fd_static(&self) -> std::os::fd::BorrowedFd<'static>;
}

impl<T: std::os::fd::AsRawFd> StaticFd for T {
    fn as_fd_static(&self) -> std::os::fd::BorrowedFd<'static> {
        // SAFETY: fds 0, 1 and 2 belong to the host process for its whole
        // life; the kernel never closes them.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(self.as_raw_fd()) }
    }
}
