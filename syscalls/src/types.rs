//! The nouns that cross the system-call boundary: ids, signals, statuses,
//! the task snapshot `ps` shows, and the program registry's entry type.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::Sys;

/// A task's id. Pid 1 is `init`. Pids are not reused while the kernel runs,
/// so a stale pid names nobody rather than somebody else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pid(pub u32);

impl Pid {
    /// The pid of `init`, the ancestor of every task, which no one may kill.
    pub const INIT: Pid = Pid(1);
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A descriptor: an index into the calling task's descriptor table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fd(pub u32);

impl Fd {
    /// Standard input.
    pub const STDIN: Fd = Fd(0);
    /// Standard output.
    pub const STDOUT: Fd = Fd(1);
    /// Standard error.
    pub const STDERR: Fd = Fd(2);
}

impl fmt::Display for Fd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Writes to a pipe of at most this many bytes are atomic: they go in whole,
/// never split or interleaved with another writer's bytes (Unix `PIPE_BUF`).
pub const PIPE_BUF: usize = 4096;

/// An exit status, 0–255. A program's return value is its status; a task
/// ended by a signal has status `128 + signal`, a panicking task 101.
pub type ExitCode = u8;

/// The signals `kill` sends. Every one of them ends its target at once,
/// even when it is blocked in a system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Hang-up (1).
    Hup,
    /// Interrupt (2): what Ctrl-C sends to the foreground job.
    Int,
    /// Quit (3).
    Quit,
    /// Kill (9).
    Kill,
    /// Terminate (15): the polite request to stop.
    Term,
}

impl Signal {
    /// Every signal, in number order.
    pub const ALL: [Signal; 5] = [
        Signal::Hup,
        Signal::Int,
        Signal::Quit,
        Signal::Kill,
        Signal::Term,
    ];

    /// The Unix number: `Signal::Kill.number() == 9`.
    pub fn number(self) -> u8 {
        match self {
            Signal::Hup => 1,
            Signal::Int => 2,
            Signal::Quit => 3,
            Signal::Kill => 9,
            Signal::Term => 15,
        }
    }

    /// The name without `SIG`: `"KILL"`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Hup => "HUP",
            Signal::Int => "INT",
            Signal::Quit => "QUIT",
            Signal::Kill => "KILL",
            Signal::Term => "TERM",
        }
    }

    /// Parses `KILL`, `SIGKILL`, `kill` or `9`.
    pub fn parse(s: &str) -> Option<Signal> {
        let upper = s.to_ascii_uppercase();
        let name = upper.strip_prefix("SIG").unwrap_or(&upper);
        Signal::ALL
            .into_iter()
            .find(|sig| sig.name() == name || sig.number().to_string() == name)
    }

    /// The status of a task this signal ended: `128 + number`.
    pub fn exit_code(self) -> ExitCode {
        128 + self.number()
    }

    /// The signal that gives `status`, if `status` is `128 + signal`.
    pub fn from_exit_code(status: ExitCode) -> Option<Signal> {
        Signal::ALL
            .into_iter()
            .find(|sig| sig.exit_code() == status)
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which process group a spawned child joins. A group is named by the pid of
/// its leader; Ctrl-C at the console interrupts the foreground group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PGroup {
    /// The parent's group (the default, as after `fork`).
    #[default]
    Inherit,
    /// A new group led by the child itself.
    New,
    /// An existing group, named by its leader's pid.
    Join(Pid),
}

/// The descriptors a child starts with: pairs of (child's fd, parent's fd).
/// The child gets exactly these; every other descriptor of the parent stays
/// out of the child (as if close-on-exec were the rule). Fds 0, 1 and 2 are
/// kept inline, so the usual maps cost no allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdMap {
    /// What the child's 0, 1 and 2 are.
    std: [Option<Fd>; 3],
    /// The child's other fds.
    more: Vec<(Fd, Fd)>,
}

impl FdMap {
    /// Inherit standard input, output and error: 0→0, 1→1, 2→2.
    // In line, always, as `Command`'s builder steps (see `Command::with_image`).
    #[inline(always)]
    pub fn stdio() -> FdMap {
        FdMap {
            std: [Some(Fd::STDIN), Some(Fd::STDOUT), Some(Fd::STDERR)],
            more: Vec::new(),
        }
    }

