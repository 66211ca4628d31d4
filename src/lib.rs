//! coos as a library: the full program registry (the bundled programs and
//! the shell) and the way the `coos` command boots a kernel with it. The
//! whole-system tests in `tests/` use the same pieces.

pub mod alloc;
mod hostile;

use kernel::{BootError, Config, ConsoleSpec, Kernel};
use syscalls::{Command, Program};

/// The workloads of `coos bench` (`shared/BENCHMARKS.md`), each with what it
/// runs, for `coos bench --help`: the list of `bench --help`, which
/// `tests/bench_cli.rs` holds it to.
pub const BENCH_WORKLOADS: &[(&str, &str)] = &[
    (
        "spawn",
        "one parent spawns N children that exit at once, then waits for all [N: 1,000,000]",
    ),
    ("yield", "1,000 tasks each yield N/1,000 times [N: 10,000,000]"),
    (
        "pingpong",
        "two tasks bounce a 1-byte message over two pipes, N round trips [N: 1,000,000]",
    ),
    (
        "ring",
        "1,000 tasks in a ring of pipes pass an 8-byte token N hops [N: 1,000,000]",
    ),
    (
        "skynet",
        "a 10-ary tree of tasks with N leaves (a power of 10) sums their numbers over pipes [N: 1,000,000]",
    ),
    (
        "sleep",
        "N tasks sleep 0..100 ms each; reports lateness percentiles [N: 100,000]",
    ),
    ("pipe", "N bytes through a pipe in 64 KiB writes [N: 4 GiB]"),
    (
        "idle",
        "N tasks blocked reading one pipe; reports bytes per task [N: 1,000,000]",
    ),
];

/// The kernel `coos bench` boots: room for every workload at four times
/// its default N. spawn and idle hold N tasks (zombies, or blocked readers)
/// at once, and a `--n` above the default limit (`Config::default()
/// .max_tasks`, 2^20) would stop them with `EAGAIN`. (skynet no longer
/// needs it: its tree runs depth first, a few dozen tasks alive at a time.)
pub fn bench_config() -> Config {
    Config {
        max_tasks: 4 * 1024 * 1024,
        ..Config::default()
    }
}

/// Turns off glibc's fastbins for the coos process. Tasks come and go by
/// the hundred thousand, and with fastbins a later large allocation makes
/// glibc consolidate every freed chunk at once: a pause of milliseconds in
/// the kernel thread. `coos bench sleep` (100,000 sleepers) had a p99
/// lateness of 0.65-2.6 ms with fastbins and 0.56-0.68 ms without; spawn
/// costs about 3% more. Elsewhere than glibc, it does nothing.
pub fn tune_host_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes a setting of the allocator; it is called
    // before the kernel or any other thread starts.
    unsafe {
        nix::libc::mallopt(nix::libc::M_MXFAST, 0);
    }
}

/// Raises the host's limit on open files to its hard limit: every socket a
/// task holds is a host descriptor, and a server with thousands of clients
/// needs thousands (the usual soft limit is 1,024). Best effort: a limit
/// that cannot be raised is left as it is.
pub fn raise_open_file_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

/// Every program coos carries: `programs/`, the shell's `sh`, and the
/// two that misbehave on purpose (`hostile.rs`).
pub fn registry() -> Vec<Program> {
    let mut all = programs::registry();
    all.push(Program {
        name: "sh",
        about: shell::ABOUT,
        main: |sys, args| Box::pin(shell::main(sys, args)),
    });
    all.push(Program {
        name: "busy",
        about: hostile::BUSY_ABOUT,
        main: |sys, args| Box::pin(hostile::busy(sys, args)),
    });
    all.push(Program {
        name: "recurse",
        about: hostile::RECURSE_ABOUT,
        main: |sys, args| Box::pin(hostile::recurse(sys, args)),
    });
    all.sort_by_key(|p| p.name);
    all
}

/// Boots a kernel with the whole registry on `console` and starts `argv`
/// (program name first) as the first program.
///
/// # Errors
/// The host refused what the kernel needs (epoll, an eventfd).
pub fn boot(config: Config, console: ConsoleSpec, argv: &[String]) -> Result<Kernel, BootError> {
    let mut kernel = Kernel::boot(config, registry(), console)?;
    let (name, args) = argv.split_first().expect("argv names a program");
    kernel.start(Command::new(name).args(args.iter().cloned()));
    Ok(kernel)
}
