//! The trap: how a call reaches the kernel, and the one rule about memory
//! that makes every safe method of `Sys` sound.
//!
//! A call's future, polled for the first time, leaves its `Syscall` in the
//! kernel's trap slot (a pointer to the request, which stays in the
//! future) and returns `Pending`: the trap. The kernel, seeing `Pending`
//! with a request in the slot, carries it out and, before it next polls
//! the task, puts the answer in the slot, where the same future finds it.
//!
//! **Lent memory.** The kernel touches memory a task lent with a call only
//! while that call's own future is being polled, never through a pointer
//! kept after that poll returned: by then safe code may have forgotten the
//! future (`mem::forget`) and freed what it borrowed. So:
//!
//! - what a request carries beside its words is taken into the slot
//!   (kernel memory) in the poll that traps: a spawn request and a blocking
//!   job are moved out of the caller's `Option`, a path, an address and
//!   poll entries are copied;
//! - the bytes of a read or a write move in a later poll of the same
//!   future: when the call can go on, the kernel lends that poll a
//!   [`Transfer`] (its own bytes to copy out of, room to copy into, or a
//!   host descriptor to read or write), the future moves the bytes between
//!   it and its buffer and says how many it moved, and the kernel settles
//!   the move after the poll. A future that is never polled again moves
//!   nothing, and the bytes stay where they were;
//! - a call that cannot go on yet parks its task; woken, the future is told
//!   to try `Again` (it traps again with the same request), as a
//!   readiness-based runtime does.
//!
//! The request itself is read by the kernel right after the poll that
//! trapped, where the future keeps it: not lent memory but the call's own,
//! in a future that is pinned (`TrapCall` is `!Unpin`). `Pin` promises that
//! its memory stays valid until it is dropped (a forgotten future is
//! leaked, never freed), and a dropped call withdraws its request from the
//! slot. The request is only words (`Syscall` is `Copy`); the kernel never
//! follows its pointers.
//!
//! Every field of the slot is read with the width it was written with. A
//! load that spans smaller stores (an enum written as a tag and a payload,
//! then read whole) cannot be forwarded from them and stalls the
//! processor; on the path every call takes, that was a third of a switch.
//! So the slot keeps tags and words in cells of their own, and neither
//! side copies a request, a reply or a transfer whole.

use std::cell::Cell;
use std::future::Future;
use std::marker::{PhantomData, PhantomPinned};
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::call::{Reply, SpawnRequest, Syscall};
use crate::errno::Errno;
use crate::sys::SysResult;
use crate::types::{Fd, Pid, PollFd};

/// What the trap slot holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Holds {
    /// Nothing: between calls.
    Empty,
    /// A call the running task just made; the kernel takes it after the poll.
    Request,
    /// The kernel's answer, put there just before it polls the task.
    Reply,
    /// Bytes to move in this poll (`Transfer`), then the call goes on.
    Transfer,
    /// The call may succeed now: make it again.
    Again,
}

/// A blocking job, as `Syscall::Blocking` lends it.
pub type Job = Box<dyn FnOnce() + Send>;

/// A reader the kernel lends in a [`Transfer`], with its context (a host
/// descriptor): reads into the buffer, `EAGAIN` when nothing is there yet.
///
/// # Safety
/// Call it only with the context it was lent with, in the poll it was
/// lent to.
pub type Reader = unsafe fn(usize, &mut [u8]) -> SysResult<usize>;

/// A writer the kernel lends in a [`Transfer`], with its context (a host
/// descriptor, a console stream): takes what it can of the bytes now,
/// `EAGAIN` when it can take none.
///
/// # Safety
/// As for [`Reader`].
pub type Writer = unsafe fn(usize, &[u8]) -> SysResult<usize>;

/// What the kernel lends the poll that moves a read's or a write's bytes.
/// Valid for that one poll only (the contract of [`Trap::put_transfer`]).
#[derive(Debug, Clone, Copy)]
pub enum Transfer {
    /// A read: copy from these runs of kernel bytes, in order, as many as
    /// the buffer takes.
    Out([(*const u8, usize); 2]),
    /// A write: copy into these runs of kernel room, in order, as many
    /// bytes as are left to write and fit.
    In([(*mut u8, usize); 2]),
    /// A read: read through this reader, with this context.
    Read(usize, Reader),
    /// A write: write through this writer, with this context, until done
    /// or `EAGAIN`. (The bytes are where they go as the poll writes them:
    /// console output reaches the screen before the task computes on.)
    Write(usize, Writer),
}

