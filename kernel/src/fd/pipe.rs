//! Pipes: a bounded byte buffer, the count of descriptors on each end, and
//! the tasks parked on it. The buffer is a ring that grows on demand up to
//! the pipe's capacity, so an idle pipe costs a few dozen bytes.
//!
//! Bytes move only in a poll of the call that moves them (the rule of
//! `syscalls/src/trap.rs`): a writer's poll copies into room the ring lends
//! it, a reader's poll copies out of the bytes the ring lends it, and the
//! kernel settles each move after the poll (`pipe_given`, `pipe_taken`),
//! waking the other side. A parked reader or writer is woken to make its
//! call again; it never has bytes moved for it while it is not polled.

use std::collections::VecDeque;

use syscalls::{Errno, Fd, Pid, Reply, Transfer};

use super::Object;
use crate::dispatch::Outcome;
use crate::task::{RunState, WaitOn};
use crate::Kernel;

use syscalls::PIPE_BUF;

pub(crate) struct Pipe {
    pub buf: Ring,
    pub capacity: usize,
    /// Descriptors open on the read end, across every task.
    pub readers: u32,
    /// Descriptors open on the write end.
    pub writers: u32,
    /// Tasks parked reading (only while the buffer is empty).
    pub read_waiters: VecDeque<Pid>,
    /// Tasks parked writing (only while the buffer is full for them). The
    /// front one's write goes on first: it may have written part already.
    pub write_waiters: VecDeque<Pid>,
    /// The front writer was woken and has not run yet: woken once is
    /// enough.
    pub writer_woken: bool,
}

impl Pipe {
    pub(crate) fn new(capacity: usize) -> Pipe {
        Pipe {
            buf: Ring::default(),
            capacity,
            readers: 1,
            writers: 1,
            read_waiters: VecDeque::new(),
            write_waiters: VecDeque::new(),
            writer_woken: false,
        }
    }

    pub(crate) fn free(&self) -> usize {
        self.capacity - self.buf.len()
    }

    /// Moves bytes from the buffer into `out`; returns how many.
    #[cfg(test)]
    pub(crate) fn take_into(&mut self, out: &mut [u8]) -> usize {
        self.buf.pop_into(out)
    }

    /// How many bytes of a write of `len` bytes, `done` of which are already
    /// in, may go into the buffer now: all that fit, but an atomic write
    /// (`len <= PIPE_BUF`) goes in whole or not at all.
    pub(crate) fn room_for(&self, len: usize, done: usize) -> usize {
        let want = len - done;
        let free = self.free();
        // A write bigger than the whole buffer could never go in whole.
        let atomic = len <= PIPE_BUF.min(self.capacity);
        if atomic && done == 0 && free < want {
            0
        } else {
            want.min(free)
        }
    }

    /// Appends bytes; caller checked `room_for`.
    #[cfg(test)]
    pub(crate) fn put(&mut self, bytes: &[u8]) {
        debug_assert!(bytes.len() <= self.free());
        self.buf.reserve(bytes.len(), self.capacity);
        let [a, b] = self.buf.room(bytes.len());
        // SAFETY: `room` lends `a.1 + b.1 == bytes.len()` bytes of the
        // ring's own memory, which `bytes` (borrowed) cannot overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), a.0, a.1);
            std::ptr::copy_nonoverlapping(bytes.as_ptr().add(a.1), b.0, b.1);
        }
        self.buf.commit(bytes.len());
    }
}

/// The bytes a pipe holds: a ring over memory that grows (doubling) up to
/// the pipe's capacity as bytes come, so a pipe that carries little holds
/// little (a new pipe, none).
#[derive(Default)]
pub(crate) struct Ring {
    data: Box<[u8]>,
    head: usize,
    len: usize,
}

