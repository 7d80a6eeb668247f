//! Test hooks: ways for a test suite to make a request panic or report a chosen latency, with
//! nothing waiting on the wall clock. The public functions exist only with the `test-hooks`
//! cargo feature (the crate's own tests turn it on; the shipped library never has it); without
//! it the request path's checks compile to nothing.

use std::time::Duration;

use crate::model::ModelInner;

#[cfg(feature = "test-hooks")]
mod hooks {
    use std::cell::Cell;
    use std::sync::atomic::Ordering;
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

    /// Make every request on this thread report `latency` instead of its measured latency
    /// (`None`: measure again). Monitors, telemetry and the rollout see the reported value.
    pub fn set_thread_latency(latency: Option<Duration>) {
        THREAD_LATENCY.with(|l| l.set(latency));
    }

    /// Make every request on `model` (any session, any thread) report `latency` (`None`: measure
    /// again): an injected slowdown of one model version. A thread's own latency wins.
    pub fn set_model_latency(model: &crate::Model, latency: Option<Duration>) {
        let ns = latency.map_or(0, |d| d.as_nanos().clamp(1, u64::MAX as u128) as u64);
        model.inner.test_latency_ns.store(ns, Ordering::Relaxed);
    }

    /// While the returned [`Hold`] lives, every request on `model` waits inside the request path
    /// (holding its session) before it runs: a test makes a session busy without timing.
    pub fn hold_requests(model: &crate::Model) -> Hold {
        let gate = std::sync::Arc::new(Gate::default());
        *model.inner.test_gate.lock().unwrap_or_else(|e| e.into_inner()) = Some(std::sync::Arc::clone(&gate));
        Hold { model: model.clone(), gate }
    }

    /// Requests held on a model (see [`hold_requests`]); dropping it lets them go.
    pub struct Hold {
        model: crate::Model,
        gate: std::sync::Arc<Gate>,
    }

    impl Hold {
        /// Blocks until `n` requests are waiting.
        pub fn wait_for_waiters(&self, n: usize) {
            let mut state = self.gate.state.lock().unwrap_or_else(|e| e.into_inner());
            while state.1 < n {
                state = self.gate.changed.wait(state).unwrap_or_else(|e| e.into_inner());
            }
        }
    }

    impl Drop for Hold {
        fn drop(&mut self) {
            *self.model.inner.test_gate.lock().unwrap_or_else(|e| e.into_inner()) = None;
            self.gate.state.lock().unwrap_or_else(|e| e.into_inner()).0 = true;
            self.gate.changed.notify_all();
        }
    }

    /// (open, waiting) and its condition variable.
    #[derive(Default)]
    pub(crate) struct Gate {
        state: std::sync::Mutex<(bool, usize)>,
        changed: std::sync::Condvar,
    }

    pub(super) fn wait_at_gate(model: &crate::model::ModelInner) {
        let gate = model.test_gate.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(gate) = gate else { return };
        let mut state = gate.state.lock().unwrap_or_else(|e| e.into_inner());
        state.1 += 1;
        gate.changed.notify_all();
        while !state.0 {
            state = gate.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.1 -= 1;
    }

    pub(super) fn take_panic() -> bool {
        PANIC_NEXT.with(|p| p.replace(false))
    }

    pub(super) fn latency(model: &crate::model::ModelInner) -> Option<Duration> {
        THREAD_LATENCY.with(Cell::get).or_else(|| {
            let ns = model.test_latency_ns.load(Ordering::Relaxed);
            (ns > 0).then(|| Duration::from_nanos(ns))
        })
    }
}

#[cfg(feature = "test-hooks")]
pub(crate) use hooks::Gate;
#[cfg(feature = "test-hooks")]
pub use hooks::{hold_requests, panic_in_next_request, set_model_latency, set_thread_latency, Hold};

/// Panics when a test asked for it, or waits while a test holds the model's requests (request
/// path; nothing without the feature).
#[inline]
pub(crate) fn checkpoint(_model: &ModelInner) {
    #[cfg(feature = "test-hooks")]
    {
        hooks::wait_at_gate(_model);
        if hooks::take_panic() {
            panic!("forced panic for testing (mle_test_panic_next_request)");
        }
    }
}

/// The latency a request on `model` reports: the measured one, unless a test injected another.
#[inline]
pub(crate) fn reported_latency(_model: &ModelInner, measured: Duration) -> Duration {
    #[cfg(feature = "test-hooks")]
    if let Some(injected) = hooks::latency(_model) {
        return injected;
    }
    measured
}
