//! The event trace: what the scheduler did, in order, for tests and for
//! people reading how a run went. Recorded only when `Config::trace` is on.

use std::fmt;

use syscalls::{ExitCode, Pid};

/// One thing the kernel did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `parent` started `child`, running `name`.
    Spawn {
        /// The parent.
        parent: Pid,
        /// The new task.
        child: Pid,
        /// Its argv[0].
        name: String,
    },
    /// The scheduler polled this task.
    Run(Pid),
    /// The task made this call.
    Syscall(Pid, &'static str),
    /// The task blocked (on what: `ps`'s words).
    Block(Pid, String),
    /// The task was made ready by the event it waited for.
    Wake(Pid),
    /// The task ended with this status.
    Exit(Pid, ExitCode),
    /// Its parent reaped it.
    Reap(Pid),
    /// This group became the console's foreground (0: none).
    Foreground(Pid),
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Spawn {
                parent,
                child,
                name,
            } => write!(f, "spawn {parent} -> {child} {name}"),
            Event::Run(pid) => write!(f, "run {pid}"),
            Event::Syscall(pid, call) => write!(f, "syscall {pid} {call}"),
            Event::Block(pid, what) => write!(f, "block {pid} {what}"),
            Event::Wake(pid) => write!(f, "wake {pid}"),
            Event::Exit(pid, code) => write!(f, "exit {pid} {code}"),
            Event::Reap(pid) => write!(f, "reap {pid}"),
            Event::Foreground(group) => write!(f, "foreground {group}"),
        }
    }
}
