//! `Conn`: the two directions of a byte stream a program talks over. In
//! use it is one socket, read and written through one descriptor; in tests
//! it may be two pipes, one each way.
//!
//! Servers and `fetch` take a `Conn` so that their tests can run them over
//! pipes, inside the kernel, on its virtual clock: a host socket's bytes
//! come from outside the kernel, and a virtual clock jumps to the next
//! timer whenever every task waits, even while those bytes are on their
//! way, so a timeout test over sockets would depend on the host's timing.

use syscalls::{Fd, Shutdown, Sys, SysResult};

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

    /// Ends the sending side: the peer reads end-of-file, and may still
    /// send. A socket is shut down for writing; an output pipe is closed.
    ///
    /// # Errors
    /// As `Sys::shutdown`, or `Sys::close` for a pipe.
    pub async fn shutdown_output(self, sys: &Sys) -> SysResult<()> {
        if self.input == self.output {
            sys.shutdown(self.output, Shutdown::Write).await
        } else {
            sys.close(self.output).await
        }
    }

    /// Closes both directions. Closing is the last thing done with a
    /// connection, and there is nothing to do about a failure: it is
    /// ignored (an output pipe already closed by
    /// [`Conn::shutdown_output`] among them).
    pub async fn close(self, sys: &Sys) {
        let _ = sys.close(self.input).await;
        if self.output != self.input {
            let _ = sys.close(self.output).await;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::future::Future;

    use syscalls::{Command, ExitCode, FdMap, Pid, Sys};

    use super::Conn;

    /// Starts `serve` in a task of its own on a connection made of two
    /// pipes; returns its pid and the client's side of the connection.
    pub async fn serve_on_pipes<F, Fut>(sys: &Sys, serve: F) -> (Pid, Conn)
    where
        F: FnOnce(Sys, Conn) -> Fut + 'static,
        Fut: Future<Output = ExitCode> + 'static,
    {
        let (to_server, from_client) = sys.pipe().await.expect("pipe");
        let (to_client, from_server) = sys.pipe().await.expect("pipe");
        let server = Conn {
            input: to_server,
            output: from_server,
        };
        let pid = Command::from_fn(move |sys| serve(sys, server))
            .fds(
                FdMap::stdio()
                    .set(to_server, to_server)
                    .set(from_server, from_server),
            )
            .spawn(sys)
            .await
            .expect("spawn the server side");
        // The server task holds its ends now: closing ours lets each side
        // see the other's end-of-file.
        sys.close(to_server).await.expect("close");
        sys.close(from_server).await.expect("close");
        let client = Conn {
            input: to_client,
            output: from_client,
        };
        (pid, client)
    }
}
