// The JNA mapping of include/mlops_edge.h: one interface for the functions, one Structure per C
// struct (field order and types as in the header; `LayoutTest` checks every size against the C
// compiler's). Internal: applications use the classes in MlopsEdge.kt.
package mlopsedge

import com.sun.jna.Callback
import com.sun.jna.IntegerType
import com.sun.jna.Library
import com.sun.jna.Memory
import com.sun.jna.Native
import com.sun.jna.Pointer
import com.sun.jna.Structure
import com.sun.jna.ptr.PointerByReference

/** C `size_t` (8 bytes on 64-bit targets, 4 on armv7). */
class SizeT(value: Long) : IntegerType(Native.SIZE_T_SIZE, value, true) {
    constructor() : this(0)
    override fun toByte(): Byte = toInt().toByte()
    override fun toChar(): Char = toInt().toChar()
    override fun toShort(): Short = toInt().toShort()
}

/** A `size_t` out-parameter. */
internal class SizeTOut : Memory(Native.SIZE_T_SIZE.toLong()) {
    init { clear() }
    val value: Long get() = if (Native.SIZE_T_SIZE == 8) getLong(0) else getInt(0).toLong() and 0xffffffffL
}

internal fun cString(s: String): ByteArray {
    require(!s.contains('\u0000')) { "strings passed to the library cannot contain NUL" }
    return (s + "\u0000").toByteArray(Charsets.UTF_8)
}

internal fun fromC(bytes: ByteArray): String {
    val end = bytes.indexOf(0.toByte()).let { if (it < 0) bytes.size else it }
    return String(bytes, 0, end, Charsets.UTF_8)
}

internal fun fromC(p: Pointer?): String = p?.getString(0, "UTF-8") ?: ""

const val MAX_FEATURES = 8
const val STATUS_SLOTS = 32
const val MAX_VERSIONS = 16
const val VERSION_BUFFER = 65
const val MAX_ALERTS = 16
const val NAME_BUFFER = 65
const val LABEL_BUFFER = 128
const val ERROR_BUFFER = 256

@Structure.FieldOrder("label_index", "score", "label", "latency_ns", "flags", "input_length")
class CPrediction : Structure() {
    @JvmField var label_index: Int = 0
    @JvmField var score: Float = 0f
    @JvmField var label: Pointer? = null
    @JvmField var latency_ns: Long = 0
    @JvmField var flags: Int = 0
    @JvmField var input_length: Int = 0
}

@Structure.FieldOrder("variant", "candidate", "label_index", "score", "flags", "latency_ns", "input_length", "label", "version")
class CServed : Structure() {
    @JvmField var variant: SizeT = SizeT()
    @JvmField var candidate: Int = 0
    @JvmField var label_index: Int = 0
    @JvmField var score: Float = 0f
    @JvmField var flags: Int = 0
    @JvmField var latency_ns: Long = 0
    @JvmField var input_length: Int = 0
    @JvmField var label = ByteArray(LABEL_BUFFER)
    @JvmField var version = ByteArray(NAME_BUFFER)
}

@Structure.FieldOrder("name", "version", "trained_at", "description", "metrics_json", "trained_at_unix",
    "input_kind", "label_count", "max_input_length", "plan_count")
class CModelDetails : Structure() {
    @JvmField var name: Pointer? = null
    @JvmField var version: Pointer? = null
    @JvmField var trained_at: Pointer? = null
    @JvmField var description: Pointer? = null
    @JvmField var metrics_json: Pointer? = null
    @JvmField var trained_at_unix: Long = 0
    @JvmField var input_kind: Int = 0
    @JvmField var label_count: Int = 0
    @JvmField var max_input_length: Int = 0
    @JvmField var plan_count: Int = 0
}

@Structure.FieldOrder("window", "ring_capacity", "max_sessions", "label_count", "feature_count", "feature_indices")
class CMonitorOptions : Structure() {
    @JvmField var window: Int = 0
    @JvmField var ring_capacity: Int = 0
    @JvmField var max_sessions: Int = 0
    @JvmField var label_count: Int = 0
    @JvmField var feature_count: Int = 0
    @JvmField var feature_indices = IntArray(MAX_FEATURES)
}

