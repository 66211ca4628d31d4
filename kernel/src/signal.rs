//! Signals of the host: SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to the
//! coos process become messages in the kernel's inbox, never a crash and
//! never a death that would leave the terminal in non-blocking mode.
//!
//! The signals are blocked in the calling thread (and so in every thread it
//! starts later) and taken by one thread that waits for them with
//! `sigwait`. SIGINT at an interactive terminal, or while the console has a
//! foreground job, is a Ctrl-C: the foreground job (if any) gets `INT`.
//! Otherwise SIGINT, and SIGTERM,
//! SIGHUP and SIGQUIT always, ask coos to stop: every task gets the signal
//! (in coos a signal ends its task at once, so no task outlives it and no
//! later `KILL` is needed), init reaps them, and coos exits with
//! 128 + signal, the status of the first program.
//!
//! A deaf kernel: a task that never makes a system call holds the kernel
//! thread, which then never reads its inbox. So the signal thread waits
//! `ANSWER_WITHIN` for the kernel to take the message; if it has not, the
//! signal thread ends coos itself: it says which task held the kernel,
//! puts back what coos changed on the host (`HostRestore`: the flags of
//! fds 0, 1 and 2, the terminal's settings) and exits with 128 + signal,
//! the status the orderly way would have given.

use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg};
use nix::libc;
use nix::sys::signal::{SigSet, Signal as HostSignal};

use syscalls::Signal;

use crate::inbox::{InboxSender, Message};
use crate::watchdog::Running;

/// How long the kernel has to take a host signal from its inbox before the
/// signal thread ends coos without it. The kernel looks at its inbox many
/// times a millisecond when it works and at once when it sleeps; half a
/// second without a look means a task holds it (or a host call blocks it),
/// and keeps "SIGTERM ends coos within a second" true.
const ANSWER_WITHIN: Duration = Duration::from_millis(500);

/// How often the signal thread looks whether the kernel took the message.
const LOOK_EVERY: Duration = Duration::from_millis(5);

/// How long the kernel thread is given to write which task holds it (a
/// signal handler's write) before coos ends.
const NOTICE_TIME: Duration = Duration::from_millis(20);

/// The host signals coos takes.
fn host_signals() -> SigSet {
    let mut set = SigSet::empty();
    for sig in [
        HostSignal::SIGINT,
        HostSignal::SIGTERM,
        HostSignal::SIGHUP,
        HostSignal::SIGQUIT,
    ] {
        set.add(sig);
    }
    set
}

/// Blocks the host signals coos takes in the calling thread and in every
/// thread it starts from now on, so that only the signal thread
/// (`Kernel::forward_host_signals`) takes them. Call it before starting
/// any thread: the `coos` command does so before it starts the kernel's.
///
/// # Errors
/// The host refused to change the signal mask.
pub fn block_host_signals() -> std::io::Result<()> {
    host_signals().thread_block().map_err(std::io::Error::from)
}

impl crate::Kernel {
    /// Turns the host's SIGINT, SIGTERM, SIGHUP and SIGQUIT into kernel
    /// events. Call it on the kernel's thread before starting any other
    /// thread, so that none of them takes these signals instead.
    ///
    /// # Errors
    /// The host refused to change the signal mask or to start the thread.
    pub fn forward_host_signals(&self) -> std::io::Result<()> {
        block_host_signals()?;
        let inbox = self.inbox();
        let running = self.watchdog.running();
        std::thread::Builder::new()
            .name("coos-signals".into())
            .spawn(move || forward(host_signals(), inbox, &running))?;
        Ok(())
    }
}

