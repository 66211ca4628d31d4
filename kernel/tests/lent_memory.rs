//! Safe code cannot make the kernel touch freed memory. Each hostile task
//! here polls a call's future once (the call traps into the kernel),
//! `mem::forget`s it, frees what the call borrowed, and returns `Pending`:
//! all safe code. The kernel must never read or write that memory after
//! the poll (DESIGN.md, "Lent memory").
//!
//! A test allocator quarantines every block freed while a test runs: it
//! fills it with a pattern and never hands it out again. A kernel that
//! writes into a freed buffer changes the pattern; one that reads a freed
//! buffer passes the pattern on, where the test sees it.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::{poll_fn, Future};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::Poll;

use syscalls::{Command, Fd, FdMap, Interest, PollFd, Sys};

/// What a freed block is filled with.
const PATTERN: u8 = 0xA5;

/// How many freed blocks one test can quarantine; more are freed as usual
/// (and counted, so a test can tell it ran out).
const MOST: usize = 1 << 16;

struct Quarantine;

static ON: AtomicBool = AtomicBool::new(false);
static COUNT: AtomicUsize = AtomicUsize::new(0);
static BLOCKS: [(AtomicUsize, AtomicUsize); MOST] =
    [const { (AtomicUsize::new(0), AtomicUsize::new(0)) }; MOST];

// SAFETY: every block comes from `System` and goes back to it, or is kept
// (never reused) while quarantined; the pattern is written inside the
// block's own bounds.
unsafe impl GlobalAlloc for Quarantine {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ON.load(Ordering::SeqCst) && layout.size() > 0 {
            let i = COUNT.fetch_add(1, Ordering::SeqCst);
            if i < MOST {
                // SAFETY: `ptr` is a live block of `layout.size()` bytes,
                // which its owner has just given up.
                unsafe { ptr.write_bytes(PATTERN, layout.size()) };
                BLOCKS[i].0.store(ptr as usize, Ordering::SeqCst);
                BLOCKS[i].1.store(layout.size(), Ordering::SeqCst);
                return;
            }
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Quarantine = Quarantine;

/// One test at a time: the quarantine is the whole process's.
static SERIAL: Mutex<()> = Mutex::new(());

/// Quarantine on for the life of the guard.
struct Quarantined(#[allow(dead_code)] MutexGuard<'static, ()>);

fn quarantine() -> Quarantined {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    COUNT.store(0, Ordering::SeqCst);
    ON.store(true, Ordering::SeqCst);
    Quarantined(guard)
}

impl Quarantined {
    /// How many quarantined bytes changed since they were freed.
    fn changed(&self) -> usize {
        let n = COUNT.load(Ordering::SeqCst).min(MOST);
        (0..n)
            .map(|i| {
                let at = BLOCKS[i].0.load(Ordering::SeqCst) as *const u8;
                let len = BLOCKS[i].1.load(Ordering::SeqCst);
                // SAFETY: a quarantined block is never freed or reused:
                // its bytes stay readable.
                let bytes = unsafe { std::slice::from_raw_parts(at, len) };
                bytes.iter().filter(|&&b| b != PATTERN).count()
            })
            .sum()
    }
}

impl Drop for Quarantined {
    fn drop(&mut self) {
        ON.store(false, Ordering::SeqCst);
    }
}

/// A call that borrows `buf`, as a future.
type Lent<'a> = Box<dyn Future<Output = ()> + Unpin + 'a>;

/// Makes a call that lends it `buf`.
type Lend = for<'a> fn(&'a Sys, &'a mut [u8]) -> Lent<'a>;

/// The hostile step: polls the call `lend` makes (with memory it allocates
/// and borrows) once, forgets it, frees the memory, and returns `Pending`
/// with the call in the kernel. The next poll ends the task.
async fn trap_and_forget(sys: &Sys, lend: Lend) {
    let mut trapped = false;
    poll_fn(|cx| {
        if trapped {
            return Poll::Ready(());
        }
        trapped = true;
        let mut lent = vec![b'L'; 64];
        let mut call = lend(sys, &mut lent);
        assert!(std::pin::Pin::new(&mut call).poll(cx).is_pending());
        std::mem::forget(call);
        drop(lent); // Freed, with the call in the kernel.
        let victim = vec![0u8; 64];
        std::mem::forget(victim);
        Poll::Pending
    })
    .await;
}

fn read_call<'a>(sys: &'a Sys, buf: &'a mut [u8]) -> Lent<'a> {
    Box::new(Box::pin(async move {
        let _ = sys.read(Fd::STDIN, buf).await;
    }))
}

fn write_call<'a>(sys: &'a Sys, buf: &'a mut [u8]) -> Lent<'a> {
    Box::new(Box::pin(async move {
        let _ = sys.write(Fd::STDOUT, buf).await;
    }))
}

/// A task on `input` (as its stdin) and `output` (stdout) that lends
/// memory with `lend` and forgets it.
fn hostile(input: Fd, output: Fd, lend: Lend) -> Command {
    Command::from_fn(move |sys| async move {
        trap_and_forget(&sys, lend).await;
        0
    })
    .fds(FdMap::stdio().set(Fd::STDIN, input).set(Fd::STDOUT, output))
}

#[test]
fn a_forgotten_read_parked_on_a_pipe_gets_no_bytes_in_its_freed_buffer() {
    let q = quarantine();
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let reader = hostile(r, Fd::STDOUT, read_call).spawn(&sys).await.unwrap();
        sys.close(r).await.unwrap();
        sys.yield_now().await; // The reader parks in its read.
        sys.write(w, b"written after the buffer was freed")
            .await
            .unwrap();
        sys.close(w).await.unwrap();
        sys.wait(reader).await.unwrap();
        0
    });
    run.expect_clean();
    assert_eq!(q.changed(), 0, "the kernel wrote into freed memory");
}

#[test]
fn a_forgotten_read_of_a_full_pipe_gets_no_bytes_in_its_freed_buffer() {
    let q = quarantine();
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        sys.write(w, b"there before the read").await.unwrap();
        let reader = hostile(r, Fd::STDOUT, read_call).spawn(&sys).await.unwrap();
        sys.close(r).await.unwrap();
        sys.wait(reader).await.unwrap();
        0
    });
    run.expect_clean();
    assert_eq!(q.changed(), 0, "the kernel wrote into freed memory");
}

