//! The global allocator that routes a thread's allocations to its current pool, and the scope
//! that sets that pool.
//!
//! # Invariants
//!
//! The pool table's invariants (\[T1\]–\[T6\]) are in `pool.rs`; the router adds:
//!
//! - **\[R1\] one owner per block.** Every block the router hands out comes either from a pool
//!   (its address then lies in that pool's region, \[T3\]) or from `inner`, and goes back to the
//!   same one: `dealloc` and `realloc` look the address up in the pool table, which never misses
//!   the owner of a live pool block and confirms every hit under the pool's lock (\[T5\]); a
//!   block found in a pool's region is that pool's (\[T6\]), any other is `inner`'s. `inner`
//!   must be a sound `GlobalAlloc` (it then never hands out memory inside a live `System`
//!   allocation it does not own, such as a region).
//! - **\[R2\] current pool.** `CURRENT_POOL` holds the slot index + 1 of the pool of this
//!   thread's most recently entered live [`PoolScope`], or 0, as long as scopes end in the
//!   reverse order of their creation (as locals do). A scope borrows its [`Pool`], so the slot
//!   then stays `ACTIVE` while its index is current. A scope leaked with `mem::forget`, or scopes
//!   dropped out of order, can leave a stale index behind: that is still sound, because
//!   `Table::allocate` only uses a slot's TLSF under its lock and only while the slot holds a
//!   region (\[T1\], \[T2\]); the allocations merely land in whatever pool holds that slot.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::OnceLock;

use crate::pool::{table, Pool};

thread_local! {
    /// Slot index + 1 of the pool serving this thread's allocations; 0 = none (\[R2\]).
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
#[derive(Debug)]
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

// SAFETY: [R1] every block is returned to the allocator that handed it out: a pool (whose TLSF
// honors the layout's size and alignment and never hands out overlapping blocks) or `inner`.
// Each method below passes on the caller's `GlobalAlloc` contract unchanged.
unsafe impl<A: GlobalAlloc> GlobalAlloc for PoolRouter<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if let Some(index) = current_pool() {
            if let Some(ptr) = table().allocate(index, layout) {
                return ptr.as_ptr();
            }
        }
        Self::note_system(layout.size() as isize);
        // SAFETY: the caller's contract for `alloc` (a non-zero size) is `inner`'s.
        unsafe { self.inner.alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if let Some(index) = current_pool() {
            if let Some(ptr) = table().allocate(index, layout) {
                // SAFETY: the block was just handed out for `layout`: at least `layout.size()`
                // bytes, writable, and used by nothing else.
                unsafe { ptr.as_ptr().write_bytes(0, layout.size()) };
                return ptr.as_ptr();
            }
        }
        Self::note_system(layout.size() as isize);
        // SAFETY: the caller's contract for `alloc_zeroed` (a non-zero size) is `inner`'s.
        unsafe { self.inner.alloc_zeroed(layout) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller passes a live block of this allocator, so `ptr` is not null.
        let block = unsafe { NonNull::new_unchecked(ptr) };
        // SAFETY: `block` is live and was allocated with `layout` (the caller's contract).
        if unsafe { table().deallocate(block, layout) } {
            return;
        }
        Self::note_system(-(layout.size() as isize));
        // SAFETY: [R1] no pool's region contains `ptr`, so `inner` allocated it, with `layout`.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match (table().owner_of(ptr.addr()), current_pool()) {
            (Some(index), Some(current)) if index == current => {
                // SAFETY: the caller passes a live block of this allocator, so `ptr` is not null.
                let block = unsafe { NonNull::new_unchecked(ptr) };
                // SAFETY: [T6] `ptr` is live and lies in pool `index`'s region, so it is a block
                // of that pool, allocated (or last reallocated) with `layout` (caller).
                if let Some(moved) = unsafe { table().reallocate(index, block, layout, new_size) } {
                    return moved.as_ptr();
                }
                // SAFETY: as above, `ptr` is a live pool block allocated with `layout`.
                unsafe { self.move_block(ptr, layout, new_size) }
            }
            // SAFETY: [T6] `ptr` is live and lies in a pool's region: a pool block, with `layout`.
            (Some(_), _) => unsafe { self.move_block(ptr, layout, new_size) },
            (None, _) => {
                Self::note_system(new_size as isize - layout.size() as isize);
                // SAFETY: [R1] no pool's region contains `ptr`, so `inner` allocated it, with
                // `layout`; `new_size` meets `realloc`'s contract (caller).
                unsafe { self.inner.realloc(ptr, layout, new_size) }
            }
        }
    }
}

