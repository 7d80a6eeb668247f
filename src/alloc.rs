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

/// Gives the memory the C allocator holds free back to the operating system, where the platform's
/// allocator keeps it otherwise; returns whether any was given back.
///
/// glibc keeps what a thread's arena frees for later requests of that thread, and its arenas
/// fragment when long-lived blocks (a model's graph and sessions) are made among short-lived ones
/// (tract's load-time work): after a deployment change the resident set stays at its high mark
/// (BENCHMARKS.md, the soak). `malloc_trim(0)` hands every whole free page of every arena back
/// (`madvise(MADV_DONTNEED)`). The runtime calls this after a model it served has been freed
/// ([`RuntimeOptions::release_memory`](crate::RuntimeOptions::release_memory)). Elsewhere
/// (musl, Android's bionic, Apple's libmalloc, which return memory on their own) it does nothing
/// and returns `false`.
pub fn release_free_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]
    {
        // SAFETY: malloc_trim takes no pointer; it walks glibc's own arenas under their locks
        // and only gives back pages no allocation uses. Pad 0: keep nothing extra at the top.
        unsafe { libc::malloc_trim(0) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu", not(miri))))]
    {
        false
    }
}

/// The process-wide global allocator when the `pool-allocator` feature is on (the C library).
#[cfg(feature = "pool-allocator")]
#[global_allocator]
static GLOBAL: PoolRouter = PoolRouter::system();