/// `Trap::xfer_kind` values.
mod kind {
    pub const OUT: u8 = 0;
    pub const IN: u8 = 1;
    pub const READ: u8 = 2;
    pub const WRITE: u8 = 3;
}

/// `Trap::moved_tag` values.
mod moved {
    pub const NONE: u8 = 0;
    pub const OK: u8 = 1;
    pub const ERR: u8 = 2;
}

/// The trap slot: one per kernel, shared by every task's `Sys`. Like a CPU's
/// trap, it needs no identity: a call belongs to the task being polled.
/// Only the kernel's thread touches it (`Sys` is neither `Send` nor `Sync`).
///
/// `repr(C)`: the fields every call touches come first, in one cache line;
/// what only some calls carry comes after.
#[repr(C)]
pub struct Trap {
    holds: Cell<Holds>,
    xfer_kind: Cell<u8>,
    moved_tag: Cell<u8>,
    /// The request, where the task's call future keeps it.
    request: Cell<*mut Option<Syscall>>,
    reply_tag: Cell<u64>,
    reply_value: Cell<u64>,
    /// A transfer's runs: (start, length) twice; for a host descriptor,
    /// the fd first.
    xfer: [Cell<usize>; 4],
    /// What the future moved (a count, or an errno's index).
    moved_value: Cell<usize>,
    reader: Cell<Option<Reader>>,
    writer: Cell<Option<Writer>>,
    reply_big: Cell<Option<SysResult<Reply>>>,
    /// What a request carries beside its words, taken in the trapping poll.
    spawn: Cell<Option<SpawnRequest>>,
    job: Cell<Option<Job>>,
    text: Cell<Option<Vec<u8>>>,
    polls: Cell<Vec<PollFd>>,
}

/// Reply tags; the errno of a failed call is `ERR + its index`.
mod tag {
    pub const UNIT: u64 = 0;
    pub const SIZE: u64 = 1;
    pub const PID: u64 = 2;
    pub const FD: u64 = 3;
    pub const WAITED: u64 = 4;
    pub const PIPE: u64 = 5;
    pub const TIME: u64 = 6;
    pub const BOOL: u64 = 7;
    pub const BIG: u64 = 8;
    pub const ERR: u64 = 16;
}

/// A reply packed in two words, for a kernel to keep (a task made ready
/// with the answer to its call holds one): `Copy`, so the records that
/// hold it have nothing to drop. The big replies (task lists, addresses)
/// do not pack; `pack` gives them back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackedReply {
    tag: u64,
    value: u64,
}

impl PackedReply {
    /// `Ok(())`, the answer of a yield.
    pub const UNIT: PackedReply = PackedReply {
        tag: tag::UNIT,
        value: 0,
    };

    /// `Ok(Reply::Size(n))`, packed.
    #[inline]
    pub fn size(n: usize) -> PackedReply {
        PackedReply {
            tag: tag::SIZE,
            value: n as u64,
        }
    }

    /// A marker no reply packs to, for a kernel that keeps a big reply
    /// aside; unpacked, it says `EIO`.
    pub const KEPT_ASIDE: PackedReply = PackedReply {
        tag: tag::BIG,
        value: 0,
    };

    /// A marker no reply packs to, for a task woken to make its call
    /// again (`Trap::put_again`).
    pub const AGAIN: PackedReply = PackedReply {
        tag: tag::BIG,
        value: 1,
    };

    /// `reply` in two words, or itself back if it is a big one. It takes
    /// the reply by value: the small replies hold nothing to drop, and the
    /// compiler sees that, so packing one costs no drop-glue call.
    #[inline]
    pub fn pack(reply: SysResult<Reply>) -> Result<PackedReply, SysResult<Reply>> {
        // Matched by reference and not dropped: the small replies own
        // nothing, so forgetting one frees nothing, and no drop-glue call
        // (which checks for the boxed variants) is made for them.
        let reply = ManuallyDrop::new(reply);
        let (tag, value) = match &*reply {
            Ok(Reply::Unit) => (tag::UNIT, 0),
            Ok(Reply::Size(n)) => (tag::SIZE, *n as u64),
            Ok(Reply::Pid(pid)) => (tag::PID, u64::from(pid.0)),
            Ok(Reply::Fd(fd)) => (tag::FD, u64::from(fd.0)),
            Ok(Reply::Waited(pid, code)) => (tag::WAITED, u64::from(pid.0) << 8 | u64::from(*code)),
            Ok(Reply::Pipe(r, w)) => (tag::PIPE, u64::from(r.0) << 32 | u64::from(w.0)),
            Ok(Reply::Time(ns)) => (tag::TIME, *ns),
            Ok(Reply::Bool(b)) => (tag::BOOL, u64::from(*b)),
            Ok(
                Reply::Tasks(_)
                | Reply::Programs(_)
                | Reply::Usage(_)
                | Reply::Addr(_)
                | Reply::Polled(_),
            ) => return Err(ManuallyDrop::into_inner(reply)),
            Err(e) => (tag::ERR + *e as u64, 0),
        };
        Ok(PackedReply { tag, value })
    }

