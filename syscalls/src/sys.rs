//! `Sys`, the handle a program calls. Each method builds a `Syscall` and
//! awaits it through the trap (`trap.rs`, which also holds the rule about
//! the memory a call lends).

use std::convert::Infallible;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::call::{Image, Reply, Shutdown, SpawnRequest, Syscall};
use crate::errno::Errno;
use crate::trap::{Call, Trap, TrapCall};
use crate::types::{
    ExitCode, Fd, FdMap, PGroup, Pid, PollFd, ProgramInfo, Signal, TaskFuture, TaskInfo, Usage,
};

/// What a system call answers.
pub type SysResult<T> = Result<T, Errno>;

/// The handle a program makes system calls with. Each method is an `async fn`
/// that traps into the kernel; every one returns `Result<_, Errno>`.
///
/// ```
/// use syscalls::{Sys, Fd, ExitCode};
///
/// async fn hello(sys: Sys, _args: Vec<String>) -> ExitCode {
///     match sys.write(Fd::STDOUT, b"hello\n").await {
///         Ok(_) => 0,
///         Err(_) => 1,
///     }
/// }
/// ```
#[derive(Clone)]
pub struct Sys {
    trap: Rc<Trap>,
}

impl Sys {
    /// A handle on `trap`. The kernel makes one for every task it starts.
    pub fn new(trap: Rc<Trap>) -> Sys {
        Sys { trap }
    }

