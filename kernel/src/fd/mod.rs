//! Descriptors and the objects they name. A task's `FdTable` maps fds to
//! `Object`s, small copyable ids; the kernel owns the objects themselves
//! (pipes in a table, the console) and counts the descriptors that share
//! each one, so that closing the last write end means end-of-file and
//! closing the last read end means `EPIPE`. Only the kernel touches them.

pub(crate) mod console;
pub(crate) mod host;
pub(crate) mod pipe;
pub(crate) mod ready;
pub(crate) mod socket;

use syscalls::{Errno, Fd, Transfer};

/// What a descriptor names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Object {
    /// The read end of the pipe with this id.
    PipeRead(u32),
    /// The write end of the pipe with this id.
    PipeWrite(u32),
    /// The console's input.
    ConsoleIn,
    /// The console's output.
    ConsoleOut,
    /// The console's error output.
    ConsoleErr,
    /// Reads end-of-file, swallows writes (`/dev/null`).
    Null,
    /// The socket with this id.
    Socket(u32),
}

/// A task's descriptors: the lowest free fd is handed out first. The first
/// `INLINE` live in the table itself, so most tasks (stdin, stdout, stderr
/// and a pipe end) never allocate for them.
#[derive(Clone)]
pub(crate) enum FdTable {
    Inline([Option<Object>; INLINE]),
    Heap(Vec<Option<Object>>),
}

/// Descriptors kept without allocation.
const INLINE: usize = 4;

impl Default for FdTable {
    fn default() -> FdTable {
        FdTable::EMPTY
    }
}

impl FdTable {
    pub(crate) const EMPTY: FdTable = FdTable::Inline([None; INLINE]);

    fn slots(&self) -> &[Option<Object>] {
        match self {
            FdTable::Inline(a) => a,
            FdTable::Heap(v) => v,
        }
    }

    fn slots_mut(&mut self) -> &mut [Option<Object>] {
        match self {
            FdTable::Inline(a) => a,
            FdTable::Heap(v) => v,
        }
    }

    pub(crate) fn get(&self, fd: Fd) -> Result<Object, Errno> {
        self.slots()
            .get(fd.0 as usize)
            .copied()
            .flatten()
            .ok_or(Errno::EBADF)
    }

    /// Puts `object` at the lowest free fd below `limit`.
    pub(crate) fn insert(&mut self, object: Object, limit: usize) -> Result<Fd, Errno> {
        let slots = self.slots();
        let fd = slots
            .iter()
            .position(Option::is_none)
            .unwrap_or(slots.len());
        if fd >= limit {
            return Err(Errno::EMFILE);
        }
        self.set(Fd(fd as u32), object);
        Ok(Fd(fd as u32))
    }

    /// How many fds are free below `limit`.
    pub(crate) fn free_below(&self, limit: usize) -> usize {
        let used = self
            .slots()
            .iter()
            .take(limit)
            .filter(|o| o.is_some())
            .count();
        limit.saturating_sub(used)
    }

    /// Puts `object` at `fd`, returning what was there. Caller checks the
    /// limit.
    #[inline]
    pub(crate) fn set(&mut self, fd: Fd, object: Object) -> Option<Object> {
        let i = fd.0 as usize;
        match self {
            FdTable::Inline(slots) if i < INLINE => slots[i].replace(object),
            _ => self.set_slow(fd, object),
        }
    }

    /// `set` past the inline slots.
    fn set_slow(&mut self, fd: Fd, object: Object) -> Option<Object> {
        let i = fd.0 as usize;
        if i >= self.slots().len() {
            match self {
                // Within the Vec's capacity: no allocation.
                FdTable::Heap(v) => v.resize(i + 1, None),
                FdTable::Inline(a) => {
                    let mut grown = a.to_vec();
                    grown.resize(i + 1, None);
                    *self = FdTable::Heap(grown);
                }
            }
        }
        self.slots_mut()[i].replace(object)
    }

    pub(crate) fn remove(&mut self, fd: Fd) -> Result<Object, Errno> {
        let object = self
            .slots_mut()
            .get_mut(fd.0 as usize)
            .and_then(Option::take)
            .ok_or(Errno::EBADF)?;
        if let FdTable::Heap(v) = self {
            while let Some(None) = v.last() {
                v.pop();
            }
        }
        Ok(object)
    }