@Structure.FieldOrder("latency_p95_warning", "latency_p95_critical", "confidence_drop_warning", "confidence_drop_critical",
    "error_rate_warning", "error_rate_critical", "drift_p_value", "label_drift_p_value", "drift_level", "min_drift_samples",
    "min_alert_samples")
class CThresholds : Structure() {
    @JvmField var latency_p95_warning: Double = 0.0
    @JvmField var latency_p95_critical: Double = 0.0
    @JvmField var confidence_drop_warning: Double = 0.0
    @JvmField var confidence_drop_critical: Double = 0.0
    @JvmField var error_rate_warning: Double = 0.0
    @JvmField var error_rate_critical: Double = 0.0
    @JvmField var drift_p_value: Double = 0.0
    @JvmField var label_drift_p_value: Double = 0.0
    @JvmField var drift_level: Int = 0
    @JvmField var min_drift_samples: Int = 0
    @JvmField var min_alert_samples: Int = 0
}

@Structure.FieldOrder("max_concurrency", "busy_wait_ms", "pool_mode", "pool_bytes", "monitor", "thresholds",
    "shadow_queue_capacity", "shadow_max_input_bytes", "evaluation_interval_ms", "staleness_warning_days",
    "staleness_critical_days", "supervisor_thread", "telemetry")
class CRuntimeOptions : Structure() {
    @JvmField var max_concurrency: Int = 0
    @JvmField var busy_wait_ms: Int = 0
    @JvmField var pool_mode: Int = 0
    @JvmField var pool_bytes: SizeT = SizeT()
    @JvmField var monitor: CMonitorOptions = CMonitorOptions()
    @JvmField var thresholds: CThresholds = CThresholds()
    @JvmField var shadow_queue_capacity: Int = 0
    @JvmField var shadow_max_input_bytes: Int = 0
    @JvmField var evaluation_interval_ms: Int = 0
    @JvmField var staleness_warning_days: Int = 0
    @JvmField var staleness_critical_days: Int = 0
    @JvmField var supervisor_thread: Int = 0
    @JvmField var telemetry: Pointer? = null
}

@Structure.FieldOrder("version", "ok", "errors")
class CVersionCounts : Structure() {
    @JvmField var version = ByteArray(VERSION_BUFFER)
    @JvmField var ok: Long = 0
    @JvmField var errors: Long = 0
}

@Structure.FieldOrder("tested", "drifted", "statistic", "p_value", "threshold", "current_count", "baseline_count")
class CDrift : Structure() {
    @JvmField var tested: Int = 0
    @JvmField var drifted: Int = 0
    @JvmField var statistic: Double = 0.0
    @JvmField var p_value: Double = 0.0
    @JvmField var threshold: Double = 0.0
    @JvmField var current_count: Long = 0
    @JvmField var baseline_count: Long = 0
}

@Structure.FieldOrder("tested", "drifted", "statistic", "p_value", "dof", "psi")
class CLabelDrift : Structure() {
    @JvmField var tested: Int = 0
    @JvmField var drifted: Int = 0
    @JvmField var statistic: Double = 0.0
    @JvmField var p_value: Double = 0.0
    @JvmField var dof: Int = 0
    @JvmField var psi: Double = 0.0
}

@Structure.FieldOrder("metric", "level", "feature", "current", "baseline", "change_pct", "p_value")
class CAlert : Structure() {
    @JvmField var metric: Int = 0
    @JvmField var level: Int = 0
    @JvmField var feature: Int = 0
    @JvmField var current: Double = 0.0
    @JvmField var baseline: Double = 0.0
    @JvmField var change_pct: Double = 0.0
    @JvmField var p_value: Double = 0.0
}

@Structure.FieldOrder("processed", "dropped", "pending", "status_counts", "version_count", "versions", "window_count",
    "window_errors", "error_rate", "window_seconds", "throughput_per_second", "latency_p50_us", "latency_p95_us",
    "latency_p99_us", "latency_mean_us", "latency_max_us", "latency_histogram", "confidence_mean",
    "confidence_histogram", "input_length_mean", "input_length_histogram", "feature_means", "has_baseline",
    "degradation_tested", "baseline_count", "baseline_latency_p95_us", "baseline_confidence_mean", "baseline_error_rate", "drift_latency",
    "drift_confidence", "drift_input_length", "feature_count", "drift_features", "drift_labels", "level",
    "alert_count", "alerts")
