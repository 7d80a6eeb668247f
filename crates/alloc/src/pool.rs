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
//!
//! # Invariants
//!
//! Slot `i` of the `Table` is `slots[i]` (state, lock, TLSF pointer, counters) and
//! `ranges[i]` (the address range of its region, which frees scan without a lock). Every
//! `unsafe` block of this crate cites these by name.
//!
//! - **\[T1\] lock.** The cells of a slot (`tlsf`, `region_size`, `live_blocks`) are read and
//!   written only through a `Locked` guard, i.e. while the slot's `lock` is held. Taking the
//!   lock is an Acquire compare-exchange and dropping the guard a Release store, so each holder
//!   sees every write of the previous ones.
//! - **\[T2\] region.** While `tlsf` is non-null it points at an initialized TLSF control block at
//!   the start of a live region of `region_size` bytes that `Table::create` got from `System`
//!   (through `region.rs`, which under loom cuts it from a per-execution arena instead) with
//!   `REGION_ALIGN`; the rest of the region was handed to that TLSF and nothing else uses
//!   it. `tlsf` is set (under the lock) only by `create` and cleared only by
//!   `Locked::release`, in the same critical section that gives the region back to `System`.
//! - **\[T3\] live blocks.** `live_blocks` counts the blocks the slot's TLSF handed out and that
//!   were not given back; each lies inside the region.
//! - **\[T4\] release.** A region is given back to `System` only by `Locked::release`, only
//!   while the state is `RETIRED` and `live_blocks == 0` (checked under the lock), and `release`
//!   sets the state to `FREE` and `tlsf` to null in that critical section. Only the [`Pool`]
//!   handle's drop retires a slot, once: a `Pool` is created only by the thread whose
//!   `FREE → ACTIVE` compare-exchange claimed the slot, and is not `Clone`. So a region is
//!   released exactly once, by whichever of "the owner retires it" and "its last block is
//!   freed" comes second, and never while a block of it is live.
//! - **\[T5\] ranges.** `ranges[i]` (with `lowest_not`, `highest` and `slots_used`, which only
//!   ever widen) is published by `create` (`end` stored before `start`) *before* it sets `tlsf`,
//!   and cleared by `release` (`start` then `end`) before the region is freed. A reader without
//!   the lock may combine the `start` and `end` of two successive regions of the slot (torn
//!   read), so a range is only a *candidate*: the owner of an address is confirmed under the
//!   slot's lock against `tlsf`/`region_size` (\[T2\]). The range of a slot that holds a live
//!   block, on the other hand, was published before that block could be handed out and stays
//!   so until the block is freed (\[T4\]), so the scan never misses the owner of a live block.
//! - **\[T6\] disjoint.** A region is itself a live allocation from `System` (under loom, a
//!   distinct part of the arena), so no other region
//!   and no live block of any other allocator (the router's inner allocator included) overlaps
//!   it: a live block whose address lies inside slot `i`'s current region is a block of slot
//!   `i`'s TLSF.

use std::alloc::Layout;
use std::ptr::NonNull;

use crate::region;
use crate::sync::{
    array_of, const_fn_unless_loom, spin_loop, AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering, UnsafeCell,
};

/// TLSF with 24 first-level classes (blocks up to 512 MiB on 64-bit targets) and 16 second-level.
type Tlsf = rlsf::Tlsf<'static, u32, u16, 24, 16>;

/// How many pools can exist at once (sessions alive, plus pools kept alive by late frees).
#[cfg(not(loom))]
pub const MAX_POOLS: usize = 256;
/// How many pools can exist at once. 4 under loom: each model execution builds its own table on
/// a coroutine stack of 32 KiB, and a small table keeps the model fast.
#[cfg(loom)]
pub const MAX_POOLS: usize = 4;
/// Smallest pool accepted.
pub const MIN_POOL_BYTES: usize = 64 * 1024;
/// Largest pool accepted.
pub const MAX_POOL_BYTES: usize = 256 * 1024 * 1024;
/// Alignment (and size granularity) of a region.
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

impl Range {
    const_fn_unless_loom! {
        fn new() -> Range {
            Range { start: AtomicUsize::new(0), end: AtomicUsize::new(0) }
        }
    }
}

/// One entry of the pool table, alone on its cache lines (no false sharing between the pools of
/// sessions running on different cores).
#[repr(align(128))]
struct Slot {
    /// `FREE`, `ACTIVE` (a [`Pool`] owns it) or `RETIRED` (its `Pool` is gone, blocks are live).
    state: AtomicU8,
    /// The spin lock guarding the cells below (\[T1\]).
    lock: AtomicBool,
    /// The TLSF control block, stored at the start of the region; null when there is none.
    tlsf: UnsafeCell<*mut Tlsf>,
    /// Bytes of the region (control block included); 0 when there is none.
    region_size: UnsafeCell<usize>,
    /// Blocks handed out and not freed yet (\[T3\]).
    live_blocks: UnsafeCell<usize>,
    used_bytes: AtomicUsize,
    peak_bytes: AtomicUsize,
    overflows: AtomicU64,
    /// Regions this slot gave back to the system (tests and the loom model check "exactly once").
    #[cfg(test)]
    releases: AtomicUsize,
}

// SAFETY: the only fields that are not `Sync` by themselves are the cells, and \[T1\] makes every
// access to them happen under the slot's lock, one thread at a time. The raw `tlsf` pointer they
// hold is only dereferenced under that lock too (\[T1\], \[T2\]).
unsafe impl Sync for Slot {}

