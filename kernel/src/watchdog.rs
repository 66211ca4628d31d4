//! The watchdog: it notices a task that holds the kernel thread.
//!
//! coos cannot preempt a task. One that computes for long without a
//! system call (a busy loop, a long computation) keeps every other task,
//! timer, signal and Ctrl-C waiting. The watchdog cannot stop it, but it
//! makes it seen: a host thread of its own notices a turn longer than
//! `Config::watchdog` and says so once on stderr,
//! `coos: pid 31 (busy) has run 1.0 s without a system call`; when the
//! task yields at last, the kernel keeps how long it ran, which `ps`
//! shows (`TaskInfo::hogged`).
//!
//! Who touches what. `Running` is shared, and all atomics:
//! - The kernel thread writes it on its hot path with plain stores only:
//!   when a turn starts (`enter`: the clock reading the scheduler takes
//!   anyway, and where the task table is) and, around each poll of the
//!   task, whose code runs (`task_code`, `kernel_code`). At the end of a
//!   turn it loads one flag (`overran`). No system call, no lock.
//! - The watchdog thread reads it. It sleeps until the running turn would
//!   reach the limit, or for a whole limit while no task runs: an idle
//!   coos wakes it once a limit.
//! - The notice names the task, and only the kernel thread may read the
//!   task table. So the watchdog sends that thread `POKE`; the handler
//!   runs there, inside the task's code, where nothing changes the table,
//!   reads the name and writes the line with write(2).
//! - The signal thread (`signal.rs`) and the stack overflow handler
//!   (`overflow.rs`) read which task runs, and what to put back on the
//!   host on the way out (`HostRestore`).

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{compiler_fence, AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, PoisonError, Weak};
use std::time::Duration;

use nix::errno::Errno;
use nix::libc;
use nix::sys::pthread::{pthread_kill, pthread_self, Pthread};
use nix::sys::signal::{
    sigaction, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal as HostSignal,
};

use syscalls::Pid;

use crate::overflow::{self, Stack};
use crate::signal::HostRestore;
use crate::task::TaskTable;
use crate::time::Ticking;

/// The signal that has the kernel thread write a notice. Go preempts its
/// goroutines with it for the same reasons: it is ignored by default, and
/// nothing else sends it (it means urgent data on a socket that asked for
/// it with `F_SETOWN`, which coos never does).
const POKE: HostSignal = HostSignal::SIGURG;

thread_local! {
    /// The `Running` of the kernel booted last on this thread (null: none
    /// alive), for the signal handlers that run on it.
    static CURRENT: Cell<*const Running> = const { Cell::new(std::ptr::null()) };
}

/// What the kernel thread runs now, for the threads and the signal
/// handlers that watch it.
pub(crate) struct Running {
    /// The task whose code runs now; 0 while the kernel's own code runs.
    pid: AtomicU32,
    /// When the current (or last) turn started, on the CPU clock (in ns;
    /// never the same twice, so it names the turn).
    since: AtomicU64,
    /// The kernel's task table, as of the current turn.
    tasks: AtomicPtr<TaskTable>,
    /// The turn (its `since`) the watchdog found past the limit; 0: none.
    overran: AtomicU64,
    /// The turn the watchdog asked a notice for, and how long it had run
    /// then, in milliseconds.
    notice_since: AtomicU64,
    notice_ms: AtomicU64,
    /// The turn the last notice was written for (on the kernel thread).
    noticed: AtomicU64,
    /// The CPU clock, for the threads that watch.
    clock: Arc<Ticking>,
    /// The kernel thread.
    thread: Pthread,
    /// Is the kernel still alive (and so its thread)? Held while poking
    /// that thread: a thread that has ended must not be signalled.
    alive: Mutex<bool>,
    /// What to put back on the host on a way out that skips the kernel.
    pub(crate) restore: HostRestore,
    /// The kernel thread's stack.
    pub(crate) stack: Stack,
}

