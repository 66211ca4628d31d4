//! `coos`: boot the kernel and run a program, or the shell.
//!
//! With no command, at a terminal, the shell gets the interactive console:
//! line editing, history and completion (`shell::term`). Anywhere else
//! (`coos < script.sh`, `echo 'seq 3 | wc -l' | coos`) it reads the host's
//! stdin as a script.
//!
//! The kernel runs on a thread of its own, with a large stack
//! (`--stack-mib`): every task runs on it, and a deep recursion in one
//! must not end coos sooner than it has to.

use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::{Parser, Subcommand};
use kernel::{Config, ConsoleInput, ConsoleOutput, ConsoleSpec, Kernel, Message};
use nix::sys::termios::{tcgetattr, tcsetattr, SetArg};
use shell::term::{self, Stream, TermEvent, TermOptions, Terminal};

#[derive(Parser)]
#[command(
    name = "coos",
    version,
    about = "A cooperative operating system in user space: tasks are coroutines, yield is the trap",
    long_about = "A cooperative operating system in user space: tasks are coroutines, yield is the trap.\n\n\
                  With no command, coos boots and runs the shell, sh."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// Keep the shell's history in FILE [default: $XDG_DATA_HOME/coos/history
    /// or ~/.local/share/coos/history]
    #[arg(long, value_name = "FILE")]
    history: Option<PathBuf>,
    /// Keep no history file: history lasts for this session only
    #[arg(long, conflicts_with = "history")]
    no_history: bool,
    /// Say so on stderr when a task runs SECS seconds without a system
    /// call (coos cannot preempt it: meanwhile nothing else runs); 0 turns
    /// the watchdog off
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = parse_secs)]
    watchdog: Duration,
    /// The stack of the kernel's thread, which every task shares, in MiB:
    /// reserved at start, taken from memory only as deep calls use it. A
    /// task that overflows it ends coos, with a line that names the task
    #[arg(long, value_name = "N", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=1 << 20))]
    stack_mib: u32,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run PROGRAM as init's child with this terminal as its console; exit with its status
    Run {
        /// The program (see `coos programs`), then its arguments: all that
        /// follows PROGRAM is the program's, `--help` included
        #[arg(
            value_name = "PROGRAM",
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        argv: Vec<String>,
    },
    /// List the programs coos carries, with what each does
    Programs,
    /// Run a benchmark workload (shared/BENCHMARKS.md) and print its result line
    #[command(
        long_about = "Run a benchmark workload (shared/BENCHMARKS.md) and print its result line:\n\n  \
                      bench=W n=N elapsed_ms=F ns_per_op=F peak_rss_kb=K check=C cpus=1 [extra=V ...]\n\n\
                      The same as `coos run bench WORKLOAD [--n N]`, on a kernel with room for \
                      4 Mi tasks. Build with --release before reading the figures."
    )]
    Bench {
        /// The workload
        #[arg(value_parser = workloads())]
        workload: String,
        /// The size of the run: children, yields, round trips, hops, leaves, sleepers,
        /// bytes or idle tasks (`_` may group digits)
        #[arg(short, long, value_name = "N", value_parser = parse_n)]
        n: Option<u64>,
    },
}

/// `coos bench`'s workloads for clap, each with its help line.
fn workloads() -> PossibleValuesParser {
    PossibleValuesParser::new(
        coos::BENCH_WORKLOADS
            .iter()
            .map(|&(name, about)| PossibleValue::new(name).help(about)),
    )
}

/// A positive count, digits perhaps grouped with `_` (`1_000_000`).
fn parse_n(text: &str) -> Result<u64, String> {
    match text.replace('_', "").parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("expected a positive whole number, not '{text}'")),
    }
}

/// Seconds, a decimal number (`0.5`), as a duration.
fn parse_secs(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("expected seconds (a number, 0 or more), not '{text}'"))
}

/// The host's malloc with a per-thread cache of small blocks (`src/alloc.rs`).
#[global_allocator]
static ALLOC: coos::alloc::CachedAlloc = coos::alloc::CachedAlloc;

fn main() -> ExitCode {
    coos::tune_host_allocator();
    coos::raise_open_file_limit();
    let cli = Cli::parse();
    let config = Config {
        watchdog: Some(cli.watchdog),
        ..Config::default()
    };
    let argv = match cli.command {
        Some(Cmd::Programs) => {
            for p in coos::registry() {
                println!("{:<10} {}", p.name, p.about);
            }
            return ExitCode::SUCCESS;
        }
        Some(Cmd::Run { argv }) => {
            // clap requires PROGRAM: argv is never empty.
            let program = argv[0].as_str();
            if !coos::registry().iter().any(|p| p.name == program) {
                eprintln!("coos: {program}: no such program (`coos programs` lists them)");
                return ExitCode::from(127);
            }
            argv
        }
        Some(Cmd::Bench { workload, n }) => {
            let mut argv = vec!["bench".to_string(), workload];
            if let Some(n) = n {
                argv.extend(["--n".to_string(), n.to_string()]);
            }
            let config = Config {
                watchdog: Some(cli.watchdog),
                ..coos::bench_config()
            };
            return on_kernel_thread(cli.stack_mib, move || run(config, &argv));
        }
        None if io::stdin().is_terminal() && io::stdout().is_terminal() => {
            let history = match (cli.no_history, cli.history) {
                (true, _) => None,
                (false, Some(file)) => Some(file),
                (false, None) => term::default_history_path(),
            };
            return on_kernel_thread(cli.stack_mib, move || interactive(config, history));
        }
        None => vec!["sh".to_string()],
    };
    on_kernel_thread(cli.stack_mib, move || run(config, &argv))
}