    /// The trap itself; callers keep what `call` points to valid whenever
    /// the future is polled (the contract of `Sys::call`).
    fn trap_call(&self, call: Syscall) -> TrapCall<'_> {
        TrapCall::new(&self.trap, call)
    }

    /// Starts a child as `request` says (what [`Command::spawn`] sends).
    ///
    /// # Errors
    /// See [`Syscall::Spawn`].
    pub fn spawn_request(
        &self,
        request: SpawnRequest,
    ) -> impl Future<Output = SysResult<Pid>> + '_ {
        SpawnCall {
            call: None,
            request: LentRequest(ManuallyDrop::new(Some(request))),
            sys: self,
        }
    }

    /// Traps into the kernel with `call` and returns its reply: the raw
    /// interface the other methods are made of.
    ///
    /// # Safety
    /// Every pointer in `call` must be valid whenever the returned future
    /// is polled, until it has finished or been dropped: a `Read`'s buffer
    /// for writing `len` bytes and not otherwise used, a `Write`'s for
    /// reading `len` bytes, a `Poll`'s `len` entries, an `Open`'s,
    /// `Listen`'s or `Connect`'s `len` bytes of text, a `Spawn`'s or
    /// `Blocking`'s `Option` (null is allowed for these last: the call
    /// fails with `EINVAL`). The kernel touches them only while the future
    /// is being polled: it moves a spawn request or a job out, and copies
    /// text and poll entries, in the poll that traps; it moves a read's or
    /// write's bytes in a later poll (see `trap.rs`). The safe methods keep
    /// what they lend borrowed by the future, which is all they need.
    pub unsafe fn call(&self, call: Syscall) -> impl Future<Output = SysResult<Reply>> + '_ {
        self.trap_call(call)
    }

    /// Starts the registered program `program` as a child, with `args` after
    /// its name in argv and descriptors `fds`.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) -> Result<(), syscalls::Errno> {
    /// use syscalls::FdMap;
    /// let pid = sys.spawn("echo", ["hi"], FdMap::stdio()).await?;
    /// let (_, status) = sys.wait(pid).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `ENOENT` no such program; see [`Syscall::Spawn`].
    pub async fn spawn<I, S>(&self, program: &str, args: I, fds: FdMap) -> SysResult<Pid>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Command::new(program).args(args).fds(fds).spawn(self).await
    }

    /// Starts a child running `main`, which gets the child's own `Sys`. The
    /// child inherits fds 0, 1 and 2 and the parent's argv.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) -> Result<(), syscalls::Errno> {
    /// let pid = sys.spawn_fn(|sys| async move {
    ///     let _ = sys.write(syscalls::Fd::STDOUT, b"child\n").await;
    ///     7
    /// }).await?;
    /// assert_eq!(sys.wait(pid).await?, (pid, 7));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `EAGAIN` the task table is full.
    pub fn spawn_fn<F, Fut>(&self, main: F) -> impl Future<Output = SysResult<Pid>> + '_
    where
        F: FnOnce(Sys) -> Fut + 'static,
        Fut: Future<Output = ExitCode> + 'static,
    {
        // The child's future is made here, with this task's `Sys` (the
        // kernel's one trap): the kernel gets it ready to run, one
        // allocation and no closure call.
        let request = SpawnRequest {
            image: Image::Task(Box::pin(main(self.clone()))),
            args: Vec::new(),
            fds: FdMap::stdio(),
            pgroup: PGroup::Inherit,
        };
        self.spawn_request(request)
    }

    /// Ends the calling task with `code`. Never returns.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) {
    /// match sys.exit(3).await {}
    /// # }
    /// ```
    pub async fn exit(&self, code: ExitCode) -> Infallible {
        let _ = self.trap_call(Syscall::Exit(code)).await;
        unreachable!("the kernel never answers exit")
    }

    /// Waits for the child `pid` to end and reaps it: `(pid, status)`.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys, pid: syscalls::Pid) {
    /// let (_, status) = sys.wait(pid).await.unwrap();
    /// # }
    /// ```
    ///
    /// # Errors
    /// `ECHILD` it is not the caller's child.
    pub fn wait(&self, pid: Pid) -> impl Future<Output = SysResult<(Pid, ExitCode)>> + '_ {
        let call = Syscall::Wait {
            pid: Some(pid),
            hang: true,
        };
        Call::new(self.trap_call(call), |r| waited(r)?.ok_or(Errno::ECHILD))
    }

    /// Waits for any child to end and reaps it: `(pid, status)`.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) {
    /// while let Ok((pid, status)) = sys.wait_any().await {}
    /// # }
    /// ```
    ///
    /// # Errors
    /// `ECHILD` the caller has no children.
    pub fn wait_any(&self) -> impl Future<Output = SysResult<(Pid, ExitCode)>> + '_ {
        let call = Syscall::Wait {
            pid: None,
            hang: true,
        };
        Call::new(self.trap_call(call), |r| waited(r)?.ok_or(Errno::ECHILD))
    }

    /// Reaps a child that has already ended, without blocking: `None` when
    /// none has (Unix `waitpid(-1, WNOHANG)`); `pid` names one child.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) {
    /// while let Ok(Some((pid, status))) = sys.try_wait(None).await {}
    /// # }
    /// ```
    ///
    /// # Errors
    /// `ECHILD` the caller has no such child (or none at all).
    pub fn try_wait(
        &self,
        pid: Option<Pid>,
    ) -> impl Future<Output = SysResult<Option<(Pid, ExitCode)>>> + '_ {
        Call::new(self.trap_call(Syscall::Wait { pid, hang: false }), waited)
    }

    /// Sends `signal` to `pid`, which ends with status `128 + signal`.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys, pid: syscalls::Pid) {
    /// sys.kill(pid, syscalls::Signal::Term).await.unwrap();
    /// # }
    /// ```
    ///
    /// # Errors
    /// `ESRCH` no such task; `EPERM` pid 1.
    pub async fn kill(&self, pid: Pid, signal: Signal) -> SysResult<()> {
        unit(self.trap_call(Syscall::Kill(pid, signal)).await)
    }

    /// Sends `signal` to every task of the group `pgid`.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys, leader: syscalls::Pid) {
    /// let _ = sys.kill_group(leader, syscalls::Signal::Int).await;
    /// # }
    /// ```
    ///
    /// # Errors
    /// `ESRCH` no live task in that group.
    pub async fn kill_group(&self, pgid: Pid, signal: Signal) -> SysResult<()> {
        unit(self.trap_call(Syscall::KillGroup(pgid, signal)).await)
    }

    /// The caller's pid.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) {
    /// let me = sys.getpid().await;
    /// # }
    /// ```
    pub fn getpid(&self) -> impl Future<Output = Pid> + '_ {
        Call::new(self.trap_call(Syscall::GetPid), |r| match r {
            Ok(Reply::Pid(pid)) => pid,
            other => unexpected("getpid", other),
        })
    }

    /// The caller's parent's pid.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) {
    /// let parent = sys.getppid().await;
    /// # }
    /// ```
    pub async fn getppid(&self) -> Pid {
        match self.trap_call(Syscall::GetPPid).await {
            Ok(Reply::Pid(pid)) => pid,
            other => unexpected("getppid", other),
        }
    }

    /// Sleeps for at least `duration`.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) {
    /// sys.sleep(std::time::Duration::from_millis(10)).await.unwrap();
    /// # }
    /// ```
    ///
    /// # Errors
    /// `ETIMEDOUT` never for a plain sleep; kept for deadlines set around it.
    pub fn sleep(&self, duration: Duration) -> impl Future<Output = SysResult<()>> + '_ {
        Call::new(self.trap_call(Syscall::Sleep(duration)), unit)
    }

    /// The kernel's clock: time since boot.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) {
    /// let t0 = sys.now().await;
    /// # }
    /// ```
    pub fn now(&self) -> impl Future<Output = Duration> + '_ {
        Call::new(self.trap_call(Syscall::Now), |r| match r {
            Ok(Reply::Time(ns)) => Duration::from_nanos(ns),
            other => unexpected("now", other),
        })
    }

    /// Sets the caller's deadline (see [`Syscall::SetDeadline`]) and
    /// returns the one it replaces. Prefer [`Sys::timeout`].
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) {
    /// let before = sys.set_deadline(None).await;
    /// # }
    /// ```
    pub fn set_deadline(
        &self,
        at: Option<Duration>,
    ) -> impl Future<Output = Option<Duration>> + '_ {
        Call::new(self.trap_call(Syscall::SetDeadline(at)), deadline)
    }

    /// Runs `work` with a deadline `limit` from now (asyncio's `wait_for`):
    /// a system call of `work` still blocked then returns `ETIMEDOUT`, and
    /// `work` goes on from there. An outer deadline that comes earlier
    /// stays in force; the one before is restored afterwards.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys, pid: syscalls::Pid) {
    /// use std::time::Duration;
    /// let mut buf = [0u8; 64];
    /// match sys.timeout(Duration::from_secs(1), sys.read(syscalls::Fd::STDIN, &mut buf)).await {
    ///     Err(syscalls::Errno::ETIMEDOUT) => { /* nothing came in a second */ }
    ///     other => { let _ = other; }
    /// }
    /// let waited = sys.timeout(Duration::from_millis(500), sys.wait(pid)).await;
    /// # }
    /// ```
    pub async fn timeout<F: Future>(&self, limit: Duration, work: F) -> F::Output {
        let outer = Call::new(self.trap_call(Syscall::DeadlineIn(limit)), deadline).await;
        let out = work.await;
        self.set_deadline(outer).await;
        out
    }

    /// Lets every task that is ready run before the caller runs again.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) {
    /// sys.yield_now().await;
    /// # }
    /// ```
    pub fn yield_now(&self) -> impl Future<Output = ()> + '_ {
        Call::new(self.trap_call(Syscall::Yield), |reply| {
            // Its answer is `Unit`, which owns nothing: forgotten, not
            // dropped by a call to `Reply`'s drop glue (22 of a yield's 546
            // instructions).
            let reply = std::mem::ManuallyDrop::new(reply);
            if !matches!(*reply, Ok(Reply::Unit)) {
                drop(std::mem::ManuallyDrop::into_inner(reply));
            }
        })
    }

    /// A pipe with the default 64 KiB buffer: `(read end, write end)`.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) -> Result<(), syscalls::Errno> {
    /// let (r, w) = sys.pipe().await?;
    /// sys.write(w, b"x").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `EMFILE` the descriptor table is full.
    pub async fn pipe(&self) -> SysResult<(Fd, Fd)> {
        self.pipe_with_capacity(0).await
    }

    /// A pipe whose buffer holds `capacity` bytes.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) -> Result<(), syscalls::Errno> {
    /// let (r, w) = sys.pipe_with_capacity(16).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `EMFILE` table full; `EINVAL` capacity over the kernel's limit.
    pub async fn pipe_with_capacity(&self, capacity: usize) -> SysResult<(Fd, Fd)> {
        match self.trap_call(Syscall::Pipe { capacity }).await? {
            Reply::Pipe(r, w) => Ok((r, w)),
            other => unexpected("pipe", Ok(other)),
        }
    }

    /// Reads up to `buf.len()` bytes; 0 means end-of-file.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) -> Result<(), syscalls::Errno> {
    /// let mut buf = [0u8; 512];
    /// let n = sys.read(syscalls::Fd::STDIN, &mut buf).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `EBADF` fd not open for reading.
    pub fn read<'a>(
        &'a self,
        fd: Fd,
        buf: &'a mut [u8],
    ) -> impl Future<Output = SysResult<usize>> + 'a {
        // The bytes move into `buf` in a poll of the returned future, which
        // keeps it borrowed (`trap.rs`).
        let call = Syscall::Read {
            fd,
            buf: buf.as_mut_ptr(),
            len: buf.len(),
        };
        Call::new(self.trap_call(call), size)
    }

    /// Writes some of `buf` (at least one byte unless `buf` is empty) and
    /// says how many.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) -> Result<(), syscalls::Errno> {
    /// let n = sys.write(syscalls::Fd::STDOUT, b"hi\n").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `EBADF` fd not open for writing; `EPIPE` no reader left.
    pub fn write<'a>(
        &'a self,
        fd: Fd,
        buf: &'a [u8],
    ) -> impl Future<Output = SysResult<usize>> + 'a {
        let call = Syscall::Write {
            fd,
            buf: buf.as_ptr(),
            len: buf.len(),
            done: 0,
        };
        Call::new(self.trap_call(call), size)
    }

    /// Writes all of `buf`, in as many writes as it takes.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) -> Result<(), syscalls::Errno> {
    /// sys.write_all(syscalls::Fd::STDOUT, b"all of it\n").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Sys::write`]; bytes before the failure were written.
    pub async fn write_all(&self, fd: Fd, mut buf: &[u8]) -> SysResult<()> {
        while !buf.is_empty() {
            match self.write(fd, buf).await? {
                // A write that takes nothing would loop for ever.
                0 => return Err(Errno::EIO),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    /// Writes `text` to standard output.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) -> Result<(), syscalls::Errno> {
    /// sys.print("hello\n").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Sys::write`].
    pub async fn print(&self, text: &str) -> SysResult<()> {
        self.write_all(Fd::STDOUT, text.as_bytes()).await
    }

    /// Writes `text` to standard error.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) {
    /// let _ = sys.eprint("cat: nosuch: no such file or directory\n").await;
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Sys::write`].
    pub async fn eprint(&self, text: &str) -> SysResult<()> {
        self.write_all(Fd::STDERR, text.as_bytes()).await
    }

    /// Reads until end-of-file, appending to `out`; returns the count read.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) -> Result<(), syscalls::Errno> {
    /// let mut all = Vec::new();
    /// sys.read_to_end(syscalls::Fd::STDIN, &mut all).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Sys::read`].
    pub async fn read_to_end(&self, fd: Fd, out: &mut Vec<u8>) -> SysResult<usize> {
        let mut buf = vec![0u8; 16 * 1024];
        let start = out.len();
        loop {
            let n = self.read(fd, &mut buf).await?;
            if n == 0 {
                return Ok(out.len() - start);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    /// Closes `fd`.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys, fd: syscalls::Fd) {
    /// sys.close(fd).await.unwrap();
    /// # }
    /// ```
    ///
    /// # Errors
    /// `EBADF` fd not open.
    pub fn close(&self, fd: Fd) -> impl Future<Output = SysResult<()>> + '_ {
        Call::new(self.trap_call(Syscall::Close(fd)), unit)
    }

    /// Makes `to` a copy of `from` (closing what `to` was).
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys, w: syscalls::Fd) {
    /// sys.dup2(w, syscalls::Fd::STDOUT).await.unwrap();
    /// # }
    /// ```
    ///
    /// # Errors
    /// `EBADF` from not open, or `to` beyond the table's limit.
    pub async fn dup2(&self, from: Fd, to: Fd) -> SysResult<Fd> {
        fd(self.trap_call(Syscall::Dup2(from, to)).await)
    }

    /// Copies `fd` to the lowest free descriptor.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) {
    /// let copy = sys.dup(syscalls::Fd::STDOUT).await.unwrap();
    /// # }
    /// ```
    ///
    /// # Errors
    /// `EBADF` fd not open; `EMFILE` table full.
    pub async fn dup(&self, from: Fd) -> SysResult<Fd> {
        fd(self.trap_call(Syscall::Dup(from)).await)
    }

    /// Waits until one of `fds` is ready for what it asks, or `timeout`
    /// passes (`None`: no limit); returns how many are ready (0: the time
    /// ran out) with each entry's `ready` filled in.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys, a: syscalls::Fd, b: syscalls::Fd) -> Result<(), syscalls::Errno> {
    /// use syscalls::{Interest, PollFd};
    /// let mut fds = [PollFd::new(a, Interest::READ), PollFd::new(b, Interest::READ)];
    /// let n = sys.poll(&mut fds, Some(std::time::Duration::from_secs(1))).await?;
    /// if fds[0].ready.read { /* a has bytes, or end-of-file */ }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `EBADF` an fd not open.
    pub async fn poll(&self, fds: &mut [PollFd], timeout: Option<Duration>) -> SysResult<usize> {
        let call = Syscall::Poll {
            fds: fds.as_mut_ptr(),
            len: fds.len(),
        };
        let waited = match timeout {
            Some(limit) => {
                self.timeout(limit, Call::new(self.trap_call(call), size))
                    .await
            }
            None => size(self.trap_call(call).await),
        };
        match waited {
            Err(Errno::ETIMEDOUT) => Ok(0),
            other => other,
        }
    }

    /// Runs `job` on a host thread of the kernel's pool for blocking work
    /// and returns what it returned, while the rest of coos runs on
    /// (asyncio's `run_in_executor`): for a host call that would block,
    /// such as resolving a host name, or a long computation.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) -> Result<(), syscalls::Errno> {
    /// let sum = sys.run_blocking(|| (1..=1_000_000u64).sum::<u64>()).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `EAGAIN` no pool thread could be started; `EIO` the job panicked.
    pub async fn run_blocking<T, F>(&self, job: F) -> SysResult<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let result = Arc::new(Mutex::new(None));
        let slot = result.clone();
        let job = Box::new(move || {
            let value = job();
            if let Ok(mut slot) = slot.lock() {
                *slot = Some(value);
            }
        });
        let mut job: Option<Box<dyn FnOnce() + Send>> = Some(job);
        // The job moves into the kernel's slot in the poll that traps.
        unit(self.trap_call(Syscall::Blocking(&mut job)).await)?;
        let value = result.lock().ok().and_then(|mut slot| slot.take());
        value.ok_or(Errno::EIO)
    }

    /// The addresses of `host:port` (`"localhost:8080"`), resolved on the
    /// blocking pool (getaddrinfo); an `IP:PORT` comes back as it is.
    ///
    /// # Errors
    /// `EINVAL` not `host:port`; `ENOENT` the name does not resolve.
    pub async fn resolve(&self, addr: &str) -> SysResult<Vec<SocketAddr>> {
        if let Ok(literal) = addr.parse::<SocketAddr>() {
            return Ok(vec![literal]);
        }
        if addr
            .rsplit_once(':')
            .is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err())
        {
            return Err(Errno::EINVAL);
        }
        let name = addr.to_string();
        let found = self
            .run_blocking(move || name.to_socket_addrs().map(Iterator::collect::<Vec<_>>))
            .await?;
        match found {
            Ok(addrs) if !addrs.is_empty() => Ok(addrs),
            _ => Err(Errno::ENOENT),
        }
    }

    /// Listens for TCP connections on `addr` (`"127.0.0.1:8080"`; port 0
    /// picks a free one: see [`Sys::local_addr`]).
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) -> Result<(), syscalls::Errno> {
    /// let listener = sys.listen("127.0.0.1:0").await?;
    /// let conn = sys.accept(listener).await?;
    /// sys.write_all(conn, b"hello\n").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `EINVAL` not an `IP:PORT`; `EADDRINUSE`; `EMFILE`.
    pub async fn listen(&self, addr: &str) -> SysResult<Fd> {
        let call = Syscall::Listen {
            addr: addr.as_ptr(),
            len: addr.len(),
        };
        // `addr` is copied into the kernel's slot in the poll that traps.
        fd(self.trap_call(call).await)
    }

    /// Waits for and takes the next connection of a listening socket.
    ///
    /// # Errors
    /// `EBADF`; `ENOTSOCK`/`EINVAL` not listening; `EMFILE`.
    pub async fn accept(&self, listener: Fd) -> SysResult<Fd> {
        fd(self.trap_call(Syscall::Accept(listener)).await)
    }

    /// Connects to `addr` (`"127.0.0.1:8080"`, or `"localhost:8080"`: a
    /// host name is resolved with [`Sys::resolve`]).
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) -> Result<(), syscalls::Errno> {
    /// let conn = sys.connect("127.0.0.1:8080").await?;
    /// sys.write_all(conn, b"GET / HTTP/1.0\r\n\r\n").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `EINVAL`; `ENOENT` no such host; `ECONNREFUSED`; `ENETUNREACH`;
    /// `ETIMEDOUT`; `EMFILE`.
    pub async fn connect(&self, addr: &str) -> SysResult<Fd> {
        let mut last = Errno::ENOENT;
        // A host name is resolved first; each address is tried in turn.
        for addr in self.resolve(addr).await? {
            let text = addr.to_string();
            let call = Syscall::Connect {
                addr: text.as_ptr(),
                len: text.len(),
            };
            // Copied into the kernel's slot in the poll that traps.
            match fd(self.trap_call(call).await) {
                Ok(fd) => return Ok(fd),
                Err(Errno::ETIMEDOUT) => return Err(Errno::ETIMEDOUT),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Stops reading, writing or both on a connected socket.
    ///
    /// # Errors
    /// `EBADF`; `ENOTSOCK`; `ENOTCONN`.
    pub async fn shutdown(&self, socket: Fd, how: Shutdown) -> SysResult<()> {
        unit(self.trap_call(Syscall::Shutdown(socket, how)).await)
    }

    /// The local address of a socket, `"127.0.0.1:40123"`.
    ///
    /// # Errors
    /// `EBADF`; `ENOTSOCK`.
    pub async fn local_addr(&self, socket: Fd) -> SysResult<String> {
        match self.trap_call(Syscall::LocalAddr(socket)).await? {
            Reply::Addr(addr) => Ok(*addr),
            other => unexpected("getsockname", Ok(other)),
        }
    }

    /// Opens a device: so far only `/dev/null`.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) -> Result<(), syscalls::Errno> {
    /// let null = sys.open("/dev/null").await?;
    /// assert_eq!(sys.read(null, &mut [0u8; 8]).await?, 0);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `ENOENT` no such device; `EMFILE` table full.
    pub async fn open(&self, path: &str) -> SysResult<Fd> {
        let call = Syscall::Open {
            path: path.as_ptr(),
            len: path.len(),
        };
        // `path` is copied into the kernel's slot in the poll that traps.
        fd(self.trap_call(call).await)
    }

    /// A snapshot of the task table, by pid.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) {
    /// for t in sys.tasks().await { let _ = (t.pid, t.state); }
    /// # }
    /// ```
    pub async fn tasks(&self) -> Vec<TaskInfo> {
        match self.trap_call(Syscall::Tasks).await {
            Ok(Reply::Tasks(tasks)) => *tasks,
            other => unexpected("tasks", other),
        }
    }

    /// The coos process's memory use on the host.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) {
    /// let kb = sys.usage().await.peak_rss_kb;
    /// # }
    /// ```
    pub async fn usage(&self) -> Usage {
        match self.trap_call(Syscall::Usage).await {
            Ok(Reply::Usage(u)) => *u,
            other => unexpected("usage", other),
        }
    }

    /// The program registry.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) {
    /// for p in sys.programs().await { let _ = (p.name, p.about); }
    /// # }
    /// ```
    pub async fn programs(&self) -> Vec<ProgramInfo> {
        match self.trap_call(Syscall::Programs).await {
            Ok(Reply::Programs(list)) => *list,
            other => unexpected("programs", other),
        }
    }

    /// Is `fd` the interactive console?
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) {
    /// let interactive = sys.is_terminal(syscalls::Fd::STDIN).await.unwrap_or(false);
    /// # }
    /// ```
    ///
    /// # Errors
    /// `EBADF` fd not open.
    pub async fn is_terminal(&self, fd: Fd) -> SysResult<bool> {
        match self.trap_call(Syscall::IsTerminal(fd)).await? {
            Reply::Bool(b) => Ok(b),
            other => unexpected("isatty", Ok(other)),
        }
    }

    /// Makes `pgid` the foreground group of the console `fd`.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys, job: syscalls::Pid) {
    /// let _ = sys.set_foreground(syscalls::Fd::STDIN, job).await;
    /// # }
    /// ```
    ///
    /// # Errors
    /// `EBADF` fd not open; `ENOTTY` not the console.
    pub async fn set_foreground(&self, fd: Fd, pgid: Pid) -> SysResult<()> {
        unit(self.trap_call(Syscall::SetForeground(fd, pgid)).await)
    }
}

/// The future of a spawn: the request lives in it until the poll that
/// traps moves it into the kernel's slot. Written out rather than an
/// `async` block: that one picked its way on through a jump table over
/// its states, an indirect branch that went the other way on each of a
/// spawn's two polls.
struct SpawnCall<'a> {
    /// The call, once the first poll made it. Before `request`: it
    /// points at the request, and is dropped first.
    call: Option<TrapCall<'a>>,
    request: LentRequest,
    sys: &'a Sys,
}

impl Future for SpawnCall<'_> {
    type Output = SysResult<Pid>;

    // A function of its own, as the async block's was: inlined into the
    // caller's future (skynet's node), it ran 1.3% slower there with 60
    // instructions a task fewer (layout; measured, not understood).
    #[inline(never)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SysResult<Pid>> {
        // SAFETY: nothing is moved out of the pinned future: `call` is
        // made in place and stays there (structural pinning), and the
        // request it points at stays where it is.
        let this = unsafe { self.get_unchecked_mut() };
        let sys = this.sys;
        let call = match &mut this.call {
            Some(call) => call,
            none => none.insert(sys.trap_call(Syscall::Spawn(&mut *this.request.0))),
        };
        // SAFETY: as above, `call` is never moved.
        match unsafe { Pin::new_unchecked(call) }.poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(reply) => Poll::Ready(match reply? {
                Reply::Pid(pid) => Ok(pid),
                other => unexpected("spawn", Ok(other)),
            }),
        }
    }
}

