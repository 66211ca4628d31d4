//! A fake kernel for `sh`'s tests (compiled only under `cfg(test)`), as
//! programs/src/sim.rs is for the programs: enough of the system-call
//! interface (spawn, wait, kill, process groups, pipes, a scripted console)
//! to drive the shell end to end apart from the real kernel. The
//! whole-system tests in tests/ run `sh` on the real one.
//!
//! Each round polls every task in pid order and retries blocked calls; the
//! console hands out its next chunk of input only when nothing else can
//! move, like a person who types once the screen is still. Pipes never fill.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use syscalls::{
    Errno, ExitCode, Fd, Image, PGroup, Pid, ProgramInfo, Reply, Signal, Sys, SysResult, Syscall,
    TaskFuture, TaskInfo, TaskState, Trap,
};

type Main = fn(Sys, Vec<String>) -> TaskFuture;

#[derive(Default)]
struct PipeState {
    bytes: VecDeque<u8>,
    readers: usize,
    writers: usize,
}

/// One descriptor's hold on a pipe end; the counts follow clones and drops.
struct PipeEnd {
    pipe: Rc<RefCell<PipeState>>,
    write: bool,
}

impl PipeEnd {
    fn new(pipe: &Rc<RefCell<PipeState>>, write: bool) -> PipeEnd {
        let mut state = pipe.borrow_mut();
        if write {
            state.writers += 1;
        } else {
            state.readers += 1;
        }
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
        let mut state = self.pipe.borrow_mut();
        if self.write {
            state.writers -= 1;
        } else {
            state.readers -= 1;
        }
    }
}

#[derive(Clone)]
enum Object {
    Pipe(PipeEnd),
    /// The console's input side.
    Console,
    /// The console's output side (or a separate capture).
    Screen(Rc<RefCell<Vec<u8>>>),
}

struct Task {
    ppid: Pid,
    pgid: Pid,
    args: Vec<String>,
    fds: BTreeMap<u32, Object>,
    future: Option<TaskFuture>,
    call: Option<Syscall>,
    exit: Option<ExitCode>,
    started: bool,
}

enum Outcome {
    Done(SysResult<Reply>),
    Block(Syscall),
    /// The caller ended (exit, or killed itself).
    Gone,
}

/// What a test sees after the run.
pub struct Run {
    /// Everything written to the console (stdout and stderr).
    pub screen: String,
    /// What was written to stderr, when the test asked for it apart.
    pub stderr: String,
    /// `sh`'s status, if it ended.
    pub status: Option<ExitCode>,
    /// Every group made foreground, in order.
    pub foreground: Vec<Pid>,
    /// The descriptors `sh` held when it ended.
    pub sh_fds: Vec<u32>,
    /// The tasks still alive at the end (blocked for good), by name.
    pub alive: Vec<String>,
}

pub struct TestKernel {
    trap: Rc<Trap>,
    tasks: BTreeMap<u32, Task>,
    next_pid: u32,
    programs: Vec<(&'static str, &'static str, Main)>,
    input: VecDeque<Vec<u8>>,
    terminal: bool,
    foreground: Vec<Pid>,
    sh_fds: Vec<u32>,
}

