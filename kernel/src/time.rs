//! The kernel's clock and its timers. The clock is either the host's
//! monotonic clock or a virtual one that only moves when the kernel (or a
//! test) moves it: when every task sleeps, virtual time jumps to the next
//! deadline, so tests of sleeps take no real time.

use std::time::{Duration, Instant};

use syscalls::Pid;

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

/// The CPU clock tasks are charged by: the processor's time-stamp counter
/// where there is one (two reads per scheduling cost a few nanoseconds,
/// where the host's clock_gettime costs tens), converted to time with the
/// rate measured between boot and the moment of the conversion.
pub(crate) struct CpuClock {
    boot_ticks: u64,
    boot: Instant,
}

impl CpuClock {
    pub(crate) fn new() -> CpuClock {
        CpuClock {
            boot_ticks: ticks(),
            boot: Instant::now(),
        }
    }

    /// Ticks as a duration, at the rate seen since boot.
    pub(crate) fn to_duration(&self, n: u64) -> Duration {
        let elapsed = self.boot.elapsed().as_nanos() as f64;
        let ticked = ticks().wrapping_sub(self.boot_ticks) as f64;
        if ticked <= 0.0 {
            return Duration::ZERO;
        }
        Duration::from_nanos((n as f64 * elapsed / ticked) as u64)
    }
}

/// A reading of the CPU clock, in ticks.
#[inline]
pub(crate) fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: rdtsc reads a register; it has no preconditions on
        // x86_64, where every processor has it.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        use std::sync::OnceLock;
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}

/// Does the timer entry (at, pid) still matter: `pid` sleeps until `at`,
/// or is parked with `at` as its deadline?
fn timer_live(
    tasks: &crate::task::TaskTable,
    deadlines: &crate::task::PidMap<Duration>,
    at: Duration,
    pid: Pid,
) -> bool {
    use crate::task::{RunState, WaitOn};
    match tasks.state(pid) {
        Some(RunState::Blocked(WaitOn::Sleep { until })) if until == at => true,
        Some(RunState::Blocked(_)) => deadlines.get(&pid) == Some(&at),
        _ => false,
    }
}

impl crate::Kernel {
    /// The earliest deadline of a task still asleep (stale entries, of
    /// tasks killed or gone, are dropped on the way).
    pub(crate) fn next_deadline(&mut self) -> Option<Duration> {
        let (tasks, deadlines) = (&self.tasks, &self.deadlines);
        self.timers
            .next_deadline(|at, pid| timer_live(tasks, deadlines, at, pid))
    }

    /// When the timers must be looked at next: no later than
    /// `next_deadline`, and cheaper to know (`Timers::next_look`).
    pub(crate) fn next_look(&mut self) -> Option<Duration> {
        let (tasks, deadlines) = (&self.tasks, &self.deadlines);
        self.timers
            .next_look(|at, pid| timer_live(tasks, deadlines, at, pid))
    }

    /// Does the timer entry (at, pid) still matter?
    pub(crate) fn timer_live(&self, at: Duration, pid: Pid) -> bool {
        timer_live(&self.tasks, &self.deadlines, at, pid)
    }

    /// Sets `pid`'s deadline; answers with the one it replaces.
    pub(crate) fn sys_set_deadline(&mut self, pid: Pid, at: Option<Duration>) -> syscalls::Reply {
        let before = match at {
            Some(at) => {
                self.timers.add(at, pid);
                self.deadlines.insert(pid, at)
            }
            None => self.deadlines.remove(&pid),
        };
        syscalls::Reply::Time(before.map_or(u64::MAX, |d| {
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX - 1)
        }))
    }

    /// Is `pid`'s deadline set and already past?
    pub(crate) fn deadline_passed(&self, pid: Pid) -> bool {
        !self.deadlines.is_empty()
            && self
                .deadlines
                .get(&pid)
                .is_some_and(|&at| at <= self.clock.now())
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
