//! The real `coos` binary as a child process, for tests of what only a
//! whole process shows (the command line, host signals, the watchdog's
//! notice on stderr, a stack overflow, exit statuses).
//!
//! Every wait is bounded by `PATIENCE`: a coos that does not do what is
//! awaited in time is killed, and the test fails with what coos printed
//! so far. No coos outlives its test: one still running when its test
//! ends (a failed one) is killed on drop, and each is started with
//! `PR_SET_PDEATHSIG`, so that the host kills it should the test process
//! die first (killed from outside, as a CI timeout does).

use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// How long one expectation may take. Generous: a loaded machine must not
/// fail a test; a coos that never does what is awaited is what this
/// catches.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Makes the child `command` starts die (SIGKILL) when the thread that
/// starts it ends: the test's thread, or the whole test process, killed.
pub fn dies_with_its_test(command: &mut Command) -> &mut Command {
    let test = std::process::id();
    // SAFETY: the closure runs in the forked child before exec and calls
    // only async-signal-safe functions (prctl, getppid).
    unsafe {
        command.pre_exec(move || {
            if nix::libc::prctl(nix::libc::PR_SET_PDEATHSIG, nix::libc::SIGKILL) == -1 {
                return Err(io::Error::last_os_error());
            }
            // The test died between the fork and the prctl: no signal
            // will come, so the child goes now.
            if nix::libc::getppid() as u32 != test {
                return Err(io::Error::other("the test is gone"));
            }
            Ok(())
        })
    }
}

/// Runs `coos ARGS` to its end with an empty stdin; returns its status
/// and output. Fails (killing it) if it has not ended within `PATIENCE`.
#[track_caller]
pub fn run(args: &[&str]) -> Output {
    Coos::start(args, Stdio::null()).output("its end")
}

/// Runs `coos ARGS` to its end with `input` as its stdin (then
/// end-of-file); returns its status and output. Fails (killing it) if it
/// has not ended within `PATIENCE`.
#[track_caller]
pub fn run_with_input(args: &[&str], input: &str) -> Output {
    let mut coos = Coos::start(args, Stdio::piped());
    let mut stdin = coos.child.stdin.take().expect("piped");
    let input = input.as_bytes().to_vec();
    // On a thread of its own: a coos that reads nothing must not stop the
    // test in a write to a full pipe. A coos gone makes it fail, and end.
    std::thread::spawn(move || stdin.write_all(&input));
    coos.output("its end, once its stdin ended")
}

/// A running `coos`, its stdout and stderr piped to the test.
pub struct Coos {
    child: Child,
    /// What the command was, for messages.
    what: String,
    /// How long one expectation may take.
    patience: Duration,
    stdout: Stream<ChildStdout>,
    stderr: Stream<ChildStderr>,
}

/// One of its output streams: the pipe (until end-of-file, or until the
/// test closes it), what came through it, and how much of that the test
/// has taken.
struct Stream<R> {
    pipe: Option<R>,
    got: Vec<u8>,
    taken: usize,
}

impl<R: Read + AsFd> Stream<R> {
    fn new(pipe: Option<R>) -> Stream<R> {
        Stream {
            pipe,
            got: Vec::new(),
            taken: 0,
        }
    }

    /// The next whole line not yet taken, if it has come.
    fn take_line(&mut self) -> Option<String> {
        let end = self.got[self.taken..].iter().position(|&b| b == b'\n')?;
        let line = &self.got[self.taken..self.taken + end + 1];
        self.taken += end + 1;
        Some(String::from_utf8_lossy(line).into_owned())
    }

    /// Reads what the pipe has (after `poll` said it may).
    fn read(&mut self) {
        let Some(pipe) = &mut self.pipe else { return };
        let mut buf = [0u8; 64 * 1024];
        match pipe.read(&mut buf) {
            Ok(0) | Err(_) => self.pipe = None,
            Ok(n) => self.got.extend_from_slice(&buf[..n]),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.got).into_owned()
    }
}

impl Coos {
    /// Starts `coos ARGS` with `stdin`, its stdout and stderr piped.
    pub fn start(args: &[&str], stdin: Stdio) -> Coos {
        let mut command = Command::new(env!("CARGO_BIN_EXE_coos"));
        command.args(args).stdin(stdin);
        Coos::spawn(command, &format!("coos {}", args.join(" ")))
    }

    /// Starts `command` (a `coos` command line set up by the caller) with
    /// its stdout and stderr piped; `what` names it in messages.
    pub fn spawn(mut command: Command, what: &str) -> Coos {
        let mut child = dies_with_its_test(&mut command)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("coos starts");
        let stdout = Stream::new(child.stdout.take());
        let stderr = Stream::new(child.stderr.take());
        Coos {
            child,
            what: what.to_string(),
            patience: PATIENCE,
            stdout,
            stderr,
        }
    }

