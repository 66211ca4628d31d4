//! The poller: one epoll instance where the kernel sleeps when nothing is
//! ready, until the next timer deadline, a host descriptor's readiness, or a
//! message in the inbox (signalled through the wake-up eventfd).
//!
//! Tokens: `WAKE_TOKEN` is the inbox's eventfd, `TIMER_TOKEN` the timerfd
//! that ends a wait at the next deadline to the nanosecond (epoll's own
//! timeout counts whole milliseconds, which would make every sleep up to a
//! millisecond late); every other token names a host descriptor the kernel
//! registered (see `fd/host.rs`).

use std::os::fd::AsFd;
use std::time::Duration;

use nix::errno::Errno as HostErrno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};

/// The token of the inbox's wake-up eventfd.
pub(crate) const WAKE_TOKEN: u64 = 0;

/// The token of the deadline timer.
const TIMER_TOKEN: u64 = u64::MAX;

/// How many events one wait can return. More stay for the next wait.
const EVENTS_PER_WAIT: usize = 256;

pub(crate) struct Poller {
    epoll: Epoll,
    timer: TimerFd,
    events: Vec<EpollEvent>,
    /// Waits that returned (with events or not), for `Kernel::stats`.
    waits: u64,
}

/// What the kernel waits for on a descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interest {
    /// Readable, level-triggered (the inbox's eventfd: drained at once).
    Read,
    /// Readable only, edge-triggered (the host's stdin): a task reads until
    /// `EAGAIN` before it parks, so an edge is never missed.
    ReadEdge,
    /// Writable only, edge-triggered (the host's stdout and stderr).
    WriteEdge,
    /// Both ways, edge-triggered (a socket, read and written by tasks that
    /// park on either): an edge wakes the kernel once, never again until
    /// the socket changes, so a quiet socket costs no wake-ups.
    BothEdge,
}

impl Interest {
    fn flags(self) -> EpollFlags {
        let edge = EpollFlags::EPOLLET;
        match self {
            Interest::Read => EpollFlags::EPOLLIN,
            Interest::ReadEdge => EpollFlags::EPOLLIN | EpollFlags::EPOLLRDHUP | edge,
            Interest::WriteEdge => EpollFlags::EPOLLOUT | edge,
            Interest::BothEdge => {
                EpollFlags::EPOLLIN | EpollFlags::EPOLLOUT | EpollFlags::EPOLLRDHUP | edge
            }
        }
    }
}

impl Poller {
    pub(crate) fn new() -> nix::Result<Poller> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        let timer = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        epoll.add(&timer, EpollEvent::new(EpollFlags::EPOLLIN, TIMER_TOKEN))?;
        Ok(Poller {
            epoll,
            timer,
            events: vec![EpollEvent::empty(); EVENTS_PER_WAIT],
            waits: 0,
        })
    }

    /// Watches `fd` for the directions `interest` names, and nothing
    /// else: a level-triggered fd watched for a direction in which it is
    /// always ready (an eventfd is always writable) would end every wait
    /// at once, and the kernel would spin instead of sleeping.
    /// `Err(EPERM)` means the fd cannot be polled (a regular file): it is
    /// always ready.
    pub(crate) fn register(
        &self,
        fd: impl AsFd,
        token: u64,
        interest: Interest,
    ) -> nix::Result<()> {
        self.epoll.add(fd, EpollEvent::new(interest.flags(), token))
    }

    /// How many waits returned since boot: a sleeping kernel adds one per
    /// event or deadline, a spinning one thousands a second.
    pub(crate) fn waits(&self) -> u64 {
        self.waits
    }

    /// Waits up to `timeout` (`None`: for ever) and returns the tokens that
    /// became ready, each with the ways it did (a hang-up or an error
    /// counts as both: a call either way would not block). An interrupted
    /// wait returns no tokens.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> Vec<(u64, Readiness)> {
        let timeout = match timeout {
            None => EpollTimeout::NONE,
            Some(d) if d.is_zero() => EpollTimeout::ZERO,
            Some(d) => {
                let armed = self.timer.set(
                    Expiration::OneShot(TimeSpec::from_duration(d)),
                    TimerSetTimeFlags::empty(),
                );
                match armed {
                    Ok(()) => EpollTimeout::NONE,
                    // No timer: fall back on epoll's milliseconds, rounded up.
                    Err(_) => {
                        let ms = d.as_nanos().div_ceil(1_000_000);
                        EpollTimeout::try_from(ms).unwrap_or(EpollTimeout::MAX)
                    }
                }
            }
        };
        self.waits += 1;
        match self.epoll.wait(&mut self.events, timeout) {
            Ok(n) => {
                let mut tokens = Vec::with_capacity(n);
                for event in &self.events[..n] {
                    match event.data() {
                        // The deadline came: the caller expires timers anyway.
                        TIMER_TOKEN => {
                            let _ = self.timer.wait();
                        }
                        token => tokens.push((token, readiness(event.events()))),
                    }
                }
                tokens
            }
            Err(HostErrno::EINTR) => Vec::new(),
            Err(e) => panic!("epoll_wait failed: {e} (the kernel's poller is broken)"),
        }
    }
}

/// What a host descriptor is ready for, as the poller reported it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Readiness {
    pub read: bool,
    pub write: bool,
    /// The peer has closed its side, or the connection broke: a read will
    /// never wait again, and the poller will not say so twice.
    pub read_closed: bool,
}

fn readiness(flags: EpollFlags) -> Readiness {
    let broken = flags.intersects(EpollFlags::EPOLLHUP | EpollFlags::EPOLLERR);
    let read_closed = broken || flags.contains(EpollFlags::EPOLLRDHUP);
    Readiness {
        read: read_closed || flags.contains(EpollFlags::EPOLLIN),
        write: broken || flags.contains(EpollFlags::EPOLLOUT),
        read_closed,
    }
}
