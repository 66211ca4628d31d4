//! The `coos` command's allocator: the host's malloc, with a small cache
//! per thread in front of it for small blocks.
//!
//! A task is a boxed future, made when it is spawned and freed when it
//! ends; a pipe's queues and buffer come and go with it. Through glibc
//! each malloc and free cost about 150 instructions (with fastbins off,
//! see `tune_host_allocator`, a free merges the block with its
//! neighbours): 14% of a spawn + exit + wait. Here a freed block of up to
//! 520 bytes goes on a list of its size class, and the next allocation of
//! that class takes it back: a few instructions each way. The cache keeps
//! at most `KEEP` blocks a class, and a thread's cache is never given back
//! (a few hundred KiB at most), so memory use is what glibc's would be
//! plus that: a blocked task costs what it did.
//!
//! mimalloc, the crate that would do this, was measured first: spawn went
//! from 190 to 122 ns, but a blocked task took 337 bytes instead of 232,
//! the process 10 MB more, and with its defaults (memory given back to the
//! host as it is freed) spawn took 120 to 870 ns from run to run.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr::{self, NonNull};

/// Size classes 16 bytes apart: 24, 40, 56, ... 520 bytes. glibc gives a
/// request of n bytes a chunk of n + 8 rounded up to 16, so a class of
/// 16k + 8 bytes takes the very chunk each size it serves would have had:
/// caching costs no memory per block.
const CLASSES: usize = 32;
const CLASS: usize = 16;
const MAX_SMALL: usize = CLASS * CLASSES + 8;
/// Blocks a class keeps per thread.
const KEEP: u32 = 256;

/// The host's allocator, with a per-thread cache of small freed blocks.
pub struct CachedAlloc;

/// A freed block, linked through its own first word.
struct Free {
    next: Option<NonNull<Free>>,
}

struct Cache {
    heads: [Option<NonNull<Free>>; CLASSES],
    counts: [u32; CLASSES],
}

thread_local! {
    // Const-initialized and without a destructor: reachable from any point
    // of a thread's life, its end included, and never freed (the blocks it
    // holds at a thread's end stay with the process).
    static CACHE: UnsafeCell<Cache> = const {
        UnsafeCell::new(Cache {
            heads: [None; CLASSES],
            counts: [0; CLASSES],
        })
    };
}

/// The size class of a layout the cache serves, or `None`.
#[inline]
fn class_of(layout: Layout) -> Option<usize> {
    let size = layout.size();
    if size == 0 || size > MAX_SMALL || layout.align() > CLASS {
        return None;
    }
    Some(size.saturating_sub(9) / CLASS)
}

/// The layout every block of `class` is allocated and freed with.
#[inline]
fn class_layout(class: usize) -> Layout {
    // SAFETY: 24 to 520 bytes, aligned to 16 (malloc's own alignment): a
    // valid layout.
    unsafe { Layout::from_size_align_unchecked((class + 1) * CLASS + 8, CLASS) }
}

