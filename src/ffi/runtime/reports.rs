//! What the runtime reports to C: outcomes and the significance test, per-variant counts, the
//! shadow's results, monitor snapshots by role, health, evaluation and shutdown.

use std::ffi::{c_void, CString};
use std::time::Duration;

use super::super::ab::{mle_significance_result, write_significance};
use super::super::abi::{check_out, write_out, OutArray};
use super::super::args::{copy_text, optional_out_slice, write_optional};
use super::super::boundary::guard;
use super::super::model::MLE_TIME_UNKNOWN;
use super::super::monitor::with_baseline_samples;
use super::super::monitor_types::{mle_baseline, mle_snapshot, snapshot_to_c};
use super::super::status::mle_status;
use super::types::*;
use super::{mle_runtime, runtime_ref};
use crate::error::{fail, Error, Result, Status};
use crate::runtime::{Role, RolloutStatus, Target};

/// Record one outcome of `variant` (`converted` 0 or 1), e.g. whether the user converted.
///
/// # Safety
/// `runtime` is NULL or live.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_record_outcome(
    runtime: *const mle_runtime,
    variant: usize,
    converted: u32,
) -> mle_status {
    guard(|| {
        if converted > 1 {
            return fail(Status::InvalidArgument, "converted must be 0 or 1");
        }
        // SAFETY: per this function's contract.
        unsafe { runtime_ref(runtime)? }.record_outcome(variant, converted == 1)
    })
}

/// The pooled two-proportion z-test of `treatment` against `control` on the outcomes recorded
/// so far (set `out->struct_size` first).
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (no such variant, a variant without outcomes, confidence
/// level outside (0, 1)).
///
/// # Safety
/// `runtime` is NULL or live; `out` NULL or a writable struct of `struct_size` bytes.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_test_significance(
    runtime: *const mle_runtime,
    control: usize,
    treatment: usize,
    confidence_level: f64,
    out: *mut mle_significance_result,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let rt = unsafe { runtime_ref(runtime)? };
        let s = rt.significance(control, treatment, confidence_level)?;
        // SAFETY: per this function's contract.
        unsafe { write_significance(&s, out) }
    })
}

/// Counts of `variant` into `*out` (set `out->struct_size` first). Errors:
/// `MLE_ERR_INVALID_ARGUMENT` (no such variant).
///
/// # Safety
/// `runtime` is NULL or live; `out` NULL or a writable struct of `struct_size` bytes.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_get_variant_stats(
    runtime: *const mle_runtime,
    variant: usize,
    out: *mut mle_variant_stats,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let s = unsafe { runtime_ref(runtime)? }.variant_stats(variant)?;
        let mut c = mle_variant_stats {
            struct_size: 0,
            name: [0; MLE_NAME_BUFFER],
            version: [0; MLE_NAME_BUFFER],
            weight: s.weight,
            requests: s.requests,
            errors: s.errors,
            candidate_requests: s.candidate_requests,
            conversions: s.conversions,
            outcomes: s.outcomes,
        };
        copy_text(&s.name, &mut c.name);
        copy_text(&s.version, &mut c.version);
        // SAFETY: per this function's contract.
        unsafe { write_out(out, &c, "out") }
    })
}

/// The shadow's results so far into `*out` (set `out->struct_size` first); analyses the
/// shadow's monitor. `MLE_ERR_INVALID_STATE` without a shadow.
///
/// # Safety
/// `runtime` is NULL or live; `out` NULL or a writable struct of `struct_size` bytes.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_get_shadow_report(
    runtime: *const mle_runtime,
    out: *mut mle_shadow_report,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let rt = unsafe { runtime_ref(runtime)? };
        let r = rt.shadow_report()?.ok_or_else(|| Error::new(Status::InvalidState, "no shadow is set"))?;
        let mut c = mle_shadow_report {
            struct_size: 0,
            version: [0; MLE_NAME_BUFFER],
            fraction: r.fraction,
            sampled: r.sampled,
            compared: r.compared,
            agreed: r.agreed,
            agreement_rate: r.agreement_rate,
            shadow_errors: r.shadow_errors,
            production_errors: r.production_errors,
            skipped_queue_full: r.skipped_queue_full,
            skipped_too_large: r.skipped_too_large,
            pending: r.pending,
            discarded: r.discarded,
            latency_p95_us: r.latency_p95_us,
            window_count: r.window_count,
        };
        copy_text(&r.version, &mut c.version);
        // SAFETY: per this function's contract.
        unsafe { write_out(out, &c, "out") }
    })
}

