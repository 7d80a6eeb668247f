//! `mle_runtime`: the deployment runtime (A/B variants, rollout, shadow, health, shutdown) and
//! the stateless A/B helpers `mle_ab_assign` and `mle_ab_significance`.

use std::ffi::{c_char, c_void, CString};
use std::time::Duration;

use super::args::{c_string, optional_out_slice, output, required, slice, utf8, write_optional};
use super::boundary::guard;
use super::model::{mle_model, model_ref};
use super::monitor::{
    config_from_c, mle_free_userdata, mle_monitor_options, mle_monitor_options_init, mle_monitor_thresholds,
    mle_snapshot, snapshot_to_c, thresholds_from_c, thresholds_to_c, write_snapshot,
};
use super::telemetry::{mle_telemetry, telemetry_option};
use super::userdata::Userdata;
use super::{mle_status, MLE_POOL_AUTO, MLE_POOL_FIXED, MLE_POOL_OFF};
use crate::deploy::ab::{self, Assignment};
use crate::deploy::rollout::RolloutConfig;
use crate::deploy::selftest::{OwnedInput, SelfTestCase};
use crate::deploy::significance::{calculate_significance, Significance};
use crate::deploy::staleness::StalenessThresholds;
use crate::error::{fail, Error, Result, Status};
use crate::runtime::{Event, Role, Runtime, RuntimeOptions, Served, Target, Variant};
use crate::session::{Input, PoolMode, SessionOptions};
use crate::{ModelOptions, Thresholds};

const RUNTIME_MAGIC: u64 = u64::from_le_bytes(*b"mle:rtim");

/// Bytes of the fixed text buffers in runtime structs (version, names, label), NUL included.
pub const MLE_NAME_BUFFER: usize = 65;
/// Bytes of `mle_served::label` (NUL included); longer labels are cut at a UTF-8 boundary and
/// flagged with `MLE_FLAG_LABEL_TRUNCATED`.
pub const MLE_LABEL_BUFFER: usize = 128;
/// Bytes of `mle_health::last_error` (NUL included).
pub const MLE_ERROR_BUFFER: usize = 256;
/// `mle_served::flags`: the label did not fit `MLE_LABEL_BUFFER` and was cut.
pub const MLE_FLAG_LABEL_TRUNCATED: u32 = 1 << 16;

/// Assignment scheme: the seed's md5 (`ABTest.get_variant`), the default.
pub const MLE_ASSIGN_SEED_MD5: u32 = 0;
/// Assignment scheme: GrowthBook's hash version 1.
pub const MLE_ASSIGN_GROWTHBOOK_V1: u32 = 1;
/// Assignment scheme: GrowthBook's hash version 2.
pub const MLE_ASSIGN_GROWTHBOOK_V2: u32 = 2;

/// Model role: serves a variant (variant 0 = production / control).
pub const MLE_ROLE_VARIANT: i32 = 0;
/// Model role: the staged-rollout candidate.
pub const MLE_ROLE_CANDIDATE: i32 = 1;
/// Model role: the shadow.
pub const MLE_ROLE_SHADOW: i32 = 2;

/// Runtime state: serving.
pub const MLE_STATE_SERVING: i32 = 0;
/// Runtime state: shutting down (new requests refused, in-flight ones finishing).
pub const MLE_STATE_DRAINING: i32 = 1;
/// Runtime state: stopped.
pub const MLE_STATE_STOPPED: i32 = 2;

/// Event: a variant now serves another version (hot swap, promotion, manual rollback).
pub const MLE_EVENT_SWAPPED: i32 = 1;
/// Event: a model was refused (load, self-test, input kind); the old one keeps serving.
pub const MLE_EVENT_SWAP_REFUSED: i32 = 2;
/// Event: a rollout started.
pub const MLE_EVENT_ROLLOUT_STARTED: i32 = 3;
/// Event: the rollout moved to the next stage.
pub const MLE_EVENT_ROLLOUT_ADVANCED: i32 = 4;
/// Event: the rollout completed (candidate promoted).
pub const MLE_EVENT_ROLLOUT_COMPLETED: i32 = 5;
/// Event: the rollout was rolled back (critical alert, failed health check, or by hand).
pub const MLE_EVENT_ROLLED_BACK: i32 = 6;
/// Event: a model's alert level changed.
pub const MLE_EVENT_ALERT_LEVEL_CHANGED: i32 = 7;
/// Event: the experiment changed.
pub const MLE_EVENT_EXPERIMENT_CHANGED: i32 = 8;
/// Event: the shadow was set or removed.
pub const MLE_EVENT_SHADOW_CHANGED: i32 = 9;
/// Event: shutdown began.
pub const MLE_EVENT_SHUTDOWN_STARTED: i32 = 10;

/// The deployment runtime (opaque). Thread-safe: any thread may classify concurrently; control
/// calls (swap, rollout, experiment, shadow) are serialised inside.
pub struct mle_runtime {
    _private: [u8; 0],
}

/// What an `mle_runtime` pointer points to (a `Box`), magic first.
#[repr(C)]
struct RuntimeHandle {
    magic: u64,
    runtime: Runtime,
}

/// Runtime options: fill with `mle_runtime_options_init`, then change fields.
#[repr(C)]
pub struct mle_runtime_options {
    /// Sessions per loaded model = requests one model serves at once (1..=64; default 4).
    pub max_concurrency: u32,
    /// Milliseconds a request waits for a free session before `MLE_ERR_BUSY` (default 50; 0 = fail at once).
    pub busy_wait_ms: u32,
    /// Session memory pool: `MLE_POOL_AUTO` (default), `MLE_POOL_OFF` or `MLE_POOL_FIXED`.
    pub pool_mode: u32,
    /// Pool bytes for `MLE_POOL_FIXED`.
    pub pool_bytes: usize,
    /// Template of each model's monitor (`max_sessions` and `label_count` are set per model).
    pub monitor: mle_monitor_options,
    /// Thresholds of each model's monitor (default: the seed's).
    pub thresholds: mle_monitor_thresholds,
    /// Shadow queue slots (1..=65536; default 64).
    pub shadow_queue_capacity: u32,
    /// Largest text/byte input copied for the shadow (default 16384; larger ones are skipped).
    pub shadow_max_input_bytes: u32,
    /// Milliseconds between supervisor analyses (default 1000).
    pub evaluation_interval_ms: u32,
    /// Staleness warning after this many days (default 30).
    pub staleness_warning_days: i32,
    /// Staleness critical after this many days (default 60).
    pub staleness_critical_days: i32,
    /// 1 (default): run a supervisor thread; 0: call `mle_runtime_evaluate` yourself.
    pub supervisor_thread: u32,
    /// Telemetry recording every request (sampled) and event, or NULL (default). The runtime
    /// keeps its own reference: the handle may be freed before the runtime.
    pub telemetry: *const mle_telemetry,
}