impl TestKernel {
    /// Runs `sh ARGS` as pid 1 with the console on fds 0–2, typing `input`
    /// one chunk at a time whenever the system is idle. With `split_stderr`,
    /// fd 2 goes to its own capture instead of the screen.
    pub fn run_sh(args: &[&str], terminal: bool, input: &[&str], split_stderr: bool) -> Run {
        let screen = Rc::new(RefCell::new(Vec::new()));
        let stderr = if split_stderr {
            Rc::new(RefCell::new(Vec::new()))
        } else {
            screen.clone()
        };
        let mut kernel = TestKernel {
            trap: Rc::new(Trap::new()),
            tasks: BTreeMap::new(),
            next_pid: 1,
            programs: programs(),
            input: input.iter().map(|s| s.as_bytes().to_vec()).collect(),
            terminal,
            foreground: Vec::new(),
            sh_fds: Vec::new(),
        };
        let mut fds = BTreeMap::new();
        fds.insert(0, Object::Console);
        fds.insert(1, Object::Screen(screen.clone()));
        fds.insert(2, Object::Screen(stderr.clone()));
        let mut argv = vec!["sh".to_string()];
        argv.extend(args.iter().map(|s| s.to_string()));
        let sys = Sys::new(kernel.trap.clone());
        kernel.add_task(Pid(0), None, argv.clone(), fds, sh_main(sys, argv));
        kernel.run();
        let status = kernel.tasks.get(&1).and_then(|t| t.exit);
        let alive = kernel
            .tasks
            .values()
            .filter(|t| t.exit.is_none())
            .map(|t| t.args.join(" "))
            .collect();
        let text = |buf: &Rc<RefCell<Vec<u8>>>| String::from_utf8_lossy(&buf.borrow()).into_owned();
        Run {
            screen: text(&screen),
            stderr: if split_stderr {
                text(&stderr)
            } else {
                String::new()
            },
            status,
            foreground: kernel.foreground,
            sh_fds: kernel.sh_fds,
            alive,
        }
    }

    fn add_task(
        &mut self,
        ppid: Pid,
        pgid: Option<Pid>,
        args: Vec<String>,
        fds: BTreeMap<u32, Object>,
        future: TaskFuture,
    ) -> Pid {
        let pid = Pid(self.next_pid);
        self.next_pid += 1;
        self.tasks.insert(
            pid.0,
            Task {
                ppid,
                pgid: pgid.unwrap_or(pid),
                args,
                fds,
                future: Some(future),
                call: None,
                exit: None,
                started: false,
            },
        );
        pid
    }

    fn run(&mut self) {
        // A bound, so a shell bug that spins fails the test instead of hanging it.
        for _ in 0..100_000 {
            if !self.round(false) && !self.round(true) {
                return;
            }
        }
        panic!("the toy kernel ran 100000 rounds: something spins");
    }

    fn round(&mut self, idle: bool) -> bool {
        let pids: Vec<u32> = self.tasks.keys().copied().collect();
        let mut moved = false;
        for pid in pids {
            moved |= self.step(pid, idle);
        }
        moved
    }

