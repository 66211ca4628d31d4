//! A fake kernel for unit tests (compiled only under `cfg(test)`): enough of
//! the system-call interface to run a program, or a closure, on a scripted
//! standard input and capture what it writes, with real pipes, child tasks,
//! `wait`, `kill` and a virtual clock. It is not the coos kernel: it exists
//! so programs can be tested before, and apart from, the real one.
//!
//! Scheduling is round-robin in pid order, one system call per task per
//! turn; time stands still until every task is blocked, then jumps to the
//! next sleeper's deadline. Pipe writes of at most [`PIPE_BUF`] bytes are
//! never split, and reads return whatever is buffered up to their length:
//! the Unix rules the coos kernel keeps too.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use syscalls::{
    Errno, ExitCode, Fd, Image, PGroup, Pid, ProgramInfo, Reply, Sys, SysResult, Syscall,
    TaskFuture, TaskInfo, TaskState, Trap,
};

/// Writes of at most this many bytes to a pipe are atomic.
pub const PIPE_BUF: usize = 4096;
/// The default pipe buffer.
const PIPE_CAPACITY: usize = 64 * 1024;
/// Descriptors per task.
const MAX_FDS: u32 = 64;

/// What a run left behind.
#[derive(Debug)]
pub struct Outcome {
    /// The first task's status.
    pub status: ExitCode,
    /// Everything written to standard output.
    pub stdout: String,
    /// Everything written to standard error.
    pub stderr: String,
    /// How many write calls reached standard output.
    pub stdout_writes: usize,
    /// Tasks still in the table at the end (the first task excepted):
    /// children nobody reaped, or tasks still blocked.
    pub leftover_tasks: usize,
    /// The virtual clock at the end.
    pub clock: Duration,
    /// For [`Sim::pipeline`]: every stage's status, in order.
    pub statuses: Vec<ExitCode>,
}

/// A run to set up: its standard input and how standard output behaves.
pub struct Sim {
    stdin: Vec<u8>,
    stdout_limit: Option<usize>,
    max_tasks: usize,
}

/// Runs the registered program `argv[0]` with `stdin` as its input.
pub fn run(argv: &[&str], stdin: &str) -> Outcome {
    Sim::new().stdin(stdin).run(argv)
}

impl Sim {
    /// Empty standard input, unlimited standard output.
    pub fn new() -> Sim {
        Sim {
            stdin: Vec::new(),
            stdout_limit: None,
            max_tasks: 100_000,
        }
    }

    /// What standard input holds (then end-of-file).
    pub fn stdin(mut self, bytes: impl AsRef<[u8]>) -> Sim {
        self.stdin = bytes.as_ref().to_vec();
        self
    }

    /// Standard output's reader goes away after `n` bytes: later writes fail
    /// with `EPIPE` (`prog | head -c n`).
    pub fn stdout_closes_after(mut self, n: usize) -> Sim {
        self.stdout_limit = Some(n);
        self
    }

    /// At most `n` tasks at once; `spawn` beyond that answers `EAGAIN`.
    pub fn max_tasks(mut self, n: usize) -> Sim {
        self.max_tasks = n;
        self
    }

    /// Runs the registered program `argv[0]`.
    pub fn run(self, argv: &[&str]) -> Outcome {
        let program = crate::registry()
            .into_iter()
            .find(|p| p.name == argv[0])
            .unwrap_or_else(|| panic!("no program {:?}", argv[0]));
        let args: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        self.boot(args.clone(), move |sys| (program.main)(sys, args))
    }

    /// Runs `main` as the first task.
    pub fn run_fn<F, Fut>(self, main: F) -> Outcome
    where
        F: FnOnce(Sys) -> Fut + 'static,
        Fut: Future<Output = ExitCode> + 'static,
    {
        self.boot(vec!["test".into()], move |sys| Box::pin(main(sys)))
    }

