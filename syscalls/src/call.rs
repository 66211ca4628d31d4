//! `Syscall`: THE table. One variant per system call, documented like a man
//! page, and `Reply`, what a call that succeeded answers. The kernel handles
//! every variant in one exhaustive `match` (kernel/src/dispatch.rs).

use std::fmt;
use std::time::Duration;

use crate::types::{
    ExitCode, Fd, FdMap, PGroup, Pid, PollFd, ProgramInfo, Signal, TaskFuture, TaskInfo, Usage,
};
use crate::Sys;

/// A request from a task to the kernel. Plain words, `Copy`: what a call
/// lends (a buffer, a path, a spawn request, a job) is pointed at, and
/// touched only while the call's future is being polled (the contract of
/// [`Sys::call`](crate::Sys::call); `trap.rs` says how). So a request is
/// copied, never dropped: no call pays for drop glue.
#[derive(Clone, Copy)]
pub enum Syscall {
    /// Start a child task. Its argv is `request.args`; what it runs is
    /// `request.image`; its descriptors are `request.fds` (the parent's fds
    /// named there are shared, not copied: both see one pipe end).
    /// Replies `Reply::Pid(child)`.
    ///
    /// The request stays in the caller until the poll that traps moves it
    /// out of the `Option` into the kernel, so a spawn allocates no request.
    ///
    /// # Errors
    /// `ENOENT` no program by that name; `EBADF` a parent fd in the map is
    /// not open; `EINVAL` a child fd is out of range; `EAGAIN` the task
    /// table is full; `ESRCH` the group to join does not exist; `EINVAL` the
    /// request was already taken.
    Spawn(*mut Option<SpawnRequest>),
    /// End the calling task with this status. Never replies.
    Exit(ExitCode),
    /// Wait for a child to end and reap it: `pid: Some(p)` that child,
    /// `None` any child. Replies `Reply::Waited(pid, status)`. With
    /// `hang: false` it does not block: `Reply::Unit` when no such child
    /// has ended yet (Unix `WNOHANG`).
    ///
    /// # Errors
    /// `ECHILD` the caller has no such child (or no child at all).
    Wait {
        /// The child, or any child.
        pid: Option<Pid>,
        /// Block until one ends.
        hang: bool,
    },
    /// Send a signal to a task: it ends at once with status `128 + signal`,
    /// even when blocked in a call. Replies `Reply::Unit`; a zombie target is
    /// left as it is.
    ///
    /// # Errors
    /// `ESRCH` no such task; `EPERM` the target is init (pid 1).
    Kill(Pid, Signal),
    /// Send a signal to every task of the group led by this pid (init
    /// excepted). Replies `Reply::Unit`.
    ///
    /// # Errors
    /// `ESRCH` the group has no live member.
    KillGroup(Pid, Signal),
    /// The caller's pid. Replies `Reply::Pid`.
    GetPid,
    /// The caller's parent's pid. Replies `Reply::Pid`.
    GetPPid,
    /// Sleep for at least this long. Replies `Reply::Unit`.
    Sleep(Duration),
    /// The kernel's clock: time since boot. Replies `Reply::Time` (ns).
    Now,
    /// Set the caller's deadline, a time on the kernel's clock (`None`:
    /// none). A blocking call still waiting then returns `ETIMEDOUT` (a
    /// write that already moved bytes returns their count), and so does
    /// one made after it. Replies `Reply::Time` with the deadline it
    /// replaces, in ns (`u64::MAX`: none). [`Sys::timeout`] is the way to
    /// use it.
    SetDeadline(Option<Duration>),
    /// Bring the caller's deadline to this long from now, unless the one
    /// set comes sooner (which then stays). Replies as `SetDeadline`, with
    /// the deadline it replaces: one call where `Now` and `SetDeadline`
    /// made two or three, for the timeouts a server sets around every
    /// request.
    DeadlineIn(Duration),
    /// Go behind every task that is ready now. Replies `Reply::Unit`.
    Yield,
    /// Make a pipe whose buffer holds `capacity` bytes (0: the default,
    /// 64 KiB). Replies `Reply::Pipe(read end, write end)`.
    ///
    /// # Errors
    /// `EMFILE` the caller's descriptor table is full; `EINVAL` capacity
    /// over the kernel's limit.
    Pipe {
        /// Buffer size in bytes; 0 for the default.
        capacity: usize,
    },
    /// Read up to `len` bytes into `buf`. Blocks until at least one byte is
    /// there, or end-of-file (every writer gone): replies `Reply::Size(n)`,
    /// `n == 0` only at end-of-file or for `len == 0`.
    ///
    /// The bytes are copied into `buf` in a poll of the call's future (the
    /// `Sys` method keeps `buf` borrowed by it), never while it is not
    /// being polled.
    ///
    /// # Errors
    /// `EBADF` fd not open for reading.
    Read {
        /// The descriptor.
        fd: Fd,
        /// Where the bytes go.
        buf: *mut u8,
        /// How many bytes at most.
        len: usize,
    },
    /// Write `len` bytes from `buf`. Blocks while the pipe is full and
    /// finishes when every byte is written, or early when the last reader
    /// goes away (`Reply::Size(n)`, `0 < n <= len`, the bytes written before
    /// that); a byte is never lost or written twice. Writers to a pipe take
    /// turns, so no write is interleaved with another's bytes; a write of at
    /// most [`PIPE_BUF`](crate::PIPE_BUF) bytes that fits the pipe's buffer
    /// also goes in whole. A read takes whatever the pipe holds, up to its
    /// length.
    ///
    /// # Errors
    /// `EBADF` fd not open for writing; `EPIPE` every reader is gone.
    Write {
        /// The descriptor.
        fd: Fd,
        /// The bytes.
        buf: *const u8,
        /// How many.
        len: usize,
        /// How many of them this call has written already (0 when it is
        /// made; the call's future counts them as they go in).
        done: usize,
    },
    /// Close a descriptor. Replies `Reply::Unit`.
    ///
    /// # Errors
    /// `EBADF` fd not open.
    Close(Fd),
    /// Make `to` a copy of `from`, closing what `to` named before.
    /// Replies `Reply::Fd(to)`.
    ///
    /// # Errors
    /// `EBADF` from not open, or `to` beyond the table's limit (as Linux).
    Dup2(Fd, Fd),
    /// Copy `fd` to the lowest free descriptor. Replies `Reply::Fd`.
    ///
    /// # Errors
    /// `EBADF` fd not open; `EMFILE` table full.
    Dup(Fd),
    /// Listen for TCP connections on `addr` (`IP:PORT`; port 0 picks a free
    /// one), with `SO_REUSEADDR`. Replies `Reply::Fd`: a listening socket,
    /// for `Accept`, and for `LocalAddr` to learn the port.
    ///
    /// # Errors
    /// `EINVAL` not an `IP:PORT` (or not UTF-8); `EADDRINUSE`; `EMFILE`
    /// table full.
    Listen {
        /// The address: `len` bytes of UTF-8, copied when the call is made.
        addr: *const u8,
        /// How many.
        len: usize,
    },
    /// Take the next connection from a listening socket, waiting for one.
    /// Replies `Reply::Fd`, a connected socket: `read`, `write`, `shutdown`
    /// and `close` work on it as on a pipe's ends.
    ///
    /// # Errors
    /// `EBADF` fd not open; `ENOTSOCK`/`EINVAL` not a listening socket;
    /// `EMFILE` table full.
    Accept(Fd),
    /// Connect to `addr` (`IP:PORT`), waiting until the connection is made
    /// or fails. Replies `Reply::Fd`.
    ///
    /// # Errors
    /// `EINVAL` not an `IP:PORT` (or not UTF-8); `ECONNREFUSED`;
    /// `ENETUNREACH`; `ETIMEDOUT` (a deadline); `EMFILE` table full.
    Connect {
        /// The address: `len` bytes of UTF-8, copied when the call is made.
        addr: *const u8,
        /// How many.
        len: usize,
    },
    /// Stop reading, writing or both on a connected socket: the peer sees
    /// end-of-file after a `Write` shutdown. Replies `Reply::Unit`.
    ///
    /// # Errors
    /// `EBADF`; `ENOTSOCK` not a socket; `ENOTCONN` not connected.
    Shutdown(Fd, Shutdown),
    /// The local address of a socket, `IP:PORT`. Replies `Reply::Addr`.
    ///
    /// # Errors
    /// `EBADF`; `ENOTSOCK` not a socket.
    LocalAddr(Fd),
    /// Wait until at least one of `len` descriptors at `fds` is ready for
    /// what its entry asks (pipes, the console, sockets); the kernel fills
    /// in each entry's `ready`. Replies `Reply::Size(number ready)`. Blocks
    /// until one is ready: a timeout is a deadline around the call
    /// ([`Sys::poll`](crate::Sys::poll) takes one).
    ///
    /// # Errors
    /// `EBADF` an fd not open; `ETIMEDOUT` the deadline passed.
    Poll {
        /// The caller's entries: copied into the kernel when the call is
        /// made, their `ready` written back in the poll that ends it.
        fds: *mut PollFd,
        /// How many.
        len: usize,
    },
    /// Run `job` on one of the kernel's host threads for blocking work and
    /// park the caller until it has run (asyncio's `run_in_executor`).
    /// Replies `Reply::Unit`; the job hands its result back itself (see
    /// [`Sys::run_blocking`](crate::Sys::run_blocking)). A caller killed
    /// meanwhile does not stop the job; its result is dropped.
    ///
    /// The job moves out of the caller's `Option` in the poll that traps
    /// (as with `Spawn`).
    ///
    /// # Errors
    /// `EAGAIN` the host refused a thread for the pool; `EINVAL` the job was
    /// already taken.
    Blocking(*mut Option<Box<dyn FnOnce() + Send>>),
    /// Open a device by path at the lowest free descriptor. There is one so
    /// far: `/dev/null`, which reads end-of-file and swallows writes. Replies
    /// `Reply::Fd`.
    ///
    /// # Errors
    /// `ENOENT` no such device; `EINVAL` the path is not UTF-8; `EMFILE`
    /// table full.
    Open {
        /// The path: `len` bytes of UTF-8, copied when the call is made.
        path: *const u8,
        /// How many.
        len: usize,
    },
    /// A snapshot of the task table, by pid. Replies `Reply::Tasks`.
    Tasks,
    /// The memory the whole coos process uses on the host (for benchmarks
    /// and `ps`). Replies `Reply::Usage`.
    Usage,
    /// The program registry. Replies `Reply::Programs`.
    Programs,
    /// Is fd the interactive console? Replies `Reply::Bool`.
    ///
    /// # Errors
    /// `EBADF` fd not open.
    IsTerminal(Fd),
    /// Make this group the console's foreground group: Ctrl-C sends `INT` to
    /// it. `Pid(0)` means none (a shell waiting at its prompt): Ctrl-C then
    /// only clears the line being typed. Replies `Reply::Unit`.
    ///
    /// # Errors
    /// `EBADF` fd not open; `ENOTTY` fd is not the console.
    SetForeground(Fd, Pid),
}

