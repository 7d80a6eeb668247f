//! Entry points for test suites only, built with the `test-hooks` cargo feature (never in the
//! shipped library; the public header does not declare them: tests/c/test_hooks.h does).

use super::boundary::guard;
use super::model::{mle_model, model_ref};
use super::status::mle_status;

/// Make the next classify call on the calling thread panic inside the library, to check that
/// panics come back as `MLE_ERR_PANIC` and that the session recovers.
///
/// Thread safety: affects only the calling thread.
#[no_mangle]
pub extern "C" fn mle_test_panic_next_request() {
    crate::testing::panic_in_next_request();
}

/// Make the library's clock (the telemetry backoff) read `ms` milliseconds later than
/// it did: a test steps through a backoff without waiting.
///
/// Thread safety: safe from any thread; affects the whole process.
#[no_mangle]
pub extern "C" fn mle_test_advance_clock(ms: u64) {
    crate::clock::testing::advance(std::time::Duration::from_millis(ms));
}

/// Make every request on `model` (any session, any thread) report a latency of `latency_us`
/// microseconds instead of its measured one (0: measure again): injected slowdowns for monitor
/// and rollout tests, without waiting.
///
/// # Safety
/// `model` is NULL or a live handle.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_test_set_model_latency(model: *const mle_model, latency_us: u64) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let m = unsafe { model_ref(model, "model")? };
        let latency = (latency_us > 0).then(|| std::time::Duration::from_micros(latency_us));
        m.model.test_hooks().set_latency(latency);
        Ok(())
    })
}

/// Hold every request on `model`: from now on a request waits inside the request path (holding
/// its session) until `mle_test_release_requests`. A test makes a session or a runtime's pool
/// busy this way without timing anything.
///
/// # Safety
/// `model` is NULL or a live handle.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_test_hold_requests(model: *const mle_model) -> mle_status {
    // SAFETY: per this function's contract.
    guard(|| unsafe { model_ref(model, "model") }.map(|m| m.model.test_hooks().hold()))
}

/// Block until `count` requests on `model` are held (returns at once when none are held).
///
/// # Safety
/// `model` is NULL or a live handle.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_test_wait_for_held_requests(model: *const mle_model, count: usize) -> mle_status {
    // SAFETY: per this function's contract.
    guard(|| unsafe { model_ref(model, "model") }.map(|m| m.model.test_hooks().wait_for_held(count)))
}

/// Let the requests held on `model` go, and stop holding new ones.
///
/// # Safety
/// `model` is NULL or a live handle.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_test_release_requests(model: *const mle_model) -> mle_status {
    // SAFETY: per this function's contract.
    guard(|| unsafe { model_ref(model, "model") }.map(|m| m.model.test_hooks().release()))
}
