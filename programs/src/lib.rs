//! The programs bundled with coos, and the registry that names them.
//!
//! A program is an `async fn main(sys: Sys, args: Vec<String>) -> ExitCode`
//! written against the `syscalls` crate alone: every byte it reads or writes
//! goes through `sys.read`/`sys.write`, every pause through `sys.sleep`, and
//! `args[0]` is its own name.
//!
//! # Adding a program
//!
//! 1. Write `src/NAME.rs` with `pub async fn main(sys: Sys, args: Vec<String>) -> ExitCode`.
//!    Describe its options in a `usage::Spec` and start with
//!    `SPEC.parse(&sys, &args).await`: that answers `--help` and bad options
//!    the way every other program does.
//! 2. Add `mod NAME;` below and one line to [`registry`]:
//!    `program!("NAME", NAME, "what it does, in lowercase"),`.
//! 3. Test it in the file on the real kernel, booted inside the test with a
//!    virtual clock (`kernel::testing`, a dev-dependency only: the programs
//!    themselves still see nothing but `syscalls`):
//!    `crate::run(&["NAME", "-x"], "input")` runs it on that standard input
//!    and gives its status, stdout and stderr;
//!    `Harness::new(crate::registry()).pipeline(..)` runs `a | b` with
//!    kernel pipes and child tasks.
//!
//! # Shared pieces
//!
//! - `usage.rs`: option parsing (a small `getopt_long`), `--help`, the
//!   `NAME: message` / `Try 'NAME --help' for more information.` pair, counts.
//! - `output.rs`: a buffered writer that writes in 64 KiB chunks.
//! - `lines.rs`: a line reader over a descriptor, with a limit on a line's length.
//! - `inputs.rs`: the FILE operands of `head` and `tail`, with their headers.
//! - `fail.rs`: error messages on stderr, and what a failed write means.
//! - `duration.rs`: sleep's durations (`1.5`, `2m`), and a time limit.
//! - `addr.rs`: `HOST:PORT` on command lines and in URLs.
//! - `server.rs`: what `echod` and `httpd` share: listen, then a task per
//!   connection, reaped as they end.
//! - `http.rs`: HTTP/1.1 heads, for `httpd` and `fetch`, and bodies read a
//!   piece at a time.
//! - `conn.rs`: a connection's two directions, one socket or (in tests) two
//!   pipes.
//!
//! # Exit statuses and broken pipes
//!
//! Statuses follow coreutils: 0 success, 1 failure or bad arguments; `grep`
//! uses 1 for "nothing matched" and 2 for errors. coos has no `SIGPIPE`, so a
//! write that fails with `EPIPE` (the reader is gone) is handled by the
//! program, in one of two ways, always through `fail.rs`:
//!
//! - Stream sources, whose output is routinely cut short by a reader that had
//!   enough (`yes`, `seq`, `cat`, `primes`; think `seq 1 1000000 | head`),
//!   stop quietly with status 0: for them "the reader went away" is the
//!   normal way to end, where a Unix process would die of `SIGPIPE`
//!   unnoticed.
//! - Every other program prints `NAME: write error: broken pipe` and exits 1
//!   (2 for `grep`), as a coreutils program does when `SIGPIPE` is ignored.
//!
//! # Output buffering
//!
//! Programs that filter input (`grep`) flush their output before each read,
//! so results keep pace with interactive input, and still go out in large
//! chunks when the input comes in large chunks.

#![warn(clippy::undocumented_unsafe_blocks)]

use syscalls::Program;

mod addr;
mod conn;
mod duration;
mod fail;
mod http;
mod inputs;
mod lines;
mod output;
mod server;
mod usage;

mod bench;
mod cat;
mod echo;
mod echod;
mod r#false;
mod fetch;
mod grep;
mod head;
mod httpd;
mod kill;
mod nc;
mod pingpong;
mod primes;
mod prodcons;
mod ps;
mod seq;
mod sleep;
mod tail;
mod timeout;
mod r#true;
mod wc;
mod yes;

/// One registry entry: `program!("name", module, "about")` runs `module::main`.
macro_rules! program {
    ($name:literal, $module:ident, $about:literal) => {
        Program {
            name: $name,
            about: $about,
            main: |sys, args| Box::pin($module::main(sys, args)),
        }
    };
}

