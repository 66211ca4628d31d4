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
    /// Bytes to read from `object` (named `fd` by the task) into `buf`.
    Read {
        fd: Fd,
        object: Object,
        buf: *mut u8,
        len: usize,
    },
    /// Readiness of any of the caller's `len` poll entries at `fds`.
    Poll {
        fds: *mut syscalls::PollFd,
        len: usize,
    },
    /// A job on the blocking pool, by number.
    Blocking { job: u64 },
    /// A connection to take from the listening socket `object`.
    Accept { fd: Fd, object: Object },
    /// A connection being made on the socket with this id (not yet in the
    /// task's fd table: the wait holds its one reference).
    Connect { socket: u32 },
    /// Bytes to write: `buf[done..len]` is still to go.
    Write {
        fd: Fd,
        object: Object,
        buf: *const u8,
        len: usize,
        done: usize,
    },
}

impl WaitOn {
    /// Is a task parked on this woken by being put on the ready queue, to
    /// try its call again when it runs? (Readers, accepts, connects, polls
    /// and socket writers are; sleeps, waits, blocking jobs and pipe
    /// writers have their calls ended by the event itself.)
    pub(crate) fn retried_when_woken(&self) -> bool {
        match self {
            WaitOn::Read { .. }
            | WaitOn::Accept { .. }
            | WaitOn::Connect { .. }
            | WaitOn::Poll { .. } => true,
            WaitOn::Write { object, .. } => matches!(object, Object::Socket(_)),
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
            WaitOn::Poll { .. } => TaskState::Blocked("poll"),
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

/// One task. `pid`, `ppid` and `pgid` never change but for `ppid` when the
/// parent dies (the task goes to init).
pub(crate) struct Task {
    pub pid: Pid,
    pub ppid: Pid,
    pub pgid: Pid,
    /// argv, shared with children started by `spawn_fn` (they inherit it).
    pub argv: Rc<[String]>,
    /// The coroutine; `None` while it is being polled and after it ended.
    pub future: Option<TaskFuture>,
    pub state: RunState,
    pub fds: FdTable,
    pub family: Family,
    pub scheduled: u64,
    pub syscalls: u64,
    /// CPU clock ticks spent running it (`time::ticks`).
    pub cpu: u64,
}

/// A task's place among its relatives. Its children form a doubly linked
/// list through their `next`/`prev` siblings: O(1) to add, remove, and hand
/// to init. The list starts with the children that ended and wait to be
/// reaped, oldest first, up to `last_zombie`; the live ones follow, oldest
/// first, to `last_child`. So `wait_any` takes the head, and a child that
/// ends before its younger siblings (the usual order) is already in place.
/// `NO_PID` (0) ends a link.
#[derive(Default, Clone, Copy)]
pub(crate) struct Family {
    pub first_child: Pid,
    pub last_child: Pid,
    pub next: Pid,
    pub prev: Pid,
    pub last_zombie: Pid,
}

/// The end of a family link.
pub(crate) const NO_PID: Pid = Pid(0);

impl Task {
    pub(crate) fn name(&self) -> &str {
        self.argv.first().map(String::as_str).unwrap_or("?")
    }

    pub(crate) fn is_zombie(&self) -> bool {
        matches!(self.state, RunState::Zombie(_))
    }

    pub(crate) fn describe(&self) -> TaskState {
        match &self.state {
            RunState::Ready(_) => TaskState::Ready,
            RunState::Running => TaskState::Running,
            RunState::Blocked(on) => on.describe(),
            RunState::Zombie(code) => TaskState::Zombie(*code),
        }
    }
}

/// Every task, by pid. Pids count up from 1 and wrap at `pid_max` to the
/// lowest free one after that, so a pid is not reused soon.
pub(crate) struct TaskTable {
    /// pid → slot + 1 (0: no such task).
    index: Vec<u32>,
    slots: Vec<Option<Task>>,
    free_slots: Vec<u32>,
    next_pid: u32,
    pid_max: u32,
    len: usize,
}

impl TaskTable {
    pub(crate) fn new(pid_max: u32) -> TaskTable {
        TaskTable {
            index: Vec::new(),
            slots: Vec::new(),
            free_slots: Vec::new(),
            next_pid: 1,
            pid_max: pid_max.max(2),
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The next free pid. Caller must insert a task with it before asking
    /// again, and must have checked the table is not full.
    pub(crate) fn alloc_pid(&mut self) -> Pid {
        loop {
            let pid = self.next_pid;
            self.next_pid = if pid >= self.pid_max { 2 } else { pid + 1 };
            if self.slot_of(Pid(pid)).is_none() {
                return Pid(pid);
            }
        }
    }

    fn slot_of(&self, pid: Pid) -> Option<usize> {
        match self.index.get(pid.0 as usize) {
            Some(&s) if s != 0 => Some(s as usize - 1),
            _ => None,
        }
    }

    pub(crate) fn insert(&mut self, task: Task) {
        let pid = task.pid.0 as usize;
        let slot = match self.free_slots.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(task);
                s as usize
            }
            None => {
                self.slots.push(Some(task));
                self.slots.len() - 1
            }
        };
        if self.index.len() <= pid {
            self.index.resize(pid + 1, 0);
        }
        self.index[pid] = slot as u32 + 1;
        self.len += 1;
    }

    /// Where `pid` lives in the table: stable for the task's life.
    #[inline]
    pub(crate) fn slot_of_pid(&self, pid: Pid) -> Option<usize> {
        self.slot_of(pid)
    }

    /// The task in `slot`, which the caller got from `slot_of_pid` for a
    /// task still in the table.
    #[inline]
    pub(crate) fn at(&mut self, slot: usize) -> &mut Task {
        self.slots[slot]
            .as_mut()
            .expect("a slot taken from a live pid holds its task")
    }

    /// The task in `slot` if it is still `pid`'s.
    #[inline]
    pub(crate) fn at_if(&mut self, slot: usize, pid: Pid) -> Option<&mut Task> {
        self.slots[slot].as_mut().filter(|t| t.pid == pid)
    }

    pub(crate) fn remove(&mut self, pid: Pid) -> Option<Task> {
        let slot = self.slot_of(pid)?;
        self.index[pid.0 as usize] = 0;
        self.free_slots.push(slot as u32);
        self.len -= 1;
        self.slots[slot].take()
    }

    #[inline]
    pub(crate) fn get(&self, pid: Pid) -> Option<&Task> {
        self.slots[self.slot_of(pid)?].as_ref()
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, pid: Pid) -> Option<&mut Task> {
        let slot = self.slot_of(pid)?;
        self.slots[slot].as_mut()
    }

    /// Every task, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Task> {
        self.slots.iter().flatten()
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
            argv: Rc::from(vec!["t".to_string()]),
            future: None,
            state: RunState::Ready(None),
            fds: FdTable::default(),
            family: Family::default(),
            scheduled: 0,
            syscalls: 0,
            cpu: 0,
        }
    }

    #[test]
    fn pids_count_up_and_are_not_reused_until_the_wrap() {
        let mut t = TaskTable::new(4);
        let a = t.alloc_pid();
        t.insert(task(a));
        let b = t.alloc_pid();
        t.insert(task(b));
        assert_eq!((a, b), (Pid(1), Pid(2)));
        t.remove(b);
        let c = t.alloc_pid();
        assert_eq!(c, Pid(3), "a freed pid is not handed out again at once");
        t.insert(task(c));
        assert_eq!(t.alloc_pid(), Pid(4));
        t.insert(task(Pid(4)));
        // Wrapped: 2 is free again, 1, 3 and 4 are taken.
        assert_eq!(t.alloc_pid(), Pid(2));
        assert_eq!(t.len(), 4 - 1);
        assert!(t.get(Pid(3)).is_some());
        assert!(t.get(Pid(99)).is_none());
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