class CSnapshot : Structure {
    constructor() : super()
    constructor(p: Pointer) : super(p) { read() }
    @JvmField var processed: Long = 0
    @JvmField var dropped: Long = 0
    @JvmField var pending: Long = 0
    @JvmField var status_counts = LongArray(STATUS_SLOTS)
    @JvmField var version_count: Int = 0
    @JvmField var versions: Array<CVersionCounts> = CVersionCounts().toArray(MAX_VERSIONS).map { it as CVersionCounts }.toTypedArray()
    @JvmField var window_count: Long = 0
    @JvmField var window_errors: Long = 0
    @JvmField var error_rate: Double = 0.0
    @JvmField var window_seconds: Double = 0.0
    @JvmField var throughput_per_second: Double = 0.0
    @JvmField var latency_p50_us: Double = 0.0
    @JvmField var latency_p95_us: Double = 0.0
    @JvmField var latency_p99_us: Double = 0.0
    @JvmField var latency_mean_us: Double = 0.0
    @JvmField var latency_max_us: Double = 0.0
    @JvmField var latency_histogram = LongArray(7)
    @JvmField var confidence_mean: Double = 0.0
    @JvmField var confidence_histogram = LongArray(11)
    @JvmField var input_length_mean: Double = 0.0
    @JvmField var input_length_histogram = LongArray(7)
    @JvmField var feature_means = DoubleArray(MAX_FEATURES)
    @JvmField var has_baseline: Int = 0
    @JvmField var degradation_tested: Int = 0
    @JvmField var baseline_count: Long = 0
    @JvmField var baseline_latency_p95_us: Double = 0.0
    @JvmField var baseline_confidence_mean: Double = 0.0
    @JvmField var baseline_error_rate: Double = 0.0
    @JvmField var drift_latency: CDrift = CDrift()
    @JvmField var drift_confidence: CDrift = CDrift()
    @JvmField var drift_input_length: CDrift = CDrift()
    @JvmField var feature_count: Int = 0
    @JvmField var drift_features: Array<CDrift> = CDrift().toArray(MAX_FEATURES).map { it as CDrift }.toTypedArray()
    @JvmField var drift_labels: CLabelDrift = CLabelDrift()
    @JvmField var level: Int = 0
    @JvmField var alert_count: Int = 0
    @JvmField var alerts: Array<CAlert> = CAlert().toArray(MAX_ALERTS).map { it as CAlert }.toTypedArray()
}

@Structure.FieldOrder("name", "model", "weight")
class CVariant : Structure() {
    @JvmField var name: Pointer? = null
    @JvmField var model: Pointer? = null
    @JvmField var weight: Double = 0.0
}

@Structure.FieldOrder("kind", "variant", "from_version", "to_version", "stage_percent", "level", "message")
class CEvent(p: Pointer) : Structure(p) {
    @JvmField var kind: Int = 0
    @JvmField var variant: SizeT = SizeT()
    @JvmField var from_version: Pointer? = null
    @JvmField var to_version: Pointer? = null
    @JvmField var stage_percent: Int = 0
    @JvmField var level: Int = 0
    @JvmField var message: Pointer? = null
    init { read() }
}

@Structure.FieldOrder("stages_percent", "stage_count", "requests_per_stage", "auto_promote")
class CRolloutOptions : Structure() {
    @JvmField var stages_percent = IntArray(8)
    @JvmField var stage_count: Int = 0
    @JvmField var requests_per_stage: Long = 0
    @JvmField var auto_promote: Int = 0
}

@Structure.FieldOrder("control_rate", "treatment_rate", "lift", "lift_percent", "p_value", "z_score", "ci_lower",
    "ci_upper", "significant")
class CSignificance : Structure() {
    @JvmField var control_rate: Double = 0.0
    @JvmField var treatment_rate: Double = 0.0
    @JvmField var lift: Double = 0.0
    @JvmField var lift_percent: Double = 0.0
    @JvmField var p_value: Double = 0.0
    @JvmField var z_score: Double = 0.0
    @JvmField var ci_lower: Double = 0.0
    @JvmField var ci_upper: Double = 0.0
    @JvmField var significant: Int = 0
}

