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
//! The C library (`cdylib`/`staticlib` built with the `pool-allocator` feature, as the test and
//! packaging builds do) installs the router itself. A Rust application using the rlib opts in:
//!
//! ```no_run
//! #[global_allocator]
//! static ALLOCATOR: mlops_edge::alloc::PoolRouter = mlops_edge::alloc::PoolRouter::system();
//! # fn main() {}
//! ```
//!
//! Without the router, everything works the same; sessions just have no pool.
//!
//! The pools and the router live in the `mlops_edge_alloc` crate (`crates/alloc`), re-exported
//! here: it has no dependency on tract, so Miri and loom check it in seconds.

pub use mlops_edge_alloc::*;

/// The process-wide global allocator when the `pool-allocator` feature is on (the C library).
#[cfg(feature = "pool-allocator")]
#[global_allocator]
static GLOBAL: PoolRouter = PoolRouter::system();
