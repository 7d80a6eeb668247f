//! The runtime's C structs and constants.

use std::ffi::{c_char, c_void};

use super::super::abi::Extensible;
use super::super::model::mle_model;
use super::super::monitor_types::{mle_monitor_options, mle_monitor_thresholds, mle_snapshot};
use super::super::session::MLE_POOL_AUTO;
use super::super::telemetry::{mle_telemetry, MLE_ERROR_BUFFER};
use crate::deploy::rollout::RolloutConfig;
use crate::runtime::RuntimeOptions;

/// Bytes of the fixed name and version buffers in runtime structs (64 bytes + NUL).
pub const MLE_NAME_BUFFER: usize = 65;
/// Bytes of `mle_served::label` (NUL included); longer labels are cut at a UTF-8 boundary and
/// flagged with `MLE_FLAG_LABEL_TRUNCATED`.
pub const MLE_LABEL_BUFFER: usize = 128;
/// `mle_served::flags`: the label did not fit `MLE_LABEL_BUFFER` and was cut.
pub const MLE_FLAG_LABEL_TRUNCATED: u32 = 1 << 16;
/// Most stages of a rollout.
pub const MLE_MAX_STAGES: usize = 8;

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

/// Runtime options: fill with `mle_runtime_options_init`, then change fields.
#[repr(C)]
pub struct mle_runtime_options {
    /// `sizeof(mle_runtime_options)`.
    pub struct_size: u32,
    /// Sessions per loaded model = requests one model serves at once, 1..=64 (default 4).
    pub max_concurrency: u32,
    /// Milliseconds a request waits for a free session before `MLE_ERR_BUSY`, 0..=60000
    /// (default 50; 0 = fail at once).
    pub busy_wait_ms: u32,
    /// Session memory pool: `MLE_POOL_AUTO` (default), `MLE_POOL_OFF` or `MLE_POOL_FIXED`.
    pub pool_mode: i32,
    /// Pool bytes for `MLE_POOL_FIXED` (`MLE_POOL_MIN_BYTES..=MLE_POOL_MAX_BYTES`).
    pub pool_bytes: usize,
    /// Template of each model's monitor, or NULL for the defaults (`max_sessions` and
    /// `label_count` are set per model). Copied: it may be freed after `mle_runtime_new`.
    pub monitor: *const mle_monitor_options,
    /// Thresholds of each model's monitor, or NULL for the defaults. Copied.
    pub thresholds: *const mle_monitor_thresholds,
    /// Shadow queue slots, 1..=65536 (default 64).
    pub shadow_queue_capacity: u32,
    /// Largest text/byte input copied for the shadow, 0..=64 MiB (default 16384; larger inputs
    /// are skipped and counted).
    pub shadow_max_input_bytes: u32,
    /// Milliseconds between supervisor analyses, 1..=86400000 (default 1000).
    pub evaluation_interval_ms: u32,
    /// Staleness warning after this many days, >= 0 (default 30).
    pub staleness_warning_days: i32,
    /// Staleness critical after this many days, >= the warning (default 60).
    pub staleness_critical_days: i32,
    /// 1 (default): run a supervisor thread; 0: call `mle_runtime_evaluate` yourself.
    pub supervisor_thread: u32,
    /// Telemetry recording every request (sampled) and event, or NULL (default). The runtime
    /// keeps its own reference: the handle may be freed before the runtime.
    pub telemetry: *const mle_telemetry,
    /// Trusted Ed25519 public keys, 32 bytes each, back to back (`trusted_key_count`, at most 64),
    /// or NULL. With keys, the runtime takes only models loaded from a package signed by one of
    /// them — the production model at `mle_runtime_new`, swaps, rollouts, experiment variants,
    /// schema changes, the shadow — whoever loaded them; anything else is refused
    /// (`MLE_ERR_PACKAGE_UNSIGNED`, `MLE_ERR_PACKAGE_UNTRUSTED_KEY`) with event
    /// `MLE_EVENT_SWAP_REFUSED`, the deployment unchanged. `mle_runtime_swap_path` and
    /// `mle_runtime_start_rollout_path` load under these keys when their model options have
    /// none. The keys are copied. Since C ABI 1.3.
    pub trusted_keys: *const u8,
    /// Number of 32-byte keys at `trusted_keys` (0..=64). Since C ABI 1.3.
    pub trusted_key_count: usize,
    /// Lowest package version the runtime takes (0 = any; above 0, plain ONNX models are refused
    /// too): `MLE_ERR_PACKAGE_OUTDATED`. Since C ABI 1.3.
    pub min_package_version: u64,
}

