//! Tasks and the task table. The table owns every task; everything else
//! (the ready queue, wait queues, timers) holds pids, and a stale pid is
//! skipped, never unwrapped.
//!
//! A task's life:
//!
//! ```text
//!            (1) spawn           (2) pick            (3) syscall done at once
//!   [new] ──────────────▶ Ready ──────────▶ Running ─────────────────────┐
//!                          ▲  ▲                │ │                       │
//!                          │  └───────────────┼─┼───── (4) yield / quantum spent
//!                          │ (6) complete      │ │(5) block
//!                          │                   │ ▼
//!                          └────────────── Blocked(WaitOn)
//!                                              │
//!     (7) exit_task: returns, exit(), kill, panic, or a fault (from any state)
//!                                              ▼
//!                                        Zombie(status) ──(8) reap──▶ [gone]
//! ```
//!
//! (1) `proc::spawn`, (2) `sched::run_task`, (3)(4)(5) the outcome of
//! `dispatch`, (6) `Kernel::complete` by the event waited for, (7)
//! `proc::exit_task`, (8) `proc::reap` by the parent's `wait` (or init's).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;
use std::time::Duration;

use syscalls::{ExitCode, Fd, PackedReply, Pid, TaskFuture, TaskState};

use crate::fd::{FdTable, Object};

/// What a blocked task waits for. Read and write keep the task's buffer:
/// the kernel fills or drains it while the task is parked.
#[derive(Clone, Copy)]
pub(crate) enum WaitOn {
    /// A timer: the task sleeps until this time.
    Sleep { until: Duration },
    /// A child's exit: `Some(pid)` one child, `None` any.
    Child { pid: Option<Pid> },
    /// Bytes to read from `object` (named `fd` by the task), up to `len`.
    /// No pointer to the task's buffer: the bytes move when the task's
    /// call, retried, is polled (see `syscalls/src/trap.rs`).
    Read { fd: Fd, object: Object, len: usize },
    /// Readiness of any of the caller's poll entries (kept by the kernel,
    /// in `Kernel::polls`).
    Poll,
    /// A job on the blocking pool, by number.
    Blocking { job: u64 },
    /// A connection to take from the listening socket `object`.
    Accept { fd: Fd, object: Object },
    /// A connection being made on the socket with this id (not yet in the
    /// task's fd table: the wait holds its one reference).
    Connect { socket: u32 },
    /// Bytes to write: `len - done` of the `len` are still to go.
    Write {
        fd: Fd,
        object: Object,
        len: usize,
        done: usize,
    },
}

impl WaitOn {
    /// Is a task parked on this woken by being put on the ready queue, to
    /// try its call again when it runs? (Readers, writers, accepts,
    /// connects and polls are: their bytes move only in their own poll;
    /// sleeps, waits and blocking jobs have their calls ended by the event
    /// itself.)
    pub(crate) fn retried_when_woken(&self) -> bool {
        match self {
            WaitOn::Read { .. }
            | WaitOn::Write { .. }
            | WaitOn::Accept { .. }
            | WaitOn::Connect { .. }
            | WaitOn::Poll => true,
            WaitOn::Sleep { .. } | WaitOn::Child { .. } | WaitOn::Blocking { .. } => false,
        }
    }

    pub(crate) fn describe(&self) -> TaskState {
        match *self {
            WaitOn::Sleep { until } => TaskState::Sleeping { until },
            WaitOn::Child { pid } => TaskState::Waiting(pid),
            WaitOn::Read { fd, .. } => TaskState::Reading(fd),
            WaitOn::Write { fd, .. } => TaskState::Writing(fd),
            WaitOn::Accept { fd, .. } => TaskState::Accepting(fd),
            WaitOn::Connect { .. } => TaskState::Connecting,
            WaitOn::Blocking { .. } => TaskState::Blocked("blocking work"),
            WaitOn::Poll => TaskState::Blocked("poll"),
        }
    }
}