@Structure.FieldOrder("name", "version", "weight", "requests", "errors", "candidate_requests", "conversions", "outcomes")
class CVariantStats : Structure() {
    @JvmField var name = ByteArray(NAME_BUFFER)
    @JvmField var version = ByteArray(NAME_BUFFER)
    @JvmField var weight: Double = 0.0
    @JvmField var requests: Long = 0
    @JvmField var errors: Long = 0
    @JvmField var candidate_requests: Long = 0
    @JvmField var conversions: Long = 0
    @JvmField var outcomes: Long = 0
}

@Structure.FieldOrder("state", "level", "uptime_seconds", "in_flight", "requests", "errors", "busy",
    "refused_shutting_down", "hook_errors", "swaps", "refused_models", "rollbacks", "rollouts_completed",
    "rollout_active", "rollout_variant", "rollout_stage", "rollout_percent", "rollout_served_at_stage",
    "rollout_requests_per_stage", "rollout_candidate_version", "model_count", "last_error", "telemetry_enabled",
    "telemetry_sent", "telemetry_retried", "telemetry_dropped", "telemetry_pending")
class CHealth : Structure() {
    @JvmField var state: Int = 0
    @JvmField var level: Int = 0
    @JvmField var uptime_seconds: Double = 0.0
    @JvmField var in_flight: Long = 0
    @JvmField var requests: Long = 0
    @JvmField var errors: Long = 0
    @JvmField var busy: Long = 0
    @JvmField var refused_shutting_down: Long = 0
    @JvmField var hook_errors: Long = 0
    @JvmField var swaps: Long = 0
    @JvmField var refused_models: Long = 0
    @JvmField var rollbacks: Long = 0
    @JvmField var rollouts_completed: Long = 0
    @JvmField var rollout_active: Int = 0
    @JvmField var rollout_variant: SizeT = SizeT()
    @JvmField var rollout_stage: Int = 0
    @JvmField var rollout_percent: Int = 0
    @JvmField var rollout_served_at_stage: Long = 0
    @JvmField var rollout_requests_per_stage: Long = 0
    @JvmField var rollout_candidate_version = ByteArray(NAME_BUFFER)
    @JvmField var model_count: SizeT = SizeT()
    @JvmField var last_error = ByteArray(ERROR_BUFFER)
    @JvmField var telemetry_enabled: Int = 0
    @JvmField var telemetry_sent: Long = 0
    @JvmField var telemetry_retried: Long = 0
    @JvmField var telemetry_dropped: Long = 0
    @JvmField var telemetry_pending: Long = 0
}

@Structure.FieldOrder("queue_capacity", "request_sample_rate", "batch_max_records", "batch_max_bytes", "retry_initial_ms",
    "retry_max_ms", "spool_path", "spool_max_bytes", "spool_sync", "device_id", "upload", "ready", "userdata",
    "free_userdata")
class CTelemetryOptions : Structure() {
    @JvmField var queue_capacity: Int = 0
    @JvmField var request_sample_rate: Double = 0.0
    @JvmField var batch_max_records: Int = 0
    @JvmField var batch_max_bytes: Int = 0
    @JvmField var retry_initial_ms: Int = 0
    @JvmField var retry_max_ms: Int = 0
    @JvmField var spool_path: Pointer? = null
    @JvmField var spool_max_bytes: Long = 0
    @JvmField var spool_sync: Int = 0
    @JvmField var device_id: Pointer? = null
    @JvmField var upload: UploadCallback? = null
    @JvmField var ready: ReadyCallback? = null
    @JvmField var userdata: Pointer? = null
    @JvmField var free_userdata: FreeCallback? = null
}

@Structure.FieldOrder("recorded", "sampled_out", "sent", "retried", "dropped_queue_full", "dropped_by_host", "pending",
    "batches_sent", "batches_retried", "batches_dropped", "recovered", "spool_torn_bytes", "spool_bytes",
    "spool_skipped", "spool_errors", "last_spool_error")
