//! What `sh` keeps in memory as subshells nest: a subshell shares the
//! script's text and command tree with its parent instead of copying them.
//!
//! Memory is measured, not time: a global allocator counts the bytes live
//! and their peak. The counts are for the whole process, so the tests of
//! this file take turns (`ONE_AT_A_TIME`).

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

use support::sh_c;

/// The system allocator, counting.
struct Counting;

/// Bytes allocated and not yet freed.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// The most `LIVE` has been since it was last reset.
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is handed to `System` with the caller's arguments, so
// `System` keeps the `GlobalAlloc` contract; the counting touches no memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller keeps `alloc`'s contract, which we pass on.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(live, Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller keeps `dealloc`'s contract, which we pass on.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The peak of live bytes while `run` runs, above those live before it.
fn peak_during(run: impl FnOnce()) -> usize {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    run();
    PEAK.load(Relaxed).saturating_sub(before)
}

#[test]
fn nested_subshells_share_the_script_text_instead_of_copying_it_at_each_level() {
    // Issue 11: 64 nested subshells around a 0.4 MB line took 2.4 GB; each
    // level copied its part of the tree, the texts in it and the history.
    let nested = |word: &str| format!("{}true {word}{}", "(".repeat(64), ")".repeat(64));
    let line = 16 * 1024;
    let short = peak_during(|| assert_eq!(sh_c(&nested("x")).status, Some(0)));
    let long = peak_during(|| assert_eq!(sh_c(&nested(&"x".repeat(line))).status, Some(0)));
    // The line's own copies (the argument, the source the tree and the
    // history share, the word, `true`'s argv on its way) are about ten,
    // whatever the depth; copying at each level made them thousands.
    let more = long.saturating_sub(short);
    assert!(
        more <= 32 * line,
        "{more} bytes more at the peak for a line {line} bytes longer"
    );
}
