//! coos as a library: the full program registry (the bundled programs and
//! the shell) and the way the `coos` command boots a kernel with it. The
//! whole-system tests in `tests/` use the same pieces.

use kernel::{BootError, Config, ConsoleSpec, Kernel};
use syscalls::{Command, Program};

/// Every program coos carries: `programs/` and the shell's `sh`.
pub fn registry() -> Vec<Program> {
    let mut all = programs::registry();
    all.push(Program {
        name: "sh",
        about: shell::ABOUT,
        main: |sys, args| Box::pin(shell::main(sys, args)),
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
