//! The coos kernel: one host thread that owns every task and resource.
//! Tasks are coroutines; they reach the kernel only through system calls
//! (the `syscalls` crate), which the kernel carries out in one place
//! (`dispatch.rs`). See `../shared/DESIGN.md` for the whole picture.
//!
//! ```no_run
//! use kernel::{Config, ConsoleSpec, Kernel};
//! let mut k = Kernel::boot(Config::default(), Vec::new(), ConsoleSpec::host()).unwrap();
//! k.start(syscalls::Command::from_fn(|sys| async move {
//!     let _ = sys.print("hello from pid 2\n").await;
//!     0
//! }));
//! let status = k.run();
//! ```
#![warn(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

mod dispatch;
mod fd;
mod inbox;
mod init;
mod overflow;
mod panic;
mod poll;
mod pool;
mod proc;
mod runq;
mod sched;
mod signal;
mod task;
pub mod testing;
mod time;
mod trace;
mod watchdog;
mod wheel;

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use syscalls::{Command, ExitCode, Pid, Program, TaskState, Trap};

pub use fd::console::{Capture, ConsoleInput, ConsoleOutput, ConsoleSpec, LineRequest, SinkFn};
pub use inbox::{InboxSender, KernelHandle, Message};
pub use signal::block_host_signals;
pub use time::{ClockKind, CpuClockHandle};
pub use trace::Event;

use fd::console::Console;
use fd::pipe::Pipe;
use inbox::Inbox;
use poll::Poller;
use task::TaskTable;
use time::{Clock, CpuClock};
use wheel::Timers;

/// Limits and choices a kernel is booted with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Most tasks alive at once (zombies count); `spawn` answers `EAGAIN`
    /// past it.
    pub max_tasks: usize,
    /// Most descriptors per task; past it, `EMFILE`.
    pub max_fds: usize,
    /// A pipe's buffer when `pipe()` names none.
    pub pipe_capacity: usize,
    /// The largest buffer `pipe_with_capacity` may ask for (`EINVAL`).
    pub max_pipe_capacity: usize,
    /// Host clock, or virtual time for tests.
    pub clock: ClockKind,
    /// Record an event trace (`Kernel::trace`).
    pub trace: bool,
    /// How long a task may run without returning to the kernel before a
    /// watchdog thread says so on stderr (`watchdog.rs`); `None` or zero:
    /// no watchdog.
    pub watchdog: Option<Duration>,
    /// Charge CPU time by a clock the test moves by hand
    /// (`Kernel::cpu_clock_handle`), not by the host's: for tests of the
    /// bookkeeping. The watchdog then sees only that clock too.
    pub cpu_clock_by_hand: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_tasks: 1 << 20,
            max_fds: 1024,
            pipe_capacity: 64 * 1024,
            max_pipe_capacity: 16 << 20,
            clock: ClockKind::Host,
            trace: false,
            watchdog: Some(Duration::from_secs(1)),
            cpu_clock_by_hand: false,
        }
    }
}

/// Why a kernel could not boot.
#[derive(Debug)]
pub struct BootError(String);

impl std::fmt::Display for BootError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "coos: cannot boot: {}", self.0)
    }
}

impl std::error::Error for BootError {}

/// Counters of the kernel's own work, from `Kernel::stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelStats {
    /// Waits in the poller that returned since boot: one per event or
    /// deadline of a sleeping kernel; thousands a second if it spun.
    pub poller_waits: u64,
    /// Task slots the table has room for (taken or free).
    pub task_slots: usize,
    /// Bytes the kernel's own tables hold: task slots, the pid index,
    /// pipes and their buffers, sockets.
    pub table_bytes: usize,
    /// Timers set (sleeps and deadlines), including ones no longer
    /// needed that have not yet come due.
    pub timers: usize,
}

/// What `Kernel::step` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Ran this task once (a poll, and the calls it made that finished at once).
    Ran(Pid),
    /// Nothing was ready; events and due timers were handled.
    Idle,
    /// Init has ended: the run is over, with the first program's status.
    Halted(ExitCode),
}