    /// The reply again.
    #[inline]
    pub fn unpack(self) -> SysResult<Reply> {
        unpack(self.tag, self.value)
    }
}

fn unpack(tag: u64, value: u64) -> SysResult<Reply> {
    Ok(match tag {
        tag::UNIT => Reply::Unit,
        tag::SIZE => Reply::Size(value as usize),
        tag::PID => Reply::Pid(Pid(value as u32)),
        tag::FD => Reply::Fd(Fd(value as u32)),
        tag::WAITED => Reply::Waited(Pid((value >> 8) as u32), value as u8),
        tag::PIPE => Reply::Pipe(Fd((value >> 32) as u32), Fd(value as u32)),
        tag::TIME => Reply::Time(value),
        tag::BOOL => Reply::Bool(value != 0),
        tag::BIG => return Err(Errno::EIO),
        err => return Err(Errno::ALL[(err - tag::ERR) as usize]),
    })
}

impl Default for Trap {
    fn default() -> Trap {
        Trap {
            holds: Cell::new(Holds::Empty),
            xfer_kind: Cell::new(kind::OUT),
            moved_tag: Cell::new(moved::NONE),
            request: Cell::new(std::ptr::null_mut()),
            reply_tag: Cell::new(tag::UNIT),
            reply_value: Cell::new(0),
            xfer: Default::default(),
            moved_value: Cell::new(0),
            reader: Cell::new(None),
            writer: Cell::new(None),
            reply_big: Cell::new(None),
            spawn: Cell::new(None),
            job: Cell::new(None),
            text: Cell::new(None),
            polls: Cell::new(Vec::new()),
        }
    }
}

impl Trap {
    /// A new, empty slot. The kernel makes one at boot.
    pub fn new() -> Trap {
        Trap::default()
    }

    /// Kernel side: the request the task just polled left, if any, read
    /// where it is, in the task's call future (never copied whole: it was
    /// written in parts).
    ///
    /// # Safety
    /// Call it only right after a poll of the task that returned `Pending`,
    /// and drop the reference before the task is polled again or its
    /// future dropped: the request lives in that future.
    pub unsafe fn take_request(&self) -> Option<&Syscall> {
        if self.holds.replace(Holds::Empty) != Holds::Request {
            return None;
        }
        let at = self.request.replace(std::ptr::null_mut());
        // SAFETY: the caller's contract: the call future that stored `at`
        // is pinned (so its memory is valid until it is dropped, and a
        // dropped call clears the slot), and not in use.
        unsafe { at.as_ref() }?.as_ref()
    }

    /// Kernel side: the spawn request the last `Spawn` carried.
    pub fn take_spawn(&self) -> Option<SpawnRequest> {
        self.spawn.take()
    }

    /// Kernel side: the job the last `Blocking` carried.
    pub fn take_job(&self) -> Option<Job> {
        self.job.take()
    }

    /// Kernel side: the text (a path, an address) the last `Open`,
    /// `Listen` or `Connect` carried; `None` if its pointer was null.
    pub fn take_text(&self) -> Option<Vec<u8>> {
        self.text.take()
    }

    /// Kernel side: the entries the last `Poll` carried.
    pub fn take_polls(&self) -> Vec<PollFd> {
        self.polls.take()
    }

    /// Kernel side: hand `reply` to the task about to be polled.
    pub fn put_reply(&self, reply: SysResult<Reply>) {
        self.clear();
        match PackedReply::pack(reply) {
            Ok(packed) => self.put_packed(packed),
            Err(big) => {
                self.reply_tag.set(tag::BIG);
                self.reply_big.set(Some(big));
                self.holds.set(Holds::Reply);
            }
        }
    }

