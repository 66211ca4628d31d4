//! The inbox: how other host threads (the terminal, host signal delivery,
//! later blocking work and other CPUs) reach the kernel. A lock-free queue
//! of messages plus an eventfd registered in the poller, so a message wakes
//! a kernel that sleeps in epoll. The kernel drains the inbox at every
//! poll of events.

use std::sync::Arc;

use crossbeam_queue::SegQueue;
use nix::sys::eventfd::{EfdFlags, EventFd};

use syscalls::Signal;

/// A message to a running kernel from another thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Bytes typed at the console (a finished line, with its newline).
    ConsoleInput(Vec<u8>),
    /// End of console input (Ctrl-D on an empty line).
    ConsoleEof,
    /// Ctrl-C: send `INT` to the console's foreground group.
    Interrupt,
    /// The host sent coos this signal.
    HostSignal(Signal),
}

struct Shared {
    queue: SegQueue<Message>,
    wake: EventFd,
}

/// The kernel's end of the inbox.
pub(crate) struct Inbox {
    shared: Arc<Shared>,
}

/// A sending end of a kernel's inbox, for other threads. Cheap to clone.
#[derive(Clone)]
pub struct InboxSender {
    shared: Arc<Shared>,
}

impl Inbox {
    pub(crate) fn new() -> nix::Result<Inbox> {
        let wake =
            EventFd::from_value_and_flags(0, EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)?;
        Ok(Inbox {
            shared: Arc::new(Shared {
                queue: SegQueue::new(),
                wake,
            }),
        })
    }

    pub(crate) fn wake_fd(&self) -> &EventFd {
        &self.shared.wake
    }

    pub(crate) fn sender(&self) -> InboxSender {
        InboxSender {
            shared: self.shared.clone(),
        }
    }

    /// Takes one message; clears the eventfd's count first, so a message
    /// sent after the drain still wakes the poller.
    pub(crate) fn pop(&self) -> Option<Message> {
        self.shared.queue.pop()
    }

    /// Resets the wake-up count (after the poller reported it).
    pub(crate) fn acknowledge(&self) {
        let _ = self.shared.wake.read();
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.shared.queue.is_empty()
    }
}

impl InboxSender {
    /// Queues `message` and wakes the kernel.
    pub fn send(&self, message: Message) {
        self.shared.queue.push(message);
        let _ = self.shared.wake.write(1);
    }
}
