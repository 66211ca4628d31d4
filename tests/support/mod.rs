//! Helpers for the whole-system tests: a real kernel booted with everything
//! coos carries (`coos::registry()`: the programs and `sh`), on a scripted
//! console with a virtual clock (`kernel::testing`). Nothing here depends on
//! real time, the network or the terminal. (`child.rs` is the exception:
//! the real `coos` binary as a child process, every wait bounded.)
#![allow(dead_code)]

pub mod child;
pub mod pty;
pub mod scratch;

use std::cell::RefCell;
use std::rc::Rc;

use kernel::Event;
use syscalls::{Fd, Pid};

pub use kernel::testing::{Harness, Input, Outcome};

/// A kernel with the whole registry, a virtual clock and a trace.
pub fn system() -> Harness {
    Harness::new(coos::registry())
}

/// Runs `sh -c COMMAND` as the first task (pid 2), not at a terminal, with
/// stdout and stderr apart, and checks that `sh` held no descriptor but 0,
/// 1 and 2 when it returned: one it forgot to close (a pipe end) would keep
/// a reader from ever seeing end-of-file.
#[track_caller]
pub fn sh_c(command: &str) -> Outcome {
    let (out, leaked) = sh_probed(system(), &["-c", command]);
    assert_eq!(leaked, Vec::<Fd>::new(), "{command}: sh leaked descriptors");
    out
}

/// `sh -c COMMAND`'s standard output.
#[track_caller]
pub fn out(command: &str) -> String {
    sh_c(command).stdout
}

/// Runs `sh ARGS` in the first task of `harness` and, once it returned,
/// lists the descriptors above 2 it still held (by closing them: `close`
/// answers `EBADF` for a free one).
pub fn sh_probed(harness: Harness, args: &[&str]) -> (Outcome, Vec<Fd>) {
    let argv: Vec<String> = std::iter::once("sh")
        .chain(args.iter().copied())
        .map(String::from)
        .collect();
    let leaked = Rc::new(RefCell::new(Vec::new()));
    let found = leaked.clone();
    let max_fds = kernel::Config::default().max_fds as u32;
    let out = harness.run_fn(move |sys| async move {
        let status = shell::main(sys.clone(), argv).await;
        for n in 3..max_fds {
            if sys.close(Fd(n)).await.is_ok() {
                found.borrow_mut().push(Fd(n));
            }
        }
        status
    });
    let leaked = leaked.take();
    (out, leaked)
}

/// `sh` at a terminal console (prompts and job control on), with stdout and
/// stderr on one screen, and a person doing `steps` at the keyboard, then
/// Ctrl-D.
pub fn session(steps: &[Input]) -> Outcome {
    system()
        .terminal(true)
        .merged_output()
        .script(steps)
        .run(&["sh"])
}

/// `session` with these lines typed, one at a time.
pub fn typed(lines: &[&str]) -> Outcome {
    let steps: Vec<Input> = lines.iter().map(|line| Input::Text(line)).collect();
    session(&steps)
}

/// `sh` reading a script from a console that is not a terminal (no prompts,
/// no job control), stdout and stderr on one screen.
pub fn script(text: &str) -> Outcome {
    system().merged_output().stdin(text).run(&["sh"])
}

/// Every group made the console's foreground, in order (init hands it to
/// the first task's group, pid 2, first).
pub fn foreground(out: &Outcome) -> Vec<Pid> {
    out.trace
        .iter()
        .filter_map(|event| match event {
            Event::Foreground(group) => Some(*group),
            _ => None,
        })
        .collect()
}

/// How many tasks running the program `name` were started.
pub fn spawned(out: &Outcome, name: &str) -> usize {
    out.trace
        .iter()
        .filter(|event| matches!(event, Event::Spawn { name: n, .. } if n == name))
        .count()
}

/// The status task `pid` ended with, from the trace.
pub fn exit_status(out: &Outcome, pid: Pid) -> Option<u8> {
    out.trace.iter().find_map(|event| match event {
        Event::Exit(p, code) if *p == pid => Some(*code),
        _ => None,
    })
}
