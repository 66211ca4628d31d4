//! A task that overflows its stack: tasks share the kernel thread's stack,
//! so the process ends (it is a fault, not a panic), but first coos says
//! which task it was, and how big the stack is.

mod support;

use std::process::Stdio;

use support::child::Coos;

#[test]
fn a_task_that_recurses_too_deep_is_named_before_coos_ends() {
    // A small stack: the test does not need 256 MiB of memory.
    let mut coos = Coos::start(&["--stack-mib", "16", "run", "recurse"], Stdio::null());
    assert_eq!(coos.line(), "recurse: going down\n");
    let (status, stderr) = coos.wait("the stack overflowed");
    assert_ne!(status, Some(0), "{stderr}");
    assert!(
        stderr.contains("coos: pid 2 (recurse) overflowed the stack (16 MiB, "),
        "{stderr}"
    );
}

#[test]
fn the_kernel_stack_takes_no_zero() {
    let mut coos = Coos::start(&["--stack-mib", "0", "run", "true"], Stdio::null());
    let (status, stderr) = coos.wait("a usage error");
    assert_eq!(status, Some(2), "{stderr}");
}
