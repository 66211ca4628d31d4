//! Processes: spawn, exit, wait, kill, and the family ties between them
//! (reparenting orphans to init, zombies until reaped), as xv6's proc.c.

use std::rc::Rc;

use syscalls::{
    Command, Errno, ExitCode, Image, PGroup, PackedReply, Pid, Reply, Signal, SpawnRequest, Sys,
    SysResult, TaskInfo,
};

use crate::dispatch::Outcome;
use crate::fd::Object;
use crate::task::{Family, Live, RunState, Task, Totals, WaitOn, NO_PID};
use crate::{init, panic, Event, Kernel};

/// How a new task's coroutine comes to be.
enum Start {
    /// A program's main, called with the task's `Sys` and argv.
    Program(syscalls::Main, Vec<String>),
    /// A closure called with the task's `Sys`.
    Fn(Box<dyn FnOnce(Sys) -> syscalls::TaskFuture>),
    /// Made already by the parent.
    Ready(syscalls::TaskFuture),
}

impl Kernel {
    /// The task `pid`, which the caller knows is in the table (it is the
    /// one running, or was just looked up).
    pub(crate) fn task(&self, pid: Pid) -> &Task {
        self.tasks
            .get(pid)
            .expect("the task asked for is in the table")
    }

    pub(crate) fn task_mut(&mut self, pid: Pid) -> &mut Task {
        self.tasks
            .get_mut(pid)
            .expect("the task asked for is in the table")
    }

    /// Makes init, pid 1, holding the console as fds 0, 1 and 2.
    pub(crate) fn spawn_init(&mut self, command: Command) {
        let first = command.into_request();
        let pid = self.tasks.alloc_pid();
        debug_assert_eq!(pid, Pid::INIT);
        let sys = Sys::new(self.trap.clone());
        let slot = self.tasks.insert(
            Task {
                pid,
                ppid: Pid(0),
                pgid: pid,
                code: None,
                argv: Rc::new(vec!["init".to_string()]),
                family: Family::default(),
                totals: Totals::default(),
            },
            Some(Box::pin(init::init(sys, first))),
        );
        let fds = &mut self.tasks.live_at(slot).fds;
        for (fd, object) in [Object::ConsoleIn, Object::ConsoleOut, Object::ConsoleErr]
            .into_iter()
            .enumerate()
        {
            fds.set(syscalls::Fd(fd as u32), object);
        }
        self.ready.spawned(pid);
        self.record(|| Event::Spawn {
            parent: Pid(0),
            child: pid,
            name: "init".to_string(),
        });
    }

    /// Starts a child of `parent` as `request` says. Steps: check limits and
    /// arguments, share the descriptors, make the coroutine, link the child
    /// into its parent's family, make it ready.
    pub(crate) fn sys_spawn(&mut self, parent: Pid, request: SpawnRequest) -> SysResult<Pid> {
        if self.tasks.len() >= self.config.max_tasks {
            return Err(Errno::EAGAIN);
        }
        let SpawnRequest {
            image,
            args,
            fds: map,
            pgroup,
        } = request;
        // Every child fd under the limit, every parent fd open: checked
        // before anything is made. (The parent is the caller: alive.)
        let parent_slot = self.tasks.place(parent).live().ok_or(Errno::ESRCH)?;
        let parent_fds = &self.tasks.live_at(parent_slot).fds;
        for (child, from) in map.iter() {
            if child.0 as usize >= self.config.max_fds {
                return Err(Errno::EINVAL);
            }
            parent_fds.get(from)?;
        }
        let ptask = self.task(parent);
        let pgid = match pgroup {
            PGroup::Inherit => Some(ptask.pgid),
            PGroup::New => None,
            PGroup::Join(group) if self.group_alive(group) => Some(group),
            PGroup::Join(_) => return Err(Errno::ESRCH),
        };
        let inherited = |args: Vec<String>| {
            if args.is_empty() {
                ptask.argv.clone()
            } else {
                Rc::new(args)
            }
        };
        let (argv, start) = match image {
            Image::Program(name) => {
                let program = *self.programs.get(name.as_str()).ok_or(Errno::ENOENT)?;
                let args = if args.is_empty() { vec![name] } else { args };
                (Rc::new(args.clone()), Start::Program(program.main, args))
            }
            Image::Fn(main) => (inherited(args), Start::Fn(main)),
            Image::Task(future) => (inherited(args), Start::Ready(future)),
        };
        let youngest = self.tasks.live_at(parent_slot).children.last;
        let pid = self.tasks.alloc_pid();
        let (future, fault) = match start {
            Start::Ready(future) => (Some(future), None),
            Start::Program(main, args) => self.make_future(move |sys| main(sys, args)),
            Start::Fn(main) => self.make_future(main),
        };
        let task = Task {
            pid,
            ppid: parent,
            pgid: pgid.unwrap_or(pid),
            code: None,
            argv,
            // Made linked to its elder sibling: the youngest child.
            family: Family {
                prev: youngest,
                ..Family::default()
            },
            totals: Totals::default(),
        };
        let slot = self.tasks.insert(task, future);
        // The child's table is filled where it lives: built aside and
        // copied in, it was read back in wide loads over the narrow stores
        // that built it, which stalled (spawn).
        for (child, from) in map.iter() {
            let Ok(object) = self.tasks.live_at(parent_slot).fds.get(from) else {
                continue; // Not reached: checked above.
            };
            self.retain(object);
            if let Some(replaced) = self.tasks.live_at(slot).fds.set(child, object) {
                // The map named this child fd twice: the last one holds.
                self.release(replaced);
            }
        }
        // Linked in as the youngest, through the parent's slot at hand.
        if youngest != NO_PID {
            self.task_mut(youngest).family.next = pid;
        }
        let children = &mut self.tasks.live_at(parent_slot).children;
        if youngest == NO_PID {
            children.first = pid;
        }
        children.last = pid;
        if self.config.trace {
            let name = self.task(pid).name().to_string();
            self.record(|| Event::Spawn {
                parent,
                child: pid,
                name,
            });
        }
        match fault {
            None => self.ready.spawned(pid),
            Some(message) => {
                let name = self.task(pid).name().to_string();
                self.kernel_message(&format!("coos: pid {pid} ({name}): panicked: {message}\n"));
                self.exit_task(pid, 101);
            }
        }
        Ok(pid)
    }

