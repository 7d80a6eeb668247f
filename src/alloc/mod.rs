//! Allocation control: per-session memory pools and the global allocator that routes to them.
//!
//! tract allocates on every run (each op's output tensor, matmul packing: 18–370 allocations per
//! request on the shipped models) and offers no arena. To make a request cost **zero calls to the
//! system allocator**, a session owns a bounded [`Pool`] and, while it serves a request, marks it
//! as the calling thread's *current pool*; [`PoolRouter`], installed as the global allocator,
//! serves that thread's allocations from the pool. Frees are routed by address: a block inside a
//! pool's region goes back to that pool whichever thread frees it; anything else goes to the
//! system allocator.
//!
//! A pool that runs out never aborts: the allocation falls back to the system allocator, the
//! overflow is counted, and the session turns the request into
//! [`Status::PoolExhausted`](crate::Status::PoolExhausted).
//!
//! The C library (`cdylib`/`staticlib` built with the `pool-allocator` feature, as the README's
//! build does) installs the router itself. A Rust application using the rlib opts in:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: mlops_edge::alloc::PoolRouter = mlops_edge::alloc::PoolRouter::system();
//! ```
//!
//! Without the router, everything works the same; sessions just have no pool.

mod pool;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ptr::NonNull;
use std::sync::OnceLock;

pub use pool::{pools_in_use, Pool, PoolError, PoolStats, MAX_POOLS, MAX_POOL_BYTES, MIN_POOL_BYTES};

thread_local! {
    /// Slot index + 1 of the pool serving this thread's allocations; 0 = none.
    static CURRENT_POOL: Cell<usize> = const { Cell::new(0) };
    /// Calls this thread made to the inner (system) allocator: alloc, realloc and dealloc.
    static SYSTEM_CALLS: Cell<u64> = const { Cell::new(0) };
    /// Bytes this thread allocated from the inner allocator minus bytes it freed there.
    static SYSTEM_NET_BYTES: Cell<isize> = const { Cell::new(0) };
    /// Highest `SYSTEM_NET_BYTES` since the last `reset_peak`.
    static SYSTEM_PEAK_BYTES: Cell<isize> = const { Cell::new(0) };
}

/// A global allocator that serves the current thread's pool when one is set and the inner
/// allocator (the system's by default) otherwise. Opt in with `#[global_allocator]`.
pub struct PoolRouter<A: GlobalAlloc = System> {
    inner: A,
}

impl PoolRouter<System> {
    /// A router over the system allocator.
    pub const fn system() -> PoolRouter<System> {
        PoolRouter { inner: System }
    }
}

impl<A: GlobalAlloc> PoolRouter<A> {
    /// A router over `inner` (tests wrap the system allocator in a counter this way).
    pub const fn new(inner: A) -> PoolRouter<A> {
        PoolRouter { inner }
    }

    #[inline]
    fn note_system(bytes: isize) {
        // try_with: thread-locals may be gone while a thread is being torn down.
        let _ = SYSTEM_CALLS.try_with(|c| c.set(c.get() + 1));
        let _ = SYSTEM_NET_BYTES.try_with(|net| {
            let now = net.get() + bytes;
            net.set(now);
            let _ = SYSTEM_PEAK_BYTES.try_with(|peak| peak.set(peak.get().max(now)));
        });
    }
}

/// The pool serving this thread's allocations, if any. None while the thread is panicking: the
/// panic machinery (message, backtrace and its symbol cache) must not fill the pool, and some of
/// it lives for the rest of the process.
#[inline]
fn current_pool() -> Option<usize> {
    let index = CURRENT_POOL.try_with(Cell::get).ok().filter(|&i| i != 0)?;
    (!std::thread::panicking()).then_some(index - 1)
}

