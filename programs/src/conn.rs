//! `Conn`: the two directions of a byte stream a program talks over. In
//! use it is one socket, read and written through one descriptor; in tests
//! it may be two pipes, one each way.
//!
//! Servers and `fetch` take a `Conn` so that their tests can run them over
//! pipes, inside the kernel, on its virtual clock: a host socket's bytes
//! come from outside the kernel, and a virtual clock jumps to the next
//! timer whenever every task waits, even while those bytes are on their
//! way, so a timeout test over sockets would depend on the host's timing.

use syscalls::{Fd, Sys};

/// Where a program reads its peer's bytes, and where it writes its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conn {
    /// What the peer sends comes from here.
    pub input: Fd,
    /// What goes to the peer is written here.
    pub output: Fd,
}

impl Conn {
    /// A connected socket: both directions through `fd`.
    pub fn socket(fd: Fd) -> Conn {
        Conn {
            input: fd,
            output: fd,
        }
    }

    /// Closes both directions. Closing is the last thing done with a
    /// connection, and there is nothing to do about a failure: it is
    /// ignored.
    pub async fn close(self, sys: &Sys) {
        let _ = sys.close(self.input).await;
        if self.output != self.input {
            let _ = sys.close(self.output).await;
        }
    }
}
