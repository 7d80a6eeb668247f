//! Bounded memory pools (TLSF, via `rlsf`) that live in a fixed table of slots.
//!
//! A pool is a region taken from the system allocator once, at creation, and carved by a TLSF
//! allocator: constant-time allocate/free, no system call. Each session owns one pool, so two
//! sessions on two threads never contend; the per-pool spin lock only guards against the rare
//! free from another thread (a value dropped elsewhere, a thread-local destructor).
//!
//! Lifetime rule (what keeps this sound): a pool's region is returned to the system only when
//! its owner has let go of it **and** no block allocated from it is still live. A block that
//! outlives its session (e.g. a buffer tract keeps in a thread-local) keeps the region alive; the
//! last free releases it. Slots are static, so a free that looks up "which pool owns this
//! address" never touches released memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};

/// TLSF with 24 first-level classes (blocks up to 512 MiB on 64-bit targets) and 16 second-level.
type Tlsf = rlsf::Tlsf<'static, u32, u16, 24, 16>;

/// How many pools can exist at once (sessions alive, plus pools kept alive by late frees).
pub const MAX_POOLS: usize = 256;
/// Smallest pool accepted.
pub const MIN_POOL_BYTES: usize = 64 * 1024;
/// Largest pool accepted.
pub const MAX_POOL_BYTES: usize = 256 * 1024 * 1024;
const REGION_ALIGN: usize = 4096;

const FREE: u8 = 0;
const ACTIVE: u8 = 1;
const RETIRED: u8 = 2;

/// The address range of a slot's region. Kept apart from `Slot` in a packed, read-mostly table:
/// every free scans these ranges, and they must not share cache lines with the counters and
/// locks other threads' sessions write on every allocation.
struct Range {
    /// First address of the region, 0 when the slot holds no region.
    start: AtomicUsize,
    /// One past the last address of the region.
    end: AtomicUsize,
}

/// One entry of the static pool table, alone on its cache lines (no false sharing between the
/// pools of sessions running on different cores).
#[repr(align(128))]
struct Slot {
    state: AtomicU8,
    lock: AtomicBool,
    /// The TLSF control block, stored at the start of the region. Only touched under `lock`.
    tlsf: UnsafeCell<*mut Tlsf>,
    region_size: UnsafeCell<usize>,
    live_blocks: UnsafeCell<usize>,
    used_bytes: AtomicUsize,
    peak_bytes: AtomicUsize,
    overflows: AtomicU64,
}

// SAFETY: the UnsafeCell fields are only read or written while `lock` is held (see `Slot::locked`),
// or by the thread that claimed a FREE slot before publishing it through `start`/`state`.
unsafe impl Sync for Slot {}

impl Slot {
    const fn new() -> Slot {
        Slot {
            state: AtomicU8::new(FREE),
            lock: AtomicBool::new(false),
            tlsf: UnsafeCell::new(std::ptr::null_mut()),
            region_size: UnsafeCell::new(0),
            live_blocks: UnsafeCell::new(0),
            used_bytes: AtomicUsize::new(0),
            peak_bytes: AtomicUsize::new(0),
            overflows: AtomicU64::new(0),
        }
    }

    /// Run `f` with the slot's spin lock held.
    fn locked<R>(&self, f: impl FnOnce() -> R) -> R {
        while self.lock.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            std::hint::spin_loop();
        }
        let result = f();
        self.lock.store(false, Ordering::Release);
        result
    }

    /// Give the region back to the system. Caller holds the lock; the pool has no owner and no
    /// live block.
    ///
    /// SAFETY: caller holds `self.lock`, the state is RETIRED (or being abandoned at creation)
    /// and `live_blocks == 0`, so nothing references the region any more.
    unsafe fn release_locked(&self, range: &Range) {
        let start = range.start.load(Ordering::Relaxed);
        range.start.store(0, Ordering::SeqCst);
        range.end.store(0, Ordering::SeqCst);
        let size = *self.region_size.get();
        *self.tlsf.get() = std::ptr::null_mut();
        *self.region_size.get() = 0;
        self.used_bytes.store(0, Ordering::Relaxed);
        self.peak_bytes.store(0, Ordering::Relaxed);
        self.overflows.store(0, Ordering::Relaxed);
        // SAFETY: `start`/`size` are the pointer and size `create` got from System with this
        // alignment; nothing is allocated from the region any more.
        System.dealloc(start as *mut u8, Layout::from_size_align_unchecked(size, REGION_ALIGN));
        self.state.store(FREE, Ordering::Release);
    }
}