    /// No descriptors at all.
    #[inline(always)]
    pub fn empty() -> FdMap {
        FdMap {
            std: [None; 3],
            more: Vec::new(),
        }
    }

    /// Makes the child's `child` a copy of the parent's `parent`, replacing
    /// what the map said of `child` before.
    #[inline(always)]
    pub fn set(mut self, child: Fd, parent: Fd) -> FdMap {
        match self.std.get_mut(child.0 as usize) {
            Some(slot) => *slot = Some(parent),
            None => {
                self.more.retain(|&(c, _)| c != child);
                self.more.push((child, parent));
            }
        }
        self
    }

    /// Leaves the child's `child` closed.
    pub fn unset(mut self, child: Fd) -> FdMap {
        match self.std.get_mut(child.0 as usize) {
            Some(slot) => *slot = None,
            None => self.more.retain(|&(c, _)| c != child),
        }
        self
    }

    /// The pairs (child's fd, parent's fd), standard ones first.
    pub fn iter(&self) -> impl Iterator<Item = (Fd, Fd)> + '_ {
        FdPairs {
            std: &self.std,
            next: 0,
            more: self.more.iter(),
        }
    }
}

/// `FdMap::iter`: a counter over the three standard fds, then the rest.
/// (Enumerate, filter_map and chain over them cost a spawn ~120
/// instructions, for its two passes over the map.)
struct FdPairs<'a> {
    std: &'a [Option<Fd>; 3],
    next: usize,
    more: std::slice::Iter<'a, (Fd, Fd)>,
}

impl Iterator for FdPairs<'_> {
    type Item = (Fd, Fd);

    #[inline]
    fn next(&mut self) -> Option<(Fd, Fd)> {
        while let Some(&parent) = self.std.get(self.next) {
            self.next += 1;
            if let Some(parent) = parent {
                return Some((Fd(self.next as u32 - 1), parent));
            }
        }
        self.more.next().copied()
    }
}

impl Default for FdMap {
    fn default() -> FdMap {
        FdMap::stdio()
    }
}

/// The future a task runs: its whole life, ending in its exit status.
pub type TaskFuture = Pin<Box<dyn Future<Output = ExitCode>>>;

/// How a program starts: given its `Sys` and its arguments (`args[0]` is the
/// program's name), make the task's future.
pub type Main = fn(Sys, Vec<String>) -> TaskFuture;

/// One entry of the program registry the kernel gets at boot.
#[derive(Clone, Copy)]
pub struct Program {
    /// The name `spawn` and the shell know it by.
    pub name: &'static str,
    /// A one-line description for `help` and `coos programs`.
    pub about: &'static str,
    /// The entry point.
    pub main: Main,
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Program").field("name", &self.name).finish()
    }
}

/// What a task is doing, as `ps` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    /// On the ready queue.
    Ready,
    /// Being polled now (the task asking is always the one running).
    Running,
    /// Asleep until this time on the kernel's clock.
    Sleeping {
        /// The deadline, as time since boot.
        until: Duration,
    },
    /// Blocked reading this descriptor.
    Reading(Fd),
    /// Blocked writing this descriptor.
    Writing(Fd),
    /// Blocked waiting for a connection on this listening socket.
    Accepting(Fd),
    /// Blocked while a connection is being made.
    Connecting,
    /// Blocked in `wait`; `None` waits for any child.
    Waiting(Option<Pid>),
    /// Blocked in a call that is not one of the above.
    Blocked(&'static str),
    /// Ended with this status, not yet waited for.
    Zombie(ExitCode),
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskState::Ready => f.write_str("ready"),
            TaskState::Running => f.write_str("running"),
            TaskState::Sleeping { until } => {
                write!(f, "sleeping until {:.3}s", until.as_secs_f64())
            }
            TaskState::Reading(fd) => write!(f, "reading fd {fd}"),
            TaskState::Writing(fd) => write!(f, "writing fd {fd}"),
            TaskState::Accepting(fd) => write!(f, "accepting on fd {fd}"),
            TaskState::Connecting => f.write_str("connecting"),
            TaskState::Waiting(Some(pid)) => write!(f, "waiting for pid {pid}"),
            TaskState::Waiting(None) => f.write_str("waiting for a child"),
            TaskState::Blocked(what) => write!(f, "blocked in {what}"),
            TaskState::Zombie(code) => write!(f, "zombie ({code})"),
        }
    }
}

