//! The kernel's clock and its timers. The clock is either the host's
//! monotonic clock or a virtual one that only moves when the kernel (or a
//! test) moves it: when every task sleeps, virtual time jumps to the next
//! deadline, so tests of sleeps take no real time.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use syscalls::{Pid, Reply, SysResult};

/// Which clock a kernel keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClockKind {
    /// The host's monotonic clock.
    #[default]
    Host,
    /// Virtual time, starting at zero, moved by `Kernel::advance` and by
    /// jumps to the next deadline when nothing else can run.
    Virtual,
}

/// Time since boot.
pub(crate) enum Clock {
    Host(Instant),
    Virtual(Duration),
}

impl Clock {
    pub(crate) fn new(kind: ClockKind) -> Clock {
        match kind {
            ClockKind::Host => Clock::Host(Instant::now()),
            ClockKind::Virtual => Clock::Virtual(Duration::ZERO),
        }
    }

    pub(crate) fn now(&self) -> Duration {
        match self {
            Clock::Host(boot) => boot.elapsed(),
            Clock::Virtual(now) => *now,
        }
    }

    pub(crate) fn is_virtual(&self) -> bool {
        matches!(self, Clock::Virtual(_))
    }

    /// Moves virtual time forward to `to` (never back). No effect on the
    /// host clock.
    pub(crate) fn advance_to(&mut self, to: Duration) {
        if let Clock::Virtual(now) = self {
            *now = (*now).max(to);
        }
    }
}

/// How often the CPU clock moves on while the kernel is busy. A task's
/// CPU time is charged in these steps: the turn during which the clock
/// moves is charged the whole step, as Linux charges its scheduler tick.
pub(crate) const TICK: Duration = Duration::from_millis(1);

/// The CPU clock tasks are charged by, in nanoseconds since boot: a time
/// that a host thread of its own (the ticker) moves on every `TICK` while
/// the kernel is busy, and the kernel itself when it wakes from the
/// poller. Reading it at a switch is a load from memory; the processor's
/// time-stamp counter it replaces cost 10 ns a read on some processors (a
/// third of a yield), the host's clock_gettime twice that. A CPU-bound
/// task is charged its time within a tick; tasks that share the CPU in
/// short turns are charged in proportion to how often a tick falls in
/// their turns, which is in proportion to their time.
///
/// The ticker sleeps while the kernel sleeps in the poller: an idle coos
/// uses no CPU for it.
pub(crate) struct CpuClock {
    shared: Arc<Ticking>,
    /// The last reading handed out: readings never repeat (a turn is
    /// known by when it started).
    last: u64,
    ticker: Option<std::thread::Thread>,
}

/// What the kernel and its ticker share.
pub(crate) struct Ticking {
    /// The host's time at boot; `None` for a clock a test moves by hand
    /// (`CpuClockHandle`): no ticker, and the host's time is never read.
    boot: Option<Instant>,
    now: AtomicU64,
    /// The kernel sleeps in the poller: the ticker parks.
    asleep: AtomicBool,
    /// The ticker parked (the kernel unparks it when it wakes).
    parked: AtomicBool,
}

impl Ticking {
    /// The clock now, in nanoseconds, as the ticker last moved it.
    pub(crate) fn now(&self) -> u64 {
        self.now.load(Ordering::Relaxed)
    }

    /// Moves the clock to the host's time (a clock moved by hand stays).
    fn tick(&self) {
        let Some(boot) = self.boot else {
            return;
        };
        let ns = u64::try_from(boot.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.now.fetch_max(ns, Ordering::Relaxed);
    }
}

/// A CPU clock a test moves by hand (`Config::cpu_clock_by_hand`), from a
/// task's code or from outside: a task "computes" for as long as the test
/// says, and the kernel's bookkeeping of CPU time can be checked exactly,
/// with no host thread to wait for.
#[derive(Clone)]
pub struct CpuClockHandle(Arc<Ticking>);

impl CpuClockHandle {
    /// Moves the clock on by `by`, as if the task running spent it.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.0.now.fetch_add(by, Ordering::Relaxed);
    }
}

