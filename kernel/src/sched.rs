//! The scheduler: the ready queue, the loop that polls tasks, and the
//! handling of events (inbox messages, due timers, host fd readiness).
//!
//! Fairness, written down:
//! - A task that yields, or whose quantum is spent, goes behind every task
//!   already ready at the back; a task the running one made ready (a child,
//!   a reader, a waiting parent) runs next, within the bounds `runq.rs`
//!   sets.
//! - A task whose call finished at once keeps running, up to `QUANTUM`
//!   calls in a row; this keeps the cache warm on the common path.
//! - The inbox, the timers and (when a task waits on a host fd) the poller
//!   are looked at every `CHECK_EVERY` tasks, and whenever none is ready.

use std::task::{Context, Poll, Waker};
use std::time::Duration;

use syscalls::{PackedReply, Pid, Reply, SysResult, Syscall};

use crate::dispatch::Outcome;
use crate::fd::Object;
use crate::inbox::Message;
use crate::panic;
use crate::poll::WAKE_TOKEN;
use crate::task::{RunState, WaitOn};
use crate::{Event, Kernel, Step};

/// Calls finished at once that a task may make in a row before it goes
/// behind the other ready tasks: bounds how long one task can hold the
/// CPU without blocking.
const QUANTUM: u32 = 64;

/// Tasks run between two looks at the inbox, timers and poller: bounds the
/// lateness of a timer or a Ctrl-C under full load, while keeping the cost
/// of looking (a clock read, at times an epoll_wait) off each switch. At
/// 256, 100,000 sleepers waking a microsecond apart were each up to a
/// batch late (p50 280 µs); at 64 a look costs under a nanosecond a task.
pub(crate) const CHECK_EVERY: u32 = 64;

/// The longest a batch of tasks runs before the inbox and the timers are
/// looked at, in nanoseconds of the CPU clock (which moves a tick at a
/// time: the batch ends once it has moved on). Without it a batch of
/// tasks making 64 slow calls each (big writes) kept a Ctrl-C waiting
/// for tens of milliseconds.
const BATCH_NS: u64 = 1_000_000;

/// Tables with room for fewer slots than this are left as they are: the
/// memory a shrink gives back (about 200 bytes a slot) is not worth it.
const SHRINK_FROM: usize = 4096;

/// While tasks are ready, the host's descriptors are asked about (an
/// epoll_wait, a system call) only every this many looks: timers stay at
/// every 64 tasks, a socket's news at every 256, and the switch path of a
/// busy kernel with a server open does not pay a system call per batch.
const HOST_POLL_EVERY: u32 = 4;

/// Timers due sooner than this are waited for without sleeping in the
/// poller. With 100,000 sleepers due over 100 ms, each sleep was a
/// timerfd_settime that cost more than the wait (8% of the run in
/// perf).
const SPIN: Duration = Duration::from_micros(50);

impl Kernel {
    /// Runs up to `CHECK_EVERY` ready tasks, or as many as start within
    /// `BATCH_NS`, then handles events; with `may_block`, sleeps in the
    /// poller when nothing is ready.
    pub(crate) fn run_batch(&mut self, may_block: bool) -> Step {
        let began = self.charging.map_or(0, |(_, _, since)| since);
        for _ in 0..CHECK_EVERY {
            if self.halted.is_some() {
                break;
            }
            // One turn ends where the next begins (`RunQueue::next_turn`).
            let Some(pid) = self.ready.next_turn() else {
                break;
            };
            self.run_turn(pid);
            // The clock read when the last task started: no read of its own.
            if let Some((_, _, since)) = self.charging {
                if since.wrapping_sub(began) >= BATCH_NS && began != 0 {
                    break;
                }
            }
        }
        // Tasks made ready from here on were not woken by a running task.
        self.ready.end_turn();
        if self.halted.is_none() {
            self.handle_events(may_block);
        }
        match self.halted {
            Some(code) => Step::Halted(code),
            None => Step::Idle,
        }
    }

    /// Gives the next ready task its turn (`runq.rs` says which); `None`
    /// if no task is ready.
    pub(crate) fn run_next(&mut self) -> Option<Pid> {
        let pid = self.ready.start_turn()?;
        self.run_turn(pid);
        self.ready.end_turn();
        Some(pid)
    }

