//! The real `coos` binary on a pseudo-terminal, driven by keystrokes as a
//! person would drive it (the line editor, the printer, Ctrl-C, Ctrl-D).
//!
//! What coos writes goes through a small terminal model (`Screen`), so a
//! test reads what a person would see, whatever redraws the line editor
//! makes. Every wait is bounded: an expectation not met within `PATIENCE`
//! fails and shows the screen; a coos still running when its test ends is
//! killed, and it dies with its test (`child::dies_with_its_test`).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::pty::{openpty, Winsize};

/// How long one expectation may take.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The terminal's width.
pub const COLUMNS: u16 = 80;

/// `coos` on the slave side of a pty; the test holds the master.
pub struct Session {
    pub master: File,
    pub child: Child,
    pub screen: Screen,
    /// Expectations look at this row and below.
    pub mark: usize,
    /// The slave side was closed (coos is gone).
    pub closed: bool,
}

impl Session {
    /// Starts `coos ARGS` on a new pty. A test must not write the history
    /// of the person running it: pass `--no-history`, `--history FILE`, or
    /// see `start_with_env`.
    pub fn start(args: &[&str]) -> Session {
        Session::start_with_env(args, &[])
    }

    /// Starts `coos ARGS` on a new pty, with `env` added to its
    /// environment (`XDG_DATA_HOME`, where the history goes by default).
    pub fn start_with_env(args: &[&str], env: &[(&str, &Path)]) -> Session {
        let size = Winsize {
            ws_row: 24,
            ws_col: COLUMNS,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(&size, None).expect("openpty");
        let slave = |pty: &OwnedFd| Stdio::from(pty.try_clone().expect("dup the pty's slave"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_coos"));
        command
            .args(args)
            // Any terminal but `dumb` (on which rustyline does not edit).
            .env("TERM", "xterm")
            .envs(env.iter().copied())
            .stdin(slave(&pty.slave))
            .stdout(slave(&pty.slave))
            .stderr(slave(&pty.slave));
        // SAFETY: the closure runs in the forked child before exec and
        // calls only async-signal-safe functions (setsid, ioctl).
        unsafe {
            command.pre_exec(|| {
                // A session of its own, with the pty (its stdin) as the
                // controlling terminal: Ctrl-C there signals coos.
                nix::unistd::setsid()?;
                if nix::libc::ioctl(0, nix::libc::TIOCSCTTY, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = super::child::dies_with_its_test(&mut command)
            .spawn()
            .expect("start coos");
        // Only coos may hold the slave now, so its exit closes the pty.
        drop(command);
        drop(pty.slave);
        Session {
            master: File::from(pty.master),
            child,
            screen: Screen::default(),
            mark: 0,
            closed: false,
        }
    }

    pub fn send(&mut self, keys: &str) {
        self.master
            .write_all(keys.as_bytes())
            .expect("type at coos");
    }

    /// Reads what coos writes within `wait`.
    pub fn read_some(&mut self, wait: Duration) {
        let ms = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => return,
            Ok(_) => {}
            Err(e) => panic!("poll the pty: {e}"),
        }
        let mut buf = [0u8; 4096];
        match self.master.read(&mut buf) {
            // EIO: every slave fd is closed, coos has ended.
            Ok(0) | Err(_) => self.closed = true,
            Ok(n) => self.screen.feed(&buf[..n]),
        }
    }

    /// Waits until `found` finds something at or below the mark (it
    /// returns the row to put the mark on) and moves the mark; false if
    /// nothing was found within `wait`.
    pub fn wait_for(
        &mut self,
        wait: Duration,
        found: &dyn Fn(&Screen, usize) -> Option<usize>,
    ) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(row) = found(&self.screen, self.mark) {
                self.mark = row;
                return true;
            }
            let now = Instant::now();
            if now >= deadline || self.closed {
                return false;
            }
            self.read_some(deadline - now);
        }
    }

    pub fn expect(&mut self, what: &str, found: &dyn Fn(&Screen, usize) -> Option<usize>) {
        if !self.wait_for(PATIENCE, found) {
            let why = if self.closed {
                let status = self.child.try_wait().ok().flatten();
                format!("coos ended ({status:?}) before {what}")
            } else {
                format!("waited {PATIENCE:?} for {what}")
            };
            panic!(
                "{why} (from row {}); the screen:\n{}",
                self.mark,
                self.screen.text()
            );
        }
    }

    /// A finished line (the cursor has left it) that reads `text`.
    pub fn expect_line(&mut self, text: &str) {
        self.expect(&format!("the line {text:?}"), &|screen, mark| {
            (mark..screen.row)
                .find(|&row| screen.line(row) == text)
                .map(|row| row + 1)
        });
    }

    /// The line editor reading keys, at or below the mark, for a program
    /// that reads the console with no prompt (`cat`). Keys typed before
    /// would reach a cooked terminal (echoed by the pty, Ctrl-D an
    /// end-of-file of the pty's own): wait for this first.
    pub fn expect_editor(&mut self) {
        self.expect("the line editor reading keys", &|screen, mark| {
            (screen.editing && screen.row >= mark).then_some(screen.row)
        });
    }

    /// The line editor waiting at the shell's `$ ` prompt.
    pub fn expect_prompt(&mut self) {
        self.expect("the prompt", &prompt);
    }

    /// Runs `echo alive` at the prompt and waits for the next prompt: coos
    /// still answers.
    pub fn expect_alive(&mut self) {
        self.send("echo alive\r");
        self.expect_line("$ echo alive");
        self.expect_line("alive");
        self.expect_prompt();
    }

    /// Leaves with Ctrl-D at the prompt; checks coos exits 0.
    pub fn leave(mut self) {
        self.send("\x04");
        self.expect_line("exit");
        let status = self.expect_exit();
        assert_eq!(
            status.code(),
            Some(0),
            "coos ends by Ctrl-D; the screen:\n{}",
            self.screen.text()
        );
    }

    /// Waits for coos to end (its side of the pty closed, then its exit).
    pub fn expect_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        while !self.closed && Instant::now() < deadline {
            self.read_some(deadline - Instant::now());
        }
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for coos") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "coos did not exit within {PATIENCE:?}; the screen:\n{}",
                self.screen.text()
            );
            // Its pty is closed: the exit is a matter of the host reaping it.
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // A failed test leaves no coos behind.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The line editor has the keyboard (raw mode: it turned bracketed paste
/// on) and the cursor's line, at or below `mark`, starts with the prompt.
/// The mark stays on that line, where the command is typed.
pub fn prompt(screen: &Screen, mark: usize) -> Option<usize> {
    let line: String = screen.lines.get(screen.row).into_iter().flatten().collect();
    let ready = screen.editing && screen.row >= mark && line.starts_with("$ ");
    ready.then_some(screen.row)
}

/// Just enough of a terminal for what coos and its line editor write:
/// text, CR, LF, backspace, and the CSI sequences that move the cursor on
/// its line or erase; others (colors) are ignored.
#[derive(Default)]
pub struct Screen {
    pub lines: Vec<Vec<char>>,
    pub row: usize,
    pub col: usize,
    /// Bracketed paste is on: the line editor is reading keys.
    pub editing: bool,
    /// Bytes of an escape sequence or a character cut by a read.
    pending: Vec<u8>,
}

impl Screen {
    pub fn feed(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        let bytes = std::mem::take(&mut self.pending);
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\r' => self.col = 0,
                b'\n' => self.row += 1,
                0x08 => self.col = self.col.saturating_sub(1),
                0x1b => match self.escape(&bytes[i..]) {
                    Some(len) => i += len - 1,
                    None => {
                        self.pending = bytes[i..].to_vec();
                        return;
                    }
                },
                b if b < 0x20 => {}
                _ => {
                    let len = utf8_len(bytes[i]);
                    let Some(encoded) = bytes.get(i..i + len) else {
                        self.pending = bytes[i..].to_vec();
                        return;
                    };
                    let c = std::str::from_utf8(encoded)
                        .map_or('\u{fffd}', |s| s.chars().next().expect("one character"));
                    self.put(c);
                    i += len - 1;
                }
            }
            i += 1;
        }
    }

    /// Carries out the escape sequence at the start of `seq`; returns its
    /// length, or `None` if it is cut short.
    fn escape(&mut self, seq: &[u8]) -> Option<usize> {
        let kind = *seq.get(1)?;
        if kind != b'[' {
            return Some(2);
        }
        let end = 2 + seq[2..].iter().position(|b| (0x40..=0x7e).contains(b))?;
        let params = std::str::from_utf8(&seq[2..end]).unwrap_or("");
        let n = params.parse::<usize>().unwrap_or(1).max(1);
        let col = self.col;
        match (seq[end], params) {
            (b'C', _) => self.col += n,
            (b'D', _) => self.col = self.col.saturating_sub(n),
            (b'A', _) => self.row = self.row.saturating_sub(n),
            (b'B', _) => self.row += n,
            (b'G', _) => self.col = n - 1,
            (b'K', "" | "0") => self.line_mut().truncate(col),
            (b'K', "2") => self.line_mut().clear(),
            (b'J', "" | "0") => {
                self.line_mut().truncate(col);
                self.lines.truncate(self.row + 1);
            }
            (b'h', "?2004") => self.editing = true,
            (b'l', "?2004") => self.editing = false,
            _ => {}
        }
        Some(end + 1)
    }

    fn put(&mut self, c: char) {
        if self.col >= usize::from(COLUMNS) {
            self.row += 1;
            self.col = 0;
        }
        let col = self.col;
        let line = self.line_mut();
        if line.len() <= col {
            line.resize(col + 1, ' ');
        }
        line[col] = c;
        self.col += 1;
    }

    fn line_mut(&mut self) -> &mut Vec<char> {
        if self.lines.len() <= self.row {
            self.lines.resize(self.row + 1, Vec::new());
        }
        &mut self.lines[self.row]
    }

    /// Row `row` as shown, without trailing blanks.
    pub fn line(&self, row: usize) -> String {
        let line: String = self.lines.get(row).into_iter().flatten().collect();
        line.trim_end().to_string()
    }

    pub fn text(&self) -> String {
        (0..=self.row)
            .map(|row| format!("{row:3}| {}\n", self.line(row)))
            .collect()
    }
}

/// How many bytes the UTF-8 character starting with `first` takes.
fn utf8_len(first: u8) -> usize {
    match first {
        0xf0.. => 4,
        0xe0.. => 3,
        0xc0.. => 2,
        _ => 1,
    }
}