/// What `Syscall::Spawn` starts.
pub struct SpawnRequest {
    /// The code to run.
    pub image: Image,
    /// The child's argv. For `Image::Program` it starts with the program's
    /// name; for `Image::Fn` and `Image::Task`, empty means "the parent's
    /// argv".
    pub args: Vec<String>,
    /// The child's descriptors.
    pub fds: FdMap,
    /// The child's process group.
    pub pgroup: PGroup,
}

/// The code a spawned task runs.
pub enum Image {
    /// A program of the registry, by name.
    Program(String),
    /// A closure that makes the task's future from its `Sys`.
    Fn(Box<dyn FnOnce(Sys) -> TaskFuture>),
    /// The task's future, made by the parent with a clone of its own `Sys`
    /// (a kernel's tasks share one trap, so any of its `Sys` serves): one
    /// allocation fewer than `Fn`.
    Task(TaskFuture),
}

/// The answer to a call that succeeded. Kept to 16 bytes (big answers
/// are boxed), so that a reply travels in two registers, not through
/// memory, on every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Nothing to say.
    Unit,
    /// A byte count.
    Size(usize),
    /// A pid.
    Pid(Pid),
    /// A descriptor.
    Fd(Fd),
    /// A child that was reaped, with its status.
    Waited(Pid, ExitCode),
    /// A pipe's read and write ends.
    Pipe(Fd, Fd),
    /// A time on the kernel's clock, in nanoseconds since boot.
    Time(u64),
    /// Yes or no.
    Bool(bool),
    /// The task table.
    Tasks(Box<Vec<TaskInfo>>),
    /// The program registry.
    Programs(Box<Vec<ProgramInfo>>),
    /// Host memory use.
    Usage(Box<Usage>),
    /// A socket address, `IP:PORT`.
    Addr(Box<String>),
    /// A `poll`'s entries with `ready` filled in (the call's future copies
    /// them back and answers `Size(number ready)`).
    Polled(Box<Vec<PollFd>>),
}