    /// The turn of `pid`, begun in the ready queue.
    #[inline]
    fn run_turn(&mut self, pid: Pid) {
        self.run_task(pid);
        if self.watchdog.overran() {
            self.note_hog(pid);
        }
    }

    /// Polls `pid` until it blocks, ends, yields or spends its quantum.
    #[inline(never)]
    fn run_task(&mut self, pid: Pid) {
        let Some(live_slot) = self.tasks.place(pid).live() else {
            return; // A stale pid: the task ended, or was reaped.
        };
        let started = self.cpu_clock.read();
        self.charge_running(started);
        self.charging = Some((live_slot, pid, started));
        let live = self.tasks.live_at(live_slot);
        // What the next poll gets: an answer, or bytes to move.
        let mut answer = match live.state {
            RunState::Ready(answer) => {
                live.state = RunState::Running;
                live.counters.scheduled += 1;
                Answer::from(answer)
            }
            // A parked task on the ready queue was woken to try its call
            // again (a reader whose pipe got bytes: it takes them now, in
            // its own poll, so one killed before this leaves them for the
            // next). Its wait stays in place until then: waking it moves
            // nothing.
            RunState::Blocked(on) if on.retried_when_woken() => {
                live.state = RunState::Running;
                live.counters.scheduled += 1;
                match self.retry(pid, on) {
                    Outcome::Done(r) => Answer::Reply(self.pack_answer(pid, r)),
                    Outcome::Move(lent) => Answer::Move(lent),
                    // Someone else took the bytes: parked again.
                    Outcome::Block(on) => {
                        self.block(live_slot, pid, on);
                        return;
                    }
                    Outcome::Parked => return,
                    Outcome::Yield | Outcome::Gone => {
                        unreachable!("a retried call finishes, moves bytes or parks")
                    }
                }
            }
            // A stale entry: it is parked on something that ends its call
            // itself (a timer, a child).
            RunState::Blocked(_) | RunState::Running | RunState::Zombie(_) => return,
        };
        self.record(|| Event::Run(pid));
        self.watchdog.enter(started, &self.tasks);
        let mut cx = Context::from_waker(Waker::noop());
        let mut budget = QUANTUM;
        loop {
            let lent = match answer {
                Answer::Reply(PackedReply::KEPT_ASIDE) => {
                    let big = self.take_kept_aside(pid);
                    self.trap.put_reply(big);
                    None
                }
                Answer::Reply(packed) => {
                    self.trap.put_packed(packed);
                    None
                }
                // The transfer is in the trap already (`Kernel::lend`).
                Answer::Move(object) => Some(object),
                Answer::None => {
                    self.trap.clear();
                    None
                }
            };
            self.watchdog.task_code(pid);
            // Polled where it lives: a call that ends the task (an exit,
            // a kill of itself) finds it there, and it is not moved out
            // and back for every call.
            let future = (self.tasks.live_at(live_slot).future.as_mut())
                .expect("a running task has its coroutine");
            let polled = panic::guard(|| future.as_mut().poll(&mut cx));
            self.watchdog.kernel_code();
            // The bytes the poll moved are accounted for first: its next
            // call (in the slot now) may be a read of what it just wrote.
            if let Some(object) = lent {
                let moved = self.trap.take_moved();
                self.settle_move(object, moved);
            }
            let trap: *const syscalls::Trap = std::rc::Rc::as_ptr(&self.trap);
            let fault = match polled {
                // SAFETY: the trap lives as long as the kernel, which holds
                // its Rc; the task just returned Pending.
                Ok(Poll::Pending) => match unsafe { (*trap).take_request() }.map(|c| c as *const Syscall) {
                    Some(call) => {
                        self.tasks.live_at(live_slot).counters.syscalls += 1;
                        // SAFETY: the request lives in the task's call
                        // future, not polled or dropped since it trapped.
                        self.record(|| Event::Syscall(pid, unsafe { &*call }.name()));
                        // SAFETY: as above; dispatch reads it before a call
                        // that ends the task drops the future.
                        let outcome = unsafe { self.dispatch(pid, live_slot, call) };
                        // Still running unless the call ended us: only the
                        // task whose turn it is is `Running`; its live slot
                        // is free once it ended (or another task's).
                        let live = self.tasks.live_at(live_slot);
                        if !matches!(live.state, RunState::Running) {
                            return;
                        }
                        match outcome {
                            Outcome::Done(r) if budget > 1 => {
                                budget -= 1;
                                answer = Answer::Reply(self.pack_answer(pid, r));
                                continue;
                            }
                            Outcome::Move(lent) if budget > 1 => {
                                budget -= 1;
                                answer = Answer::Move(lent);
                                continue;
                            }
                            Outcome::Done(r) => {
                                let answer = self.pack_answer(pid, r);
                                self.tasks.live_at(live_slot).state = RunState::Ready(Some(answer));
                                self.ready.push_back(pid);
                            }
                            // What a move lends is good for the poll that
                            // follows at once only: later, the task makes
                            // its call again.
                            Outcome::Move(_) => {
                                live.state = RunState::Ready(Some(PackedReply::AGAIN));
                                self.ready.push_back(pid);
                            }
                            Outcome::Yield => {
                                live.state = RunState::Ready(Some(PackedReply::UNIT));
                                self.ready.push_back(pid);
                            }
                            Outcome::Block(on) => {
                                self.block(live_slot, pid, on);
                            }
                            Outcome::Parked | Outcome::Gone => {}
                        }
                        return;
                    }
                    None => "returned Pending without a system call (a program must only await coos system calls)".to_string(),
                },
                Ok(Poll::Ready(code)) => {
                    self.drop_live_coroutine(pid, live_slot);
                    self.exit_task(pid, code);
                    return;
                }
                Err(message) => format!("panicked: {message}"),
            };
            self.trap.clear();
            let name = self.task(pid).name().to_string();
            self.kernel_message(&format!("coos: pid {pid} ({name}): {fault}\n"));
            self.drop_live_coroutine(pid, live_slot);
            self.exit_task(pid, 101);
            return;
        }
    }