impl Slot {
    const_fn_unless_loom! {
        fn new() -> Slot {
            Slot {
                state: AtomicU8::new(FREE),
                lock: AtomicBool::new(false),
                tlsf: UnsafeCell::new(std::ptr::null_mut()),
                region_size: UnsafeCell::new(0),
                live_blocks: UnsafeCell::new(0),
                used_bytes: AtomicUsize::new(0),
                peak_bytes: AtomicUsize::new(0),
                overflows: AtomicU64::new(0),
                #[cfg(test)]
                releases: AtomicUsize::new(0),
            }
        }
    }

    /// Take the slot's spin lock; the guard gives access to the cells (\[T1\]).
    #[inline]
    fn lock(&self) -> Locked<'_> {
        while self.lock.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            spin_loop();
        }
        Locked { slot: self }
    }
}

/// Proof that this thread holds `slot.lock`; releases it when dropped.
struct Locked<'s> {
    slot: &'s Slot,
}

impl Drop for Locked<'_> {
    #[inline]
    fn drop(&mut self) {
        self.slot.lock.store(false, Ordering::Release);
    }
}

impl Locked<'_> {
    #[inline]
    fn read<T: Copy>(&self, cell: impl FnOnce(&Slot) -> &UnsafeCell<T>) -> T {
        // SAFETY: [T1] the guard proves this thread holds the slot's lock, so no other thread
        // accesses the cell during this read.
        cell(self.slot).with(|p| unsafe { *p })
    }

    #[inline]
    fn write<T: Copy>(&mut self, cell: impl FnOnce(&Slot) -> &UnsafeCell<T>, value: T) {
        // SAFETY: [T1] as in `read`; no reference to the cell's content outlives `read`.
        cell(self.slot).with_mut(|p| unsafe { *p = value })
    }

    #[inline]
    fn tlsf_ptr(&self) -> *mut Tlsf {
        self.read(|s| &s.tlsf)
    }

    #[inline]
    fn region_size(&self) -> usize {
        self.read(|s| &s.region_size)
    }

    #[inline]
    fn live_blocks(&self) -> usize {
        self.read(|s| &s.live_blocks)
    }

    #[inline]
    fn set_live_blocks(&mut self, n: usize) {
        self.write(|s| &s.live_blocks, n)
    }

    /// The slot's TLSF, `None` when the slot holds no region. Borrows the guard, so the reference
    /// cannot outlive the lock.
    #[inline]
    fn tlsf(&mut self) -> Option<&mut Tlsf> {
        let tlsf = NonNull::new(self.tlsf_ptr())?;
        // SAFETY: [T2] a non-null `tlsf` points at an initialized control block in a live region;
        // [T1] the lock, held for as long as this borrow of the guard, makes this thread its only
        // user, so the `&mut` is unique.
        Some(unsafe { &mut *tlsf.as_ptr() })
    }

    /// Whether `addr` lies in the slot's current region (\[T2\]).
    #[inline]
    fn region_contains(&self, addr: usize) -> bool {
        let start = self.tlsf_ptr().addr();
        start != 0 && addr >= start && addr - start < self.region_size()
    }

    /// Give the region back to the system and free the slot.
    ///
    /// # Safety
    /// The slot's state is `RETIRED` and `live_blocks() == 0`, both read under this guard
    /// (\[T4\]).
    unsafe fn release(&mut self, range: &Range) {
        range.start.store(0, Ordering::SeqCst);
        range.end.store(0, Ordering::SeqCst);
        let (tlsf, size) = (self.tlsf_ptr(), self.region_size());
        self.write(|s| &s.tlsf, std::ptr::null_mut());
        self.write(|s| &s.region_size, 0);
        let slot = self.slot;
        slot.used_bytes.store(0, Ordering::Relaxed);
        slot.peak_bytes.store(0, Ordering::Relaxed);
        slot.overflows.store(0, Ordering::Relaxed);
        #[cfg(test)]
        slot.releases.fetch_add(1, Ordering::Relaxed);
        // SAFETY: [T2] the slot is RETIRED, so `create` set `tlsf` and nothing cleared it yet
        // ([T4]: this is the only place that does, and it frees the slot in the same critical
        // section); `size` is the size `create` validated with this alignment.
        let layout = unsafe { Layout::from_size_align_unchecked(size, REGION_ALIGN) };
        // SAFETY: [T2] `tlsf` is the start of the region `create` got from `System` with `layout`;
        // [T4] the owner let go of it and no block of it is live, and `tlsf` is now null, so
        // nothing can reach the region any more.
        unsafe { region::release(tlsf.cast(), layout) };
        slot.state.store(FREE, Ordering::Release);
    }
}

/// The pool table: every pool of the process lives in one of its slots.
pub(crate) struct Table {
    slots: [Slot; MAX_POOLS],
    ranges: [Range; MAX_POOLS],
    /// Bitwise NOT of the lowest start over every region ever published (stored negated so that
    /// the table's initial value is all zeros and the `static` costs no space in the binary).
    /// With `highest`: a cheap first test for "could this address belong to a pool" (most frees
    /// are system blocks).
    lowest_not: AtomicUsize,
    /// Highest end over every region ever published.
    highest: AtomicUsize,
    /// One past the highest slot index ever claimed: lookups scan only this prefix.
    slots_used: AtomicUsize,
}