    /// Takes the object of the highest open fd out; `None` once none is
    /// open (the table is then `EMPTY`, a heap one given back).
    pub(crate) fn take_last(&mut self) -> Option<Object> {
        match self {
            FdTable::Inline(slots) => slots.iter_mut().rev().find_map(Option::take),
            FdTable::Heap(v) => {
                while let Some(slot) = v.pop() {
                    if slot.is_some() {
                        return slot;
                    }
                }
                *self = FdTable::EMPTY;
                None
            }
        }
    }
}

use syscalls::{Pid, Reply, SysResult};

use crate::dispatch::Outcome;
use crate::poll::{Interest, Readiness};
use crate::task::{RunState, WaitOn};
use crate::Kernel;
use host::Watch;

impl Kernel {
    pub(crate) fn sys_pipe(&mut self, pid: Pid, capacity: usize) -> SysResult<Reply> {
        let capacity = if capacity == 0 {
            self.config.pipe_capacity
        } else {
            capacity
        };
        if capacity > self.config.max_pipe_capacity {
            return Err(Errno::EINVAL);
        }
        let max_fds = self.config.max_fds;
        if self.tasks.fds(pid).free_below(max_fds) < 2 {
            return Err(Errno::EMFILE);
        }
        let id = self.new_pipe(capacity);
        let fds = self.tasks.fds_mut(pid);
        let r = fds.insert(Object::PipeRead(id), max_fds)?;
        let w = fds.insert(Object::PipeWrite(id), max_fds)?;
        Ok(Reply::Pipe(r, w))
    }

    /// A read by `pid`, whose live slot is `slot`.
    pub(crate) fn sys_read(&mut self, pid: Pid, slot: usize, fd: Fd, len: usize) -> Outcome {
        match self.tasks.live_at(slot).fds.get(fd) {
            Ok(object) => self.read_object(pid, fd, object, len),
            Err(e) => Outcome::Done(Err(e)),
        }
    }

    /// A write by `pid`, whose live slot is `slot`.
    pub(crate) fn sys_write(
        &mut self,
        pid: Pid,
        slot: usize,
        fd: Fd,
        len: usize,
        done: usize,
    ) -> Outcome {
        if done > len {
            return Outcome::Done(Err(Errno::EINVAL));
        }
        match self.tasks.live_at(slot).fds.get(fd) {
            Ok(object) => self.write_object(pid, fd, object, len, done),
            Err(e) => Outcome::Done(Err(e)),
        }
    }

    /// Lends the task's next poll what it reads from `object` (up to `len`
    /// bytes), or parks the task on it. Also the retry of a parked read.
    pub(crate) fn read_object(&mut self, pid: Pid, fd: Fd, object: Object, len: usize) -> Outcome {
        if len == 0 {
            return Outcome::Done(Ok(Reply::Size(0)));
        }
        match object {
            Object::PipeRead(id) => self.pipe_read(pid, fd, id, len),
            Object::ConsoleIn => self.console_read(pid, fd, len),
            Object::Null => Outcome::Done(Ok(Reply::Size(0))),
            Object::Socket(id) => self.socket_read(pid, fd, id, len),
            Object::PipeWrite(_) | Object::ConsoleOut | Object::ConsoleErr => {
                Outcome::Done(Err(Errno::EBADF))
            }
        }
    }

    /// Lends the task's next poll room for the `len - done` bytes it has
    /// still to write to `object`, or parks the task. Also the retry of a
    /// parked write.
    pub(crate) fn write_object(
        &mut self,
        pid: Pid,
        fd: Fd,
        object: Object,
        len: usize,
        done: usize,
    ) -> Outcome {
        if len == done {
            return Outcome::Done(Ok(Reply::Size(len)));
        }
        match object {
            Object::PipeWrite(id) => self.pipe_write(pid, fd, id, len, done),
            Object::ConsoleOut | Object::ConsoleErr => {
                self.console_write(pid, fd, object, len, done)
            }
            Object::Null => Outcome::Done(Ok(Reply::Size(len))),
            Object::Socket(id) => self.socket_write(pid, fd, id, len, done),
            Object::PipeRead(_) | Object::ConsoleIn => Outcome::Done(Err(Errno::EBADF)),
        }
    }

    /// Lends `transfer` (the bytes of `object` to read, or its room to
    /// write) to the task's next poll, which must follow at once: the
    /// transfer is in the trap already, and `Outcome::Move` says so.
    pub(crate) fn lend(&mut self, object: Object, transfer: Transfer) -> Outcome {
        // SAFETY: what `transfer` points at (a pipe's ring, the console's
        // buffers and streams, a host fd) is the kernel's; the caller
        // hands it to the poll that follows at once, before the kernel
        // touches that object again (a poll that does not follow is
        // preceded by `put_packed` or `clear`, which drop the transfer).
        unsafe { self.trap.put_transfer(&transfer) };
        Outcome::Move(object)
    }

