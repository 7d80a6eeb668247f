// The JNA mapping of include/mlops_edge.h (C ABI 1.1): one interface for the functions, one
// Structure per C struct (fields in the header's order, with its types: int32_t and uint32_t as
// Int, uint64_t as Long, size_t as SizeT, pointers as Pointer or a Structure.ByReference).
// The test compares every size and field offset with the C compiler's (layout.c). Internal:
// applications use the classes in MlopsEdge.kt.
//
// Structs that grow (ABI 1.0): every struct the caller allocates or the library fills starts
// with `uint32_t struct_size`. A mirror created here sets it to its own size (`ready` below);
// one built over a pointer the library handed to a callback reads the library's. For arrays,
// `sizedArray` sets it in every element (what input arrays need; output arrays need element 0).
// A minor version appends fields at the end of a struct, in the header's order (ABI 1.1:
// mle_health.telemetry_spool_lost_bytes; mle_telemetry_stats.spool_corrupt_bytes,
// spool_corrupt_regions, spool_truncated, a uint32_t followed by 4 bytes of padding that JNA adds
// as the C compiler does; ABI 1.3: spool_lost_records after that padding, and the model package
// and limit fields of mle_model_options, mle_runtime_options and mle_model_details).
package mlopsedge

import com.sun.jna.Callback
import com.sun.jna.IntegerType
import com.sun.jna.Library
import com.sun.jna.Memory
import com.sun.jna.Native
import com.sun.jna.Pointer
import com.sun.jna.Structure
import com.sun.jna.ptr.DoubleByReference
import com.sun.jna.ptr.PointerByReference

/** C `size_t` (8 bytes on 64-bit targets, 4 on armv7). */
class SizeT(value: Long) : IntegerType(Native.SIZE_T_SIZE, value, true) {
    constructor() : this(0)
    override fun toByte(): Byte = toInt().toByte()
    override fun toChar(): Char = toInt().toChar()
    override fun toShort(): Short = toInt().toShort()
}

internal fun sizeT(n: Int) = SizeT(n.toLong())

/** A `size_t` out-parameter. */
internal class SizeTOut : Memory(Native.SIZE_T_SIZE.toLong()) {
    init { clear() }
    val value: Long get() = if (Native.SIZE_T_SIZE == 8) getLong(0) else getInt(0).toLong() and 0xffffffffL
}

/** A native `size_t[]` holding `values` (JNA maps no array of IntegerType by itself). */
internal fun sizeTArray(values: LongArray): Memory {
    val m = Memory(maxOf(1, values.size).toLong() * Native.SIZE_T_SIZE)
    values.forEachIndexed { i, v ->
        if (Native.SIZE_T_SIZE == 8) m.setLong(i * 8L, v) else m.setInt(i * 4L, v.toInt())
    }
    return m
}

/** Native bytes holding `bytes` (NULL when empty: the library takes NULL with a length of 0). */
internal fun nativeBytes(bytes: ByteArray): Memory? =
    if (bytes.isEmpty()) null else Memory(bytes.size.toLong()).also { it.write(0, bytes, 0, bytes.size) }

internal fun cString(s: String): ByteArray {
    require(!s.contains('\u0000')) { "strings passed to the library cannot contain NUL" }
    return (s + "\u0000").toByteArray(Charsets.UTF_8)
}

/** A NUL-terminated copy of `s` in native memory (kept alive by whoever holds the Memory). */
internal fun nativeString(s: String): Memory = cString(s).let { b -> Memory(b.size.toLong()).also { it.write(0, b, 0, b.size) } }

internal fun fromC(bytes: ByteArray): String {
    val end = bytes.indexOf(0.toByte()).let { if (it < 0) bytes.size else it }
    return String(bytes, 0, end, Charsets.UTF_8)
}

internal fun fromC(p: Pointer?): String = p?.getString(0, "UTF-8") ?: ""

// Array sizes and buffer lengths of the header (the test compares them with layout.c's).
const val MAX_FEATURES = 8
const val STATUS_SLOTS = 32
const val MAX_VERSIONS = 16
const val VERSION_BUFFER = 65
const val MAX_ALERTS = 16
const val NAME_BUFFER = 65
const val LABEL_BUFFER = 128
const val ERROR_BUFFER = 256
const val MAX_STAGES = 8
const val EXP_MAX_BUCKETS = 160

/**
 * Base of every mirror. `p` null: JNA allocates zeroed memory; otherwise the mirror views
 * memory the library owns (a callback's struct, or element i of an array from `toArray`).
 */
abstract class CStruct(p: Pointer?) : Structure(p) {
    /**
     * Called at the end of each subclass's init block, after its fields exist: a struct over
     * library memory is read; a new one that starts with struct_size gets its own size there.
     */
    protected fun ready(p: Pointer?, sized: Boolean) {
        if (p != null) read() else if (sized) writeField("struct_size", size())
    }