    /// Runs a pipeline of registered programs, `a | b | c`: standard input
    /// feeds the first, the last writes standard output. `status` is the
    /// last stage's, `statuses` holds them all.
    pub fn pipeline(self, stages: &[&[&str]]) -> Outcome {
        let stages: Vec<Vec<String>> = stages
            .iter()
            .map(|argv| argv.iter().map(|s| s.to_string()).collect())
            .collect();
        let statuses = Rc::new(RefCell::new(Vec::new()));
        let record = statuses.clone();
        let mut out = self.run_fn(move |sys| async move {
            let mut input = Fd::STDIN;
            let mut pids = Vec::new();
            for (i, argv) in stages.iter().enumerate() {
                let last = i + 1 == stages.len();
                let (r, w) = if last {
                    (None, Fd::STDOUT)
                } else {
                    let (r, w) = sys.pipe().await.expect("pipe");
                    (Some(r), w)
                };
                let fds = syscalls::FdMap::stdio()
                    .set(Fd::STDIN, input)
                    .set(Fd::STDOUT, w);
                let pid = syscalls::Command::new(&argv[0])
                    .args(argv[1..].iter().cloned())
                    .fds(fds)
                    .spawn(&sys)
                    .await
                    .expect("spawn");
                pids.push(pid);
                if input != Fd::STDIN {
                    sys.close(input).await.expect("close");
                }
                if let Some(r) = r {
                    sys.close(w).await.expect("close");
                    input = r;
                }
            }
            for pid in pids {
                let (_, status) = sys.wait(pid).await.expect("wait");
                record.borrow_mut().push(status);
            }
            let last = *record.borrow().last().expect("a stage");
            last
        });
        out.statuses = statuses.take();
        out
    }

    fn boot(self, args: Vec<String>, main: impl FnOnce(Sys) -> TaskFuture) -> Outcome {
        let trap = Rc::new(Trap::new());
        let stdin = Pipe::new(PIPE_CAPACITY.max(self.stdin.len()));
        stdin.borrow_mut().buf.extend(self.stdin.iter().copied());
        let stdout = Rc::new(RefCell::new(Sink {
            data: Vec::new(),
            limit: self.stdout_limit,
            writes: 0,
        }));
        let stderr = Rc::new(RefCell::new(Sink {
            data: Vec::new(),
            limit: None,
            writes: 0,
        }));
        let mut fds = BTreeMap::new();
        fds.insert(0, Object::Pipe(PipeEnd::new(&stdin, false)));
        fds.insert(1, Object::Sink(stdout.clone()));
        fds.insert(2, Object::Sink(stderr.clone()));
        let mut kernel = Kernel {
            trap: trap.clone(),
            tasks: BTreeMap::new(),
            next_pid: 1,
            clock: Duration::ZERO,
            max_tasks: self.max_tasks,
            budget: POLL_BUDGET,
        };
        let future = main(Sys::new(trap));
        let root = kernel.add_task(Pid(0), Pid(0), args, fds, future);
        kernel.run();
        let status = match kernel.tasks.get(&root).map(|t| &t.life) {
            Some(Life::Zombie(code)) => *code,
            _ => panic!("deadlock: every task is blocked:\n{}", kernel.table()),
        };
        let leftover_tasks = kernel.tasks.len() - 1;
        // Drop the tasks (and the buffers their calls point into) first.
        kernel.tasks.clear();
        let stderr = String::from_utf8_lossy(&stderr.borrow().data).into_owned();
        let stdout = stdout.borrow();
        Outcome {
            status,
            stdout: String::from_utf8_lossy(&stdout.data).into_owned(),
            stderr,
            stdout_writes: stdout.writes,
            leftover_tasks,
            clock: kernel.clock,
            statuses: Vec::new(),
        }
    }
}

struct Pipe {
    buf: VecDeque<u8>,
    capacity: usize,
    readers: usize,
    writers: usize,
}