    /// Accounts for the bytes the task's poll moved through what was lent
    /// from `object` (`moved`: `None` if the future was not polled, so
    /// nothing moved):
    /// a pipe's or the console's buffer gives them up or takes them, the
    /// other side is woken; a host descriptor that answered `EAGAIN` is
    /// not ready until the poller says so.
    pub(crate) fn settle_move(&mut self, object: Object, moved: Option<SysResult<usize>>) {
        let Some(moved) = moved else {
            return;
        };
        let would_block = moved == Err(Errno::EAGAIN);
        let n = moved.unwrap_or(0);
        match object {
            Object::PipeRead(id) => self.pipe_taken(id, n),
            Object::PipeWrite(id) => self.pipe_given(id, n),
            Object::ConsoleIn => self.console_taken(n, would_block),
            Object::ConsoleOut | Object::ConsoleErr => self.console_given(object, would_block),
            Object::Socket(id) => {
                let reading = self.trap.lent_a_reader();
                self.socket_moved(id, reading, moved);
            }
            Object::Null => {}
        }
    }

    /// Carries out again the call `on` describes, for `pid`.
    pub(crate) fn retry(&mut self, pid: Pid, on: WaitOn) -> Outcome {
        match on {
            WaitOn::Read { fd, object, len } => self.read_object(pid, fd, object, len),
            WaitOn::Write {
                fd,
                object,
                len,
                done,
            } => self.write_object(pid, fd, object, len, done),
            WaitOn::Accept {
                fd,
                object: Object::Socket(id),
            } => self.accept_on(pid, fd, id),
            WaitOn::Connect { socket } => self.connect_done(pid, socket),
            WaitOn::Poll => {
                let entries = self.polls.remove(&pid).unwrap_or_default();
                self.sys_poll(pid, entries)
            }
            other => Outcome::Block(other),
        }
    }

    /// Makes `pid`, parked reading, writing or polling on the console,
    /// ready to try again when it runs. A task parked on something else is
    /// left alone.
    pub(crate) fn retry_io(&mut self, pid: Pid) {
        if let Some(RunState::Blocked(WaitOn::Read { .. } | WaitOn::Write { .. } | WaitOn::Poll)) =
            self.tasks.state(pid)
        {
            self.wake(pid);
        }
    }

    pub(crate) fn sys_open(&mut self, pid: Pid, path: &str) -> SysResult<Reply> {
        let object = match path {
            "/dev/null" => Object::Null,
            _ => return Err(Errno::ENOENT),
        };
        let max_fds = self.config.max_fds;
        let fd = self.tasks.fds_mut(pid).insert(object, max_fds)?;
        Ok(Reply::Fd(fd))
    }

    pub(crate) fn sys_close(&mut self, pid: Pid, fd: Fd) -> SysResult<Reply> {
        let object = self.tasks.fds_mut(pid).remove(fd)?;
        self.release(object);
        Ok(Reply::Unit)
    }

    pub(crate) fn sys_dup2(&mut self, pid: Pid, from: Fd, to: Fd) -> SysResult<Reply> {
        let object = self.tasks.fds(pid).get(from)?;
        if to.0 as usize >= self.config.max_fds {
            return Err(Errno::EBADF);
        }
        if from != to {
            self.retain(object);
            if let Some(old) = self.tasks.fds_mut(pid).set(to, object) {
                self.release(old);
            }
        }
        Ok(Reply::Fd(to))
    }

    pub(crate) fn sys_dup(&mut self, pid: Pid, fd: Fd) -> SysResult<Reply> {
        let object = self.tasks.fds(pid).get(fd)?;
        let max_fds = self.config.max_fds;
        let new = self.tasks.fds_mut(pid).insert(object, max_fds)?;
        self.retain(object);
        Ok(Reply::Fd(new))
    }

    pub(crate) fn sys_is_terminal(&mut self, pid: Pid, fd: Fd) -> SysResult<Reply> {
        let object = self.tasks.fds(pid).get(fd)?;
        let console = matches!(
            object,
            Object::ConsoleIn | Object::ConsoleOut | Object::ConsoleErr
        );
        Ok(Reply::Bool(console && self.console.terminal))
    }

