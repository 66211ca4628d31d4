//! The coos system-call interface: everything a program may ask of the
//! kernel, and nothing else.
//!
//! A program is an `async fn(Sys, Vec<String>) -> ExitCode`. Every method of
//! [`Sys`] is a system call: its future traps into the kernel (stores a
//! [`Syscall`] in the trap slot and returns `Pending`), and the kernel
//! resumes the task with the reply. Every call returns `Result<_, Errno>`.
#![warn(missing_docs)]

mod call;
mod errno;
mod sys;
mod trap;
mod types;

pub use call::{Image, Reply, Shutdown, SpawnRequest, Syscall};
pub use errno::Errno;
pub use sys::{Command, Sys, SysResult};
pub use trap::{Job, PackedReply, Reader, Transfer, Trap, Writer};
pub use types::{
    ExitCode, Fd, FdMap, Interest, Main, PGroup, Pid, PollFd, Program, ProgramInfo, Signal,
    TaskFuture, TaskInfo, TaskState, Usage, PIPE_BUF,
};