/// One row of the task table, as `tasks()` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    /// The task's pid.
    pub pid: Pid,
    /// Its parent's pid (0 for init).
    pub ppid: Pid,
    /// Its process group.
    pub pgid: Pid,
    /// The program's name and arguments (`args[0]` is the name).
    pub args: Vec<String>,
    /// What it is doing.
    pub state: TaskState,
    /// How many times the scheduler has run it.
    pub scheduled: u64,
    /// How many system calls it has made.
    pub syscalls: u64,
    /// Host CPU time spent running it.
    pub cpu: Duration,
    /// The longest it ran without returning to the kernel, if that ever
    /// passed the watchdog's limit: coos could do nothing else meanwhile
    /// (no other task, no signal, no Ctrl-C). `None` if it never did.
    pub hogged: Option<Duration>,
}

/// Readiness `poll` asks about, and answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interest {
    /// A read would not block (bytes, end-of-file, or a connection to
    /// accept).
    pub read: bool,
    /// A write would not block (room, or a reader gone: `EPIPE`).
    pub write: bool,
}

impl Interest {
    /// Readable.
    pub const READ: Interest = Interest {
        read: true,
        write: false,
    };
    /// Writable.
    pub const WRITE: Interest = Interest {
        read: false,
        write: true,
    };
    /// Either.
    pub const BOTH: Interest = Interest {
        read: true,
        write: true,
    };

    /// Neither.
    pub fn is_empty(self) -> bool {
        !self.read && !self.write
    }
}

/// One descriptor of a `poll`: what to wait for, and (filled in by the
/// kernel) what is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollFd {
    /// The descriptor.
    pub fd: Fd,
    /// What to wait for.
    pub interest: Interest,
    /// What was ready when the call returned.
    pub ready: Interest,
}

impl PollFd {
    /// Waits for `interest` on `fd`.
    pub fn new(fd: Fd, interest: Interest) -> PollFd {
        PollFd {
            fd,
            interest,
            ready: Interest::default(),
        }
    }
}

/// How much memory the coos process uses on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Resident set now, in KiB.
    pub rss_kb: u64,
    /// The largest the resident set has been, in KiB.
    pub peak_rss_kb: u64,
    /// What the kernel's own tables hold (task slots, the pid index,
    /// pipes and their buffers, sockets), in KiB: given back once most of
    /// it is free.
    pub kernel_kb: u64,
    /// Task slots the kernel has room for (taken or free).
    pub task_slots: u64,
}

/// A program of the registry, as `programs()` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramInfo {
    /// Its name.
    pub name: String,
    /// Its one-line description.
    pub about: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_by_name_number_and_prefix() {
        assert_eq!(Signal::parse("KILL"), Some(Signal::Kill));
        assert_eq!(Signal::parse("sigterm"), Some(Signal::Term));
        assert_eq!(Signal::parse("2"), Some(Signal::Int));
        assert_eq!(Signal::parse("BOGUS"), None);
        assert_eq!(Signal::Kill.exit_code(), 137);
        assert_eq!(Signal::from_exit_code(130), Some(Signal::Int));
    }

    #[test]
    fn fd_map_set_replaces_an_earlier_mapping() {
        let m = FdMap::stdio().set(Fd(1), Fd(5)).unset(Fd(2));
        assert_eq!(
            m.iter().collect::<Vec<_>>(),
            vec![(Fd(0), Fd(0)), (Fd(1), Fd(5))]
        );
        let m = FdMap::empty().set(Fd(7), Fd(3)).set(Fd(7), Fd(4));
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![(Fd(7), Fd(4))]);
    }
}
