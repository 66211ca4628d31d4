//! The inbox: how other host threads (the terminal, host signal delivery,
//! later blocking work and other CPUs) reach the kernel. A lock-free queue
//! of messages plus an eventfd registered in the poller, so a message wakes
//! a kernel that sleeps in epoll. The kernel drains the inbox at every
//! poll of events, and counts what it took: a sender can tell whether the
//! kernel still reads its inbox (the signal thread does, `signal.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_queue::SegQueue;
use nix::sys::eventfd::{EfdFlags, EventFd};

use syscalls::{ExitCode, Pid, Signal, Sys, TaskFuture};

/// A message to a running kernel from another thread.
pub enum Message {
    /// Bytes typed at the console (a finished line, with its newline).
    ConsoleInput(Vec<u8>),
    /// End of console input (Ctrl-D on an empty line).
    ConsoleEof,
    /// Ctrl-C: send `INT` to the console's foreground group.
    Interrupt,
    /// The console's sink, full before, has room again.
    ConsoleWritable,
    /// The host sent coos this signal.
    HostSignal(Signal),
    /// A blocking job (`Syscall::Blocking`) of `pid` has run.
    JobDone {
        /// The task that asked.
        pid: Pid,
        /// The job's number.
        job: u64,
        /// It panicked (its call fails with `EIO`).
        panicked: bool,
    },
    /// Start a task from another thread (`KernelHandle::spawn`), as a
    /// child of init on the console, and send its status when it ends.
    Spawn {
        /// Makes the task's coroutine, on the kernel's thread.
        start: Box<dyn FnOnce(Sys) -> TaskFuture + Send>,
        /// Where its exit status goes.
        status: std::sync::mpsc::Sender<ExitCode>,
    },
}

struct Shared {
    queue: SegQueue<Message>,
    wake: EventFd,
    /// Messages the kernel has taken so far.
    taken: AtomicU64,
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
                taken: AtomicU64::new(0),
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

    /// Takes one message, and counts it (`InboxSender::taken`).
    pub(crate) fn pop(&self) -> Option<Message> {
        let message = self.shared.queue.pop()?;
        self.shared.taken.fetch_add(1, Ordering::Relaxed);
        Some(message)
    }

    /// Resets the wake-up count (after the poller reported it).
    pub(crate) fn acknowledge(&self) {
        let _ = self.shared.wake.read();
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.shared.queue.is_empty()
    }
}

/// A handle on a running kernel for other host threads (asyncio's
/// `call_soon_threadsafe`): it starts tasks in that kernel and hands back
/// their exit status. Cheap to clone; `Send`.
#[derive(Clone)]
pub struct KernelHandle {
    inbox: InboxSender,
}

impl KernelHandle {
    pub(crate) fn new(inbox: InboxSender) -> KernelHandle {
        KernelHandle { inbox }
    }

    /// Starts `main` as a task (a child of init, on the console) in the
    /// kernel; the receiver gets its exit status when it ends, or an error
    /// if the kernel stopped first.
    ///
    /// ```no_run
    /// # fn f(handle: kernel::KernelHandle) {
    /// let status = handle.spawn(|sys| async move {
    ///     let _ = sys.print("from another thread\n").await;
    ///     0
    /// });
    /// assert_eq!(status.recv(), Ok(0));
    /// # }
    /// ```
    pub fn spawn<F, Fut>(&self, main: F) -> std::sync::mpsc::Receiver<ExitCode>
    where
        F: FnOnce(Sys) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ExitCode> + 'static,
    {
        let (status, receiver) = std::sync::mpsc::channel();
        self.inbox.send(Message::Spawn {
            start: Box::new(move |sys| Box::pin(main(sys))),
            status,
        });
        receiver
    }
}

impl InboxSender {
    /// Queues `message` and wakes the kernel.
    pub fn send(&self, message: Message) {
        self.shared.queue.push(message);
        let _ = self.shared.wake.write(1);
    }

    /// How many messages the kernel has taken from its inbox so far: if it
    /// does not grow after a `send`, the kernel is not reading.
    pub fn taken(&self) -> u64 {
        self.shared.taken.load(Ordering::Relaxed)
    }
}