#[test]
fn a_forgotten_read_of_the_console_gets_no_bytes_in_its_freed_buffer() {
    let q = quarantine();
    let run = support::run(b"console input", |sys| async move {
        let reader = hostile(Fd::STDIN, Fd::STDOUT, read_call)
            .spawn(&sys)
            .await
            .unwrap();
        sys.wait(reader).await.unwrap();
        0
    });
    run.expect_clean();
    assert_eq!(q.changed(), 0, "the kernel wrote into freed memory");
}

/// Runs a hostile writer into a pipe (`full`: filled to its last byte
/// first, so the write parks), drains the pipe, and returns what came out
/// after what was there before.
fn written_by_a_forgotten_write(full: bool) -> Vec<u8> {
    let run = support::run(b"", move |sys| async move {
        let (r, w) = sys.pipe_with_capacity(8).await.unwrap();
        if full {
            sys.write(w, b"12345678").await.unwrap();
        }
        let writer = hostile(Fd::STDIN, w, write_call).spawn(&sys).await.unwrap();
        sys.close(w).await.unwrap();
        sys.yield_now().await; // The writer traps (and parks, if full).
        let mut got = Vec::new();
        sys.read_to_end(r, &mut got).await.unwrap();
        sys.wait(writer).await.unwrap();
        let _ = sys.write_all(Fd::STDOUT, &got).await;
        0
    });
    run.expect_clean();
    let out = run.stdout.into_bytes();
    if full {
        assert!(out.starts_with(b"12345678"), "{out:?}");
        out[8..].to_vec()
    } else {
        out
    }
}

