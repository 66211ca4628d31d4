//! Sockets: TCP listeners and connections. Each is a host socket the
//! kernel owns, non-blocking, registered in the poller (edge-triggered)
//! when it is made; a task that would block is parked on the socket's
//! wait queue and retries its call when the poller reports the socket
//! ready. A thousand idle connections cost one epoll wait.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use nix::errno::Errno as HostErrno;
use nix::sys::socket::{
    self as net, AddressFamily, Backlog, MsgFlags, SockFlag, SockType, SockaddrStorage,
};

use syscalls::{Errno, Fd, Pid, Reply, Shutdown, SysResult, Transfer};

use super::host::{host_errno, read_fd};
use super::Object;
use crate::dispatch::Outcome;
use crate::poll::{Interest, Readiness};
use crate::task::{RunState, WaitOn};
use crate::Kernel;

/// Poller tokens of sockets: this plus the socket's id.
pub(crate) const SOCKET_TOKEN: u64 = 1 << 32;

/// Connections waiting to be accepted, at most (the host may cap it).
const BACKLOG: i32 = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Listener,
    Stream,
}

pub(crate) struct Socket {
    fd: OwnedFd,
    kind: Kind,
    /// Descriptors (and pending connects) naming it.
    refs: u32,
    /// Tasks parked until it is readable (reads, accepts).
    read_waiters: VecDeque<Pid>,
    /// Tasks parked until it is writable (writes, connects).
    write_waiters: VecDeque<Pid>,
    /// Might a read, or a write, go on now? Until a task's poll meets
    /// `EAGAIN` (or a read gets less than it asked: the socket was
    /// drained, and new bytes make the poller report it again); again when
    /// the poller reports the socket ready that way.
    readable: bool,
    writable: bool,
    /// What the read lent last asked for.
    asked: usize,
    /// The poller said the peer closed its side: a read that gets less
    /// than it asked has not drained it (end-of-file is still to come,
    /// and no new report will say so).
    read_closed: bool,
}

impl AsFd for Socket {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Sends on a connected socket the kernel keeps open: the writer a task's
/// poll calls with its bytes (`Transfer::Write`, the fd as context).
/// `MSG_NOSIGNAL`: a reset peer is `EPIPE` here, never a SIGPIPE.
///
/// # Safety
/// `fd` is open (the kernel keeps it so while the poll runs).
unsafe fn send_fd(fd: usize, buf: &[u8]) -> SysResult<usize> {
    loop {
        match net::send(fd as i32, buf, MsgFlags::MSG_NOSIGNAL) {
            Err(HostErrno::EINTR) => continue,
            other => return other.map_err(host_errno),
        }
    }
}

fn parse_addr(addr: &str) -> SysResult<SocketAddr> {
    addr.parse().map_err(|_| Errno::EINVAL)
}

fn new_socket(addr: &SocketAddr) -> SysResult<OwnedFd> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::Inet,
        SocketAddr::V6(_) => AddressFamily::Inet6,
    };
    net::socket(
        family,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(host_errno)
}

impl Kernel {
    fn socket(&mut self, id: u32) -> &mut Socket {
        self.sockets[id as usize]
            .as_mut()
            .expect("a socket with a descriptor or a pending connect exists")
    }

    /// Adds a socket (one reference) and starts watching it.
    fn add_socket(&mut self, fd: OwnedFd, kind: Kind) -> u32 {
        let socket = Socket {
            fd,
            kind,
            refs: 1,
            read_waiters: VecDeque::new(),
            write_waiters: VecDeque::new(),
            readable: true,
            asked: 0,
            read_closed: false,
            writable: true,
        };
        let id = match self.free_sockets.pop() {
            Some(id) => {
                self.sockets[id as usize] = Some(socket);
                id
            }
            None => {
                self.sockets.push(Some(socket));
                (self.sockets.len() - 1) as u32
            }
        };
        let token = SOCKET_TOKEN + u64::from(id);
        // A socket epoll refuses could not block a task either; reads and
        // writes on it then simply never park.
        if let Some(socket) = &self.sockets[id as usize] {
            let _ = self
                .poller
                .register(socket.fd.as_fd(), token, Interest::BothEdge);
        }
        self.open_sockets += 1;
        id
    }

    /// Gives the caller an fd for socket `id`, or drops the socket.
    fn install_socket(&mut self, pid: Pid, id: u32) -> SysResult<Reply> {
        let max_fds = self.config.max_fds;
        match self.tasks.fds_mut(pid).insert(Object::Socket(id), max_fds) {
            Ok(fd) => Ok(Reply::Fd(fd)),
            Err(e) => {
                self.socket_release(id);
                Err(e)
            }
        }
    }

    #[inline(never)] // Keeps `release`, on every exit, small enough to inline.
    pub(crate) fn socket_retain(&mut self, id: u32) {
        self.socket(id).refs += 1;
    }

