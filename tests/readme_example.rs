//! The README's example program is `examples/count/program.rs`, which
//! `cargo test` compiles and runs here: the README cannot drift from the
//! system-call interface.

#[path = "../examples/count/program.rs"]
mod program;

use kernel::testing::Harness;

#[test]
fn the_readme_shows_the_example_program_byte_for_byte() {
    let readme = include_str!("../README.md");
    let start = readme
        .find("```rust\n")
        .expect("a rust block in the README")
        + "```rust\n".len();
    let len = readme[start..].find("```").expect("the block ends");
    assert_eq!(
        &readme[start..start + len],
        include_str!("../examples/count/program.rs")
    );
}

#[test]
fn the_example_program_counts_its_input_in_a_child() {
    let out = Harness::new(Vec::new())
        .stdin("hello world\n")
        .run_fn(|sys| program::main(sys, vec!["count".to_string()]));
    assert_eq!(out.status, Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, "12 bytes\n");
    assert!(out.leftover.is_empty());
}