    /** Byte offset of `field` in the native struct (for the layout test). */
    fun offsetOf(field: String): Int = fieldOffset(field)

    /** The field names in native order (for the layout test). */
    val fieldNames: List<String> get() = fieldOrder
}

/** `n` contiguous structs made by `make`, each with struct_size set (a C array of them). */
internal inline fun <reified T : CStruct> sizedArray(n: Int, make: () -> T): Array<T> {
    val first = make()
    @Suppress("UNCHECKED_CAST")
    val all = first.toArray(n) as Array<T>
    for (s in all) s.writeField("struct_size", first.size())
    return all
}

/**
 * A struct the library gave a callback: `struct_size` is the library's, and the ABI check at
 * load guarantees the library's struct is at least ours; refuse to read past it otherwise.
 */
internal fun checkLibrarySize(p: Pointer, ours: Int, name: String) {
    val theirs = p.getInt(0)
    check(theirs >= ours) { "$name from the library has struct_size $theirs, below this binding's $ours" }
}

@Structure.FieldOrder("struct_size", "significant", "control_rate", "treatment_rate", "lift", "lift_percent", "p_value",
    "z_score", "ci_lower", "ci_upper")
class CSignificance(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var significant: Int = 0
    @JvmField var control_rate: Double = 0.0
    @JvmField var treatment_rate: Double = 0.0
    @JvmField var lift: Double = 0.0
    @JvmField var lift_percent: Double = 0.0
    @JvmField var p_value: Double = 0.0
    @JvmField var z_score: Double = 0.0
    @JvmField var ci_lower: Double = 0.0
    @JvmField var ci_upper: Double = 0.0
    init { ready(p, true) }
}

@Structure.FieldOrder("struct_size", "scale", "bucket_count", "offset", "count", "zero_count", "sum", "min", "max", "counts")
class CExpHistogram(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var scale: Int = 0
    @JvmField var bucket_count: Int = 0
    @JvmField var offset: Long = 0
    @JvmField var count: Long = 0
    @JvmField var zero_count: Long = 0
    @JvmField var sum: Double = 0.0
    @JvmField var min: Double = 0.0
    @JvmField var max: Double = 0.0
    @JvmField var counts = LongArray(EXP_MAX_BUCKETS)
    init { ready(p, true) }
}

@Structure.FieldOrder("struct_size", "max_sequence_length", "threads", "max_batch", "sequence_buckets",
    "sequence_bucket_count", "max_text_bytes", "plan_per_bucket", "max_model_bytes", "trusted_keys",
    "trusted_key_count", "min_package_version", "max_nodes", "max_graph_depth", "max_tensor_elements",
    "max_initializer_bytes")
class CModelOptions(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var max_sequence_length: Int = 0
    @JvmField var threads: Int = 0
    @JvmField var max_batch: Int = 0
    @JvmField var sequence_buckets: Pointer? = null
    @JvmField var sequence_bucket_count: SizeT = SizeT()
    @JvmField var max_text_bytes: SizeT = SizeT()
    @JvmField var plan_per_bucket: Int = 0
    @JvmField var max_model_bytes: Long = 0
    @JvmField var trusted_keys: Pointer? = null
    @JvmField var trusted_key_count: SizeT = SizeT()
    @JvmField var min_package_version: Long = 0
    @JvmField var max_nodes: Long = 0
    @JvmField var max_graph_depth: Long = 0
    @JvmField var max_tensor_elements: Long = 0
    @JvmField var max_initializer_bytes: Long = 0
    init { ready(p, true) }
}

@Structure.FieldOrder("struct_size", "input_kind", "name", "version", "trained_at", "description", "metrics_json",
    "trained_at_unix", "label_count", "max_input_length", "plan_count", "input_element_type", "handles_missing_values",
    "from_package", "package_version", "signed_package", "signer_public_key")
class CModelDetails(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var input_kind: Int = 0
    @JvmField var name: Pointer? = null
    @JvmField var version: Pointer? = null
    @JvmField var trained_at: Pointer? = null
    @JvmField var description: Pointer? = null
    @JvmField var metrics_json: Pointer? = null
    @JvmField var trained_at_unix: Long = 0
    @JvmField var label_count: Int = 0
    @JvmField var max_input_length: Int = 0
    @JvmField var plan_count: Int = 0
    @JvmField var input_element_type: Int = 0
    @JvmField var handles_missing_values: Int = 0
    @JvmField var from_package: Int = 0
    @JvmField var package_version: Long = 0
    @JvmField var signed_package: Int = 0
    @JvmField var signer_public_key = ByteArray(32)
    init { ready(p, true) }
}

