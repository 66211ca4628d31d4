//! The terminal driver: the line editor (rustyline) that feeds the console
//! when a person sits at it, and the printer that puts console output on
//! the screen without garbling the line being typed.
//!
//! It knows nothing of the kernel. The caller (the `coos` command) wires
//! it: [`Terminal::asker`] becomes the console's line request,
//! [`Terminal::printer`] its output sinks, and every [`TermEvent`] a
//! message to the kernel's inbox.
//!
//! Three host threads touch the terminal, and one lock (`Screen`) orders
//! what they write:
//!
//! - the kernel's thread calls the printer and the asker; neither ever
//!   waits, for the editor or for the terminal. The printer takes what
//!   there is room for (`ROOM` bytes may wait for the screen) and says how
//!   much: a writer the printer has no room for waits in the kernel until
//!   the printer thread says there is room again. So the kernel is never
//!   stuck in a write to a slow terminal, and a Ctrl-C reaches a job that
//!   floods the screen at once;
//! - the printer thread writes what waits to the host's stdout or stderr
//!   and notes the partial line it leaves on the screen (the shell's `$ `
//!   prompt is one). While a line is edited, output is held and it passes
//!   whole lines to rustyline's external printer (they appear above the
//!   prompt); rustyline may block it, so the kernel's thread never calls
//!   rustyline itself;
//! - the editor thread runs `readline`. For each request it waits until
//!   the printer thread has written what waits (`Drain`), erases the
//!   partial line the printer left (`\r` and erase-line) and passes it to
//!   rustyline as the prompt, so the prompt is shown once and redrawn with
//!   the line; when the line is done it flushes what was held and answers
//!   with a [`TermEvent`].
//!
//! ```text
//!  kernel thread                 editor thread               printer thread
//!  printer(b"$ ") ──queue────────────────────────────────▶ tty, line = "$ "
//!  asker(tasks) ──request──▶ (written?) prompt = "$ ", erase,
//!                            readline("$ ") ◀── external print ── held lines
//!  on_event ◀────Line/Eof/Interrupt── flush held output
//! ```
//!
//! History: kept in memory for the session and, unless the caller says
//! none, appended to a file after every line (so nothing is lost if coos
//! ends while a prompt is showing). Only lines typed at a prompt are
//! history: a line typed for a program that printed none (`cat` reading
//! the console) is data, not a command. As with bash's `ignorespace`, a
//! line that starts with a space is not kept.
//!
//! Completion (Tab): the first word of a command → program names and
//! builtins; after `kill` → live pids (from the latest request's task
//! list) and `%N` job numbers; after `fg` or `wait` → `%N`. Job numbers are
//! learnt from the shell's own `[N] PID` lines as they pass through the
//! printer, and a job is offered while that pid is alive.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::{Hinter, HistoryHinter};
use rustyline::history::FileHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Context, Editor, ExternalPrinter, Helper};
use syscalls::Pid;

/// How many lines the history keeps (in memory and in its file).
const HISTORY_SIZE: usize = 1000;

/// The most output that waits for the screen (held while a line is edited,
/// or not yet written): a writer past it waits in the kernel. Enough for a
/// burst of output; little enough that after a Ctrl-C the screen shows at
/// most this much of a job that flooded it.
const ROOM: usize = 64 * 1024;

/// How long a new prompt waits for output still being handed to rustyline
/// (normally microseconds). Rustyline's external printer can keep a message
/// that arrived as the previous line ended until the next prompt; waiting
/// for it then would wait forever, so past this the prompt goes ahead.
/// (Output the printer thread writes to the screen itself is waited for
/// however long it takes: see `Drain`.)
const DRAIN_WAIT: Duration = Duration::from_millis(250);

/// Moves to the start of the line and erases it.
const ERASE_LINE: &[u8] = b"\r\x1b[K";

/// Turns bracketed paste off (rustyline turns it on while editing).
const BRACKETED_PASTE_OFF: &[u8] = b"\x1b[?2004l";

/// The commands `sh` runs itself, for completion (they are not programs).
pub const SH_BUILTINS: &[&str] = &crate::sh::BUILTIN_NAMES;

