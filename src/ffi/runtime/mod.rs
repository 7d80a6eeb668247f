//! `mle_runtime`: the deployment runtime (A/B variants, rollout, shadow, health, shutdown).
//! Types in `types`, the control calls in `control`, what it reports in `reports`.

mod control;
mod reports;
mod types;

pub use control::*;
pub use reports::*;
pub use types::*;

use std::ffi::c_char;
use std::time::Duration;

use super::abi::{check_out, init, read_in, write_out};
use super::args::{c_string, copy_text, optional_out_slice, output, slice, utf8, write_optional};
use super::boundary::guard;
use super::handle::{self, Handle};
use super::model::{mle_model, model_ref, trust_from_c};
use super::monitor_types::{config_from_c, thresholds_from_c};
use super::session::pool_mode;
use super::status::mle_status;
use super::telemetry::telemetry_option;
use crate::deploy::staleness::StalenessThresholds;
use crate::error::{fail, Result, Status};
use crate::runtime::{Runtime, RuntimeOptions, Served};
use crate::session::{Input, SessionOptions};

/// The deployment runtime (opaque). Thread-safe: any thread may classify concurrently; control
/// calls (swap, rollout, experiment, shadow) are serialised inside.
pub struct mle_runtime {
    _private: [u8; 0],
}

impl Handle for Runtime {
    type C = mle_runtime;
    const MAGIC: u64 = u64::from_le_bytes(*b"mle:rtim");
    const NAME: &'static str = "mle_runtime";
}

/// The runtime behind a handle argument.
///
/// # Safety
/// `ptr` is NULL or a handle of this library (see `handle::get`).
pub(crate) unsafe fn runtime_ref<'a>(ptr: *const mle_runtime) -> Result<&'a Runtime> {
    // SAFETY: per the caller's contract.
    unsafe { handle::get::<Runtime>(ptr, "runtime") }
}

/// Fill `*options` with the defaults; pass `sizeof(mle_runtime_options)`.
///
/// # Safety
/// `options` is NULL or points to `struct_size` writable bytes.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_options_init(options: *mut mle_runtime_options, struct_size: usize) -> mle_status {
    // SAFETY: per this function's contract.
    guard(|| unsafe { init(options, struct_size, "options") })
}

/// Runtime options from C.
///
/// # Safety
/// `o`'s pointers are NULL or valid (the `mle_runtime_new` contract).
unsafe fn options_from_c(o: &mle_runtime_options) -> Result<RuntimeOptions> {
    if o.supervisor_thread > 1 {
        return fail(Status::InvalidArgument, "supervisor_thread must be 0 or 1");
    }
    if o.busy_wait_ms > 60_000 {
        return fail(Status::InvalidArgument, format!("busy_wait_ms must be 0..=60000, got {}", o.busy_wait_ms));
    }
    let mut monitor = if o.monitor.is_null() {
        Default::default()
    } else {
        // SAFETY: per the caller's contract.
        config_from_c(&unsafe { read_in(o.monitor, "options.monitor")? })?
    };
    if !o.thresholds.is_null() {
        // SAFETY: per the caller's contract.
        monitor.thresholds = thresholds_from_c(&unsafe { read_in(o.thresholds, "options.thresholds")? })?;
    }
    let options = RuntimeOptions {
        max_concurrency: o.max_concurrency as usize,
        busy_wait: Duration::from_millis(o.busy_wait_ms.into()),
        session: SessionOptions { pool: pool_mode(o.pool_mode, o.pool_bytes)? },
        monitor,
        experiment: RuntimeOptions::default().experiment,
        shadow_queue_capacity: o.shadow_queue_capacity as usize,
        shadow_max_input_bytes: o.shadow_max_input_bytes as usize,
        evaluation_interval: Duration::from_millis(o.evaluation_interval_ms.into()),
        staleness: StalenessThresholds {
            warning_days: o.staleness_warning_days.into(),
            critical_days: o.staleness_critical_days.into(),
        },
        supervisor_thread: o.supervisor_thread == 1,
        // SAFETY: per the caller's contract: NULL or a live telemetry handle.
        telemetry: unsafe { telemetry_option(o.telemetry)? },
        // SAFETY: per the caller's contract: `trusted_key_count` keys at `trusted_keys` (or NULL).
        trust: unsafe { trust_from_c(o.trusted_keys, o.trusted_key_count, o.min_package_version, "options")? },
        // Not in the C struct (yet): C hosts get the default, freed memory given back.
        release_memory: RuntimeOptions::default().release_memory,
    };
    options.validate()?;
    Ok(options)
}

/// Create a runtime serving `production` as variant 0 (`options` may be NULL: defaults). It
/// creates `max_concurrency` sessions (each runs its warm-up) and, unless disabled, the
/// supervisor thread.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL/invalid model or out, an option out of range).
///
/// # Safety
/// `production` is NULL or live; `options` is NULL or a struct of `struct_size` bytes whose
/// pointers are NULL or valid; `out` is NULL or writable.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_new(
    production: *const mle_model,
    options: *const mle_runtime_options,
    out: *mut *mut mle_runtime,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let (model, out) = unsafe { (model_ref(production, "production")?, output(out, "out")?) };
        let options = if options.is_null() {
            RuntimeOptions::default()
        } else {
            // SAFETY: per this function's contract.
            unsafe { options_from_c(&read_in(options, "options")?)? }
        };
        *out = handle::into_raw(Runtime::new(&model.model, options)?);
        Ok(())
    })
}

