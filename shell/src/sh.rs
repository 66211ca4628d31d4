//! The `sh` program: reads command lines, parses them (parse.rs) and runs
//! every pipeline as a job (jobs.rs), using nothing but system calls.
//!
//! Who does what:
//! - [`main`] picks the mode: `-c COMMAND`, or lines from fd 0, with a prompt
//!   when fd 0 is the console.
//! - [`Shell`] is the interpreter. It owns its `Sys`, so a child made with
//!   `Command::from_fn` builds a fresh one to run a `( … )` subshell, or a
//!   builtin that is a pipeline stage (see [`subshell_main`]).
//! - Job control (a process group per job, the console's foreground handed to
//!   it) is on in an interactive shell only, as in bash: a script's or a
//!   subshell's children stay in the shell's group, so Ctrl-C or `kill %N`
//!   of the job that runs the script reaches them all.

use std::rc::Rc;

use syscalls::{Command, Errno, ExitCode, Fd, FdMap, PGroup, Pid, Signal, Sys, TaskFuture};

use crate::history::History;
use crate::jobs::{self, Job, JobTable, Proc};
use crate::lines::LineReader;
use crate::parse::{self, AndOr, AndOrOp, List, Part, Pipeline, Stage, Terminator, Text, Word};

/// The one-line description of `sh` for `help` and the program registry.
pub const ABOUT: &str = "the shell: pipelines, jobs, && || ; & ( ) and quotes";

/// Printed before each command line when the shell is interactive.
const PROMPT: &str = "$ ";

/// Printed before each further line of an unfinished command (an open
/// quote or `(`, a trailing `|`, `&&` or `||`).
const CONTINUATION_PROMPT: &str = "> ";

/// The status of a command line that does not parse, as in bash.
const SYNTAX_ERROR: ExitCode = 2;

/// The status of a command the kernel does not know.
const NOT_FOUND: ExitCode = 127;

/// The status of a command the kernel knows but could not start.
const CANNOT_RUN: ExitCode = 126;

/// The console's foreground while the shell waits at its prompt (or runs a
/// builtin): no group, so Ctrl-C clears the line instead of ending the
/// shell, whose own group init made the foreground.
const NO_GROUP: Pid = Pid(0);

const USAGE: &str = "\
usage: sh [-c COMMAND]
  sh             read commands from standard input, one line at a time;
                 with a `$ ` prompt and job control when it is the console
  sh -c COMMAND  run COMMAND and exit with its status
  sh --help      show this
language: cmd args | cmd …   a && b || c   a; b   a &   ( list )
          'literal'  \"with $? and $$\"  \\escape  # comment
type `help` in sh for its builtins and the programs it can run
";

/// The builtins, run inside the shell itself: name, usage, description.
const BUILTINS: &[(&str, &str, &str)] = &[
    (
        "exit",
        "exit [N]",
        "leave the shell with status N (default: the last status)",
    ),
    ("jobs", "jobs [%N…]", "list the background jobs"),
    (
        "fg",
        "fg [%N]",
        "bring job N (default: the current job) to the foreground",
    ),
    (
        "wait",
        "wait [PID|%N…]",
        "wait for jobs or tasks (default: every background job)",
    ),
    ("history", "history", "list the command lines run so far"),
    ("help", "help", "show the builtins and the programs"),
];

/// The builtins' names, for completion (`term::SH_BUILTINS`).
pub(crate) const BUILTIN_NAMES: [&str; BUILTINS.len()] = {
    let mut names = [""; BUILTINS.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = BUILTINS[i].0;
        i += 1;
    }
    names
};

/// The `sh` program.
///
/// `sh` reads fd 0 line by line (interactive, with a prompt, when fd 0 is
/// the console); `sh -c COMMAND` runs COMMAND. Returns the last status.
pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode {
    match Invocation::from_args(&args) {
        Invocation::Help => {
            let _ = sys.print(USAGE).await;
            0
        }
        Invocation::Bad(message) => {
            let _ = sys.eprint(&format!("sh: {message}\n{USAGE}")).await;
            SYNTAX_ERROR
        }
        Invocation::Command(command) => {
            let mut shell = Shell::new(sys, false).await;
            shell.run_command(&command).await
        }
        Invocation::Stdin => {
            let interactive = sys.is_terminal(Fd::STDIN).await.unwrap_or(false);
            let mut shell = Shell::new(sys, interactive).await;
            shell.run_input().await
        }
    }
}

