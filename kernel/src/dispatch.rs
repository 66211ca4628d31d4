//! The system-call table: one exhaustive `match` over `Syscall` (no `_`
//! arm, so a new call does not compile until it is handled here). Each arm
//! calls a short `sys_*` handler that checks its arguments and calls the
//! mechanism in `proc.rs`, `fd/` or `time.rs`.

use syscalls::{Errno, Pid, ProgramInfo, Reply, SysResult, Syscall, Usage};

use crate::fd::Object;
use crate::task::WaitOn;
use crate::Kernel;

/// What became of a call.
pub(crate) enum Outcome {
    /// Finished at once with this result; the caller may run on.
    Done(SysResult<Reply>),
    /// Finished; the caller goes behind every ready task.
    Yield,
    /// The caller waits; the handler has parked it where the event it waits
    /// for will find it.
    Block(WaitOn),
    /// As `Block`, the handler having parked the caller itself
    /// (`Kernel::park`).
    Parked,
    /// A read or write goes on: its bytes move in the caller's next poll,
    /// through what the handler lent from this object (`Kernel::lend`).
    /// That poll must follow at once: nothing else may touch the object.
    Move(Object),
    /// The caller no longer runs (it exited or killed itself).
    Gone,
}

/// The process's memory from `/proc/self/status` (zeros where the host has
/// no such file); the kernel's own is filled in by the caller.
fn host_usage() -> Usage {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Usage {
        rss_kb: field("VmRSS:"),
        peak_rss_kb: field("VmHWM:"),
        kernel_kb: 0,
        task_slots: 0,
    }
}

/// The text a call carried, copied into the trap when it was made
/// (`EINVAL` if it is not UTF-8, or its pointer was null).
fn lent_text(text: Option<Vec<u8>>) -> SysResult<String> {
    String::from_utf8(text.ok_or(Errno::EINVAL)?).map_err(|_| Errno::EINVAL)
}

/// Runs a handler as a function of its own. The table's own frame is then
/// what its hot arms (a read, a write, a yield) need: with every handler
/// inlined, it was 1,280 bytes aligned to 128, and saving and restoring it
/// cost 20 instructions a call.
#[inline(never)]
fn apart<R>(handler: impl FnOnce() -> R) -> R {
    handler()
}

impl Kernel {
    /// Carries out `call` for `pid`, reading it where the task's call
    /// future keeps it, field by field: a copy of the whole request would
    /// read back in one load what was written in parts (a stalled load on
    /// every call).
    ///
    /// `slot` is the caller's live slot (`TaskTable::live_at`): the hot
    /// calls find its descriptors there, with no look-up by pid.
    ///
    /// # Safety
    /// `call` points to the request of the task's call future, which has
    /// not been polled or dropped since it trapped. (A call that ends the
    /// task drops that future: the fields are read before that.)
    pub(crate) unsafe fn dispatch(
        &mut self,
        pid: Pid,
        slot: usize,
        call: *const Syscall,
    ) -> Outcome {
        use Outcome::Done;
        // SAFETY: the caller's contract. Not an argument reference: that
        // would have to stay valid for the whole call, past an exit.
        let call = unsafe { &*call };
        match *call {
            // What a call carries beside its words was moved or copied into
            // the trap in the poll that made it (`syscalls/src/trap.rs`).
            Syscall::Spawn(_) => apart(|| {
                Done(match self.trap.take_spawn() {
                    Some(request) => self.sys_spawn(pid, request).map(Reply::Pid),
                    None => Err(Errno::EINVAL),
                })
            }),
            Syscall::Exit(code) => {
                self.exit_task(pid, code);
                Outcome::Gone
            }
            Syscall::Wait { pid: child, hang } => apart(|| self.sys_wait(pid, child, hang)),
            Syscall::Kill(target, signal) => apart(|| self.sys_kill(pid, target, signal)),
            Syscall::KillGroup(group, signal) => apart(|| self.sys_kill_group(pid, group, signal)),
            Syscall::GetPid => Done(Ok(Reply::Pid(pid))),
            Syscall::GetPPid => Done(Ok(Reply::Pid(self.task(pid).ppid))),
            Syscall::Sleep(duration) => apart(|| self.sys_sleep(pid, duration)),
            Syscall::Now => Done(Ok(Reply::Time(self.clock.now().as_nanos() as u64))),
            Syscall::SetDeadline(at) => Done(Ok(apart(|| self.sys_set_deadline(pid, at)))),
            Syscall::DeadlineIn(limit) => Done(Ok(apart(|| self.sys_deadline_in(pid, limit)))),
            Syscall::Yield => Outcome::Yield,
            Syscall::Pipe { capacity } => Done(apart(|| self.sys_pipe(pid, capacity))),
            Syscall::Read { fd, len, .. } => self.sys_read(pid, slot, fd, len),
            Syscall::Write { fd, len, done, .. } => self.sys_write(pid, slot, fd, len, done),
            Syscall::Close(fd) => Done(apart(|| self.sys_close(pid, fd))),
            Syscall::Dup2(from, to) => Done(apart(|| self.sys_dup2(pid, from, to))),
            Syscall::Dup(fd) => Done(apart(|| self.sys_dup(pid, fd))),
            Syscall::Open { .. } => apart(|| {
                let path = lent_text(self.trap.take_text());
                Done(path.and_then(|p| self.sys_open(pid, &p)))
            }),
            Syscall::Blocking(_) => apart(|| match self.trap.take_job() {
                Some(job) => self.sys_blocking(pid, job),
                None => Done(Err(Errno::EINVAL)),
            }),
            Syscall::Poll { .. } => apart(|| {
                let entries = self.trap.take_polls();
                self.sys_poll(pid, entries)
            }),
            Syscall::Listen { .. } => apart(|| {
                let addr = lent_text(self.trap.take_text());
                Done(addr.and_then(|a| self.sys_listen(pid, &a)))
            }),
            Syscall::Accept(fd) => apart(|| self.sys_accept(pid, fd)),
            Syscall::Connect { .. } => apart(|| match lent_text(self.trap.take_text()) {
                Ok(addr) => self.sys_connect(pid, &addr),
                Err(e) => Done(Err(e)),
            }),
            Syscall::Shutdown(fd, how) => Done(apart(|| self.sys_shutdown(pid, fd, how))),
            Syscall::LocalAddr(fd) => Done(apart(|| self.sys_local_addr(pid, fd))),
            Syscall::Tasks => Done(Ok(Reply::Tasks(Box::new(apart(|| self.snapshot()))))),
            Syscall::Usage => apart(|| {
                let stats = self.stats();
                Done(Ok(Reply::Usage(Box::new(Usage {
                    kernel_kb: stats.table_bytes.div_ceil(1024) as u64,
                    task_slots: stats.task_slots as u64,
                    ..host_usage()
                }))))
            }),
            Syscall::Programs => apart(|| {
                Done(Ok(Reply::Programs(Box::new(
                    self.program_list
                        .iter()
                        .map(|p| ProgramInfo {
                            name: p.name.to_string(),
                            about: p.about.to_string(),
                        })
                        .collect(),
                ))))
            }),
            Syscall::IsTerminal(fd) => Done(apart(|| self.sys_is_terminal(pid, fd))),
            Syscall::SetForeground(fd, group) => {
                Done(apart(|| self.sys_set_foreground(pid, fd, group)))
            }
        }
    }
}