/// A spawn request in the caller's future until the kernel takes it,
/// which it almost always has by the time the future is dropped: the
/// check for that is made in line, not in a call to the drop glue of
/// `Option<SpawnRequest>` (19 instructions a spawn for a `None`).
struct LentRequest(ManuallyDrop<Option<SpawnRequest>>);

impl Drop for LentRequest {
    #[inline]
    fn drop(&mut self) {
        if self.0.is_some() {
            // SAFETY: dropped once, here, and never used after.
            unsafe { ManuallyDrop::drop(&mut self.0) }
        }
    }
}

/// A child to start, built up like `std::process::Command`.
///
/// ```
/// # async fn f(sys: syscalls::Sys, w: syscalls::Fd) -> Result<(), syscalls::Errno> {
/// use syscalls::{Command, Fd, FdMap, PGroup};
/// let pid = Command::new("wc")
///     .arg("-l")
///     .fds(FdMap::stdio().set(Fd::STDOUT, w))
///     .pgroup(PGroup::New)
///     .spawn(&sys)
///     .await?;
/// # Ok(()) }
/// ```
pub struct Command {
    image: Image,
    /// argv[0]: the program's name, or a name given to a `from_fn` child.
    name: Option<String>,
    /// argv[1..].
    args: Vec<String>,
    fds: FdMap,
    pgroup: PGroup,
}