/// What the command line asks `sh` to do.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Invocation {
    /// `sh --help`.
    Help,
    /// `sh -c COMMAND [NAME ARGS…]` (the extra arguments are ignored: there
    /// are no variables to put them in).
    Command(String),
    /// `sh` or `sh -`: read fd 0.
    Stdin,
    /// Anything else, with the complaint.
    Bad(String),
}

impl Invocation {
    fn from_args(args: &[String]) -> Invocation {
        let rest: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
        match rest.as_slice() {
            [] | ["-"] => Invocation::Stdin,
            ["--help" | "-h", ..] => Invocation::Help,
            ["-c", command, ..] => Invocation::Command(command.to_string()),
            ["-c"] => Invocation::Bad("-c: option requires an argument".to_string()),
            [option, ..] if option.starts_with('-') => {
                Invocation::Bad(format!("{option}: invalid option"))
            }
            [file, ..] => Invocation::Bad(format!(
                "{file}: cannot read a script from a file; pipe it into sh, or use sh -c"
            )),
        }
    }
}

/// Whether the shell goes on after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Go,
    /// `exit` ran: leave with this status.
    Exit(ExitCode),
}

/// Where a command's text came from, which decides what a syntax error in
/// it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Typed at the prompt: report it, and prompt again.
    Console,
    /// `sh -c COMMAND`: report it (by line only past the first) and exit 2.
    Argument,
    /// Lines of a script on fd 0: report it with its line, and exit 2.
    Script,
}

/// What a subshell child runs.
enum Body {
    /// `( list )`, or a background `a && b &`.
    List(Rc<List>),
    /// A builtin that is a pipeline stage or a background job: `jobs | wc -l`.
    Builtin(Vec<String>),
}

/// The interpreter's state that a subshell inherits (by copy, but for the
/// script's text, which it shares).
#[derive(Debug, Clone)]
struct State {
    /// `$$`: the pid of the top-level shell, which subshells keep.
    shell_pid: Pid,
    /// `$?`.
    status: ExitCode,
    /// Prompts, job messages and job control.
    interactive: bool,
    jobs: JobTable,
    /// The command lines run, oldest first.
    history: History,
}

impl State {
    fn for_subshell(&self) -> State {
        State {
            shell_pid: self.shell_pid,
            status: self.status,
            interactive: false,
            jobs: self.jobs.background_snapshot(),
            history: self.history.clone(),
        }
    }
}

/// The interpreter: runs command trees with its own `Sys`.
pub(crate) struct Shell {
    sys: Sys,
    state: State,
}

impl Shell {
    /// The top-level shell of the calling task. An interactive one takes
    /// the console's foreground from its own group (see [`NO_GROUP`]).
    async fn new(sys: Sys, interactive: bool) -> Shell {
        let me = sys.getpid().await;
        if interactive {
            let _ = sys.set_foreground(Fd::STDIN, NO_GROUP).await;
        }
        Shell {
            sys,
            state: State {
                shell_pid: me,
                status: 0,
                interactive,
                jobs: JobTable::default(),
                history: History::default(),
            },
        }
    }

    /// `sh -c`: runs `src` as a whole and returns the last status (2 if it
    /// does not parse).
    async fn run_command(&mut self, src: &str) -> ExitCode {
        match self.run_source(src, 1, Origin::Argument).await {
            Flow::Exit(code) => code,
            Flow::Go => self.state.status,
        }
    }