// SAFETY: every block is either served by a pool (and returned to the pool that owns its address)
// or by `inner` (and returned to `inner`); pools never hand out overlapping blocks and their
// regions never overlap system blocks, so ownership by address is unambiguous.
unsafe impl<A: GlobalAlloc> GlobalAlloc for PoolRouter<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if let Some(index) = current_pool() {
            if let Some(ptr) = pool::allocate(index, layout) {
                return ptr.as_ptr();
            }
        }
        Self::note_system(layout.size() as isize);
        self.inner.alloc(layout)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if let Some(index) = current_pool() {
            if let Some(ptr) = pool::allocate(index, layout) {
                // SAFETY: the block is at least layout.size() bytes and exclusively ours.
                std::ptr::write_bytes(ptr.as_ptr(), 0, layout.size());
                return ptr.as_ptr();
            }
        }
        Self::note_system(layout.size() as isize);
        self.inner.alloc_zeroed(layout)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(index) = pool::owner_of(ptr as usize) {
            // SAFETY: ptr lies in pool `index`'s region, so that pool allocated it.
            pool::deallocate(index, NonNull::new_unchecked(ptr), layout);
            return;
        }
        Self::note_system(-(layout.size() as isize));
        self.inner.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let owner = pool::owner_of(ptr as usize);
        match (owner, current_pool()) {
            (Some(index), Some(current)) if index == current => {
                // SAFETY: ptr is a live block of pool `index`.
                if let Some(moved) = pool::reallocate(index, NonNull::new_unchecked(ptr), layout, new_size) {
                    return moved.as_ptr();
                }
                self.move_block(ptr, layout, new_size)
            }
            (Some(_), _) => self.move_block(ptr, layout, new_size),
            (None, _) => {
                Self::note_system(new_size as isize - layout.size() as isize);
                self.inner.realloc(ptr, layout, new_size)
            }
        }
    }
}

impl<A: GlobalAlloc> PoolRouter<A> {
    /// Realloc of a pool block by allocate (routed as usual) + copy + free.
    ///
    /// SAFETY: `ptr` is a live block of a pool, allocated with `layout`.
    unsafe fn move_block(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let fresh = self.alloc(new_layout);
        if !fresh.is_null() {
            std::ptr::copy_nonoverlapping(ptr, fresh, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        fresh
    }
}

/// While alive, the calling thread's allocations are served from `pool`.
/// Restores the previous current pool when dropped (also during unwinding).
pub(crate) struct PoolScope {
    previous: usize,
}

impl PoolScope {
    pub(crate) fn enter(pool: &Pool) -> PoolScope {
        let previous = CURRENT_POOL.with(|c| c.replace(pool.index() + 1));
        PoolScope { previous }
    }

    /// A scope with no pool (allocations go to the system), e.g. for warm-up runs.
    pub(crate) fn system() -> PoolScope {
        PoolScope { previous: CURRENT_POOL.with(|c| c.replace(0)) }
    }
}

impl Drop for PoolScope {
    fn drop(&mut self) {
        CURRENT_POOL.with(|c| c.set(self.previous));
    }
}

/// Allocation counters of the calling thread, as seen by [`PoolRouter`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThreadAllocStats {
    /// Calls made to the system allocator (alloc + realloc + dealloc) by this thread so far.
    pub system_calls: u64,
    /// Bytes allocated minus bytes freed through the system allocator by this thread.
    pub system_net_bytes: isize,
    /// Highest `system_net_bytes` since [`reset_thread_peak`].
    pub system_peak_bytes: isize,
}

/// The calling thread's counters (all zero when the router is not the global allocator).
pub fn thread_stats() -> ThreadAllocStats {
    ThreadAllocStats {
        system_calls: SYSTEM_CALLS.with(Cell::get),
        system_net_bytes: SYSTEM_NET_BYTES.with(Cell::get),
        system_peak_bytes: SYSTEM_PEAK_BYTES.with(Cell::get),
    }
}

/// Restart the calling thread's peak at its current net bytes.
pub fn reset_thread_peak() {
    let now = SYSTEM_NET_BYTES.with(Cell::get);
    SYSTEM_PEAK_BYTES.with(|p| p.set(now));
}

/// True when [`PoolRouter`] is the process's global allocator (checked once, by allocating a
/// byte and watching the router's counter move).
pub fn router_installed() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        let _scope = PoolScope::system();
        let before = SYSTEM_CALLS.with(Cell::get);
        let probe = std::hint::black_box(Box::new(0u8));
        drop(probe);
        SYSTEM_CALLS.with(Cell::get) != before
    })
}

/// The process-wide global allocator when the `pool-allocator` feature is on (the C library).
#[cfg(feature = "pool-allocator")]
#[global_allocator]
static GLOBAL: PoolRouter = PoolRouter::system();
