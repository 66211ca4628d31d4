//! Host descriptors: the host process's own fds (stdin, stdout, stderr),
//! switched to non-blocking so the kernel never blocks on them; a task that
//! would block is parked until epoll reports the fd ready. Their original
//! flags come back when the kernel is dropped, so the host shell that
//! started coos gets its terminal back as it was.
//!
//! Host errors become `Errno` here, in `host_errno`, and nowhere else.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::errno::Errno as HostErrno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};

use syscalls::Errno;

/// The one place a host error becomes a coos `Errno`.
pub(crate) fn host_errno(e: HostErrno) -> Errno {
    match e {
        HostErrno::EAGAIN => Errno::EAGAIN,
        HostErrno::EPIPE => Errno::EPIPE,
        HostErrno::ECONNRESET => Errno::ECONNRESET,
        HostErrno::ECONNREFUSED => Errno::ECONNREFUSED,
        HostErrno::EADDRINUSE | HostErrno::EADDRNOTAVAIL => Errno::EADDRINUSE,
        HostErrno::ENOTCONN => Errno::ENOTCONN,
        HostErrno::ENOTSOCK => Errno::ENOTSOCK,
        HostErrno::ENETUNREACH | HostErrno::EHOSTUNREACH => Errno::ENETUNREACH,
        HostErrno::EBADF => Errno::EBADF,
        HostErrno::EINTR => Errno::EINTR,
        HostErrno::EINVAL => Errno::EINVAL,
        HostErrno::EMFILE | HostErrno::ENFILE => Errno::EMFILE,
        HostErrno::ENOENT => Errno::ENOENT,
        HostErrno::EPERM | HostErrno::EACCES => Errno::EPERM,
        HostErrno::ETIMEDOUT => Errno::ETIMEDOUT,
        HostErrno::ENOTTY => Errno::ENOTTY,
        _ => Errno::EIO,
    }
}

/// Reads a host fd the kernel keeps open: the reader a task's poll calls
/// with its buffer (`syscalls::Transfer::Read`, the fd as context).
///
/// # Safety
/// `fd` is open (the kernel keeps it so while the poll runs).
pub(crate) unsafe fn read_fd(fd: usize, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        match nix::unistd::read(fd as i32, buf) {
            Err(HostErrno::EINTR) => continue,
            other => return other.map_err(host_errno),
        }
    }
}

/// Writes a host fd the kernel keeps open.
///
/// # Safety
/// `fd` is open for the whole call.
pub(crate) unsafe fn write_fd(fd: usize, buf: &[u8]) -> Result<usize, Errno> {
    // SAFETY: the caller's contract.
    let fd = unsafe { BorrowedFd::borrow_raw(fd as i32) };
    loop {
        match nix::unistd::write(fd, buf) {
            Err(HostErrno::EINTR) => continue,
            other => return other.map_err(host_errno),
        }
    }
}

/// Whether epoll can watch this fd: unknown until the first time a task
/// must wait on it. A regular file or `/dev/null` cannot be watched (epoll
/// answers EPERM) and never makes a task wait anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Watch {
    NotYet,
    Watched,
    Unwatchable,
}

pub(crate) struct HostFd {
    fd: BorrowedFd<'static>,
    original: Option<OFlag>,
    pub watch: Watch,
    /// Might a read (stdin) or a write (stdout, stderr) go on now? Until a
    /// task's call meets `EAGAIN`; again when the poller says so (the fd
    /// is watched edge-triggered, for the one direction it is used in).
    pub ready: bool,
}

impl HostFd {
    /// Reads the flags of `fd` (to restore them on drop) without changing
    /// them yet: call `set_nonblocking` once every fd sharing a file
    /// description has been read, or the saved flags would be the new ones.
    pub(crate) fn new(fd: BorrowedFd<'static>) -> HostFd {
        let original = fcntl(fd.as_raw_fd(), FcntlArg::F_GETFL)
            .ok()
            .map(OFlag::from_bits_truncate);
        HostFd {
            fd,
            original,
            watch: Watch::NotYet,
            ready: true,
        }
    }

    pub(crate) fn set_nonblocking(&self) {
        if let Some(flags) = self.original {
            let _ = fcntl(
                self.fd.as_raw_fd(),
                FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK),
            );
        }
    }

    pub(crate) fn write(&self, buf: &[u8]) -> Result<usize, Errno> {
        // SAFETY: the fd is the host process's, open for its whole life.
        unsafe { write_fd(self.raw(), buf) }
    }

    /// The fd, as a transfer's context.
    pub(crate) fn raw(&self) -> usize {
        self.fd.as_raw_fd() as usize
    }

    pub(crate) fn is_terminal(&self) -> bool {
        nix::unistd::isatty(self.fd.as_raw_fd()).unwrap_or(false)
    }
}

impl AsFd for HostFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd
    }
}

impl Drop for HostFd {
    fn drop(&mut self) {
        if let Some(flags) = self.original {
            let _ = fcntl(self.fd.as_raw_fd(), FcntlArg::F_SETFL(flags));
        }
    }
}