impl Command {
    // The builder's small steps (this, `from_future`, `fds`, `pgroup`, and
    // `FdMap`'s) are always in line: a command built in memory by narrow
    // stores and then moved whole into the request stalls on the wide
    // loads of the move (skynet: 186.5 -> 168.1 ns a task without it).
    #[inline(always)]
    fn with_image(image: Image, name: Option<String>) -> Command {
        Command {
            image,
            name,
            args: Vec::new(),
            fds: FdMap::stdio(),
            pgroup: PGroup::Inherit,
        }
    }

    /// The registered program `program`, with no arguments yet.
    pub fn new(program: &str) -> Command {
        Command::with_image(
            Image::Program(program.to_string()),
            Some(program.to_string()),
        )
    }

    /// A child that runs `main` with its own `Sys`. Unless named, it shows
    /// its parent's argv (as after a Unix `fork`).
    pub fn from_fn<F, Fut>(main: F) -> Command
    where
        F: FnOnce(Sys) -> Fut + 'static,
        Fut: Future<Output = ExitCode> + 'static,
    {
        Command::with_image(Image::Fn(Box::new(move |sys| Box::pin(main(sys)))), None)
    }

    /// A child that runs the boxed future `main` makes. For recursive task
    /// trees, whose closures cannot name their own future type: the future
    /// is boxed once, here, instead of once more by the kernel.
    pub fn from_task<F>(main: F) -> Command
    where
        F: FnOnce(Sys) -> TaskFuture + 'static,
    {
        Command::with_image(Image::Fn(Box::new(main)), None)
    }

