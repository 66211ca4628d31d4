//! The watchdog: a task that runs past the limit without a system call is
//! named once on the host's stderr, and marked in its `TaskInfo` when it
//! yields at last. The spinning task spins until the notice has come (or a
//! deadline that only a broken watchdog reaches), so nothing here depends
//! on how fast the machine is.
//!
//! The notice goes to the process's fd 2 (the kernel thread is held: only
//! a write(2) from a signal handler can say it), so the test points fd 2
//! at a pipe meanwhile. This file has one test: nothing else writes there.

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kernel::testing::Harness;

/// The watchdog's limit here: small, so the test is quick.
const LIMIT: Duration = Duration::from_millis(50);

/// How long the task spins at most: only a watchdog that never notices
/// makes it wait that long (and then the test fails).
const DEADLINE: Duration = Duration::from_secs(30);

/// fd 2 pointed at a pipe until dropped; `take` gives what was written.
struct Stderr {
    saved: OwnedFd,
    read: Option<std::fs::File>,
}

impl Stderr {
    fn capture() -> Stderr {
        let saved = nix::unistd::dup(2).expect("dup fd 2");
        // SAFETY: dup returned a new fd that nothing else owns.
        let saved = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(saved) };
        let (read, write) = nix::unistd::pipe().expect("pipe");
        nix::unistd::dup2(write.as_raw_fd(), 2).expect("dup2 onto fd 2");
        Stderr {
            saved,
            read: Some(read.into()),
        }
    }

    /// Puts fd 2 back and reads all that was written meanwhile.
    fn take(&mut self) -> String {
        nix::unistd::dup2(self.saved.as_raw_fd(), 2).expect("put fd 2 back");
        let mut text = String::new();
        if let Some(mut read) = self.read.take() {
            // Every write end is closed now: this reads to the end.
            read.read_to_string(&mut text).expect("read the pipe");
        }
        text
    }
}

impl Drop for Stderr {
    fn drop(&mut self) {
        let _ = nix::unistd::dup2(self.saved.as_raw_fd(), 2);
    }
}

#[test]
fn a_task_that_spins_past_the_limit_is_named_once_and_marked_when_it_yields() {
    let mut stderr = Stderr::capture();
    // A thread watches the pipe and tells the spinning task when the
    // notice has come (a pipe stays readable for a second reader: it only
    // peeks at whether anything is there).
    let noticed = Arc::new(AtomicBool::new(false));
    let read_fd = stderr.read.as_ref().expect("open").as_raw_fd();
    let flag = noticed.clone();
    let watcher = std::thread::spawn(move || {
        let deadline = Instant::now() + DEADLINE;
        while Instant::now() < deadline {
            let mut fds = [nix::libc::pollfd {
                fd: read_fd,
                events: nix::libc::POLLIN,
                revents: 0,
            }];
            // SAFETY: poll reads and writes the one pollfd given.
            if unsafe { nix::libc::poll(fds.as_mut_ptr(), 1, 10) } > 0 {
                flag.store(true, Ordering::Release);
                return;
            }
        }
    });

    let seen = noticed.clone();
    let out = Harness::new(Vec::new())
        .config(|c| c.watchdog = Some(LIMIT))
        .run_fn(move |sys| async move {
            let start = Instant::now();
            while !seen.load(Ordering::Acquire) && start.elapsed() < DEADLINE {
                std::hint::spin_loop();
            }
            // Spin on a few limits more: a watchdog that repeats itself
            // would say it again.
            let noticed = Instant::now();
            while noticed.elapsed() < 4 * LIMIT {
                std::hint::spin_loop();
            }
            // The turn is over with this call: the kernel has marked it.
            sys.yield_now().await;
            let me = sys.getpid().await;
            let rows = sys.tasks().await;
            let row = rows.iter().find(|r| r.pid == me).expect("my row");
            match row.hogged {
                Some(time) if time >= LIMIT => 0,
                _ => 1,
            }
        });
    watcher.join().expect("the watcher");
    let text = stderr.take();

    assert_eq!(out.status, Some(0), "marked as hogging; stderr: {text:?}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one notice: {text:?}");
    assert!(
        lines[0].starts_with("coos: pid 2 (test) has run 0.")
            && lines[0].ends_with(" s without a system call"),
        "{text:?}"
    );
}
