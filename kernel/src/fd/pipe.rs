//! Pipes: a bounded byte buffer, the count of descriptors on each end, and
//! the tasks parked on it. The buffer is a ring that grows on demand up to
//! the pipe's capacity, so an idle pipe costs a few dozen bytes.
//!
//! Data moves without an intermediate copy when it can: a writer that finds
//! the pipe's one reader parked on it copies straight into its buffer, and
//! a reader that empties the buffer refills it from parked writers'
//! buffers.

use std::collections::VecDeque;
use std::slice;

use syscalls::{Errno, Fd, PackedReply, Pid, Reply};

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
    /// Tasks parked writing (only while the buffer is full for them).
    pub write_waiters: VecDeque<Pid>,
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
        }
    }

    pub(crate) fn free(&self) -> usize {
        self.capacity - self.buf.len()
    }

    /// Moves bytes from the buffer into `out`; returns how many.
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
    pub(crate) fn put(&mut self, bytes: &[u8]) {
        debug_assert!(bytes.len() <= self.free());
        self.buf.push(bytes, self.capacity);
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

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `bytes`; the caller keeps the total within `capacity`.
    fn push(&mut self, bytes: &[u8], capacity: usize) {
        let n = bytes.len();
        if self.len + n > self.data.len() {
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
        let size = self.data.len();
        let tail = wrap(self.head + self.len, size);
        let first = n.min(size - tail);
        self.data[tail..tail + first].copy_from_slice(&bytes[..first]);
        // Only when the bytes wrap: a copy of none still calls memcpy.
        if first < n {
            self.data[..n - first].copy_from_slice(&bytes[first..]);
        }
        self.len += n;
    }

    /// Moves up to `out.len()` bytes, oldest first, into `out`.
    fn pop_into(&mut self, out: &mut [u8]) -> usize {
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

    /// Reads what the buffer holds (then refills it from parked writers),
    /// or parks the reader while the buffer is empty and a writer remains.
    pub(crate) fn pipe_read(
        &mut self,
        pid: Pid,
        fd: Fd,
        id: u32,
        buf: *mut u8,
        len: usize,
    ) -> Outcome {
        let pipe = self.pipe_mut(id);
        if !pipe.buf.is_empty() {
            // SAFETY: `buf[..len]` is the buffer the task lent with this
            // read; the task is inside the call (running now, or parked on
            // it with its future alive), so the borrow is live and unaliased.
            let out = unsafe { slice::from_raw_parts_mut(buf, len) };
            let n = pipe.take_into(out);
            self.refill_from_writers(id);
            return Outcome::Done(Ok(Reply::Size(n)));
        }
        if pipe.writers == 0 {
            return Outcome::Done(Ok(Reply::Size(0)));
        }
        pipe.read_waiters.push_back(pid);
        Outcome::Block(WaitOn::Read {
            fd,
            object: Object::PipeRead(id),
            buf,
            len,
        })
    }

    /// Writes `buf[done..len]`: straight into the buffer of the pipe's one
    /// parked reader if there is one (`hand_to_reader`), else into the
    /// pipe's buffer as room allows, waking parked readers for what went
    /// in (they take the bytes when they run, so one killed before that
    /// leaves them in the pipe); parks the writer with the rest.
    pub(crate) fn pipe_write(
        &mut self,
        pid: Pid,
        fd: Fd,
        id: u32,
        buf: *const u8,
        len: usize,
        mut done: usize,
    ) -> Outcome {
        let pipe = self.pipe_mut(id);
        if pipe.readers == 0 {
            return Outcome::Done(if done > 0 {
                Ok(Reply::Size(done))
            } else {
                Err(Errno::EPIPE)
            });
        }
        // Writers take turns: one that comes while others wait goes behind
        // them, so no write is ever interleaved with another's bytes, even
        // one too big for the buffer.
        let my_turn = done > 0 || !self.writers_parked(id);
        if my_turn {
            // SAFETY: as below, `buf[..len]` is the write's live buffer.
            done += self.hand_to_reader(id, unsafe { buf.add(done) }, len - done);
            if done == len {
                return Outcome::Done(Ok(Reply::Size(len)));
            }
        }
        let room = if my_turn {
            self.pipe_mut(id).room_for(len, done)
        } else {
            0
        };
        let pipe = self.pipe_mut(id);
        if room > 0 {
            // SAFETY: `buf[..len]` is the buffer the task lent with this
            // write; the task is inside the call, so the borrow is live.
            let src = unsafe { slice::from_raw_parts(buf.add(done), room) };
            pipe.put(src);
            done += room;
            self.wake_pipe_readers(id);
        }
        if done == len {
            return Outcome::Done(Ok(Reply::Size(len)));
        }
        self.pipe_mut(id).write_waiters.push_back(pid);
        Outcome::Block(WaitOn::Write {
            fd,
            object: Object::PipeWrite(id),
            buf,
            len,
            done,
        })
    }

    /// Copies the start of a write (`len` bytes at `src`) straight into the
    /// buffer of the reader parked on the empty pipe `id`, and ends its
    /// read: one copy instead of two (into the buffer and out), and no
    /// retry when the reader runs. Only when that reader's descriptor is
    /// the pipe's one read end: a reader killed before it runs takes the
    /// bytes with it, and nobody else could ever have read them (with more
    /// readers they would have to go back, in front of bytes others may
    /// have read since). Returns how many bytes it took.
    fn hand_to_reader(&mut self, id: u32, src: *const u8, len: usize) -> usize {
        let pipe = self.pipes[id as usize]
            .as_mut()
            .expect("a pipe with an open descriptor exists");
        if pipe.readers != 1 || !pipe.buf.is_empty() {
            return 0;
        }
        let Some(&reader) = pipe.read_waiters.front() else {
            return 0;
        };
        let Some(live) = self.tasks.live_mut(reader) else {
            return 0; // Stale: the ring's way.
        };
        let RunState::Blocked(WaitOn::Read {
            object,
            buf,
            len: asked,
            ..
        }) = live.state
        else {
            return 0; // In poll: the ring's way.
        };
        if object != Object::PipeRead(id) {
            return 0;
        }
        let n = len.min(asked);
        // SAFETY: `src[..len]` is the writer's live buffer (the caller's);
        // `buf[..asked]` the buffer the parked reader lent with its read,
        // alive in its future until the read ends (here). Two tasks' own
        // buffers: they do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(src, buf, n) };
        // The read ends: `complete`, with the task in hand.
        live.state = RunState::Ready(Some(PackedReply::size(n)));
        pipe.read_waiters.pop_front();
        self.wake(reader);
        n
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
            self.pipe_mut(id).write_waiters.pop_front();
            self.wake_poller(writer);
        }
        false
    }

    /// Wakes parked readers, oldest first, until those woken ask for as
    /// many bytes as the buffer holds.
    fn wake_pipe_readers(&mut self, id: u32) {
        let mut asked = 0;
        loop {
            let pipe = self.pipe_mut(id);
            if asked >= pipe.buf.len() {
                return;
            }
            let Some(reader) = pipe.read_waiters.pop_front() else {
                return;
            };
            asked += self.wake_reader(reader, Object::PipeRead(id));
        }
    }

    /// Moves parked writers' bytes into the room a read made, oldest writer
    /// first, completing the writes that finish.
    fn refill_from_writers(&mut self, id: u32) {
        while let Some(&writer) = self.pipe_mut(id).write_waiters.front() {
            let parked = match self.tasks.state(writer) {
                Some(RunState::Blocked(WaitOn::Write {
                    object,
                    buf,
                    len,
                    done,
                    ..
                })) if object == Object::PipeWrite(id) => Some((buf, len, done)),
                _ => None,
            };
            let Some((buf, len, done)) = parked else {
                // Stale, or a task in poll: there is room now.
                self.pipe_mut(id).write_waiters.pop_front();
                self.wake_poller(writer);
                continue;
            };
            let pipe = self.pipe_mut(id);
            let room = pipe.room_for(len, done);
            if room == 0 {
                return;
            }
            // SAFETY: the writer is parked in the write that lent
            // `buf[..len]`; its future holds the borrow until we wake it.
            let src = unsafe { slice::from_raw_parts(buf.add(done), room) };
            pipe.put(src);
            let done = done + room;
            if done == len {
                pipe.write_waiters.pop_front();
                self.complete(writer, Ok(Reply::Size(len)));
            } else {
                if let Some(RunState::Blocked(WaitOn::Write { done: d, .. })) =
                    self.tasks.live_mut(writer).map(|live| &mut live.state)
                {
                    *d = done;
                }
                return;
            }
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
        // No writer left: parked readers see end-of-file.
        let readers = std::mem::take(&mut pipe.read_waiters);
        for reader in readers {
            if let Some(RunState::Blocked(WaitOn::Read { object, .. })) = self.tasks.state(reader) {
                if object == Object::PipeRead(id) {
                    self.complete(reader, Ok(Reply::Size(0)));
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