@Structure.FieldOrder("struct_size", "window", "ring_capacity", "max_sessions", "label_count", "feature_count",
    "feature_indices")
open class CMonitorOptions(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var window: Int = 0
    @JvmField var ring_capacity: Int = 0
    @JvmField var max_sessions: Int = 0
    @JvmField var label_count: Int = 0
    @JvmField var feature_count: Int = 0
    @JvmField var feature_indices = IntArray(MAX_FEATURES)
    init { ready(p, true) }
    /** As a `const mle_monitor_options *` field (mle_runtime_options.monitor). */
    class ByReference : CMonitorOptions(), Structure.ByReference
}

@Structure.FieldOrder("version", "ok", "errors")
class CVersionCounts(p: Pointer? = null) : CStruct(p) {
    @JvmField var version = ByteArray(VERSION_BUFFER)
    @JvmField var ok: Long = 0
    @JvmField var errors: Long = 0
    init { ready(p, false) }
}

@Structure.FieldOrder("tested", "drifted", "statistic", "p_value", "threshold", "current_count", "baseline_count")
class CDrift(p: Pointer? = null) : CStruct(p) {
    @JvmField var tested: Int = 0
    @JvmField var drifted: Int = 0
    @JvmField var statistic: Double = 0.0
    @JvmField var p_value: Double = 0.0
    @JvmField var threshold: Double = 0.0
    @JvmField var current_count: Long = 0
    @JvmField var baseline_count: Long = 0
    init { ready(p, false) }
}

@Structure.FieldOrder("tested", "drifted", "statistic", "p_value", "dof", "psi")
class CLabelDrift(p: Pointer? = null) : CStruct(p) {
    @JvmField var tested: Int = 0
    @JvmField var drifted: Int = 0
    @JvmField var statistic: Double = 0.0
    @JvmField var p_value: Double = 0.0
    @JvmField var dof: Int = 0
    @JvmField var psi: Double = 0.0
    init { ready(p, false) }
}

@Structure.FieldOrder("metric", "level", "feature", "current", "baseline", "change_pct", "p_value")
class CAlert(p: Pointer? = null) : CStruct(p) {
    @JvmField var metric: Int = 0
    @JvmField var level: Int = 0
    @JvmField var feature: Int = 0
    @JvmField var current: Double = 0.0
    @JvmField var baseline: Double = 0.0
    @JvmField var change_pct: Double = 0.0
    @JvmField var p_value: Double = 0.0
    init { ready(p, false) }
}

@Structure.FieldOrder("struct_size", "level", "processed", "dropped", "pending", "status_counts", "version_count",
    "versions", "window_count", "window_errors", "error_rate", "window_seconds", "throughput_per_second",
    "latency_p50_us", "latency_p95_us", "latency_p99_us", "latency_mean_us", "latency_max_us", "latency_histogram",
    "confidence_mean", "confidence_histogram", "input_length_mean", "input_length_histogram", "feature_means",
    "has_baseline", "degradation_tested", "baseline_count", "baseline_latency_p95_us", "baseline_confidence_mean",
    "baseline_error_rate", "drift_latency", "drift_confidence", "drift_input_length", "feature_count",
    "drift_features", "drift_labels", "alert_count", "alerts")
class CSnapshot(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var level: Int = 0
    @JvmField var processed: Long = 0
    @JvmField var dropped: Long = 0
    @JvmField var pending: Long = 0
    @JvmField var status_counts = LongArray(STATUS_SLOTS)
    @JvmField var version_count: Int = 0
    @JvmField var versions: Array<CVersionCounts> = structs(MAX_VERSIONS) { CVersionCounts() }
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
    @JvmField var drift_features: Array<CDrift> = structs(MAX_FEATURES) { CDrift() }
    @JvmField var drift_labels: CLabelDrift = CLabelDrift()
    @JvmField var alert_count: Int = 0
    @JvmField var alerts: Array<CAlert> = structs(MAX_ALERTS) { CAlert() }
    init { ready(p, true) }

    companion object {
        /** This mirror's size (what the library's snapshot must at least have). */
        val SIZE: Int by lazy { CSnapshot().size() }
        /** A snapshot the library passes to a callback. */
        fun fromLibrary(p: Pointer): CSnapshot {
            checkLibrarySize(p, SIZE, "mle_snapshot")
            return CSnapshot(p)
        }
    }
}

/** An inline array of nested structs (no struct_size: nested structs never change). */
internal inline fun <reified T : Structure> structs(n: Int, make: () -> T): Array<T> {
    @Suppress("UNCHECKED_CAST")
    return make().toArray(n) as Array<T>
}

@Structure.FieldOrder("struct_size", "latency_us", "latency_count", "confidence", "confidence_count", "input_length",
    "input_length_count", "feature_count", "features", "feature_counts", "label_counts", "label_count", "error_rate")