/// Which direction `shutdown` stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// No more reading.
    Read,
    /// No more writing: the peer reads end-of-file.
    Write,
    /// Both.
    Both,
}

impl Syscall {
    /// A copy of the request, read field by field for the calls every task
    /// makes all the time (so each field is read with the width it was
    /// written with: a wider read would stall on the narrower stores), whole
    /// for the rest.
    #[inline]
    pub fn read_in_place(&self) -> Syscall {
        match *self {
            Syscall::Read { fd, buf, len } => Syscall::Read { fd, buf, len },
            Syscall::Write { fd, buf, len, done } => Syscall::Write { fd, buf, len, done },
            Syscall::Yield => Syscall::Yield,
            Syscall::Wait { pid, hang } => Syscall::Wait { pid, hang },
            Syscall::Sleep(d) => Syscall::Sleep(d),
            Syscall::Now => Syscall::Now,
            Syscall::GetPid => Syscall::GetPid,
            Syscall::Close(fd) => Syscall::Close(fd),
            Syscall::Spawn(request) => Syscall::Spawn(request),
            other => other,
        }
    }

    /// Does the call carry more than its words (a spawn request, a job, a
    /// text, poll entries), to be taken into the kernel as it traps?
    #[inline]
    pub fn carries(&self) -> bool {
        matches!(
            self,
            Syscall::Spawn(_)
                | Syscall::Blocking(_)
                | Syscall::Open { .. }
                | Syscall::Listen { .. }
                | Syscall::Connect { .. }
                | Syscall::Poll { .. }
        )
    }