/// One answered request.
#[repr(C)]
pub struct mle_served {
    /// The variant the user was assigned to.
    pub variant: usize,
    /// 1 when the rollout candidate answered, else 0.
    pub candidate: u32,
    /// Index of the most probable label.
    pub label_index: u32,
    /// Its probability.
    pub score: f32,
    /// `MLE_FLAG_*` bits (plus `MLE_FLAG_LABEL_TRUNCATED`).
    pub flags: u32,
    /// Time spent in the model call, in nanoseconds.
    pub latency_ns: u64,
    /// Tokens, bytes or values of the input.
    pub input_length: u32,
    /// The label's name (NUL-terminated copy: stays valid whatever swaps happen later).
    pub label: [c_char; MLE_LABEL_BUFFER],
    /// The answering model's version (NUL-terminated copy).
    pub version: [c_char; MLE_NAME_BUFFER],
}

/// One variant of an experiment.
#[repr(C)]
pub struct mle_variant {
    /// Its name (1..=64 bytes, UTF-8).
    pub name: *const c_char,
    /// The model serving it (the runtime keeps its own reference; the handle may be freed after).
    pub model: *const mle_model,
    /// Its weight (all weights sum to 1 within 0.001).
    pub weight: f64,
}

/// One self-test case: exactly one of `text`, `features`, `bytes` set, and the expected label.
#[repr(C)]
pub struct mle_self_test_case {
    /// NUL-terminated UTF-8 text, or NULL.
    pub text: *const c_char,
    /// f32 features, or NULL.
    pub features: *const f32,
    /// Their count.
    pub feature_count: usize,
    /// Bytes, or NULL.
    pub bytes: *const u8,
    /// Their count.
    pub byte_count: usize,
    /// The label the model must give (NUL-terminated).
    pub expected_label: *const c_char,
}

/// How a rollout moves (fill with `mle_rollout_options_init`).
#[repr(C)]
pub struct mle_rollout_options {
    /// Candidate traffic per stage in percent, increasing, the last 100 (at most 8 used).
    pub stages_percent: [u32; 8],
    /// How many of `stages_percent` are used (default 4: 10, 25, 50, 100).
    pub stage_count: u32,
    /// Candidate requests per stage before it may advance (default 100). A stage also waits
    /// until the candidate's monitor has judged it: its window holds the thresholds'
    /// `min_alert_samples` successes (default 30).
    pub requests_per_stage: u64,
    /// 1 (default): promote after the last stage; 0: wait for `mle_runtime_promote`.
    pub auto_promote: u32,
}

/// A deployment event (strings valid during the callback only).
#[repr(C)]
pub struct mle_event {
    /// `MLE_EVENT_*`.
    pub kind: i32,
    /// The variant concerned.
    pub variant: usize,
    /// Version before (may be empty).
    pub from_version: *const c_char,
    /// Version after, or the candidate / refused one (may be empty).
    pub to_version: *const c_char,
    /// Rollout events: the candidate's share now, in percent.
    pub stage_percent: u32,
    /// `MLE_LEVEL_*`.
    pub level: i32,
    /// What happened, in words.
    pub message: *const c_char,
}

/// Receives deployment events, on the thread that caused them (a control call's or the
/// supervisor's). It may call the runtime except `mle_runtime_shutdown`/`mle_runtime_free`.
pub type mle_event_callback = Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const mle_event)>;

/// Chooses the variant for `(experiment, user_id)` (strings with lengths, not NUL-terminated).
/// Return an index in `0..variant_count`; anything else is counted as a hook error and hashing
/// decides. Called on the classifying thread, inside `mle_runtime_classify_*`.
pub type mle_assignment_hook = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        experiment: *const c_char,
        experiment_len: usize,
        user_id: *const c_char,
        user_id_len: usize,
    ) -> i64,
>;

/// Called by `mle_runtime_shutdown` once per loaded model with its last snapshot.
pub type mle_final_snapshot_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        role: i32,
        variant: usize,
        version: *const c_char,
        snapshot: *const mle_snapshot,
    ),
>;

/// The seed's significance result.
#[repr(C)]
pub struct mle_significance_result {
    /// Control conversion rate.
    pub control_rate: f64,
    /// Treatment conversion rate.
    pub treatment_rate: f64,
    /// Treatment minus control.
    pub lift: f64,
    /// Lift relative to control, in percent (0 when control's rate is 0).
    pub lift_percent: f64,
    /// Two-tailed p-value.
    pub p_value: f64,
    /// The z score.
    pub z_score: f64,
    /// Confidence interval of the lift: lower end.
    pub ci_lower: f64,
    /// Upper end.
    pub ci_upper: f64,
    /// 1 when `p_value < 1 - confidence_level`.
    pub significant: u32,
}

/// Counts of one variant.
#[repr(C)]
pub struct mle_variant_stats {
    /// Name (NUL-terminated).
    pub name: [c_char; MLE_NAME_BUFFER],
    /// Version serving it now.
    pub version: [c_char; MLE_NAME_BUFFER],
    /// Weight.
    pub weight: f64,
    /// Requests assigned to it.
    pub requests: u64,
    /// Of those, errors.
    pub errors: u64,
    /// Of those, answered by the rollout candidate.
    pub candidate_requests: u64,
    /// Outcomes recorded as conversions.
    pub conversions: u64,
    /// Outcomes recorded.
    pub outcomes: u64,
}