fn target(role: i32, variant: usize) -> Result<Target> {
    match role {
        MLE_ROLE_VARIANT => Ok(Target::Variant(variant)),
        MLE_ROLE_CANDIDATE => Ok(Target::Candidate),
        MLE_ROLE_SHADOW => Ok(Target::Shadow),
        other => fail(Status::InvalidArgument, format!("role {other} is not an MLE_ROLE_* value")),
    }
}

/// Freeze the current window of the monitor of the model with `role` (`MLE_ROLE_*`; `variant` used
/// for `MLE_ROLE_VARIANT`) as its baseline, as `mle_monitor_freeze_baseline` does: its drift tests
/// and degradation alerts compare with it from then on, a swap or a rollout carries it to the new
/// model, and the exports carry it (`mlops_edge_baseline_*`). Since ABI 1.4.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (unknown role, no such variant), `MLE_ERR_INVALID_STATE` (no
/// candidate or shadow), `MLE_ERR_INSUFFICIENT_DATA` (fewer than 100 successful requests in the
/// window: serve more first, or load one with `mle_runtime_load_baseline`).
///
/// # Safety
/// `runtime` is NULL or live.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_freeze_baseline(
    runtime: *const mle_runtime,
    role: i32,
    variant: usize,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let rt = unsafe { runtime_ref(runtime)? };
        rt.with_monitor(target(role, variant)?, |m| Ok(m.freeze_baseline()?))
    })
}

/// Load a baseline from the host (e.g. shipped with the model; copied, the arrays can be freed
/// after the call) into the monitor of the model with `role`, as `mle_monitor_load_baseline` does
/// (same checks, same errors, and those of `mle_runtime_freeze_baseline` for `role`). Since ABI 1.4.
///
/// # Safety
/// `runtime` is NULL or live; `baseline` is NULL or a struct of `struct_size` bytes whose pointers
/// are NULL (count 0) or valid for their counts.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_load_baseline(
    runtime: *const mle_runtime,
    role: i32,
    variant: usize,
    baseline: *const mle_baseline,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let rt = unsafe { runtime_ref(runtime)? };
        let target = target(role, variant)?;
        // SAFETY: per this function's contract.
        unsafe { with_baseline_samples(baseline, |samples| rt.with_monitor(target, |m| Ok(m.load_baseline(samples)?))) }
    })
}

/// Analyse the monitor of the model with `role` (`MLE_ROLE_*`; `variant` used for
/// `MLE_ROLE_VARIANT`) into `*out`, as `mle_monitor_snapshot` does (label counts likewise).
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (unknown role, no such variant),
/// `MLE_ERR_INVALID_STATE` (no candidate or shadow), `MLE_ERR_BUFFER_TOO_SMALL`.
///
/// # Safety
/// `runtime` is NULL or live; `out` NULL or a writable struct of `struct_size` bytes;
/// `label_counts` NULL or `label_capacity` writable values; `labels_written` NULL or writable.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_snapshot(
    runtime: *const mle_runtime,
    role: i32,
    variant: usize,
    out: *mut mle_snapshot,
    label_counts: *mut u64,
    label_capacity: usize,
    labels_written: *mut usize,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let (rt, counts) =
            unsafe { (runtime_ref(runtime)?, optional_out_slice(label_counts, label_capacity, "label_counts")?) };
        if counts.is_none() && label_capacity != 0 {
            return fail(Status::InvalidArgument, "label_counts is NULL but label_capacity is not 0");
        }
        // Checked before the analysis, which drains the rings and may fire the level callback.
        // SAFETY: per this function's contract.
        unsafe { check_out(out, "out")? };
        let snapshot = rt.snapshot(target(role, variant)?)?;
        let needed = snapshot.label_counts.len();
        if let Some(dst) = &counts {
            if dst.len() < needed {
                return fail(Status::BufferTooSmall, format!("label_counts holds {}, needs {needed}", dst.len()));
            }
        }
        // SAFETY: per this function's contract.
        unsafe { write_out(out, &snapshot_to_c(&snapshot), "out")? };
        if let Some(dst) = counts {
            dst[..needed].copy_from_slice(&snapshot.label_counts);
        }
        // SAFETY: NULL or writable.
        unsafe { write_optional(labels_written, needed) };
        Ok(())
    })
}