    /// Reads fd 0 to its end, running each command as soon as its lines are
    /// complete. Returns the last status.
    async fn run_input(&mut self) -> ExitCode {
        let mut input = LineReader::new(Fd::STDIN);
        // The lines of a command still open (a quote, a `(`, a trailing `|`).
        let mut pending = String::new();
        let mut first_line = 1;
        let mut line_number = 0;
        let origin = if self.state.interactive {
            Origin::Console
        } else {
            Origin::Script
        };
        loop {
            if self.state.interactive {
                let prompt = if pending.is_empty() {
                    self.notify_finished().await;
                    PROMPT
                } else {
                    CONTINUATION_PROMPT
                };
                let _ = self.sys.write_all(Fd::STDOUT, prompt.as_bytes()).await;
            }
            let Some(line) = input.next_line(&self.sys).await else {
                break;
            };
            line_number += 1;
            if pending.is_empty() {
                // A script's errors name the script's line; a command typed
                // at the console counts from its own first line.
                first_line = if self.state.interactive {
                    1
                } else {
                    line_number
                };
            } else {
                pending.push('\n');
            }
            pending.push_str(&line);
            if parse::parse(&pending).is_err_and(|e| e.incomplete) {
                continue;
            }
            let src = std::mem::take(&mut pending);
            if let Flow::Exit(code) = self.run_source(&src, first_line, origin).await {
                return code;
            }
        }
        // End of input: a command left open is an error now.
        if !pending.is_empty() {
            if let Flow::Exit(code) = self.run_source(&pending, first_line, origin).await {
                return code;
            }
        }
        if self.state.interactive {
            let _ = self.sys.eprint("exit\n").await;
        }
        self.state.status
    }

    /// Records `src` in the history, parses it and runs it. A syntax error
    /// is reported (its line counted from `first_line`) and sets `$?` to 2;
    /// it ends the shell unless a person typed the command.
    async fn run_source(&mut self, src: &str, first_line: usize, origin: Origin) -> Flow {
        // One copy of the text, which the history and the tree share.
        let src: Rc<str> = Rc::from(src);
        if !src.trim().is_empty() {
            self.state.history.push(src.clone());
        }
        match parse::parse_shared(src) {
            Ok(list) => self.run_list(&list).await,
            Err(mut e) => {
                e.line += first_line - 1;
                self.state.status = SYNTAX_ERROR;
                match origin {
                    Origin::Console => {
                        self.say(&format!("{e}\n")).await;
                        Flow::Go
                    }
                    Origin::Argument => {
                        self.say(&format!("{e}\n")).await;
                        Flow::Exit(SYNTAX_ERROR)
                    }
                    // As in every POSIX shell: the lines after a broken one
                    // may rely on what it would have done, so none of them
                    // runs.
                    Origin::Script => {
                        self.say(&format!("{}\n", e.with_line())).await;
                        Flow::Exit(SYNTAX_ERROR)
                    }
                }
            }
        }
    }

    async fn run_list(&mut self, list: &List) -> Flow {
        for (and_or, terminator) in &list.items {
            match terminator {
                Terminator::Seq => {
                    if let Flow::Exit(code) = self.run_and_or(and_or).await {
                        return Flow::Exit(code);
                    }
                }
                Terminator::Background => self.run_background(and_or).await,
            }
        }
        Flow::Go
    }

    async fn run_and_or(&mut self, and_or: &AndOr) -> Flow {
        let mut flow = self.run_foreground(&and_or.first).await;
        for (op, pipeline) in &and_or.rest {
            if flow != Flow::Go {
                break;
            }
            let run = match op {
                AndOrOp::And => self.state.status == 0,
                AndOrOp::Or => self.state.status != 0,
            };
            if run {
                flow = self.run_foreground(pipeline).await;
            }
        }
        flow
    }

    /// Runs `pipeline` and waits for it; a lone builtin runs in the shell.
    async fn run_foreground(&mut self, pipeline: &Pipeline) -> Flow {
        if let [Stage::Simple(words)] = pipeline.stages.as_slice() {
            let argv = self.expand(words);
            if argv.first().is_some_and(|name| is_builtin(name)) {
                return self.run_builtin(&argv).await;
            }
        }
        self.state.status = match self.launch(&pipeline.stages, &pipeline.text, false).await {
            Launched::Job(number) => self.wait_foreground(number).await,
            Launched::Nothing(status) => status,
        };
        Flow::Go
    }