/// What the terminal is started with.
#[derive(Debug, Clone, Default)]
pub struct TermOptions {
    /// Where history is loaded from and saved to; `None`: this session only.
    pub history: Option<PathBuf>,
    /// The words a command can start with (program names and builtins),
    /// for completion.
    pub words: Vec<String>,
}

/// What the person at the terminal did, for the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermEvent {
    /// A line was entered (without its newline).
    Line(String),
    /// Ctrl-D on an empty line: end of input, for one read.
    Eof,
    /// Ctrl-C while a line was edited: the line is dropped.
    Interrupt,
}

/// The console's line request: called with the live tasks (pid, name).
pub type Asker = Box<dyn FnMut(Vec<(Pid, String)>)>;

/// A console output sink: takes what it has room for, says how much (0:
/// full; the terminal's `on_room` is called when there is room again).
pub type Printer = Box<dyn FnMut(&[u8]) -> usize>;

/// Called on the printer thread when a printer that was full has room.
pub type OnRoom = Box<dyn Fn() + Send>;

/// Where the terminal's answers go (called on the editor thread).
pub type OnEvent = Box<dyn Fn(TermEvent) + Send>;

/// Which host stream a printer writes to when no line is being edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Out,
    /// Standard error.
    Err,
}

/// The history file used when none is named:
/// `$XDG_DATA_HOME/coos/history`, else `$HOME/.local/share/coos/history`.
/// `None` if neither variable gives an absolute path.
pub fn default_history_path() -> Option<PathBuf> {
    history_path_from(|var| std::env::var_os(var))
}

/// The history path the environment `var` describes (`default_history_path`
/// with the environment given, so tests need not change the real one).
fn history_path_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let absolute = |name: &str| var(name).map(PathBuf::from).filter(|p| p.is_absolute());
    absolute("XDG_DATA_HOME")
        .or_else(|| absolute("HOME").map(|home| home.join(".local/share")))
        .map(|data| data.join("coos/history"))
}

/// The interactive terminal. Made with [`Terminal::new`] (no thread runs
/// yet, so the caller can first block the host signals that other threads
/// must not take), started with [`Terminal::start`], ended with
/// [`Terminal::shutdown`].
pub struct Terminal {
    screen: Arc<Screen>,
    known: Arc<Mutex<Known>>,
    /// What `start` moves into the threads.
    parts: Option<Parts>,
    editor_thread: Option<JoinHandle<()>>,
}

struct Parts {
    editor: Editor<LineHelper, FileHistory>,
    printer: Option<Box<dyn ExternalPrinter + Send>>,
    history: Option<PathBuf>,
}

impl Terminal {
    /// Sets up the line editor: loads the history (creating its folder),
    /// makes the external printer. Starts no thread.
    ///
    /// # Errors
    /// rustyline could not set up the terminal.
    pub fn new(options: TermOptions) -> io::Result<Terminal> {
        let config = Config::builder()
            .max_history_size(HISTORY_SIZE)
            .map_err(io::Error::other)?
            .history_ignore_space(true)
            .completion_type(CompletionType::List)
            .build();
        let known = Arc::new(Mutex::new(Known {
            words: options.words,
            ..Known::default()
        }));
        let helper = LineHelper {
            known: known.clone(),
            hinter: HistoryHinter::new(),
        };
        let mut editor: Editor<LineHelper, FileHistory> =
            Editor::with_config(config).map_err(io::Error::other)?;
        editor.set_helper(Some(helper));
        let history = options
            .history
            .and_then(|path| open_history(&mut editor, path));
        let printer = editor
            .create_external_printer()
            .ok()
            .map(|p| Box::new(p) as Box<dyn ExternalPrinter + Send>);
        Ok(Terminal {
            screen: Arc::new(Screen::default()),
            known,
            parts: Some(Parts {
                editor,
                printer,
                history,
            }),
            editor_thread: None,
        })
    }

