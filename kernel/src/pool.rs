//! The pool of host threads for blocking work (`Syscall::Blocking`,
//! asyncio's `run_in_executor`): a job runs on one of `THREADS` threads,
//! started the first time one is needed, while its task is parked; the
//! thread reports the job done through the kernel's inbox, which wakes the
//! poller. Jobs cannot be cancelled: a task killed meanwhile just never
//! hears of its job again.

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

use syscalls::{Errno, Pid};

use crate::inbox::{InboxSender, Message};

/// Threads in the pool: enough for a few slow host calls (name lookups)
/// at once without one holding up the others; the kernel's own thread
/// never waits on them.
const THREADS: usize = 4;

/// A job and who asked for it.
struct Order {
    pid: Pid,
    job: u64,
    work: Box<dyn FnOnce() + Send>,
}

#[derive(Default)]
pub(crate) struct Pool {
    orders: Option<Sender<Order>>,
    next_job: u64,
    /// Jobs submitted and not reported done yet.
    pub outstanding: usize,
}

impl Pool {
    /// Queues `work` for `pid`; returns the job's number.
    ///
    /// # Errors
    /// `EAGAIN` no thread could be started.
    pub(crate) fn submit(
        &mut self,
        inbox: &InboxSender,
        pid: Pid,
        work: Box<dyn FnOnce() + Send>,
    ) -> Result<u64, Errno> {
        if self.orders.is_none() {
            self.orders = Some(start(inbox)?);
        }
        self.next_job += 1;
        let order = Order {
            pid,
            job: self.next_job,
            work,
        };
        let sent = self.orders.as_ref().map(|orders| orders.send(order));
        match sent {
            Some(Ok(())) => {
                self.outstanding += 1;
                Ok(self.next_job)
            }
            _ => Err(Errno::EAGAIN),
        }
    }
}

fn start(inbox: &InboxSender) -> Result<Sender<Order>, Errno> {
    let (orders, queue) = mpsc::channel::<Order>();
    let queue = Arc::new(Mutex::new(queue));
    for i in 0..THREADS {
        let (queue, inbox) = (queue.clone(), inbox.clone());
        std::thread::Builder::new()
            .name(format!("coos-blocking-{i}"))
            .spawn(move || work(&queue, &inbox))
            .map_err(|_| Errno::EAGAIN)?;
    }
    Ok(orders)
}

/// A pool thread: runs jobs until the kernel (the sender) is gone.
fn work(queue: &Mutex<Receiver<Order>>, inbox: &InboxSender) {
    loop {
        let order = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(order) = order else {
            return;
        };
        let work = order.work;
        // A job that panics fails its call (EIO), not the pool.
        let panicked = panic::catch_unwind(AssertUnwindSafe(work)).is_err();
        inbox.send(Message::JobDone {
            pid: order.pid,
            job: order.job,
            panicked,
        });
    }
}