class CBaseline(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var latency_us: Pointer? = null
    @JvmField var latency_count: SizeT = SizeT()
    @JvmField var confidence: Pointer? = null
    @JvmField var confidence_count: SizeT = SizeT()
    @JvmField var input_length: Pointer? = null
    @JvmField var input_length_count: SizeT = SizeT()
    @JvmField var feature_count: SizeT = SizeT()
    /** `const double *features[MLE_MAX_FEATURES]`: inline pointers. */
    @JvmField var features: Array<Pointer?> = arrayOfNulls(MAX_FEATURES)
    /** `size_t feature_counts[MLE_MAX_FEATURES]`. */
    @JvmField var feature_counts: Array<SizeT> = Array(MAX_FEATURES) { SizeT() }
    @JvmField var label_counts: Pointer? = null
    @JvmField var label_count: SizeT = SizeT()
    @JvmField var error_rate: Double = 0.0
    init { ready(p, true) }
}

@Structure.FieldOrder("struct_size", "drift_level", "latency_p95_warning", "latency_p95_critical",
    "confidence_drop_warning", "confidence_drop_critical", "error_rate_warning", "error_rate_critical", "drift_p_value",
    "label_drift_p_value", "min_drift_samples", "min_alert_samples")
open class CThresholds(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var drift_level: Int = 0
    @JvmField var latency_p95_warning: Double = 0.0
    @JvmField var latency_p95_critical: Double = 0.0
    @JvmField var confidence_drop_warning: Double = 0.0
    @JvmField var confidence_drop_critical: Double = 0.0
    @JvmField var error_rate_warning: Double = 0.0
    @JvmField var error_rate_critical: Double = 0.0
    @JvmField var drift_p_value: Double = 0.0
    @JvmField var label_drift_p_value: Double = 0.0
    @JvmField var min_drift_samples: Int = 0
    @JvmField var min_alert_samples: Int = 0
    init { ready(p, true) }
    /** As a `const mle_monitor_thresholds *` field (mle_runtime_options.thresholds). */
    class ByReference : CThresholds(), Structure.ByReference
}

@Structure.FieldOrder("struct_size", "max_concurrency", "busy_wait_ms", "pool_mode", "pool_bytes", "monitor",
    "thresholds", "shadow_queue_capacity", "shadow_max_input_bytes", "evaluation_interval_ms", "staleness_warning_days",
    "staleness_critical_days", "supervisor_thread", "telemetry", "trusted_keys", "trusted_key_count",
    "min_package_version")
class CRuntimeOptions(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var max_concurrency: Int = 0
    @JvmField var busy_wait_ms: Int = 0
    @JvmField var pool_mode: Int = 0
    @JvmField var pool_bytes: SizeT = SizeT()
    /** NULL = the defaults; JNA writes the pointed-to struct with this one. */
    @JvmField var monitor: CMonitorOptions.ByReference? = null
    /** NULL = the defaults. */
    @JvmField var thresholds: CThresholds.ByReference? = null
    @JvmField var shadow_queue_capacity: Int = 0
    @JvmField var shadow_max_input_bytes: Int = 0
    @JvmField var evaluation_interval_ms: Int = 0
    @JvmField var staleness_warning_days: Int = 0
    @JvmField var staleness_critical_days: Int = 0
    @JvmField var supervisor_thread: Int = 0
    @JvmField var telemetry: Pointer? = null
    @JvmField var trusted_keys: Pointer? = null
    @JvmField var trusted_key_count: SizeT = SizeT()
    @JvmField var min_package_version: Long = 0
    init { ready(p, true) }
}

@Structure.FieldOrder("struct_size", "candidate", "variant", "label_index", "score", "flags", "input_length",
    "latency_ns", "label", "version")
class CServed(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var candidate: Int = 0
    @JvmField var variant: SizeT = SizeT()
    @JvmField var label_index: Int = 0
    @JvmField var score: Float = 0f
    @JvmField var flags: Int = 0
    @JvmField var input_length: Int = 0
    @JvmField var latency_ns: Long = 0
    @JvmField var label = ByteArray(LABEL_BUFFER)
    @JvmField var version = ByteArray(NAME_BUFFER)
    init { ready(p, true) }
}

@Structure.FieldOrder("struct_size", "name", "model", "weight")
class CVariant(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var name: Pointer? = null
    @JvmField var model: Pointer? = null
    @JvmField var weight: Double = 0.0
    init { ready(p, true) }
}