    pub(crate) fn sys_set_foreground(&mut self, pid: Pid, fd: Fd, group: Pid) -> SysResult<Reply> {
        match self.tasks.fds(pid).get(fd)? {
            Object::ConsoleIn | Object::ConsoleOut | Object::ConsoleErr => {
                self.console.foreground = group;
                self.record(|| crate::Event::Foreground(group));
                Ok(Reply::Unit)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    /// One more descriptor names `object`.
    #[inline]
    pub(crate) fn retain(&mut self, object: Object) {
        match object {
            Object::PipeRead(id) => self.pipe_mut(id).readers += 1,
            Object::PipeWrite(id) => self.pipe_mut(id).writers += 1,
            Object::Socket(id) => self.socket_retain(id),
            Object::ConsoleIn | Object::ConsoleOut | Object::ConsoleErr | Object::Null => {}
        }
    }

    /// One descriptor fewer names `object`; the last one of a pipe end
    /// wakes the other side (end-of-file, or `EPIPE`).
    #[inline]
    pub(crate) fn release(&mut self, object: Object) {
        match object {
            Object::PipeRead(id) => self.pipe_release_reader(id),
            Object::PipeWrite(id) => self.pipe_release_writer(id),
            Object::Socket(id) => self.socket_release(id),
            Object::ConsoleIn | Object::ConsoleOut | Object::ConsoleErr | Object::Null => {}
        }
    }

    /// Starts watching the host fd behind `token` if not yet watched.
    pub(crate) fn watch_host(&mut self, token: u64) -> Watch {
        let Some(host) = self.console.host_fd_mut(token) else {
            return Watch::Unwatchable;
        };
        if host.watch == Watch::NotYet {
            let interest = match token {
                console::STDIN_TOKEN => Interest::ReadEdge,
                _ => Interest::WriteEdge,
            };
            host.watch = match self.poller.register(&*host, token, interest) {
                Ok(()) => Watch::Watched,
                Err(_) => Watch::Unwatchable,
            };
        }
        host.watch
    }

    /// The host fd behind `token` may be ready: retry the tasks parked on it.
    pub(crate) fn host_ready(&mut self, token: u64, ready: Readiness) {
        use console::{STDERR_TOKEN, STDIN_TOKEN, STDOUT_TOKEN};
        if token >= socket::SOCKET_TOKEN {
            self.socket_ready((token - socket::SOCKET_TOKEN) as u32, ready);
            return;
        }
        if let Some(host) = self.console.host_fd_mut(token) {
            host.ready = true;
        }
        let parked = match token {
            STDIN_TOKEN => std::mem::take(&mut self.console.read_waiters),
            STDOUT_TOKEN | STDERR_TOKEN => std::mem::take(&mut self.console.write_waiters),
            _ => return,
        };
        for pid in parked {
            self.retry_io(pid);
        }
    }

    /// Tasks parked on host fds, and open sockets (an upper bound: killed
    /// tasks may linger in the queues until the next readiness event).
    pub(crate) fn host_waiters(&self) -> usize {
        let readers = match self.console.input {
            console::Input::Host(_) => self.console.read_waiters.len(),
            console::Input::Fed(_) => 0,
        };
        // Open sockets keep the poller asked: their readiness is news.
        // So do jobs out on the blocking pool: their end comes by the inbox.
        readers + self.console.write_waiters.len() + self.open_sockets + self.pool.outstanding
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_fd_is_handed_out_first() {
        let mut t = FdTable::default();
        assert_eq!(t.insert(Object::Null, 8), Ok(Fd(0)));
        assert_eq!(t.insert(Object::Null, 8), Ok(Fd(1)));
        assert_eq!(t.insert(Object::Null, 8), Ok(Fd(2)));
        assert_eq!(t.remove(Fd(1)), Ok(Object::Null));
        assert_eq!(t.insert(Object::ConsoleIn, 8), Ok(Fd(1)));
        assert_eq!(t.get(Fd(1)), Ok(Object::ConsoleIn));
        assert_eq!(t.get(Fd(7)), Err(Errno::EBADF));
        assert_eq!(t.remove(Fd(7)), Err(Errno::EBADF));
    }

    #[test]
    fn a_full_table_answers_emfile() {
        let mut t = FdTable::default();
        assert!(t.insert(Object::Null, 2).is_ok());
        assert!(t.insert(Object::Null, 2).is_ok());
        assert_eq!(t.insert(Object::Null, 2), Err(Errno::EMFILE));
        assert_eq!(t.free_below(2), 0);
    }
}