/// Where a task is in its life. `Copy`: the answer a ready task holds is
/// packed (a big one waits in `Kernel::big_replies`), so changing a
/// task's state is a store, with no drop glue to call.
#[derive(Clone, Copy)]
pub(crate) enum RunState {
    /// On the ready queue, with the answer to its last call (none for a
    /// task not yet run).
    Ready(Option<PackedReply>),
    Running,
    Blocked(WaitOn),
    Zombie(ExitCode),
}

impl RunState {
    pub(crate) fn describe(&self) -> TaskState {
        match self {
            RunState::Ready(_) => TaskState::Ready,
            RunState::Running => TaskState::Running,
            RunState::Blocked(on) => on.describe(),
            RunState::Zombie(code) => TaskState::Zombie(*code),
        }
    }
}

/// One task's record. `pid`, `ppid` and `pgid` never change but for
/// `ppid` when the parent dies (the task goes to init).
///
/// The record keeps who the task is; what it runs with (coroutine, state,
/// descriptors, its own children) is its `Live` part, kept beside it in
/// the table and freed when it ends. A zombie is only its record: a
/// parent with a million children not yet reaped holds 48 MB of them (at
/// 160 bytes a task, a third of `bench spawn` was the host's page faults;
/// at 80, a fifth). So the record holds nothing a zombie does without,
/// and what it holds is packed.
pub(crate) struct Task {
    pub pid: Pid,
    pub ppid: Pid,
    pub pgid: Pid,
    /// Its exit status, once it ended (a zombie).
    pub code: Option<ExitCode>,
    pub family: Family,
    /// argv, shared with children started by `spawn_fn` (they inherit it).
    /// Behind a thin pointer: 8 bytes a zombie fewer than `Rc<[String]>`,
    /// and only `ps` and messages read it.
    pub argv: Rc<Vec<String>>,
    /// Its totals once it ended (while it lives, its `Live` keeps them).
    pub totals: Totals,
}

/// A zombie's counters, in 16 bytes. The counts almost always fit in 32
/// bits; a task that made more calls than that (or was scheduled more
/// often) has them kept whole in `TaskTable::spilled`, and `SPILLED`
/// here. Its CPU time stays here: the rest of the turn it ended in is
/// charged to it after it ended.
#[derive(Clone, Copy, Default)]
pub(crate) struct Totals {
    cpu: u64,
    scheduled: u32,
    syscalls: u32,
}

/// `Totals` counts kept in `TaskTable::spilled`.
const SPILLED: u32 = u32::MAX;

/// What a task has been given, for `ps`.
#[derive(Clone, Copy, Default)]
pub(crate) struct Counters {
    pub scheduled: u64,
    pub syscalls: u64,
    /// CPU time spent running it, in nanoseconds (`time::CpuClock`).
    pub cpu: u64,
}

/// What a task has from spawn to exit. All a turn touches is here: a
/// turn that went to the record too was a second cold line a ring hop
/// (+5%).
pub(crate) struct Live {
    /// The coroutine: polled where it is (`Kernel::run_task`), taken out
    /// only to be dropped; `None` once it has been.
    pub future: Option<TaskFuture>,
    /// Never `Zombie` for a task: one that ended has no `Live`.
    pub state: RunState,
    pub fds: FdTable,
    pub counters: Counters,
    /// Its children, which only a task that lives has (one that ends
    /// gives them to init).
    pub children: Children,
}

impl Live {
    /// A free slot's: holds nothing, and is not `Running` (the scheduler
    /// tells by the state that a turn's task ended in its call).
    /// Is this a free slot? Only a free slot's state says `Zombie`
    /// (`VACANT_STATE`): a zombie's is kept in its record.
    fn is_vacant(&self) -> bool {
        matches!(self.state, RunState::Zombie(_))
    }

    const VACANT: Live = Live {
        future: None,
        state: VACANT_STATE,
        fds: FdTable::EMPTY,
        counters: Counters {
            scheduled: 0,
            syscalls: 0,
            cpu: 0,
        },
        children: Children {
            first: NO_PID,
            last: NO_PID,
            last_zombie: NO_PID,
        },
    };
}