/// Shadow testing results.
#[repr(C)]
pub struct mle_shadow_report {
    /// The shadow's version.
    pub version: [c_char; MLE_NAME_BUFFER],
    /// Fraction of requests sampled.
    pub fraction: f64,
    /// Requests sampled.
    pub sampled: u64,
    /// Comparisons made.
    pub compared: u64,
    /// Comparisons with the same label.
    pub agreed: u64,
    /// `agreed / compared` (NaN before the first).
    pub agreement_rate: f64,
    /// Shadow requests that failed.
    pub shadow_errors: u64,
    /// Sampled requests where production failed.
    pub production_errors: u64,
    /// Samples skipped: queue full.
    pub skipped_queue_full: u64,
    /// Samples skipped: input larger than `shadow_max_input_bytes`.
    pub skipped_too_large: u64,
    /// Waiting comparisons.
    pub pending: u64,
    /// Comparisons discarded (shadow removed, shutdown).
    pub discarded: u64,
    /// The shadow's own p95 latency (µs).
    pub latency_p95_us: f64,
    /// Requests in the shadow's monitor window.
    pub window_count: u64,
}

/// One loaded model in `mle_runtime_health`.
#[repr(C)]
pub struct mle_loaded_model {
    /// `MLE_ROLE_*`.
    pub role: i32,
    /// Its variant.
    pub variant: usize,
    /// Variant name (empty for the shadow).
    pub variant_name: [c_char; MLE_NAME_BUFFER],
    /// Card version.
    pub version: [c_char; MLE_NAME_BUFFER],
    /// Card `trained_at` (Unix seconds) or `MLE_TIME_UNKNOWN`.
    pub trained_at_unix: i64,
    /// Whole days since then, or `MLE_TIME_UNKNOWN`.
    pub age_days: i64,
    /// 1 when older than the staleness warning age.
    pub needs_retraining: u32,
    /// `MLE_LEVEL_*` by age (warning when the card has no `trained_at`).
    pub staleness_level: i32,
    /// `MLE_LEVEL_*` of its monitor at the last evaluation.
    pub alert_level: i32,
}

/// The runtime's health.
#[repr(C)]
pub struct mle_health {
    /// `MLE_STATE_*`.
    pub state: i32,
    /// Most severe alert or staleness level of the serving models (`MLE_LEVEL_*`).
    pub level: i32,
    /// Seconds since creation.
    pub uptime_seconds: f64,
    /// Requests running now.
    pub in_flight: u64,
    /// Requests answered by a model.
    pub requests: u64,
    /// Of those, errors.
    pub errors: u64,
    /// Requests refused with `MLE_ERR_BUSY`.
    pub busy: u64,
    /// Requests refused with `MLE_ERR_SHUTTING_DOWN`.
    pub refused_shutting_down: u64,
    /// Hook answers out of range.
    pub hook_errors: u64,
    /// Successful swaps (incl. promotions and rollbacks to a previous version).
    pub swaps: u64,
    /// Models refused.
    pub refused_models: u64,
    /// Rollouts rolled back.
    pub rollbacks: u64,
    /// Rollouts completed.
    pub rollouts_completed: u64,
    /// 1 when a rollout runs.
    pub rollout_active: u32,
    /// Its variant.
    pub rollout_variant: usize,
    /// Its stage index.
    pub rollout_stage: u32,
    /// The candidate's share now, in percent.
    pub rollout_percent: u32,
    /// Candidate requests at this stage.
    pub rollout_served_at_stage: u64,
    /// Requests a stage needs.
    pub rollout_requests_per_stage: u64,
    /// The candidate's version.
    pub rollout_candidate_version: [c_char; MLE_NAME_BUFFER],
    /// Loaded models (see `models` of `mle_runtime_health`).
    pub model_count: usize,
    /// The last error of a control call or the supervisor (empty if none).
    pub last_error: [c_char; MLE_ERROR_BUFFER],
    /// 1 when the runtime records telemetry (then the four counts below are filled).
    pub telemetry_enabled: u32,
    /// Telemetry records in batches the host answered OK.
    pub telemetry_sent: u64,
    /// Telemetry records in batches answered RETRY (once per answer).
    pub telemetry_retried: u64,
    /// Telemetry records dropped (full queue, or batches answered DROP).
    pub telemetry_dropped: u64,
    /// Telemetry records waiting for upload.
    pub telemetry_pending: u64,
}

/// Copies `text` into a fixed C buffer, NUL-terminated, cut at a UTF-8 boundary; true if cut.
pub(super) fn copy_text<const N: usize>(text: &str, out: &mut [c_char; N]) -> bool {
    let mut len = text.len().min(N - 1);
    while !text.is_char_boundary(len) {
        len -= 1;
    }
    for (dst, src) in out.iter_mut().zip(&text.as_bytes()[..len]) {
        *dst = if *src == 0 { b' ' as c_char } else { *src as c_char };
    }
    out[len] = 0;
    len < text.len()
}

/// The runtime behind a handle.
///
/// # Safety
/// `ptr` is NULL or a handle returned by this library and not yet freed.
pub(super) unsafe fn runtime_ref<'a>(ptr: *const mle_runtime) -> Result<&'a Runtime> {
    // SAFETY: every handle type starts with a u64 magic.
    let magic = unsafe { required(ptr as *const u64, "runtime")? };
    if *magic != RUNTIME_MAGIC {
        return fail(Status::InvalidArgument, "runtime is not an mle_runtime handle (wrong handle kind or freed)");
    }
    // SAFETY: the magic says it is a live RuntimeHandle.
    Ok(unsafe { &(*(ptr as *const RuntimeHandle)).runtime })
}

/// Fills `*options` with the defaults. NULL is ignored.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_options_init(options: *mut mle_runtime_options) {
    // SAFETY: C contract: NULL or writable.
    let Some(o) = (unsafe { options.as_mut() }) else { return };
    let d = RuntimeOptions::default();
    o.max_concurrency = d.max_concurrency as u32;
    o.busy_wait_ms = d.busy_wait.as_millis() as u32;
    o.pool_mode = MLE_POOL_AUTO;
    o.pool_bytes = 0;
    // SAFETY: a valid, writable struct.
    unsafe { mle_monitor_options_init(&mut o.monitor) };
    o.thresholds = thresholds_to_c(&Thresholds::default());
    o.shadow_queue_capacity = d.shadow_queue_capacity as u32;
    o.shadow_max_input_bytes = d.shadow_max_input_bytes as u32;
    o.evaluation_interval_ms = d.evaluation_interval.as_millis() as u32;
    o.staleness_warning_days = d.staleness.warning_days as i32;
    o.staleness_critical_days = d.staleness.critical_days as i32;
    o.supervisor_thread = 1;
    o.telemetry = std::ptr::null();
}