    /// Kernel side: hand a packed reply to the task about to be polled
    /// (`PackedReply::AGAIN`: tell it to make its call again).
    #[inline]
    pub fn put_packed(&self, reply: PackedReply) {
        self.clear();
        if reply == PackedReply::AGAIN {
            self.holds.set(Holds::Again);
            return;
        }
        self.reply_tag.set(reply.tag);
        self.reply_value.set(reply.value);
        self.holds.set(Holds::Reply);
    }

    /// Kernel side: tell the task about to be polled to move its read's or
    /// write's bytes through `transfer`; what it moved is then in
    /// `take_moved`.
    ///
    /// # Safety
    /// Until the poll that follows returns, the runs of `transfer` must be
    /// valid (readable for `Out`, writable for `In`), not used by anything
    /// else, and not overlap the task's memory; its fd must stay open.
    #[inline]
    pub unsafe fn put_transfer(&self, transfer: &Transfer) {
        self.clear();
        let (kind, words) = match *transfer {
            Transfer::Out([(a, an), (b, bn)]) => (kind::OUT, [a as usize, an, b as usize, bn]),
            Transfer::In([(a, an), (b, bn)]) => (kind::IN, [a as usize, an, b as usize, bn]),
            Transfer::Read(context, read) => {
                self.reader.set(Some(read));
                (kind::READ, [context, 0, 0, 0])
            }
            Transfer::Write(context, write) => {
                self.writer.set(Some(write));
                (kind::WRITE, [context, 0, 0, 0])
            }
        };
        self.xfer_kind.set(kind);
        for (cell, word) in self.xfer.iter().zip(words) {
            cell.set(word);
        }
        self.moved_tag.set(moved::NONE);
        self.holds.set(Holds::Transfer);
    }

    /// Kernel side, after the poll that had a transfer: what the future
    /// moved (`None`: it was not polled, and moved nothing).
    #[inline]
    pub fn take_moved(&self) -> Option<SysResult<usize>> {
        if self.holds.get() == Holds::Transfer {
            // Not taken: the poll did not reach the call.
            self.holds.set(Holds::Empty);
        }
        match self.moved_tag.replace(moved::NONE) {
            moved::OK => Some(Ok(self.moved_value.get())),
            moved::ERR => Some(Err(Errno::ALL[self.moved_value.get()])),
            _ => None,
        }
    }

    /// Kernel side: was the transfer lent last a reader (not a writer or
    /// a run of bytes)? For settling after the poll.
    pub fn lent_a_reader(&self) -> bool {
        self.xfer_kind.get() == kind::READ
    }

    /// Task side: records what a transfer moved.
    #[inline]
    fn set_moved(&self, result: SysResult<usize>) {
        match result {
            Ok(n) => {
                self.moved_value.set(n);
                self.moved_tag.set(moved::OK);
            }
            Err(e) => {
                self.moved_value.set(e as usize);
                self.moved_tag.set(moved::ERR);
            }
        }
    }

    /// The runs of the transfer lent, as (start, length) pairs.
    #[inline]
    fn runs(&self) -> [(usize, usize); 2] {
        [
            (self.xfer[0].get(), self.xfer[1].get()),
            (self.xfer[2].get(), self.xfer[3].get()),
        ]
    }

    /// Task side: takes the reply the kernel put.
    fn take_reply(&self) -> SysResult<Reply> {
        self.holds.set(Holds::Empty);
        match self.reply_tag.get() {
            tag::BIG => self
                .reply_big
                .take()
                .unwrap_or_else(|| unreachable!("a big reply was put")),
            tag => unpack(tag, self.reply_value.get()),
        }
    }

    /// Kernel side: forget whatever the slot holds (a reply nobody took, a
    /// request from a task that was not the one polled, what a request
    /// carried and the kernel did not take).
    ///
    /// In line up to the common case, an empty slot (every answer the
    /// kernel puts clears first: a call cost ~15 instructions a message).
    #[inline]
    pub fn clear(&self) {
        if self.holds.get() != Holds::Empty {
            self.clear_held();
        }
    }

    #[cold]
    fn clear_held(&self) {
        match self.holds.replace(Holds::Empty) {
            Holds::Empty | Holds::Transfer | Holds::Again => {}
            Holds::Request => {
                self.request.set(std::ptr::null_mut());
                drop(self.spawn.take());
                drop(self.job.take());
            }
            Holds::Reply => drop(self.take_reply()),
        }
    }