impl Running {
    /// The task whose code the kernel thread runs now, if any.
    pub(crate) fn task(&self) -> Option<Pid> {
        match self.pid.load(Ordering::Acquire) {
            0 => None,
            pid => Some(Pid(pid)),
        }
    }

    /// The task that runs now and when its turn started; `None` between
    /// polls (the kernel's own code runs).
    fn turn(&self) -> Option<(Pid, u64)> {
        loop {
            let since = self.since.load(Ordering::Acquire);
            let pid = self.task()?;
            // The same turn before and after: `pid` belongs to it.
            if self.since.load(Ordering::Acquire) == since {
                return Some((pid, since));
            }
        }
    }

    /// The name of `pid`, the task that runs now.
    ///
    /// # Safety
    /// Only from a signal handler on the kernel thread, that found `pid`
    /// running with `task`: the thread is then inside the task's code, in
    /// the turn that stored `tasks`, and nothing changes the table until
    /// the handler returns.
    pub(crate) unsafe fn name(&self, pid: Pid) -> &str {
        let tasks = self.tasks.load(Ordering::Relaxed);
        // SAFETY: the caller's contract: the table is the one this turn
        // stored and it is not being changed.
        let tasks = unsafe { &*tasks };
        tasks.get(pid).map_or("?", |task| task.name())
    }

    /// How long the turn that started at `since` has run.
    fn ran_since(&self, since: u64) -> Duration {
        Duration::from_nanos(self.clock.now().saturating_sub(since))
    }

    /// If a task holds the kernel thread now, has that thread say which
    /// (once a turn), as the watchdog would. For a thread that is about
    /// to end coos because of it.
    pub(crate) fn name_the_holder(&self) {
        if let Some((_, since)) = self.turn() {
            self.overrun(since, self.ran_since(since));
        }
    }

    /// The turn that started at `since` ran past the limit: flags it for
    /// the kernel and has its thread write the notice.
    fn overrun(&self, since: u64, ran: Duration) {
        self.overran.store(since, Ordering::Release);
        let ms = u64::try_from(ran.as_millis()).unwrap_or(u64::MAX);
        self.notice_ms.store(ms, Ordering::Relaxed);
        self.notice_since.store(since, Ordering::Release);
        let alive = self.alive.lock().unwrap_or_else(PoisonError::into_inner);
        if *alive {
            let _ = pthread_kill(self.thread, POKE);
        }
    }

    /// Writes the notice the watchdog asked for, if the turn it is about
    /// still runs. On the kernel thread, in `on_poke`.
    fn write_notice(&self) {
        let Some(pid) = self.task() else { return };
        let since = self.since.load(Ordering::Relaxed);
        if since != self.notice_since.load(Ordering::Acquire) {
            return; // That turn is over.
        }
        if self.noticed.swap(since, Ordering::Relaxed) == since {
            return; // Said already.
        }
        // SAFETY: a handler on the kernel thread, which `task` found in
        // `pid`'s code.
        let name = unsafe { self.name(pid) };
        let mut line = Line::new();
        line.push(b"coos: pid ");
        line.push_number(u64::from(pid.0));
        line.push(b" (");
        line.push(name.as_bytes());
        line.push(b") has run ");
        line.push_tenths(self.notice_ms.load(Ordering::Relaxed));
        line.push(b" s without a system call\n");
        line.write_to_stderr();
    }
}

/// The kernel's side of the watchdog.
pub(crate) struct Watchdog {
    running: Arc<Running>,
    /// The watchdog's thread, woken to end with the kernel.
    thread: Option<std::thread::Thread>,
    /// The longest overrun of each task that had one, for `ps`.
    hogs: HashMap<Pid, Duration>,
}