impl Pipe {
    fn new(capacity: usize) -> Rc<RefCell<Pipe>> {
        Rc::new(RefCell::new(Pipe {
            buf: VecDeque::new(),
            capacity,
            readers: 0,
            writers: 0,
        }))
    }
}

/// One descriptor's hold on a pipe end; the counts follow clones and drops.
struct PipeEnd {
    pipe: Rc<RefCell<Pipe>>,
    write: bool,
}

impl PipeEnd {
    fn new(pipe: &Rc<RefCell<Pipe>>, write: bool) -> PipeEnd {
        let mut p = pipe.borrow_mut();
        if write {
            p.writers += 1;
        } else {
            p.readers += 1;
        }
        drop(p);
        PipeEnd {
            pipe: pipe.clone(),
            write,
        }
    }
}

impl Clone for PipeEnd {
    fn clone(&self) -> PipeEnd {
        PipeEnd::new(&self.pipe, self.write)
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let mut p = self.pipe.borrow_mut();
        if self.write {
            p.writers -= 1;
        } else {
            p.readers -= 1;
        }
    }
}

/// Where standard output and error go.
struct Sink {
    data: Vec<u8>,
    limit: Option<usize>,
    writes: usize,
}

#[derive(Clone)]
enum Object {
    Pipe(PipeEnd),
    Sink(Rc<RefCell<Sink>>),
    /// `/dev/null`.
    Null,
}

enum Life {
    /// Runnable; `call` is the system call it waits on, if any.
    Alive {
        future: Option<TaskFuture>,
        call: Option<Syscall>,
        reply: Option<SysResult<Reply>>,
    },
    Zombie(ExitCode),
}

struct Task {
    ppid: Pid,
    pgid: Pid,
    args: Vec<String>,
    fds: BTreeMap<u32, Object>,
    life: Life,
    scheduled: u64,
    syscalls: u64,
}

struct Kernel {
    trap: Rc<Trap>,
    tasks: BTreeMap<Pid, Task>,
    next_pid: u32,
    clock: Duration,
    max_tasks: usize,
    /// Polls left before the run is declared runaway.
    budget: u64,
}

/// Polls one run may make: a test whose program never stops fails instead
/// of hanging.
const POLL_BUDGET: u64 = 50_000_000;

/// What trying a call gave.
enum Attempt {
    Done(SysResult<Reply>),
    Block,
    /// The caller is gone (it exited, or killed itself).
    Gone,
}

impl Kernel {
    fn add_task(
        &mut self,
        ppid: Pid,
        pgid: Pid,
        args: Vec<String>,
        fds: BTreeMap<u32, Object>,
        future: TaskFuture,
    ) -> Pid {
        let pid = Pid(self.next_pid);
        self.next_pid += 1;
        let pgid = if pgid.0 == 0 { pid } else { pgid };
        self.tasks.insert(
            pid,
            Task {
                ppid,
                pgid,
                args,
                fds,
                life: Life::Alive {
                    future: Some(future),
                    call: None,
                    reply: None,
                },
                scheduled: 0,
                syscalls: 0,
            },
        );
        pid
    }

    fn run(&mut self) {
        loop {
            let mut progress = false;
            let pids: Vec<Pid> = self.tasks.keys().copied().collect();
            for pid in pids {
                progress |= self.step(pid);
            }
            if progress {
                continue;
            }
            // Everyone is blocked: wake the earliest sleeper, if any.
            let deadline = self
                .tasks
                .values()
                .filter_map(|t| match &t.life {
                    Life::Alive {
                        call: Some(Syscall::Sleep(d)),
                        ..
                    } => Some(*d),
                    _ => None,
                })
                .min();
            match deadline {
                Some(d) => self.clock = d,
                None => return,
            }
        }
    }