impl CpuClock {
    /// A clock, and its ticker thread (without one, if the host refuses a
    /// thread: the clock then moves only when the kernel wakes, and CPU
    /// time is charged less exactly).
    pub(crate) fn new() -> CpuClock {
        let shared = Arc::new(Ticking {
            boot: Some(Instant::now()),
            now: AtomicU64::new(0),
            asleep: AtomicBool::new(false),
            parked: AtomicBool::new(false),
        });
        let watched = Arc::downgrade(&shared);
        let ticker = std::thread::Builder::new()
            .name("coos-ticker".into())
            .spawn(move || tick(&watched))
            .ok()
            .map(|handle| handle.thread().clone());
        CpuClock {
            shared,
            last: 0,
            ticker,
        }
    }

    /// A clock that moves only by hand (`CpuClockHandle`), and its handle.
    pub(crate) fn by_hand() -> (CpuClock, CpuClockHandle) {
        let shared = Arc::new(Ticking {
            boot: None,
            now: AtomicU64::new(0),
            asleep: AtomicBool::new(false),
            parked: AtomicBool::new(false),
        });
        let handle = CpuClockHandle(shared.clone());
        let clock = CpuClock {
            shared,
            last: 0,
            ticker: None,
        };
        (clock, handle)
    }

    /// A reading: the time in nanoseconds, later than every reading
    /// before (by one nanosecond at least).
    #[inline]
    pub(crate) fn read(&mut self) -> u64 {
        let now = self.shared.now().max(self.last + 1);
        self.last = now;
        now
    }

    /// What the threads that watch the kernel read the clock with.
    pub(crate) fn shared(&self) -> Arc<Ticking> {
        self.shared.clone()
    }

    /// The kernel is about to sleep in the poller: so may the ticker.
    pub(crate) fn sleep(&self) {
        self.shared.asleep.store(true, Ordering::SeqCst);
    }

    /// The kernel woke from the poller: the clock moves to now, and the
    /// ticker wakes if it parked.
    pub(crate) fn wake(&self) {
        self.shared.asleep.store(false, Ordering::SeqCst);
        self.shared.tick();
        if self.shared.parked.load(Ordering::SeqCst) {
            if let Some(ticker) = &self.ticker {
                ticker.unpark();
            }
        }
    }
}

impl Drop for CpuClock {
    fn drop(&mut self) {
        // The ticker sees the clock gone at its next tick; one parked
        // must be woken to see it.
        if let Some(ticker) = &self.ticker {
            ticker.unpark();
        }
    }
}

/// The ticker thread: moves the clock on every `TICK` while the kernel is
/// busy, parks while it sleeps, ends with the clock.
fn tick(watched: &Weak<Ticking>) {
    loop {
        std::thread::sleep(TICK);
        let Some(clock) = watched.upgrade() else {
            return;
        };
        if clock.asleep.load(Ordering::SeqCst) {
            clock.parked.store(true, Ordering::SeqCst);
            // Asleep still, after saying so: the kernel, waking, will see
            // `parked` and unpark this thread.
            if clock.asleep.load(Ordering::SeqCst) {
                drop(clock);
                std::thread::park();
                match watched.upgrade() {
                    Some(clock) => clock.parked.store(false, Ordering::SeqCst),
                    None => return,
                }
                continue;
            }
            clock.parked.store(false, Ordering::SeqCst);
        }
        clock.tick();
    }
}

/// A task's deadline (`Syscall::SetDeadline`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    /// The deadline; `None` once cleared, while its timer is still set.
    at: Option<Duration>,
    /// When the one timer kept for the task's deadlines goes off, if one
    /// is set. It is set only once the task parks with a deadline (a
    /// server sets one around every request, and most of its calls finish
    /// without waiting), and it is kept while the deadline moves later
    /// (each request's): when it goes off before the deadline, it is set
    /// again for it. A timer per deadline set had a server keep one for
    /// every request of the last 30 seconds (230,000 a second).
    timer: Option<Duration>,
}