    /// Carries out `pid`'s pending call and, if it completed, polls the task.
    fn step(&mut self, pid: u32, idle: bool) -> bool {
        let Some(task) = self.tasks.get_mut(&pid) else {
            return false;
        };
        if task.exit.is_some() {
            return false;
        }
        if task.started {
            let call = task.call.take().expect("a started live task has a call");
            match self.handle(Pid(pid), call, idle) {
                Outcome::Done(reply) => self.trap.put_reply(reply),
                Outcome::Block(call) => {
                    self.tasks.get_mut(&pid).expect("still there").call = Some(call);
                    return false;
                }
                Outcome::Gone => return true,
            }
        }
        let task = self.tasks.get_mut(&pid).expect("still there");
        task.started = true;
        let mut future = task.future.take().expect("a live task has a future");
        let mut cx = Context::from_waker(Waker::noop());
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(code) => {
                drop(future);
                self.end(Pid(pid), code);
            }
            Poll::Pending => {
                let call = self
                    .trap
                    .take_request()
                    .unwrap_or_else(|| panic!("pid {pid} returned Pending without a call"));
                let task = self.tasks.get_mut(&pid).expect("still there");
                task.future = Some(future);
                task.call = Some(call);
            }
        }
        true
    }

    fn end(&mut self, pid: Pid, code: ExitCode) {
        if let Some(task) = self.tasks.get_mut(&pid.0) {
            if pid == Pid::INIT {
                self.sh_fds = task.fds.keys().copied().collect();
            }
            let future = task.future.take();
            task.fds.clear();
            task.call = None;
            task.exit = Some(code);
            drop(future);
        }
        for task in self.tasks.values_mut() {
            if task.ppid == pid {
                task.ppid = Pid::INIT;
            }
        }
    }

    fn fd(&self, pid: Pid, fd: Fd) -> Option<&Object> {
        self.tasks.get(&pid.0)?.fds.get(&fd.0)
    }

    fn new_fd(&mut self, pid: Pid, object: Object) -> Fd {
        let fds = &mut self.tasks.get_mut(&pid.0).expect("caller exists").fds;
        let free = (0..).find(|n| !fds.contains_key(n)).expect("a free fd");
        fds.insert(free, object);
        Fd(free)
    }

    fn handle(&mut self, pid: Pid, call: Syscall, idle: bool) -> Outcome {
        use Outcome::Done;
        match call {
            Syscall::Spawn(request) => {
                let request = *request;
                let mut fds = BTreeMap::new();
                for (child, parent) in request.fds.iter() {
                    match self.fd(pid, parent) {
                        Some(object) => {
                            fds.insert(child.0, object.clone());
                        }
                        None => return Done(Err(Errno::EBADF)),
                    }
                }
                let parent = &self.tasks[&pid.0];
                let pgid = match request.pgroup {
                    PGroup::Inherit => Some(parent.pgid),
                    PGroup::New => None,
                    PGroup::Join(leader) => {
                        if !self.tasks.values().any(|t| t.pgid == leader) {
                            return Done(Err(Errno::ESRCH));
                        }
                        Some(leader)
                    }
                };
                let parent_args = parent.args.clone();
                let sys = Sys::new(self.trap.clone());
                let (args, future) = match request.image {
                    Image::Program(name) => {
                        let Some(&(_, _, main)) = self.programs.iter().find(|(n, _, _)| *n == name)
                        else {
                            return Done(Err(Errno::ENOENT));
                        };
                        (request.args.clone(), main(sys, request.args))
                    }
                    Image::Fn(make) => {
                        let args = if request.args.is_empty() {
                            parent_args
                        } else {
                            request.args
                        };
                        (args, make(sys))
                    }
                };
                Done(Ok(Reply::Pid(self.add_task(pid, pgid, args, fds, future))))
            }
            Syscall::Exit(code) => {
                self.end(pid, code);
                Outcome::Gone
            }
            Syscall::Wait { pid: target, hang } => {
                let children: Vec<u32> = self
                    .tasks
                    .iter()
                    .filter(|(&p, t)| t.ppid == pid && target.is_none_or(|want| want.0 == p))
                    .map(|(&p, _)| p)
                    .collect();
                if children.is_empty() {
                    return Done(Err(Errno::ECHILD));
                }
                match children.iter().find(|p| self.tasks[p].exit.is_some()) {
                    Some(&child) => {
                        let task = self.tasks.remove(&child).expect("listed");
                        Done(Ok(Reply::Waited(Pid(child), task.exit.expect("a zombie"))))
                    }
                    None if hang => Outcome::Block(Syscall::Wait { pid: target, hang }),
                    None => Done(Ok(Reply::Unit)),
                }
            }
            Syscall::Kill(target, signal) => {
                if target == Pid::INIT {
                    return Done(Err(Errno::EPERM));
                }
                match self.tasks.get(&target.0) {
                    None => Done(Err(Errno::ESRCH)),
                    Some(t) if t.exit.is_some() => Done(Ok(Reply::Unit)),
                    Some(_) => {
                        self.end(target, signal.exit_code());
                        if target == pid {
                            Outcome::Gone
                        } else {
                            Done(Ok(Reply::Unit))
                        }
                    }
                }
            }
            Syscall::KillGroup(pgid, signal) => {
                let members: Vec<u32> = self
                    .tasks
                    .iter()
                    .filter(|(&p, t)| t.pgid == pgid && t.exit.is_none() && p != 1)
                    .map(|(&p, _)| p)
                    .collect();
                if members.is_empty() {
                    return Done(Err(Errno::ESRCH));
                }
                for &member in &members {
                    self.end(Pid(member), signal.exit_code());
                }
                if members.contains(&pid.0) {
                    Outcome::Gone
                } else {
                    Done(Ok(Reply::Unit))
                }
            }
            Syscall::GetPid => Done(Ok(Reply::Pid(pid))),
            Syscall::GetPPid => Done(Ok(Reply::Pid(self.tasks[&pid.0].ppid))),
            Syscall::Sleep(_) | Syscall::Yield => Done(Ok(Reply::Unit)),
            Syscall::Now => Done(Ok(Reply::Time(Duration::ZERO))),
            Syscall::Pipe { .. } => {
                let pipe = Rc::new(RefCell::new(PipeState::default()));
                let r = self.new_fd(pid, Object::Pipe(PipeEnd::new(&pipe, false)));
                let w = self.new_fd(pid, Object::Pipe(PipeEnd::new(&pipe, true)));
                Done(Ok(Reply::Pipe(r, w)))
            }
            Syscall::Read { fd, buf, len } => {
                let bytes: Vec<u8> = match self.fd(pid, fd) {
                    Some(Object::Pipe(end)) if !end.write => {
                        let mut pipe = end.pipe.borrow_mut();
                        if pipe.bytes.is_empty() && pipe.writers > 0 {
                            drop(pipe);
                            return Outcome::Block(Syscall::Read { fd, buf, len });
                        }
                        let n = len.min(pipe.bytes.len());
                        pipe.bytes.drain(..n).collect()
                    }
                    Some(Object::Console) => {
                        if !idle {
                            return Outcome::Block(Syscall::Read { fd, buf, len });
                        }
                        match self.input.pop_front() {
                            None => Vec::new(),
                            Some(mut chunk) => {
                                if chunk.len() > len {
                                    self.input.push_front(chunk.split_off(len));
                                }
                                chunk
                            }
                        }
                    }
                    _ => return Done(Err(Errno::EBADF)),
                };
                // SAFETY: the task's read future keeps `buf` (of `len` bytes)
                // borrowed until it has the reply, and `bytes.len() <= len`.
                unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len()) };
                Done(Ok(Reply::Size(bytes.len())))
            }
            Syscall::Write { fd, buf, len } => {
                // SAFETY: the task's write future keeps `buf` (of `len` bytes)
                // borrowed until it has the reply.
                let bytes = unsafe { std::slice::from_raw_parts(buf, len) };
                match self.fd(pid, fd) {
                    Some(Object::Pipe(end)) if end.write => {
                        let mut pipe = end.pipe.borrow_mut();
                        if pipe.readers == 0 {
                            return Done(Err(Errno::EPIPE));
                        }
                        pipe.bytes.extend(bytes);
                        Done(Ok(Reply::Size(len)))
                    }
                    Some(Object::Screen(screen)) => {
                        screen.borrow_mut().extend_from_slice(bytes);
                        Done(Ok(Reply::Size(len)))
                    }
                    _ => Done(Err(Errno::EBADF)),
                }
            }
            Syscall::Close(fd) => {
                let task = self.tasks.get_mut(&pid.0).expect("caller exists");
                match task.fds.remove(&fd.0) {
                    Some(_) => Done(Ok(Reply::Unit)),
                    None => Done(Err(Errno::EBADF)),
                }
            }
            Syscall::Dup2(..) | Syscall::Dup(_) => Done(Err(Errno::EINVAL)),
            Syscall::Tasks => {
                let infos = self
                    .tasks
                    .iter()
                    .map(|(&p, t)| TaskInfo {
                        pid: Pid(p),
                        ppid: t.ppid,
                        pgid: t.pgid,
                        args: t.args.clone(),
                        state: match t.exit {
                            Some(code) => TaskState::Zombie(code),
                            None => TaskState::Ready,
                        },
                        scheduled: 0,
                        syscalls: 0,
                        cpu: Duration::ZERO,
                    })
                    .collect();
                Done(Ok(Reply::Tasks(infos)))
            }
            Syscall::Programs => Done(Ok(Reply::Programs(
                self.programs
                    .iter()
                    .map(|(name, about, _)| ProgramInfo {
                        name: name.to_string(),
                        about: about.to_string(),
                    })
                    .collect(),
            ))),
            Syscall::IsTerminal(fd) => match self.fd(pid, fd) {
                Some(Object::Pipe(_)) => Done(Ok(Reply::Bool(false))),
                Some(_) => Done(Ok(Reply::Bool(self.terminal))),
                None => Done(Err(Errno::EBADF)),
            },
            Syscall::SetForeground(fd, pgid) => match self.fd(pid, fd) {
                Some(Object::Console) if self.terminal => {
                    self.foreground.push(pgid);
                    Done(Ok(Reply::Unit))
                }
                Some(_) => Done(Err(Errno::ENOTTY)),
                None => Done(Err(Errno::EBADF)),
            },
            // What sh does not use (open, usage, and calls yet to come).
            _ => Done(Err(Errno::EINVAL)),
        }
    }
}