/// The most labels a model answering this runtime's requests has (the variants and the rollout
/// candidate; not the shadow): what a `probabilities` buffer of the classify calls must hold.
/// It only changes with `mle_runtime_change_input_schema` (other deployment changes that would
/// raise it are refused). Since C ABI 1.1.
///
/// # Safety
/// `runtime` is NULL or live; `out` is NULL or writable.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_get_max_labels(runtime: *const mle_runtime, out: *mut usize) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let (rt, out) = unsafe { (runtime_ref(runtime)?, super::super::args::output(out, "out")?) };
        *out = rt.max_labels();
        Ok(())
    })
}

/// One supervisor pass now, on the calling thread: runs the queued shadow comparisons, analyses
/// every monitor (alert-level events) and moves the rollout. What the supervisor thread does
/// every `evaluation_interval_ms`; call it yourself with `supervisor_thread = 0`.
///
/// # Safety
/// `runtime` is NULL or live.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_evaluate(runtime: *const mle_runtime) -> mle_status {
    // SAFETY: per this function's contract.
    guard(|| unsafe { runtime_ref(runtime)? }.evaluate())
}

/// The runtime's health into `*out` (set `out->struct_size` first), and up to `capacity` loaded
/// models into `models` (NULL with capacity 0: none; set `models[0].struct_size`).
/// `out->model_count` says how many there are.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT`, `MLE_ERR_BUFFER_TOO_SMALL` (`models` holds fewer than
/// `model_count`; `*out` is written).
///
/// # Safety
/// `runtime` is NULL or live; `out` NULL or a writable struct of `struct_size` bytes; `models`
/// NULL or `capacity` writable structs of `models[0].struct_size` bytes each.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_get_health(
    runtime: *const mle_runtime,
    out: *mut mle_health,
    models: *mut mle_loaded_model,
    capacity: usize,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let rt = unsafe { runtime_ref(runtime)? };
        if models.is_null() && capacity != 0 {
            return fail(Status::InvalidArgument, "models is NULL but capacity is not 0");
        }
        // SAFETY: per this function's contract.
        let mut array = unsafe { OutArray::new(models, capacity, "models")? };
        let h = rt.health();
        let c = &h.counters;
        let r = h.rollout.clone().unwrap_or(RolloutStatus {
            variant: 0,
            candidate_version: String::new(),
            stage: 0,
            percent: 0,
            served_at_stage: 0,
            requests_per_stage: 0,
        });
        let t = h.telemetry.clone().unwrap_or_default();
        let mut health = mle_health {
            struct_size: 0,
            state: h.state as i32,
            level: h.level as i32,
            rollout_active: h.rollout.is_some() as u32,
            uptime_seconds: h.uptime.as_secs_f64(),
            in_flight: h.in_flight,
            requests: c.requests,
            errors: c.errors,
            busy: c.busy,
            refused_shutting_down: c.refused_shutting_down,
            hook_errors: c.hook_errors,
            swaps: c.swaps,
            refused_models: c.refused_models,
            rollbacks: c.rollbacks,
            rollouts_completed: c.rollouts_completed,
            rollout_variant: r.variant,
            rollout_stage: r.stage as u32,
            rollout_percent: r.percent,
            rollout_served_at_stage: r.served_at_stage,
            rollout_requests_per_stage: r.requests_per_stage,
            rollout_candidate_version: [0; MLE_NAME_BUFFER],
            model_count: h.models.len(),
            last_error: [0; super::super::telemetry::MLE_ERROR_BUFFER],
            telemetry_enabled: u32::from(h.telemetry.is_some()),
            telemetry_sent: t.sent,
            telemetry_retried: t.retried,
            telemetry_dropped: t.dropped_queue_full + t.dropped_by_host,
            telemetry_pending: t.pending,
            telemetry_spool_lost_bytes: t.spool_torn_bytes + t.spool_corrupt_bytes,
        };
        copy_text(&r.candidate_version, &mut health.rollout_candidate_version);
        copy_text(h.last_error.as_deref().unwrap_or(""), &mut health.last_error);
        // SAFETY: per this function's contract.
        unsafe { write_out(out, &health, "out")? };
        if models.is_null() {
            return Ok(());
        }
        if array.capacity() < h.models.len() {
            return fail(Status::BufferTooSmall, format!("models holds {capacity}, needs {}", h.models.len()));
        }
        for (i, m) in h.models.iter().enumerate() {
            let mut c = mle_loaded_model {
                struct_size: 0,
                role: m.role as i32,
                variant: m.variant,
                variant_name: [0; MLE_NAME_BUFFER],
                version: [0; MLE_NAME_BUFFER],
                trained_at_unix: m.staleness.trained_at_unix.unwrap_or(MLE_TIME_UNKNOWN),
                age_days: m.staleness.age_days.unwrap_or(MLE_TIME_UNKNOWN),
                needs_retraining: m.staleness.needs_retraining as u32,
                staleness_level: m.staleness.level as i32,
                alert_level: m.alert_level as i32,
            };
            copy_text(&m.variant_name, &mut c.variant_name);
            copy_text(&m.version, &mut c.version);
            array.write(i, &c)?;
        }
        Ok(())
    })
}