@Structure.FieldOrder("struct_size", "kind", "variant", "from_version", "to_version", "stage_percent", "level", "message")
class CEvent(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var kind: Int = 0
    @JvmField var variant: SizeT = SizeT()
    @JvmField var from_version: Pointer? = null
    @JvmField var to_version: Pointer? = null
    @JvmField var stage_percent: Int = 0
    @JvmField var level: Int = 0
    @JvmField var message: Pointer? = null
    init { ready(p, true) }

    companion object {
        val SIZE: Int by lazy { CEvent().size() }
        fun fromLibrary(p: Pointer): CEvent {
            checkLibrarySize(p, SIZE, "mle_event")
            return CEvent(p)
        }
    }
}

@Structure.FieldOrder("struct_size", "text", "features", "feature_count", "bytes", "byte_count", "expected_label")
class CSelfTestCase(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var text: Pointer? = null
    @JvmField var features: Pointer? = null
    @JvmField var feature_count: SizeT = SizeT()
    @JvmField var bytes: Pointer? = null
    @JvmField var byte_count: SizeT = SizeT()
    @JvmField var expected_label: Pointer? = null
    init { ready(p, true) }
}

@Structure.FieldOrder("struct_size", "stage_count", "stages_percent", "auto_promote", "requests_per_stage")
class CRolloutOptions(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var stage_count: Int = 0
    @JvmField var stages_percent = IntArray(MAX_STAGES)
    @JvmField var auto_promote: Int = 0
    @JvmField var requests_per_stage: Long = 0
    init { ready(p, true) }
}

@Structure.FieldOrder("struct_size", "name", "version", "weight", "requests", "errors", "candidate_requests",
    "conversions", "outcomes")
class CVariantStats(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var name = ByteArray(NAME_BUFFER)
    @JvmField var version = ByteArray(NAME_BUFFER)
    @JvmField var weight: Double = 0.0
    @JvmField var requests: Long = 0
    @JvmField var errors: Long = 0
    @JvmField var candidate_requests: Long = 0
    @JvmField var conversions: Long = 0
    @JvmField var outcomes: Long = 0
    init { ready(p, true) }
}

@Structure.FieldOrder("struct_size", "version", "fraction", "sampled", "compared", "agreed", "agreement_rate",
    "shadow_errors", "production_errors", "skipped_queue_full", "skipped_too_large", "pending", "discarded",
    "latency_p95_us", "window_count")
class CShadowReport(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var version = ByteArray(NAME_BUFFER)
    @JvmField var fraction: Double = 0.0
    @JvmField var sampled: Long = 0
    @JvmField var compared: Long = 0
    @JvmField var agreed: Long = 0
    @JvmField var agreement_rate: Double = 0.0
    @JvmField var shadow_errors: Long = 0
    @JvmField var production_errors: Long = 0
    @JvmField var skipped_queue_full: Long = 0
    @JvmField var skipped_too_large: Long = 0
    @JvmField var pending: Long = 0
    @JvmField var discarded: Long = 0
    @JvmField var latency_p95_us: Double = 0.0
    @JvmField var window_count: Long = 0
    init { ready(p, true) }
}

@Structure.FieldOrder("struct_size", "state", "level", "rollout_active", "uptime_seconds", "in_flight", "requests",
    "errors", "busy", "refused_shutting_down", "hook_errors", "swaps", "refused_models", "rollbacks",
    "rollouts_completed", "rollout_variant", "rollout_stage", "rollout_percent", "rollout_served_at_stage",
    "rollout_requests_per_stage", "rollout_candidate_version", "model_count", "last_error", "telemetry_enabled",
    "telemetry_sent", "telemetry_retried", "telemetry_dropped", "telemetry_pending", "telemetry_spool_lost_bytes")
class CHealth(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var state: Int = 0
    @JvmField var level: Int = 0
    @JvmField var rollout_active: Int = 0
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
    /** Since C ABI 1.1. */
    @JvmField var telemetry_spool_lost_bytes: Long = 0
    init { ready(p, true) }
}

@Structure.FieldOrder("struct_size", "role", "variant", "variant_name", "version", "trained_at_unix", "age_days",
    "needs_retraining", "staleness_level", "alert_level")
class CLoadedModel(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var role: Int = 0
    @JvmField var variant: SizeT = SizeT()
    @JvmField var variant_name = ByteArray(NAME_BUFFER)
    @JvmField var version = ByteArray(NAME_BUFFER)
    @JvmField var trained_at_unix: Long = 0
    @JvmField var age_days: Long = 0
    @JvmField var needs_retraining: Int = 0
    @JvmField var staleness_level: Int = 0
    @JvmField var alert_level: Int = 0
    init { ready(p, true) }
}

@Structure.FieldOrder("struct_size", "pool_mode", "pool_bytes")
class CSessionOptions(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var pool_mode: Int = 0
    @JvmField var pool_bytes: SizeT = SizeT()
    init { ready(p, true) }
}

@Structure.FieldOrder("struct_size", "requests", "errors", "last_request_system_calls", "pool_capacity", "pool_used",
    "pool_peak", "pool_overflows")