    /// Charges the task that ran last with the CPU time up to `now`. The
    /// clock (`time::CpuClock`, a load) is read once per switch: the end
    /// of one task's turn is the start of the next one's (the kernel's own
    /// work between them goes to the task before), and once before the
    /// kernel sleeps in the poller.
    #[inline]
    pub(crate) fn charge_running(&mut self, now: u64) {
        if let Some((slot, pid, since)) = self.charging.take() {
            self.tasks.charge(slot, pid, now.wrapping_sub(since));
        }
    }

    /// Drops the coroutine of the running task `pid`, in live slot `slot`,
    /// before the task ends (as `drop_coroutine`).
    #[cold]
    fn drop_live_coroutine(&mut self, pid: Pid, slot: usize) {
        if let Some(future) = self.tasks.live_at(slot).future.take() {
            self.drop_coroutine(pid, future);
        }
    }

    /// Drops a task's coroutine (Rust drop glue releases what it held); a
    /// panic in a destructor is reported and goes no further.
    pub(crate) fn drop_coroutine(&mut self, pid: Pid, future: syscalls::TaskFuture) {
        if let Err(message) = panic::guard(move || drop(future)) {
            self.kernel_message(&format!(
                "coos: pid {pid}: panicked while being dropped: {message}\n"
            ));
        }
    }

    /// Parks `pid` on `on`, unless its deadline has passed: then the call
    /// ends as timed out at once.
    /// `slot` is the live slot of `pid`, whose turn it is: its state is
    /// written there, with no look-up by pid.
    #[inline]
    fn block(&mut self, slot: usize, pid: Pid, on: WaitOn) {
        if self.config.trace || !self.deadlines.is_empty() {
            return self.block_slow(pid, on);
        }
        // The wait a handler just built, copied field by field: copied
        // whole, it is read back in 16-byte loads over the narrower stores
        // that wrote it, which stall (8% of run_task in the ring).
        let on = match on {
            WaitOn::Read { fd, object, len } => WaitOn::Read { fd, object, len },
            WaitOn::Write {
                fd,
                object,
                len,
                done,
            } => WaitOn::Write {
                fd,
                object,
                len,
                done,
            },
            other => other,
        };
        self.tasks.live_at(slot).state = RunState::Blocked(on);
    }

