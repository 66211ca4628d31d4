//! `Output`: a buffered writer over a descriptor. Bytes collect in memory
//! and go out in one `write_all` when 64 KiB have gathered, or when the
//! program calls `flush` (at the end, and before it blocks on input).

use syscalls::{Fd, Sys, SysResult};

/// A buffered writer. Dropping it loses what was not flushed: call
/// [`Output::flush`] before returning.
pub struct Output {
    sys: Sys,
    fd: Fd,
    buf: Vec<u8>,
}

impl Output {
    /// How much gathers before a write: large enough that a bulk producer
    /// makes one system call per 64 KiB, the default pipe's whole buffer.
    pub const CAPACITY: usize = 64 * 1024;

    /// A writer on `fd`.
    pub fn new(sys: &Sys, fd: Fd) -> Output {
        Output {
            sys: sys.clone(),
            fd,
            buf: Vec::with_capacity(Output::CAPACITY),
        }
    }

    /// A writer on standard output.
    pub fn stdout(sys: &Sys) -> Output {
        Output::new(sys, Fd::STDOUT)
    }

    /// Queues `bytes`, writing out the buffer once it is full. A chunk at
    /// least as big as the buffer goes straight out, without a copy.
    ///
    /// # Errors
    /// As `Sys::write_all`.
    pub async fn write(&mut self, bytes: &[u8]) -> SysResult<()> {
        if self.buf.is_empty() && bytes.len() >= Output::CAPACITY {
            return self.sys.write_all(self.fd, bytes).await;
        }
        self.buf.extend_from_slice(bytes);
        self.flush_if_full().await
    }

    /// The buffer itself, for formatting into without a copy; follow with
    /// [`Output::flush_if_full`].
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Writes out the buffer if it holds at least [`Output::CAPACITY`] bytes.
    ///
    /// # Errors
    /// As `Sys::write_all`.
    pub async fn flush_if_full(&mut self) -> SysResult<()> {
        if self.buf.len() >= Output::CAPACITY {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes out everything buffered.
    ///
    /// # Errors
    /// As `Sys::write_all`; the buffer is emptied either way, so a failed
    /// flush is not repeated.
    pub async fn flush(&mut self) -> SysResult<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = self.sys.write_all(self.fd, &self.buf).await;
        self.buf.clear();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::Output;
    use kernel::testing::Harness;

    #[test]
    fn small_writes_gather_into_one_system_call() {
        let out = Harness::new(crate::registry()).run_fn(|sys| async move {
            let mut out = Output::stdout(&sys);
            for _ in 0..1000 {
                if out.write(b"0123456789").await.is_err() {
                    return 1;
                }
            }
            match out.flush().await {
                Ok(()) => 0,
                Err(_) => 1,
            }
        });
        assert_eq!(out.status, Some(0));
        assert_eq!(out.stdout.len(), 10_000);
        assert_eq!(out.stdout_writes, 1);
    }

    #[test]
    fn a_full_buffer_goes_out_in_chunks_of_capacity() {
        let out = Harness::new(crate::registry()).run_fn(|sys| async move {
            let mut out = Output::stdout(&sys);
            let line = [b'x'; 1000];
            for _ in 0..200 {
                if out.write(&line).await.is_err() {
                    return 1;
                }
            }
            // Large writes bypass the buffer.
            if out.write(&vec![b'y'; Output::CAPACITY]).await.is_err() {
                return 1;
            }
            match out.flush().await {
                Ok(()) => 0,
                Err(_) => 1,
            }
        });
        assert_eq!(out.status, Some(0));
        assert_eq!(out.stdout.len(), 200_000 + Output::CAPACITY);
        assert!(out.stdout_writes <= 5, "{} writes", out.stdout_writes);
    }
}