impl Table {
    const_fn_unless_loom! {
        fn new() -> Table {
            Table {
                slots: array_of![Slot::new(); MAX_POOLS],
                ranges: array_of![Range::new(); MAX_POOLS],
                lowest_not: AtomicUsize::new(0),
                highest: AtomicUsize::new(0),
                slots_used: AtomicUsize::new(0),
            }
        }
    }

    /// Reserve `bytes` from the system allocator and make them a pool; returns its slot index.
    pub(crate) fn create(&self, bytes: usize) -> Result<usize, PoolError> {
        if !(MIN_POOL_BYTES..=MAX_POOL_BYTES).contains(&bytes) {
            return Err(PoolError::BadSize);
        }
        let size = bytes.next_multiple_of(REGION_ALIGN);
        let layout = Layout::from_size_align(size, REGION_ALIGN).map_err(|_| PoolError::BadSize)?;
        let index = self
            .slots
            .iter()
            .position(|s| s.state.compare_exchange(FREE, ACTIVE, Ordering::AcqRel, Ordering::Relaxed).is_ok())
            .ok_or(PoolError::NoFreeSlot)?;
        self.slots_used.fetch_max(index + 1, Ordering::SeqCst);
        let slot = &self.slots[index];
        // SAFETY: `layout` has a non-zero size (at least MIN_POOL_BYTES).
        let Some(region) = NonNull::new(unsafe { region::allocate(layout) }) else {
            slot.state.store(FREE, Ordering::Release);
            return Err(PoolError::OutOfMemory);
        };
        let control = std::mem::size_of::<Tlsf>().next_multiple_of(64);
        let tlsf = region.cast::<Tlsf>();
        // SAFETY: the region is fresh, ours alone, aligned to REGION_ALIGN (more than `Tlsf`
        // needs) and larger than `control` (MIN_POOL_BYTES).
        unsafe { tlsf.write(Tlsf::new()) };
        // SAFETY: `control < size`, so the offset stays inside the region.
        let rest = unsafe { region.add(control) };
        // SAFETY: `tlsf` was just initialized and nobody else can see it yet: the `&mut` is unique.
        let control_block = unsafe { &mut *tlsf.as_ptr() };
        // SAFETY: the free block is the rest of the region, which nothing else uses and which
        // outlives the TLSF: both end in `Locked::release` ([T2]).
        unsafe { control_block.insert_free_block_ptr(NonNull::slice_from_raw_parts(rest, size - control)) };
        slot.used_bytes.store(0, Ordering::Relaxed);
        slot.peak_bytes.store(0, Ordering::Relaxed);
        slot.overflows.store(0, Ordering::Relaxed);
        // Publish the range before the TLSF ([T5]): a block can only be handed out once `tlsf`
        // is set, so every free of it finds the range.
        let (start, end) = (region.as_ptr().addr(), region.as_ptr().addr() + size);
        self.lowest_not.fetch_max(!start, Ordering::SeqCst);
        self.highest.fetch_max(end, Ordering::SeqCst);
        self.ranges[index].end.store(end, Ordering::SeqCst);
        self.ranges[index].start.store(start, Ordering::SeqCst);
        let mut locked = slot.lock();
        locked.write(|s| &s.tlsf, tlsf.as_ptr());
        locked.write(|s| &s.region_size, size);
        locked.set_live_blocks(0);
        Ok(index)
    }

    /// The owner of slot `index` lets go of it: the region is released now if no block of it is
    /// live, otherwise by the free of its last block.
    fn retire(&self, index: usize) {
        let slot = &self.slots[index];
        let mut locked = slot.lock();
        slot.state.store(RETIRED, Ordering::Release);
        if locked.live_blocks() == 0 {
            // SAFETY: [T4] the state is RETIRED and no block is live, both under this lock.
            unsafe { locked.release(&self.ranges[index]) };
        }
    }