class CTelemetryStats : Structure() {
    @JvmField var recorded: Long = 0
    @JvmField var sampled_out: Long = 0
    @JvmField var sent: Long = 0
    @JvmField var retried: Long = 0
    @JvmField var dropped_queue_full: Long = 0
    @JvmField var dropped_by_host: Long = 0
    @JvmField var pending: Long = 0
    @JvmField var batches_sent: Long = 0
    @JvmField var batches_retried: Long = 0
    @JvmField var batches_dropped: Long = 0
    @JvmField var recovered: Long = 0
    @JvmField var spool_torn_bytes: Long = 0
    @JvmField var spool_bytes: Long = 0
    @JvmField var spool_skipped: Long = 0
    @JvmField var spool_errors: Long = 0
    @JvmField var last_spool_error = ByteArray(ERROR_BUFFER)
}

@Structure.FieldOrder("batches_sent", "batches_dropped", "retried", "backing_off", "retry_after_ms", "pending")
class CFlushReport : Structure() {
    @JvmField var batches_sent: Long = 0
    @JvmField var batches_dropped: Long = 0
    @JvmField var retried: Int = 0
    @JvmField var backing_off: Int = 0
    @JvmField var retry_after_ms: Long = 0
    @JvmField var pending: Long = 0
}

@Structure.FieldOrder("id", "data", "len", "records", "first_seq", "last_seq", "attempt")
class CBatch(p: Pointer) : Structure(p) {
    @JvmField var id: Long = 0
    @JvmField var data: Pointer? = null
    @JvmField var len: SizeT = SizeT()
    @JvmField var records: SizeT = SizeT()
    @JvmField var first_seq: Long = 0
    @JvmField var last_seq: Long = 0
    @JvmField var attempt: Int = 0
    init { read() }
}

interface UploadCallback : Callback { fun invoke(userdata: Pointer?, batch: Pointer): Int }
interface ReadyCallback : Callback { fun invoke(userdata: Pointer?, waiting: Long) }
interface FreeCallback : Callback { fun invoke(userdata: Pointer?) }
interface EventCallback : Callback { fun invoke(userdata: Pointer?, event: Pointer) }
interface HookCallback : Callback {
    fun invoke(userdata: Pointer?, experiment: Pointer?, experimentLen: SizeT, user: Pointer?, userLen: SizeT): Long
}
interface LevelCallback : Callback { fun invoke(userdata: Pointer?, previous: Int, current: Int, snapshot: Pointer) }
interface LogCallback : Callback { fun invoke(userdata: Pointer?, level: Int, target: Pointer, message: Pointer) }
interface FinalSnapshotCallback : Callback {
    fun invoke(userdata: Pointer?, role: Int, variant: SizeT, version: Pointer, snapshot: Pointer)
}