fn options_from_c(o: &mle_runtime_options) -> Result<RuntimeOptions> {
    let pool = match o.pool_mode {
        MLE_POOL_AUTO => PoolMode::Auto,
        MLE_POOL_OFF => PoolMode::Off,
        MLE_POOL_FIXED => PoolMode::Bytes(o.pool_bytes),
        other => return fail(Status::InvalidArgument, format!("pool_mode {other} is not one of MLE_POOL_*")),
    };
    if o.supervisor_thread > 1 {
        return fail(Status::InvalidArgument, "supervisor_thread must be 0 or 1");
    }
    let mut monitor = config_from_c(&o.monitor)?;
    monitor.thresholds = thresholds_from_c(&o.thresholds)?;
    Ok(RuntimeOptions {
        max_concurrency: o.max_concurrency as usize,
        busy_wait: Duration::from_millis(o.busy_wait_ms.into()),
        session: SessionOptions { pool },
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
        // SAFETY: C contract: NULL or a live telemetry handle.
        telemetry: unsafe { telemetry_option(o.telemetry)? },
    })
}

/// Creates a runtime serving `production` alone (`options` may be NULL for the defaults). It
/// keeps its own reference to the model: the model handle may be freed afterwards.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL or wrong handle, bad option), model/session errors.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_new(
    production: *const mle_model,
    options: *const mle_runtime_options,
    out: *mut *mut mle_runtime,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let (model, options, out) = unsafe { (model_ref(production)?, options.as_ref(), output(out, "out")?) };
        let options = match options {
            Some(o) => options_from_c(o)?,
            None => RuntimeOptions::default(),
        };
        let runtime = Runtime::new(&model.model, options)?;
        *out = Box::into_raw(Box::new(RuntimeHandle { magic: RUNTIME_MAGIC, runtime })) as *mut mle_runtime;
        Ok(())
    })
}

/// Frees a runtime (stops its supervisor; call `mle_runtime_shutdown` first to drain requests
/// and collect the final snapshots). NULL is ignored. No other call may use it concurrently.
///
/// Thread safety: not concurrently with any other call on the same runtime.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_free(runtime: *mut mle_runtime) {
    let _ = guard(|| {
        if runtime.is_null() {
            return Ok(());
        }
        // SAFETY: checked by magic, then the Box made by mle_runtime_new is taken back.
        unsafe {
            runtime_ref(runtime)?;
            let mut handle = Box::from_raw(runtime as *mut RuntimeHandle);
            handle.magic = 0;
            drop(handle);
        }
        Ok(())
    });
}

/// The shared body of the classify calls.
///
/// # Safety
/// Pointers per the `mle_runtime_classify_*` contracts.
unsafe fn classify<'a>(
    runtime: *const mle_runtime,
    user_id: *const c_char,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
    out: *mut mle_served,
    input: impl FnOnce() -> Result<Input<'a>>,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract of the calling function.
        let (rt, out) = unsafe { (runtime_ref(runtime)?, output(out, "out")?) };
        // SAFETY: C contract: user_id NUL-terminated.
        let user = utf8(unsafe { c_string(user_id, "user_id")? }, "user_id")?;
        // SAFETY: C contract: NULL or `capacity` writable floats.
        let buffer = unsafe { optional_out_slice(probabilities, capacity, "probabilities")? };
        let served = match rt.classify_any_model(user, input()?, buffer) {
            Err(e) if e.status() == Status::BufferTooSmall => {
                // SAFETY: NULL or writable.
                unsafe { write_optional(probabilities_len, rt.max_labels()) };
                return Err(e);
            }
            other => other?,
        };
        write_served(&served, out);
        // SAFETY: NULL or writable.
        unsafe { write_optional(probabilities_len, served.label_count) };
        Ok(())
    })
}

fn write_served(s: &Served, out: &mut mle_served) {
    let p = &s.prediction;
    out.variant = s.variant;
    out.candidate = s.candidate as u32;
    out.label_index = p.label_index as u32;
    out.score = p.score;
    out.latency_ns = p.latency.as_nanos().min(u128::from(u64::MAX)) as u64;
    out.input_length = p.input_length.min(u32::MAX as usize) as u32;
    let cut = copy_text(&p.label, &mut out.label);
    out.flags = p.flags | if cut { MLE_FLAG_LABEL_TRUNCATED } else { 0 };
    copy_text(&s.version, &mut out.version);
}

/// Classifies `text_len` bytes of UTF-8 `text` for `user_id` (NUL-terminated, may be empty,
/// not NULL). `probabilities` (may be NULL) needs the most labels any model of the deployment
/// has; `*probabilities_len` (may be NULL) gets the answering model's label count.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL runtime/user_id/out, wrong handle), `MLE_ERR_INVALID_UTF8`,
/// `MLE_ERR_BUFFER_TOO_SMALL`, `MLE_ERR_BUSY`, `MLE_ERR_SHUTTING_DOWN`, the model's errors.
///
/// Thread safety: safe from any thread, concurrently.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_classify_text(
    runtime: *const mle_runtime,
    user_id: *const c_char,
    text: *const c_char,
    text_len: usize,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
    out: *mut mle_served,
) -> mle_status {
    // SAFETY: C contract; the text outlives the call.
    unsafe {
        classify(runtime, user_id, probabilities, capacity, probabilities_len, out, || {
            Ok(Input::Text(utf8(slice(text as *const u8, text_len, "text")?, "text")?))
        })
    }
}

/// Classifies `count` f32 features for `user_id` (see `mle_runtime_classify_text`).
///
/// Thread safety: safe from any thread, concurrently.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_classify_f32(
    runtime: *const mle_runtime,
    user_id: *const c_char,
    features: *const f32,
    count: usize,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
    out: *mut mle_served,
) -> mle_status {
    // SAFETY: C contract; the features outlive the call.
    unsafe {
        classify(runtime, user_id, probabilities, capacity, probabilities_len, out, || {
            if features.is_null() {
                return fail(Status::InvalidArgument, "features is NULL");
            }
            Ok(Input::Tensor(slice(features, count, "features")?))
        })
    }
}

