//! Where a pool's region comes from: the system allocator, or, in the loom model, a bump arena.
//!
//! The table compares addresses (is this free inside that range?), so the order in which regions
//! lie in memory decides which branch a lookup takes. loom replays a model many times and requires
//! every replay to take the same branches for the same schedule; the system allocator gives no
//! such promise (loom's own bookkeeping allocates between executions). Under loom, regions are
//! therefore cut from one arena per model execution, in creation order and never reused, so their
//! relative placement is the same in every execution and a region created later always lies above
//! every earlier one.

use std::alloc::{GlobalAlloc, Layout, System};

/// Reserve a region of `layout` for a pool; null when the memory is not there.
///
/// # Safety
/// `layout` has a non-zero size.
#[cfg(not(loom))]
pub(crate) unsafe fn allocate(layout: Layout) -> *mut u8 {
    // SAFETY: the caller guarantees a non-zero size.
    unsafe { System.alloc(layout) }
}

/// Give a region back.
///
/// # Safety
/// `region` came from [`allocate`] with this `layout` and nothing uses it any more.
#[cfg(not(loom))]
pub(crate) unsafe fn release(region: *mut u8, layout: Layout) {
    // SAFETY: the caller guarantees `region` came from `System` with `layout` and is unused.
    unsafe { System.dealloc(region, layout) }
}

#[cfg(loom)]
pub(crate) use arena::{allocate, release};

#[cfg(loom)]
mod arena {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Room for every region one model execution creates (a handful of minimum-size pools).
    const ARENA_BYTES: usize = 4 << 20;
    const ARENA_ALIGN: usize = 4096;

    /// One execution's arena. std atomics, not loom's: the arena is test scaffolding, not part of
    /// the model, and only the thread that creates pools touches `next`.
    struct Arena {
        base: usize,
        next: AtomicUsize,
    }

    impl Arena {
        fn new() -> Arena {
            let layout = Layout::from_size_align(ARENA_BYTES, ARENA_ALIGN).expect("arena layout");
            // SAFETY: the layout has a non-zero size.
            let base = unsafe { System.alloc(layout) };
            assert!(!base.is_null(), "the loom arena could not be reserved");
            Arena { base: base.expose_provenance(), next: AtomicUsize::new(0) }
        }
    }

    impl Drop for Arena {
        fn drop(&mut self) {
            let layout = Layout::from_size_align(ARENA_BYTES, ARENA_ALIGN).expect("arena layout");
            // SAFETY: `base` came from `System` with this layout in `new`; the execution is over.
            unsafe { System.dealloc(std::ptr::with_exposed_provenance_mut(self.base), layout) };
        }
    }

    loom::lazy_static! {
        /// One arena per model execution, like the table.
        static ref ARENA: Arena = Arena::new();
    }

    /// Cut the next region of `layout` from this execution's arena.
    ///
    /// # Safety
    /// None beyond [`super`]'s contract; `unsafe` to match the real build.
    pub(crate) unsafe fn allocate(layout: Layout) -> *mut u8 {
        let arena = &*ARENA;
        let offset = arena.next.load(Ordering::Relaxed).next_multiple_of(layout.align().max(ARENA_ALIGN));
        let Some(end) = offset.checked_add(layout.size()).filter(|&end| end <= ARENA_BYTES) else {
            return std::ptr::null_mut();
        };
        arena.next.store(end, Ordering::Relaxed);
        std::ptr::with_exposed_provenance_mut(arena.base + offset)
    }

    /// Regions are never reused within an execution; the arena goes when the execution ends.
    ///
    /// # Safety
    /// None; `unsafe` to match the real build.
    pub(crate) unsafe fn release(_region: *mut u8, _layout: Layout) {}
}