    /// The console's line request: asks the editor for a line and returns
    /// at once. `tasks` (the live tasks) feed the completion of pids.
    /// Requests made before `start` wait for it. A request made while a
    /// line is being edited is answered by that line: the kernel asks again
    /// after a host Ctrl-C voided its request, and the line being typed is
    /// the answer it still wants.
    pub fn asker(&self) -> Asker {
        let known = self.known.clone();
        let screen = self.screen.clone();
        Box::new(move |tasks| {
            lock(&known).tasks = tasks;
            screen.lock().wanted = true;
            screen.changed.notify_all();
        })
    }

    /// A console output sink: what it takes goes to `stream` when no line
    /// is being edited, above the prompt (through rustyline) while one is.
    /// Never waits, for the editor or the terminal: with `ROOM` bytes
    /// waiting for the screen it takes nothing.
    pub fn printer(&self, stream: Stream) -> Printer {
        let screen = self.screen.clone();
        let known = self.known.clone();
        // Output to a stream that is not the terminal (`coos 2>log`) cannot
        // garble the line, and is not on the screen.
        let on_screen = match stream {
            Stream::Out => io::stdout().is_terminal(),
            Stream::Err => io::stderr().is_terminal(),
        };
        let mut scan = JobScanner::default();
        Box::new(move |bytes| {
            let mut learn = |bytes: &[u8]| {
                scan.feed(bytes, &mut |number, pid| {
                    lock(&known).jobs.insert(number, pid);
                })
            };
            if !on_screen {
                learn(bytes);
                write_to(stream, bytes);
                return bytes.len();
            }
            let mut s = screen.lock();
            let room = ROOM.saturating_sub(s.waiting());
            let bytes = &bytes[..bytes.len().min(room)];
            if bytes.is_empty() {
                s.refused = true;
                return 0;
            }
            learn(bytes);
            if s.editing {
                s.held.extend_from_slice(bytes);
            } else {
                s.queue(stream, bytes);
            }
            screen.changed.notify_all();
            bytes.len()
        })
    }

    /// Starts the editor thread and the printer thread. Call it once the
    /// host signals the editor must not take are blocked: threads inherit
    /// the signal mask of the thread that starts them. Answers go to
    /// `on_event`, called on the editor thread; `on_room` is called on the
    /// printer thread when a printer that took nothing has room again.
    ///
    /// # Errors
    /// The host refused a thread.
    pub fn start(&mut self, on_event: OnEvent, on_room: OnRoom) -> io::Result<()> {
        let Some(parts) = self.parts.take() else {
            return Ok(());
        };
        let screen = self.screen.clone();
        let printer = parts.printer;
        std::thread::Builder::new()
            .name("coos-printer".into())
            .spawn(move || print_loop(&screen, printer, on_room))?;
        let screen = self.screen.clone();
        let editor = Edit {
            editor: parts.editor,
            history: parts.history,
            screen,
            on_event,
            warned: false,
        };
        self.editor_thread = Some(
            std::thread::Builder::new()
                .name("coos-terminal".into())
                .spawn(move || editor.run())?,
        );
        Ok(())
    }

    /// Ends the terminal. History is already saved (after every line). If
    /// a line is still being edited (the program reading it ended), the
    /// editor thread cannot be stopped: its `readline` is left to end with
    /// the process, bracketed paste is turned off and the cursor moved to
    /// a new line; the caller must then put back the terminal settings it
    /// saved before `start` (the editor's raw mode is still on).
    ///
    /// Returns whether a line was still being edited.
    pub fn shutdown(mut self) -> bool {
        let (editing, pending, held) = {
            let mut s = self.screen.lock();
            s.quit = true;
            s.pending_len = 0;
            let pending = std::mem::take(&mut s.pending);
            (s.editing, pending, std::mem::take(&mut s.held))
        };
        self.screen.changed.notify_all();
        if editing {
            write_to(Stream::Out, BRACKETED_PASTE_OFF);
            write_to(Stream::Out, b"\r\n");
        }
        // Output not yet written, and held for the prompt that will not
        // come back.
        for (stream, bytes) in pending {
            write_to(stream, &bytes);
        }
        write_to(Stream::Out, &held);
        if !editing {
            if let Some(thread) = self.editor_thread.take() {
                let _ = thread.join();
            }
        }
        editing
    }
}