fn sh_main(sys: Sys, args: Vec<String>) -> TaskFuture {
    Box::pin(crate::main(sys, args))
}

/// Stand-ins for the bundled programs.
fn programs() -> Vec<(&'static str, &'static str, Main)> {
    vec![
        ("sh", crate::ABOUT, sh_main),
        ("echo", "print the arguments", |sys, args| {
            Box::pin(async move {
                let line = format!("{}\n", args[1..].join(" "));
                status(sys.print(&line).await)
            })
        }),
        ("seq", "print 1 to N", |sys, args| {
            Box::pin(async move {
                let n: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(0);
                for i in 1..=n {
                    if sys.print(&format!("{i}\n")).await.is_err() {
                        return 1;
                    }
                }
                0
            })
        }),
        ("cat", "copy input to output", |sys, _| {
            Box::pin(async move {
                let mut all = Vec::new();
                let _ = sys.read_to_end(Fd::STDIN, &mut all).await;
                status(sys.write_all(Fd::STDOUT, &all).await)
            })
        }),
        ("wc", "count lines (-l)", |sys, _| {
            Box::pin(async move {
                let mut all = Vec::new();
                let _ = sys.read_to_end(Fd::STDIN, &mut all).await;
                let lines = all.iter().filter(|&&b| b == b'\n').count();
                status(sys.print(&format!("{lines}\n")).await)
            })
        }),
        ("true", "succeed", |_, _| Box::pin(async { 0 })),
        ("false", "fail", |_, _| Box::pin(async { 1 })),
        ("ret", "exit with status N", |_, args| {
            Box::pin(async move { args.get(1).and_then(|a| a.parse().ok()).unwrap_or(0) })
        }),
        ("hang", "block until killed", |sys, _| {
            Box::pin(async move {
                // Reads a pipe whose only writer is itself: never returns.
                let Ok((r, _w)) = sys.pipe().await else {
                    return 1;
                };
                let mut buf = [0u8; 1];
                let _ = sys.read(r, &mut buf).await;
                0
            })
        }),
        ("kill", "send a signal", |sys, args| {
            Box::pin(async move {
                let mut signal = Signal::Term;
                let mut code = 0;
                let mut operands = false;
                for arg in &args[1..] {
                    if arg == "--" {
                        operands = true;
                        continue;
                    }
                    if let (false, Some(name)) = (operands, arg.strip_prefix('-')) {
                        signal = Signal::parse(name).unwrap_or(Signal::Term);
                        operands = true;
                        continue;
                    }
                    operands = true;
                    let result = match arg.strip_prefix('-') {
                        Some(group) => match group.parse() {
                            Ok(pgid) => sys.kill_group(Pid(pgid), signal).await,
                            Err(_) => Err(Errno::EINVAL),
                        },
                        None => match arg.parse() {
                            Ok(pid) => sys.kill(Pid(pid), signal).await,
                            Err(_) => Err(Errno::EINVAL),
                        },
                    };
                    if let Err(e) = result {
                        let _ = sys.eprint(&format!("kill: ({arg}) - {e}\n")).await;
                        code = 1;
                    }
                }
                code
            })
        }),
    ]
}