    /// Starts `and_or` as a background job: its pipeline, or, when it has
    /// `&&`/`||`, a subshell that runs it.
    async fn run_background(&mut self, and_or: &AndOr) {
        let launched = if and_or.rest.is_empty() {
            self.launch(&and_or.first.stages, &and_or.first.text, true)
                .await
        } else {
            let list = List {
                items: vec![(and_or.clone(), Terminator::Seq)],
            };
            self.launch(&[Stage::Subshell(Rc::new(list))], &and_or.text, true)
                .await
        };
        if let Launched::Job(number) = launched {
            let last = self
                .state
                .jobs
                .get(number)
                .and_then(|job| job.pids().last().copied());
            if let (true, Some(pid)) = (self.state.interactive, last) {
                self.say(&format!("[{number}] {pid}\n")).await;
            }
        }
        self.state.status = 0;
    }

    /// Spawns one task per stage, joined by pipes, and files them as a job.
    ///
    /// Interactive: the first task leads a new process group, the others
    /// join it. The shell closes its copies of the pipe ends as soon as the
    /// children have theirs, or no reader would ever see end-of-file.
    async fn launch(&mut self, stages: &[Stage], text: &Text, background: bool) -> Launched {
        let mut procs = Vec::with_capacity(stages.len());
        let mut leader = None;
        // The read end of the pipe from the stage before.
        let mut input: Option<Fd> = None;
        for (i, stage) in stages.iter().enumerate() {
            let mut fds = FdMap::stdio();
            if let Some(r) = input {
                fds = fds.set(Fd::STDIN, r);
            }
            let mut next_input = None;
            let mut output = None;
            if i + 1 < stages.len() {
                match self.sys.pipe().await {
                    Ok((r, w)) => {
                        fds = fds.set(Fd::STDOUT, w);
                        next_input = Some(r);
                        output = Some(w);
                    }
                    Err(e) => {
                        self.say(&format!("sh: pipe: {e}\n")).await;
                        procs.push(Proc::failed(1));
                        break;
                    }
                }
            }
            procs.push(self.spawn_stage(stage, fds, &mut leader).await);
            for fd in [input.take(), output].into_iter().flatten() {
                let _ = self.sys.close(fd).await;
            }
            input = next_input;
        }
        if let Some(fd) = input {
            let _ = self.sys.close(fd).await;
        }
        if procs.iter().all(|p| p.pid.is_none()) {
            let status = procs.last().and_then(|p| p.status).unwrap_or(0);
            return Launched::Nothing(status);
        }
        Launched::Job(
            self.state
                .jobs
                .add(Job::new(text.clone(), procs, leader, background)),
        )
    }

    /// Spawns the task of one stage; a stage that cannot start gets a status
    /// at once (127: command not found). `leader` is the job's group so far.
    async fn spawn_stage(&mut self, stage: &Stage, fds: FdMap, leader: &mut Option<Pid>) -> Proc {
        let image = match self.prepare(stage).await {
            Ok(image) => image,
            Err(proc) => return proc,
        };
        let group = match (self.state.interactive, *leader) {
            (false, _) => PGroup::Inherit,
            (true, None) => PGroup::New,
            (true, Some(pgid)) => PGroup::Join(pgid),
        };
        let mut spawned = image
            .command(&self.state, fds.clone(), group)
            .spawn(&self.sys)
            .await;
        if let (Err(Errno::ESRCH), PGroup::Join(_)) = (&spawned, group) {
            // The leader ended and its group went with it: lead a new one,
            // which the rest of the pipeline joins.
            spawned = image
                .command(&self.state, fds, PGroup::New)
                .spawn(&self.sys)
                .await;
            *leader = None;
        }
        match spawned {
            Ok(pid) => {
                if self.state.interactive && leader.is_none() {
                    *leader = Some(pid);
                }
                Proc::running(pid)
            }
            Err(Errno::ENOENT) => {
                self.say(&format!("sh: {}: command not found\n", image.name()))
                    .await;
                Proc::failed(NOT_FOUND)
            }
            Err(e) => {
                self.say(&format!("sh: {}: {e}\n", image.name())).await;
                Proc::failed(CANNOT_RUN)
            }
        }
    }