class CSessionStats(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var requests: Long = 0
    @JvmField var errors: Long = 0
    @JvmField var last_request_system_calls: Long = 0
    @JvmField var pool_capacity: Long = 0
    @JvmField var pool_used: Long = 0
    @JvmField var pool_peak: Long = 0
    @JvmField var pool_overflows: Long = 0
    init { ready(p, true) }
}

@Structure.FieldOrder("struct_size", "label_index", "score", "flags", "label", "latency_ns", "input_length")
class CPrediction(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var label_index: Int = 0
    @JvmField var score: Float = 0f
    @JvmField var flags: Int = 0
    @JvmField var label: Pointer? = null
    @JvmField var latency_ns: Long = 0
    @JvmField var input_length: Int = 0
    init { ready(p, true) }
}

@Structure.FieldOrder("struct_size", "attempt", "id", "data", "len", "records", "first_seq", "last_seq")
class CBatch(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var attempt: Int = 0
    @JvmField var id: Long = 0
    @JvmField var data: Pointer? = null
    @JvmField var len: SizeT = SizeT()
    @JvmField var records: SizeT = SizeT()
    @JvmField var first_seq: Long = 0
    @JvmField var last_seq: Long = 0
    init { ready(p, true) }

    companion object {
        val SIZE: Int by lazy { CBatch().size() }
        fun fromLibrary(p: Pointer): CBatch {
            checkLibrarySize(p, SIZE, "mle_batch")
            return CBatch(p)
        }
    }
}

@Structure.FieldOrder("struct_size", "queue_capacity", "request_sample_rate", "batch_max_records", "batch_max_bytes",
    "retry_initial_ms", "retry_max_ms", "spool_path", "spool_max_bytes", "spool_sync", "device_id", "upload", "ready",
    "userdata", "free_userdata")
class CTelemetryOptions(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
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
    init { ready(p, true) }
}

@Structure.FieldOrder("struct_size", "retried", "backing_off", "batches_sent", "batches_dropped", "retry_after_ms", "pending")
class CFlushReport(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
    @JvmField var retried: Int = 0
    @JvmField var backing_off: Int = 0
    @JvmField var batches_sent: Long = 0
    @JvmField var batches_dropped: Long = 0
    @JvmField var retry_after_ms: Long = 0
    @JvmField var pending: Long = 0
    init { ready(p, true) }
}

@Structure.FieldOrder("struct_size", "recorded", "sampled_out", "sent", "retried", "dropped_queue_full",
    "dropped_by_host", "pending", "batches_sent", "batches_retried", "batches_dropped", "recovered", "spool_torn_bytes",
    "spool_bytes", "spool_skipped", "spool_errors", "last_spool_error", "spool_corrupt_bytes", "spool_corrupt_regions",
    "spool_truncated", "spool_lost_records")
class CTelemetryStats(p: Pointer? = null) : CStruct(p) {
    @JvmField var struct_size: Int = 0
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
    /** Since C ABI 1.1 (this and the next two). */
    @JvmField var spool_corrupt_bytes: Long = 0
    @JvmField var spool_corrupt_regions: Long = 0
    /** uint32_t, followed by 4 bytes of padding (the next field is 8-aligned). */
    @JvmField var spool_truncated: Int = 0
    /** Since C ABI 1.3. */
    @JvmField var spool_lost_records: Long = 0
    init { ready(p, true) }
}

// Callback types. Structs arrive as pointers (read with fromLibrary: their struct_size is the
// library's); uint64_t as Long, size_t as SizeT.
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

/**
 * Every function of the header, in its order of arguments. Structure arguments are pointers
 * (JNA writes them before the call and reads them after); `Array<CX>` arguments are C arrays
 * of contiguous structs (made with `sizedArray`), NULL when the Kotlin value is null.
 */
@Suppress("FunctionName")
internal interface Lib : Library {
    // Library-wide.
    fun mle_abi_version(): Int
    fun mle_abi_check(compiledAbiVersion: Int): Int
    fun mle_version(): Pointer
    fun mle_last_error(): Pointer
    fun mle_status_str(status: Int): Pointer
    fun mle_log_set_callback(maxLevel: Int, cb: LogCallback?, userdata: Pointer?, free: FreeCallback?): Int
    fun mle_ab_assign(experiment: ByteArray, user: ByteArray, weights: DoubleArray, n: SizeT, scheme: Int, variant: SizeTOut?): Int
    fun mle_ab_test_significance(controlConversions: Long, controlTotal: Long, treatmentConversions: Long,
                                 treatmentTotal: Long, confidence: Double, out: CSignificance?): Int
    fun mle_stats_ks_two_sample(a: DoubleArray?, n: SizeT, b: DoubleArray?, m: SizeT, statistic: DoubleByReference?,
                                pValue: DoubleByReference?): Int
    fun mle_exp_histogram_init(h: CExpHistogram?, structSize: SizeT): Int
    fun mle_exp_histogram_record(h: CExpHistogram?, value: Double): Int
    fun mle_exp_histogram_merge(a: CExpHistogram?, b: CExpHistogram?, out: CExpHistogram?): Int