impl Watchdog {
    /// Starts watching the calling thread, the kernel's: tasks that run
    /// longer than `limit` without a system call are reported (`None`: no
    /// watchdog thread), and a stack overflow names its task
    /// (`overflow.rs`). Call it before the console changes the host's
    /// descriptors: what they were is saved here.
    pub(crate) fn start(limit: Option<Duration>, clock: Arc<Ticking>) -> Watchdog {
        overflow::prepare_thread();
        let running = Arc::new(Running {
            pid: AtomicU32::new(0),
            since: AtomicU64::new(0),
            tasks: AtomicPtr::new(std::ptr::null_mut()),
            overran: AtomicU64::new(0),
            notice_since: AtomicU64::new(0),
            notice_ms: AtomicU64::new(0),
            noticed: AtomicU64::new(0),
            clock,
            thread: pthread_self(),
            alive: Mutex::new(true),
            restore: HostRestore::save(),
            stack: Stack::of_this_thread(),
        });
        CURRENT.with(|current| current.set(Arc::as_ptr(&running)));
        // Also without a watchdog: the signal thread names a task that
        // holds the kernel (`Running::name_the_holder`).
        install_poke_handler();
        let thread = limit.filter(|l| !l.is_zero()).and_then(|limit| {
            let watched = Arc::downgrade(&running);
            // The host's signals are for the kernel's signal thread
            // (`signal.rs`), which may start later: the watchdog's thread
            // starts with every signal blocked, and takes none.
            let mask = SigSet::all().thread_swap_mask(SigmaskHow::SIG_BLOCK);
            let spawned = std::thread::Builder::new()
                .name("coos-watchdog".into())
                .spawn(move || watch(&watched, limit));
            if let Ok(mask) = mask {
                let _ = mask.thread_set_mask();
            }
            match spawned {
                Ok(handle) => Some(handle.thread().clone()),
                Err(e) => {
                    eprintln!("coos: no watchdog (cannot start its thread: {e})");
                    None
                }
            }
        });
        Watchdog {
            running,
            thread,
            hogs: HashMap::new(),
        }
    }

    /// A turn starts at `since` (`time::CpuClock`) with `tasks` as the
    /// kernel's table. Hot path: two stores.
    #[inline]
    pub(crate) fn enter(&self, since: u64, tasks: &TaskTable) {
        let tasks = std::ptr::from_ref(tasks).cast_mut();
        self.running.tasks.store(tasks, Ordering::Relaxed);
        self.running.since.store(since, Ordering::Release);
    }

    /// The task `pid` is about to be polled. Hot path: a store.
    #[inline]
    pub(crate) fn task_code(&self, pid: Pid) {
        // Release: what the kernel wrote before is in place for a handler
        // that sees the pid.
        self.running.pid.store(pid.0, Ordering::Release);
    }

    /// The poll has returned. Hot path: a store.
    #[inline]
    pub(crate) fn kernel_code(&self) {
        self.running.pid.store(0, Ordering::Release);
        // Nothing the kernel writes next may be moved above the store: a
        // handler that still sees the pid reads the task table.
        compiler_fence(Ordering::SeqCst);
    }

    /// Did the watchdog flag a turn? Hot path: a load, at each turn's end.
    #[inline]
    pub(crate) fn overran(&self) -> bool {
        self.running.overran.load(Ordering::Relaxed) != 0
    }

    /// The record the signal thread watches.
    pub(crate) fn running(&self) -> Arc<Running> {
        self.running.clone()
    }

    /// The longest `pid` ran past the limit, if it ever did.
    pub(crate) fn hogged(&self, pid: Pid) -> Option<Duration> {
        self.hogs.get(&pid).copied()
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        *self
            .running
            .alive
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = false;
        CURRENT.with(|current| {
            if current.get() == Arc::as_ptr(&self.running) {
                current.set(std::ptr::null());
            }
        });
        if let Some(thread) = &self.thread {
            thread.unpark();
        }
    }
}