/// Every bundled program, by name.
pub fn registry() -> Vec<Program> {
    vec![
        program!(
            "bench",
            bench,
            "run a benchmark workload and print its result line"
        ),
        program!("cat", cat, "concatenate input to standard output"),
        program!("echo", echo, "display a line of text"),
        program!("echod", echod, "echo server, a task per client"),
        program!("false", r#false, "do nothing, unsuccessfully"),
        program!("fetch", fetch, "fetch http:// URLs, several at once"),
        program!("grep", grep, "print lines that contain a fixed string"),
        program!("head", head, "output the first part of the input"),
        program!(
            "httpd",
            httpd,
            "small HTTP/1.1 server, a task per connection"
        ),
        program!("kill", kill, "send a signal to a task"),
        program!(
            "nc",
            nc,
            "connect to a TCP port: copy input to it, it to output"
        ),
        program!("pingpong", pingpong, "time round trips between two tasks"),
        program!(
            "primes",
            primes,
            "concurrent prime sieve, one task per prime"
        ),
        program!(
            "prodcons",
            prodcons,
            "producers and consumers sharing a pipe"
        ),
        program!("ps", ps, "report a snapshot of the tasks"),
        program!("seq", seq, "print a sequence of numbers"),
        program!("sleep", sleep, "delay for a specified amount of time"),
        program!("tail", tail, "output the last part of the input"),
        program!("timeout", timeout, "run a command with a time limit"),
        program!("true", r#true, "do nothing, successfully"),
        program!("wc", wc, "print line, word and byte counts"),
        program!("yes", yes, "output a string repeatedly until killed"),
    ]
}

/// Runs the registered program `argv[0]` on a real kernel booted for the
/// test (`kernel::testing`), with `stdin` as its input: the tests'
/// shorthand for `Harness::new(registry()).stdin(stdin).run(argv)`.
#[cfg(test)]
fn run(argv: &[&str], stdin: &str) -> kernel::testing::Outcome {
    kernel::testing::Harness::new(registry())
        .stdin(stdin)
        .run(argv)
}

/// The tasks started under the first task of `out` (by it or by its
/// children) that were not reaped before it ended: still running, or
/// zombies left for init. Read from the trace.
#[cfg(test)]
fn unreaped(out: &kernel::testing::Outcome) -> Vec<syscalls::Pid> {
    use kernel::Event;
    let first = syscalls::Pid(2);
    let mut started = Vec::new();
    for event in &out.trace {
        match event {
            Event::Spawn { parent, child, .. }
                if *parent != syscalls::Pid(0) && *child != first =>
            {
                started.push(*child)
            }
            Event::Reap(pid) => started.retain(|p| p != pid),
            Event::Exit(pid, _) if *pid == first => break,
            _ => {}
        }
    }
    started
}

#[cfg(test)]
mod tests {
    use super::registry;

    #[test]
    fn registry_names_are_unique_and_sorted() {
        let names: Vec<&str> = registry().iter().map(|p| p.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
    }

    #[test]
    fn every_program_answers_help_on_stdout() {
        for program in registry() {
            let out = crate::run(&[program.name, "--help"], "");
            let expected = if program.name == "false" { 1 } else { 0 };
            assert_eq!(out.status, Some(expected), "{} --help", program.name);
            assert!(
                out.stdout.starts_with("Usage: "),
                "{} --help: {:?}",
                program.name,
                out.stdout
            );
            assert_eq!(out.stderr, "", "{} --help", program.name);
        }
    }

    #[test]
    fn every_program_with_options_rejects_an_unknown_one() {
        // echo, true and false take any argument, as in coreutils.
        for program in registry() {
            if ["echo", "true", "false"].contains(&program.name) {
                continue;
            }
            let out = crate::run(&[program.name, "--bogus"], "");
            assert!(
                out.status.is_some_and(|s| s != 0),
                "{}: {:?}",
                program.name,
                out.status
            );
            assert_eq!(
                out.stderr,
                format!(
                    "{0}: unrecognized option '--bogus'\nTry '{0} --help' for more information.\n",
                    program.name
                )
            );
        }
    }
}