/// Classifies `len` bytes for `user_id` (see `mle_runtime_classify_text`; `data` may be NULL
/// when `len` is 0).
///
/// Thread safety: safe from any thread, concurrently.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_classify_bytes(
    runtime: *const mle_runtime,
    user_id: *const c_char,
    data: *const u8,
    len: usize,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
    out: *mut mle_served,
) -> mle_status {
    // SAFETY: C contract; the bytes outlive the call.
    unsafe {
        classify(runtime, user_id, probabilities, capacity, probabilities_len, out, || {
            Ok(Input::Bytes(slice(data, len, "data")?))
        })
    }
}

/// Sets an experiment of `count` variants (variant 0 = control) assigned with `scheme`
/// (`MLE_ASSIGN_*`). Weights must sum to 1 within 0.001.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL name/variants, 0 or more than 16 variants, NaN or
/// negative weights, bad sum, wrong model handle, another input kind, bad scheme),
/// `MLE_ERR_INVALID_STATE` (a rollout runs).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_set_experiment(
    runtime: *const mle_runtime,
    name: *const c_char,
    variants: *const mle_variant,
    count: usize,
    scheme: u32,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let rt = unsafe { runtime_ref(runtime)? };
        // SAFETY: C contract: NUL-terminated.
        let name = utf8(unsafe { c_string(name, "name")? }, "name")?;
        if variants.is_null() {
            return fail(Status::InvalidArgument, "variants is NULL");
        }
        // SAFETY: C contract: `count` variants.
        let list = unsafe { slice(variants, count, "variants")? };
        let scheme = match scheme {
            MLE_ASSIGN_SEED_MD5 => Assignment::SeedMd5,
            MLE_ASSIGN_GROWTHBOOK_V1 => Assignment::GrowthBook { hash_version: 1 },
            MLE_ASSIGN_GROWTHBOOK_V2 => Assignment::GrowthBook { hash_version: 2 },
            other => return fail(Status::InvalidArgument, format!("scheme {other} is not an MLE_ASSIGN_* value")),
        };
        let mut owned = Vec::with_capacity(list.len());
        for (i, v) in list.iter().enumerate() {
            // SAFETY: C contract: NUL-terminated name, live model handle.
            let (vname, model) = unsafe { (c_string(v.name, "variant name")?, model_ref(v.model)?) };
            let vname = utf8(vname, "variant name")
                .map_err(|e| Error::new(e.status(), format!("variant {i}: {}", e.message())))?;
            owned.push(Variant { name: vname.to_string(), model: model.model.clone(), weight: v.weight });
        }
        rt.set_experiment(name, &owned, scheme)
    })
}

/// The host's assignment hook and its userdata (freed when the hook is dropped).
struct HostHook {
    hook: unsafe extern "C" fn(*mut c_void, *const c_char, usize, *const c_char, usize) -> i64,
    userdata: Userdata,
}

impl HostHook {
    fn call(&self, experiment: &str, user: &str) -> i64 {
        // SAFETY: the host's function with its userdata; the strings live for the call.
        unsafe {
            (self.hook)(
                self.userdata.get(),
                experiment.as_ptr() as *const c_char,
                experiment.len(),
                user.as_ptr() as *const c_char,
                user.len(),
            )
        }
    }
}

/// Installs the assignment hook (NULL `hook` removes it). `free_userdata` (may be NULL) is
/// called with `userdata` when the hook is replaced or removed or the runtime freed.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_set_assignment_hook(
    runtime: *const mle_runtime,
    hook: mle_assignment_hook,
    userdata: *mut c_void,
    free_userdata: mle_free_userdata,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let rt = unsafe { runtime_ref(runtime)? };
        let userdata = Userdata::new(userdata, free_userdata);
        let Some(hook) = hook else {
            drop(userdata); // not kept: released now, as documented
            return rt.set_assignment_hook(None);
        };
        let host = HostHook { hook, userdata };
        rt.set_assignment_hook(Some(Box::new(move |experiment: &str, user: &str| host.call(experiment, user))))
    })
}

/// The host's event callback and its userdata (freed when the callback is dropped).
struct HostEvents {
    callback: unsafe extern "C" fn(*mut c_void, *const mle_event),
    userdata: Userdata,
}

impl HostEvents {
    fn call(&self, e: &Event) {
        let c = |s: &str| CString::new(s.replace('\0', " ")).unwrap_or_default();
        let (from, to, message) = (c(&e.from_version), c(&e.to_version), c(&e.message));
        let event = mle_event {
            kind: e.kind as i32,
            variant: e.variant,
            from_version: from.as_ptr(),
            to_version: to.as_ptr(),
            stage_percent: e.stage_percent,
            level: e.level as i32,
            message: message.as_ptr(),
        };
        // SAFETY: the host's function with its userdata; the strings outlive the call.
        unsafe { (self.callback)(self.userdata.get(), &event) };
    }
}

/// Installs the event callback (NULL removes it); `free_userdata` as for the hook.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_set_event_callback(
    runtime: *const mle_runtime,
    callback: mle_event_callback,
    userdata: *mut c_void,
    free_userdata: mle_free_userdata,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let rt = unsafe { runtime_ref(runtime)? };
        let userdata = Userdata::new(userdata, free_userdata);
        let Some(callback) = callback else {
            drop(userdata); // not kept: released now, as documented
            rt.set_event_callback(None);
            return Ok(());
        };
        let host = HostEvents { callback, userdata };
        rt.set_event_callback(Some(Box::new(move |e: &Event| host.call(e))));
        Ok(())
    })
}

/// C self-test cases as owned cases.
///
/// # Safety
/// `cases` is NULL (with count 0) or points to `count` cases whose pointers follow their docs.
unsafe fn cases_from_c(cases: *const mle_self_test_case, count: usize) -> Result<Option<Vec<SelfTestCase>>> {
    // SAFETY: C contract.
    let list = unsafe { slice(cases, count, "cases")? };
    if list.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, c) in list.iter().enumerate() {
        let context = |e: Error| Error::new(e.status(), format!("self-test case {i}: {}", e.message()));
        // SAFETY: C contract: NUL-terminated label.
        let label = utf8(unsafe { c_string(c.expected_label, "expected_label") }.map_err(context)?, "expected_label")
            .map_err(context)?;
        let given = [!c.text.is_null(), !c.features.is_null(), !c.bytes.is_null()];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(context(Error::new(Status::InvalidArgument, "set exactly one of text, features, bytes")));
        }
        // SAFETY: C contract: the set input is valid for its length.
        let input = unsafe {
            if !c.text.is_null() {
                OwnedInput::Text(utf8(c_string(c.text, "text")?, "text").map_err(context)?.to_string())
            } else if !c.features.is_null() {
                OwnedInput::Tensor(slice(c.features, c.feature_count, "features").map_err(context)?.to_vec())
            } else {
                OwnedInput::Bytes(slice(c.bytes, c.byte_count, "bytes").map_err(context)?.to_vec())
            }
        };
        out.push(SelfTestCase { input, expected_label: label.to_string() });
    }
    Ok(Some(out))
}