static SLOTS: [Slot; MAX_POOLS] = [const { Slot::new() }; MAX_POOLS];
static RANGES: [Range; MAX_POOLS] =
    [const { Range { start: AtomicUsize::new(0), end: AtomicUsize::new(0) } }; MAX_POOLS];
/// Lowest start and highest end over every region ever published: a cheap first test for
/// "could this address belong to a pool" (most frees are system blocks).
static LOWEST: AtomicUsize = AtomicUsize::new(usize::MAX);
static HIGHEST: AtomicUsize = AtomicUsize::new(0);
/// One past the highest slot index ever claimed: lookups scan only this prefix.
static SLOTS_USED: AtomicUsize = AtomicUsize::new(0);

/// Why a pool could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// Every slot of the table is in use.
    NoFreeSlot,
    /// The system allocator refused the region.
    OutOfMemory,
    /// The size is outside [MIN_POOL_BYTES, MAX_POOL_BYTES].
    BadSize,
}

/// Counters of one pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Bytes of the region (control block included).
    pub capacity: usize,
    /// Bytes currently allocated from it (as requested; TLSF rounds blocks up a little).
    pub used: usize,
    /// Highest `used` seen since creation.
    pub peak: usize,
    /// Allocations that did not fit and went to the system allocator instead.
    pub overflows: u64,
}

/// Owner handle of a pool. Dropping it retires the pool (released once its last block is freed).
#[derive(Debug)]
pub struct Pool {
    index: usize,
}

impl Pool {
    /// Reserve `bytes` from the system allocator and make them a pool.
    pub fn create(bytes: usize) -> Result<Pool, PoolError> {
        if !(MIN_POOL_BYTES..=MAX_POOL_BYTES).contains(&bytes) {
            return Err(PoolError::BadSize);
        }
        let size = bytes.next_multiple_of(REGION_ALIGN);
        let index = SLOTS
            .iter()
            .position(|s| s.state.compare_exchange(FREE, ACTIVE, Ordering::AcqRel, Ordering::Relaxed).is_ok())
            .ok_or(PoolError::NoFreeSlot)?;
        SLOTS_USED.fetch_max(index + 1, Ordering::SeqCst);
        let slot = &SLOTS[index];
        // SAFETY: size is non-zero and REGION_ALIGN a power of two.
        let region = unsafe { System.alloc(Layout::from_size_align_unchecked(size, REGION_ALIGN)) };
        if region.is_null() {
            slot.state.store(FREE, Ordering::Release);
            return Err(PoolError::OutOfMemory);
        }
        let control = std::mem::size_of::<Tlsf>().next_multiple_of(64);
        let tlsf = region as *mut Tlsf;
        // SAFETY: the region is fresh, aligned to 4096 (enough for Tlsf) and larger than `control`
        // (MIN_POOL_BYTES); the free block handed to TLSF is the rest of the region, which lives
        // until `release_locked` and is used by nothing else.
        unsafe {
            tlsf.write(Tlsf::new());
            let free = std::ptr::slice_from_raw_parts_mut(region.add(control), size - control);
            (*tlsf).insert_free_block_ptr(NonNull::new_unchecked(free));
        }
        slot.locked(|| {
            // SAFETY: lock held.
            unsafe {
                *slot.tlsf.get() = tlsf;
                *slot.region_size.get() = size;
                *slot.live_blocks.get() = 0;
            }
        });
        slot.used_bytes.store(0, Ordering::Relaxed);
        slot.peak_bytes.store(0, Ordering::Relaxed);
        slot.overflows.store(0, Ordering::Relaxed);
        let (start, end) = (region as usize, region as usize + size);
        LOWEST.fetch_min(start, Ordering::SeqCst);
        HIGHEST.fetch_max(end, Ordering::SeqCst);
        RANGES[index].end.store(end, Ordering::SeqCst);
        RANGES[index].start.store(start, Ordering::SeqCst);
        Ok(Pool { index })
    }

    /// The slot index, for the router's thread-local "current pool".
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// Current counters.
    pub fn stats(&self) -> PoolStats {
        let slot = &SLOTS[self.index];
        PoolStats {
            // SAFETY: read under the lock.
            capacity: slot.locked(|| unsafe { *slot.region_size.get() }),
            used: slot.used_bytes.load(Ordering::Relaxed),
            peak: slot.peak_bytes.load(Ordering::Relaxed),
            overflows: slot.overflows.load(Ordering::Relaxed),
        }
    }