    /// Makes each expectation wait at most `patience` (`PATIENCE` unless
    /// set).
    pub fn patience(mut self, patience: Duration) -> Coos {
        self.patience = patience;
        self
    }

    /// Waits up to `until` for more output; false if none came (or both
    /// streams are closed).
    fn pump(&mut self, until: Instant) -> bool {
        let left = until.saturating_duration_since(Instant::now());
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let (out, err) = (&self.stdout.pipe, &self.stderr.pipe);
        let mut fds: Vec<PollFd> = [out.as_ref().map(AsFd::as_fd), err.as_ref().map(AsFd::as_fd)]
            .into_iter()
            .flatten()
            .map(|fd| PollFd::new(fd, PollFlags::POLLIN))
            .collect();
        if fds.is_empty() {
            return false;
        }
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => return false,
            Ok(_) => {}
            Err(e) => panic!("poll coos's output: {e}"),
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|fd| fd.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        let mut ready = ready.into_iter();
        if self.stdout.pipe.is_some() && ready.next() == Some(true) {
            self.stdout.read();
        }
        if self.stderr.pipe.is_some() && ready.next() == Some(true) {
            self.stderr.read();
        }
        true
    }

    /// Fails the test: `what` did not come. Shows what coos printed.
    #[track_caller]
    fn fail(&mut self, what: &str) -> ! {
        let _ = self.child.kill();
        panic!(
            "{}: {what}\n--- its stdout so far:\n{}\n--- its stderr so far:\n{}",
            self.what,
            self.stdout.text(),
            self.stderr.text()
        )
    }

    /// Reads a line of its stdout (the program announces itself there:
    /// the test reads it before it acts). Fails after `PATIENCE`, or if
    /// stdout ends first.
    #[track_caller]
    pub fn line(&mut self) -> String {
        let deadline = Instant::now() + self.patience;
        loop {
            if let Some(line) = self.stdout.take_line() {
                return line;
            }
            if self.stdout.pipe.is_none() {
                self.fail("its stdout ended without another line");
            }
            if Instant::now() >= deadline {
                self.fail(&format!("no line on stdout within {:?}", self.patience));
            }
            self.pump(deadline);
        }
    }

    /// Closes the test's end of its stdout, as a reader that goes away
    /// (`| head -3`): coos's next write fails.
    pub fn close_stdout(&mut self) {
        self.stdout.pipe = None;
    }

    /// Waits for a line on its stderr that contains `text`; fails after
    /// `PATIENCE`, or if coos ended first.
    #[track_caller]
    pub fn expect_stderr(&mut self, text: &str) -> String {
        let deadline = Instant::now() + self.patience;
        loop {
            while let Some(line) = self.stderr.take_line() {
                if line.contains(text) {
                    return line.trim_end_matches('\n').to_string();
                }
            }
            if self.stderr.pipe.is_none() {
                self.fail(&format!("it ended without {text:?} on stderr"));
            }
            if Instant::now() >= deadline {
                self.fail(&format!("no {text:?} on stderr within {:?}", self.patience));
            }
            self.pump(deadline);
        }
    }

    /// Sends `signal` to coos.
    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).expect("signal sent");
    }

    /// The host's id of coos.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for coos to end (`why` says what should end it), reading its
    /// output to the end; fails after `PATIENCE`.
    #[track_caller]
    fn finish(&mut self, why: &str) -> ExitStatus {
        let deadline = Instant::now() + self.patience;
        // Its output ends with it (unless a child of its own holds it,
        // which coos never makes).
        while self.stdout.pipe.is_some() || self.stderr.pipe.is_some() {
            if Instant::now() >= deadline {
                self.fail(&format!(
                    "it did not end within {:?} of {why}",
                    self.patience
                ));
            }
            self.pump(deadline);
        }
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for coos") {
                return status;
            }
            if Instant::now() >= deadline {
                self.fail(&format!(
                    "it did not end within {:?} of {why}",
                    self.patience
                ));
            }
            // Its output is closed: the exit is a matter of the host
            // reaping it.
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for coos to end (`why` says what should end it); returns its
    /// status code (`None`: a signal killed it) and all its stderr.
    #[track_caller]
    pub fn wait(&mut self, why: &str) -> (Option<i32>, String) {
        let status = self.finish(why);
        (status.code(), self.stderr.text())
    }

    /// Waits for coos to end (`why` says what should end it); returns its
    /// status and all its output.
    #[track_caller]
    pub fn output(mut self, why: &str) -> Output {
        let status = self.finish(why);
        Output {
            status,
            stdout: std::mem::take(&mut self.stdout.got),
            stderr: std::mem::take(&mut self.stderr.got),
        }
    }
}

impl Drop for Coos {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