    /// Gives `pid` one turn: completes its pending call if it can, then
    /// polls it. Whether anything happened.
    fn step(&mut self, pid: Pid) -> bool {
        let Some(task) = self.tasks.get_mut(&pid) else {
            return false;
        };
        let Life::Alive { call, .. } = &mut task.life else {
            return false;
        };
        if let Some(pending) = call.take() {
            match self.complete(pid, pending) {
                (Attempt::Gone, _) => return true,
                (Attempt::Block, pending) => {
                    if let Some(Life::Alive { call, .. }) =
                        self.tasks.get_mut(&pid).map(|t| &mut t.life)
                    {
                        *call = pending;
                    }
                    return false;
                }
                (Attempt::Done(result), _) => {
                    if let Some(Life::Alive { reply, .. }) =
                        self.tasks.get_mut(&pid).map(|t| &mut t.life)
                    {
                        *reply = Some(result);
                    }
                }
            }
        }
        self.poll(pid);
        true
    }

    fn poll(&mut self, pid: Pid) {
        let Some(task) = self.tasks.get_mut(&pid) else {
            return;
        };
        task.scheduled += 1;
        self.budget = self
            .budget
            .checked_sub(1)
            .expect("runaway test: poll budget spent");
        let Life::Alive { future, reply, .. } = &mut task.life else {
            return;
        };
        let Some(mut fut) = future.take() else {
            return;
        };
        if let Some(reply) = reply.take() {
            self.trap.put_reply(reply);
        }
        let mut cx = Context::from_waker(Waker::noop());
        let polled = fut.as_mut().poll(&mut cx);
        let request = self.trap.take_request();
        self.trap.clear();
        match polled {
            Poll::Ready(code) => {
                drop(fut);
                self.end(pid, code);
            }
            Poll::Pending => {
                let Some(request) = request else {
                    panic!("pid {pid}: returned Pending without a system call");
                };
                let task = self
                    .tasks
                    .get_mut(&pid)
                    .expect("the polled task is in the table");
                task.syscalls += 1;
                // A sleep waits for a deadline, which retries must not move.
                let request = match request {
                    Syscall::Sleep(length) => Syscall::Sleep(self.clock.saturating_add(length)),
                    other => other,
                };
                if let Life::Alive { future, call, .. } = &mut task.life {
                    *future = Some(fut);
                    *call = Some(request);
                }
            }
        }
    }

    /// Ends `pid` with `code`: drops its coroutine and descriptors, gives its
    /// children to pid 1, and leaves it a zombie.
    fn end(&mut self, pid: Pid, code: ExitCode) {
        let Some(task) = self.tasks.get_mut(&pid) else {
            return;
        };
        if matches!(task.life, Life::Zombie(_)) {
            return;
        }
        let life = std::mem::replace(&mut task.life, Life::Zombie(code));
        let fds = std::mem::take(&mut task.fds);
        drop(life);
        drop(fds);
        for t in self.tasks.values_mut() {
            if t.ppid == pid {
                t.ppid = Pid::INIT;
            }
        }
    }

    fn fd(&self, pid: Pid, fd: Fd) -> SysResult<Object> {
        self.tasks[&pid].fds.get(&fd.0).cloned().ok_or(Errno::EBADF)
    }

    fn lowest_free_fd(&self, pid: Pid) -> SysResult<u32> {
        let fds = &self.tasks[&pid].fds;
        (0..MAX_FDS)
            .find(|n| !fds.contains_key(n))
            .ok_or(Errno::EMFILE)
    }