    // Models.
    fun mle_model_options_init(options: CModelOptions?, structSize: SizeT): Int
    fun mle_model_load(path: ByteArray, options: CModelOptions?, out: PointerByReference): Int
    fun mle_model_load_bytes(onnx: ByteArray?, onnxLen: SizeT, tokenizer: ByteArray?, tokenizerLen: SizeT, card: ByteArray?,
                             options: CModelOptions?, out: PointerByReference): Int
    fun mle_model_free(model: Pointer?)
    fun mle_model_get_details(model: Pointer?, out: CModelDetails?): Int
    fun mle_model_get_label(model: Pointer?, index: SizeT, label: PointerByReference?): Int
    fun mle_model_get_plan_lengths(model: Pointer?, lengths: IntArray?, capacity: SizeT, count: SizeTOut?): Int

    // Monitors.
    fun mle_monitor_options_init(options: CMonitorOptions?, structSize: SizeT): Int
    fun mle_monitor_new(options: CMonitorOptions?, out: PointerByReference): Int
    fun mle_monitor_free(monitor: Pointer?)
    fun mle_session_attach_monitor(session: Pointer?, monitor: Pointer?): Int
    fun mle_session_detach_monitor(session: Pointer?): Int
    fun mle_monitor_snapshot(monitor: Pointer?, out: CSnapshot?, labels: LongArray?, cap: SizeT, written: SizeTOut?): Int
    fun mle_monitor_drain(monitor: Pointer?, moved: SizeTOut?): Int
    fun mle_monitor_freeze_baseline(monitor: Pointer?): Int
    fun mle_monitor_load_baseline(monitor: Pointer?, baseline: CBaseline?): Int
    fun mle_monitor_clear_baseline(monitor: Pointer?): Int
    fun mle_monitor_reset_window(monitor: Pointer?): Int
    fun mle_monitor_thresholds_init(thresholds: CThresholds?, structSize: SizeT): Int
    fun mle_monitor_get_thresholds(monitor: Pointer?, out: CThresholds?): Int
    fun mle_monitor_set_thresholds(monitor: Pointer?, thresholds: CThresholds?): Int
    fun mle_monitor_set_level_callback(monitor: Pointer?, cb: LevelCallback?, userdata: Pointer?, free: FreeCallback?): Int
    fun mle_monitor_export_metrics(monitor: Pointer?, version: ByteArray?, telemetry: Pointer?, format: Int, buf: ByteArray?,
                                   cap: SizeT, len: SizeTOut?): Int
    fun mle_monitor_get_latency_histogram(monitor: Pointer?, out: CExpHistogram?): Int

    // Sessions: (session, input..., out, probabilities, capacity, probabilities_len).
    fun mle_session_new(model: Pointer?, options: CSessionOptions?, out: PointerByReference): Int
    fun mle_session_free(session: Pointer?)
    fun mle_session_get_stats(session: Pointer?, out: CSessionStats?): Int
    fun mle_session_classify_text(s: Pointer?, text: ByteArray?, len: SizeT, out: CPrediction?, probs: FloatArray?, cap: SizeT,
                                  n: SizeTOut?): Int
    fun mle_session_classify_f32(s: Pointer?, values: FloatArray?, count: SizeT, out: CPrediction?, probs: FloatArray?,
                                 cap: SizeT, n: SizeTOut?): Int
    fun mle_session_classify_bytes(s: Pointer?, data: ByteArray?, len: SizeT, out: CPrediction?, probs: FloatArray?,
                                   cap: SizeT, n: SizeTOut?): Int
    fun mle_session_classify_text_batch(s: Pointer?, texts: Array<Pointer?>?, lengths: Pointer?, count: SizeT,
                                        out: Array<CPrediction>?, probs: FloatArray?, cap: SizeT, n: SizeTOut?): Int
    fun mle_session_classify_f32_batch(s: Pointer?, values: FloatArray?, valuesLen: SizeT, count: SizeT,
                                       out: Array<CPrediction>?, probs: FloatArray?, cap: SizeT, n: SizeTOut?): Int
    fun mle_session_classify_bytes_batch(s: Pointer?, items: Array<Pointer?>?, lengths: Pointer?, count: SizeT,
                                         out: Array<CPrediction>?, probs: FloatArray?, cap: SizeT, n: SizeTOut?): Int

