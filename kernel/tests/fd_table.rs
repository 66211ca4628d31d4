//! The descriptor table: close, dup, dup2, open("/dev/null"), the console's
//! fds, and EMFILE when the table is full.

mod support;

use kernel::Config;
use syscalls::{Errno, Fd, FdMap, Pid, Syscall};

fn small(max_fds: usize) -> Config {
    Config {
        max_fds,
        ..support::config()
    }
}

#[test]
fn close_of_an_open_fd_succeeds_once_then_fails_with_ebadf() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        assert_eq!(sys.close(w).await, Ok(()));
        assert_eq!(sys.close(w).await, Err(Errno::EBADF));
        assert_eq!(sys.close(r).await, Ok(()));
        assert_eq!(sys.close(r).await, Err(Errno::EBADF));
        assert_eq!(sys.close(Fd(77)).await, Err(Errno::EBADF), "never opened");
        0
    });
    run.expect_clean();
}

#[test]
fn calls_on_a_closed_fd_fail_with_ebadf() {
    let run = support::run(b"", |sys| async move {
        let null = sys.open("/dev/null").await.unwrap();
        sys.close(null).await.unwrap();
        assert_eq!(sys.read(null, &mut [0u8; 4]).await, Err(Errno::EBADF));
        assert_eq!(sys.write(null, b"x").await, Err(Errno::EBADF));
        assert_eq!(sys.dup(null).await, Err(Errno::EBADF));
        assert_eq!(sys.dup2(null, Fd(9)).await, Err(Errno::EBADF));
        assert_eq!(sys.is_terminal(null).await, Err(Errno::EBADF));
        0
    });
    run.expect_clean();
}

#[test]
fn the_lowest_free_fd_is_handed_out_first() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        assert_eq!((r, w), (Fd(3), Fd(4)));
        let null = sys.open("/dev/null").await.unwrap();
        assert_eq!(null, Fd(5));
        sys.close(r).await.unwrap();
        assert_eq!(sys.dup(w).await, Ok(Fd(3)));
        sys.close(Fd::STDIN).await.unwrap();
        assert_eq!(sys.open("/dev/null").await, Ok(Fd(0)));
        assert_eq!(sys.open("/dev/null").await, Ok(Fd(6)));
        0
    });
    run.expect_clean();
}

#[test]
fn dup_makes_a_second_fd_for_the_same_object() {
    let run = support::run(b"", |sys| async move {
        let out = sys.dup(Fd::STDOUT).await.unwrap();
        assert_eq!(out, Fd(3));
        sys.write_all(out, b"via dup\n").await.unwrap();
        sys.close(Fd::STDOUT).await.unwrap();
        sys.write_all(out, b"still the console\n").await.unwrap();
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "via dup\nstill the console\n");
}

#[test]
fn dup2_makes_to_a_copy_of_from_and_stdout_can_be_redirected() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let saved = sys.dup(Fd::STDOUT).await.unwrap();
        assert_eq!(sys.dup2(w, Fd::STDOUT).await, Ok(Fd::STDOUT));
        sys.print("into the pipe").await.unwrap();
        sys.close(w).await.unwrap();
        // fd 1 is now the only write end; restore the console over it.
        assert_eq!(sys.dup2(saved, Fd::STDOUT).await, Ok(Fd::STDOUT));
        let mut got = Vec::new();
        sys.read_to_end(r, &mut got).await.unwrap();
        sys.print(&format!(
            "pipe held {:?}\n",
            String::from_utf8(got).unwrap()
        ))
        .await
        .unwrap();
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "pipe held \"into the pipe\"\n");
}

#[test]
fn dup2_closes_what_to_named_before() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let null = sys.open("/dev/null").await.unwrap();
        // The pipe's only write end is replaced: the reader sees EOF.
        assert_eq!(sys.dup2(null, w).await, Ok(w));
        assert_eq!(sys.read(r, &mut [0u8; 4]).await, Ok(0));
        // And `w` now swallows writes like /dev/null.
        assert_eq!(sys.write(w, b"gone").await, Ok(4));
        0
    });
    run.expect_clean();
}