    /// A child that runs `main`, a future made with a clone of the parent's
    /// `Sys` (every task of a kernel traps through the same one). The
    /// cheapest way to start a recursive tree of tasks: nothing is boxed
    /// but the future.
    ///
    /// ```
    /// # async fn f(sys: syscalls::Sys) -> Result<(), syscalls::Errno> {
    /// use syscalls::{Command, Sys};
    /// fn countdown(sys: Sys, n: u8) -> syscalls::TaskFuture {
    ///     Box::pin(async move {
    ///         if n > 0 {
    ///             let child = Command::from_future(countdown(sys.clone(), n - 1));
    ///             let Ok(pid) = child.spawn(&sys).await else { return 1 };
    ///             let _ = sys.wait(pid).await;
    ///         }
    ///         n
    ///     })
    /// }
    /// let pid = Command::from_future(countdown(sys.clone(), 3)).spawn(&sys).await?;
    /// assert_eq!(sys.wait(pid).await?, (pid, 3));
    /// # Ok(()) }
    /// ```
    #[inline(always)]
    pub fn from_future(main: TaskFuture) -> Command {
        Command::with_image(Image::Task(main), None)
    }

    /// Adds one argument (argv[1], argv[2], …).
    pub fn arg(mut self, arg: impl Into<String>) -> Command {
        self.args.push(arg.into());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets argv[0], the name `ps` shows (for a program, its name by default).
    pub fn name(mut self, name: impl Into<String>) -> Command {
        self.name = Some(name.into());
        self
    }

    /// The child's descriptors.
    #[inline(always)]
    pub fn fds(mut self, fds: FdMap) -> Command {
        self.fds = fds;
        self
    }

    /// The child's process group.
    #[inline(always)]
    pub fn pgroup(mut self, pgroup: PGroup) -> Command {
        self.pgroup = pgroup;
        self
    }

    /// The request this command makes (for a kernel starting its first
    /// program, or a program that builds `Syscall::Spawn` itself).
    // Always in line (with `spawn`): a nameless, argless command (a
    // `from_future` child) then builds no Vec, and the request is made
    // where the spawn future holds it, not copied there through a
    // memcpy (skynet: 186 ns a task, not 198; `#[inline]` alone left
    // both calls in the caller, a big future).
    #[inline(always)]
    pub fn into_request(self) -> SpawnRequest {
        // A nameless, argless `from_fn` child inherits its parent's argv.
        let args = match (self.name, self.args.is_empty()) {
            (None, true) => Vec::new(),
            (name, _) => std::iter::once(name.unwrap_or_default())
                .chain(self.args)
                .collect(),
        };
        SpawnRequest {
            image: self.image,
            args,
            fds: self.fds,
            pgroup: self.pgroup,
        }
    }

    /// Starts the child.
    ///
    /// # Errors
    /// See [`Syscall::Spawn`].
    // Always in line: see `into_request`.
    #[inline(always)]
    pub fn spawn(self, sys: &Sys) -> impl Future<Output = SysResult<Pid>> + '_ {
        // Not an async fn: the future holds the request alone, not the
        // command as well.
        sys.spawn_request(self.into_request())
    }
}