impl<A: GlobalAlloc> PoolRouter<A> {
    /// Realloc of a pool block by allocate (routed as usual) + copy + free.
    ///
    /// # Safety
    /// `ptr` is a live block of a pool, allocated with `layout`, and `new_size` meets
    /// `GlobalAlloc::realloc`'s contract.
    unsafe fn move_block(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `realloc`'s contract: `new_size` is non-zero and, rounded up to
        // `layout.align()` (a power of two), does not overflow `isize`.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: `new_layout` has a non-zero size.
        let fresh = unsafe { self.alloc(new_layout) };
        if !fresh.is_null() {
            // SAFETY: both blocks are live and hold at least `min(old, new)` bytes; `fresh` was
            // just handed out, so it does not overlap the live block at `ptr`.
            unsafe { std::ptr::copy_nonoverlapping(ptr, fresh, layout.size().min(new_size)) };
            // SAFETY: `ptr` is a live block of this allocator, allocated with `layout`.
            unsafe { self.dealloc(ptr, layout) };
        }
        fresh
    }
}

/// While alive, the calling thread's allocations are served from a pool ([`enter`]) or from the
/// system allocator ([`system`]). Restores the previous current pool when dropped (also during
/// unwinding).
///
/// A scope borrows its pool, so it cannot outlive it:
///
/// ```compile_fail,E0505
/// use mlops_edge_alloc::{Pool, PoolScope, MIN_POOL_BYTES};
/// let pool = Pool::create(MIN_POOL_BYTES).unwrap();
/// let scope = PoolScope::enter(&pool);
/// drop(pool); // error: `pool` is still borrowed by `scope`
/// drop(scope);
/// ```
///
/// It restores *this* thread's current pool, so it cannot move to another thread (`!Send`):
///
/// ```compile_fail,E0277
/// use mlops_edge_alloc::PoolScope;
/// let scope = PoolScope::system();
/// std::thread::spawn(move || drop(scope)); // error: `PoolScope` is not `Send`
/// ```
///
/// [`enter`]: PoolScope::enter
/// [`system`]: PoolScope::system
#[derive(Debug)]
#[must_use = "the scope ends (and the previous pool is back) as soon as it is dropped"]
pub struct PoolScope<'a> {
    /// The current pool (slot index + 1, or 0) when the scope was entered.
    previous: usize,
    /// Borrows the pool for `'a`; the raw pointer makes the scope `!Send` and `!Sync`.
    _pool: PhantomData<(&'a Pool, *const ())>,
}

impl<'a> PoolScope<'a> {
    /// Serve the calling thread's allocations from `pool` until the scope is dropped.
    pub fn enter(pool: &'a Pool) -> PoolScope<'a> {
        let previous = CURRENT_POOL.with(|c| c.replace(pool.index() + 1));
        PoolScope { previous, _pool: PhantomData }
    }
}

impl PoolScope<'static> {
    /// A scope with no pool (allocations go to the system), e.g. for warm-up runs.
    pub fn system() -> PoolScope<'static> {
        PoolScope { previous: CURRENT_POOL.with(|c| c.replace(0)), _pool: PhantomData }
    }
}