/// Does the timer entry (at, pid) still matter: `pid` sleeps until `at`,
/// or `at` is the timer kept for its deadline? One kept for a deadline
/// since cleared does not: the record goes with it (the next deadline sets
/// a timer of its own), so that a virtual clock does not move on to it.
fn timer_live(
    tasks: &crate::task::TaskTable,
    deadlines: &mut crate::task::PidMap<Deadline>,
    at: Duration,
    pid: Pid,
) -> bool {
    use crate::task::{RunState, WaitOn};
    if let Some(RunState::Blocked(WaitOn::Sleep { until })) = tasks.state(pid) {
        if until == at {
            return true;
        }
    }
    match deadlines.get(&pid) {
        Some(d) if d.timer == Some(at) && d.at.is_some() => true,
        Some(d) if d.timer == Some(at) => {
            deadlines.remove(&pid);
            false
        }
        _ => false,
    }
}

impl crate::Kernel {
    /// The earliest deadline of a task still asleep (stale entries, of
    /// tasks killed or gone, are dropped on the way).
    pub(crate) fn next_deadline(&mut self) -> Option<Duration> {
        let (tasks, deadlines) = (&self.tasks, &mut self.deadlines);
        self.timers
            .next_deadline(|at, pid| timer_live(tasks, deadlines, at, pid))
    }

    /// When the timers must be looked at next: no later than
    /// `next_deadline`, and cheaper to know (`Timers::next_look`).
    pub(crate) fn next_look(&mut self) -> Option<Duration> {
        let (tasks, deadlines) = (&self.tasks, &mut self.deadlines);
        self.timers
            .next_look(|at, pid| timer_live(tasks, deadlines, at, pid))
    }

    /// Does the timer entry (at, pid) still matter? (One that does not is
    /// let go.)
    pub(crate) fn timer_live(&mut self, at: Duration, pid: Pid) -> bool {
        timer_live(&self.tasks, &mut self.deadlines, at, pid)
    }

    /// Sets `pid`'s deadline; answers with the one it replaces.
    pub(crate) fn sys_set_deadline(&mut self, pid: Pid, at: Option<Duration>) -> syscalls::Reply {
        let before = match at {
            Some(at) => self.put_deadline(pid, at),
            None => self.clear_deadline(pid),
        };
        deadline_reply(before)
    }

    /// Brings `pid`'s deadline to `limit` from now, unless it comes sooner;
    /// answers with the one it replaces.
    pub(crate) fn sys_deadline_in(&mut self, pid: Pid, limit: Duration) -> syscalls::Reply {
        let at = self.clock.now().saturating_add(limit);
        let before = self.deadlines.get(&pid).and_then(|d| d.at);
        if before.is_none_or(|b| at < b) {
            self.put_deadline(pid, at);
        }
        deadline_reply(before)
    }

    /// Makes `at` `pid`'s deadline; returns the one before. The timer kept
    /// for its deadlines stays (see `Deadline::timer`).
    fn put_deadline(&mut self, pid: Pid, at: Duration) -> Option<Duration> {
        let deadline = self.deadlines.entry(pid).or_insert(Deadline {
            at: None,
            timer: None,
        });
        deadline.at.replace(at)
    }

    /// Clears `pid`'s deadline; returns it. Its record stays while its
    /// timer is set, for the next deadline to use (unless the timers are
    /// looked at first: `timer_live`).
    fn clear_deadline(&mut self, pid: Pid) -> Option<Duration> {
        let deadline = self.deadlines.get_mut(&pid)?;
        let before = deadline.at.take();
        if deadline.timer.is_none() {
            self.deadlines.remove(&pid);
        }
        before
    }

    /// `pid` parks with its deadline (if it has one, not passed): makes
    /// sure a timer goes off by then.
    pub(crate) fn arm_deadline(&mut self, pid: Pid) {
        let Some(deadline) = self.deadlines.get_mut(&pid) else {
            return;
        };
        let Some(at) = deadline.at else {
            return;
        };
        if deadline.timer.is_none_or(|t| t > at) {
            deadline.timer = Some(at);
            self.timers.add(at, pid);
        }
    }