    /// One reference fewer; the last one closes the host socket (which
    /// also takes it out of the poller).
    #[inline(never)] // Keeps `release`, on every exit, small enough to inline.
    pub(crate) fn socket_release(&mut self, id: u32) {
        let socket = self.socket(id);
        socket.refs -= 1;
        if socket.refs == 0 {
            self.sockets[id as usize] = None;
            self.free_sockets.push(id);
            self.open_sockets -= 1;
        }
    }

    fn socket_of(&self, pid: Pid, fd: Fd) -> SysResult<u32> {
        match self.tasks.fds(pid).get(fd)? {
            Object::Socket(id) => Ok(id),
            _ => Err(Errno::ENOTSOCK),
        }
    }

    pub(crate) fn sys_listen(&mut self, pid: Pid, addr: &str) -> SysResult<Reply> {
        let addr = parse_addr(addr)?;
        let max_fds = self.config.max_fds;
        if self.tasks.fds(pid).free_below(max_fds) == 0 {
            return Err(Errno::EMFILE);
        }
        let fd = new_socket(&addr)?;
        net::setsockopt(&fd, net::sockopt::ReuseAddr, &true).map_err(host_errno)?;
        net::bind(fd.as_raw_fd(), &SockaddrStorage::from(addr)).map_err(host_errno)?;
        let backlog = Backlog::new(BACKLOG).map_err(host_errno)?;
        net::listen(&fd, backlog).map_err(host_errno)?;
        let id = self.add_socket(fd, Kind::Listener);
        self.install_socket(pid, id)
    }

    pub(crate) fn sys_accept(&mut self, pid: Pid, fd: Fd) -> Outcome {
        match self.socket_of(pid, fd) {
            Ok(id) => self.accept_on(pid, fd, id),
            Err(e) => Outcome::Done(Err(e)),
        }
    }

    /// Takes a connection from listener `id`, or parks the task until one
    /// comes. Also the retry of a parked accept.
    pub(crate) fn accept_on(&mut self, pid: Pid, fd: Fd, id: u32) -> Outcome {
        let socket = self.socket(id);
        if socket.kind != Kind::Listener {
            return Outcome::Done(Err(Errno::EINVAL));
        }
        let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
        match net::accept4(socket.fd.as_raw_fd(), flags) {
            Ok(raw) => {
                // SAFETY: accept4 just returned this descriptor; nothing
                // else owns it.
                let conn = unsafe { OwnedFd::from_raw_fd(raw) };
                let conn = self.add_socket(conn, Kind::Stream);
                Outcome::Done(self.install_socket(pid, conn))
            }
            Err(HostErrno::EAGAIN) => {
                socket.read_waiters.push_back(pid);
                Outcome::Block(WaitOn::Accept {
                    fd,
                    object: Object::Socket(id),
                })
            }
            // The connection died before it was taken: wait for the next.
            Err(HostErrno::ECONNABORTED) | Err(HostErrno::EINTR) => self.accept_on(pid, fd, id),
            Err(e) => Outcome::Done(Err(host_errno(e))),
        }
    }

    pub(crate) fn sys_connect(&mut self, pid: Pid, addr: &str) -> Outcome {
        let addr = match parse_addr(addr) {
            Ok(addr) => addr,
            Err(e) => return Outcome::Done(Err(e)),
        };
        let max_fds = self.config.max_fds;
        if self.tasks.fds(pid).free_below(max_fds) == 0 {
            return Outcome::Done(Err(Errno::EMFILE));
        }
        let fd = match new_socket(&addr) {
            Ok(fd) => fd,
            Err(e) => return Outcome::Done(Err(e)),
        };
        let started = net::connect(fd.as_raw_fd(), &SockaddrStorage::from(addr));
        let id = self.add_socket(fd, Kind::Stream);
        match started {
            Ok(()) => Outcome::Done(self.install_socket(pid, id)),
            Err(HostErrno::EINPROGRESS) => {
                self.socket(id).write_waiters.push_back(pid);
                Outcome::Block(WaitOn::Connect { socket: id })
            }
            Err(e) => {
                self.socket_release(id);
                Outcome::Done(Err(host_errno(e)))
            }
        }
    }

    /// A parked connect's socket became writable: connected, or failed.
    pub(crate) fn connect_done(&mut self, pid: Pid, id: u32) -> Outcome {
        let socket = self.socket(id);
        match net::getsockopt(&socket.fd, net::sockopt::SocketError) {
            Ok(0) => Outcome::Done(self.install_socket(pid, id)),
            Ok(code) => {
                self.socket_release(id);
                Outcome::Done(Err(host_errno(HostErrno::from_raw(code))))
            }
            Err(HostErrno::EAGAIN) => {
                socket.write_waiters.push_back(pid);
                Outcome::Block(WaitOn::Connect { socket: id })
            }
            Err(e) => {
                self.socket_release(id);
                Outcome::Done(Err(host_errno(e)))
            }
        }
    }