    /// Task side, in the poll that traps: points the slot at `request`
    /// and takes what it carries.
    ///
    /// # Safety
    /// `request` is in a pinned call future, and its pointers are valid
    /// now (`Sys::call`'s contract).
    #[inline]
    unsafe fn lend(&self, request: &mut Option<Syscall>) {
        if let Some(call) = request {
            if call.carries() {
                // SAFETY: passed on.
                unsafe { self.take_what_it_carries(call) };
            }
        }
        self.request.set(request);
        self.holds.set(Holds::Request);
    }

    /// `lend` for the calls that carry more than words.
    ///
    /// # Safety
    /// As for `lend`.
    #[cold]
    unsafe fn take_what_it_carries(&self, request: &Syscall) {
        match *request {
            Syscall::Spawn(at) => {
                // SAFETY: the caller's contract: `at` is null or points to
                // the caller's request, alive during this poll.
                let request = unsafe { at.as_mut() }.and_then(Option::take);
                // The slot's old request (none: the kernel took it) is
                // dropped only if there is one, not by a call to the drop
                // glue `Cell::set` makes (19 instructions a spawn).
                let old = ManuallyDrop::new(self.spawn.replace(request));
                if old.is_some() {
                    drop(ManuallyDrop::into_inner(old));
                }
            }
            Syscall::Blocking(at) => {
                // SAFETY: as for Spawn.
                self.job.set(unsafe { at.as_mut() }.and_then(Option::take));
            }
            Syscall::Open { path: at, len }
            | Syscall::Listen { addr: at, len }
            | Syscall::Connect { addr: at, len } => {
                // SAFETY: the caller's contract: `at` is null or valid for
                // `len` bytes during this poll.
                let text = (!at.is_null()).then(|| unsafe { std::slice::from_raw_parts(at, len) });
                self.text.set(text.map(<[u8]>::to_vec));
            }
            Syscall::Poll { fds, len } => {
                // SAFETY: as for Open, `len` entries at `fds`.
                let entries =
                    (!fds.is_null()).then(|| unsafe { std::slice::from_raw_parts(fds, len) });
                self.polls
                    .set(entries.map(<[PollFd]>::to_vec).unwrap_or_default());
            }
            _ => {}
        }
    }
}

/// The future of one system call: the first poll traps; a later one finds
/// the kernel's answer (or moves a read's or write's bytes, or traps
/// again, as the kernel says). It stays put once polled (the kernel reads
/// the request where it is), hence `PhantomPinned`.
pub(crate) struct TrapCall<'a> {
    trap: &'a Trap,
    request: Option<Syscall>,
    trapped: bool,
    _pinned: PhantomPinned,
}