#[test]
fn a_forgotten_write_moves_nothing_out_of_its_freed_buffer() {
    let _q = quarantine();
    let got = written_by_a_forgotten_write(false);
    assert!(
        !got.contains(&PATTERN),
        "freed memory reached the pipe: {got:?}"
    );
    assert_eq!(got, b"", "a write whose future was forgotten moves nothing");
}

#[test]
fn a_forgotten_write_parked_on_a_full_pipe_moves_nothing_out_of_its_freed_buffer() {
    let _q = quarantine();
    let got = written_by_a_forgotten_write(true);
    assert!(
        !got.contains(&PATTERN),
        "freed memory reached the pipe: {got:?}"
    );
    assert_eq!(got, b"");
}

/// A hostile `poll` over `fd` (readable or not), its entries freed.
async fn forget_a_poll(sys: &Sys, fd: Fd) {
    let mut trapped = false;
    poll_fn(|cx| {
        if trapped {
            return Poll::Ready(());
        }
        trapped = true;
        let mut entries = vec![PollFd::new(fd, Interest::READ); 4];
        let mut call = Box::pin(sys.poll(&mut entries, None));
        assert!(call.as_mut().poll(cx).is_pending());
        std::mem::forget(call);
        drop(entries);
        Poll::Pending
    })
    .await;
}

#[test]
fn a_forgotten_poll_reads_its_entries_while_they_live_and_writes_nothing_into_them_freed() {
    let q = quarantine();
    let run = support::run(b"", |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        // Parked (nothing to read yet), then woken by a write.
        let parked = Command::from_fn(|sys| async move {
            forget_a_poll(&sys, Fd::STDIN).await;
            0
        })
        .fds(FdMap::stdio().set(Fd::STDIN, r))
        .spawn(&sys)
        .await
        .unwrap();
        sys.yield_now().await;
        // Parked on the right descriptor: the kernel read the entries
        // while they were alive (a kernel reading them after the free
        // finds garbage there, answers EBADF, and the task ends).
        let state = support::state_of(&sys, parked).await;
        assert_eq!(state, Some(syscalls::TaskState::Blocked("poll")));
        sys.write(w, b"x").await.unwrap();
        sys.wait(parked).await.unwrap();
        // Ready at once.
        let ready = Command::from_fn(|sys| async move {
            forget_a_poll(&sys, Fd::STDIN).await;
            0
        })
        .fds(FdMap::stdio().set(Fd::STDIN, r))
        .spawn(&sys)
        .await
        .unwrap();
        sys.wait(ready).await.unwrap();
        0
    });
    run.expect_clean();
    assert_eq!(q.changed(), 0, "the kernel wrote into freed memory");
}

#[test]
fn a_forgotten_spawn_still_starts_its_child_and_touches_nothing_freed() {
    // The spawn request moves into the kernel in the poll that traps; the
    // forgotten future is leaked, not freed. (So it was before: a request
    // owned by its pinned future is safe; this checks it stays so.)
    let q = quarantine();
    let run = support::run(b"", |sys| async move {
        let forgetful = Command::from_fn(|sys| async move {
            let mut trapped = false;
            poll_fn(|cx| {
                if trapped {
                    return Poll::Ready(());
                }
                trapped = true;
                let child = Command::from_fn(|sys| async move {
                    let _ = sys.print("grandchild ran\n").await;
                    0
                });
                let mut call = Box::pin(child.spawn(&sys));
                assert!(call.as_mut().poll(cx).is_pending());
                std::mem::forget(call);
                Poll::Pending
            })
            .await;
            0
        });
        let pid = forgetful.spawn(&sys).await.unwrap();
        sys.wait(pid).await.unwrap();
        // The grandchild, init's now, runs before this sleep ends.
        sys.sleep(std::time::Duration::from_millis(1))
            .await
            .unwrap();
        0
    });
    run.expect_clean();
    assert_eq!(run.stdout, "grandchild ran\n");
    assert_eq!(q.changed(), 0, "the kernel wrote into freed memory");
}