/// Loads the history at `path` (creating its folder) and returns the path
/// to save to, or `None` (with a warning) if it cannot be used.
fn open_history(editor: &mut Editor<LineHelper, FileHistory>, path: PathBuf) -> Option<PathBuf> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            warn_history(&path, &e);
            return None;
        }
    }
    match editor.load_history(&path) {
        Ok(()) => Some(path),
        Err(ReadlineError::Io(e)) if e.kind() == io::ErrorKind::NotFound => Some(path),
        Err(e) => {
            warn_history(&path, &e);
            None
        }
    }
}

fn warn_history(path: &Path, e: &dyn std::fmt::Display) {
    eprintln!(
        "coos: history file {}: {e} (history is kept for this session only; \
         choose a file with --history FILE)",
        path.display()
    );
}

/// The editor thread's state.
struct Edit {
    editor: Editor<LineHelper, FileHistory>,
    history: Option<PathBuf>,
    screen: Arc<Screen>,
    on_event: OnEvent,
    /// A terminal error was reported (once is enough).
    warned: bool,
}

impl Edit {
    /// Answers requests until told to quit. Does not return while a line is
    /// being edited.
    fn run(mut self) {
        while let Some(prompt) = self.begin() {
            let result = self.editor.readline(&prompt);
            let interrupted = matches!(result, Err(ReadlineError::Interrupted));
            self.end(interrupted.then_some(prompt.as_str()));
            let event = match result {
                Ok(line) => {
                    if !prompt.is_empty() {
                        self.remember(&line);
                    }
                    TermEvent::Line(line)
                }
                Err(ReadlineError::Interrupted) => TermEvent::Interrupt,
                Err(ReadlineError::Eof) => TermEvent::Eof,
                Err(e) => {
                    // The terminal is gone or broken: the reader gets
                    // end-of-file rather than a loop of errors.
                    if !std::mem::replace(&mut self.warned, true) {
                        eprintln!("coos: terminal: {e}");
                    }
                    TermEvent::Eof
                }
            };
            (self.on_event)(event);
        }
    }