impl<'a> TrapCall<'a> {
    /// The call `request` on `trap`; the pointers in it follow
    /// `Sys::call`'s contract.
    pub(crate) fn new(trap: &'a Trap, request: Syscall) -> TrapCall<'a> {
        TrapCall {
            trap,
            request: Some(request),
            trapped: false,
            _pinned: PhantomPinned,
        }
    }

    /// Traps with the request (again): `Pending`.
    #[inline]
    fn trap(&mut self) -> Poll<SysResult<Reply>> {
        // SAFETY: `self` is pinned (the caller's `poll`), and `Sys::call`'s
        // contract: the request's pointers are valid whenever this future
        // is polled, and it is being polled.
        unsafe { self.trap.lend(&mut self.request) };
        self.trapped = true;
        Poll::Pending
    }

    /// The call ended with `reply`: what the caller gets.
    #[inline]
    fn finish(&mut self, reply: SysResult<Reply>) -> Poll<SysResult<Reply>> {
        self.trapped = false;
        // Answered: a poll after this one is a program's error (EINVAL).
        let request = self.request.take();
        if matches!(request, Some(Syscall::Write { .. } | Syscall::Poll { .. })) {
            return Poll::Ready(Self::finish_rare(request, reply));
        }
        Poll::Ready(reply)
    }

    /// `finish` for a write's reply (a failure after some bytes) and a
    /// poll's entries.
    #[cold]
    fn finish_rare(request: Option<Syscall>, reply: SysResult<Reply>) -> SysResult<Reply> {
        match (request, reply) {
            // A write that moved bytes says how many, whatever ended it.
            (Some(Syscall::Write { done, .. }), Err(_)) if done > 0 => Ok(Reply::Size(done)),
            (Some(Syscall::Poll { fds, len }), Ok(Reply::Polled(entries))) => {
                let mut ready = 0;
                for (i, entry) in entries.iter().take(len).enumerate() {
                    // SAFETY: `Sys::call`'s contract: `fds[..len]` is
                    // valid, and this future is being polled.
                    unsafe { (*fds.add(i)).ready = entry.ready };
                    ready += usize::from(!entry.ready.is_empty());
                }
                Ok(Reply::Size(ready))
            }
            (_, reply) => reply,
        }
    }

    /// Moves the bytes of this read or write through the transfer the
    /// kernel lent, tells the kernel how many, and ends the call or traps
    /// again for the rest.
    fn transfer(&mut self) -> Poll<SysResult<Reply>> {
        let trap = self.trap;
        let kind = trap.xfer_kind.get();
        match self.request {
            Some(Syscall::Read { buf, len, .. }) if kind == kind::OUT => {
                let mut n = 0;
                for (src, avail) in trap.runs() {
                    let k = avail.min(len - n);
                    // SAFETY: `src[..avail]` is the kernel's, valid during
                    // this poll (`put_transfer`); `buf[n..len]` the read's
                    // buffer, valid while this future is polled
                    // (`Sys::call`); one is the kernel's, one the task's.
                    unsafe { copy_bytes(src as *const u8, buf.add(n), k) };
                    n += k;
                }
                trap.set_moved(Ok(n));
                self.trapped = false;
                self.request = None;
                Poll::Ready(Ok(Reply::Size(n)))
            }
            Some(Syscall::Read { buf, len, .. }) if kind == kind::READ => {
                let read = trap
                    .reader
                    .get()
                    .expect("a read through a reader lends one");
                // SAFETY: as above, the read's buffer during this poll.
                let out = unsafe { std::slice::from_raw_parts_mut(buf, len) };
                // SAFETY: the reader with the context lent with it, in the
                // poll it was lent to.
                let got = unsafe { read(trap.xfer[0].get(), out) };
                trap.set_moved(got);
                match got {
                    // Not there after all: park until it is.
                    Err(Errno::EAGAIN) => self.trap(),
                    got => self.finish(got.map(Reply::Size)),
                }
            }
            Some(Syscall::Write { buf, len, done, .. }) if kind == kind::IN => {
                let mut n = 0;
                for (dst, room) in trap.runs() {
                    let k = room.min(len - done - n);
                    // SAFETY: as for a read, the other way round.
                    unsafe { copy_bytes(buf.add(done + n), dst as *mut u8, k) };
                    n += k;
                }
                trap.set_moved(Ok(n));
                self.wrote(done + n, len, Ok(n))
            }
            Some(Syscall::Write { buf, len, done, .. }) if kind == kind::WRITE => {
                let write = trap
                    .writer
                    .get()
                    .expect("a write through a writer lends one");
                let context = trap.xfer[0].get();
                let mut at = done;
                let mut last = Ok(0);
                while at < len {
                    // SAFETY: the write's buffer during this poll.
                    let src = unsafe { std::slice::from_raw_parts(buf.add(at), len - at) };
                    // SAFETY: the writer with the context lent with it.
                    last = unsafe { write(context, src) };
                    match last {
                        Ok(n) if n > 0 => at += n,
                        _ => break,
                    }
                }
                let moved = last.map(|_| at - done);
                trap.set_moved(moved);
                self.wrote(at, len, moved)
            }
            // A transfer for a call that moves no bytes (or the wrong way):
            // the kernel's error, reported rather than acted on.
            _ => self.finish(Err(Errno::EIO)),
        }
    }

    /// A write's poll moved bytes (`moved`), `done` of its `len` are in:
    /// it ends, or traps again for the rest.
    #[inline(always)]
    fn wrote(
        &mut self,
        done: usize,
        len: usize,
        moved: SysResult<usize>,
    ) -> Poll<SysResult<Reply>> {
        if let Some(Syscall::Write { done: d, .. }) = &mut self.request {
            *d = done;
        }
        match moved {
            _ if done == len => {
                self.trapped = false;
                self.request = None;
                Poll::Ready(Ok(Reply::Size(len)))
            }
            // The rest when there is room (or the socket drains).
            Ok(n) if n > 0 => self.trap(),
            Err(Errno::EAGAIN) => self.trap(),
            Ok(_) => self.finish(Ok(Reply::Size(done))),
            Err(e) => self.finish(Err(e)),
        }
    }
}

/// Copies `n` bytes from `src` to `dst`. The small copies a message makes
/// (a byte, a word) are done in line with at most two loads and two
/// stores each way, overlapping; a call to `memcpy` cost a hundred
/// instructions a pingpong round trip, for four one-byte copies.
///
/// # Safety
/// As for `ptr::copy_nonoverlapping`.
#[inline(always)]
unsafe fn copy_bytes(src: *const u8, dst: *mut u8, n: usize) {
    use std::ptr::{read_unaligned as load, write_unaligned as store};
    // SAFETY (every arm): the caller's contract makes `src[..n]` readable
    // and `dst[..n]` writable; each access below lies within them.
    unsafe {
        match n {
            0 => {}
            1..=3 => {
                // The first, middle and last bytes: all of them for 1 to 3.
                let (a, b, c) = (*src, *src.add(n / 2), *src.add(n - 1));
                (*dst, *dst.add(n / 2), *dst.add(n - 1)) = (a, b, c);
            }
            4..=7 => {
                let (a, b) = (load(src as *const u32), load(src.add(n - 4) as *const u32));
                store(dst as *mut u32, a);
                store(dst.add(n - 4) as *mut u32, b);
            }
            8..=16 => {
                let (a, b) = (load(src as *const u64), load(src.add(n - 8) as *const u64));
                store(dst as *mut u64, a);
                store(dst.add(n - 8) as *mut u64, b);
            }
            _ => std::ptr::copy_nonoverlapping(src, dst, n),
        }
    }
}

impl Future for TrapCall<'_> {
    type Output = SysResult<Reply>;