fn unexpected<T>(call: &str, reply: SysResult<Reply>) -> T {
    panic!("kernel answered {call} with {reply:?}")
}

/// The deadline a `SetDeadline` or `DeadlineIn` replaced.
fn deadline(reply: SysResult<Reply>) -> Option<Duration> {
    match reply {
        Ok(Reply::Time(u64::MAX)) => None,
        Ok(Reply::Time(ns)) => Some(Duration::from_nanos(ns)),
        other => unexpected("setdeadline", other),
    }
}

fn unit(reply: SysResult<Reply>) -> SysResult<()> {
    match reply? {
        Reply::Unit => Ok(()),
        other => unexpected("a call", Ok(other)),
    }
}

fn size(reply: SysResult<Reply>) -> SysResult<usize> {
    match reply? {
        Reply::Size(n) => Ok(n),
        other => unexpected("read/write", Ok(other)),
    }
}

fn fd(reply: SysResult<Reply>) -> SysResult<Fd> {
    match reply? {
        Reply::Fd(fd) => Ok(fd),
        other => unexpected("dup", Ok(other)),
    }
}

fn waited(reply: SysResult<Reply>) -> SysResult<Option<(Pid, ExitCode)>> {
    // The answers a wait gets own nothing: matched where they are and
    // forgotten, not dropped by a call to `Reply`'s drop glue (22
    // instructions a wait), as `yield_now`'s.
    let reply = std::mem::ManuallyDrop::new(reply);
    match *reply {
        Ok(Reply::Waited(pid, code)) => Ok(Some((pid, code))),
        Ok(Reply::Unit) => Ok(None),
        Err(e) => Err(e),
        _ => unexpected("wait", std::mem::ManuallyDrop::into_inner(reply)),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::pin::pin;

    use super::*;

    /// A spawn request whose closure counts its drops in `drops`.
    fn counted(drops: &Rc<Cell<u32>>) -> SpawnRequest {
        struct Count(Rc<Cell<u32>>);
        impl Drop for Count {
            fn drop(&mut self) {
                self.0.set(self.0.get() + 1);
            }
        }
        let count = Count(drops.clone());
        Command::from_fn(move |_| {
            let _count = count;
            async { 0 }
        })
        .into_request()
    }

    #[test]
    fn a_spawn_future_drops_its_request_once_whether_polled_or_not() {
        let sys = Sys::new(Rc::new(Trap::new()));
        let drops = Rc::new(Cell::new(0));
        drop(sys.spawn_request(counted(&drops)));
        assert_eq!(drops.get(), 1, "dropped unpolled");

        let mut cx = Context::from_waker(std::task::Waker::noop());
        {
            let mut call = pin!(sys.spawn_request(counted(&drops)));
            assert!(call.as_mut().poll(&mut cx).is_pending());
            assert_eq!(drops.get(), 1, "in the trap, not dropped");
        }
        assert_eq!(drops.get(), 2, "withdrawn from the trap and dropped");
        assert!(sys.trap.take_spawn().is_none());
    }
}