/// Hot swap: `model` serves `variant` once it passes its self-test (`cases`, or the card's
/// `self_test` cases when `count` is 0). A refused model leaves the old one serving.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL/wrong handles, no such variant, malformed cases),
/// `MLE_ERR_SELF_TEST_FAILED`, `MLE_ERR_INVALID_STATE` (variant under rollout),
/// `MLE_ERR_SHUTTING_DOWN`.
///
/// Thread safety: safe from any thread, while requests run.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_swap(
    runtime: *const mle_runtime,
    variant: usize,
    model: *const mle_model,
    cases: *const mle_self_test_case,
    count: usize,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let (rt, model, cases) = unsafe { (runtime_ref(runtime)?, model_ref(model)?, cases_from_c(cases, count)?) };
        rt.swap(variant, &model.model, cases.as_deref())
    })
}

/// Loads the model directory or file at `path` (default model options) and swaps it in; a model
/// that fails to load is refused like one that fails its self-test (event, last error), and the
/// load's status is returned (`MLE_ERR_IO`, `MLE_ERR_MODEL_INVALID`, ...).
///
/// Thread safety: safe from any thread, while requests run.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_swap_path(
    runtime: *const mle_runtime,
    variant: usize,
    path: *const c_char,
    cases: *const mle_self_test_case,
    count: usize,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let (rt, path, cases) =
            unsafe { (runtime_ref(runtime)?, c_string(path, "path")?, cases_from_c(cases, count)?) };
        let path = utf8(path, "path")?;
        rt.swap_from_path(variant, path, &ModelOptions::default(), cases.as_deref())
    })
}

/// Fills `*options` with the defaults (10/25/50/100%, 100 requests per stage, auto-promote,
/// alerts judged from 30 candidate requests).
/// NULL is ignored.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_rollout_options_init(options: *mut mle_rollout_options) {
    // SAFETY: C contract: NULL or writable.
    if let Some(o) = unsafe { options.as_mut() } {
        let d = RolloutConfig::default();
        o.stages_percent = [0; 8];
        o.stages_percent[..d.stages_percent.len()].copy_from_slice(&d.stages_percent);
        o.stage_count = d.stages_percent.len() as u32;
        o.requests_per_stage = d.requests_per_stage;
        o.auto_promote = 1;
    }
}

/// Starts a staged rollout of `candidate` for `variant` (`options` may be NULL: defaults) after
/// its self-test (as `mle_runtime_swap`).
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (handles, stages not increasing / not ending at 100,
/// 0 requests per stage), `MLE_ERR_INVALID_STATE` (a rollout runs), `MLE_ERR_SELF_TEST_FAILED`,
/// `MLE_ERR_SHUTTING_DOWN`.
///
/// Thread safety: safe from any thread, while requests run.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_start_rollout(
    runtime: *const mle_runtime,
    variant: usize,
    candidate: *const mle_model,
    options: *const mle_rollout_options,
    cases: *const mle_self_test_case,
    count: usize,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let (rt, model, options, cases) =
            unsafe { (runtime_ref(runtime)?, model_ref(candidate)?, options.as_ref(), cases_from_c(cases, count)?) };
        let config = match options {
            None => RolloutConfig::default(),
            Some(o) => {
                if o.stage_count as usize > o.stages_percent.len() || o.auto_promote > 1 {
                    return fail(Status::InvalidArgument, "stage_count must be at most 8 and auto_promote 0 or 1");
                }
                RolloutConfig {
                    stages_percent: o.stages_percent[..o.stage_count as usize].to_vec(),
                    requests_per_stage: o.requests_per_stage,
                    auto_promote: o.auto_promote == 1,
                }
            }
        };
        rt.start_rollout(variant, &model.model, config, cases.as_deref())
    })
}

/// Promotes the rollout candidate now. Errors: `MLE_ERR_INVALID_STATE` without a rollout.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_promote(runtime: *const mle_runtime) -> mle_status {
    // SAFETY: C contract.
    guard(|| unsafe { runtime_ref(runtime)? }.promote())
}

/// Rolls `variant` back: stops its rollout, or swaps its previous version back in.
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (no such variant), `MLE_ERR_INVALID_STATE` (nothing to roll back to).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_rollback(runtime: *const mle_runtime, variant: usize) -> mle_status {
    // SAFETY: C contract.
    guard(|| unsafe { runtime_ref(runtime)? }.rollback(variant))
}

/// Sets the shadow model, sampling `fraction` (0 < f <= 1) of requests off the request path.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (handles, fraction, another input kind).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_set_shadow(
    runtime: *const mle_runtime,
    model: *const mle_model,
    fraction: f64,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let (rt, model) = unsafe { (runtime_ref(runtime)?, model_ref(model)?) };
        rt.set_shadow(&model.model, fraction)
    })
}

/// Removes the shadow (waiting comparisons are discarded and counted).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_clear_shadow(runtime: *const mle_runtime) -> mle_status {
    // SAFETY: C contract.
    guard(|| unsafe { runtime_ref(runtime)? }.clear_shadow())
}

/// The shadow's results into `*out`. Errors: `MLE_ERR_INVALID_STATE` without a shadow.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_shadow_report(
    runtime: *const mle_runtime,
    out: *mut mle_shadow_report,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let (rt, out) = unsafe { (runtime_ref(runtime)?, output(out, "out")?) };
        let r = rt.shadow_report()?.ok_or_else(|| Error::new(Status::InvalidState, "no shadow is set"))?;
        copy_text(&r.version, &mut out.version);
        out.fraction = r.fraction;
        out.sampled = r.sampled;
        out.compared = r.compared;
        out.agreed = r.agreed;
        out.agreement_rate = r.agreement_rate;
        out.shadow_errors = r.shadow_errors;
        out.production_errors = r.production_errors;
        out.skipped_queue_full = r.skipped_queue_full;
        out.skipped_too_large = r.skipped_too_large;
        out.pending = r.pending;
        out.discarded = r.discarded;
        out.latency_p95_us = r.latency_p95_us;
        out.window_count = r.window_count;
        Ok(())
    })
}

