//! The poller: one epoll instance where the kernel sleeps when nothing is
//! ready, until the next timer deadline, a host descriptor's readiness, or a
//! message in the inbox (signalled through the wake-up eventfd).
//!
//! Tokens: `WAKE_TOKEN` is the inbox's eventfd; every other token names a
//! host descriptor the kernel registered (see `fd/host.rs`).

use std::os::fd::AsFd;
use std::time::Duration;

use nix::errno::Errno as HostErrno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

/// The token of the inbox's wake-up eventfd.
pub(crate) const WAKE_TOKEN: u64 = 0;

/// How many events one wait can return. More stay for the next wait.
const EVENTS_PER_WAIT: usize = 256;

pub(crate) struct Poller {
    epoll: Epoll,
    events: Vec<EpollEvent>,
}

impl Poller {
    pub(crate) fn new() -> nix::Result<Poller> {
        Ok(Poller {
            epoll: Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?,
            events: vec![EpollEvent::empty(); EVENTS_PER_WAIT],
        })
    }

    /// Watches `fd` for readability and writability, edge-triggered: the
    /// kernel reads or writes until EAGAIN before it parks a task, so an
    /// edge is never missed. `Err(EPERM)` means the fd cannot be polled
    /// (a regular file): it is always ready.
    pub(crate) fn register(&self, fd: impl AsFd, token: u64, edge: bool) -> nix::Result<()> {
        let mut flags = EpollFlags::EPOLLIN | EpollFlags::EPOLLOUT | EpollFlags::EPOLLRDHUP;
        if edge {
            flags |= EpollFlags::EPOLLET;
        }
        self.epoll.add(fd, EpollEvent::new(flags, token))
    }

    /// Waits up to `timeout` (`None`: for ever) and returns the tokens that
    /// became ready. An interrupted wait returns no tokens.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> Vec<u64> {
        let timeout = match timeout {
            None => EpollTimeout::NONE,
            // Round up: waking a little late is fine, early means a spin.
            Some(d) => {
                let ms = d.as_nanos().div_ceil(1_000_000);
                EpollTimeout::try_from(ms).unwrap_or(EpollTimeout::MAX)
            }
        };
        match self.epoll.wait(&mut self.events, timeout) {
            Ok(n) => self.events[..n].iter().map(|e| e.data()).collect(),
            Err(HostErrno::EINTR) => Vec::new(),
            Err(e) => panic!("epoll_wait failed: {e} (the kernel's poller is broken)"),
        }
    }
}