// SAFETY: every block comes from System with the layout it is returned
// with (a small one with its class's layout, which is at least as big and
// as aligned as the caller's), and a block is on at most one free list.
unsafe impl GlobalAlloc for CachedAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = class_of(layout) else {
            // SAFETY: the caller's layout, passed on.
            return unsafe { System.alloc(layout) };
        };
        let cached = CACHE.with(|cache| {
            // SAFETY: this thread's cache; nothing else holds a reference
            // to it (no allocation happens while one is held).
            let cache = unsafe { &mut *cache.get() };
            let head = cache.heads[class]?;
            // SAFETY: a block on the list is a freed block of this class,
            // its first word the link written when it was pushed.
            cache.heads[class] = unsafe { head.as_ref() }.next;
            cache.counts[class] -= 1;
            Some(head.as_ptr().cast::<u8>())
        });
        match cached {
            Some(block) => block,
            // SAFETY: a valid layout (class_layout).
            None => unsafe { System.alloc(class_layout(class)) },
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(class) = class_of(layout) else {
            // SAFETY: the caller's block and layout, passed on.
            return unsafe { System.dealloc(ptr, layout) };
        };
        let kept = CACHE.with(|cache| {
            // SAFETY: as in alloc.
            let cache = unsafe { &mut *cache.get() };
            if cache.counts[class] >= KEEP {
                return false;
            }
            let block = ptr.cast::<Free>();
            // SAFETY: the block is ours now (the caller freed it), at least
            // 16 bytes and 16-aligned (its class), room for the link.
            unsafe {
                block.write(Free {
                    next: cache.heads[class],
                })
            };
            cache.heads[class] = NonNull::new(block);
            cache.counts[class] += 1;
            true
        });
        if !kept {
            // SAFETY: a block of this class came from System with its layout.
            unsafe { System.dealloc(ptr, class_layout(class)) };
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if class_of(layout).is_none() {
            // SAFETY: the caller's layout. The host's calloc can skip
            // zeroing memory fresh from the kernel (a 64 KiB pipe buffer).
            return unsafe { System.alloc_zeroed(layout) };
        }
        // SAFETY: the caller's layout; a block from alloc holds at least
        // `layout.size()` bytes.
        unsafe {
            let block = self.alloc(layout);
            if !block.is_null() {
                block.write_bytes(0, layout.size());
            }
            block
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract: `new_size`, rounded up to the
        // alignment, does not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class_of(layout), class_of(new_layout)) {
            // Big to big: the host's realloc, which can move by remapping.
            // SAFETY: the caller's block, layout and size, passed on.
            (None, None) => unsafe { System.realloc(ptr, layout, new_size) },
            (Some(old), Some(new)) if old == new => ptr,
            _ => {
                // SAFETY: a valid layout, as above.
                let moved = unsafe { self.alloc(new_layout) };
                if !moved.is_null() {
                    let n = layout.size().min(new_size);
                    // SAFETY: both blocks hold `n` bytes; two live blocks
                    // do not overlap; the old one is the caller's, freed once.
                    unsafe {
                        ptr::copy_nonoverlapping(ptr, moved, n);
                        self.dealloc(ptr, layout);
                    }
                }
                moved
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn a_freed_small_block_is_handed_out_again_for_its_class() {
        let a = CachedAlloc;
        // SAFETY: each block is used within its layout and freed once.
        unsafe {
            let first = a.alloc(layout(40, 8));
            first.write_bytes(0xAB, 40);
            a.dealloc(first, layout(40, 8));
            // 25..=40 bytes is one class: the block comes back.
            let again = a.alloc(layout(33, 16));
            assert_eq!(again, first);
            // Another class does not get it.
            let other = a.alloc(layout(100, 8));
            assert_ne!(other, first);
            a.dealloc(again, layout(33, 16));
            a.dealloc(other, layout(100, 8));
        }
    }

    #[test]
    fn each_size_goes_to_the_smallest_class_that_holds_it() {
        for size in 1..=MAX_SMALL {
            let class = class_of(layout(size, 1)).unwrap();
            let holds = class_layout(class).size();
            assert!(holds >= size, "{size} bytes in a class of {holds}");
            assert!(class == 0 || class_layout(class - 1).size() < size);
        }
        assert_eq!(class_of(layout(MAX_SMALL + 1, 1)), None);
        assert_eq!(class_of(layout(0, 1)), None);
    }

    #[test]
    fn big_and_over_aligned_blocks_go_to_the_host_untouched() {
        let a = CachedAlloc;
        // SAFETY: as above.
        unsafe {
            for l in [layout(4096, 8), layout(64, 64), layout(521, 1)] {
                let p = a.alloc(l);
                assert!(!p.is_null());
                assert_eq!(p as usize % l.align(), 0);
                p.write_bytes(1, l.size());
                a.dealloc(p, l);
            }
        }
    }

    #[test]
    fn realloc_keeps_the_bytes_across_classes_and_to_the_host() {
        let a = CachedAlloc;
        // SAFETY: as above; each realloc's result replaces the block.
        unsafe {
            let mut l = layout(10, 1);
            let mut p = a.alloc(l);
            for i in 0..10 {
                *p.add(i) = i as u8;
            }
            for size in [12, 200, 520, 521, 5000, 100_000, 300, 10] {
                p = a.realloc(p, l, size);
                assert!(!p.is_null());
                l = layout(size, 1);
                let kept = (0..10).all(|i| *p.add(i) == i as u8);
                assert!(kept, "bytes lost growing to {size}");
            }
            a.dealloc(p, l);
        }
    }

    #[test]
    fn a_class_keeps_at_most_keep_blocks_and_a_thread_frees_another_threads_blocks() {
        let a = CachedAlloc;
        let l = layout(24, 8);
        // SAFETY: as above; blocks cross threads as raw addresses.
        let blocks: Vec<usize> = (0..KEEP as usize + 50)
            .map(|_| unsafe { a.alloc(l) } as usize)
            .collect();
        std::thread::spawn(move || {
            for &b in &blocks {
                // SAFETY: each block was allocated once with `l`.
                unsafe { CachedAlloc.dealloc(b as *mut u8, l) };
            }
            CACHE.with(|cache| {
                // SAFETY: this thread's cache, no other reference.
                let count = unsafe { &*cache.get() }.counts[class_of(l).unwrap()];
                assert_eq!(count, KEEP);
            });
        })
        .join()
        .unwrap();
    }
}