impl crate::Kernel {
    /// The turn of `pid` that just ended was flagged by the watchdog: keeps
    /// how long it ran, for `ps`.
    #[cold]
    #[inline(never)]
    pub(crate) fn note_hog(&mut self, pid: Pid) {
        let running = &self.watchdog.running;
        let flagged = running.overran.swap(0, Ordering::Relaxed);
        let since = running.since.load(Ordering::Relaxed);
        if flagged != since {
            return; // A flag for an earlier turn, come late.
        }
        let ran = self.watchdog.running.ran_since(since);
        let tasks = &self.tasks;
        // Forget the tasks that are gone, so a reused pid starts clean.
        self.watchdog.hogs.retain(|&p, _| tasks.get(p).is_some());
        let longest = self.watchdog.hogs.entry(pid).or_default();
        *longest = (*longest).max(ran);
    }
}

/// The watchdog thread: wakes when the running turn would reach `limit`,
/// and flags each turn past it once. Ends when the kernel is dropped.
fn watch(watched: &Weak<Running>, limit: Duration) {
    let mut flagged = 0;
    let mut wait = limit;
    loop {
        std::thread::park_timeout(wait);
        let Some(running) = watched.upgrade() else {
            return;
        };
        wait = limit;
        let Some((_, since)) = running.turn() else {
            continue;
        };
        if since == flagged {
            continue;
        }
        let ran = running.ran_since(since);
        if ran < limit {
            wait = limit - ran;
            continue;
        }
        flagged = since;
        running.overrun(since, ran);
    }
}

fn install_poke_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let action = SigAction::new(
            SigHandler::Handler(on_poke),
            SaFlags::SA_RESTART | SaFlags::SA_ONSTACK,
            SigSet::empty(),
        );
        // SAFETY: `on_poke` is async-signal-safe: it reads atomics, the
        // task table the interrupted thread does not change (see
        // `Running::name`) and writes with write(2); it keeps errno.
        if let Err(e) = unsafe { sigaction(POKE, &action) } {
            eprintln!("coos: the watchdog cannot name tasks ({e})");
        }
    });
}

extern "C" fn on_poke(_: libc::c_int) {
    let errno = Errno::last_raw();
    with_current(Running::write_notice);
    Errno::set_raw(errno);
}

/// Calls `f` with the `Running` of the kernel on this thread, if one is
/// alive. For signal handlers on the kernel thread.
pub(crate) fn with_current(f: impl FnOnce(&Running)) {
    let running = CURRENT.with(Cell::get);
    // SAFETY: CURRENT points at a `Running` its `Watchdog` keeps alive,
    // and is cleared on this thread before that `Watchdog` lets it go; a
    // handler runs on this thread, between two of its instructions, so it
    // cannot see it freed.
    if let Some(running) = unsafe { running.as_ref() } {
        f(running);
    }
}

/// A line built without allocating, for signal handlers.
pub(crate) struct Line {
    buf: [u8; 256],
    len: usize,
}

impl Line {
    pub(crate) fn new() -> Line {
        Line {
            buf: [0; 256],
            len: 0,
        }
    }

    /// Appends `bytes`, cut short if the line is full.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }

    pub(crate) fn push_number(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[at..]);
    }

    /// Milliseconds as seconds with one decimal, rounded down: `1.0`.
    pub(crate) fn push_tenths(&mut self, ms: u64) {
        self.push_number(ms / 1000);
        self.push(b".");
        self.push_number(ms / 100 % 10);
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Writes the line to fd 2 with write(2), best effort: a full pipe or
    /// a non-blocking terminal that has no room loses it.
    pub(crate) fn write_to_stderr(&self) {
        let bytes = self.as_bytes();
        // SAFETY: write(2) reads `bytes` and nothing else; fd 2 is at
        // worst closed (EBADF).
        unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_writes_numbers_and_tenths_of_a_second() {
        let mut line = Line::new();
        line.push(b"pid ");
        line.push_number(31);
        line.push(b" ran ");
        line.push_tenths(1_049);
        line.push(b" s, ");
        line.push_number(0);
        assert_eq!(line.as_bytes(), b"pid 31 ran 1.0 s, 0");
    }

    #[test]
    fn a_line_too_long_is_cut_short() {
        let mut line = Line::new();
        for _ in 0..100 {
            line.push(b"abcd");
        }
        assert_eq!(line.as_bytes().len(), 256);
    }
}