impl Ring {
    /// The least memory a ring takes once it holds a byte.
    const MIN: usize = 64;

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes of memory the ring holds.
    pub(crate) fn allocated(&self) -> usize {
        self.data.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Makes room for `n` more bytes (growing, doubling, up to
    /// `capacity`); the caller keeps the total within `capacity`.
    #[inline]
    pub(crate) fn reserve(&mut self, n: usize, capacity: usize) {
        if self.len + n > self.data.len() {
            self.grow(n, capacity);
        }
    }

    /// `reserve` when the memory is too small.
    #[cold]
    fn grow(&mut self, n: usize, capacity: usize) {
        let size = (self.data.len() * 2)
            .max(self.len + n)
            .max(Ring::MIN)
            .min(capacity.max(self.len + n));
        let mut data = vec![0u8; size].into_boxed_slice();
        let held = self.pop_into(&mut data);
        self.data = data;
        self.head = 0;
        self.len = held;
    }

    /// The free room for the next `n` bytes (reserved), as two runs: to
    /// the end of the memory, and on from its start.
    pub(crate) fn room(&mut self, n: usize) -> [(*mut u8, usize); 2] {
        let size = self.data.len();
        let tail = wrap(self.head + self.len, size);
        let first = n.min(size - tail);
        let at = self.data.as_mut_ptr();
        // SAFETY: `tail <= size`: in bounds, or one past the end with a
        // run of 0 bytes.
        [(unsafe { at.add(tail) }, first), (at, n - first)]
    }

    /// `n` bytes were copied into `room(n)`: they are held now.
    pub(crate) fn commit(&mut self, n: usize) {
        debug_assert!(self.len + n <= self.data.len());
        self.len += n;
    }

    /// The bytes held, up to `n`, oldest first, as two runs.
    pub(crate) fn held(&self, n: usize) -> [(*const u8, usize); 2] {
        let n = n.min(self.len);
        let size = self.data.len();
        let first = n.min(size - self.head);
        let at = self.data.as_ptr();
        // SAFETY: `head < size` whenever bytes are held; with none, `n` is
        // 0 and `head` is 0.
        [(unsafe { at.add(self.head) }, first), (at, n - first)]
    }

    /// The `n` oldest bytes were copied out of `held`: drop them.
    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.head = wrap(self.head + n, self.data.len().max(1));
        self.len -= n;
        if self.len == 0 {
            self.head = 0;
        }
    }

    /// Moves up to `out.len()` bytes, oldest first, into `out`.
    pub(crate) fn pop_into(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.len);
        if n == 0 {
            return 0;
        }
        let size = self.data.len();
        let first = n.min(size - self.head);
        out[..first].copy_from_slice(&self.data[self.head..self.head + first]);
        if first < n {
            out[first..n].copy_from_slice(&self.data[..n - first]);
        }
        self.head = wrap(self.head + n, size);
        self.len -= n;
        if self.len == 0 {
            self.head = 0;
        }
        n
    }
}

/// `at % size` for `at < 2 * size`, without a division.
#[inline]
fn wrap(at: usize, size: usize) -> usize {
    if at >= size {
        at - size
    } else {
        at
    }
}

impl Kernel {
    pub(crate) fn new_pipe(&mut self, capacity: usize) -> u32 {
        let pipe = Pipe::new(capacity);
        match self.free_pipes.pop() {
            Some(id) => {
                self.pipes[id as usize] = Some(pipe);
                id
            }
            None => {
                self.pipes.push(Some(pipe));
                (self.pipes.len() - 1) as u32
            }
        }
    }

    pub(crate) fn pipe_mut(&mut self, id: u32) -> &mut Pipe {
        self.pipes[id as usize]
            .as_mut()
            .expect("a pipe with an open descriptor exists")
    }

    /// Lends the reader's next poll the bytes the buffer holds, or parks
    /// the reader while the buffer is empty and a writer remains.
    pub(crate) fn pipe_read(&mut self, pid: Pid, fd: Fd, id: u32, len: usize) -> Outcome {
        let pipe = self.pipe_mut(id);
        if !pipe.buf.is_empty() {
            let transfer = Transfer::Out(pipe.buf.held(len));
            return self.lend(Object::PipeRead(id), transfer);
        }
        if pipe.writers == 0 {
            return Outcome::Done(Ok(Reply::Size(0)));
        }
        pipe.read_waiters.push_back(pid);
        self.park(
            pid,
            WaitOn::Read {
                fd,
                object: Object::PipeRead(id),
                len,
            },
        )
    }

    /// A reader's poll took `n` bytes: the buffer lets them go, and the
    /// writer whose turn it is may go on.
    pub(crate) fn pipe_taken(&mut self, id: u32, n: usize) {
        let pipe = self.pipe_mut(id);
        pipe.buf.consume(n);
        if !pipe.write_waiters.is_empty() {
            self.wake_pipe_writer(id);
        }
    }

