//! Test hooks: ways for a test suite to make a request panic, wait, or report a chosen latency,
//! with nothing waiting on the wall clock. The public items exist only with the `test-hooks`
//! cargo feature (the crate's own tests turn it on; the shipped library never has it); without
//! it the request path's checks compile to nothing.
//!
//! Per-model hooks live in the model (`Model::test_hooks`, with the `test-hooks` feature); the
//! thread's own hooks here.

use std::time::Duration;

#[cfg(feature = "test-hooks")]
pub use hooks::{fail_spool_io, panic_in_next_request, set_thread_latency, Hold, ModelHooks, SpoolFault};

#[cfg(feature = "test-hooks")]
mod hooks {
    use std::cell::Cell;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::Duration;

    thread_local! {
        static PANIC_NEXT: Cell<bool> = const { Cell::new(false) };
        static THREAD_LATENCY: Cell<Option<Duration>> = const { Cell::new(None) };
    }

    /// Make the next request on this thread panic inside the request path (after the pool is
    /// entered), to prove the panic boundary and the session's recovery.
    pub fn panic_in_next_request() {
        PANIC_NEXT.with(|p| p.set(true));
    }

    /// A file-system failure injected into a telemetry spool's I/O.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SpoolFault {
        /// `ENOSPC`: the disk is full.
        NoSpace,
        /// `EIO`: the device failed.
        Io,
        /// `EROFS`: the file system is read-only (also stands for a directory without write
        /// permission, which a test running as root cannot make).
        ReadOnly,
    }

    impl SpoolFault {
        pub(crate) fn error(self) -> std::io::Error {
            std::io::Error::from_raw_os_error(match self {
                SpoolFault::NoSpace => libc::ENOSPC,
                SpoolFault::Io => libc::EIO,
                SpoolFault::ReadOnly => libc::EROFS,
            })
        }
    }

    /// Spool files whose path contains the key fail their next writes (appends, compactions,
    /// creation) with the fault, `count` times (`None`: until cleared with `count` 0).
    type SpoolFaults = Vec<(String, SpoolFault, Option<u32>)>;
    static SPOOL_FAULTS: Mutex<SpoolFaults> = Mutex::new(Vec::new());

    /// Make writes to spool files whose path contains `path_part` fail with `fault`: the next
    /// `count` writes, or every one while `count` is `None`; `Some(0)` clears it.
    pub fn fail_spool_io(path_part: &str, fault: SpoolFault, count: Option<u32>) {
        let mut faults = SPOOL_FAULTS.lock().unwrap_or_else(|e| e.into_inner());
        faults.retain(|(p, _, _)| p != path_part);
        if count != Some(0) {
            faults.push((path_part.to_string(), fault, count));
        }
    }

    /// The fault a spool write at `path` meets now, if a test injected one.
    pub(crate) fn spool_fault(path: &std::path::Path) -> Option<std::io::Error> {
        let path = path.to_string_lossy();
        let mut faults = SPOOL_FAULTS.lock().unwrap_or_else(|e| e.into_inner());
        let (_, fault, remaining) = faults.iter_mut().find(|(p, _, _)| path.contains(p.as_str()))?;
        let error = fault.error();
        if let Some(n) = remaining {
            *n -= 1;
            if *n == 0 {
                faults.retain(|(_, _, r)| *r != Some(0));
            }
        }
        Some(error)
    }

    /// Make every request on this thread report `latency` instead of its measured latency
    /// (`None`: measure again). Monitors, telemetry and the rollout see the reported value.
    pub fn set_thread_latency(latency: Option<Duration>) {
        THREAD_LATENCY.with(|l| l.set(latency));
    }

    /// One model's hooks: an injected latency and a gate that holds its requests.
    #[derive(Default)]
    pub struct ModelHooks {
        latency_ns: AtomicU64,
        gate: Mutex<Option<Arc<Gate>>>,
    }

    impl ModelHooks {
        /// Make every request on this model (any session, any thread) report `latency`
        /// (`None`: measure again): an injected slowdown of one model version. A thread's own
        /// latency ([`set_thread_latency`]) wins.
        pub fn set_latency(&self, latency: Option<Duration>) {
            let ns = latency.map_or(0, |d| d.as_nanos().clamp(1, u64::MAX as u128) as u64);
            self.latency_ns.store(ns, Ordering::Relaxed);
        }

        /// While the returned [`Hold`] lives, every request on this model waits inside the
        /// request path (holding its session) before it runs: a test makes a session busy
        /// without timing anything.
        pub fn hold_requests(self: &Arc<Self>) -> Hold {
            self.hold();
            Hold { hooks: Arc::clone(self) }
        }

        /// Start holding this model's requests (see [`hold_requests`](Self::hold_requests)).
        pub fn hold(&self) {
            let mut gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
            if gate.is_none() {
                *gate = Some(Arc::new(Gate::default()));
            }
        }

        /// Let every held request go, and stop holding new ones.
        pub fn release(&self) {
            let gate = self.gate.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(gate) = gate {
                gate.state.lock().unwrap_or_else(|e| e.into_inner()).open = true;
                gate.changed.notify_all();
            }
        }

        /// Blocks until `n` requests are held (returns at once when nothing is held).
        pub fn wait_for_held(&self, n: usize) {
            let gate = self.gate.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let Some(gate) = gate else { return };
            let mut state = gate.state.lock().unwrap_or_else(|e| e.into_inner());
            while state.waiting < n {
                state = gate.changed.wait(state).unwrap_or_else(|e| e.into_inner());
            }
        }

        pub(crate) fn latency(&self) -> Option<Duration> {
            THREAD_LATENCY.with(Cell::get).or_else(|| {
                let ns = self.latency_ns.load(Ordering::Relaxed);
                (ns > 0).then(|| Duration::from_nanos(ns))
            })
        }

        pub(crate) fn wait_at_gate(&self) {
            let gate = self.gate.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let Some(gate) = gate else { return };
            let mut state = gate.state.lock().unwrap_or_else(|e| e.into_inner());
            state.waiting += 1;
            gate.changed.notify_all();
            while !state.open {
                state = gate.changed.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            state.waiting -= 1;
        }
    }

    /// Requests held on a model (see [`ModelHooks::hold_requests`]); dropping it lets them go.
    pub struct Hold {
        hooks: Arc<ModelHooks>,
    }

    impl Hold {
        /// Blocks until `n` requests are waiting.
        pub fn wait_for_waiters(&self, n: usize) {
            self.hooks.wait_for_held(n);
        }
    }

    impl Drop for Hold {
        fn drop(&mut self) {
            self.hooks.release();
        }
    }

    #[derive(Default)]
    struct GateState {
        open: bool,
        waiting: usize,
    }

    #[derive(Default)]
    struct Gate {
        state: Mutex<GateState>,
        changed: Condvar,
    }

    pub(super) fn take_panic() -> bool {
        PANIC_NEXT.with(|p| p.replace(false))
    }
}