    /// Blocks currently allocated from this pool.
    pub fn live_blocks(&self) -> usize {
        let slot = &SLOTS[self.index];
        // SAFETY: read under the lock.
        slot.locked(|| unsafe { *slot.live_blocks.get() })
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let slot = &SLOTS[self.index];
        slot.locked(|| {
            // SAFETY: lock held; we are the owner, so the state is ACTIVE.
            unsafe {
                if *slot.live_blocks.get() == 0 {
                    slot.state.store(RETIRED, Ordering::Relaxed);
                    slot.release_locked(&RANGES[self.index]);
                } else {
                    slot.state.store(RETIRED, Ordering::Release);
                }
            }
        });
    }
}

/// Allocate from pool `index`. `None` when it has no room (the caller falls back to the system
/// allocator and the overflow is counted).
pub(crate) fn allocate(index: usize, layout: Layout) -> Option<NonNull<u8>> {
    let slot = &SLOTS[index];
    let result = slot.locked(|| {
        // SAFETY: lock held; `tlsf` points at the live control block of an ACTIVE slot (the
        // thread-local current pool is only set by the pool's owner while it holds `Pool`).
        unsafe {
            let tlsf = *slot.tlsf.get();
            if tlsf.is_null() {
                return None;
            }
            let ptr = (*tlsf).allocate(layout)?;
            *slot.live_blocks.get() += 1;
            Some(ptr)
        }
    });
    match result {
        Some(ptr) => {
            let size = layout.size();
            let used = slot.used_bytes.fetch_add(size, Ordering::Relaxed) + size;
            slot.peak_bytes.fetch_max(used, Ordering::Relaxed);
            Some(ptr)
        }
        None => {
            slot.overflows.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// Grow or shrink a block of pool `index` in place or by moving it inside the pool.
///
/// # Safety
/// `ptr` was allocated from pool `index` with `layout` and is live.
pub(crate) unsafe fn reallocate(
    index: usize,
    ptr: NonNull<u8>,
    layout: Layout,
    new_size: usize,
) -> Option<NonNull<u8>> {
    let slot = &SLOTS[index];
    let new_layout = Layout::from_size_align(new_size, layout.align()).ok()?;
    let result = slot.locked(|| {
        // SAFETY: lock held; the block is live so the region and control block are too.
        let tlsf = *slot.tlsf.get();
        (*tlsf).reallocate(ptr, new_layout)
    });
    match result {
        Some(moved) => {
            let (old, new) = (layout.size(), new_size);
            if new >= old {
                let used = slot.used_bytes.fetch_add(new - old, Ordering::Relaxed) + (new - old);
                slot.peak_bytes.fetch_max(used, Ordering::Relaxed);
            } else {
                slot.used_bytes.fetch_sub(old - new, Ordering::Relaxed);
            }
            Some(moved)
        }
        None => {
            slot.overflows.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// Free a block of pool `index`; releases the region if the pool is retired and this was its
/// last block.
///
/// # Safety
/// `ptr` was allocated from pool `index` with `layout.align()` and is live.
pub(crate) unsafe fn deallocate(index: usize, ptr: NonNull<u8>, layout: Layout) {
    let slot = &SLOTS[index];
    slot.locked(|| {
        // SAFETY: lock held; the block is live so the region and control block are too.
        let tlsf = *slot.tlsf.get();
        (*tlsf).deallocate(ptr, layout.align());
        slot.used_bytes.fetch_sub(layout.size(), Ordering::Relaxed);
        let live = slot.live_blocks.get();
        *live -= 1;
        if *live == 0 && slot.state.load(Ordering::Acquire) == RETIRED {
            slot.release_locked(&RANGES[index]);
        }
    });
}

/// The pool whose region contains `addr`, if any.
#[inline]
pub(crate) fn owner_of(addr: usize) -> Option<usize> {
    if addr < LOWEST.load(Ordering::Relaxed) || addr >= HIGHEST.load(Ordering::Relaxed) {
        return None;
    }
    let used = SLOTS_USED.load(Ordering::Acquire);
    RANGES[..used].iter().position(|range| {
        let start = range.start.load(Ordering::Acquire);
        start != 0 && addr >= start && addr < range.end.load(Ordering::Acquire)
    })
}

/// Number of slots holding a region (active or retired), for tests and diagnostics.
pub fn pools_in_use() -> usize {
    RANGES.iter().filter(|r| r.start.load(Ordering::Acquire) != 0).count()
}