/// A kernel: its tasks, their resources, and the loop that runs them.
pub struct Kernel {
    config: Config,
    programs: HashMap<&'static str, Program>,
    program_list: Vec<Program>,
    trap: Rc<Trap>,
    tasks: TaskTable,
    ready: runq::RunQueue,
    timers: Timers,
    /// Deadlines of the tasks that set one (`Sys::timeout`).
    deadlines: task::PidMap<time::Deadline>,
    /// Tasks reaped so far, and tasks in use, when memory was last given
    /// back (`give_back_memory`).
    shrunk_at: (u64, usize),
    /// The entries of the tasks parked in `poll` (the kernel's copies).
    polls: task::PidMap<Vec<syscalls::PollFd>>,
    clock: Clock,
    cpu_clock: CpuClock,
    /// With `Config::cpu_clock_by_hand`: what moves `cpu_clock`.
    cpu_clock_handle: Option<time::CpuClockHandle>,
    /// The task that ran last: (its live slot, pid, CPU clock when it
    /// started).
    charging: Option<(usize, Pid, u64)>,
    /// Looks at events since the host's fds were last polled while busy.
    busy_looks: u32,
    pipes: Vec<Option<Pipe>>,
    free_pipes: Vec<u32>,
    sockets: Vec<Option<fd::socket::Socket>>,
    free_sockets: Vec<u32>,
    /// Sockets open now (the poller is asked between tasks while any are).
    open_sockets: usize,
    /// Host threads for blocking work.
    pool: pool::Pool,
    /// Big answers (task lists, addresses) of ready tasks, whose state
    /// holds `PackedReply::KEPT_ASIDE` (`sched::pack_answer`).
    big_replies: task::PidMap<syscalls::SysResult<syscalls::Reply>>,
    /// Tasks started from other threads, and where their status goes.
    exit_watchers: task::PidMap<std::sync::mpsc::Sender<ExitCode>>,
    console: Console,
    poller: Poller,
    inbox: Inbox,
    /// What the kernel thread runs now, for the watchdog and the handlers
    /// of host signals and faults.
    watchdog: watchdog::Watchdog,
    trace: Vec<Event>,
    halted: Option<ExitCode>,
}

impl Kernel {
    /// Boots a kernel with `programs` as its registry and `console` as the
    /// first program's fds 0, 1 and 2. No task runs until `start`.
    ///
    /// # Errors
    /// The host refused an epoll instance or an eventfd.
    pub fn boot(
        config: Config,
        programs: Vec<Program>,
        console: ConsoleSpec,
    ) -> Result<Kernel, BootError> {
        panic::install_hook();
        let poller = Poller::new().map_err(|e| BootError(format!("epoll: {e}")))?;
        let inbox = Inbox::new().map_err(|e| BootError(format!("eventfd: {e}")))?;
        poller
            .register(inbox.wake_fd(), poll::WAKE_TOKEN, poll::Interest::Read)
            .map_err(|e| BootError(format!("epoll: {e}")))?;
        let pid_max =
            (config.max_tasks.saturating_mul(4)).clamp(32_768, u32::MAX as usize / 2) as u32;
        // Before the console: it saves the host's fd flags it changes.
        let (cpu_clock, cpu_clock_handle) = if config.cpu_clock_by_hand {
            let (clock, handle) = CpuClock::by_hand();
            (clock, Some(handle))
        } else {
            (CpuClock::new(), None)
        };
        let watchdog = watchdog::Watchdog::start(config.watchdog, cpu_clock.shared());
        Ok(Kernel {
            clock: Clock::new(config.clock),
            cpu_clock,
            cpu_clock_handle,
            charging: None,
            busy_looks: 0,
            programs: programs.iter().map(|p| (p.name, *p)).collect(),
            program_list: programs,
            trap: Rc::new(Trap::new()),
            tasks: TaskTable::new(pid_max),
            ready: runq::RunQueue::default(),
            timers: Timers::default(),
            deadlines: task::PidMap::default(),
            polls: task::PidMap::default(),
            shrunk_at: (0, 0),
            pipes: Vec::new(),
            free_pipes: Vec::new(),
            sockets: Vec::new(),
            free_sockets: Vec::new(),
            open_sockets: 0,
            pool: pool::Pool::default(),
            big_replies: task::PidMap::default(),
            exit_watchers: task::PidMap::default(),
            console: Console::new(console),
            poller,
            inbox,
            watchdog,
            trace: Vec::new(),
            halted: None,
            config,
        })
    }

    /// Starts init (pid 1), which runs `command` as its child (pid 2) on the
    /// console, reaps every orphan, and when that child ends, ends every task
    /// left and halts the kernel with the child's status.
    pub fn start(&mut self, command: Command) {
        assert!(self.tasks.len() == 0, "start is called once per kernel");
        self.spawn_init(command);
    }

    /// Runs until init halts; returns the first program's status.
    pub fn run(&mut self) -> ExitCode {
        loop {
            if let Step::Halted(code) = self.run_batch(true) {
                return code;
            }
        }
    }

