//! The path of a system call that completes at once allocates nothing:
//! counted with an allocator that tallies this thread's allocations.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use kernel::Config;
use syscalls::{Fd, Sys};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call goes straight to the system allocator; the count is a
// const-initialised thread-local Cell, which itself never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is System's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's contract is System's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// One of each call that completes at once.
async fn round(sys: &Sys, r: Fd, w: Fd, null: Fd, buf: &mut [u8; 8]) {
    sys.getpid().await;
    sys.getppid().await;
    sys.now().await;
    sys.yield_now().await;
    assert_eq!(sys.write(w, b"12345678").await, Ok(8));
    assert_eq!(sys.read(r, buf).await, Ok(8));
    assert_eq!(sys.write(null, b"x").await, Ok(1));
    assert_eq!(sys.dup2(w, Fd(9)).await, Ok(Fd(9)));
    sys.close(Fd(9)).await.unwrap();
    assert!(sys.try_wait(None).await.is_err(), "no children: ECHILD");
}

#[test]
fn calls_that_complete_at_once_allocate_nothing() {
    let untraced = Config {
        trace: false,
        ..support::config()
    };
    let run = support::run_with(b"", untraced, |sys| async move {
        let (r, w) = sys.pipe().await.unwrap();
        let null = sys.open("/dev/null").await.unwrap();
        let mut buf = [0u8; 8];
        // Warm up: queues and the pipe's ring grow on first use.
        for _ in 0..100 {
            round(&sys, r, w, null, &mut buf).await;
        }
        let before = allocations();
        for _ in 0..10_000 {
            round(&sys, r, w, null, &mut buf).await;
        }
        let after = allocations();
        assert_eq!(after - before, 0, "allocations in 10,000 rounds of calls");
        0
    });
    assert_eq!(run.status, Some(0), "stderr: {}", run.stderr);
}
