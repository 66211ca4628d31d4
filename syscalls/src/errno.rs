//! `Errno`: every way a system call can fail, with Unix names.

/// Why a system call failed. Names and meanings follow Unix; the message is
/// what a program prints for a person (`cat: nosuch: no such file or directory`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[allow(clippy::upper_case_acronyms)]
pub enum Errno {
    /// The descriptor is not open, or not open for this use.
    #[error("bad file descriptor")]
    EBADF,
    /// No task has that pid.
    #[error("no such process")]
    ESRCH,
    /// The caller has no child (or no child with that pid) to wait for.
    #[error("no child processes")]
    ECHILD,
    /// Every read end of the pipe is closed.
    #[error("broken pipe")]
    EPIPE,
    /// An argument is out of range or malformed.
    #[error("invalid argument")]
    EINVAL,
    /// The task has as many descriptors open as its limit allows.
    #[error("too many open files")]
    EMFILE,
    /// A limit was reached (tasks, buffers); trying later may succeed.
    #[error("resource temporarily unavailable")]
    EAGAIN,
    /// The call was interrupted before it could finish.
    #[error("interrupted system call")]
    EINTR,
    /// No program (or object) has that name.
    #[error("no such file or directory")]
    ENOENT,
    /// The caller may not do this (for instance, kill pid 1).
    #[error("operation not permitted")]
    EPERM,
    /// A task may have one system call in flight at a time.
    #[error("device or resource busy")]
    EBUSY,
    /// The deadline set around the call passed first.
    #[error("connection timed out")]
    ETIMEDOUT,
    /// The descriptor does not support this operation.
    #[error("inappropriate ioctl for device")]
    ENOTTY,
    /// A host I/O error the kernel could not name more precisely.
    #[error("input/output error")]
    EIO,
    /// Another socket listens on that address already.
    #[error("address already in use")]
    EADDRINUSE,
    /// Nobody listens at that address.
    #[error("connection refused")]
    ECONNREFUSED,
    /// The peer reset the connection.
    #[error("connection reset by peer")]
    ECONNRESET,
    /// The socket is not connected (or was shut down for this direction).
    #[error("transport endpoint is not connected")]
    ENOTCONN,
    /// The descriptor is not a socket.
    #[error("socket operation on non-socket")]
    ENOTSOCK,
    /// No route to that address.
    #[error("network is unreachable")]
    ENETUNREACH,
}

impl Errno {
    /// Every errno, in declaration order.
    pub const ALL: [Errno; 20] = [
        Errno::EBADF,
        Errno::ESRCH,
        Errno::ECHILD,
        Errno::EPIPE,
        Errno::EINVAL,
        Errno::EMFILE,
        Errno::EAGAIN,
        Errno::EINTR,
        Errno::ENOENT,
        Errno::EPERM,
        Errno::EBUSY,
        Errno::ETIMEDOUT,
        Errno::ENOTTY,
        Errno::EIO,
        Errno::EADDRINUSE,
        Errno::ECONNREFUSED,
        Errno::ECONNRESET,
        Errno::ENOTCONN,
        Errno::ENOTSOCK,
        Errno::ENETUNREACH,
    ];

    /// The Unix name, `"EPIPE"`.
    pub fn name(self) -> &'static str {
        match self {
            Errno::EBADF => "EBADF",
            Errno::ESRCH => "ESRCH",
            Errno::ECHILD => "ECHILD",
            Errno::EPIPE => "EPIPE",
            Errno::EINVAL => "EINVAL",
            Errno::EMFILE => "EMFILE",
            Errno::EAGAIN => "EAGAIN",
            Errno::EINTR => "EINTR",
            Errno::ENOENT => "ENOENT",
            Errno::EPERM => "EPERM",
            Errno::EBUSY => "EBUSY",
            Errno::ETIMEDOUT => "ETIMEDOUT",
            Errno::ENOTTY => "ENOTTY",
            Errno::EIO => "EIO",
            Errno::EADDRINUSE => "EADDRINUSE",
            Errno::ECONNREFUSED => "ECONNREFUSED",
            Errno::ECONNRESET => "ECONNRESET",
            Errno::ENOTCONN => "ENOTCONN",
            Errno::ENOTSOCK => "ENOTSOCK",
            Errno::ENETUNREACH => "ENETUNREACH",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Errno;

    #[test]
    fn messages_are_lowercase_without_a_final_period() {
        for e in [Errno::EPIPE, Errno::EBADF, Errno::ECHILD] {
            let m = e.to_string();
            assert_eq!(m, m.to_lowercase());
            assert!(!m.ends_with('.'));
        }
        assert_eq!(Errno::EPIPE.name(), "EPIPE");
        for (i, e) in Errno::ALL.iter().enumerate() {
            assert_eq!(*e as usize, i, "ALL is in declaration order");
        }
    }
}