    /// Waits for a request, then takes the partial line on the screen as
    /// the prompt and erases it (readline draws it again); from now on
    /// output is held. `None`: the terminal is shutting down.
    fn begin(&self) -> Option<String> {
        let changed = &self.screen.changed;
        let s = self.screen.lock();
        let mut s = changed
            .wait_while(s, |s| !s.wanted && !s.quit)
            .unwrap_or_else(PoisonError::into_inner);
        let deadline = Instant::now() + DRAIN_WAIT;
        loop {
            if s.quit {
                return None;
            }
            s = match s.drain() {
                Drain::Done => break,
                Drain::Wait => changed.wait(s).unwrap_or_else(PoisonError::into_inner),
                Drain::WaitAWhile => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    changed
                        .wait_timeout(s, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
        s.editing = true;
        let line = std::mem::take(&mut s.line);
        if !line.is_empty() {
            write_to(Stream::Out, ERASE_LINE);
        }
        Some(String::from_utf8_lossy(&line).into_owned())
    }

    /// The line is done (readline left the cursor at the start of a new
    /// line): output goes straight to the screen again, what was held
    /// first. After Ctrl-C the same reader asks again, at the same prompt:
    /// `reprompt` is shown again.
    fn end(&self, reprompt: Option<&str>) {
        let mut s = self.screen.lock();
        s.editing = false;
        // Answered (the answer goes out next): requests made meanwhile
        // wanted this line.
        s.wanted = false;
        if !s.printing {
            let held = std::mem::take(&mut s.held);
            s.emit(Stream::Out, &held);
        }
        if let Some(prompt) = reprompt {
            s.emit(Stream::Out, prompt.as_bytes());
        }
        self.screen.changed.notify_all();
    }

    /// Adds a line typed at a prompt to the history and appends it to the
    /// history file.
    fn remember(&mut self, line: &str) {
        if line.trim().is_empty() || !matches!(self.editor.add_history_entry(line), Ok(true)) {
            return;
        }
        if let Some(path) = &self.history {
            if let Err(e) = self.editor.append_history(path) {
                warn_history(path, &e);
                self.history = None;
            }
        }
    }
}

/// The printer thread: writes the output that waits for the screen while
/// no line is edited, and hands whole lines of held output to rustyline's
/// external printer (if there is one) while a line is. It may block in a
/// write or in rustyline; no other thread waits for it but a new prompt,
/// for at most `DRAIN_WAIT`. When a printer that was full has room again,
/// it calls `on_room`.
fn print_loop(
    screen: &Screen,
    mut printer: Option<Box<dyn ExternalPrinter + Send>>,
    on_room: OnRoom,
) {
    let mut s = screen.lock();
    loop {
        if s.quit {
            return;
        }
        if s.refused && s.waiting() <= ROOM / 2 {
            s.refused = false;
            on_room();
        }
        if s.editing && !s.pending.is_empty() {
            // A prompt came before what waited was written: it goes above
            // the line being edited, first.
            let mut waited: Vec<u8> = s.pending.drain(..).flat_map(|(_, bytes)| bytes).collect();
            s.pending_len = 0;
            waited.append(&mut s.held);
            s.held = waited;
        }
        let complete = s.held.iter().rposition(|&b| b == b'\n');
        match (complete, &mut printer) {
            (_, _) if !s.editing && !s.pending.is_empty() => {
                let chunks = std::mem::take(&mut s.pending);
                s.pending_len = 0;
                s.printing = true;
                drop(s);
                for (stream, bytes) in &chunks {
                    write_to(*stream, bytes);
                }
                s = screen.lock();
                s.printing = false;
                for (_, bytes) in &chunks {
                    note_line(&mut s.line, bytes);
                }
                screen.changed.notify_all();
            }
            (Some(end), Some(printer)) if s.editing => {
                let lines: Vec<u8> = s.held.drain(..=end).collect();
                s.printing = true;
                s.to_editor = true;
                drop(s);
                let text = String::from_utf8_lossy(&lines).into_owned();
                if printer.print(text).is_err() {
                    write_to(Stream::Out, &lines);
                }
                s = screen.lock();
                s.printing = false;
                s.to_editor = false;
                if !s.editing {
                    // The line ended while this was printing: the rest goes
                    // out next, after it.
                    let held = std::mem::take(&mut s.held);
                    s.queue(Stream::Out, &held);
                }
                screen.changed.notify_all();
            }
            _ => {
                s = screen
                    .changed
                    .wait(s)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
    }
}

/// What a new prompt does about output not yet on the screen.
#[derive(Debug, PartialEq, Eq)]
enum Drain {
    /// None is left: the prompt goes ahead.
    Done,
    /// The printer thread is writing to the screen, or has output to write
    /// and nothing to stop it: the prompt waits, however long. Gone ahead
    /// after `DRAIN_WAIT` instead, a prompt on a loaded machine took an
    /// empty last line as its own, and the `$ ` still queued was then held
    /// while the line was edited and never shown (term_pty failed so once
    /// in six CI runs; with the write of a `$ ` delayed 300 ms by hand, in
    /// two runs of six, and in none of six with this wait).
    Wait,
    /// The printer thread is handing lines to rustyline's external printer,
    /// which may keep them until the next prompt: the prompt waits at most
    /// `DRAIN_WAIT`.
    WaitAWhile,
}

/// What the three threads share about the screen.
#[derive(Default)]
struct Screen {
    state: Mutex<ScreenState>,
    /// Signalled when a line is asked for, output waits or is held, a line
    /// ends, printing ends, or the terminal shuts down.
    changed: Condvar,
}

impl Screen {
    fn lock(&self) -> MutexGuard<'_, ScreenState> {
        lock(&self.state)
    }
}

#[derive(Default)]
struct ScreenState {
    /// A line was asked for and not yet answered.
    wanted: bool,
    /// A line is being edited (from the request to readline's return).
    editing: bool,
    /// The printer thread is writing, or handing lines to rustyline.
    printing: bool,
    /// What it is printing goes to rustyline's external printer.
    to_editor: bool,
    /// Output held while a line is edited, oldest first.
    held: Vec<u8>,
    /// Output for the screen that the printer thread has yet to write,
    /// oldest first, by stream; `pending_len` bytes in all.
    pending: std::collections::VecDeque<(Stream, Vec<u8>)>,
    pending_len: usize,
    /// A printer took nothing (full): `on_room` is owed.
    refused: bool,
    /// What is on the screen's last line, after the last newline: the
    /// prompt of the next line asked for.
    line: Vec<u8>,
    /// The terminal is shutting down.
    quit: bool,
}

impl ScreenState {
    /// Writes `bytes` to the screen now, unless output written earlier is
    /// still waiting or being written: then after it.
    fn emit(&mut self, stream: Stream, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.printing || !self.pending.is_empty() {
            self.queue(stream, bytes);
            return;
        }
        write_to(stream, bytes);
        note_line(&mut self.line, bytes);
    }

    /// What a new prompt must wait for before it takes the screen's last
    /// line as its own (`Edit::begin`).
    fn drain(&self) -> Drain {
        if self.printing && self.to_editor {
            Drain::WaitAWhile
        } else if self.printing || !self.pending.is_empty() {
            Drain::Wait
        } else {
            Drain::Done
        }
    }

    /// Leaves `bytes` for the printer thread to write.
    fn queue(&mut self, stream: Stream, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.pending_len += bytes.len();
        match self.pending.back_mut() {
            Some((last, waiting)) if *last == stream => waiting.extend_from_slice(bytes),
            _ => self.pending.push_back((stream, bytes.to_vec())),
        }
    }

    /// How many bytes wait for the screen.
    fn waiting(&self) -> usize {
        self.held.len() + self.pending_len
    }
}

/// Keeps `line` equal to the screen's last line after `bytes` are written:
/// the text after the last newline (or carriage return, which moves back
/// to the start of the line).
fn note_line(line: &mut Vec<u8>, bytes: &[u8]) {
    match bytes.iter().rposition(|&b| b == b'\n' || b == b'\r') {
        Some(end) => {
            line.clear();
            line.extend_from_slice(&bytes[end + 1..]);
        }
        None => line.extend_from_slice(bytes),
    }
}

fn write_to(stream: Stream, bytes: &[u8]) {
    // A terminal that is gone takes no output; nothing to do about it.
    let _ = match stream {
        Stream::Out => {
            let mut out = io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush())
        }
        Stream::Err => io::stderr().lock().write_all(bytes),
    };
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere leaves the data as consistent as it was: go on.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Watches output for the shell's `[N] PID` lines (a job started in the
/// background).
#[derive(Default)]
struct JobScanner {
    line: Vec<u8>,
}

/// Longest line worth keeping to look at: a `[N] PID` line is short.
const SCAN_LINE_MAX: usize = 64;

impl JobScanner {
    fn feed(&mut self, bytes: &[u8], found: &mut dyn FnMut(usize, Pid)) {
        for &b in bytes {
            if b == b'\n' {
                if let Some((number, pid)) = std::str::from_utf8(&self.line)
                    .ok()
                    .and_then(parse_job_line)
                {
                    found(number, pid);
                }
                self.line.clear();
            } else if self.line.len() <= SCAN_LINE_MAX {
                self.line.push(b);
            }
        }
    }
}

/// `[N] PID` → (N, PID).
fn parse_job_line(line: &str) -> Option<(usize, Pid)> {
    let rest = line.trim_end_matches('\r').strip_prefix('[')?;
    let (number, pid) = rest.split_once("] ")?;
    Some((number.parse().ok()?, Pid(pid.parse().ok()?)))
}

/// What completion knows.
#[derive(Debug, Default)]
struct Known {
    /// Program names and builtins.
    words: Vec<String>,
    /// The live tasks, as of the latest line request.
    tasks: Vec<(Pid, String)>,
    /// Job number → the pid the shell announced for it.
    jobs: BTreeMap<usize, Pid>,
}

/// Characters that end a word and start a new command (or a new part).
const OPERATORS: &[char] = &['|', '&', ';', '(', ')'];

impl Known {
    /// The candidates for the word that ends at `pos`, and where it starts.
    fn complete(&self, line: &str, pos: usize) -> (usize, Vec<Pair>) {
        let before = &line[..pos];
        let start = before
            .rfind(|c: char| c.is_whitespace() || OPERATORS.contains(&c))
            .map_or(0, |i| {
                i + before[i..].chars().next().map_or(1, char::len_utf8)
            });
        let prefix = &before[start..];
        let command_start = before[..start].rfind(OPERATORS).map_or(0, |i| i + 1);
        let command = before[command_start..start].split_whitespace().next();
        let mut candidates = match command {
            None => self.command_words(),
            Some("kill") => {
                let mut all = self.pids();
                all.extend(self.job_specs());
                all
            }
            Some("fg" | "wait") => self.job_specs(),
            Some(_) => Vec::new(),
        };
        candidates.retain(|c| c.replacement.starts_with(prefix));
        if let [only] = candidates.as_mut_slice() {
            only.replacement.push(' ');
        }
        (start, candidates)
    }

    fn command_words(&self) -> Vec<Pair> {
        let mut words: Vec<&str> = self.words.iter().map(String::as_str).collect();
        words.sort_unstable();
        words.dedup();
        words.into_iter().map(|w| pair(w.to_string(), w)).collect()
    }

    /// Live pids but init's (no one may kill it), shown with their names.
    fn pids(&self) -> Vec<Pair> {
        self.tasks
            .iter()
            .filter(|(pid, _)| *pid != Pid::INIT)
            .map(|(pid, name)| pair(format!("{pid} ({name})"), &pid.to_string()))
            .collect()
    }

    /// `%N` for each announced job whose pid is still alive.
    fn job_specs(&self) -> Vec<Pair> {
        self.jobs
            .iter()
            .filter_map(|(number, pid)| {
                let (_, name) = self.tasks.iter().find(|(p, _)| p == pid)?;
                Some(pair(format!("%{number} ({name})"), &format!("%{number}")))
            })
            .collect()
    }
}

fn pair(display: String, replacement: &str) -> Pair {
    Pair {
        display,
        replacement: replacement.to_string(),
    }
}

/// rustyline's helper: completion from [`Known`], hints from history.
struct LineHelper {
    known: Arc<Mutex<Known>>,
    hinter: HistoryHinter,
}

impl Completer for LineHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        Ok(lock(&self.known).complete(line, pos))
    }
}

impl Hinter for LineHelper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, ctx: &Context<'_>) -> Option<String> {
        self.hinter.hint(line, pos, ctx)
    }
}

