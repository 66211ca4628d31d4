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

use nix::sys::signal::{SigSet, Signal as HostSignal};

use syscalls::Signal;

use crate::inbox::{InboxSender, Message};

impl crate::Kernel {
    /// Turns the host's SIGINT, SIGTERM, SIGHUP and SIGQUIT into kernel
    /// events. Call it on the kernel's thread before starting any other
    /// thread, so that none of them takes these signals instead.
    ///
    /// # Errors
    /// The host refused to change the signal mask or to start the thread.
    pub fn forward_host_signals(&self) -> std::io::Result<()> {
        let mut set = SigSet::empty();
        for sig in [
            HostSignal::SIGINT,
            HostSignal::SIGTERM,
            HostSignal::SIGHUP,
            HostSignal::SIGQUIT,
        ] {
            set.add(sig);
        }
        set.thread_block().map_err(std::io::Error::from)?;
        let inbox = self.inbox();
        std::thread::Builder::new()
            .name("coos-signals".into())
            .spawn(move || forward(set, inbox))?;
        Ok(())
    }
}

fn forward(set: SigSet, inbox: InboxSender) {
    while let Ok(sig) = set.wait() {
        let message = match sig {
            HostSignal::SIGINT => Message::HostSignal(Signal::Int),
            HostSignal::SIGHUP => Message::HostSignal(Signal::Hup),
            HostSignal::SIGQUIT => Message::HostSignal(Signal::Quit),
            _ => Message::HostSignal(Signal::Term),
        };
        inbox.send(message);
    }
}