/// Records one outcome of `variant` (`converted` 0 or 1).
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
        // SAFETY: C contract.
        unsafe { runtime_ref(runtime)? }.record_outcome(variant, converted == 1)
    })
}

fn write_significance(s: &Significance, out: &mut mle_significance_result) {
    *out = mle_significance_result {
        control_rate: s.control_rate,
        treatment_rate: s.treatment_rate,
        lift: s.lift,
        lift_percent: s.lift_percent,
        p_value: s.p_value,
        z_score: s.z_score,
        ci_lower: s.ci_lower,
        ci_upper: s.ci_upper,
        significant: s.significant as u32,
    };
}

/// The seed's significance test of `treatment` against `control` on the recorded outcomes.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (no such variant, a variant without outcomes, confidence
/// level outside (0, 1)).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_significance(
    runtime: *const mle_runtime,
    control: usize,
    treatment: usize,
    confidence_level: f64,
    out: *mut mle_significance_result,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let (rt, out) = unsafe { (runtime_ref(runtime)?, output(out, "out")?) };
        write_significance(&rt.significance(control, treatment, confidence_level)?, out);
        Ok(())
    })
}

/// The seed's `calculate_significance` (pooled two-proportion z-test) on given counts.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (a total of 0, conversions above their total,
/// confidence level outside (0, 1), NULL out).
///
/// Thread safety: safe from any thread (stateless).
#[no_mangle]
pub unsafe extern "C" fn mle_ab_significance(
    control_conversions: u64,
    control_total: u64,
    treatment_conversions: u64,
    treatment_total: u64,
    confidence_level: f64,
    out: *mut mle_significance_result,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let out = unsafe { output(out, "out")? };
        let s = calculate_significance(
            control_conversions,
            control_total,
            treatment_conversions,
            treatment_total,
            confidence_level,
        )?;
        write_significance(&s, out);
        Ok(())
    })
}

/// The shared body of the stateless assignment calls: checks the arguments, then `choose`.
///
/// # Safety
/// The pointers follow the contract of `mle_ab_assign`.
unsafe fn assign(
    experiment: *const c_char,
    user_id: *const c_char,
    weights: *const f64,
    n: usize,
    variant: *mut usize,
    choose: impl FnOnce(&str, &str, &[f64]) -> Result<usize>,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract: NUL-terminated strings, writable output.
        let (experiment, user, variant) = unsafe {
            (c_string(experiment, "experiment")?, c_string(user_id, "user_id")?, output(variant, "variant")?)
        };
        if weights.is_null() {
            return fail(Status::InvalidArgument, "weights is NULL");
        }
        // SAFETY: C contract: n doubles.
        let weights = unsafe { slice(weights, n, "weights")? };
        *variant = choose(utf8(experiment, "experiment")?, utf8(user, "user_id")?, weights)?;
        Ok(())
    })
}

/// The seed's variant for `user_id` in `experiment` (md5 of "experiment:user_id", bucket
/// `% 1000 / 1000`, cumulative weights): bit-identical to the seed's `ABTest.get_variant`.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL strings or weights, `n` of 0 or above 16, NaN or
/// negative weights, weights not summing to 1 within 0.001, NULL variant), `MLE_ERR_INVALID_UTF8`.
///
/// Thread safety: safe from any thread (stateless, no allocation).
#[no_mangle]
pub unsafe extern "C" fn mle_ab_assign(
    experiment: *const c_char,
    user_id: *const c_char,
    weights: *const f64,
    n: usize,
    variant: *mut usize,
) -> mle_status {
    // SAFETY: C contract of this function.
    unsafe { assign(experiment, user_id, weights, n, variant, ab::assign_seed) }
}

/// GrowthBook's variant for `user_id` with seed `experiment` (`hash_version` 1 or 2): what a
/// GrowthBook SDK picks for the same experiment key, weights and full coverage.
///
/// Errors: as `mle_ab_assign`, plus a hash version other than 1 or 2.
///
/// Thread safety: safe from any thread (stateless, no allocation).
#[no_mangle]
pub unsafe extern "C" fn mle_ab_assign_growthbook(
    experiment: *const c_char,
    user_id: *const c_char,
    weights: *const f64,
    n: usize,
    hash_version: u32,
    variant: *mut usize,
) -> mle_status {
    let version = u8::try_from(hash_version).unwrap_or(0);
    // SAFETY: C contract of this function.
    unsafe {
        assign(experiment, user_id, weights, n, variant, |e, u, w| {
            ab::validate_weights(w)?;
            ab::choose_growthbook(e, u, w, version)
        })
    }
}

/// Counts of `variant` into `*out`. Errors: `MLE_ERR_INVALID_ARGUMENT` (no such variant).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_variant_stats(
    runtime: *const mle_runtime,
    variant: usize,
    out: *mut mle_variant_stats,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let (rt, out) = unsafe { (runtime_ref(runtime)?, output(out, "out")?) };
        let s = rt.variant_stats(variant)?;
        copy_text(&s.name, &mut out.name);
        copy_text(&s.version, &mut out.version);
        out.weight = s.weight;
        out.requests = s.requests;
        out.errors = s.errors;
        out.candidate_requests = s.candidate_requests;
        out.conversions = s.conversions;
        out.outcomes = s.outcomes;
        Ok(())
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

/// Analyses the monitor of one model (`role` `MLE_ROLE_*`; `variant` for `MLE_ROLE_VARIANT`)
/// into `*out`, as `mle_monitor_snapshot` (label counts optional, same buffer rules).
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (bad role/variant), `MLE_ERR_INVALID_STATE` (no such
/// candidate/shadow), `MLE_ERR_BUFFER_TOO_SMALL`.
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
        // SAFETY: C contract.
        let (rt, out) = unsafe { (runtime_ref(runtime)?, output(out, "out")?) };
        // SAFETY: C contract: NULL or writable.
        let counts = unsafe { optional_out_slice(label_counts, label_capacity, "label_counts")? };
        if counts.is_none() && label_capacity != 0 {
            return fail(Status::InvalidArgument, "label_counts is NULL but label_capacity is not 0");
        }
        let snapshot = rt.snapshot(target(role, variant)?)?;
        let needed = snapshot.label_counts.len();
        if let Some(dst) = counts {
            if dst.len() < needed {
                return fail(Status::BufferTooSmall, format!("label_counts holds {}, needs {needed}", dst.len()));
            }
            dst[..needed].copy_from_slice(&snapshot.label_counts);
        }
        write_snapshot(&snapshot, out);
        // SAFETY: NULL or writable.
        unsafe { write_optional(labels_written, needed) };
        Ok(())
    })
}