    /// Runs a task's start function, which may panic: the future, or why
    /// not.
    fn make_future(
        &self,
        start: impl FnOnce(Sys) -> syscalls::TaskFuture,
    ) -> (Option<syscalls::TaskFuture>, Option<String>) {
        let sys = Sys::new(self.trap.clone());
        match panic::guard(move || start(sys)) {
            Ok(future) => (Some(future), None),
            Err(message) => (None, Some(message)),
        }
    }

    /// Parks `pid` while `job` runs on the blocking pool.
    pub(crate) fn sys_blocking(&mut self, pid: Pid, job: Box<dyn FnOnce() + Send>) -> Outcome {
        let inbox = self.inbox.sender();
        match self.pool.submit(&inbox, pid, job) {
            Ok(job) => Outcome::Block(WaitOn::Blocking { job }),
            Err(e) => Outcome::Done(Err(e)),
        }
    }

    /// Starts a task another thread asked for, as init's child.
    pub(crate) fn spawn_remote(
        &mut self,
        start: Box<dyn FnOnce(Sys) -> syscalls::TaskFuture + Send>,
        status: std::sync::mpsc::Sender<ExitCode>,
    ) {
        if self.halted.is_some() || self.tasks.get(Pid::INIT).is_none() {
            return; // Nobody to run it: the sender is dropped, the caller told.
        }
        let request = SpawnRequest {
            image: Image::Fn(start),
            args: vec!["remote".to_string()],
            fds: syscalls::FdMap::stdio(),
            pgroup: PGroup::Inherit,
        };
        if let Ok(pid) = self.sys_spawn(Pid::INIT, request) {
            match self.tasks.state(pid) {
                Some(RunState::Zombie(code)) => {
                    let _ = status.send(code);
                }
                _ => {
                    self.exit_watchers.insert(pid, status);
                }
            }
        }
    }

    /// Does a group exist? As in POSIX, while any task of it does, zombies
    /// included: the second stage of `echo hi | cat` may join the first's
    /// group after `echo` has ended.
    fn group_alive(&self, group: Pid) -> bool {
        match self.tasks.get(group) {
            Some(leader) if leader.pgid == group => true,
            _ => self.tasks.iter().any(|t| t.pgid == group),
        }
    }