/// Free a runtime: stops the supervisor (waiting for its current pass), then drops the
/// deployment. Call `mle_runtime_shutdown` first for a graceful stop. NULL is ignored. The
/// callbacks' `free_userdata` run here, on the calling thread.
///
/// # Safety
/// `runtime` is NULL or live; no other call uses it during or after this one, and this is not
/// called from one of the runtime's own callbacks.
///
/// Thread safety: not concurrently with other calls on the same runtime.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_free(runtime: *mut mle_runtime) {
    // SAFETY: per this function's contract.
    let _ = guard(|| unsafe { handle::free::<Runtime>(runtime, "runtime") }.map(drop));
}

/// A served answer as its C struct.
fn served_to_c(s: &Served) -> mle_served {
    let p = &s.prediction;
    let mut c = mle_served {
        struct_size: 0,
        candidate: s.candidate as u32,
        variant: s.variant,
        label_index: p.label_index as u32,
        score: p.score,
        flags: p.flags,
        input_length: p.input_length.min(u32::MAX as usize) as u32,
        latency_ns: p.latency.as_nanos().min(u128::from(u64::MAX)) as u64,
        label: [0; MLE_LABEL_BUFFER],
        version: [0; MLE_NAME_BUFFER],
    };
    if copy_text(&p.label, &mut c.label) {
        c.flags |= MLE_FLAG_LABEL_TRUNCATED;
    }
    copy_text(&s.version, &mut c.version);
    c
}

/// The shared body of the runtime's classify calls.
///
/// # Safety
/// The pointers follow the contract of the `mle_runtime_classify_*` functions.
#[allow(clippy::too_many_arguments)]
unsafe fn classify<'a>(
    runtime: *const mle_runtime,
    user_id: *const c_char,
    out: *mut mle_served,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
    input: impl FnOnce() -> Result<Input<'a>>,
) -> mle_status {
    guard(|| {
        // SAFETY: per the calling function's contract.
        let rt = unsafe { runtime_ref(runtime)? };
        let result = rt.classify_checked(|| {
            // SAFETY: per the calling function's contract.
            unsafe { check_out(out, "out")? };
            // SAFETY: per the calling function's contract.
            let user = utf8(unsafe { c_string(user_id, "user_id")? }, "user_id")?;
            // SAFETY: per the calling function's contract.
            let buffer = unsafe { optional_out_slice(probabilities, capacity, "probabilities")? };
            Ok((user, input()?, buffer))
        });
        let served = match result {
            Err(e) if e.status() == Status::BufferTooSmall => {
                // SAFETY: NULL or writable.
                unsafe { write_optional(probabilities_len, rt.max_labels()) };
                return Err(e);
            }
            other => other?,
        };
        // SAFETY: NULL or writable.
        unsafe { write_optional(probabilities_len, served.label_count) };
        // SAFETY: per the calling function's contract.
        unsafe { write_out(out, &served_to_c(&served), "out") }
    })
}

/// Classify `text_len` bytes of UTF-8 text for `user_id` (NUL-terminated; may be empty for an
/// anonymous request: hashing then gives every anonymous request the same variant, and a rollout
/// sends exactly its share of them to the candidate, by a counter): assign the variant (hook,
/// else hashing), route to the rollout candidate when its share says so, run on a pooled session,
/// offer the shadow a copy when sampled. `*out` gets the answer; `probabilities` (NULL, or at
/// least `mle_runtime_get_max_labels` values) the probabilities, `*probabilities_len` (may be
/// NULL) their count.
///
/// Errors: the session's (see `mle_session_classify_text`), `MLE_ERR_BUSY` (every session of
/// the model stayed busy for `busy_wait_ms`), `MLE_ERR_SHUTTING_DOWN`. Every call is counted
/// once in the runtime's health, under the status it returned.
///
/// # Safety
/// `runtime` is NULL or live; `user_id` NULL or NUL-terminated; `text` NULL or `text_len`
/// readable bytes; `out` NULL or a writable `mle_served` of `struct_size` bytes; `probabilities`
/// NULL or `capacity` writable floats; `probabilities_len` NULL or writable.
///
/// Thread safety: safe from any thread, concurrently.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_classify_text(
    runtime: *const mle_runtime,
    user_id: *const c_char,
    text: *const c_char,
    text_len: usize,
    out: *mut mle_served,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
) -> mle_status {
    // SAFETY: per this function's contract; the text outlives the call.
    unsafe {
        classify(runtime, user_id, out, probabilities, capacity, probabilities_len, || {
            Ok(Input::Utf8(slice(text as *const u8, text_len, "text")?))
        })
    }
}

/// Classify `count` f32 features for `user_id`. Outputs, errors and thread safety as
/// `mle_runtime_classify_text`.
///
/// # Safety
/// As `mle_runtime_classify_text`, with `features` NULL or `count` readable floats.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_classify_f32(
    runtime: *const mle_runtime,
    user_id: *const c_char,
    features: *const f32,
    count: usize,
    out: *mut mle_served,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
) -> mle_status {
    // SAFETY: per this function's contract; the features outlive the call.
    unsafe {
        classify(runtime, user_id, out, probabilities, capacity, probabilities_len, || {
            Ok(Input::Tensor(slice(features, count, "features")?))
        })
    }
}

/// Classify `len` bytes for `user_id`. Outputs, errors and thread safety as
/// `mle_runtime_classify_text`.
///
/// # Safety
/// As `mle_runtime_classify_text`, with `data` NULL or `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_classify_bytes(
    runtime: *const mle_runtime,
    user_id: *const c_char,
    data: *const u8,
    len: usize,
    out: *mut mle_served,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
) -> mle_status {
    // SAFETY: per this function's contract; the bytes outlive the call.
    unsafe {
        classify(runtime, user_id, out, probabilities, capacity, probabilities_len, || {
            Ok(Input::Bytes(slice(data, len, "data")?))
        })
    }
}