    /// `block` from inside a handler, for the hottest waits (a pipe's
    /// reader or writer): the wait is written into the task's state where
    /// the handler builds it, a field at a time. Returned in the outcome,
    /// it was read back in wide loads over the narrow stores that wrote it,
    /// which stalled (84% of `block`, 6% of pingpong).
    #[inline(always)]
    pub(crate) fn park(&mut self, pid: Pid, on: WaitOn) -> Outcome {
        if self.config.trace || !self.deadlines.is_empty() {
            self.block_slow(pid, on);
        } else if let Some(live) = self.tasks.live_mut(pid) {
            write_wait(&mut live.state, on);
        }
        Outcome::Parked
    }

    /// `block` with a deadline set, or a trace to write.
    #[cold]
    fn block_slow(&mut self, pid: Pid, on: WaitOn) {
        if self.deadline_passed(pid) {
            self.complete(pid, timed_out(&on));
            return;
        }
        self.arm_deadline(pid);
        if self.config.trace {
            let what = on.describe().to_string();
            self.trace.push(Event::Block(pid, what));
        }
        self.tasks.set_state(pid, RunState::Blocked(on));
    }

    /// Finishes the call `pid` is blocked in with `result` and puts it at
    /// the back of the ready queue.
    pub(crate) fn complete(&mut self, pid: Pid, result: SysResult<Reply>) {
        if !self.polls.is_empty() {
            // A poll ended by its deadline: its entries are not needed.
            self.polls.remove(&pid);
        }
        let answer = self.pack_answer(pid, result);
        match self.tasks.live_mut(pid) {
            Some(live) => {
                live.state = RunState::Ready(Some(answer));
                self.wake(pid);
            }
            // Gone: nobody will take a big answer kept aside for it.
            None if answer == PackedReply::KEPT_ASIDE => {
                self.big_replies.remove(&pid);
            }
            None => {}
        }
    }

    /// Puts `pid`, made ready, on the ready queue (next if the running
    /// task woke it) and records the wake-up.
    #[inline]
    pub(crate) fn wake(&mut self, pid: Pid) {
        self.ready.ready(pid);
        self.record(|| Event::Wake(pid));
    }

    /// The answer a ready task keeps, packed; a big one (a task list, an
    /// address) waits for it in `big_replies`, which the packed marker
    /// points to.
    #[inline]
    fn pack_answer(&mut self, pid: Pid, result: SysResult<Reply>) -> PackedReply {
        match PackedReply::pack(result) {
            Ok(packed) => packed,
            Err(big) => self.keep_aside(pid, big),
        }
    }

    #[cold]
    fn keep_aside(&mut self, pid: Pid, big: SysResult<Reply>) -> PackedReply {
        self.big_replies.insert(pid, big);
        PackedReply::KEPT_ASIDE
    }

    /// The big answer `pack_answer` kept aside for `pid` (`EIO` if there is
    /// none: not reached).
    fn take_kept_aside(&mut self, pid: Pid) -> SysResult<Reply> {
        self.big_replies
            .remove(&pid)
            .unwrap_or(Err(syscalls::Errno::EIO))
    }

    /// Makes the reader `pid`, parked reading `object`, ready to read again
    /// when it runs. A stale pid, or a task parked on something else, is
    /// left alone. Returns how many bytes it asked for (0 if left alone).
    pub(crate) fn wake_reader(&mut self, pid: Pid, object: crate::fd::Object) -> usize {
        let Some(state) = self.tasks.state(pid) else {
            return 0;
        };
        match state {
            RunState::Blocked(WaitOn::Read { object: o, len, .. }) if o == object => {
                self.wake(pid);
                len
            }
            _ => {
                self.wake_poller(pid);
                0
            }
        }
    }

    /// If `pid` is parked in `poll`, makes it look at its descriptors again
    /// when it runs. Returns whether it was.
    pub(crate) fn wake_poller(&mut self, pid: Pid) -> bool {
        if !matches!(self.tasks.state(pid), Some(RunState::Blocked(WaitOn::Poll))) {
            return false;
        }
        self.wake(pid);
        true
    }