impl Highlighter for LineHelper {
    /// Hints are dim, so they do not look typed.
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
    }
}

impl Validator for LineHelper {}

impl Helper for LineHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Known {
        Known {
            words: ["sleep", "seq", "sh", "kill", "fg", "wait", "echo"]
                .map(String::from)
                .to_vec(),
            tasks: vec![
                (Pid(1), "init".into()),
                (Pid(2), "sh".into()),
                (Pid(7), "sleep".into()),
                (Pid(9), "yes".into()),
            ],
            jobs: BTreeMap::from([(1, Pid(7)), (2, Pid(8)), (3, Pid(9))]),
        }
    }

    fn replacements(known: &Known, line: &str) -> (usize, Vec<String>) {
        let (start, pairs) = known.complete(line, line.len());
        (start, pairs.into_iter().map(|p| p.replacement).collect())
    }

    #[test]
    fn first_word_completes_to_programs_and_builtins() {
        let k = known();
        assert_eq!(
            replacements(&k, "s"),
            (0, vec!["seq".into(), "sh".into(), "sleep".into()])
        );
        assert_eq!(replacements(&k, "sl"), (0, vec!["sleep ".into()]));
    }

    #[test]
    fn a_word_after_an_operator_is_a_command_again() {
        let k = known();
        assert_eq!(replacements(&k, "seq 3 | ec"), (8, vec!["echo ".into()]));
        assert_eq!(replacements(&k, "true&&ec"), (6, vec!["echo ".into()]));
        assert_eq!(replacements(&k, "(ec"), (1, vec!["echo ".into()]));
    }

    #[test]
    fn arguments_of_other_commands_complete_to_nothing() {
        assert_eq!(replacements(&known(), "echo s"), (5, vec![]));
    }

    #[test]
    fn kill_completes_to_live_pids_but_init_and_to_live_jobs() {
        let (start, pairs) = known().complete("kill ", 5);
        assert_eq!(start, 5);
        let shown: Vec<&str> = pairs.iter().map(|p| p.display.as_str()).collect();
        // Job 2's pid (8) is gone, so it is not offered.
        assert_eq!(
            shown,
            ["2 (sh)", "7 (sleep)", "9 (yes)", "%1 (sleep)", "%3 (yes)"]
        );
        assert_eq!(
            replacements(&known(), "kill -9 %"),
            (8, vec!["%1".into(), "%3".into()])
        );
    }

    #[test]
    fn fg_and_wait_complete_to_job_numbers() {
        assert_eq!(replacements(&known(), "fg %3"), (3, vec!["%3 ".into()]));
        assert_eq!(
            replacements(&known(), "wait "),
            (5, vec!["%1".into(), "%3".into()])
        );
    }

    #[test]
    fn job_lines_are_learnt_even_when_split_across_writes() {
        let mut scan = JobScanner::default();
        let mut found = Vec::new();
        for chunk in [&b"$ [1"[..], b"2] 4", b"0\nhello\n[x] 1\n[3] 7\r\n"] {
            scan.feed(chunk, &mut |n, pid| found.push((n, pid)));
        }
        assert_eq!(found, [(3, Pid(7))]);
        let mut scan = JobScanner::default();
        scan.feed(b"[12] 40\n", &mut |n, pid| found.push((n, pid)));
        assert_eq!(found, [(3, Pid(7)), (12, Pid(40))]);
    }

    #[test]
    fn a_prompt_waits_for_the_screen_however_long_but_for_rustyline_a_while() {
        let mut s = ScreenState::default();
        assert_eq!(s.drain(), Drain::Done);
        // The shell's `$ ` waits for the printer thread: however slow that
        // thread is, the prompt must not take the screen's line before it.
        s.queue(Stream::Out, b"$ ");
        assert_eq!(s.drain(), Drain::Wait);
        s.pending.clear();
        s.printing = true;
        assert_eq!(s.drain(), Drain::Wait, "being written to the screen");
        // Rustyline's external printer may keep lines until the next
        // prompt: waiting for it without end would never show that prompt.
        s.to_editor = true;
        assert_eq!(s.drain(), Drain::WaitAWhile);
    }

    #[test]
    fn the_screen_line_is_what_follows_the_last_newline() {
        let mut line = Vec::new();
        note_line(&mut line, b"3\n$");
        note_line(&mut line, b" ");
        assert_eq!(line, b"$ ");
        note_line(&mut line, b"50%\r");
        assert_eq!(line, b"");
    }

    #[test]
    fn history_lives_under_the_data_home() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        let both = env(&[("XDG_DATA_HOME", "/data"), ("HOME", "/home/me")]);
        assert_eq!(
            history_path_from(both),
            Some(PathBuf::from("/data/coos/history"))
        );
        let home = env(&[("HOME", "/home/me")]);
        assert_eq!(
            history_path_from(home),
            Some(PathBuf::from("/home/me/.local/share/coos/history"))
        );
        let relative = env(&[("XDG_DATA_HOME", "data"), ("HOME", "/home/me")]);
        assert_eq!(
            history_path_from(relative),
            Some(PathBuf::from("/home/me/.local/share/coos/history")),
            "a relative XDG_DATA_HOME is ignored"
        );
        assert_eq!(history_path_from(env(&[])), None);
    }
}