#[test]
fn dup2_onto_itself_changes_nothing() {
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        assert_eq!(sys.dup2(w, w).await, Ok(w));
        sys.write_all(w, b"ok").await.unwrap();
        sys.close(w).await.unwrap();
        let mut got = Vec::new();
        sys.read_to_end(r, &mut got).await.unwrap();
        assert_eq!(got, b"ok", "one close was enough for EOF");
        0
    });
    run.expect_clean();
}

#[test]
fn dup2_to_a_high_fd_within_the_limit_works() {
    let run = support::run_with(b"", small(16), |sys| async move {
        assert_eq!(sys.dup2(Fd::STDOUT, Fd(15)).await, Ok(Fd(15)));
        sys.write_all(Fd(15), b"fd 15\n").await.unwrap();
        // The table has a hole; the lowest free fd is still 3.
        assert_eq!(sys.open("/dev/null").await, Ok(Fd(3)));
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "fd 15\n");
}

#[test]
fn dup2_to_an_fd_beyond_the_limit_fails_with_ebadf_as_on_linux() {
    let run = support::run_with(b"", small(16), |sys| async move {
        let got = sys.dup2(Fd::STDOUT, Fd(16)).await;
        assert_eq!(got, Err(Errno::EBADF), "Syscall::Dup2 documents EBADF");
        0
    });
    run.expect_clean();
}

#[test]
fn a_full_descriptor_table_answers_emfile() {
    let run = support::run_with(b"", small(6), |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        assert_eq!((r, w), (Fd(3), Fd(4)));
        assert_eq!(sys.open("/dev/null").await, Ok(Fd(5)));
        // Full: 0..=5.
        assert_eq!(sys.open("/dev/null").await, Err(Errno::EMFILE));
        assert_eq!(sys.dup(Fd::STDOUT).await, Err(Errno::EMFILE));
        assert_eq!(sys.pipe().await, Err(Errno::EMFILE));
        // One free fd is not enough for a pipe, and the failure takes none.
        sys.close(Fd(5)).await.unwrap();
        assert_eq!(sys.pipe().await, Err(Errno::EMFILE));
        assert_eq!(sys.dup(Fd::STDOUT).await, Ok(Fd(5)));
        // The table still works after the refusals.
        sys.close(r).await.unwrap();
        sys.close(Fd(5)).await.unwrap();
        let (r2, w2) = sys.pipe().await.unwrap();
        assert_eq!((r2, w2), (Fd(3), Fd(5)));
        sys.write_all(w2, b"x").await.unwrap();
        assert_eq!(sys.read(r2, &mut [0u8; 1]).await, Ok(1));
        0
    });
    run.expect_clean();
}

#[test]
fn each_task_has_its_own_descriptor_table() {
    let run = support::run_with(b"", small(4), |sys| async move {
        assert_eq!(sys.open("/dev/null").await, Ok(Fd(3)));
        assert_eq!(sys.open("/dev/null").await, Err(Errno::EMFILE));
        // The child starts with 0, 1, 2 only: it has room for one more.
        let child = sys
            .spawn_fn(|sys| async move {
                match (sys.open("/dev/null").await, sys.open("/dev/null").await) {
                    (Ok(Fd(3)), Err(Errno::EMFILE)) => 0,
                    _ => 1,
                }
            })
            .await
            .unwrap();
        assert_eq!(sys.wait(child).await, Ok((child, 0)));
        // The child closing its fds did not close the parent's.
        assert_eq!(sys.write(Fd(3), b"x").await, Ok(1));
        0
    });
    run.expect_clean();
}

