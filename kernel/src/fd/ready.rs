//! Readiness: whether a read or a write on a descriptor would block now,
//! and the `poll` call built on it. A task in `poll` parks on the wait
//! queue of every object it asks about; whichever wakes it first makes it
//! look at them all again (and leave the other queues), as Unix poll does.

use std::os::fd::{AsFd, BorrowedFd};

use nix::poll::{PollFd as HostPollFd, PollFlags, PollTimeout};

use syscalls::{Interest, Pid, PollFd, Reply, SysResult};

use super::console::Input;
use super::Object;
use crate::dispatch::Outcome;
use crate::task::WaitOn;
use crate::Kernel;

/// Asks the host whether `fd` is readable or writable now, without
/// waiting.
fn host_ready(fd: BorrowedFd<'_>) -> Interest {
    let mut fds = [HostPollFd::new(fd, PollFlags::POLLIN | PollFlags::POLLOUT)];
    match nix::poll::poll(&mut fds, PollTimeout::ZERO) {
        Ok(n) if n > 0 => {
            let got = fds[0].revents().unwrap_or(PollFlags::empty());
            let broken = got.intersects(PollFlags::POLLHUP | PollFlags::POLLERR);
            Interest {
                read: broken || got.contains(PollFlags::POLLIN),
                write: broken || got.contains(PollFlags::POLLOUT),
            }
        }
        _ => Interest::default(),
    }
}

impl Kernel {
    /// What `object` is ready for now.
    fn readiness(&self, object: Object) -> Interest {
        match object {
            Object::PipeRead(id) => {
                let pipe = self.pipes[id as usize]
                    .as_ref()
                    .expect("an open pipe end's pipe exists");
                Interest {
                    read: !pipe.buf.is_empty() || pipe.writers == 0,
                    write: false,
                }
            }
            Object::PipeWrite(id) => {
                let pipe = self.pipes[id as usize]
                    .as_ref()
                    .expect("an open pipe end's pipe exists");
                Interest {
                    read: false,
                    write: pipe.free() > 0 || pipe.readers == 0,
                }
            }
            Object::ConsoleIn => Interest {
                read: match &self.console.input {
                    Input::Fed(fed) => fed.has_input(),
                    Input::Host(host) => host_ready(host.as_fd()).read,
                },
                write: false,
            },
            Object::ConsoleOut | Object::ConsoleErr => Interest::WRITE,
            Object::Null => Interest::BOTH,
            Object::Socket(id) => match &self.sockets[id as usize] {
                Some(socket) => host_ready(socket.as_fd()),
                None => Interest::default(),
            },
        }
    }

    /// Fills in each entry's readiness (the kernel's copy of the task's
    /// entries: its call's future copies `ready` back); parks the task on
    /// every object asked about if none is ready, keeping the entries in
    /// `polls`. Also the retry of a parked poll.
    pub(crate) fn sys_poll(&mut self, pid: Pid, mut entries: Vec<PollFd>) -> Outcome {
        let objects: SysResult<Vec<Object>> = entries
            .iter()
            .map(|e| self.tasks.fds(pid).get(e.fd))
            .collect();
        let objects = match objects {
            Ok(objects) => objects,
            Err(e) => return Outcome::Done(Err(e)),
        };
        // Leave the queues of a round before, if this is a retry.
        for &object in &objects {
            self.unqueue(pid, object);
        }
        let mut ready = 0;
        for (entry, &object) in entries.iter_mut().zip(&objects) {
            let now = self.readiness(object);
            entry.ready = Interest {
                read: entry.interest.read && now.read,
                write: entry.interest.write && now.write,
            };
            ready += usize::from(!entry.ready.is_empty());
        }
        if ready > 0 {
            return Outcome::Done(Ok(Reply::Polled(Box::new(entries))));
        }
        for (entry, &object) in entries.iter().zip(&objects) {
            self.enqueue(pid, object, entry.interest);
        }
        self.polls.insert(pid, entries);
        Outcome::Block(WaitOn::Poll)
    }

    /// Puts `pid` on the wait queues of `object` for `interest`.
    fn enqueue(&mut self, pid: Pid, object: Object, interest: Interest) {
        match object {
            Object::PipeRead(id) if interest.read => self.pipe_mut(id).read_waiters.push_back(pid),
            Object::PipeWrite(id) if interest.write => {
                self.pipe_mut(id).write_waiters.push_back(pid)
            }
            Object::ConsoleIn if interest.read => {
                self.console.read_waiters.push_back(pid);
                if self.console_wants_line() {
                    self.ask_for_line();
                }
                if let Input::Host(_) = self.console.input {
                    let _ = self.watch_host(super::console::STDIN_TOKEN);
                }
            }
            Object::Socket(id) => self.socket_enqueue(pid, id, interest),
            _ => {}
        }
    }

    /// Takes `pid` off the wait queues of `object`.
    fn unqueue(&mut self, pid: Pid, object: Object) {
        match object {
            Object::PipeRead(id) | Object::PipeWrite(id) => {
                let pipe = self.pipe_mut(id);
                pipe.read_waiters.retain(|&p| p != pid);
                pipe.write_waiters.retain(|&p| p != pid);
            }
            Object::ConsoleIn => self.console.read_waiters.retain(|&p| p != pid),
            Object::Socket(id) => self.socket_unqueue(pid, id),
            _ => {}
        }
    }
}