    /// Runs until init halts (`Some(status)`) or until nothing can happen
    /// without input from outside (`None`): no task ready, no timer set, no
    /// task waiting on a host fd. Tests feed the console and call it again.
    pub fn run_until_idle(&mut self) -> Option<ExitCode> {
        loop {
            match self.run_batch(false) {
                Step::Halted(code) => return Some(code),
                Step::Idle if self.is_stalled() => return None,
                _ => {}
            }
        }
    }

    /// Runs one ready task once, or, with none ready, handles events and
    /// due timers (moving virtual time to the next deadline; on the host's
    /// clock, waiting for the next event if one can come).
    pub fn step(&mut self) -> Step {
        if let Some(code) = self.halted {
            return Step::Halted(code);
        }
        match self.run_next() {
            Some(pid) => Step::Ran(pid),
            None => {
                // On the host's clock, wait in the poller for what can
                // still come (a timer, a socket, the pool) instead of
                // spinning; with nothing to wait for, return at once.
                let wait = !self.clock.is_virtual() && !self.is_stalled();
                self.handle_events(wait);
                match self.halted {
                    Some(code) => Step::Halted(code),
                    None => Step::Idle,
                }
            }
        }
    }

    /// Moves a virtual clock forward by `by` and wakes the sleepers now due.
    /// (No effect on the time of a host clock.)
    pub fn advance(&mut self, by: Duration) {
        let to = self.clock.now() + by;
        self.clock.advance_to(to);
        self.expire_timers();
    }

    /// The kernel's clock: time since boot.
    pub fn now(&self) -> Duration {
        self.clock.now()
    }

    /// The events recorded so far (with `Config::trace`).
    pub fn trace(&self) -> &[Event] {
        &self.trace
    }

    /// Takes the recorded events, leaving the trace empty.
    pub fn take_trace(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.trace)
    }

    /// Appends `bytes` to fed console input and wakes its readers.
    pub fn feed_console(&mut self, bytes: &[u8]) {
        self.handle_message(Message::ConsoleInput(bytes.to_vec()));
    }

    /// Ends fed console input: readers see end-of-file once it is drained.
    pub fn end_console(&mut self) {
        self.handle_message(Message::ConsoleEof);
    }

    /// A handle other threads use to start tasks in this kernel.
    pub fn handle(&self) -> KernelHandle {
        KernelHandle::new(self.inbox.sender())
    }

    /// A sender other threads use to reach this kernel.
    pub fn inbox(&self) -> InboxSender {
        self.inbox.sender()
    }

    /// How many tasks exist (zombies included).
    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    /// Is there a task with this pid (zombie or not)?
    pub fn has_task(&self, pid: Pid) -> bool {
        self.tasks.get(pid).is_some()
    }

    /// What the task `pid` is doing, if it exists.
    pub fn task_state(&self, pid: Pid) -> Option<TaskState> {
        self.tasks.state(pid).map(|s| s.describe())
    }

    /// The argv of every live (not zombie) task but those in `except`, by pid.
    pub fn live_tasks(&self, except: &[Pid]) -> Vec<String> {
        self.snapshot()
            .into_iter()
            .filter(|t| !except.contains(&t.pid) && !matches!(t.state, TaskState::Zombie(_)))
            .map(|t| t.args.join(" "))
            .collect()
    }

    /// The hand of a CPU clock moved by hand (`Config::cpu_clock_by_hand`);
    /// `None` for the host's.
    pub fn cpu_clock_handle(&self) -> Option<CpuClockHandle> {
        self.cpu_clock_handle.clone()
    }

    /// What the kernel itself has done and holds (for tests and `ps`).
    pub fn stats(&self) -> KernelStats {
        let pipes: usize = self
            .pipes
            .iter()
            .flatten()
            .map(|pipe| pipe.buf.allocated())
            .sum();
        KernelStats {
            poller_waits: self.poller.waits(),
            task_slots: self.tasks.capacity(),
            table_bytes: self.tasks.bytes()
                + self.pipes.capacity() * std::mem::size_of::<Option<Pipe>>()
                + pipes
                + self.sockets.capacity() * std::mem::size_of::<Option<fd::socket::Socket>>(),
            timers: self.timers.len(),
        }
    }

    /// Can nothing happen without input from outside? No task ready, no
    /// timer set, no task waiting on a host fd, no message in the inbox.
    pub fn is_stalled(&self) -> bool {
        self.ready.is_empty()
            && self.timers.len() == 0
            && self.host_waiters() == 0
            && self.inbox.is_empty()
    }

    pub(crate) fn record(&mut self, event: impl FnOnce() -> Event) {
        if self.config.trace {
            self.trace.push(event());
        }
    }
}