    /// The timer kept for `pid`'s deadlines went off at `at` (it is live):
    /// the call it waits in ends if the deadline has come; if the deadline
    /// moved later, the timer is set again for it (`None` either way).
    pub(crate) fn deadline_timer(&mut self, pid: Pid, at: Duration) -> Option<SysResult<Reply>> {
        use crate::task::RunState;
        let now = self.clock.now();
        let deadline = self.deadlines.get_mut(&pid)?;
        debug_assert_eq!(deadline.timer, Some(at));
        deadline.timer = None;
        // Set: a live timer's deadline was not cleared (`timer_live`).
        let due = deadline.at?;
        let Some(RunState::Blocked(on)) = self.tasks.state(pid) else {
            return None; // Not parked: set again when it parks.
        };
        if due <= now {
            return Some(crate::sched::timed_out(&on));
        }
        deadline.timer = Some(due);
        self.timers.add(due, pid);
        None
    }

    /// Is `pid`'s deadline set and already past?
    pub(crate) fn deadline_passed(&self, pid: Pid) -> bool {
        !self.deadlines.is_empty()
            && self
                .deadlines
                .get(&pid)
                .and_then(|d| d.at)
                .is_some_and(|at| at <= self.clock.now())
    }

    /// Parks `pid` until `duration` from now; a zero sleep is a yield.
    pub(crate) fn sys_sleep(&mut self, pid: Pid, duration: Duration) -> crate::dispatch::Outcome {
        if duration.is_zero() {
            return crate::dispatch::Outcome::Yield;
        }
        // Too long to add to now: it sleeps for ever (until killed).
        let until = self.clock.now().saturating_add(duration);
        self.timers.add(until, pid);
        crate::dispatch::Outcome::Block(crate::task::WaitOn::Sleep { until })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_clock_moves_only_forward_and_only_when_told() {
        let mut c = Clock::new(ClockKind::Virtual);
        assert_eq!(c.now(), Duration::ZERO);
        c.advance_to(Duration::from_secs(2));
        c.advance_to(Duration::from_secs(1));
        assert_eq!(c.now(), Duration::from_secs(2));
    }
}

#[cfg(test)]
mod cpu_clock_tests {
    use super::*;

    /// Waits up to 10 s for `done`, looking every millisecond.
    fn within_10s(done: impl Fn() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if done() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        false
    }

    #[test]
    fn readings_never_repeat_or_go_back() {
        let mut clock = CpuClock::new();
        let mut last = clock.read();
        for _ in 0..10_000 {
            let now = clock.read();
            assert!(now > last, "{now} after {last}");
            last = now;
        }
    }

    #[test]
    fn the_ticker_moves_the_clock_while_the_kernel_is_busy() {
        let clock = CpuClock::new();
        let shared = clock.shared();
        let start = shared.now();
        assert!(within_10s(
            || shared.now() >= start + 5 * TICK.as_nanos() as u64
        ));
    }

    #[test]
    fn the_ticker_parks_while_the_kernel_sleeps_and_wakes_with_it() {
        let clock = CpuClock::new();
        let shared = clock.shared();
        clock.sleep();
        assert!(within_10s(|| shared.parked.load(Ordering::SeqCst)));
        let asleep = shared.now();
        std::thread::sleep(5 * TICK);
        assert_eq!(shared.now(), asleep, "a parked ticker moves nothing");
        clock.wake();
        let woke = shared.now();
        assert!(woke > asleep, "waking moves the clock to now");
        assert!(within_10s(|| shared.now() > woke), "and the ticker goes on");
    }
}

/// A deadline as `SetDeadline` answers it (`u64::MAX`: none).
fn deadline_reply(deadline: Option<Duration>) -> syscalls::Reply {
    syscalls::Reply::Time(deadline.map_or(u64::MAX, |d| {
        u64::try_from(d.as_nanos()).unwrap_or(u64::MAX - 1)
    }))
}