    /// Expands a stage's words and decides what its task runs; `kill`'s job
    /// specs become groups or pids here.
    async fn prepare(&mut self, stage: &Stage) -> Result<Image, Proc> {
        let words = match stage {
            Stage::Subshell(list) => return Ok(Image::Subshell(list.clone())),
            Stage::Simple(words) => words,
        };
        let argv = self.expand(words);
        match argv.first().map(String::as_str) {
            None => Err(Proc::failed(0)),
            Some(name) if is_builtin(name) => Ok(Image::Builtin(argv)),
            Some("kill") => match jobs::expand_jobspecs(&argv, &self.state.jobs) {
                Ok(argv) => Ok(Image::Program(argv)),
                Err(message) => {
                    self.say(&format!("sh: {message}\n")).await;
                    Err(Proc::failed(1))
                }
            },
            Some(_) => Ok(Image::Program(argv)),
        }
    }

    /// Hands the console to job `number`, waits for all its tasks, takes the
    /// console back and returns the job's status. The job leaves the table.
    async fn wait_foreground(&mut self, number: usize) -> ExitCode {
        let pgid = self.state.jobs.get(number).and_then(|job| job.pgid);
        if let (true, Some(pgid)) = (self.state.interactive, pgid) {
            // ENOTTY (fd 0 is not the console) only means no Ctrl-C to route.
            let _ = self.sys.set_foreground(Fd::STDIN, pgid).await;
        }
        self.reap_until(|jobs| jobs.get(number).is_none_or(Job::is_done))
            .await;
        if self.state.interactive && pgid.is_some() {
            let _ = self.sys.set_foreground(Fd::STDIN, NO_GROUP).await;
        }
        let job = self.state.jobs.remove(number);
        let status = job
            .and_then(|job| job.procs().last().and_then(|p| p.status))
            .unwrap_or(1);
        if self.state.interactive {
            // As bash: a job ended by Ctrl-C gets a newline after the `^C`
            // the console echoed, one ended by another signal its name.
            match Signal::from_exit_code(status) {
                None => {}
                Some(Signal::Int) => self.say("\n").await,
                Some(signal) => self.say(&format!("{}\n", jobs::signal_word(signal))).await,
            }
        }
        status
    }

    /// Reaps children with `wait_any` until `done` holds, filing each into
    /// its job: a background job that ends meanwhile is noted, not lost.
    async fn reap_until(&mut self, done: impl Fn(&JobTable) -> bool) {
        while !done(&self.state.jobs) {
            match self.sys.wait_any().await {
                Ok((pid, status)) => {
                    self.state.jobs.record(pid, status);
                }
                Err(Errno::ECHILD) => {
                    self.state.jobs.abandon();
                    return;
                }
                Err(_) => return,
            }
        }
    }

    /// Reaps, without blocking, the children that have already ended
    /// (`try_wait`, Unix `WNOHANG`), filing each into its job.
    async fn reap_finished(&mut self) {
        if !self.state.jobs.any_running() {
            return;
        }
        while let Ok(Some((pid, status))) = self.sys.try_wait(None).await {
            self.state.jobs.record(pid, status);
        }
    }

    /// Before a prompt: says which background jobs ended since the last one.
    async fn notify_finished(&mut self) {
        self.reap_finished().await;
        for line in self.state.jobs.take_finished() {
            self.say(&format!("{line}\n")).await;
        }
    }

    /// Runs a builtin in this task; `argv[0]` names it.
    async fn run_builtin(&mut self, argv: &[String]) -> Flow {
        let Some((name, args)) = argv.split_first() else {
            return Flow::Go;
        };
        let status = match name.as_str() {
            "exit" => return self.builtin_exit(args).await,
            "jobs" => self.builtin_jobs(args).await,
            "fg" => self.builtin_fg(args).await,
            "wait" => self.builtin_wait(args).await,
            "history" => self.builtin_history().await,
            "help" => self.builtin_help().await,
            _ => NOT_FOUND,
        };
        self.state.status = status;
        Flow::Go
    }