    /// Wakes the sleepers whose deadline has come.
    pub(crate) fn expire_timers(&mut self) {
        if self.timers.len() == 0 {
            return;
        }
        let now = self.clock.now();
        while let Some((at, pid)) = self.timers.pop_due(now) {
            if !self.timer_live(at, pid) {
                continue;
            }
            let result = match self.tasks.state(pid) {
                Some(RunState::Blocked(WaitOn::Sleep { until })) if until == at => Ok(Reply::Unit),
                _ => match self.deadline_timer(pid, at) {
                    Some(timed_out) => timed_out,
                    None => continue,
                },
            };
            self.complete(pid, result);
        }
    }

    /// Handles inbox messages, due timers and host readiness. With `block`
    /// and nothing ready, sleeps in the poller until the next deadline or
    /// event; a virtual clock jumps to the next deadline instead.
    pub(crate) fn handle_events(&mut self, block: bool) {
        self.drain_inbox();
        self.expire_timers();
        let idle = self.ready.is_empty();
        self.give_back_memory(idle);
        let timeout = if !idle {
            Some(Duration::ZERO)
        } else if self.clock.is_virtual() {
            if self.timers.len() > 0 || !block {
                Some(Duration::ZERO)
            } else {
                None
            }
        } else if !block {
            Some(Duration::ZERO)
        } else {
            // A deadline nearer than SPIN is waited for by looking again at
            // once: arming the timerfd and sleeping costs more than that
            // (programming the host's timer, an exit from a VM) and wakes
            // later than the deadline anyway.
            self.next_look()
                .map(|at| at.saturating_sub(self.clock.now()))
                .map(|wait| if wait < SPIN { Duration::ZERO } else { wait })
        };
        let host_due = idle || {
            self.busy_looks += 1;
            self.busy_looks >= HOST_POLL_EVERY
        };
        let must_poll = (self.host_waiters() > 0 && host_due) || timeout != Some(Duration::ZERO);
        if must_poll {
            self.busy_looks = 0;
        }
        if must_poll {
            // Time asleep in the poller is nobody's.
            let now = self.cpu_clock.read();
            self.charge_running(now);
            let sleeps = timeout != Some(Duration::ZERO);
            if sleeps {
                self.cpu_clock.sleep();
            }
            let tokens = self.poller.wait(timeout);
            if sleeps {
                self.cpu_clock.wake();
            }
            for (token, ready) in tokens {
                if token == WAKE_TOKEN {
                    self.inbox.acknowledge();
                    self.drain_inbox();
                } else {
                    self.host_ready(token, ready);
                }
            }
        }
        if self.clock.is_virtual() && self.ready.is_empty() {
            if let Some(next) = self.next_deadline() {
                self.clock.advance_to(next);
            }
        }
        self.expire_timers();
    }

    /// Gives the host back memory the kernel's tables no longer need,
    /// once most of it is free (a 10,000-stage pipeline has ended): the
    /// free tail of the task, pipe and socket tables, then the heap's free
    /// pages (`malloc_trim`). Looked at with every batch: a few
    /// comparisons, unless there is something to give back. It is tried
    /// when the last slot of a table is free (the trim then removes at
    /// least that, and costs a pass over the free list), or, with no task
    /// ready (`idle`), once half as many tasks have been reaped as were in
    /// use at the last try.
    pub(crate) fn give_back_memory(&mut self, idle: bool) {
        let tasks = self.tasks.capacity();
        let pipes = self.pipes.capacity();
        let big = |capacity: usize, used: usize| capacity >= SHRINK_FROM && used < capacity / 4;
        let in_use = self.pipes.len() - self.free_pipes.len();
        if !big(tasks, self.tasks.len()) && !big(pipes, in_use) {
            return;
        }
        let tail_free = self.tasks.tail_free() || self.pipes.last().is_some_and(Option::is_none);
        let (reaped_then, used_then) = self.shrunk_at;
        let reaped = self.tasks.reaped();
        let turned_over = reaped - reaped_then >= used_then as u64 / 2;
        if !(tail_free || idle && turned_over) {
            return;
        }
        self.shrunk_at = (reaped, self.tasks.len());
        self.tasks.shrink();
        crate::task::trim(&mut self.pipes, &mut self.free_pipes, Option::is_none);
        crate::task::trim(&mut self.sockets, &mut self.free_sockets, Option::is_none);
        self.big_replies.shrink_to_fit();
        self.polls.shrink_to_fit();
        self.deadlines.shrink_to_fit();
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only returns free memory to the host; it is
        // safe to call at any time from any thread.
        unsafe {
            nix::libc::malloc_trim(0);
        }
    }