@Suppress("FunctionName")
internal interface Lib : Library {
    fun mle_version(): Pointer
    fun mle_last_error(): Pointer
    fun mle_status_str(status: Int): Pointer
    fun mle_model_load(path: ByteArray, options: Pointer?, out: PointerByReference): Int
    fun mle_model_free(model: Pointer)
    fun mle_model_info(model: Pointer, out: CModelDetails): Int
    fun mle_model_label(model: Pointer, index: SizeT, label: PointerByReference): Int
    fun mle_session_new(model: Pointer, options: Pointer?, out: PointerByReference): Int
    fun mle_session_free(session: Pointer)
    fun mle_classify_text(s: Pointer, text: ByteArray, len: SizeT, out: CPrediction, probs: FloatArray?, cap: SizeT, n: SizeTOut): Int
    fun mle_classify_f32(s: Pointer, values: FloatArray, count: SizeT, out: CPrediction, probs: FloatArray?, cap: SizeT, n: SizeTOut): Int
    fun mle_classify_bytes(s: Pointer, data: ByteArray, len: SizeT, out: CPrediction, probs: FloatArray?, cap: SizeT, n: SizeTOut): Int
    fun mle_monitor_options_init(options: CMonitorOptions)
    fun mle_monitor_new(options: CMonitorOptions, out: PointerByReference): Int
    fun mle_monitor_free(monitor: Pointer)
    fun mle_session_attach_monitor(session: Pointer, monitor: Pointer): Int
    fun mle_session_detach_monitor(session: Pointer): Int
    fun mle_monitor_snapshot(monitor: Pointer, out: CSnapshot, labels: LongArray?, cap: SizeT, written: SizeTOut?): Int
    fun mle_monitor_baseline_freeze(monitor: Pointer): Int
    fun mle_monitor_baseline_clear(monitor: Pointer): Int
    fun mle_monitor_set_level_callback(monitor: Pointer, cb: LevelCallback?, userdata: Pointer?, free: FreeCallback?): Int
    fun mle_monitor_export_metrics(monitor: Pointer, version: ByteArray, telemetry: Pointer?, format: Int, buf: ByteArray?, cap: SizeT, len: SizeTOut): Int
    fun mle_runtime_options_init(options: CRuntimeOptions)
    fun mle_runtime_new(production: Pointer, options: CRuntimeOptions, out: PointerByReference): Int
    fun mle_runtime_free(runtime: Pointer)
    fun mle_runtime_classify_text(rt: Pointer, user: ByteArray, text: ByteArray, len: SizeT, probs: FloatArray?, cap: SizeT, n: SizeTOut, out: CServed): Int
    fun mle_runtime_classify_f32(rt: Pointer, user: ByteArray, values: FloatArray, count: SizeT, probs: FloatArray?, cap: SizeT, n: SizeTOut, out: CServed): Int
    fun mle_runtime_classify_bytes(rt: Pointer, user: ByteArray, data: ByteArray, len: SizeT, probs: FloatArray?, cap: SizeT, n: SizeTOut, out: CServed): Int
    fun mle_runtime_set_experiment(rt: Pointer, name: ByteArray, variants: CVariant?, count: SizeT, scheme: Int): Int
    fun mle_runtime_set_assignment_hook(rt: Pointer, hook: HookCallback?, userdata: Pointer?, free: FreeCallback?): Int
    fun mle_runtime_set_event_callback(rt: Pointer, cb: EventCallback?, userdata: Pointer?, free: FreeCallback?): Int
    fun mle_runtime_swap(rt: Pointer, variant: SizeT, model: Pointer, cases: Pointer?, count: SizeT): Int
    fun mle_rollout_options_init(options: CRolloutOptions)
    fun mle_runtime_start_rollout(rt: Pointer, variant: SizeT, candidate: Pointer, options: CRolloutOptions, cases: Pointer?, count: SizeT): Int
    fun mle_runtime_promote(rt: Pointer): Int
    fun mle_runtime_rollback(rt: Pointer, variant: SizeT): Int
    fun mle_runtime_set_shadow(rt: Pointer, model: Pointer, fraction: Double): Int
    fun mle_runtime_clear_shadow(rt: Pointer): Int
    fun mle_runtime_record_outcome(rt: Pointer, variant: SizeT, converted: Int): Int
    fun mle_runtime_significance(rt: Pointer, control: SizeT, treatment: SizeT, confidence: Double, out: CSignificance): Int
    fun mle_runtime_variant_stats(rt: Pointer, variant: SizeT, out: CVariantStats): Int
    fun mle_runtime_snapshot(rt: Pointer, role: Int, variant: SizeT, out: CSnapshot, labels: LongArray?, cap: SizeT, written: SizeTOut?): Int
    fun mle_runtime_evaluate(rt: Pointer): Int
    fun mle_runtime_health(rt: Pointer, out: CHealth, models: Pointer?, cap: SizeT): Int
    fun mle_runtime_shutdown(rt: Pointer, timeoutMs: Int, cb: FinalSnapshotCallback?, userdata: Pointer?): Int
    fun mle_runtime_export_metrics(rt: Pointer, format: Int, buf: ByteArray?, cap: SizeT, len: SizeTOut): Int
    fun mle_ab_assign(experiment: ByteArray, user: ByteArray, weights: DoubleArray, n: SizeT, variant: SizeTOut): Int
    fun mle_telemetry_options_init(options: CTelemetryOptions)
    fun mle_telemetry_new(options: CTelemetryOptions, out: PointerByReference): Int
    fun mle_telemetry_free(telemetry: Pointer)
    fun mle_telemetry_flush(telemetry: Pointer, report: CFlushReport?): Int
    fun mle_telemetry_persist(telemetry: Pointer): Int
    fun mle_telemetry_get_stats(telemetry: Pointer, out: CTelemetryStats): Int
    fun mle_set_log_callback(level: Int, cb: LogCallback?, userdata: Pointer?, free: FreeCallback?): Int
}