    /// Ends `pid` with `code`, from any state. Does nothing to a zombie.
    /// Steps: become a zombie (so stale queue entries skip it), drop the
    /// coroutine, close every descriptor, give the children to init, and
    /// tell the parent.
    pub(crate) fn exit_task(&mut self, pid: Pid, code: ExitCode) {
        let Some((
            slot,
            Live {
                future,
                state: was,
                children,
                ..
            },
        )) = self.tasks.end(pid, code)
        else {
            return; // Gone, or a zombie already.
        };
        if !self.deadlines.is_empty() {
            self.deadlines.remove(&pid);
        }
        if matches!(was, RunState::Blocked(crate::task::WaitOn::Poll)) {
            self.polls.remove(&pid);
        }
        if matches!(was, RunState::Ready(Some(PackedReply::KEPT_ASIDE))) {
            self.big_replies.remove(&pid);
        }
        if let Some(future) = future {
            self.drop_coroutine(pid, future);
        }
        // Closed where they are; the slot is free once they are.
        while let Some(object) = self.tasks.live_at(slot).fds.take_last() {
            self.release(object);
        }
        // A connect in progress holds its socket until it is in an fd.
        if let RunState::Blocked(WaitOn::Connect { socket }) = was {
            self.socket_release(socket);
        }
        self.record(|| Event::Exit(pid, code));
        if !self.exit_watchers.is_empty() {
            if let Some(watcher) = self.exit_watchers.remove(&pid) {
                let _ = watcher.send(code);
            }
        }
        if pid == Pid::INIT {
            self.halted = Some(code);
            return;
        }
        // Give any children to init. (The list they were in went with
        // this task's live part: each one's links are made anew.)
        let mut child = children.first;
        while child != NO_PID {
            let next = self.task(child).family.next;
            self.task_mut(child).ppid = Pid::INIT;
            self.link_child(Pid::INIT, child);
            if let Some(code) = self.task(child).code {
                self.notify_parent(child, code);
            }
            child = next;
        }
        self.notify_parent(pid, code);
    }

    /// Tells `child`'s parent it ended: reaped at once if the parent waits
    /// for it, else moved to the end of the parent's zombies, for `wait`.
    fn notify_parent(&mut self, child: Pid, code: ExitCode) {
        let task = self.task(child);
        let (ppid, prev) = (task.ppid, task.family.prev);
        // A parent that ended is init after the kernel halted: nobody
        // waits any more.
        let Some(parent) = self.tasks.live_mut(ppid) else {
            return;
        };
        let waiting = match parent.state {
            RunState::Blocked(WaitOn::Child { pid: None }) => true,
            RunState::Blocked(WaitOn::Child { pid: Some(p) }) => p == child,
            _ => false,
        };
        if waiting {
            self.reap(child);
            self.complete(ppid, Ok(Reply::Waited(child, code)));
        } else {
            // Into the zombie part of the children, after the last zombie.
            // Children mostly end in the order they started: then the child
            // is the first live one, already in place.
            let last_zombie = parent.children.last_zombie;
            if prev == last_zombie {
                parent.children.last_zombie = child;
            } else {
                self.detach(ppid, child);
                self.attach(ppid, child, last_zombie);
                if let Some(children) = self.tasks.children_mut(ppid) {
                    children.last_zombie = child;
                }
            }
        }
    }

    /// Removes the zombie `child` from the table: its exit status.
    fn reap(&mut self, child: Pid) -> ExitCode {
        let task = self
            .tasks
            .remove(child)
            .expect("a task reaped is in the table");
        // Its own links went with its record; its siblings are joined.
        self.unlink(task.ppid, child, task.family);
        self.record(|| Event::Reap(child));
        task.code.expect("a task reaped is a zombie")
    }

    /// Adds a live child, the youngest: at the end of the list.
    fn link_child(&mut self, parent: Pid, child: Pid) {
        self.attach(parent, child, self.tasks.children(parent).last);
    }

    /// Puts `child` in `parent`'s list right after `after` (`NO_PID`: first).
    fn attach(&mut self, parent: Pid, child: Pid, after: Pid) {
        let next = if after == NO_PID {
            self.tasks.children(parent).first
        } else {
            self.task(after).family.next
        };
        let family = &mut self.task_mut(child).family;
        family.prev = after;
        family.next = next;
        if after != NO_PID {
            self.task_mut(after).family.next = child;
        }
        if next != NO_PID {
            self.task_mut(next).family.prev = child;
        }
        if let Some(children) = self.tasks.children_mut(parent) {
            if after == NO_PID {
                children.first = child;
            }
            if next == NO_PID {
                children.last = child;
            }
        }
    }

    /// Takes `child` out of `parent`'s list.
    fn detach(&mut self, parent: Pid, child: Pid) {
        let links = self.task(child).family;
        self.unlink(parent, child, links);
        let family = &mut self.task_mut(child).family;
        family.prev = NO_PID;
        family.next = NO_PID;
    }