    // Runtimes: classify takes (runtime, user_id, input..., out, probabilities, capacity, probabilities_len).
    fun mle_runtime_options_init(options: CRuntimeOptions?, structSize: SizeT): Int
    fun mle_runtime_new(production: Pointer?, options: CRuntimeOptions?, out: PointerByReference): Int
    fun mle_runtime_free(runtime: Pointer?)
    fun mle_runtime_classify_text(rt: Pointer?, user: ByteArray?, text: ByteArray?, len: SizeT, out: CServed?,
                                  probs: FloatArray?, cap: SizeT, n: SizeTOut?): Int
    fun mle_runtime_classify_f32(rt: Pointer?, user: ByteArray?, values: FloatArray?, count: SizeT, out: CServed?,
                                 probs: FloatArray?, cap: SizeT, n: SizeTOut?): Int
    fun mle_runtime_classify_bytes(rt: Pointer?, user: ByteArray?, data: ByteArray?, len: SizeT, out: CServed?,
                                   probs: FloatArray?, cap: SizeT, n: SizeTOut?): Int
    fun mle_runtime_set_experiment(rt: Pointer?, name: ByteArray?, variants: Array<CVariant>?, count: SizeT, scheme: Int): Int
    fun mle_runtime_set_assignment_hook(rt: Pointer?, hook: HookCallback?, userdata: Pointer?, free: FreeCallback?): Int
    fun mle_runtime_set_event_callback(rt: Pointer?, cb: EventCallback?, userdata: Pointer?, free: FreeCallback?): Int
    fun mle_runtime_swap(rt: Pointer?, variant: SizeT, model: Pointer?, cases: Array<CSelfTestCase>?, count: SizeT): Int
    fun mle_runtime_swap_path(rt: Pointer?, variant: SizeT, path: ByteArray?, options: CModelOptions?,
                              cases: Array<CSelfTestCase>?, count: SizeT): Int
    /** Since C ABI 1.1. */
    fun mle_runtime_change_input_schema(rt: Pointer?, model: Pointer?, cases: Array<CSelfTestCase>?, count: SizeT): Int
    fun mle_rollout_options_init(options: CRolloutOptions?, structSize: SizeT): Int
    fun mle_runtime_start_rollout(rt: Pointer?, variant: SizeT, candidate: Pointer?, options: CRolloutOptions?,
                                  cases: Array<CSelfTestCase>?, count: SizeT): Int
    fun mle_runtime_promote(rt: Pointer?): Int
    fun mle_runtime_rollback(rt: Pointer?, variant: SizeT): Int
    fun mle_runtime_set_shadow(rt: Pointer?, model: Pointer?, fraction: Double): Int
    fun mle_runtime_clear_shadow(rt: Pointer?): Int
    fun mle_runtime_record_outcome(rt: Pointer?, variant: SizeT, converted: Int): Int
    fun mle_runtime_test_significance(rt: Pointer?, control: SizeT, treatment: SizeT, confidence: Double, out: CSignificance?): Int
    fun mle_runtime_get_variant_stats(rt: Pointer?, variant: SizeT, out: CVariantStats?): Int
    fun mle_runtime_get_shadow_report(rt: Pointer?, out: CShadowReport?): Int
    fun mle_runtime_freeze_baseline(rt: Pointer?, role: Int, variant: SizeT): Int
    fun mle_runtime_load_baseline(rt: Pointer?, role: Int, variant: SizeT, baseline: CBaseline?): Int
    fun mle_runtime_snapshot(rt: Pointer?, role: Int, variant: SizeT, out: CSnapshot?, labels: LongArray?, cap: SizeT,
                             written: SizeTOut?): Int
    /** Since C ABI 1.1. */
    fun mle_runtime_get_max_labels(rt: Pointer?, out: SizeTOut?): Int
    fun mle_runtime_evaluate(rt: Pointer?): Int
    fun mle_runtime_get_health(rt: Pointer?, out: CHealth?, models: Array<CLoadedModel>?, cap: SizeT): Int
    fun mle_runtime_shutdown(rt: Pointer?, timeoutMs: Int, cb: FinalSnapshotCallback?, userdata: Pointer?): Int
    fun mle_runtime_export_metrics(rt: Pointer?, format: Int, buf: ByteArray?, cap: SizeT, len: SizeTOut?): Int

    // Telemetry.
    fun mle_telemetry_options_init(options: CTelemetryOptions?, structSize: SizeT): Int
    fun mle_telemetry_new(options: CTelemetryOptions?, out: PointerByReference): Int
    fun mle_telemetry_free(telemetry: Pointer?)
    fun mle_telemetry_flush(telemetry: Pointer?, report: CFlushReport?): Int
    fun mle_telemetry_persist(telemetry: Pointer?): Int
    fun mle_telemetry_get_stats(telemetry: Pointer?, out: CTelemetryStats?): Int
}