    /// The call's Unix-like name, for traces and `ps`.
    pub fn name(&self) -> &'static str {
        match self {
            Syscall::Spawn(_) => "spawn",
            Syscall::Exit(_) => "exit",
            Syscall::Wait { .. } => "wait",
            Syscall::Kill(..) => "kill",
            Syscall::KillGroup(..) => "killpg",
            Syscall::GetPid => "getpid",
            Syscall::GetPPid => "getppid",
            Syscall::Sleep(_) => "sleep",
            Syscall::Now => "now",
            Syscall::SetDeadline(_) => "setdeadline",
            Syscall::DeadlineIn(_) => "deadlinein",
            Syscall::Yield => "yield",
            Syscall::Pipe { .. } => "pipe",
            Syscall::Read { .. } => "read",
            Syscall::Write { .. } => "write",
            Syscall::Close(_) => "close",
            Syscall::Dup2(..) => "dup2",
            Syscall::Dup(_) => "dup",
            Syscall::Open { .. } => "open",
            Syscall::Blocking(_) => "blocking",
            Syscall::Poll { .. } => "poll",
            Syscall::Listen { .. } => "listen",
            Syscall::Accept(_) => "accept",
            Syscall::Connect { .. } => "connect",
            Syscall::Shutdown(..) => "shutdown",
            Syscall::LocalAddr(_) => "getsockname",
            Syscall::Tasks => "tasks",
            Syscall::Usage => "usage",
            Syscall::Programs => "programs",
            Syscall::IsTerminal(_) => "isatty",
            Syscall::SetForeground(..) => "tcsetpgrp",
        }
    }
}

impl fmt::Debug for Syscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Syscall::Spawn(_) => f.write_str("spawn(..)"),
            Syscall::Exit(code) => write!(f, "exit({code})"),
            Syscall::Wait { pid, hang } => {
                let call = if *hang { "wait" } else { "try_wait" };
                match pid {
                    Some(pid) => write!(f, "{call}({pid})"),
                    None => write!(f, "{call}(any)"),
                }
            }
            Syscall::Kill(pid, sig) => write!(f, "kill({pid}, {sig})"),
            Syscall::KillGroup(pid, sig) => write!(f, "killpg({pid}, {sig})"),
            Syscall::Sleep(d) => write!(f, "sleep({d:?})"),
            Syscall::Pipe { capacity } => write!(f, "pipe({capacity})"),
            Syscall::Read { fd, len, .. } => write!(f, "read({fd}, {len})"),
            Syscall::Write { fd, len, .. } => write!(f, "write({fd}, {len})"),
            Syscall::Close(fd) => write!(f, "close({fd})"),
            Syscall::Dup2(from, to) => write!(f, "dup2({from}, {to})"),
            Syscall::Dup(fd) => write!(f, "dup({fd})"),
            Syscall::Open { len, .. } => write!(f, "open({len} bytes)"),
            Syscall::Listen { len, .. } => write!(f, "listen({len} bytes)"),
            Syscall::Accept(fd) => write!(f, "accept({fd})"),
            Syscall::Connect { len, .. } => write!(f, "connect({len} bytes)"),
            Syscall::Shutdown(fd, how) => write!(f, "shutdown({fd}, {how:?})"),
            Syscall::LocalAddr(fd) => write!(f, "getsockname({fd})"),
            Syscall::IsTerminal(fd) => write!(f, "isatty({fd})"),
            Syscall::SetForeground(fd, pid) => write!(f, "tcsetpgrp({fd}, {pid})"),
            other => write!(f, "{}()", other.name()),
        }
    }
}