    #[inline]
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: nothing here moves out of the future; the request is only
        // pointed at, and stays where it is, pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let trap = this.trap;
        if !this.trapped {
            if this.request.is_none() {
                return Poll::Ready(Err(Errno::EINVAL));
            }
            if trap.holds.get() != Holds::Empty {
                // Another call of this task is in flight: one at a time.
                return Poll::Ready(Err(Errno::EBUSY));
            }
            return this.trap();
        }
        match trap.holds.get() {
            Holds::Reply => {
                this.trapped = false;
                // Answered: a poll after this one is a program's error.
                let request = this.request.take();
                if matches!(request, Some(Syscall::Write { .. } | Syscall::Poll { .. })) {
                    return Poll::Ready(Self::finish_rare(request, trap.take_reply()));
                }
                // Taken last, straight into the result: a reply kept in a
                // local goes through memory, written in parts and read back
                // whole (a stalled load, a third of a yield).
                Poll::Ready(trap.take_reply())
            }
            Holds::Transfer => {
                trap.holds.set(Holds::Empty);
                this.transfer()
            }
            Holds::Again => {
                trap.holds.set(Holds::Empty);
                this.trap()
            }
            Holds::Empty | Holds::Request => Poll::Pending,
        }
    }
}

impl Drop for TrapCall<'_> {
    fn drop(&mut self) {
        // A call dropped in the poll that made it must not reach the kernel
        // (its request dies with it; the task then returns Pending with no
        // request, and the kernel ends it); one dropped instead of taking
        // its answer or moving its bytes leaves them, and the slot, to the
        // next call.
        if self.trapped {
            self.trap.clear();
        }
    }
}

/// The future of a system call whose reply `unpack` turns into the
/// caller's type: what the hot calls (`read`, `write`, `yield_now`) return,
/// one small state machine instead of an `async fn` around another, with
/// the unpacking inlined.
#[must_use = "a system call does nothing until awaited"]
pub(crate) struct Call<'a, F> {
    trap: TrapCall<'a>,
    unpack: F,
    /// The buffer a read or write lends the kernel stays borrowed.
    _buf: PhantomData<&'a mut [u8]>,
}