    /// Lends the writer's next poll room in the buffer for what is left of
    /// its write (`len - done` bytes), as much as fits now (an atomic write
    /// whole or not at all); parks the writer when none does.
    pub(crate) fn pipe_write(
        &mut self,
        pid: Pid,
        fd: Fd,
        id: u32,
        len: usize,
        done: usize,
    ) -> Outcome {
        let pipe = self.pipe_mut(id);
        if pipe.readers == 0 {
            return Outcome::Done(Err(Errno::EPIPE));
        }
        if pipe.write_waiters.is_empty() {
            // No writer waits (the common case): this one's turn, found
            // with the one look at the pipe.
            let room = pipe.room_for(len, done);
            if room > 0 {
                pipe.buf.reserve(room, pipe.capacity);
                let transfer = Transfer::In(pipe.buf.room(room));
                return self.lend(Object::PipeWrite(id), transfer);
            }
            pipe.write_waiters.push_back(pid);
            return self.park_writer(pid, fd, id, len, done);
        }
        // Writers take turns: one that comes while others wait goes behind
        // them, so no write is ever interleaved with another's bytes, even
        // one too big for the buffer. A write under way (`done > 0`) is
        // always the front one's, or the only one.
        let front = pipe.write_waiters.front() == Some(&pid);
        let my_turn = done > 0 || front || !self.writers_parked(id);
        let pipe = self.pipe_mut(id);
        let room = if my_turn { pipe.room_for(len, done) } else { 0 };
        if room > 0 {
            if front {
                pipe.writer_woken = false;
                if room == len - done {
                    // This poll finishes the write: the turn passes on.
                    pipe.write_waiters.pop_front();
                }
            }
            pipe.buf.reserve(room, pipe.capacity);
            let transfer = Transfer::In(pipe.buf.room(room));
            return self.lend(Object::PipeWrite(id), transfer);
        }
        if front {
            pipe.writer_woken = false;
        } else {
            pipe.write_waiters.push_back(pid);
        }
        self.park_writer(pid, fd, id, len, done)
    }

    /// Parks `pid`, writing `len - done` more bytes through `fd` to pipe
    /// `id`, until there is room (`Kernel::park`).
    #[inline(always)]
    fn park_writer(&mut self, pid: Pid, fd: Fd, id: u32, len: usize, done: usize) -> Outcome {
        let on = WaitOn::Write {
            fd,
            object: Object::PipeWrite(id),
            len,
            done,
        };
        self.park(pid, on)
    }

    /// A writer's poll copied `n` bytes into the room lent: the buffer
    /// holds them, and parked readers are woken for them.
    pub(crate) fn pipe_given(&mut self, id: u32, n: usize) {
        if n == 0 {
            return;
        }
        let pipe = self.pipe_mut(id);
        pipe.buf.commit(n);
        if !pipe.read_waiters.is_empty() {
            self.wake_pipe_readers(id);
        }
    }

    /// Are writers parked on pipe `id`? Drops stale entries (writers that
    /// were killed) from the front of the queue on the way.
    fn writers_parked(&mut self, id: u32) -> bool {
        while let Some(&writer) = self.pipe_mut(id).write_waiters.front() {
            let parked = matches!(
                self.tasks.state(writer),
                Some(RunState::Blocked(WaitOn::Write { object, .. })) if object == Object::PipeWrite(id)
            );
            if parked {
                return true;
            }
            let pipe = self.pipe_mut(id);
            pipe.write_waiters.pop_front();
            pipe.writer_woken = false;
            self.wake_poller(writer);
        }
        false
    }

    /// Wakes parked readers, oldest first, until those woken ask for as
    /// many bytes as the buffer holds.
    fn wake_pipe_readers(&mut self, id: u32) {
        // Waking moves no bytes: what the buffer holds is known once.
        let held = self.pipe_mut(id).buf.len();
        let mut asked = 0;
        while asked < held {
            let Some(reader) = self.pipe_mut(id).read_waiters.pop_front() else {
                return;
            };
            asked += self.wake_reader(reader, Object::PipeRead(id));
        }
    }