fn status(result: SysResult<()>) -> ExitCode {
    match result {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sh -c COMMAND`, not on a terminal: (stdout, stderr, status).
    fn sh_c(command: &str) -> (String, String, Option<ExitCode>) {
        let run = TestKernel::run_sh(&["-c", command], false, &[], true);
        assert_eq!(
            run.sh_fds,
            vec![0, 1, 2],
            "{command}: sh leaked descriptors"
        );
        (run.screen, run.stderr, run.status)
    }

    fn out(command: &str) -> String {
        sh_c(command).0
    }

    /// `sh` at the console, typing `lines`: the screen.
    fn session(lines: &[&str]) -> Run {
        TestKernel::run_sh(&[], true, lines, false)
    }

    #[test]
    fn a_pipeline_runs_and_its_output_arrives() {
        assert_eq!(sh_c("seq 3 | wc -l"), ("3\n".into(), "".into(), Some(0)));
        assert_eq!(out("seq 3 | cat | cat | cat | wc -l"), "3\n");
        assert_eq!(out("echo hello   'big world'"), "hello big world\n");
    }

    #[test]
    fn the_status_of_a_pipeline_is_its_last_stages() {
        assert_eq!(sh_c("true | false").2, Some(1));
        assert_eq!(sh_c("false | true").2, Some(0));
        assert_eq!(out("ret 7; echo $?; echo $?"), "7\n0\n");
        assert_eq!(out("ret 130; echo \"$?\" '$?'"), "130 $?\n");
    }

    #[test]
    fn a_missing_command_is_127_and_the_rest_of_the_pipeline_runs() {
        assert_eq!(
            sh_c("nosuch | wc -l"),
            (
                "0\n".into(),
                "sh: nosuch: command not found\n".into(),
                Some(0)
            )
        );
        assert_eq!(sh_c("seq 3 | nosuch").2, Some(127));
        assert_eq!(out("nosuch; echo $?"), "127\n");
        assert_eq!(out("nosuch | nosuch2; echo $?"), "127\n");
    }

    #[test]
    fn and_or_lists_short_circuit_left_to_right() {
        assert_eq!(out("false && echo no || echo yes"), "yes\n");
        assert_eq!(out("true || echo no && echo yes"), "yes\n");
        assert_eq!(out("false || false || echo third"), "third\n");
        assert_eq!(out("true && false && echo no; echo $?"), "1\n");
    }

    #[test]
    fn subshells_run_lists_and_can_be_stages() {
        assert_eq!(out("(echo a; echo b) | wc -l"), "2\n");
        assert_eq!(out("seq 4 | (cat | wc -l)"), "4\n");
        assert_eq!(out("(exit 4); echo $?"), "4\n");
        assert_eq!(out("(ret 5 && echo no) || echo $?"), "5\n");
        assert_eq!(out("ret 3; (echo $?)"), "3\n");
        assert_eq!(out("echo $$; (echo $$) | cat"), "1\n1\n");
    }

    #[test]
    fn exit_leaves_with_its_status_but_not_from_a_pipeline() {
        assert_eq!(sh_c("exit 3; echo no"), ("".into(), "".into(), Some(3)));
        assert_eq!(sh_c("ret 6; exit").2, Some(6));
        assert_eq!(out("exit 3 | cat; echo still"), "still\n");
        assert_eq!(sh_c("exit x").2, Some(2));
        assert_eq!(sh_c("exit 1 2; echo on").0, "on\n");
    }

    #[test]
    fn builtins_work_as_pipeline_stages() {
        assert_eq!(out("history | wc -l"), "1\n");
        assert_eq!(out("echo a; history"), "a\n    1  echo a; history\n");
        assert!(out("help | cat").contains("\n  wc     count lines (-l)\n"));
    }

    #[test]
    fn a_syntax_error_runs_nothing_and_exits_2_in_c_mode() {
        assert_eq!(
            sh_c("echo a; echo )"),
            (
                "".into(),
                "sh: syntax error at column 14: unexpected ')'\n".into(),
                Some(2)
            )
        );
    }

    #[test]
    fn background_jobs_run_and_wait_collects_them_quietly_in_a_script() {
        assert_eq!(
            sh_c("seq 2 | wc -l & wait; echo done"),
            ("2\ndone\n".into(), "".into(), Some(0))
        );
        assert_eq!(out("ret 3 & wait %1; echo $?"), "3\n");
        assert_eq!(out("false || echo x & wait"), "x\n");
        assert_eq!(out("ret 4 & ret 5 & wait %1 %2; echo $?"), "5\n");
        assert_eq!(sh_c("wait %9").1, "sh: wait: %9: no such job\n");
        assert_eq!(
            sh_c("wait 99").1,
            "sh: wait: pid 99 is not a child of this shell\n"
        );
        assert_eq!(out("ret 9 & wait 2; echo $?"), "9\n");
    }

    #[test]
    fn kill_takes_job_specs() {
        assert_eq!(out("hang & kill %1; wait %1; echo $?"), "143\n");
        assert_eq!(
            out("hang | hang & kill -KILL %%; jobs"),
            "[1]+  Killed                  hang | hang\n"
        );
        assert_eq!(out("hang & kill -KILL %1; wait; jobs; echo $?"), "0\n");
        let (_, err, status) = sh_c("kill %3");
        assert_eq!(
            (err.as_str(), status),
            ("sh: kill: %3: no such job\n", Some(1))
        );
    }

    #[test]
    fn fg_needs_job_control() {
        assert_eq!(sh_c("fg").1, "sh: fg: no job control\n");
    }

    #[test]
    fn a_script_on_stdin_runs_line_by_line_and_goes_on_after_errors() {
        let script = "echo a\necho 'b\nc'\necho )\n(echo d\necho e) | wc -l\necho b &&&\necho $?";
        let run = TestKernel::run_sh(&[], false, &[script], false);
        assert_eq!(
            run.screen,
            "a\nb\nc\nsh: syntax error at line 4, column 6: unexpected ')'\n2\n\
             sh: syntax error at line 7, column 10: unexpected '&'\n2\n"
        );
        assert_eq!(run.status, Some(0));
        assert!(run.foreground.is_empty());
    }

    #[test]
    fn a_script_ending_inside_a_quote_is_an_error() {
        let run = TestKernel::run_sh(&[], false, &["echo a\necho 'abc\n"], false);
        assert_eq!(
            run.screen,
            "a\nsh: syntax error at line 2, column 10: unterminated single quote\n"
        );
        assert_eq!(run.status, Some(2));
    }

    #[test]
    fn lines_split_across_reads_are_joined() {
        let run = TestKernel::run_sh(&[], false, &["ec", "ho a\nseq 2 |", " wc -l\n"], false);
        assert_eq!(run.screen, "a\n2\n");
    }

    #[test]
    fn the_console_shows_prompts_and_the_job_gets_the_foreground() {
        let run = session(&["seq 3 | wc -l\n"]);
        assert_eq!(run.screen, "$ 3\n$ exit\n");
        // seq is pid 2 and leads the job's group; then the shell takes it back.
        assert_eq!(run.foreground, vec![Pid(0), Pid(2), Pid(0)]);
        assert_eq!(run.status, Some(0));
    }

    #[test]
    fn an_open_command_continues_on_the_next_line() {
        let run = session(&["(echo a\n", "echo b) |\n", "wc -l\n"]);
        assert_eq!(run.screen, "$ > > 2\n$ exit\n");
    }

    #[test]
    fn a_syntax_error_at_the_console_sets_status_2_and_goes_on() {
        let run = session(&["a && && b\n", "echo $?\n", "echo a\n", "(a\n", "&&&\n"]);
        assert_eq!(
            run.screen,
            "$ sh: syntax error at column 6: unexpected '&&'\n$ 2\n$ a\n$ > \
             sh: syntax error at line 2, column 1: unexpected '&&'\n$ exit\n"
        );
    }

    #[test]
    fn a_background_job_is_announced_and_its_end_reported_before_a_prompt() {
        let run = session(&["seq 3 | wc -l &\n", "\n"]);
        assert_eq!(
            run.screen,
            // The job ran while the shell printed; its end is noticed at
            // the next prompt.
            "$ [1] 3\n3\n$ [1]+  Done                    seq 3 | wc -l\n$ exit\n"
        );
    }

    #[test]
    fn jobs_lists_running_jobs_and_kill_percent_ends_them() {
        let run = session(&[
            "hang &\n",
            "ret 2 &\n",
            "jobs\n",
            "kill %1\n",
            "echo x\n",
            "exit 5\n",
        ]);
        assert_eq!(
            run.screen,
            "$ [1] 2\n\
             $ [2] 3\n\
             [2]+  Exit 2                  ret 2\n\
             $ [1]+  Running                 hang &\n\
             $ [1]+  Terminated              hang\n\
             $ x\n\
             $ "
        );
        assert_eq!(run.status, Some(5));
    }

    #[test]
    fn kill_percent_at_the_console_ends_the_jobs_whole_group() {
        // The subshell's `hang` is in the job's group: it ends too.
        let run = session(&["(hang; echo no) | hang &\n", "kill %1\n"]);
        assert_eq!(
            run.screen,
            "$ [1] 3\n$ [1]+  Terminated              (hang; echo no) | hang\n$ exit\n"
        );
        assert_eq!(run.alive, Vec::<String>::new());
        // Without job control the job's tasks are signalled one by one.
        let run = TestKernel::run_sh(
            &["-c", "(hang; echo no) | hang & kill %1"],
            false,
            &[],
            false,
        );
        assert_eq!(
            run.alive,
            vec!["hang".to_string()],
            "the subshell's child lives on"
        );
    }

    #[test]
    fn fg_hands_the_console_to_the_job_and_waits() {
        let run = session(&["hang &\n", "fg\n"]);
        assert_eq!(run.screen, "$ [1] 2\n$ hang\n");
        assert_eq!(run.foreground, vec![Pid(0), Pid(2)]);
        assert_eq!(run.status, None, "still waiting for hang");
        assert_eq!(
            session(&["fg %4\n"]).screen,
            "$ sh: fg: %4: no such job\n$ exit\n"
        );
        assert_eq!(
            session(&["fg\n"]).screen,
            "$ sh: fg: current: no such job\n$ exit\n"
        );
    }

    #[test]
    fn a_foreground_job_ended_by_a_signal_is_named() {
        let run = session(&["ret 137\n", "ret 130\n", "echo $?\n"]);
        assert_eq!(run.screen, "$ Killed\n$ \n$ 130\n$ exit\n");
    }

    #[test]
    fn wait_at_the_console_leaves_the_done_notice_for_the_prompt() {
        // cat gets the console's input after the shell has read `wait`.
        let run = session(&["cat &\n", "wait\n", "xyz\n"]);
        assert_eq!(
            run.screen,
            "$ [1] 2\n$ xyz\n[1]+  Done                    cat\n$ exit\n"
        );
    }

    #[test]
    fn history_lists_what_was_typed() {
        let run = session(&["echo a\n", "\n", "(echo b\n", "echo c)\n", "history\n"]);
        assert_eq!(
            run.screen,
            "$ a\n$ $ > b\nc\n$     1  echo a\n    2  (echo b\necho c)\n    3  history\n$ exit\n"
        );
    }

    #[test]
    fn sh_runs_inside_sh() {
        assert_eq!(out("sh -c 'seq 2 | wc -l; exit 4'; echo $?"), "2\n4\n");
        assert_eq!(out("echo 'echo from stdin' | sh"), "from stdin\n");
    }

    #[test]
    fn help_and_bad_options() {
        let (stdout, _, status) = sh_c_args(&["--help"]);
        assert!(stdout.starts_with("usage: sh"));
        assert_eq!(status, Some(0));
        let (_, stderr, status) = sh_c_args(&["-x"]);
        assert!(stderr.starts_with("sh: -x: invalid option\nusage"));
        assert_eq!(status, Some(2));
    }

    fn sh_c_args(args: &[&str]) -> (String, String, Option<ExitCode>) {
        let run = TestKernel::run_sh(args, false, &[], true);
        (run.screen, run.stderr, run.status)
    }
}