#[test]
fn dev_null_reads_eof_and_swallows_writes() {
    let run = support::run(b"", |sys| async move {
        let null = sys.open("/dev/null").await.unwrap();
        assert_eq!(sys.read(null, &mut [0u8; 16]).await, Ok(0));
        assert_eq!(sys.write(null, &[9u8; 100_000]).await, Ok(100_000));
        assert_eq!(sys.is_terminal(null).await, Ok(false));
        // As a child's stdout, it hides what the child prints.
        let child = syscalls::Command::from_fn(|sys| async move {
            sys.print("hidden\n").await.unwrap();
            0
        })
        .fds(FdMap::stdio().set(Fd::STDOUT, null))
        .spawn(&sys)
        .await
        .unwrap();
        assert_eq!(sys.wait(child).await, Ok((child, 0)));
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "");
}

#[test]
fn open_of_anything_but_dev_null_fails_with_enoent() {
    let run = support::run(b"", |sys| async move {
        for path in ["/dev/zero", "/etc/passwd", "", "/dev/null/", "dev/null"] {
            assert_eq!(sys.open(path).await, Err(Errno::ENOENT), "{path:?}");
        }
        assert_eq!(sys.open("/dev/null").await, Ok(Fd(3)), "no fd was used");
        0
    });
    run.expect_clean();
}

#[test]
fn console_fds_read_the_fed_input_and_write_the_captures() {
    let run = support::run(b"line one\nline two\n", |sys| async move {
        let mut buf = [0u8; 5];
        assert_eq!(sys.read(Fd::STDIN, &mut buf).await, Ok(5));
        assert_eq!(&buf, b"line ");
        let mut rest = Vec::new();
        sys.read_to_end(Fd::STDIN, &mut rest).await.unwrap();
        assert_eq!(rest, b"one\nline two\n");
        assert_eq!(sys.read(Fd::STDIN, &mut buf).await, Ok(0), "EOF stays");
        sys.write_all(Fd::STDOUT, b"to stdout\n").await.unwrap();
        sys.write_all(Fd::STDERR, b"to stderr\n").await.unwrap();
        // The scripted console is not a terminal; reading an output fails.
        assert_eq!(sys.is_terminal(Fd::STDIN).await, Ok(false));
        assert_eq!(sys.read(Fd::STDOUT, &mut buf).await, Err(Errno::EBADF));
        assert_eq!(sys.write(Fd::STDIN, b"x").await, Err(Errno::EBADF));
        0
    });
    run.expect_status(0);
    assert_eq!(run.stdout, "to stdout\n");
    assert_eq!(run.stderr, "to stderr\n");
}

#[test]
fn set_foreground_needs_a_console_fd() {
    let run = support::run(b"", |sys| async move {
        let (r, _w) = sys.pipe().await.unwrap();
        assert_eq!(sys.set_foreground(r, Pid(2)).await, Err(Errno::ENOTTY));
        assert_eq!(sys.set_foreground(Fd(40), Pid(2)).await, Err(Errno::EBADF));
        assert_eq!(sys.set_foreground(Fd::STDIN, Pid(2)).await, Ok(()));
        0
    });
    run.expect_clean();
}

#[test]
fn a_path_lent_to_open_must_be_utf8_and_not_null() {
    let run = support::run(b"", |sys| async move {
        let bad = [0xffu8, 0xfe];
        // SAFETY: both buffers live until the calls return.
        let not_utf8 = unsafe {
            sys.call(Syscall::Open {
                path: bad.as_ptr(),
                len: bad.len(),
            })
        }
        .await;
        assert_eq!(not_utf8, Err(Errno::EINVAL));
        // SAFETY: a null path is refused before it is read.
        let null = unsafe {
            sys.call(Syscall::Open {
                path: std::ptr::null(),
                len: 9,
            })
        }
        .await;
        assert_eq!(null, Err(Errno::EINVAL));
        let path = "/dev/null";
        // SAFETY: `path` lives until the call returns.
        let good = unsafe {
            sys.call(Syscall::Open {
                path: path.as_ptr(),
                len: path.len(),
            })
        }
        .await;
        assert_eq!(good, Ok(syscalls::Reply::Fd(Fd(3))));
        0
    });
    run.expect_clean();
}
