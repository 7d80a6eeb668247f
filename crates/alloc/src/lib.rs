//! # mlops_edge_alloc
//!
//! Allocation control for libmlops_edge: per-session memory pools and the global allocator that
//! routes to them. Re-exported by the main crate as `mlops_edge::alloc`.
//!
//! tract allocates on every run (each op's output tensor, matmul packing: 18–370 allocations per
//! request on the shipped models) and offers no arena. To make a request cost **zero calls to the
//! system allocator**, a session owns a bounded [`Pool`] and, while it serves a request, marks it
//! as the calling thread's *current pool* (a [`PoolScope`]); [`PoolRouter`], installed as the
//! global allocator, serves that thread's allocations from the pool. Frees are routed by address:
//! a block inside a pool's region goes back to that pool whichever thread frees it; anything else
//! goes to the system allocator.
//!
//! A pool that runs out never aborts: the allocation falls back to the system allocator, the
//! overflow is counted ([`PoolStats::overflows`]), and the session turns the request into
//! `Status::PoolExhausted`.
//!
//! The C library (`cdylib`/`staticlib` built with the `pool-allocator` feature, as the README's
//! build does) installs the router itself. A Rust application using the rlib opts in:
//!
//! ```no_run
//! #[global_allocator]
//! static ALLOCATOR: mlops_edge_alloc::PoolRouter = mlops_edge_alloc::PoolRouter::system();
//! # fn main() {}
//! ```
//!
//! Without the router, everything works the same; sessions just have no pool.
//!
//! This crate does not depend on tract or the models: it builds in seconds, so Miri checks its
//! unit tests (`cargo +nightly miri test -p mlops_edge_alloc`) and loom its concurrency model
//! (`RUSTFLAGS="--cfg loom" cargo test -p mlops_edge_alloc --release --lib loom`). The
//! invariants every `unsafe` block relies on are written at the top of `pool.rs` (the pool table,
//! \[T1\]–\[T6\]) and `router.rs` (the router, \[R1\]–\[R2\]).

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]
// One unsafe operation per block, each with its own `// SAFETY:` comment.
#![warn(clippy::undocumented_unsafe_blocks, clippy::multiple_unsafe_ops_per_block)]

mod pool;
mod region;
mod router;
mod sync;

/// Serializes the unit tests: they share the process's pool table, and some check which slot a
/// pool gets or that a slot was released.
#[cfg(all(test, not(loom)))]
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub use pool::{pools_in_use, Pool, PoolError, PoolStats, MAX_POOLS, MAX_POOL_BYTES, MIN_POOL_BYTES};
pub use router::{reset_thread_peak, router_installed, thread_stats, PoolRouter, PoolScope, ThreadAllocStats};