/// Runs `main`, which boots and runs a kernel, on a thread of its own with
/// a `mib` MiB stack; returns its status. A kernel stays on the thread it
/// was booted on, so all of it happens there.
fn on_kernel_thread(mib: u32, main: impl FnOnce() -> u8 + Send + 'static) -> ExitCode {
    // Blocked here, the host's signals stay blocked in every thread
    // started from now on: only the kernel's signal thread takes them.
    if let Err(e) = kernel::block_host_signals() {
        eprintln!("coos: cannot take the host's signals: {e}");
    }
    let spawned = std::thread::Builder::new()
        .name("coos-kernel".into())
        .stack_size(
            usize::try_from(mib)
                .unwrap_or(usize::MAX)
                .saturating_mul(1 << 20),
        )
        .spawn(main);
    match spawned.map(std::thread::JoinHandle::join) {
        Ok(Ok(status)) => ExitCode::from(status),
        // The panic hook has said what went wrong.
        Ok(Err(_)) => ExitCode::from(101),
        Err(e) => {
            eprintln!("coos: cannot start the kernel's thread with a {mib} MiB stack: {e} (--stack-mib asks for another)");
            ExitCode::from(1)
        }
    }
}

/// Runs `sh` at this terminal, its console fed by the line editor; returns
/// its status. The terminal is left with the settings it had.
fn interactive(config: Config, history: Option<PathBuf>) -> u8 {
    let words = (coos::registry().into_iter().map(|p| p.name))
        .chain(term::SH_BUILTINS.iter().copied())
        .map(String::from)
        .collect();
    let mut term = match Terminal::new(TermOptions { history, words }) {
        Ok(term) => term,
        Err(e) => {
            eprintln!("coos: cannot set up line editing ({e}); reading plain lines");
            return run(config, &["sh".to_string()]);
        }
    };
    // The editor thread may be stopped in raw mode (a line still asked for
    // when sh ends): these settings go back at the end.
    let settings = tcgetattr(io::stdin()).ok();
    let mut ask = term.asker();
    let console = ConsoleSpec {
        input: ConsoleInput::Terminal(Box::new(move |request| ask(request.tasks))),
        stdout: ConsoleOutput::Sink(term.printer(Stream::Out)),
        stderr: ConsoleOutput::Sink(term.printer(Stream::Err)),
        terminal: Some(true),
    };
    // Signals are taken before the editor's threads start, so they inherit
    // the blocked signals: a Ctrl-C while a job runs (the terminal in
    // cooked mode) is taken by the kernel's signal thread.
    let Some(mut kernel) = boot(config, console, &["sh".to_string()]) else {
        return 1;
    };
    let inbox = kernel.inbox();
    let room = kernel.inbox();
    let started = term.start(
        Box::new(move |event| {
            inbox.send(match event {
                TermEvent::Line(line) => Message::ConsoleInput((line + "\n").into_bytes()),
                TermEvent::Eof => Message::ConsoleEof,
                TermEvent::Interrupt => Message::Interrupt,
            })
        }),
        Box::new(move || room.send(Message::ConsoleWritable)),
    );
    if let Err(e) = started {
        eprintln!("coos: cannot start the terminal: {e}");
        return 1;
    }
    let status = kernel.run();
    term.shutdown();
    if let Some(settings) = settings {
        let _ = tcsetattr(io::stdin(), SetArg::TCSADRAIN, &settings);
    }
    status
}

/// Boots a kernel with `config` on the host's stdio, runs `argv`, returns
/// its status. The kernel is dropped before returning, which gives the
/// host's stdio back their original flags.
fn run(config: Config, argv: &[String]) -> u8 {
    match boot(config, ConsoleSpec::host(), argv) {
        Some(mut kernel) => kernel.run(),
        None => 1,
    }
}

/// Boots a kernel on `console` running `argv`, with the host's signals
/// turned into kernel events; `None` (the reason printed) if it cannot.
fn boot(config: Config, console: ConsoleSpec, argv: &[String]) -> Option<Kernel> {
    let kernel = match coos::boot(config, console, argv) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("{e}");
            return None;
        }
    };
    if let Err(e) = kernel.forward_host_signals() {
        eprintln!("coos: cannot take the host's signals: {e}");
    }
    Some(kernel)
}