    /// Allocate from pool `index`. `None` when it has no room (the caller falls back to the
    /// system allocator and the overflow is counted) or holds no region.
    #[inline]
    pub(crate) fn allocate(&self, index: usize, layout: Layout) -> Option<NonNull<u8>> {
        let slot = &self.slots[index];
        let block = {
            let mut locked = slot.lock();
            let block = locked.tlsf().and_then(|tlsf| tlsf.allocate(layout));
            if block.is_some() {
                let live = locked.live_blocks() + 1;
                locked.set_live_blocks(live);
            }
            block
        };
        match block {
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

    /// Grow or shrink a block of pool `index` in place or by moving it inside the pool. `None`
    /// when the pool has no room (the block is left as it was; the overflow is counted).
    ///
    /// # Safety
    /// `ptr` is a live block of pool `index`, allocated (or last reallocated) with `layout`.
    pub(crate) unsafe fn reallocate(
        &self,
        index: usize,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Option<NonNull<u8>> {
        let slot = &self.slots[index];
        let new_layout = Layout::from_size_align(new_size, layout.align()).ok()?;
        let moved = {
            let mut locked = slot.lock();
            // A live block keeps the region, so `tlsf()` is Some ([T3], [T4]).
            let tlsf = locked.tlsf()?;
            // SAFETY: the caller guarantees `ptr` is a live block of this TLSF with
            // `layout.align() == new_layout.align()`.
            unsafe { tlsf.reallocate(ptr, new_layout) }
        };
        match moved {
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

    /// Give `ptr` back to the pool that owns it, if one does (`false`: it is not a pool block).
    /// Releases the region if the pool is retired and this was its last block.
    ///
    /// # Safety
    /// `ptr` is a live block, of a pool or of another allocator, allocated (or last reallocated)
    /// with `layout`.
    #[inline]
    pub(crate) unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.with_owner(ptr.addr().get(), |index, locked| {
            let slot = locked.slot;
            // Always Some: `with_owner` saw a non-null `tlsf` under this same lock.
            let Some(tlsf) = locked.tlsf() else { return };
            // SAFETY: [T6] `ptr` is live (caller) and lies in this slot's region (`with_owner`
            // checked it under this lock), so this TLSF handed it out, with `layout.align()`
            // (caller).
            unsafe { tlsf.deallocate(ptr, layout.align()) };
            slot.used_bytes.fetch_sub(layout.size(), Ordering::Relaxed);
            let live = locked.live_blocks() - 1;
            locked.set_live_blocks(live);
            if live == 0 && slot.state.load(Ordering::Acquire) == RETIRED {
                // SAFETY: [T4] the state is RETIRED and no block is live, both under this lock.
                unsafe { locked.release(&self.ranges[index]) };
            }
        })
        .is_some()
    }

    /// The pool whose region contains `addr`, if any.
    pub(crate) fn owner_of(&self, addr: usize) -> Option<usize> {
        self.with_owner(addr, |index, _| index)
    }

    /// Find the slot whose region contains `addr` and run `f` under its lock. The lock-free scan
    /// of the ranges only gives candidates; each is confirmed under its lock (\[T5\]).
    #[inline]
    fn with_owner<R>(&self, addr: usize, f: impl FnOnce(usize, &mut Locked<'_>) -> R) -> Option<R> {
        if addr < !self.lowest_not.load(Ordering::Relaxed) || addr >= self.highest.load(Ordering::Relaxed) {
            return None;
        }
        let mut from = 0;
        loop {
            let used = self.slots_used.load(Ordering::Acquire);
            let candidates = self.ranges.get(from..used)?;
            let index = from
                + candidates.iter().position(|range| {
                    let start = range.start.load(Ordering::Acquire);
                    start != 0 && addr >= start && addr < range.end.load(Ordering::Acquire)
                })?;
            let mut locked = self.slots[index].lock();
            if locked.region_contains(addr) {
                return Some(f(index, &mut locked));
            }
            // A torn range, or one published before its TLSF ([T5]). The owner of a live block
            // has a stable range, so it was not skipped: if any, it comes later.
            from = index + 1;
        }
    }

    fn stats(&self, index: usize) -> PoolStats {
        let slot = &self.slots[index];
        PoolStats {
            capacity: slot.lock().region_size(),
            used: slot.used_bytes.load(Ordering::Relaxed),
            peak: slot.peak_bytes.load(Ordering::Relaxed),
            overflows: slot.overflows.load(Ordering::Relaxed),
        }
    }

    fn live_blocks(&self, index: usize) -> usize {
        self.slots[index].lock().live_blocks()
    }

    fn in_use(&self) -> usize {
        self.ranges.iter().filter(|r| r.start.load(Ordering::Acquire) != 0).count()
    }
}

/// Inspection for the tests and the loom model.
#[cfg(test)]
impl Table {
    /// The region of slot `index` as `(start, end)`, read under its lock.
    #[cfg(not(loom))]
    fn region(&self, index: usize) -> Option<(usize, usize)> {
        let locked = self.slots[index].lock();
        let start = locked.tlsf_ptr().addr();
        (start != 0).then(|| (start, start + locked.region_size()))
    }

    /// Regions slot `index` gave back to the system so far.
    fn releases(&self, index: usize) -> usize {
        self.slots[index].releases.load(Ordering::Relaxed)
    }

    fn state(&self, index: usize) -> u8 {
        self.slots[index].state.load(Ordering::Acquire)
    }
}

#[cfg(not(loom))]
static TABLE: Table = Table::new();

#[cfg(loom)]
loom::lazy_static! {
    /// Under loom, one table per model execution.
    static ref TABLE: Table = Table::new();
}

/// The process's pool table.
#[inline]
pub(crate) fn table() -> &'static Table {
    &TABLE
}

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
        table().create(bytes).map(|index| Pool { index })
    }

    /// The slot index, for the router's thread-local "current pool".
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// Current counters.
    pub fn stats(&self) -> PoolStats {
        table().stats(self.index)
    }

    /// Blocks currently allocated from this pool.
    pub fn live_blocks(&self) -> usize {
        table().live_blocks(self.index)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        table().retire(self.index);
    }
}

/// Number of slots holding a region (active or retired), for tests and diagnostics.
pub fn pools_in_use() -> usize {
    table().in_use()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::serial;

    fn layout(size: usize) -> Layout {
        Layout::from_size_align(size, 8).unwrap()
    }

    fn alloc(pool: &Pool, size: usize) -> Option<NonNull<u8>> {
        table().allocate(pool.index(), layout(size))
    }

    /// Give a block back to its pool.
    ///
    /// # Safety
    /// `ptr` is a live pool block allocated (or last reallocated) with `layout(size)`.
    unsafe fn free(ptr: NonNull<u8>, size: usize) {
        // SAFETY: the caller's contract.
        let freed = unsafe { table().deallocate(ptr, layout(size)) };
        assert!(freed, "a pool block goes back to its pool");
    }

    /// Grow or shrink a block of `pool`.
    ///
    /// # Safety
    /// `ptr` is a live block of `pool` allocated (or last reallocated) with `layout(size)`.
    unsafe fn realloc(pool: &Pool, ptr: NonNull<u8>, size: usize, new_size: usize) -> Option<NonNull<u8>> {
        // SAFETY: the caller's contract.
        unsafe { table().reallocate(pool.index(), ptr, layout(size), new_size) }
    }

    /// # Safety
    /// `ptr` is live and holds at least `len` initialized bytes.
    unsafe fn all_equal(ptr: NonNull<u8>, len: usize, value: u8) -> bool {
        // SAFETY: the caller's contract.
        unsafe { std::slice::from_raw_parts(ptr.as_ptr(), len) }.iter().all(|&b| b == value)
    }

    fn addr(ptr: NonNull<u8>) -> usize {
        ptr.addr().get()
    }

    /// A block pointer moved to another thread.
    struct Block(NonNull<u8>);
    // SAFETY: a block is plain memory owned by whoever holds the pointer; the test hands it over
    // and the sending thread does not touch it again.
    unsafe impl Send for Block {}

    #[test]
    fn create_allocate_free_and_stats() {
        let _serial = serial();
        let pool = Pool::create(MIN_POOL_BYTES).unwrap();
        assert_eq!(pool.stats(), PoolStats { capacity: MIN_POOL_BYTES, used: 0, peak: 0, overflows: 0 });
        let (start, end) = table().region(pool.index()).unwrap();
        assert_eq!(end - start, MIN_POOL_BYTES);
        assert_eq!(start % REGION_ALIGN, 0);

        let a = alloc(&pool, 100).unwrap();
        let b = alloc(&pool, 300).unwrap();
        // SAFETY: `a` is live, ours, and 100 bytes large.
        unsafe { a.as_ptr().write_bytes(0xA5, 100) };
        // SAFETY: `b` is live, ours, and 300 bytes large.
        unsafe { b.as_ptr().write_bytes(0x5A, 300) };
        for (block, size) in [(a, 100), (b, 300)] {
            assert!(addr(block) >= start && addr(block) + size <= end, "block inside the region");
        }
        assert!(addr(a) + 100 <= addr(b) || addr(b) + 300 <= addr(a), "blocks do not overlap");
        assert_eq!(pool.live_blocks(), 2);
        assert_eq!(pool.stats(), PoolStats { capacity: MIN_POOL_BYTES, used: 400, peak: 400, overflows: 0 });

        // SAFETY: `a` is live, allocated with layout(100).
        unsafe { free(a, 100) };
        assert_eq!(pool.live_blocks(), 1);
        assert_eq!(pool.stats(), PoolStats { capacity: MIN_POOL_BYTES, used: 300, peak: 400, overflows: 0 });
        // SAFETY: `b` is live and untouched by the free of `a`.
        assert!(unsafe { all_equal(b, 300, 0x5A) });
        // SAFETY: `b` is live, allocated with layout(300).
        unsafe { free(b, 300) };
        assert_eq!(pool.live_blocks(), 0);
        assert_eq!(pool.stats(), PoolStats { capacity: MIN_POOL_BYTES, used: 0, peak: 400, overflows: 0 });

        let aligned = Layout::from_size_align(64, 1024).unwrap();
        let c = table().allocate(pool.index(), aligned).unwrap();
        assert_eq!(addr(c) % 1024, 0, "alignment honored");
        // SAFETY: `c` is live, allocated with `aligned`.
        assert!(unsafe { table().deallocate(c, aligned) });
        assert_eq!(pool.live_blocks(), 0);
    }

    #[test]
    fn realloc_in_place_and_by_move() {
        let _serial = serial();
        let pool = Pool::create(MIN_POOL_BYTES).unwrap();
        let a = alloc(&pool, 64).unwrap();
        let b = alloc(&pool, 64).unwrap();
        for (i, block) in [a, b].into_iter().enumerate() {
            // SAFETY: live blocks of 64 bytes.
            unsafe { block.as_ptr().write_bytes(i as u8 + 1, 64) };
        }

        // `b` is the last block: the free space after it lets it grow in place.
        // SAFETY: `b` is live, allocated with layout(64).
        let b2 = unsafe { realloc(&pool, b, 64, 1024) }.unwrap();
        assert_eq!(b2, b, "grown in place");
        assert_eq!(pool.stats().used, 64 + 1024);

        // `a` is followed by `b`: it grows by moving inside the pool, contents kept.
        // SAFETY: `a` is live, allocated with layout(64).
        let a2 = unsafe { realloc(&pool, a, 64, 512) }.unwrap();
        assert_ne!(a2, a, "moved");
        assert_eq!(table().owner_of(addr(a2)), Some(pool.index()));
        // SAFETY: `a2` is live and holds at least 64 bytes.
        assert!(unsafe { all_equal(a2, 64, 1) });
        assert_eq!(pool.live_blocks(), 2);
        assert_eq!(pool.stats().used, 512 + 1024);
        assert_eq!(pool.stats().peak, 512 + 1024);

        // Shrinking stays in place.
        // SAFETY: `a2` is live, last reallocated to 512 bytes.
        let a3 = unsafe { realloc(&pool, a2, 512, 32) }.unwrap();
        assert_eq!(a3, a2);
        assert_eq!(pool.stats().used, 32 + 1024);

        // No room: None, the block is left as it was, the overflow is counted.
        // SAFETY: `a3` is live, last reallocated to 32 bytes.
        assert!(unsafe { realloc(&pool, a3, 32, 2 * MIN_POOL_BYTES) }.is_none());
        assert_eq!(pool.stats().overflows, 1);
        assert_eq!(pool.stats().used, 32 + 1024);
        // SAFETY: `a3` is still live with 32 bytes.
        assert!(unsafe { all_equal(a3, 32, 1) });

        // SAFETY: `a3` is live, last reallocated to 32 bytes.
        unsafe { free(a3, 32) };
        // SAFETY: `b2` is live, last reallocated to 1024 bytes.
        unsafe { free(b2, 1024) };
        assert_eq!((pool.live_blocks(), pool.stats().used), (0, 0));
    }

    #[test]
    fn exhaustion_returns_none_and_counts_overflows() {
        let _serial = serial();
        let pool = Pool::create(MIN_POOL_BYTES).unwrap();
        let mut blocks = Vec::new();
        while let Some(block) = alloc(&pool, 4096) {
            blocks.push(block);
            assert!(blocks.len() <= MIN_POOL_BYTES / 4096, "more blocks than the region holds");
        }
        assert!(blocks.len() >= MIN_POOL_BYTES / 4096 - 2, "only {} blocks of 4 KiB fit", blocks.len());
        let stats = pool.stats();
        assert_eq!((stats.overflows, stats.used, stats.peak), (1, 4096 * blocks.len(), 4096 * blocks.len()));
        assert_eq!(pool.live_blocks(), blocks.len());
        assert!(alloc(&pool, 2 * MIN_POOL_BYTES).is_none(), "larger than the pool");
        assert_eq!(pool.stats().overflows, 2);

        // A freed block makes room again.
        // SAFETY: the block is live, allocated with layout(4096).
        unsafe { free(blocks.pop().unwrap(), 4096) };
        blocks.push(alloc(&pool, 4096).expect("room after a free"));
        assert_eq!(pool.stats().overflows, 2);
        for block in blocks {
            // SAFETY: each block is live, allocated with layout(4096).
            unsafe { free(block, 4096) };
        }
        assert_eq!((pool.live_blocks(), pool.stats().used), (0, 0));
    }

    #[test]
    fn retire_with_live_blocks_then_last_free_releases() {
        let _serial = serial();
        let pool = Pool::create(MIN_POOL_BYTES).unwrap();
        let index = pool.index();
        let releases = table().releases(index);
        let (start, _) = table().region(index).unwrap();
        let a = alloc(&pool, 100).unwrap();
        let b = alloc(&pool, 200).unwrap();

        drop(pool);
        assert_eq!(table().state(index), RETIRED);
        assert_eq!(table().releases(index), releases, "live blocks keep the region");
        assert_eq!(table().owner_of(addr(a)), Some(index));
        assert!(table().allocate(index, layout(8)).is_some_and(|c| {
            // SAFETY: `c` was just allocated with layout(8) (a stale scope can still allocate).
            unsafe { free(c, 8) };
            true
        }));

        // SAFETY: `a` is live, allocated with layout(100).
        unsafe { free(a, 100) };
        assert_eq!(table().releases(index), releases);
        assert!(table().region(index).is_some());

        // SAFETY: `b` is live, allocated with layout(200).
        unsafe { free(b, 200) };
        assert_eq!(table().releases(index), releases + 1, "the last free releases the region");
        assert_eq!(table().state(index), FREE);
        assert_eq!(table().region(index), None);
        assert_eq!(table().owner_of(start), None);
        assert_eq!(table().owner_of(addr(b)), None);
        assert!(table().allocate(index, layout(8)).is_none(), "a released slot serves nothing");
    }

    #[test]
    fn retire_without_live_blocks_releases_at_once() {
        let _serial = serial();
        let pool = Pool::create(MIN_POOL_BYTES).unwrap();
        let index = pool.index();
        let releases = table().releases(index);
        // SAFETY: the block was just allocated with layout(64).
        unsafe { free(alloc(&pool, 64).unwrap(), 64) };
        drop(pool);
        assert_eq!(table().releases(index), releases + 1);
        assert_eq!(table().state(index), FREE);
        assert_eq!(table().region(index), None);
    }

    #[test]
    fn released_slot_is_reused_with_fresh_counters() {
        let _serial = serial();
        let first = Pool::create(MIN_POOL_BYTES).unwrap();
        let index = first.index();
        // SAFETY: the block was just allocated with layout(1000).
        unsafe { free(alloc(&first, 1000).unwrap(), 1000) };
        assert!(alloc(&first, 2 * MIN_POOL_BYTES).is_none());
        assert_eq!(first.stats().overflows, 1);
        drop(first);

        // `create` takes the lowest free slot, and every slot below `index` was taken already.
        let second = Pool::create(2 * MIN_POOL_BYTES).unwrap();
        assert_eq!(second.index(), index);
        assert_eq!(second.stats(), PoolStats { capacity: 2 * MIN_POOL_BYTES, used: 0, peak: 0, overflows: 0 });
        assert_eq!(second.live_blocks(), 0);
    }

    #[test]
    fn size_bounds() {
        let _serial = serial();
        for bad in [0, 1, MIN_POOL_BYTES - 1, MAX_POOL_BYTES + 1, usize::MAX] {
            assert_eq!(Pool::create(bad).unwrap_err(), PoolError::BadSize, "{bad} bytes");
        }
        let rounded = Pool::create(MIN_POOL_BYTES + 1).unwrap();
        assert_eq!(rounded.stats().capacity, MIN_POOL_BYTES + REGION_ALIGN, "rounded up to whole pages");
        drop(rounded);
        // Miri would have to track every byte of a 256 MiB region; the bound is the same code.
        #[cfg(not(miri))]
        {
            let largest = Pool::create(MAX_POOL_BYTES).unwrap();
            assert_eq!(largest.stats().capacity, MAX_POOL_BYTES);
            let block = alloc(&largest, MAX_POOL_BYTES / 2).expect("a big block fits");
            // SAFETY: the block was just allocated with layout(MAX_POOL_BYTES / 2).
            unsafe { free(block, MAX_POOL_BYTES / 2) };
        }
    }

    #[test]
    // 256 regions take Miri about two minutes; the path is safe code (the claim scan finds no
    // FREE slot) and the slots' create/release is covered by the other tests.
    #[cfg_attr(miri, ignore)]
    fn full_table_reports_no_free_slot() {
        let _serial = serial();
        let before = pools_in_use();
        let pools: Vec<Pool> = (before..MAX_POOLS).map(|_| Pool::create(MIN_POOL_BYTES).unwrap()).collect();
        assert_eq!(pools_in_use(), MAX_POOLS);
        assert_eq!(Pool::create(MIN_POOL_BYTES).unwrap_err(), PoolError::NoFreeSlot);
        drop(pools);
        assert_eq!(pools_in_use(), before);
        drop(Pool::create(MIN_POOL_BYTES).expect("slots free again"));
    }

    #[test]
    fn owner_of_inside_outside_and_at_the_ends_of_regions() {
        let _serial = serial();
        let first = Pool::create(MIN_POOL_BYTES).unwrap();
        let second = Pool::create(MIN_POOL_BYTES).unwrap();
        for pool in [&first, &second] {
            let (start, end) = table().region(pool.index()).unwrap();
            let mine = Some(pool.index());
            assert_eq!(table().owner_of(start), mine, "first byte");
            assert_eq!(table().owner_of(start + MIN_POOL_BYTES / 2), mine, "middle");
            assert_eq!(table().owner_of(end - 1), mine, "last byte");
            assert_ne!(table().owner_of(end), mine, "one past the end");
            assert_ne!(table().owner_of(start - 1), mine, "one before the start");
        }
        let system = Box::new(0u64);
        assert_eq!(table().owner_of(std::ptr::from_ref(&*system).addr()), None, "a system block");
        assert_eq!(table().owner_of(0), None);
        assert_eq!(table().owner_of(usize::MAX), None);

        let (start, end) = table().region(first.index()).unwrap();
        drop(first);
        for addr in [start, start + MIN_POOL_BYTES / 2, end - 1] {
            assert_eq!(table().owner_of(addr), None, "a released slot owns nothing");
        }
        let (start, _) = table().region(second.index()).unwrap();
        assert_eq!(table().owner_of(start), Some(second.index()));
    }

    #[test]
    fn a_stale_range_is_rejected_under_the_lock() {
        let _serial = serial();
        // Slot `stale` is below `slots_used` and holds no region; give it a range (as a torn read
        // could show) that covers the live pool's region and a system block.
        let stale = Pool::create(MIN_POOL_BYTES).unwrap();
        let pool = Pool::create(MIN_POOL_BYTES).unwrap();
        let stale_index = stale.index();
        drop(stale);
        let system = Box::new(0u64);
        let system_addr = std::ptr::from_ref(&*system).addr();
        let (start, end) = table().region(pool.index()).unwrap();
        let (low, high) = (start.min(system_addr), end.max(system_addr + 8));
        let t = table();
        t.lowest_not.fetch_max(!low, Ordering::SeqCst);
        t.highest.fetch_max(high, Ordering::SeqCst);
        t.ranges[stale_index].end.store(high, Ordering::SeqCst);
        t.ranges[stale_index].start.store(low, Ordering::SeqCst);

        assert_eq!(t.owner_of(system_addr), None);
        assert_eq!(t.owner_of(start), Some(pool.index()));
        let block = alloc(&pool, 64).unwrap();
        // SAFETY: `block` is live, allocated with layout(64); the stale range comes first in the
        // scan but the free must still reach `pool`.
        unsafe { free(block, 64) };
        assert_eq!(pool.live_blocks(), 0);

        t.ranges[stale_index].start.store(0, Ordering::SeqCst);
        t.ranges[stale_index].end.store(0, Ordering::SeqCst);
    }

    #[test]
    fn a_block_freed_on_another_thread_goes_back_to_its_pool() {
        let _serial = serial();
        let pool = Pool::create(MIN_POOL_BYTES).unwrap();
        let block = Block(alloc(&pool, 128).unwrap());
        std::thread::spawn(move || {
            let block = block;
            // SAFETY: the block is live, allocated with layout(128), and now this thread's.
            unsafe { free(block.0, 128) };
        })
        .join()
        .unwrap();
        assert_eq!((pool.live_blocks(), pool.stats().used), (0, 0));
    }

    #[test]
    fn retire_racing_frees_on_another_thread_releases_once() {
        let _serial = serial();
        let rounds = if cfg!(miri) { 4 } else { 200 };
        for _ in 0..rounds {
            let pool = Pool::create(MIN_POOL_BYTES).unwrap();
            let index = pool.index();
            let releases = table().releases(index);
            let blocks: Vec<Block> = (0..3).map(|_| Block(alloc(&pool, 256).unwrap())).collect();
            let remote = std::thread::spawn(move || {
                for block in blocks {
                    // SAFETY: each block is live, allocated with layout(256), and now ours.
                    unsafe { free(block.0, 256) };
                }
            });
            drop(pool);
            remote.join().unwrap();
            assert_eq!(table().releases(index), releases + 1);
            assert_eq!(table().state(index), FREE);
        }
    }
}

/// A pool retired by its owner while another thread frees blocks into it:
/// `RUSTFLAGS="--cfg loom" cargo test -p mlops_edge_alloc --release --lib loom`.
/// The table is a `loom::lazy_static!`, fresh in every execution, so slot 0 is the pool's.
#[cfg(all(test, loom))]
mod loom_tests {
    use std::alloc::GlobalAlloc;

    use super::*;
    use crate::PoolRouter;

    /// A block pointer moved to another thread.
    struct Block(NonNull<u8>);
    // SAFETY: a block is plain memory owned by whoever holds the pointer; the model hands it
    // over and the sending thread does not touch it again.
    unsafe impl Send for Block {}

    fn layout() -> Layout {
        Layout::from_size_align(64, 8).unwrap()
    }

    /// The region of slot `index` was released exactly once and no block is left in it.
    fn assert_released_once(index: usize) {
        let t = table();
        assert_eq!(t.releases(index), 1, "the region is released exactly once");
        assert_eq!(t.state(index), FREE);
        let locked = t.slots[index].lock();
        assert!(locked.tlsf_ptr().is_null());
        assert_eq!((locked.live_blocks(), locked.region_size()), (0, 0), "no block lost");
        drop(locked);
        assert_eq!(t.ranges[index].start.load(Ordering::Acquire), 0);
        assert_eq!(t.ranges[index].end.load(Ordering::Acquire), 0);
    }

    /// The owner drops its pool while another thread frees the pool's only block.
    #[test]
    fn loom_retire_races_a_remote_free() {
        static EXECUTIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        loom::model(|| {
            EXECUTIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let pool = Pool::create(MIN_POOL_BYTES).unwrap();
            let index = pool.index();
            let block = Block(table().allocate(index, layout()).unwrap());
            let remote = loom::thread::spawn(move || {
                let block = block;
                // SAFETY: the block is live, allocated with `layout()`, and now this thread's.
                unsafe { table().deallocate(block.0, layout()) }
            });
            // Without this yield loom explores a single interleaving (tokio-rs/loom#392).
            loom::thread::yield_now();
            drop(pool);
            assert!(remote.join().unwrap(), "the remote free reached the pool");
            assert_released_once(index);
        });
        let executions = EXECUTIONS.load(std::sync::atomic::Ordering::Relaxed);
        assert!(executions > 1, "loom explored {executions} interleaving(s)");
    }

    /// Another thread frees a block of a pool in slot 1 while slot 0, scanned first, is released
    /// and given a new region: whatever it reads of slot 0's range, the free reaches slot 1
    /// (\[T5\]), and slot 0 is released once.
    #[test]
    fn loom_free_scans_past_a_slot_being_recycled() {
        loom::model(|| {
            let first = Pool::create(MIN_POOL_BYTES).unwrap();
            let second = Pool::create(MIN_POOL_BYTES).unwrap();
            assert_eq!((first.index(), second.index()), (0, 1));
            let block = Block(table().allocate(second.index(), layout()).unwrap());
            let remote = loom::thread::spawn(move || {
                let block = block;
                // SAFETY: the block is live, allocated with `layout()`, and now this thread's.
                unsafe { table().deallocate(block.0, layout()) }
            });
            loom::thread::yield_now();
            drop(first);
            let third = Pool::create(2 * MIN_POOL_BYTES).unwrap();
            assert!(remote.join().unwrap(), "the remote free reached a pool");
            assert_eq!(third.index(), 0);
            assert_eq!((second.live_blocks(), third.live_blocks()), (0, 0), "freed into slot 1");
            assert_eq!(table().releases(0), 1);
        });
    }

    /// The owner frees one block through the router and drops the pool while another thread
    /// frees the other block through the router.
    #[test]
    fn loom_owner_and_remote_free_through_the_router_while_retiring() {
        loom::model(|| {
            let router = PoolRouter::system();
            let pool = Pool::create(MIN_POOL_BYTES).unwrap();
            let index = pool.index();
            let mine = table().allocate(index, layout()).unwrap();
            let theirs = Block(table().allocate(index, layout()).unwrap());
            let remote = loom::thread::spawn(move || {
                let theirs = theirs;
                // SAFETY: the block is live, allocated with `layout()`, and now this thread's; a
                // pool block never reaches the system allocator, or this would crash.
                unsafe { PoolRouter::system().dealloc(theirs.0.as_ptr(), layout()) };
            });
            loom::thread::yield_now();
            // SAFETY: `mine` is live, allocated with `layout()`.
            unsafe { router.dealloc(mine.as_ptr(), layout()) };
            drop(pool);
            remote.join().unwrap();
            assert_released_once(index);
        });
    }
}