/// One supervisor pass now on the calling thread: shadow comparisons, monitor analyses
/// (alert-level events), rollout decisions. Needed when `supervisor_thread` is 0.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_evaluate(runtime: *const mle_runtime) -> mle_status {
    // SAFETY: C contract.
    guard(|| unsafe { runtime_ref(runtime)? }.evaluate())
}

/// The runtime's health into `*out`; `models` (may be NULL with capacity 0) gets up to
/// `capacity` loaded models and `out->model_count` says how many there are (a smaller buffer
/// gets `MLE_ERR_BUFFER_TOO_SMALL`, `*out` still written).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_health(
    runtime: *const mle_runtime,
    out: *mut mle_health,
    models: *mut mle_loaded_model,
    capacity: usize,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let (rt, out) = unsafe { (runtime_ref(runtime)?, output(out, "out")?) };
        // SAFETY: C contract: NULL or `capacity` writable structs.
        let buffer = unsafe { optional_out_slice(models, capacity, "models")? };
        if buffer.is_none() && capacity != 0 {
            return fail(Status::InvalidArgument, "models is NULL but capacity is not 0");
        }
        let h = rt.health();
        let c = &h.counters;
        out.state = h.state as i32;
        out.level = h.level as i32;
        out.uptime_seconds = h.uptime.as_secs_f64();
        out.in_flight = h.in_flight;
        out.requests = c.requests;
        out.errors = c.errors;
        out.busy = c.busy;
        out.refused_shutting_down = c.refused_shutting_down;
        out.hook_errors = c.hook_errors;
        out.swaps = c.swaps;
        out.refused_models = c.refused_models;
        out.rollbacks = c.rollbacks;
        out.rollouts_completed = c.rollouts_completed;
        out.rollout_active = h.rollout.is_some() as u32;
        let r = h.rollout.clone().unwrap_or(crate::runtime::RolloutStatus {
            variant: 0,
            candidate_version: String::new(),
            stage: 0,
            percent: 0,
            served_at_stage: 0,
            requests_per_stage: 0,
        });
        out.rollout_variant = r.variant;
        out.rollout_stage = r.stage as u32;
        out.rollout_percent = r.percent;
        out.rollout_served_at_stage = r.served_at_stage;
        out.rollout_requests_per_stage = r.requests_per_stage;
        copy_text(&r.candidate_version, &mut out.rollout_candidate_version);
        copy_text(h.last_error.as_deref().unwrap_or(""), &mut out.last_error);
        let t = h.telemetry.clone().unwrap_or_default();
        out.telemetry_enabled = u32::from(h.telemetry.is_some());
        out.telemetry_sent = t.sent;
        out.telemetry_retried = t.retried;
        out.telemetry_dropped = t.dropped_queue_full + t.dropped_by_host;
        out.telemetry_pending = t.pending;
        out.model_count = h.models.len();
        let Some(buffer) = buffer else { return Ok(()) };
        if buffer.len() < h.models.len() {
            return fail(Status::BufferTooSmall, format!("models holds {}, needs {}", buffer.len(), h.models.len()));
        }
        for (dst, m) in buffer.iter_mut().zip(&h.models) {
            dst.role = m.role as i32;
            dst.variant = m.variant;
            copy_text(&m.variant_name, &mut dst.variant_name);
            copy_text(&m.version, &mut dst.version);
            dst.trained_at_unix = m.staleness.trained_at_unix.unwrap_or(super::MLE_TIME_UNKNOWN);
            dst.age_days = m.staleness.age_days.unwrap_or(super::MLE_TIME_UNKNOWN);
            dst.needs_retraining = m.staleness.needs_retraining as u32;
            dst.staleness_level = m.staleness.level as i32;
            dst.alert_level = m.alert_level as i32;
        }
        Ok(())
    })
}

/// Graceful shutdown: new requests get `MLE_ERR_SHUTTING_DOWN`; waits up to `timeout_ms` for
/// in-flight ones (`MLE_ERR_BUSY` if some still run: call again), runs the queued shadow
/// comparisons, stops the supervisor, and calls `callback` (may be NULL) once per loaded model
/// with its last snapshot. Free the runtime afterwards with `mle_runtime_free`.
///
/// Errors: `MLE_ERR_BUSY` (timeout), `MLE_ERR_INVALID_STATE` (already stopped, or called from
/// an event callback on the supervisor thread).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_shutdown(
    runtime: *const mle_runtime,
    timeout_ms: u32,
    callback: mle_final_snapshot_callback,
    userdata: *mut c_void,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let rt = unsafe { runtime_ref(runtime)? };
        let report = rt.shutdown(Duration::from_millis(timeout_ms.into()))?;
        let Some(callback) = callback else { return Ok(()) };
        for (role, variant, version, snapshot) in &report.snapshots {
            let c = snapshot_to_c(snapshot);
            let version = CString::new(version.replace('\0', " ")).unwrap_or_default();
            let role = match role {
                Role::Variant => MLE_ROLE_VARIANT,
                Role::Candidate => MLE_ROLE_CANDIDATE,
                Role::Shadow => MLE_ROLE_SHADOW,
            };
            // SAFETY: the host's function and userdata; the pointers live for the call.
            unsafe { callback(userdata, role, *variant, version.as_ptr(), &c) };
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_at_a_char_boundary() {
        let mut buf = [0 as c_char; 5];
        assert!(!copy_text("abcd", &mut buf));
        assert!(copy_text("abcdé", &mut buf));
        assert!(copy_text("abcé", &mut buf));
        assert_eq!(buf[3], 0, "é (2 bytes) does not fit after abc");
        assert_eq!(RUNTIME_MAGIC.to_le_bytes(), *b"mle:rtim");
    }
}