/// What the request path asks of a model's hooks (a unit type without the feature).
#[cfg(feature = "test-hooks")]
pub(crate) type Hooks = std::sync::Arc<ModelHooks>;
/// What the request path asks of a model's hooks (a unit type without the feature).
#[cfg(not(feature = "test-hooks"))]
pub(crate) type Hooks = ();

/// Panics when a test asked for it, or waits while a test holds the model's requests (request
/// path; nothing without the feature).
#[inline]
pub(crate) fn checkpoint(_hooks: &Hooks) {
    #[cfg(feature = "test-hooks")]
    {
        _hooks.wait_at_gate();
        if hooks::take_panic() {
            panic!("forced panic for testing (mle_test_panic_next_request)");
        }
    }
}

/// A file-system failure a test injected into the spool at `path` (`None` without the feature).
#[inline]
pub(crate) fn spool_fault(_path: &std::path::Path) -> Option<std::io::Error> {
    #[cfg(feature = "test-hooks")]
    return hooks::spool_fault(_path);
    #[cfg(not(feature = "test-hooks"))]
    None
}

/// The latency a request reports: the measured one, unless a test injected another.
#[inline]
pub(crate) fn reported_latency(_hooks: &Hooks, measured: Duration) -> Duration {
    #[cfg(feature = "test-hooks")]
    if let Some(injected) = _hooks.latency() {
        return injected;
    }
    measured
}