const VACANT_STATE: RunState = RunState::Zombie(0);

/// A task's place among its siblings. A task's children form a doubly
/// linked list through their `next`/`prev`: O(1) to add, remove, and hand
/// to init. `NO_PID` (0) ends a link.
#[derive(Default, Clone, Copy)]
pub(crate) struct Family {
    pub next: Pid,
    pub prev: Pid,
}

/// The ends of a task's list of children (in its `Live`: a zombie has no
/// children). The list starts with the children that ended and wait to be
/// reaped, oldest first, up to `last_zombie`; the live ones follow, oldest
/// first, to `last`. So `wait_any` takes the head, and a child that ends
/// before its younger siblings (the usual order) is already in place.
#[derive(Default, Clone, Copy)]
pub(crate) struct Children {
    pub first: Pid,
    pub last: Pid,
    pub last_zombie: Pid,
}

/// The end of a family link.
pub(crate) const NO_PID: Pid = Pid(0);

impl Task {
    pub(crate) fn name(&self) -> &str {
        self.argv.first().map(String::as_str).unwrap_or("?")
    }

    pub(crate) fn is_zombie(&self) -> bool {
        self.code.is_some()
    }
}

/// Every task, by pid. Pids count up from 1 and wrap at `pid_max` to the
/// lowest free one after that, so a pid is not reused soon.
///
/// Records and live parts are two slabs; a pid's index entry names its
/// place in both, so the two are found at once (a live part reached through
/// its record was a second cache miss on every wake-up: ring hop +7%).
pub(crate) struct TaskTable {
    index: Vec<Place>,
    records: Vec<Option<Task>>,
    /// A free one is `Live::VACANT` (the index says which are taken).
    lives: Vec<Live>,
    free_records: Vec<u32>,
    free_lives: Vec<u32>,
    /// The counters of zombies whose counts did not fit in their `Totals`.
    spilled: PidMap<Counters>,
    next_pid: u32,
    pid_max: u32,
    len: usize,
    /// Tasks taken out of the table so far.
    reaped: u64,
}

impl Totals {
    /// `counters` packed; `None` if a count may not fit.
    #[inline]
    fn pack(counters: Counters) -> Option<Totals> {
        // One test for both counts (it may send a pair that fits to be
        // spilled: rare, and never wrong).
        if counters.scheduled | counters.syscalls >= u64::from(SPILLED) {
            return None;
        }
        Some(Totals {
            cpu: counters.cpu,
            scheduled: counters.scheduled as u32,
            syscalls: counters.syscalls as u32,
        })
    }

    fn spilled(&self) -> bool {
        self.scheduled == SPILLED
    }
}

/// Where a pid's record and live part are: slot + 1 in each slab (0: none).
#[derive(Clone, Copy, Default)]
pub(crate) struct Place {
    record: u32,
    live: u32,
}

impl Place {
    /// The record's slot: stable for the task's life.
    #[inline]
    pub(crate) fn record(self) -> Option<usize> {
        (self.record as usize).checked_sub(1)
    }

    /// The live part's slot, until the task ends.
    #[inline]
    pub(crate) fn live(self) -> Option<usize> {
        (self.live as usize).checked_sub(1)
    }
}

/// Gives back the free slots at the end of `slab` (those `vacant` says
/// are free, all listed in `free`) and the room past them. A free slot
/// holds nothing to drop (see `put`). Linear in the free list, once.
pub(crate) fn trim<T>(slab: &mut Vec<T>, free: &mut Vec<u32>, vacant: impl Fn(&T) -> bool) {
    let before = slab.len();
    while slab.last().is_some_and(&vacant) {
        std::mem::forget(slab.pop());
    }
    if slab.len() < before {
        let end = slab.len() as u32;
        free.retain(|&slot| slot < end);
    }
    slab.shrink_to_fit();
    free.shrink_to_fit();
}

