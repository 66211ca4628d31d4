//! The program of the README's "Write your own program", run on a kernel
//! of its own: `cargo run --example count < some-file`. `program.rs` is the
//! README's code block, byte for byte (tests/readme_example.rs checks).

mod program;

fn main() -> std::process::ExitCode {
    let console = kernel::ConsoleSpec::host();
    let mut k = kernel::Kernel::boot(kernel::Config::default(), Vec::new(), console)
        .expect("a kernel boots");
    k.start(syscalls::Command::from_fn(|sys| async move {
        program::main(sys, vec!["count".to_string()]).await
    }));
    std::process::ExitCode::from(k.run())
}