    async fn builtin_exit(&mut self, args: &[String]) -> Flow {
        match args {
            [] => Flow::Exit(self.state.status),
            [code] => match parse_exit_code(code) {
                Some(code) => Flow::Exit(code),
                None => {
                    self.say(&format!("sh: exit: {code}: numeric argument required\n"))
                        .await;
                    Flow::Exit(SYNTAX_ERROR)
                }
            },
            _ => {
                self.say("sh: exit: too many arguments\n").await;
                self.state.status = 1;
                Flow::Go
            }
        }
    }

    async fn builtin_jobs(&mut self, args: &[String]) -> ExitCode {
        self.reap_finished().await;
        let mut status = 0;
        let numbers: Vec<usize> = if args.is_empty() {
            self.state.jobs.background().map(|j| j.number).collect()
        } else {
            let mut numbers = Vec::new();
            for spec in args {
                match self.state.jobs.resolve(spec) {
                    Ok(number) => numbers.push(number),
                    Err(e) => {
                        self.say(&format!("sh: jobs: {spec}: {}\n", e.message()))
                            .await;
                        status = 1;
                    }
                }
            }
            numbers
        };
        let mut text = String::new();
        for &number in &numbers {
            if let Some(line) = self.state.jobs.line(number) {
                text.push_str(&line);
                text.push('\n');
            }
        }
        self.print(&text).await;
        // A finished job is reported once, here as before a prompt.
        for number in numbers {
            if self.state.jobs.get(number).is_some_and(Job::is_done) {
                self.state.jobs.remove(number);
            }
        }
        status
    }

    async fn builtin_fg(&mut self, args: &[String]) -> ExitCode {
        if !self.state.interactive {
            self.say("sh: fg: no job control\n").await;
            return 1;
        }
        let (spec, shown) = match args.first() {
            Some(spec) => (spec.as_str(), spec.as_str()),
            None => ("%+", "current"),
        };
        let number = match self.state.jobs.resolve(spec) {
            Ok(number) => number,
            Err(e) => {
                self.say(&format!("sh: fg: {shown}: {}\n", e.message()))
                    .await;
                return 1;
            }
        };
        self.state.jobs.make_foreground(number);
        if let Some(job) = self.state.jobs.get(number) {
            let text = format!("{}\n", job.text);
            self.print(&text).await;
        }
        self.wait_foreground(number).await
    }

    async fn builtin_wait(&mut self, args: &[String]) -> ExitCode {
        if args.is_empty() {
            self.reap_until(|jobs| !jobs.any_running()).await;
            let done: Vec<usize> = self.state.jobs.background().map(|j| j.number).collect();
            for number in done {
                self.settle(number);
            }
            return 0;
        }
        let mut status = 0;
        for arg in args {
            status = self.wait_for(arg).await;
        }
        status
    }

    /// `wait`'s operand: a job spec (`%1`) or the pid of a job's task.
    /// Returns its status (127 when it names nothing to wait for).
    async fn wait_for(&mut self, arg: &str) -> ExitCode {
        let (number, pid) = if arg.starts_with('%') {
            match self.state.jobs.resolve(arg) {
                Ok(number) => (number, None),
                Err(e) => {
                    self.say(&format!("sh: wait: {arg}: {}\n", e.message()))
                        .await;
                    return NOT_FOUND;
                }
            }
        } else if let Ok(pid) = arg.parse::<u32>().map(Pid) {
            match self.state.jobs.by_pid(pid) {
                Some(number) => (number, Some(pid)),
                None => {
                    let message = format!("sh: wait: pid {pid} is not a child of this shell\n");
                    self.say(&message).await;
                    return NOT_FOUND;
                }
            }
        } else {
            self.say(&format!("sh: wait: `{arg}': not a pid or valid job spec\n"))
                .await;
            return SYNTAX_ERROR;
        };
        // The status of the job, or of the one task of it that was named.
        let ended = move |job: &Job| match pid {
            Some(pid) => job.status_of(pid),
            None => job.status(),
        };
        self.reap_until(|jobs| jobs.get(number).is_none_or(|job| ended(job).is_some()))
            .await;
        let status = self
            .state
            .jobs
            .get(number)
            .and_then(ended)
            .unwrap_or(NOT_FOUND);
        self.settle(number);
        status
    }