    /// Wakes the writer whose turn it is, once, if there is room for it
    /// now; it moves its bytes when it runs. Tasks in `poll` waiting for
    /// room are woken and leave the queue.
    fn wake_pipe_writer(&mut self, id: u32) {
        while let Some(&writer) = self.pipe_mut(id).write_waiters.front() {
            let parked = match self.tasks.state(writer) {
                Some(RunState::Blocked(WaitOn::Write {
                    object, len, done, ..
                })) if object == Object::PipeWrite(id) => Some((len, done)),
                _ => None,
            };
            let Some((len, done)) = parked else {
                // Stale, or a task in poll: there is room now.
                let pipe = self.pipe_mut(id);
                pipe.write_waiters.pop_front();
                pipe.writer_woken = false;
                self.wake_poller(writer);
                continue;
            };
            let pipe = self.pipe_mut(id);
            if !pipe.writer_woken && pipe.room_for(len, done) > 0 {
                pipe.writer_woken = true;
                self.wake(writer);
            }
            return;
        }
    }

    #[inline(never)] // Keeps `release`, on every exit, small enough to inline.
    pub(crate) fn pipe_release_reader(&mut self, id: u32) {
        let pipe = self.pipe_mut(id);
        pipe.readers -= 1;
        if pipe.readers > 0 {
            return;
        }
        // No reader left: parked writers learn it (with what they wrote).
        let writers = std::mem::take(&mut pipe.write_waiters);
        for writer in writers {
            if self.wake_poller(writer) {
                continue;
            }
            if let Some(RunState::Blocked(WaitOn::Write { object, done, .. })) =
                self.tasks.state(writer)
            {
                if object == Object::PipeWrite(id) {
                    let result = if done > 0 {
                        Ok(Reply::Size(done))
                    } else {
                        Err(Errno::EPIPE)
                    };
                    self.complete(writer, result);
                }
            }
        }
        self.free_pipe_if_unused(id);
    }

    #[inline(never)] // Keeps `release`, on every exit, small enough to inline.
    pub(crate) fn pipe_release_writer(&mut self, id: u32) {
        let pipe = self.pipe_mut(id);
        pipe.writers -= 1;
        if pipe.writers > 0 {
            return;
        }
        // No writer left: parked readers see end-of-file, and tasks in
        // poll find the read end readable (a read would not block).
        let readers = std::mem::take(&mut pipe.read_waiters);
        for reader in readers {
            match self.tasks.state(reader) {
                Some(RunState::Blocked(WaitOn::Read { object, .. }))
                    if object == Object::PipeRead(id) =>
                {
                    self.complete(reader, Ok(Reply::Size(0)));
                }
                _ => {
                    self.wake_poller(reader);
                }
            }
        }
        self.free_pipe_if_unused(id);
    }

    fn free_pipe_if_unused(&mut self, id: u32) {
        let pipe = self.pipe_mut(id);
        if pipe.readers == 0 && pipe.writers == 0 {
            self.pipes[id as usize] = None;
            self.free_pipes.push(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_order_across_wraparound() {
        let mut p = Pipe::new(8);
        p.put(b"abcdef");
        let mut out = [0u8; 4];
        assert_eq!(p.take_into(&mut out), 4);
        assert_eq!(&out, b"abcd");
        p.put(b"ghijkl");
        let mut rest = [0u8; 16];
        assert_eq!(p.take_into(&mut rest), 8);
        assert_eq!(&rest[..8], b"efghijkl");
    }

    #[test]
    fn ring_grows_while_wrapped_and_keeps_order() {
        let mut p = Pipe::new(1 << 20);
        let bytes: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        p.put(&bytes[..40]);
        let mut out = vec![0u8; 300];
        assert_eq!(p.take_into(&mut out[..30]), 30);
        // 10 held at offset 30 of a 64-byte ring; 60 more wrap, then grow.
        p.put(&bytes[40..100]);
        p.put(&bytes[100..300]);
        assert_eq!(p.take_into(&mut out[30..]), 270);
        assert_eq!(out, bytes);
        assert!(p.buf.is_empty());
    }

    #[test]
    fn atomic_writes_go_in_whole_or_not_at_all() {
        let mut p = Pipe::new(10);
        p.put(b"1234567");
        assert_eq!(p.room_for(8, 0), 0, "8 bytes <= PIPE_BUF must not be split");
        assert_eq!(p.room_for(3, 0), 3);
        let mut big = Pipe::new(PIPE_BUF);
        big.put(&[0; 10]);
        assert_eq!(
            big.room_for(PIPE_BUF + 5, 0),
            PIPE_BUF - 10,
            "big writes may be split"
        );
        assert_eq!(
            big.room_for(8, 3),
            5,
            "the rest of a started write goes in as it fits"
        );
    }
}