    /// Tries `call` for `pid`. On `Block` the call comes back to be retried.
    fn complete(&mut self, pid: Pid, call: Syscall) -> (Attempt, Option<Syscall>) {
        use Attempt::{Block, Done};
        let done = |r: SysResult<Reply>| (Done(r), None);
        match call {
            Syscall::Spawn(req) => {
                let req = *req;
                done(self.spawn(pid, req))
            }
            Syscall::Exit(code) => {
                self.end(pid, code);
                (Attempt::Gone, None)
            }
            Syscall::Wait { pid: target, hang } => {
                let children: Vec<Pid> = self
                    .tasks
                    .iter()
                    .filter(|(p, t)| t.ppid == pid && target.is_none_or(|w| w == **p))
                    .map(|(p, _)| *p)
                    .collect();
                if children.is_empty() {
                    return done(Err(Errno::ECHILD));
                }
                for child in children {
                    if let Life::Zombie(code) = self.tasks[&child].life {
                        self.tasks.remove(&child);
                        return done(Ok(Reply::Waited(child, code)));
                    }
                }
                if !hang {
                    return done(Ok(Reply::Unit));
                }
                (Block, Some(Syscall::Wait { pid: target, hang }))
            }
            Syscall::Kill(target, signal) => {
                if target == Pid::INIT {
                    return done(Err(Errno::EPERM));
                }
                if !self.tasks.contains_key(&target) {
                    return done(Err(Errno::ESRCH));
                }
                self.end(target, signal.exit_code());
                if target == pid {
                    return (Attempt::Gone, None);
                }
                done(Ok(Reply::Unit))
            }
            Syscall::KillGroup(pgid, signal) => {
                let members: Vec<Pid> = self
                    .tasks
                    .iter()
                    .filter(|(p, t)| {
                        t.pgid == pgid && **p != Pid::INIT && matches!(t.life, Life::Alive { .. })
                    })
                    .map(|(p, _)| *p)
                    .collect();
                if members.is_empty() {
                    return done(Err(Errno::ESRCH));
                }
                for member in &members {
                    self.end(*member, signal.exit_code());
                }
                if members.contains(&pid) {
                    return (Attempt::Gone, None);
                }
                done(Ok(Reply::Unit))
            }
            Syscall::GetPid => done(Ok(Reply::Pid(pid))),
            Syscall::GetPPid => done(Ok(Reply::Pid(self.tasks[&pid].ppid))),
            // A pending sleep holds its deadline (see `poll`).
            Syscall::Sleep(deadline) if deadline <= self.clock => done(Ok(Reply::Unit)),
            Syscall::Sleep(deadline) => (Block, Some(Syscall::Sleep(deadline))),
            Syscall::Now => done(Ok(Reply::Time(self.clock))),
            Syscall::Yield => done(Ok(Reply::Unit)),
            Syscall::Pipe { capacity } => {
                if capacity > 1 << 20 {
                    return done(Err(Errno::EINVAL));
                }
                let capacity = if capacity == 0 {
                    PIPE_CAPACITY
                } else {
                    capacity
                };
                let pipe = Pipe::new(capacity);
                let r = match self.lowest_free_fd(pid) {
                    Ok(r) => r,
                    Err(e) => return done(Err(e)),
                };
                let fds = &mut self.tasks.get_mut(&pid).expect("caller").fds;
                fds.insert(r, Object::Pipe(PipeEnd::new(&pipe, false)));
                let w = match self.lowest_free_fd(pid) {
                    Ok(w) => w,
                    Err(e) => {
                        self.tasks.get_mut(&pid).expect("caller").fds.remove(&r);
                        return done(Err(e));
                    }
                };
                let fds = &mut self.tasks.get_mut(&pid).expect("caller").fds;
                fds.insert(w, Object::Pipe(PipeEnd::new(&pipe, true)));
                done(Ok(Reply::Pipe(Fd(r), Fd(w))))
            }
            Syscall::Read { fd, buf, len } => {
                let object = match self.fd(pid, fd) {
                    Ok(o) => o,
                    Err(e) => return done(Err(e)),
                };
                let end = match object {
                    Object::Pipe(end) => end,
                    Object::Null => return done(Ok(Reply::Size(0))),
                    Object::Sink(_) => return done(Err(Errno::EBADF)),
                };
                if end.write {
                    return done(Err(Errno::EBADF));
                }
                let mut pipe = end.pipe.borrow_mut();
                if len == 0 {
                    return done(Ok(Reply::Size(0)));
                }
                if pipe.buf.is_empty() {
                    if pipe.writers == 0 {
                        return done(Ok(Reply::Size(0)));
                    }
                    return (Block, Some(Syscall::Read { fd, buf, len }));
                }
                let n = len.min(pipe.buf.len());
                let bytes: Vec<u8> = pipe.buf.drain(..n).collect();
                // SAFETY: `buf` points into the reading task's buffer, which
                // its pending `Sys::read` future keeps borrowed, valid for
                // `len >= n` bytes.
                unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, n) };
                done(Ok(Reply::Size(n)))
            }
            Syscall::Write { fd, buf, len } => {
                let object = match self.fd(pid, fd) {
                    Ok(o) => o,
                    Err(e) => return done(Err(e)),
                };
                // SAFETY: `buf` points into the writing task's buffer, which
                // its pending `Sys::write` future keeps borrowed for `len` bytes.
                let bytes = unsafe { std::slice::from_raw_parts(buf, len) };
                match object {
                    Object::Null => done(Ok(Reply::Size(len))),
                    Object::Sink(sink) => {
                        let mut sink = sink.borrow_mut();
                        let room = sink.limit.map_or(usize::MAX, |l| l - sink.data.len());
                        if room == 0 && len > 0 {
                            return done(Err(Errno::EPIPE));
                        }
                        let n = len.min(room);
                        sink.data.extend_from_slice(&bytes[..n]);
                        sink.writes += 1;
                        done(Ok(Reply::Size(n)))
                    }
                    Object::Pipe(end) => {
                        if !end.write {
                            return done(Err(Errno::EBADF));
                        }
                        let mut pipe = end.pipe.borrow_mut();
                        if pipe.readers == 0 {
                            return done(Err(Errno::EPIPE));
                        }
                        if len == 0 {
                            return done(Ok(Reply::Size(0)));
                        }
                        let room = pipe.capacity - pipe.buf.len();
                        let atomic = len <= PIPE_BUF.min(pipe.capacity);
                        if room == 0 || (atomic && room < len) {
                            return (Block, Some(Syscall::Write { fd, buf, len }));
                        }
                        let n = len.min(room);
                        pipe.buf.extend(bytes[..n].iter().copied());
                        done(Ok(Reply::Size(n)))
                    }
                }
            }
            Syscall::Close(fd) => {
                let fds = &mut self.tasks.get_mut(&pid).expect("caller").fds;
                match fds.remove(&fd.0) {
                    Some(_) => done(Ok(Reply::Unit)),
                    None => done(Err(Errno::EBADF)),
                }
            }
            Syscall::Dup2(from, to) => {
                let object = match self.fd(pid, from) {
                    Ok(o) => o,
                    Err(e) => return done(Err(e)),
                };
                if to.0 >= MAX_FDS {
                    return done(Err(Errno::EMFILE));
                }
                let fds = &mut self.tasks.get_mut(&pid).expect("caller").fds;
                fds.insert(to.0, object);
                done(Ok(Reply::Fd(to)))
            }
            Syscall::Dup(from) => {
                let object = match self.fd(pid, from) {
                    Ok(o) => o,
                    Err(e) => return done(Err(e)),
                };
                let to = match self.lowest_free_fd(pid) {
                    Ok(n) => n,
                    Err(e) => return done(Err(e)),
                };
                let fds = &mut self.tasks.get_mut(&pid).expect("caller").fds;
                fds.insert(to, object);
                done(Ok(Reply::Fd(Fd(to))))
            }
            Syscall::Tasks => done(Ok(Reply::Tasks(self.table_rows(pid)))),
            Syscall::Programs => done(Ok(Reply::Programs(
                crate::registry()
                    .into_iter()
                    .map(|p| ProgramInfo {
                        name: p.name.into(),
                        about: p.about.into(),
                    })
                    .collect(),
            ))),
            Syscall::IsTerminal(fd) => done(self.fd(pid, fd).map(|_| Reply::Bool(false))),
            Syscall::SetForeground(fd, _) => done(self.fd(pid, fd).and(Err(Errno::ENOTTY))),
            Syscall::Open(path) => {
                if path != "/dev/null" {
                    return done(Err(Errno::ENOENT));
                }
                let fd = match self.lowest_free_fd(pid) {
                    Ok(n) => n,
                    Err(e) => return done(Err(e)),
                };
                let fds = &mut self.tasks.get_mut(&pid).expect("caller").fds;
                fds.insert(fd, Object::Null);
                done(Ok(Reply::Fd(Fd(fd))))
            }
            // The interface grows while this fake does not know the new call
            // yet: it fails the call rather than the build.
            #[allow(unreachable_patterns)]
            _ => done(Err(Errno::EINVAL)),
        }
    }

    fn spawn(&mut self, parent: Pid, req: syscalls::SpawnRequest) -> SysResult<Reply> {
        let live = self
            .tasks
            .values()
            .filter(|t| matches!(t.life, Life::Alive { .. }))
            .count();
        if live >= self.max_tasks {
            return Err(Errno::EAGAIN);
        }
        let mut fds = BTreeMap::new();
        for (child, from) in &req.fds.0 {
            if child.0 >= MAX_FDS {
                return Err(Errno::EINVAL);
            }
            fds.insert(child.0, self.fd(parent, *from)?);
        }
        let pgid = match req.pgroup {
            PGroup::Inherit => self.tasks[&parent].pgid,
            PGroup::New => Pid(0),
            PGroup::Join(leader) => {
                if !self.tasks.values().any(|t| t.pgid == leader) {
                    return Err(Errno::ESRCH);
                }
                leader
            }
        };
        let sys = Sys::new(self.trap.clone());
        let (args, future) = match req.image {
            Image::Program(name) => {
                let program = crate::registry()
                    .into_iter()
                    .find(|p| p.name == name)
                    .ok_or(Errno::ENOENT)?;
                (req.args.clone(), (program.main)(sys, req.args))
            }
            Image::Fn(main) => {
                let args = if req.args.is_empty() {
                    self.tasks[&parent].args.clone()
                } else {
                    req.args
                };
                (args, main(sys))
            }
        };
        Ok(Reply::Pid(self.add_task(parent, pgid, args, fds, future)))
    }

    fn table_rows(&self, caller: Pid) -> Vec<TaskInfo> {
        self.tasks
            .iter()
            .map(|(pid, t)| TaskInfo {
                pid: *pid,
                ppid: t.ppid,
                pgid: t.pgid,
                args: t.args.clone(),
                state: match &t.life {
                    Life::Zombie(code) => TaskState::Zombie(*code),
                    _ if *pid == caller => TaskState::Running,
                    Life::Alive {
                        call: Some(call), ..
                    } => match call {
                        Syscall::Sleep(until) => TaskState::Sleeping { until: *until },
                        Syscall::Read { fd, .. } => TaskState::Reading(*fd),
                        Syscall::Write { fd, .. } => TaskState::Writing(*fd),
                        Syscall::Wait { pid, .. } => TaskState::Waiting(*pid),
                        other => TaskState::Blocked(other.name()),
                    },
                    Life::Alive { .. } => TaskState::Ready,
                },
                scheduled: t.scheduled,
                syscalls: t.syscalls,
                cpu: Duration::from_micros(t.syscalls),
            })
            .collect()
    }

    fn table(&self) -> String {
        self.table_rows(Pid(0))
            .iter()
            .map(|t| format!("{} {:?} {}\n", t.pid, t.args, t.state))
            .collect()
    }
}