    /// After `wait` collected finished job `number`: an interactive shell
    /// keeps it for the "Done" notice before the next prompt, as bash does;
    /// any other shell forgets it now.
    fn settle(&mut self, number: usize) {
        let done = self.state.jobs.get(number).is_some_and(Job::is_done);
        if done && !self.state.interactive {
            self.state.jobs.remove(number);
        }
    }

    async fn builtin_history(&mut self) -> ExitCode {
        let text = self.state.history.listing();
        self.print(&text).await;
        0
    }

    async fn builtin_help(&mut self) -> ExitCode {
        let programs: Vec<(String, String)> = self
            .sys
            .programs()
            .await
            .into_iter()
            .map(|p| (p.name, p.about))
            .collect();
        let text = help_text(&programs);
        self.print(&text).await;
        0
    }

    fn expand(&self, words: &[Word]) -> Vec<String> {
        words
            .iter()
            .map(|word| expand_word(word, self.state.status, self.state.shell_pid))
            .collect()
    }

    /// Writes the shell's own message to stderr (a failure to is ignored:
    /// there is nowhere else to say it).
    async fn say(&self, text: &str) {
        let _ = self.sys.write_all(Fd::STDERR, text.as_bytes()).await;
    }

    /// Writes a builtin's output to stdout.
    async fn print(&self, text: &str) {
        let _ = self.sys.write_all(Fd::STDOUT, text.as_bytes()).await;
    }
}

/// What came of starting a pipeline.
enum Launched {
    /// The job, in the table.
    Job(usize),
    /// No stage got a task; the pipeline's status.
    Nothing(ExitCode),
}

/// What a stage's task runs.
enum Image {
    /// A program of the registry: its argv.
    Program(Vec<String>),
    /// A builtin, in a child shell.
    Builtin(Vec<String>),
    /// `( list )`, in a child shell.
    Subshell(Rc<List>),
}

impl Image {
    /// The name for error messages.
    fn name(&self) -> &str {
        match self {
            Image::Program(argv) | Image::Builtin(argv) => {
                argv.first().map_or("sh", String::as_str)
            }
            Image::Subshell(_) => "sh",
        }
    }

    /// The spawn request; a child shell gets a copy of `state`, and shares
    /// the tree (`from_fn` wants a `'static` closure).
    fn command(&self, state: &State, fds: FdMap, group: PGroup) -> Command {
        let command = match self {
            Image::Program(argv) => match argv.split_first() {
                Some((name, args)) => Command::new(name).args(args),
                None => Command::new(""),
            },
            Image::Builtin(argv) => {
                let state = state.for_subshell();
                let body = Body::Builtin(argv.clone());
                Command::from_fn(move |sys| subshell_main(sys, state, body)).name("sh")
            }
            Image::Subshell(list) => {
                let state = state.for_subshell();
                let body = Body::List(list.clone());
                Command::from_fn(move |sys| subshell_main(sys, state, body)).name("sh")
            }
        };
        command.fds(fds).pgroup(group)
    }
}

/// The task of a subshell: a fresh interpreter on the child's own `Sys`.
/// (A named function with a boxed future, so the interpreter's async
/// functions do not contain their own type.)
fn subshell_main(sys: Sys, state: State, body: Body) -> TaskFuture {
    Box::pin(async move {
        let mut shell = Shell { sys, state };
        let flow = match &body {
            Body::List(list) => shell.run_list(list).await,
            Body::Builtin(argv) => shell.run_builtin(argv).await,
        };
        match flow {
            Flow::Exit(code) => code,
            Flow::Go => shell.state.status,
        }
    })
}

fn is_builtin(name: &str) -> bool {
    BUILTIN_NAMES.contains(&name)
}

/// A word's text with `$?` and `$$` put in.
fn expand_word(word: &Word, status: ExitCode, shell_pid: Pid) -> String {
    word.parts
        .iter()
        .map(|part| match part {
            Part::Lit(text) => text.clone(),
            Part::Status => status.to_string(),
            Part::ShellPid => shell_pid.to_string(),
        })
        .collect()
}

/// `exit N`'s status: N modulo 256, as bash takes it (`exit -1` is 255).
fn parse_exit_code(arg: &str) -> Option<ExitCode> {
    let n: i64 = arg.trim().parse().ok()?;
    u8::try_from(n.rem_euclid(256)).ok()
}

