//! The real `coos` binary as a child process, for tests of what only a
//! whole process shows (host signals, the watchdog's notice on stderr, a
//! stack overflow). Every wait is bounded by `PATIENCE`, and a child still
//! running when its test ends (a failed one) is killed.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// How long one expectation may take. Generous: a loaded machine must not
/// fail a test; a coos that never does what is awaited is what this
/// catches.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A running `coos`.
pub struct Coos {
    child: Child,
    stdout: BufReader<ChildStdout>,
    /// Its stderr, line by line, read by a thread of its own (so that a
    /// wait for a line can have a deadline).
    stderr: Receiver<String>,
    /// The stderr lines taken so far.
    seen: Vec<String>,
}

impl Coos {
    /// Starts `coos ARGS` with `stdin`, its stdout and stderr piped.
    pub fn start(args: &[&str], stdin: Stdio) -> Coos {
        let mut child = Command::new(env!("CARGO_BIN_EXE_coos"))
            .args(args)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("coos starts");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let err = BufReader::new(child.stderr.take().expect("piped"));
        let (send, stderr) = mpsc::channel();
        std::thread::spawn(move || {
            for line in err.lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Coos {
            child,
            stdout,
            stderr,
            seen: Vec::new(),
        }
    }

    /// Reads a line of its stdout (the program announces itself there:
    /// the test reads it before it acts, and coos writes it at once).
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("coos prints");
        line
    }

    /// Waits for a line on its stderr that contains `text`; panics after
    /// `PATIENCE`, or if coos ended first.
    pub fn expect_stderr(&mut self, text: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no {text:?} on stderr within {PATIENCE:?}: {:?}", self.seen)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("coos ended without {text:?} on stderr: {:?}", self.seen)
                }
            }
        }
    }

    /// Sends `signal` to coos.
    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).expect("signal sent");
    }

    /// Waits for coos to end (`why` says what should end it); returns its
    /// status code (`None`: a signal killed it) and all its stderr.
    pub fn wait(&mut self, why: &str) -> (Option<i32>, String) {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for coos") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "coos did not stop after {why}; its stderr: {:?}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        // Its stderr ends with it (unless a child of its own holds it,
        // which coos never makes): the rest is read to the end.
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => break,
            }
        }
        let stderr = self.seen.iter().map(|l| format!("{l}\n")).collect();
        (status.code(), stderr)
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