impl Drop for PoolScope<'_> {
    fn drop(&mut self) {
        // try_with: a scope dropped by a thread-local destructor may outlive CURRENT_POOL.
        let _ = CURRENT_POOL.try_with(|c| c.set(self.previous));
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

/// The calling thread's counters (all zero unless a [`PoolRouter`] served some of this thread's
/// allocations: the global allocator, or a router called directly).
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

#[cfg(all(test, not(loom)))]
mod tests {
    use std::cell::Cell;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    use super::*;
    use crate::{serial, MIN_POOL_BYTES};

    /// The test process's global allocator is the system's: the router is tested by calling it.
    const ROUTER: PoolRouter = PoolRouter::system();

    fn layout(size: usize) -> Layout {
        Layout::from_size_align(size, 8).unwrap()
    }

    fn owner(ptr: *mut u8) -> Option<usize> {
        table().owner_of(ptr.addr())
    }

    fn alloc(size: usize) -> *mut u8 {
        // SAFETY: layout(size) has a non-zero size in every caller.
        let ptr = unsafe { ROUTER.alloc(layout(size)) };
        assert!(!ptr.is_null());
        ptr
    }

    /// # Safety
    /// `ptr` is a live block of `ROUTER`, allocated (or last reallocated) with `layout(size)`.
    unsafe fn dealloc(ptr: *mut u8, size: usize) {
        // SAFETY: the caller's contract.
        unsafe { ROUTER.dealloc(ptr, layout(size)) }
    }

    /// # Safety
    /// As for [`dealloc`]; `new_size` is non-zero.
    unsafe fn realloc(ptr: *mut u8, size: usize, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract.
        let moved = unsafe { ROUTER.realloc(ptr, layout(size), new_size) };
        assert!(!moved.is_null());
        moved
    }

    /// # Safety
    /// `ptr` is live and holds at least `len` bytes.
    unsafe fn all_equal(ptr: *mut u8, len: usize, value: u8) -> bool {
        // SAFETY: the caller's contract.
        unsafe { std::slice::from_raw_parts(ptr, len) }.iter().all(|&b| b == value)
    }

    #[test]
    fn a_scope_routes_allocations_to_its_pool_and_frees_by_address() {
        let _serial = serial();
        let pool = Pool::create(MIN_POOL_BYTES).unwrap();
        let before = thread_stats();
        let block = {
            let _scope = PoolScope::enter(&pool);
            alloc(100)
        };
        assert_eq!(owner(block), Some(pool.index()));
        assert_eq!((pool.live_blocks(), pool.stats().used), (1, 100));
        // Freed outside the scope: still back to the pool, by address.
        // SAFETY: `block` is live, allocated with layout(100).
        unsafe { dealloc(block, 100) };
        assert_eq!((pool.live_blocks(), pool.stats().used), (0, 0));
        assert_eq!(thread_stats(), before, "no system call");

        // Outside any scope: the system allocator, counted.
        let system = alloc(100);
        assert_eq!(owner(system), None);
        let after = thread_stats();
        assert_eq!(after.system_calls, before.system_calls + 1);
        assert_eq!(after.system_net_bytes, before.system_net_bytes + 100);
        assert!(after.system_peak_bytes >= after.system_net_bytes);
        // SAFETY: `system` is live, allocated with layout(100).
        unsafe { dealloc(system, 100) };
        assert_eq!(thread_stats().system_calls, before.system_calls + 2);
        assert_eq!(thread_stats().system_net_bytes, before.system_net_bytes);
        reset_thread_peak();
        assert_eq!(thread_stats().system_peak_bytes, thread_stats().system_net_bytes);
        assert!(!router_installed(), "the test process uses the system allocator");
    }

    #[test]
    fn scopes_nest_and_restore_the_previous_pool() {
        let _serial = serial();
        let (a, b) = (Pool::create(MIN_POOL_BYTES).unwrap(), Pool::create(MIN_POOL_BYTES).unwrap());
        assert_eq!(current_pool(), None);
        {
            let _a = PoolScope::enter(&a);
            assert_eq!(current_pool(), Some(a.index()));
            {
                let _b = PoolScope::enter(&b);
                assert_eq!(current_pool(), Some(b.index()));
                {
                    let _system = PoolScope::system();
                    assert_eq!(current_pool(), None);
                    let block = alloc(64);
                    assert_eq!(owner(block), None, "a system scope goes to the system");
                    // SAFETY: `block` is live, allocated with layout(64).
                    unsafe { dealloc(block, 64) };
                }
                assert_eq!(current_pool(), Some(b.index()));
            }
            assert_eq!(current_pool(), Some(a.index()));
        }
        assert_eq!(current_pool(), None);
    }

    #[test]
    fn a_scope_restores_the_previous_pool_during_unwinding() {
        let _serial = serial();
        let (outer, inner) = (Pool::create(MIN_POOL_BYTES).unwrap(), Pool::create(MIN_POOL_BYTES).unwrap());
        let _outer = PoolScope::enter(&outer);

        /// Records the current pool when dropped (while the panic unwinds, inside the scope).
        struct Probe<'a>(&'a Cell<Option<Option<usize>>>);
        impl Drop for Probe<'_> {
            fn drop(&mut self) {
                self.0.set(Some(current_pool()));
            }
        }
        let seen = Cell::new(None);
        let result = catch_unwind(AssertUnwindSafe(|| {
            let _inner = PoolScope::enter(&inner);
            let _probe = Probe(&seen);
            panic!("unwinding through a pool scope (expected by this test)");
        }));
        assert!(result.is_err());
        assert_eq!(seen.get(), Some(None), "no pool serves a panicking thread");
        assert_eq!(current_pool(), Some(outer.index()), "the outer scope is current again");
    }

    #[test]
    fn alloc_zeroed_from_a_pool_is_zeroed() {
        let _serial = serial();
        let pool = Pool::create(MIN_POOL_BYTES).unwrap();
        let _scope = PoolScope::enter(&pool);
        let dirty = alloc(256);
        // SAFETY: `dirty` is live with 256 bytes.
        unsafe { dirty.write_bytes(0xFF, 256) };
        // SAFETY: `dirty` is live, allocated with layout(256).
        unsafe { dealloc(dirty, 256) };
        // SAFETY: non-zero size.
        let zeroed = unsafe { ROUTER.alloc_zeroed(layout(256)) };
        assert_eq!(owner(zeroed), Some(pool.index()));
        // SAFETY: `zeroed` is live with 256 bytes.
        assert!(unsafe { all_equal(zeroed, 256, 0) });
        // SAFETY: `zeroed` is live, allocated with layout(256).
        unsafe { dealloc(zeroed, 256) };
    }

    #[test]
    fn realloc_stays_in_the_current_pool_or_moves_out() {
        let _serial = serial();
        let (pool, other) = (Pool::create(MIN_POOL_BYTES).unwrap(), Pool::create(MIN_POOL_BYTES).unwrap());
        let scope = PoolScope::enter(&pool);
        let block = alloc(64);
        // SAFETY: `block` is live with 64 bytes.
        unsafe { block.write_bytes(7, 64) };
        // In the current pool: grows in place (the free space follows it).
        // SAFETY: `block` is live, allocated with layout(64).
        let grown = unsafe { realloc(block, 64, 256) };
        assert_eq!(grown, block);
        assert_eq!(pool.stats().used, 256);
        drop(scope);

        // Another pool is current: the block moves there, contents kept.
        let scope = PoolScope::enter(&other);
        // SAFETY: `grown` is live, last reallocated to 256 bytes.
        let moved = unsafe { realloc(grown, 256, 512) };
        assert_eq!(owner(moved), Some(other.index()));
        // SAFETY: `moved` is live with at least 64 bytes.
        assert!(unsafe { all_equal(moved, 64, 7) });
        assert_eq!((pool.live_blocks(), other.live_blocks()), (0, 1));
        drop(scope);

        // No pool is current: the block moves to the system.
        // SAFETY: `moved` is live, last reallocated to 512 bytes.
        let system = unsafe { realloc(moved, 512, 1024) };
        assert_eq!(owner(system), None);
        // SAFETY: `system` is live with at least 64 bytes.
        assert!(unsafe { all_equal(system, 64, 7) });
        assert_eq!(other.live_blocks(), 0);

        // A system block stays with the system, even inside a scope.
        let _scope = PoolScope::enter(&pool);
        // SAFETY: `system` is live, last reallocated to 1024 bytes.
        let system = unsafe { realloc(system, 1024, 2048) };
        assert_eq!(owner(system), None);
        // SAFETY: `system` is live, last reallocated to 2048 bytes.
        unsafe { dealloc(system, 2048) };
        assert_eq!(pool.live_blocks(), 0);
    }

    #[test]
    fn an_exhausted_pool_falls_back_to_the_system_and_counts() {
        let _serial = serial();
        let pool = Pool::create(MIN_POOL_BYTES).unwrap();
        let _scope = PoolScope::enter(&pool);
        let calls = thread_stats().system_calls;
        let big = alloc(2 * MIN_POOL_BYTES);
        assert_eq!(owner(big), None);
        assert_eq!(pool.stats().overflows, 1);
        assert_eq!(thread_stats().system_calls, calls + 1);
        // SAFETY: `big` is live, allocated with layout(2 * MIN_POOL_BYTES).
        unsafe { dealloc(big, 2 * MIN_POOL_BYTES) };

        // A pool block that cannot grow in its pool moves to the system (two overflows: the
        // in-pool realloc, then the allocation of the new block).
        let block = alloc(64);
        // SAFETY: `block` is live with 64 bytes.
        unsafe { block.write_bytes(3, 64) };
        // SAFETY: `block` is live, allocated with layout(64).
        let moved = unsafe { realloc(block, 64, 2 * MIN_POOL_BYTES) };
        assert_eq!(owner(moved), None);
        // SAFETY: `moved` is live with at least 64 bytes.
        assert!(unsafe { all_equal(moved, 64, 3) });
        assert_eq!((pool.stats().overflows, pool.live_blocks()), (3, 0));
        // SAFETY: `moved` is live, last reallocated to 2 * MIN_POOL_BYTES.
        unsafe { dealloc(moved, 2 * MIN_POOL_BYTES) };
    }

    /// A block pointer moved to another thread.
    struct Block(*mut u8);
    // SAFETY: a block is plain memory owned by whoever holds the pointer; the test hands it over
    // and the sending thread does not touch it again.
    unsafe impl Send for Block {}

    #[test]
    fn a_block_freed_by_another_thread_goes_back_to_its_pool() {
        let _serial = serial();
        let pool = Pool::create(MIN_POOL_BYTES).unwrap();
        let block = {
            let _scope = PoolScope::enter(&pool);
            Block(alloc(128))
        };
        let remote_calls = std::thread::spawn(move || {
            let block = block;
            let calls = thread_stats().system_calls;
            // SAFETY: `block` is live, allocated with layout(128), and now this thread's.
            unsafe { dealloc(block.0, 128) };
            thread_stats().system_calls - calls
        })
        .join()
        .unwrap();
        assert_eq!(remote_calls, 0, "the free went to the pool, not the system");
        assert_eq!((pool.live_blocks(), pool.stats().used), (0, 0));
    }
}