/// `help`'s output: the builtins, then the programs with their descriptions.
fn help_text(programs: &[(String, String)]) -> String {
    let mut text = String::from("builtins:\n");
    let usage_width = BUILTINS
        .iter()
        .map(|(_, usage, _)| usage.chars().count())
        .max()
        .unwrap_or(0);
    for (_, usage, about) in BUILTINS {
        text.push_str(&format!("  {usage:<usage_width$}  {about}\n"));
    }
    text.push_str("programs:\n");
    let name_width = programs
        .iter()
        .map(|(name, _)| name.chars().count())
        .max()
        .unwrap_or(0);
    for (name, about) in programs {
        text.push_str(&format!("  {name:<name_width$}  {about}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn invocations_are_read_from_argv() {
        assert_eq!(Invocation::from_args(&args(&["sh"])), Invocation::Stdin);
        assert_eq!(
            Invocation::from_args(&args(&["sh", "-"])),
            Invocation::Stdin
        );
        assert_eq!(
            Invocation::from_args(&args(&["sh", "-c", "seq 3 | wc -l"])),
            Invocation::Command("seq 3 | wc -l".to_string())
        );
        assert_eq!(
            Invocation::from_args(&args(&["sh", "-c", "echo", "name", "arg"])),
            Invocation::Command("echo".to_string())
        );
        assert_eq!(
            Invocation::from_args(&args(&["sh", "--help"])),
            Invocation::Help
        );
        assert_eq!(
            Invocation::from_args(&args(&["sh", "-h"])),
            Invocation::Help
        );
        assert_eq!(
            Invocation::from_args(&args(&["sh", "-c"])),
            Invocation::Bad("-c: option requires an argument".to_string())
        );
        assert_eq!(
            Invocation::from_args(&args(&["sh", "-x"])),
            Invocation::Bad("-x: invalid option".to_string())
        );
        assert!(matches!(
            Invocation::from_args(&args(&["sh", "script"])),
            Invocation::Bad(_)
        ));
        assert_eq!(Invocation::from_args(&[]), Invocation::Stdin);
    }

    #[test]
    fn words_expand_status_and_shell_pid() {
        let list = parse::parse("echo \"$?:$$\" '$?' x$?").unwrap();
        let Stage::Simple(words) = &list.items[0].0.first.stages[0] else {
            panic!("a simple command")
        };
        let expanded: Vec<String> = words.iter().map(|w| expand_word(w, 130, Pid(7))).collect();
        assert_eq!(expanded, args(&["echo", "130:7", "$?", "x130"]));
    }

    #[test]
    fn exit_codes_wrap_like_bash() {
        assert_eq!(parse_exit_code("0"), Some(0));
        assert_eq!(parse_exit_code("3"), Some(3));
        assert_eq!(parse_exit_code("256"), Some(0));
        assert_eq!(parse_exit_code("300"), Some(44));
        assert_eq!(parse_exit_code("-1"), Some(255));
        assert_eq!(parse_exit_code("abc"), None);
        assert_eq!(parse_exit_code("99999999999999999999999"), None);
    }

    #[test]
    fn help_lists_builtins_then_programs() {
        let text = help_text(&[
            ("cat".to_string(), "copy input to output".to_string()),
            ("pingpong".to_string(), "bounce a ball".to_string()),
        ]);
        assert!(text.starts_with("builtins:\n  exit [N]  "));
        for (name, _, _) in BUILTINS {
            assert!(text.contains(name), "{name}");
        }
        assert!(text
            .ends_with("programs:\n  cat       copy input to output\n  pingpong  bounce a ball\n"));
    }

    #[test]
    fn builtins_are_known_by_name() {
        for name in ["exit", "jobs", "fg", "wait", "history", "help"] {
            assert!(is_builtin(name));
        }
        assert!(!is_builtin("kill"));
        assert!(!is_builtin("echo"));
        let mut completed = crate::term::SH_BUILTINS.to_vec();
        completed.sort_unstable();
        assert_eq!(completed, ["exit", "fg", "help", "history", "jobs", "wait"]);
    }
}