    fn drain_inbox(&mut self) {
        while let Some(message) = self.inbox.pop() {
            self.handle_message(message);
        }
    }

    pub(crate) fn handle_message(&mut self, message: Message) {
        match message {
            Message::ConsoleInput(bytes) => self.console_feed(&bytes),
            Message::ConsoleEof => self.console_end(),
            Message::Interrupt => self.console_interrupt(),
            Message::ConsoleWritable => self.console_writable(),
            // At a terminal, a SIGINT is somebody's Ctrl-C: it is for the
            // foreground job, if any (one pressed just before the shell
            // hands a new job the console must not end coos).
            Message::HostSignal(syscalls::Signal::Int)
                if self.console.terminal || self.console.foreground.0 != 0 =>
            {
                self.console_interrupt()
            }
            Message::HostSignal(signal) => self.signal_all(signal),
            Message::JobDone { pid, job, panicked } => {
                self.pool.outstanding = self.pool.outstanding.saturating_sub(1);
                let ours = matches!(
                    self.tasks.state(pid),
                    Some(RunState::Blocked(WaitOn::Blocking { job: j })) if j == job
                );
                if ours {
                    self.complete(
                        pid,
                        if panicked {
                            Err(syscalls::Errno::EIO)
                        } else {
                            Ok(Reply::Unit)
                        },
                    );
                }
            }
            Message::Spawn { start, status } => self.spawn_remote(start, status),
        }
    }

    /// Writes a message of the kernel's own (a task's panic) to the console's
    /// error stream, best effort.
    pub(crate) fn kernel_message(&mut self, text: &str) {
        let mut bytes = text.as_bytes();
        while !bytes.is_empty() {
            match self.console.stderr.write(bytes) {
                Ok(n) if n > 0 => bytes = &bytes[n..],
                _ => break,
            }
        }
    }
}

/// What the next poll of a task gets.
enum Answer {
    /// Nothing: its first poll.
    None,
    /// The answer to its call (`PackedReply::AGAIN`: make it again).
    Reply(PackedReply),
    /// Bytes to move for its read or write, lent from this object for
    /// this poll (in the trap already).
    Move(Object),
}

impl From<Option<PackedReply>> for Answer {
    fn from(answer: Option<PackedReply>) -> Answer {
        answer.map_or(Answer::None, Answer::Reply)
    }
}

/// How a call parked on `on` ends when its deadline comes: a write that
/// moved bytes says how many; anything else says `ETIMEDOUT`.
pub(crate) fn timed_out(on: &WaitOn) -> SysResult<Reply> {
    match on {
        WaitOn::Write { done, .. } if *done > 0 => Ok(Reply::Size(*done)),
        _ => Err(syscalls::Errno::ETIMEDOUT),
    }
}

/// Makes `state` `Blocked(on)` a field at a time (`Kernel::park`): the
/// variant is set, then its fields, each with the width it has.
#[inline(always)]
fn write_wait(state: &mut RunState, on: WaitOn) {
    match on {
        WaitOn::Read { fd, object, len } => {
            *state = RunState::Blocked(WaitOn::Read {
                fd: syscalls::Fd(0),
                object: Object::Null,
                len: 0,
            });
            if let RunState::Blocked(WaitOn::Read {
                fd: f,
                object: o,
                len: l,
            }) = state
            {
                (*f, *o, *l) = (fd, object, len);
            }
        }
        WaitOn::Write {
            fd,
            object,
            len,
            done,
        } => {
            *state = RunState::Blocked(WaitOn::Write {
                fd: syscalls::Fd(0),
                object: Object::Null,
                len: 0,
                done: 0,
            });
            if let RunState::Blocked(WaitOn::Write {
                fd: f,
                object: o,
                len: l,
                done: d,
            }) = state
            {
                (*f, *o, *l, *d) = (fd, object, len, done);
            }
        }
        other => *state = RunState::Blocked(other),
    }
}