/// Takes a free slot of `slab` (or a new one at its end) for `value`:
/// the slot + 1. A free slot holds nothing (`None`, `Live::VACANT`), so
/// what was there is forgotten, not dropped: the drop glue of a vacant
/// `Live` was 36 instructions a spawn.
#[inline(always)]
fn put<T>(slab: &mut Vec<T>, free: &mut Vec<u32>, value: T) -> u32 {
    match free.pop() {
        Some(s) => {
            std::mem::forget(std::mem::replace(&mut slab[s as usize], value));
            s + 1
        }
        None => {
            slab.push(value);
            slab.len() as u32
        }
    }
}

impl TaskTable {
    pub(crate) fn new(pid_max: u32) -> TaskTable {
        TaskTable {
            index: Vec::new(),
            records: Vec::new(),
            lives: Vec::new(),
            free_records: Vec::new(),
            free_lives: Vec::new(),
            spilled: PidMap::default(),
            next_pid: 1,
            pid_max: pid_max.max(2),
            len: 0,
            reaped: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Is the last slot of either slab free (so `shrink` gives back at
    /// least that)?
    pub(crate) fn tail_free(&self) -> bool {
        self.records.last().is_some_and(Option::is_none)
            || self.lives.last().is_some_and(Live::is_vacant)
    }

    /// How many tasks have been taken out of the table (reaped) so far.
    pub(crate) fn reaped(&self) -> u64 {
        self.reaped
    }

    /// Slots the slabs have room for (taken or free).
    pub(crate) fn capacity(&self) -> usize {
        self.records.capacity().max(self.lives.capacity())
    }

    /// Bytes the table holds: its slabs, free lists and pid index (not
    /// what the tasks own themselves: coroutines, argv).
    pub(crate) fn bytes(&self) -> usize {
        use std::mem::size_of;
        self.records.capacity() * size_of::<Option<Task>>()
            + self.lives.capacity() * size_of::<Live>()
            + (self.free_records.capacity() + self.free_lives.capacity()) * size_of::<u32>()
            + self.index.capacity() * size_of::<Place>()
    }

    /// Gives back the memory of free slots at the end of each slab, and
    /// the room the vectors hold past what they keep. Called when most
    /// of the table is free (a big pipeline has ended). (The pid index,
    /// 8 bytes a pid handed out, is kept.)
    pub(crate) fn shrink(&mut self) {
        trim(&mut self.records, &mut self.free_records, Option::is_none);
        trim(&mut self.lives, &mut self.free_lives, Live::is_vacant);
    }

    /// The next free pid. Caller must insert a task with it before asking
    /// again, and must have checked the table is not full.
    pub(crate) fn alloc_pid(&mut self) -> Pid {
        loop {
            let pid = self.next_pid;
            self.next_pid = if pid >= self.pid_max { 2 } else { pid + 1 };
            if self.place(Pid(pid)).record().is_none() {
                return Pid(pid);
            }
        }
    }

    /// Where `pid` is (nowhere if there is no such task).
    #[inline]
    pub(crate) fn place(&self, pid: Pid) -> Place {
        self.index.get(pid.0 as usize).copied().unwrap_or_default()
    }

    /// Adds `task`, ready to run `future`, with no descriptors yet; the
    /// slot of its live part, where the caller puts them (`live_at`).
    #[inline(always)]
    pub(crate) fn insert(&mut self, task: Task, future: Option<TaskFuture>) -> usize {
        let pid = task.pid.0 as usize;
        let record = put(&mut self.records, &mut self.free_records, Some(task));
        let live = match self.free_lives.pop() {
            Some(slot) => {
                // Field by field into the free slot (which holds nothing
                // to drop): a `Live` built on the stack and copied in
                // whole was read back in wide loads over the narrower
                // stores that built it, which stalled (spawn).
                let vacant = &mut self.lives[slot as usize];
                vacant.future = future;
                vacant.state = RunState::Ready(None);
                vacant.counters = Counters::default();
                vacant.children = Children::default();
                slot + 1
            }
            None => {
                self.lives.push(Live {
                    future,
                    state: RunState::Ready(None),
                    fds: FdTable::EMPTY,
                    counters: Counters::default(),
                    children: Children::default(),
                });
                self.lives.len() as u32
            }
        };
        if self.index.len() <= pid {
            self.index.resize(pid + 1, Place::default());
        }
        self.index[pid] = Place { record, live };
        self.len += 1;
        live as usize - 1
    }

    /// The live part in `slot`, which the caller got from `place` for a
    /// task that has not ended.
    #[inline]
    pub(crate) fn live_at(&mut self, slot: usize) -> &mut Live {
        &mut self.lives[slot]
    }

    /// Ends `pid`'s life: its record stays, a zombie with `code`; its live
    /// part is handed back (its children with it, for the caller to give
    /// to init), but for its descriptors, which stay in `slot` for the
    /// caller to close (`FdTable::take_last`) before the slot is used
    /// again. `None` if it has none (no such task, or a zombie already).
    pub(crate) fn end(&mut self, pid: Pid, code: ExitCode) -> Option<(usize, Live)> {
        let place = self.index.get_mut(pid.0 as usize)?;
        let (record, slot) = (place.record()?, place.live()?);
        let task = self.records[record].as_mut()?;
        place.live = 0;
        self.free_lives.push(slot as u32);
        let live = &mut self.lives[slot];
        task.code = Some(code);
        task.totals = Totals::pack(live.counters).unwrap_or_else(|| {
            self.spilled.insert(pid, live.counters);
            Totals {
                cpu: live.counters.cpu,
                scheduled: SPILLED,
                syscalls: SPILLED,
            }
        });
        // Field by field: the slot is left `VACANT` without copying it
        // whole twice (skynet: exit_task 5.5% -> 8.9% of the run that way).
        // The descriptors are not copied out either: a table moved whole
        // was read back in wide loads over the narrower stores that moved
        // it, which stalled (half of exit_task in spawn).
        let ended = Live {
            future: live.future.take(),
            state: std::mem::replace(&mut live.state, VACANT_STATE),
            fds: FdTable::EMPTY,
            counters: live.counters,
            children: live.children,
        };
        Some((slot, ended))
    }

    /// Takes `pid` out of the table (a reaped zombie).
    pub(crate) fn remove(&mut self, pid: Pid) -> Option<Task> {
        let place = self.place(pid);
        let record = place.record()?;
        if let Some(live) = place.live() {
            self.lives[live] = Live::VACANT;
            self.free_lives.push(live as u32);
        }
        self.index[pid.0 as usize] = Place::default();
        if self.records[record]
            .as_ref()
            .is_some_and(|t| t.totals.spilled())
        {
            self.spilled.remove(&pid);
        }
        self.free_records.push(record as u32);
        self.len -= 1;
        self.reaped += 1;
        self.records[record].take()
    }

    #[inline]
    pub(crate) fn get(&self, pid: Pid) -> Option<&Task> {
        self.records[self.place(pid).record()?].as_ref()
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, pid: Pid) -> Option<&mut Task> {
        let slot = self.place(pid).record()?;
        self.records[slot].as_mut()
    }

    /// `pid`'s live part, if it has not ended.
    #[inline]
    pub(crate) fn live(&self, pid: Pid) -> Option<&Live> {
        Some(&self.lives[self.place(pid).live()?])
    }

    #[inline]
    pub(crate) fn live_mut(&mut self, pid: Pid) -> Option<&mut Live> {
        let slot = self.place(pid).live()?;
        Some(&mut self.lives[slot])
    }

    /// Where `pid` is in its life (`Zombie` once it ended); `None` if there
    /// is no such task.
    #[inline]
    pub(crate) fn state(&self, pid: Pid) -> Option<RunState> {
        match self.live(pid) {
            Some(live) => Some(live.state),
            None => self.get(pid)?.code.map(RunState::Zombie),
        }
    }

    /// Sets the state of `pid`, unless it ended (or is gone).
    #[inline]
    pub(crate) fn set_state(&mut self, pid: Pid, state: RunState) {
        if let Some(live) = self.live_mut(pid) {
            live.state = state;
        }
    }

    /// The ends of `pid`'s list of children (none once it ended).
    #[inline]
    pub(crate) fn children(&self, pid: Pid) -> Children {
        self.live(pid)
            .map_or_else(Children::default, |live| live.children)
    }

    /// The ends of `pid`'s list of children, if it lives.
    #[inline]
    pub(crate) fn children_mut(&mut self, pid: Pid) -> Option<&mut Children> {
        self.live_mut(pid).map(|live| &mut live.children)
    }

    /// The descriptors of `pid` (none once it ended).
    #[inline]
    pub(crate) fn fds(&self, pid: Pid) -> &FdTable {
        static NONE: FdTable = FdTable::EMPTY;
        self.live(pid).map_or(&NONE, |live| &live.fds)
    }

    /// The descriptors of a live task: the caller of a system call, which
    /// is running.
    #[inline]
    pub(crate) fn fds_mut(&mut self, pid: Pid) -> &mut FdTable {
        &mut self
            .live_mut(pid)
            .expect("a task making a call is live")
            .fds
    }

    /// Every task's record, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Task> {
        self.records.iter().flatten()
    }

    /// Every task's record, state and counters, in no particular order.
    pub(crate) fn states(&self) -> impl Iterator<Item = (&Task, RunState, Counters)> {
        self.iter().filter_map(|t| match self.live(t.pid) {
            Some(live) => Some((t, live.state, live.counters)),
            None => Some((t, RunState::Zombie(t.code?), self.totals(t))),
        })
    }

    /// The counters of `task`, a zombie.
    pub(crate) fn totals(&self, task: &Task) -> Counters {
        let Totals {
            cpu,
            scheduled,
            syscalls,
        } = task.totals;
        match self.spilled.get(&task.pid) {
            Some(whole) if task.totals.spilled() => Counters { cpu, ..*whole },
            _ => Counters {
                cpu,
                scheduled: u64::from(scheduled),
                syscalls: u64::from(syscalls),
            },
        }
    }

    /// Charges `ticks` ns of CPU time to `pid`, whose live part was in `slot`
    /// (it may have ended since, or been reaped).
    #[inline]
    pub(crate) fn charge(&mut self, slot: usize, pid: Pid, ticks: u64) {
        if self.place(pid).live() == Some(slot) {
            self.lives[slot].counters.cpu += ticks;
        } else if let Some(task) = self.get_mut(pid) {
            task.totals.cpu += ticks;
        }
    }
}

/// A map keyed by pid, for what few tasks have (a deadline, a watcher on
/// another thread). Std's SipHash guards against keys chosen to collide,
/// which pids handed out by the kernel are not; it cost ~120 instructions a
/// lookup on every exit. `PidHasher` is one multiplication.
pub(crate) type PidMap<V> = HashMap<Pid, V, BuildHasherDefault<PidHasher>>;

/// Fibonacci hashing of a pid: the multiplication spreads consecutive pids
/// over the high bits, which hashbrown uses to pick and tag buckets.
#[derive(Default)]
pub(crate) struct PidHasher(u64);

impl Hasher for PidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u32(u32::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(pid: Pid) -> Task {
        Task {
            pid,
            ppid: Pid(0),
            pgid: pid,
            code: None,
            argv: Rc::new(vec!["t".to_string()]),
            family: Family::default(),
            totals: Totals::default(),
        }
    }

    fn add(t: &mut TaskTable) -> Pid {
        let pid = t.alloc_pid();
        t.insert(task(pid), None);
        pid
    }

    #[test]
    fn pids_count_up_and_are_not_reused_until_the_wrap() {
        let mut t = TaskTable::new(4);
        let a = add(&mut t);
        let b = add(&mut t);
        assert_eq!((a, b), (Pid(1), Pid(2)));
        t.remove(b);
        let c = add(&mut t);
        assert_eq!(c, Pid(3), "a freed pid is not handed out again at once");
        assert_eq!(add(&mut t), Pid(4));
        // Wrapped: 2 is free again, 1, 3 and 4 are taken.
        assert_eq!(t.alloc_pid(), Pid(2));
        assert_eq!(t.len(), 4 - 1);
        assert!(t.get(Pid(3)).is_some());
        assert!(t.get(Pid(99)).is_none());
    }

    #[test]
    fn an_ended_task_keeps_its_record_and_gives_up_its_live_part() {
        let mut t = TaskTable::new(100);
        let a = add(&mut t);
        let b = add(&mut t);
        let a_live = t.place(a).live();
        let slot = a_live.unwrap();
        t.set_state(a, RunState::Running);
        t.live_mut(a).unwrap().counters.syscalls = 5;
        t.charge(slot, a, 10);
        assert!(matches!(t.state(a), Some(RunState::Running)));

        assert!(t.end(a, 7).is_some());
        assert!(t.end(a, 8).is_none(), "a zombie ends once");
        assert!(matches!(t.state(a), Some(RunState::Zombie(7))));
        assert!(t.live(a).is_none() && t.get(a).is_some_and(Task::is_zombie));
        // A zombie's state stays what it is; it has no descriptors.
        t.set_state(a, RunState::Running);
        assert!(matches!(t.state(a), Some(RunState::Zombie(7))));
        assert!(t.fds(a).get(syscalls::Fd(0)).is_err());
        assert_eq!(t.len(), 2, "a zombie is in the table until reaped");
        // Its counters went with it; the rest of the turn it ended in is
        // charged to it too.
        t.charge(slot, a, 7);
        let counters = t.totals(t.get(a).unwrap());
        assert_eq!((counters.syscalls, counters.cpu), (5, 17));

        // The freed live part is the next task's; b's is untouched.
        let c = add(&mut t);
        assert_eq!(t.place(c).live(), a_live);
        t.charge(slot, a, 1);
        assert_eq!(t.live(c).unwrap().counters.cpu, 0, "a's time is not c's");
        assert_eq!(t.totals(t.get(a).unwrap()).cpu, 18);
        assert!(matches!(t.state(b), Some(RunState::Ready(None))));

        assert!(t.remove(a).is_some());
        assert!(t.state(a).is_none() && t.get(a).is_none());
        assert!(t.remove(a).is_none());
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn a_zombie_keeps_counts_too_big_for_its_record_whole() {
        let mut t = TaskTable::new(100);
        let a = add(&mut t);
        let b = add(&mut t);
        let big = u64::from(u32::MAX) + 7;
        t.live_mut(a).unwrap().counters = Counters {
            scheduled: 3,
            syscalls: big,
            cpu: 1,
        };
        t.live_mut(b).unwrap().counters.scheduled = u64::from(u32::MAX);
        t.end(a, 0);
        t.end(b, 0);
        let slot = t.place(a).record().unwrap();
        t.charge(slot, a, 1);
        let counters = t.totals(t.get(a).unwrap());
        assert_eq!(
            (counters.scheduled, counters.syscalls, counters.cpu),
            (3, big, 2)
        );
        assert_eq!(t.totals(t.get(b).unwrap()).scheduled, u64::from(u32::MAX));
        t.remove(a);
        t.remove(b);
        assert!(t.spilled.is_empty(), "a reaped zombie's counts go with it");
    }

    #[test]
    fn a_zombie_record_is_48_bytes() {
        // What a million zombies cost in memory and page faults.
        assert_eq!(std::mem::size_of::<Option<Task>>(), 48);
    }

    #[test]
    fn a_pid_map_finds_what_it_holds() {
        let mut m: PidMap<u32> = PidMap::default();
        for p in 1..10_000 {
            m.insert(Pid(p), p * 2);
        }
        assert!((1..10_000).all(|p| m.get(&Pid(p)) == Some(&(p * 2))));
        assert_eq!(m.remove(&Pid(77)), Some(154));
        assert_eq!(m.get(&Pid(77)), None);
        assert_eq!(m.len(), 9_998);
    }
}