    /// Lends the task's next poll the socket to read, or parks the task
    /// until the poller says it is readable.
    pub(crate) fn socket_read(&mut self, pid: Pid, fd: Fd, id: u32, len: usize) -> Outcome {
        let socket = self.socket(id);
        if socket.kind != Kind::Stream {
            return Outcome::Done(Err(Errno::ENOTCONN));
        }
        if socket.readable {
            socket.asked = len;
            let transfer = Transfer::Read(socket.fd.as_raw_fd() as usize, read_fd);
            return self.lend(Object::Socket(id), transfer);
        }
        socket.read_waiters.push_back(pid);
        Outcome::Block(WaitOn::Read {
            fd,
            object: Object::Socket(id),
            len,
        })
    }

    /// Lends the task's next poll the socket to write what is left of its
    /// write, or parks the task until the poller says it is writable.
    pub(crate) fn socket_write(
        &mut self,
        pid: Pid,
        fd: Fd,
        id: u32,
        len: usize,
        done: usize,
    ) -> Outcome {
        let socket = self.socket(id);
        if socket.kind != Kind::Stream {
            return Outcome::Done(Err(Errno::ENOTCONN));
        }
        if socket.writable {
            let transfer = Transfer::Write(socket.fd.as_raw_fd() as usize, send_fd);
            return self.lend(Object::Socket(id), transfer);
        }
        socket.write_waiters.push_back(pid);
        Outcome::Block(WaitOn::Write {
            fd,
            object: Object::Socket(id),
            len,
            done,
        })
    }

    /// A task's poll read (or wrote) socket `id` and `moved` bytes: one
    /// that met `EAGAIN`, or read less than it asked, has drained it; the
    /// next call that way waits for the poller to report it again. (A
    /// second read to find the socket empty cost a system call for every
    /// four requests an HTTP server answered.)
    pub(crate) fn socket_moved(&mut self, id: u32, reading: bool, moved: SysResult<usize>) {
        let Some(Some(socket)) = self.sockets.get_mut(id as usize) else {
            return;
        };
        let drained = match moved {
            Err(e) => e == Errno::EAGAIN,
            Ok(n) => reading && n > 0 && n < socket.asked && !socket.read_closed,
        };
        if drained {
            if reading {
                socket.readable = false;
            } else {
                socket.writable = false;
            }
        }
    }

    pub(crate) fn sys_shutdown(&mut self, pid: Pid, fd: Fd, how: Shutdown) -> SysResult<Reply> {
        let id = self.socket_of(pid, fd)?;
        let how = match how {
            Shutdown::Read => net::Shutdown::Read,
            Shutdown::Write => net::Shutdown::Write,
            Shutdown::Both => net::Shutdown::Both,
        };
        net::shutdown(self.socket(id).fd.as_raw_fd(), how).map_err(host_errno)?;
        Ok(Reply::Unit)
    }

    pub(crate) fn sys_local_addr(&mut self, pid: Pid, fd: Fd) -> SysResult<Reply> {
        let id = self.socket_of(pid, fd)?;
        let addr: SockaddrStorage =
            net::getsockname(self.socket(id).fd.as_raw_fd()).map_err(host_errno)?;
        let text = if let Some(v4) = addr.as_sockaddr_in() {
            std::net::SocketAddrV4::from(*v4).to_string()
        } else if let Some(v6) = addr.as_sockaddr_in6() {
            std::net::SocketAddrV6::from(*v6).to_string()
        } else {
            return Err(Errno::EINVAL);
        };
        Ok(Reply::Addr(Box::new(text)))
    }

    /// Parks `pid` (in `poll`) on socket `id`'s queues for `interest`.
    pub(crate) fn socket_enqueue(&mut self, pid: Pid, id: u32, interest: syscalls::Interest) {
        let socket = self.socket(id);
        if interest.read {
            socket.read_waiters.push_back(pid);
        }
        if interest.write {
            socket.write_waiters.push_back(pid);
        }
    }

    /// Takes `pid` off socket `id`'s queues.
    pub(crate) fn socket_unqueue(&mut self, pid: Pid, id: u32) {
        let socket = self.socket(id);
        socket.read_waiters.retain(|&p| p != pid);
        socket.write_waiters.retain(|&p| p != pid);
    }

    /// The poller says socket `id` may be ready the ways `ready` says:
    /// every task parked on it for one of them tries its call again when
    /// it runs.
    pub(crate) fn socket_ready(&mut self, id: u32, ready: Readiness) {
        let Some(socket) = self.sockets.get_mut(id as usize).and_then(Option::as_mut) else {
            return;
        };
        socket.read_closed |= ready.read_closed;
        let mut parked = VecDeque::new();
        if ready.read {
            socket.readable = true;
            parked = std::mem::take(&mut socket.read_waiters);
        }
        if ready.write {
            socket.writable = true;
            parked.append(&mut socket.write_waiters);
        }
        for pid in parked {
            let Some(state) = self.tasks.state(pid) else {
                continue;
            };
            let on_this = match state {
                RunState::Blocked(
                    WaitOn::Read { object, .. }
                    | WaitOn::Write { object, .. }
                    | WaitOn::Accept { object, .. },
                ) => object == Object::Socket(id),
                RunState::Blocked(WaitOn::Connect { socket }) => socket == id,
                RunState::Blocked(WaitOn::Poll) => true,
                _ => false,
            };
            if on_this {
                self.wake(pid);
            }
        }
    }
}