/// One answered request (set `struct_size` before the call).
#[repr(C)]
pub struct mle_served {
    /// `sizeof(mle_served)`, set by the caller.
    pub struct_size: u32,
    /// 1 when the rollout candidate answered, else 0.
    pub candidate: u32,
    /// The variant the user was assigned to.
    pub variant: usize,
    /// Index of the most probable label.
    pub label_index: u32,
    /// Its probability.
    pub score: f32,
    /// `MLE_FLAG_*` bits (plus `MLE_FLAG_LABEL_TRUNCATED`).
    pub flags: u32,
    /// Tokens, bytes or values of the input.
    pub input_length: u32,
    /// Time spent in the model call, in nanoseconds.
    pub latency_ns: u64,
    /// The label's name (NUL-terminated copy: stays valid whatever swaps happen later).
    pub label: [c_char; MLE_LABEL_BUFFER],
    /// The answering model's version (NUL-terminated copy).
    pub version: [c_char; MLE_NAME_BUFFER],
}

/// One variant of an experiment (an array: set `struct_size` in every element).
#[repr(C)]
pub struct mle_variant {
    /// `sizeof(mle_variant)`.
    pub struct_size: u32,
    /// Its name (1..=64 bytes, UTF-8, NUL-terminated).
    pub name: *const c_char,
    /// The model serving it (the runtime keeps its own reference; the handle may be freed after).
    pub model: *const mle_model,
    /// Its weight (all weights sum to 1 within 0.001).
    pub weight: f64,
}

/// One self-test case (an array: set `struct_size` in every element): exactly one of `text`,
/// `features`, `bytes` set, and the label the model must give.
#[repr(C)]
pub struct mle_self_test_case {
    /// `sizeof(mle_self_test_case)`.
    pub struct_size: u32,
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
    /// The label the model must give (NUL-terminated UTF-8).
    pub expected_label: *const c_char,
}

/// How a rollout moves: fill with `mle_rollout_options_init`, then change fields.
#[repr(C)]
pub struct mle_rollout_options {
    /// `sizeof(mle_rollout_options)`.
    pub struct_size: u32,
    /// How many of `stages_percent` are used, 1..=8 (default 4: 10, 25, 50, 100).
    pub stage_count: u32,
    /// Candidate traffic per stage in percent, increasing, the last 100.
    pub stages_percent: [u32; MLE_MAX_STAGES],
    /// 1 (default): promote after the last stage; 0: wait for `mle_runtime_promote`.
    pub auto_promote: u32,
    /// Candidate requests per stage before it may advance, >= 1 (default 100). A stage also
    /// waits until the candidate's monitor has judged it: its window holds the thresholds'
    /// `min_alert_samples` successes (default 30).
    pub requests_per_stage: u64,
}

/// A deployment event (strings valid during the callback only; `struct_size` is the library's).
#[repr(C)]
pub struct mle_event {
    /// `sizeof(mle_event)` of the library.
    pub struct_size: u32,
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

/// Receives deployment events, on the thread that caused them (a control call's, the
/// supervisor's, or the one calling `mle_runtime_evaluate`). It may call the runtime except
/// `mle_runtime_shutdown`/`mle_runtime_free`.
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

/// Called by `mle_runtime_shutdown` once per loaded model with its last snapshot (on the calling
/// thread, inside that call; the pointers are valid during the call only).
pub type mle_final_snapshot_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        role: i32,
        variant: usize,
        version: *const c_char,
        snapshot: *const mle_snapshot,
    ),
>;