impl<'a, F> Call<'a, F> {
    pub(crate) fn new(trap: TrapCall<'a>, unpack: F) -> Call<'a, F> {
        Call {
            trap,
            unpack,
            _buf: PhantomData,
        }
    }
}

impl<T, F: FnMut(SysResult<Reply>) -> T + Unpin> Future for Call<'_, F> {
    type Output = T;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        // SAFETY: `trap` is pinned with `self` (structural pinning: it is
        // never moved out); `unpack` is not pinned, only called.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above, `trap` stays where it is.
        let trap = unsafe { Pin::new_unchecked(&mut this.trap) };
        match trap.poll(cx) {
            Poll::Ready(reply) => Poll::Ready((this.unpack)(reply)),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Usage;

    #[test]
    fn copy_bytes_copies_every_length_exactly() {
        let src: Vec<u8> = (1..=64).collect();
        for n in 0..=40 {
            let mut dst = [0u8; 48];
            // SAFETY: both ranges are in bounds and distinct.
            unsafe { copy_bytes(src.as_ptr().add(3), dst.as_mut_ptr().add(2), n) };
            assert_eq!(&dst[2..2 + n], &src[3..3 + n], "{n} bytes");
            assert!(
                dst[..2].iter().chain(&dst[2 + n..]).all(|&b| b == 0),
                "{n}: only n bytes written"
            );
        }
    }

    #[test]
    fn every_reply_comes_back_as_it_was_put() {
        let trap = Trap::new();
        let replies = [
            Ok(Reply::Unit),
            Ok(Reply::Size(usize::MAX)),
            Ok(Reply::Pid(Pid(u32::MAX))),
            Ok(Reply::Fd(Fd(7))),
            Ok(Reply::Waited(Pid(123_456), 255)),
            Ok(Reply::Pipe(Fd(3), Fd(u32::MAX))),
            Ok(Reply::Time(u64::MAX)),
            Ok(Reply::Bool(true)),
            Ok(Reply::Usage(Box::new(Usage {
                rss_kb: 1,
                peak_rss_kb: 2,
                kernel_kb: 3,
                task_slots: 4,
            }))),
            Err(Errno::EBADF),
            Err(Errno::EIO),
        ];
        for reply in replies {
            trap.put_reply(reply.clone());
            assert_eq!(trap.take_reply(), reply);
        }
    }

    /// Polls `future` once with a waker that does nothing.
    fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(std::task::Waker::noop()))
    }

    #[test]
    fn a_path_is_copied_into_the_slot_in_the_poll_that_traps() {
        // Hostile: the future is forgotten and the path freed before the
        // kernel looks at the call; it reads its own copy.
        let trap = std::rc::Rc::new(Trap::new());
        let sys = crate::Sys::new(trap.clone());
        let path = String::from("/dev/null");
        let mut open = Box::pin(sys.open(&path));
        assert!(poll_once(open.as_mut()).is_pending());
        std::mem::forget(open);
        drop(path);
        // SAFETY: no poll while the reference lives.
        assert!(matches!(
            unsafe { trap.take_request() },
            Some(Syscall::Open { .. })
        ));
        assert_eq!(trap.take_text().as_deref(), Some(&b"/dev/null"[..]));
    }

    #[test]
    fn a_read_whose_future_is_not_polled_again_moves_nothing() {
        let trap = std::rc::Rc::new(Trap::new());
        let sys = crate::Sys::new(trap.clone());
        let mut buf = [0u8; 4];
        let mut read = Box::pin(sys.read(Fd(0), &mut buf));
        assert!(poll_once(read.as_mut()).is_pending());
        // SAFETY: no poll while the reference lives.
        assert!(unsafe { trap.take_request() }.is_some());
        let bytes = *b"data";
        // SAFETY: `bytes` outlives the poll below.
        unsafe { trap.put_transfer(&Transfer::Out([(bytes.as_ptr(), 4), (bytes.as_ptr(), 0)])) };
        drop(read); // Dropped instead of polled.
        assert_eq!(trap.take_moved(), None);
        assert_eq!(buf, [0; 4]);
    }

    #[test]
    fn a_write_moves_what_fits_then_makes_its_call_again_for_the_rest() {
        let trap = std::rc::Rc::new(Trap::new());
        let sys = crate::Sys::new(trap.clone());
        let mut write = Box::pin(sys.write(Fd(1), b"abcdef"));
        assert!(poll_once(write.as_mut()).is_pending());
        // SAFETY: no poll while the reference lives.
        assert!(unsafe { trap.take_request() }.is_some());
        let mut room = [0u8; 4];
        // SAFETY: `room` outlives the poll below.
        unsafe {
            trap.put_transfer(&Transfer::In([
                (room.as_mut_ptr(), 2),
                (room.as_mut_ptr().add(2), 2),
            ]))
        };
        assert!(poll_once(write.as_mut()).is_pending(), "two bytes are left");
        assert_eq!(trap.take_moved(), Some(Ok(4)));
        assert_eq!(&room, b"abcd");
        // SAFETY: no poll while the reference lives.
        match unsafe { trap.take_request() } {
            Some(&Syscall::Write { len, done, .. }) => assert_eq!((len, done), (6, 4)),
            _ => panic!("the write is made again for the rest"),
        }
        // The reader went away: the write says what it wrote.
        trap.put_reply(Err(Errno::EPIPE));
        assert_eq!(poll_once(write.as_mut()), Poll::Ready(Ok(4)));
    }

    #[test]
    fn a_reply_fits_in_two_registers() {
        assert!(std::mem::size_of::<SysResult<Reply>>() <= 16);
    }
}