    /// Joins `child`'s neighbours (its `links`) around it, in `parent`'s
    /// list and in the parent's ends of it; the child's own links are left.
    fn unlink(&mut self, parent: Pid, child: Pid, links: Family) {
        let Family { prev, next } = links;
        if let Some(children) = self.tasks.children_mut(parent) {
            if children.last_zombie == child {
                // The zombie before it, if any, is now the last one.
                children.last_zombie = prev;
            }
            if prev == NO_PID {
                children.first = next;
            }
            if next == NO_PID {
                children.last = prev;
            }
        }
        if prev != NO_PID {
            self.task_mut(prev).family.next = next;
        }
        if next != NO_PID {
            self.task_mut(next).family.prev = prev;
        }
    }

    pub(crate) fn sys_wait(&mut self, pid: Pid, child: Option<Pid>, hang: bool) -> Outcome {
        let ended = match child {
            Some(child) => {
                let Some(task) = self.tasks.get(child).filter(|t| t.ppid == pid) else {
                    return Outcome::Done(Err(Errno::ECHILD));
                };
                task.is_zombie().then_some(child)
            }
            None => {
                let children = self.tasks.children(pid);
                if children.first == NO_PID {
                    return Outcome::Done(Err(Errno::ECHILD));
                }
                // The oldest unreaped ended child: the head of the list.
                (children.last_zombie != NO_PID).then_some(children.first)
            }
        };
        match ended {
            Some(child) => {
                let code = self.reap(child);
                Outcome::Done(Ok(Reply::Waited(child, code)))
            }
            None if hang => Outcome::Block(WaitOn::Child { pid: child }),
            None => Outcome::Done(Ok(Reply::Unit)),
        }
    }

    pub(crate) fn sys_kill(&mut self, caller: Pid, target: Pid, signal: Signal) -> Outcome {
        if target == Pid::INIT {
            return Outcome::Done(Err(Errno::EPERM));
        }
        let Some(task) = self.tasks.get(target) else {
            return Outcome::Done(Err(Errno::ESRCH));
        };
        if task.is_zombie() {
            return Outcome::Done(Ok(Reply::Unit));
        }
        self.exit_task(target, signal.exit_code());
        if target == caller {
            Outcome::Gone
        } else {
            Outcome::Done(Ok(Reply::Unit))
        }
    }

    pub(crate) fn sys_kill_group(&mut self, caller: Pid, group: Pid, signal: Signal) -> Outcome {
        match self.signal_group(Some(caller), group, signal) {
            Err(e) => Outcome::Done(Err(e)),
            Ok(true) => Outcome::Gone,
            Ok(false) => Outcome::Done(Ok(Reply::Unit)),
        }
    }

    /// Ends every live task of `group` (init excepted); `Ok(true)` if that
    /// included `caller`, which is ended last.
    pub(crate) fn signal_group(
        &mut self,
        caller: Option<Pid>,
        group: Pid,
        signal: Signal,
    ) -> SysResult<bool> {
        let members: Vec<Pid> = self
            .tasks
            .iter()
            .filter(|t| t.pgid == group && t.pid != Pid::INIT && !t.is_zombie())
            .map(|t| t.pid)
            .collect();
        if members.is_empty() {
            return Err(Errno::ESRCH);
        }
        let mut caller_hit = false;
        for pid in members {
            if Some(pid) == caller {
                caller_hit = true;
            } else {
                self.exit_task(pid, signal.exit_code());
            }
        }
        if let (true, Some(caller)) = (caller_hit, caller) {
            self.exit_task(caller, signal.exit_code());
        }
        Ok(caller_hit)
    }

    /// Ends every task but init with `signal` (the host asked coos to stop).
    pub(crate) fn signal_all(&mut self, signal: Signal) {
        let all: Vec<Pid> = self
            .tasks
            .iter()
            .filter(|t| t.pid != Pid::INIT && !t.is_zombie())
            .map(|t| t.pid)
            .collect();
        for pid in all {
            self.exit_task(pid, signal.exit_code());
        }
    }

    /// The task table for `ps`, by pid.
    pub(crate) fn snapshot(&self) -> Vec<TaskInfo> {
        let mut rows: Vec<TaskInfo> = self
            .tasks
            .states()
            .map(|(t, state, counters)| TaskInfo {
                pid: t.pid,
                ppid: t.ppid,
                pgid: t.pgid,
                args: t.argv.to_vec(),
                state: state.describe(),
                scheduled: counters.scheduled,
                syscalls: counters.syscalls,
                cpu: std::time::Duration::from_nanos(counters.cpu),
                hogged: self.watchdog.hogged(t.pid),
            })
            .collect();
        rows.sort_by_key(|r| r.pid);
        rows
    }
}