fn forward(set: SigSet, inbox: InboxSender, running: &Running) {
    while let Ok(sig) = set.wait() {
        let signal = match sig {
            HostSignal::SIGINT => Signal::Int,
            HostSignal::SIGHUP => Signal::Hup,
            HostSignal::SIGQUIT => Signal::Quit,
            _ => Signal::Term,
        };
        let taken = inbox.taken();
        inbox.send(Message::HostSignal(signal));
        // Any message taken since means the kernel is draining its inbox:
        // this one is next, in the same drain.
        let deadline = Instant::now() + ANSWER_WITHIN;
        while inbox.taken() == taken {
            if Instant::now() >= deadline {
                end_deaf(sig, signal, running);
            }
            std::thread::sleep(LOOK_EVERY);
        }
    }
}

/// Ends coos because of `sig`, which the kernel did not take in time. Does
/// not return.
fn end_deaf(sig: HostSignal, signal: Signal, running: &Running) -> ! {
    let why = match running.task() {
        Some(pid) => {
            // Its notice names it (`coos: pid 31 (busy) has run ...`).
            running.name_the_holder();
            std::thread::sleep(NOTICE_TIME);
            format!("pid {pid} holds the kernel")
        }
        None => "the kernel is stuck".to_string(),
    };
    // Written while stderr may still be non-blocking: a full pipe or a
    // stopped terminal drops the line rather than keep coos alive.
    let line = format!("coos: {why}: {sig} ends coos now\n");
    let _ = nix::unistd::write(std::io::stderr(), line.as_bytes());
    running.restore.restore();
    // SAFETY: _exit ends the process at once; the kernel's thread, held by
    // a task, is past cleaning up, and no destructor or atexit handler
    // must run behind its back.
    unsafe { libc::_exit(i32::from(signal.exit_code())) }
}

/// What coos changes on the host and must put back on a way out that
/// skips the kernel's own cleanup (a forced exit, a stack overflow): the
/// status flags of fds 0, 1 and 2 (the console makes them non-blocking)
/// and the terminal's settings (the line editor's raw mode), as they were
/// at boot.
pub(crate) struct HostRestore {
    /// `None`: not open at boot.
    flags: [Option<libc::c_int>; 3],
    /// Of fd 0, if it is a terminal.
    termios: Option<libc::termios>,
}

impl HostRestore {
    /// Reads what is to be put back. Call it before the console changes
    /// anything.
    pub(crate) fn save() -> HostRestore {
        let flags = [0, 1, 2].map(|fd| fcntl(fd, FcntlArg::F_GETFL).ok());
        let termios = if nix::unistd::isatty(0).unwrap_or(false) {
            terminal_settings()
        } else {
            None
        };
        HostRestore { flags, termios }
    }

    /// Puts back what changed since `save`, and only that: settings left
    /// as they were are not written (a `tcsetattr` from a background
    /// process group would stop coos with SIGTTOU). Async-signal-safe
    /// (fcntl, tcgetattr and tcsetattr only): the stack overflow handler
    /// calls it.
    pub(crate) fn restore(&self) {
        for (fd, saved) in (0..).zip(self.flags) {
            let Some(saved) = saved else { continue };
            if fcntl(fd, FcntlArg::F_GETFL).is_ok_and(|now| now != saved) {
                let flags = nix::fcntl::OFlag::from_bits_retain(saved);
                let _ = fcntl(fd, FcntlArg::F_SETFL(flags));
            }
        }
        if let Some(saved) = &self.termios {
            if terminal_settings().is_some_and(|now| now != *saved) {
                // SAFETY: `saved` is a termios the host filled in
                // (`terminal_settings`); tcsetattr only reads it.
                unsafe { libc::tcsetattr(0, libc::TCSANOW, saved) };
            }
        }
    }
}

/// The settings of the terminal on fd 0 (`None` if it is none).
fn terminal_settings() -> Option<libc::termios> {
    let mut termios = std::mem::MaybeUninit::<libc::termios>::uninit();
    // SAFETY: tcgetattr writes a whole termios into the place it is given
    // when it succeeds, and nothing otherwise.
    let got = unsafe { libc::tcgetattr(0, termios.as_mut_ptr()) };
    // SAFETY: it succeeded: the termios is filled in.
    (got == 0).then(|| unsafe { termios.assume_init() })
}