/// Graceful shutdown: new requests get `MLE_ERR_SHUTTING_DOWN` from now on; waits up to
/// `timeout_ms` for in-flight requests (`MLE_ERR_BUSY` if some are still running: call again),
/// runs the shadow comparisons still queued, stops the supervisor, and calls `callback` (may be
/// NULL) once per loaded model with its last snapshot, on the calling thread. `userdata` is only
/// passed to the callback (the library never frees it).
///
/// Errors: `MLE_ERR_INVALID_STATE` (already stopped, or called from an event callback on the
/// supervisor thread), `MLE_ERR_BUSY`.
///
/// # Safety
/// `runtime` is NULL or live; `callback` NULL or safe to call with `userdata` on this thread.
///
/// Thread safety: safe from any thread except the runtime's own callbacks.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_shutdown(
    runtime: *const mle_runtime,
    timeout_ms: u32,
    callback: mle_final_snapshot_callback,
    userdata: *mut c_void,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let rt = unsafe { runtime_ref(runtime)? };
        let report = rt.shutdown(Duration::from_millis(timeout_ms.into()))?;
        let Some(callback) = callback else { return Ok(()) };
        for m in &report.snapshots {
            let c = snapshot_to_c(&m.snapshot);
            let version = CString::new(m.version.replace('\0', " ")).unwrap_or_default();
            let role = match m.role {
                Role::Variant => MLE_ROLE_VARIANT,
                Role::Candidate => MLE_ROLE_CANDIDATE,
                Role::Shadow => MLE_ROLE_SHADOW,
            };
            // SAFETY: the host's function and userdata; the pointers live for the call.
            unsafe { callback(userdata, role, m.variant, version.as_ptr(), &c) };
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_states_match_the_rust_enums() {
        assert_eq!(MLE_ROLE_VARIANT, Role::Variant as i32);
        assert_eq!(MLE_ROLE_CANDIDATE, Role::Candidate as i32);
        assert_eq!(MLE_ROLE_SHADOW, Role::Shadow as i32);
        use crate::runtime::RuntimeState;
        assert_eq!(MLE_STATE_SERVING, RuntimeState::Serving as i32);
        assert_eq!(MLE_STATE_DRAINING, RuntimeState::Draining as i32);
        assert_eq!(MLE_STATE_STOPPED, RuntimeState::Stopped as i32);
        use crate::events::EventKind;
        for (c, k) in [
            (MLE_EVENT_SWAPPED, EventKind::Swapped),
            (MLE_EVENT_SWAP_REFUSED, EventKind::SwapRefused),
            (MLE_EVENT_ROLLOUT_STARTED, EventKind::RolloutStarted),
            (MLE_EVENT_ROLLOUT_ADVANCED, EventKind::RolloutAdvanced),
            (MLE_EVENT_ROLLOUT_COMPLETED, EventKind::RolloutCompleted),
            (MLE_EVENT_ROLLED_BACK, EventKind::RolledBack),
            (MLE_EVENT_ALERT_LEVEL_CHANGED, EventKind::AlertLevelChanged),
            (MLE_EVENT_EXPERIMENT_CHANGED, EventKind::ExperimentChanged),
            (MLE_EVENT_SHADOW_CHANGED, EventKind::ShadowChanged),
            (MLE_EVENT_SHUTDOWN_STARTED, EventKind::ShutdownStarted),
        ] {
            assert_eq!(c, k as i32);
        }
    }
}