/// Counts of one variant (set `struct_size` first).
#[repr(C)]
pub struct mle_variant_stats {
    /// `sizeof(mle_variant_stats)`, set by the caller.
    pub struct_size: u32,
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

/// Shadow testing results (set `struct_size` first).
#[repr(C)]
pub struct mle_shadow_report {
    /// `sizeof(mle_shadow_report)`, set by the caller.
    pub struct_size: u32,
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

/// One loaded model in `mle_runtime_get_health` (an array: set `struct_size` in element 0).
#[repr(C)]
pub struct mle_loaded_model {
    /// `sizeof(mle_loaded_model)`, set by the caller in element 0.
    pub struct_size: u32,
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

/// The runtime's health (set `struct_size` first).
#[repr(C)]
pub struct mle_health {
    /// `sizeof(mle_health)`, set by the caller.
    pub struct_size: u32,
    /// `MLE_STATE_*`.
    pub state: i32,
    /// Most severe alert or staleness level of the serving models (`MLE_LEVEL_*`).
    pub level: i32,
    /// 1 when a rollout runs.
    pub rollout_active: u32,
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
    /// The rollout's variant.
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
    /// Loaded models (see `models` of `mle_runtime_get_health`).
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
    /// Spool bytes lost when the telemetry was created: a torn tail cut, damage skipped, or a
    /// spool found emptied (`mle_telemetry_stats` says which). Since C ABI 1.1.
    pub telemetry_spool_lost_bytes: u64,
}

// SAFETY: repr(C), struct_size first, plain data.
unsafe impl Extensible for mle_runtime_options {
    const NAME: &'static str = "mle_runtime_options";
    // ABI 1.0 to 1.2 ended after `telemetry`.
    const SIZES: &'static [usize] =
        &[std::mem::offset_of!(mle_runtime_options, trusted_keys), std::mem::size_of::<mle_runtime_options>()];
    fn defaults() -> Self {
        let d = RuntimeOptions::default();
        mle_runtime_options {
            struct_size: std::mem::size_of::<Self>() as u32,
            max_concurrency: d.max_concurrency as u32,
            busy_wait_ms: d.busy_wait.as_millis() as u32,
            pool_mode: MLE_POOL_AUTO,
            pool_bytes: 0,
            monitor: std::ptr::null(),
            thresholds: std::ptr::null(),
            shadow_queue_capacity: d.shadow_queue_capacity as u32,
            shadow_max_input_bytes: d.shadow_max_input_bytes as u32,
            evaluation_interval_ms: d.evaluation_interval.as_millis() as u32,
            staleness_warning_days: d.staleness.warning_days as i32,
            staleness_critical_days: d.staleness.critical_days as i32,
            supervisor_thread: 1,
            telemetry: std::ptr::null(),
            trusted_keys: std::ptr::null(),
            trusted_key_count: 0,
            min_package_version: 0,
        }
    }
}

// SAFETY: repr(C), struct_size first, plain data.
unsafe impl Extensible for mle_rollout_options {
    const NAME: &'static str = "mle_rollout_options";
    const SIZES: &'static [usize] = &[std::mem::size_of::<mle_rollout_options>()];
    fn defaults() -> Self {
        let d = RolloutConfig::default();
        let mut stages_percent = [0; MLE_MAX_STAGES];
        stages_percent[..d.stages_percent.len()].copy_from_slice(&d.stages_percent);
        mle_rollout_options {
            struct_size: std::mem::size_of::<Self>() as u32,
            stage_count: d.stages_percent.len() as u32,
            stages_percent,
            auto_promote: d.auto_promote as u32,
            requests_per_stage: d.requests_per_stage,
        }
    }
}

// SAFETY: repr(C), struct_size first, plain data.
unsafe impl Extensible for mle_variant {
    const NAME: &'static str = "mle_variant";
    const SIZES: &'static [usize] = &[std::mem::size_of::<mle_variant>()];
    fn defaults() -> Self {
        // SAFETY: all-zero is a valid value (NULL pointers, weight 0).
        unsafe { std::mem::zeroed() }
    }
}

// SAFETY: repr(C), struct_size first, plain data.
unsafe impl Extensible for mle_self_test_case {
    const NAME: &'static str = "mle_self_test_case";
    const SIZES: &'static [usize] = &[std::mem::size_of::<mle_self_test_case>()];
    fn defaults() -> Self {
        // SAFETY: all-zero is a valid value (NULL pointers, zero counts).
        unsafe { std::mem::zeroed() }
    }
}

super::super::abi::extensible_out! {
    mle_served: &[std::mem::size_of::<mle_served>()];
    mle_variant_stats: &[std::mem::size_of::<mle_variant_stats>()];
    mle_shadow_report: &[std::mem::size_of::<mle_shadow_report>()];
    mle_loaded_model: &[std::mem::size_of::<mle_loaded_model>()];
    // ABI 1.0 ended before `telemetry_spool_lost_bytes` (added in 1.1).
    mle_health: &[std::mem::offset_of!(mle_health, telemetry_spool_lost_bytes), std::mem::size_of::<mle_health>()];
}
