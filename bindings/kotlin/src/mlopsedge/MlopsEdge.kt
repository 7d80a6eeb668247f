// libmlops_edge for Kotlin/JVM and Android, over JNA (C ABI 1.1). Every class that owns a native
// handle is Closeable (use `use { }`); every failing call throws MleException with the library's
// status code and message; callbacks are Kotlin lambdas that stay alive exactly as long as the
// library holds them (a registry keyed by the userdata pointer, released by the library's
// free_userdata callback; the JNA callback objects themselves are singletons, always reachable).
// The first use of the library checks its ABI (mle_abi_check(MlopsEdge.ABI_VERSION)).
package mlopsedge

import com.sun.jna.Memory
import com.sun.jna.Native
import com.sun.jna.Pointer
import com.sun.jna.ptr.DoubleByReference
import com.sun.jna.ptr.PointerByReference
import java.io.Closeable
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicLong

/** A failed call: `status` is the MLE_ERR_* code, the message the library's. */
class MleException(val status: Int, message: String) : RuntimeException(message)

/** Status codes (include/mlops_edge.h). */
object Status {
    const val OK = 0; const val INVALID_ARGUMENT = 1; const val INVALID_UTF8 = 2; const val BUFFER_TOO_SMALL = 3
    const val IO = 4; const val MODEL_INVALID = 5; const val MODEL_UNSUPPORTED = 6; const val MODEL_CARD = 7
    const val TOKENIZER = 8; const val WRONG_INPUT_KIND = 9; const val INPUT_SHAPE = 10; const val INPUT_NOT_FINITE = 11
    const val INFERENCE = 12; const val POOL_EXHAUSTED = 13; const val PANIC = 14; const val OUTPUT_NOT_FINITE = 15
    const val INSUFFICIENT_DATA = 16; const val INVALID_STATE = 17; const val LIMIT_REACHED = 18; const val BUSY = 19
    const val SHUTTING_DOWN = 20; const val SELF_TEST_FAILED = 21
    /** A session used by two calls at once (give each thread its own session). */
    const val SESSION_BUSY = 22
    /** The library does not implement this binding's ABI (see [MlopsEdge.ABI_VERSION]). */
    const val ABI_MISMATCH = 23
    /** A model file above [ModelOptions.maxModelBytes]. */
    const val MODEL_LIMIT = 24
    /**
     * The telemetry spool file is in use by another telemetry handle (of this process or another):
     * one [Telemetry] per [TelemetryOptions.spoolPath]. Since C ABI 1.1.
     */
    const val SPOOL_LOCKED = 25
    /** A model package is not well formed (since C ABI 1.3). */
    const val PACKAGE_INVALID = 26
    /** Trusted keys are set and the model is not a signed package (since C ABI 1.3). */
    const val PACKAGE_UNSIGNED = 27
    /** The package is signed by a key that is not trusted (since C ABI 1.3). */
    const val PACKAGE_UNTRUSTED_KEY = 28
    /** The package's signature does not verify over its manifest (since C ABI 1.3). */
    const val PACKAGE_BAD_SIGNATURE = 29
    /** A file of the package changed after packing (since C ABI 1.3). */
    const val PACKAGE_TAMPERED = 30
    /** A file listed in the manifest is missing, or one it does not list is there (since C ABI 1.3). */
    const val PACKAGE_FILES_MISMATCH = 31
    /** The package is older than [ModelOptions.minPackageVersion] (since C ABI 1.3). */
    const val PACKAGE_OUTDATED = 32
}

/** Input kinds (MLE_INPUT_*), as in [ModelInfo.inputKind]. */
object InputKind { const val TEXT = 1; const val TENSOR = 2; const val BYTES = 3 }

/** Prediction flags (MLE_FLAG_*), as in [Prediction.flags] and [Served.flags]. */
object Flags { const val TRUNCATED = 1; const val EMPTY_INPUT = 2; const val UNPOOLED = 4; const val LABEL_TRUNCATED = 1 shl 16 }

/** Alert levels (MLE_LEVEL_*). */
object Level { const val OK = 0; const val WARNING = 1; const val CRITICAL = 2 }

/** Model roles in a runtime (MLE_ROLE_*), for [Runtime.snapshot] and [LoadedModel.role]. */
object Role { const val VARIANT = 0; const val CANDIDATE = 1; const val SHADOW = 2 }

/** Runtime states (MLE_STATE_*), as in [Health.state]. */
object RuntimeState { const val SERVING = 0; const val DRAINING = 1; const val STOPPED = 2 }

/** Alert metrics (MLE_ALERT_*), as in [Alert.metric]. */
object AlertMetric {
    const val LATENCY_P95 = 0; const val CONFIDENCE_MEAN = 1; const val ERROR_RATE = 2; const val LATENCY_DRIFT = 3
    const val CONFIDENCE_DRIFT = 4; const val INPUT_LENGTH_DRIFT = 5; const val FEATURE_DRIFT = 6; const val LABEL_DRIFT = 7
}

/** Deployment event kinds (MLE_EVENT_*), as in [Event.kind]. */
object EventKind {
    const val SWAPPED = 1; const val SWAP_REFUSED = 2; const val ROLLOUT_STARTED = 3; const val ROLLOUT_ADVANCED = 4
    const val ROLLOUT_COMPLETED = 5; const val ROLLED_BACK = 6; const val ALERT_LEVEL_CHANGED = 7
    const val EXPERIMENT_CHANGED = 8; const val SHADOW_CHANGED = 9; const val SHUTDOWN_STARTED = 10
}

/** Metric export formats. */
enum class MetricsFormat(internal val code: Int) { PROMETHEUS(0), OPENMETRICS(1), OTLP_JSON(2) }

/** Log levels for [MlopsEdge.setLogCallback]. */
enum class LogLevel(internal val code: Int) { OFF(0), ERROR(1), WARN(2), INFO(3), DEBUG(4), TRACE(5) }

/** A/B assignment schemes (MLE_ASSIGN_*). */
enum class AssignScheme(internal val code: Int) {
    /** md5 of "experiment:user_id" (the default; reproducible in any language with an md5). */
    MD5(0),
    /** What a GrowthBook SDK picks with hash version 1. */
    GROWTHBOOK_V1(1),
    /** ... with hash version 2. */
    GROWTHBOOK_V2(2)
}

/** Session memory pool modes (MLE_POOL_*). */
enum class PoolMode(internal val code: Int) { AUTO(0), OFF(1), FIXED(2) }

/** The library, loaded and ABI-checked on first use (a mismatch throws ABI_MISMATCH every time). */
internal val lib: Lib by lazy { loadLibrary() }

/**
 * Loads the library and checks that it implements `abiVersion` (the binding's own; a parameter
 * so the test can ask for another one): a library of another major version, or an older minor
 * one, fails here with ABI_MISMATCH before any struct crosses the boundary.
 */
internal fun loadLibrary(abiVersion: Int = MlopsEdge.ABI_VERSION): Lib {
    val l = Native.load("mlops_edge", Lib::class.java)
    val status = l.mle_abi_check(abiVersion)
    if (status != Status.OK) {
        throw MleException(status, "libmlops_edge ${fromC(l.mle_version())} cannot serve this binding " +
            "(C ABI ${abiVersion ushr 16}.${abiVersion and 0xffff}): ${fromC(l.mle_last_error())}")
    }
    return l
}

internal fun check(status: Int) {
    if (status != Status.OK) {
        throw MleException(status, "${fromC(lib.mle_status_str(status))}: ${fromC(lib.mle_last_error())}")
    }
}

/** Lambdas the library holds, by the userdata pointer it was given. */
internal object Registry {
    private val next = AtomicLong(1)
    private val live = ConcurrentHashMap<Long, Any>()
    fun register(callback: Any): Pointer {
        val id = next.getAndIncrement()
        live[id] = callback
        return Pointer(id)
    }
    @Suppress("UNCHECKED_CAST")
    fun <T> get(userdata: Pointer?): T? = userdata?.let { live[Pointer.nativeValue(it)] as T? }
    /** How many lambdas the library holds now. */
    val size: Int get() = live.size
    /** The free_userdata of every registration: the library calls it once per userdata. */
    val free = object : FreeCallback {
        override fun invoke(userdata: Pointer?) {
            userdata?.let { live.remove(Pointer.nativeValue(it)) }
        }
    }
}

/** One two-proportion z-test. */
data class Significance(val pValue: Double, val lift: Double, val significant: Boolean, val ciLower: Double,
                        val ciUpper: Double, val controlRate: Double, val treatmentRate: Double,
                        val liftPercent: Double, val zScore: Double) {
    internal constructor(s: CSignificance) : this(s.p_value, s.lift, s.significant != 0, s.ci_lower, s.ci_upper,
        s.control_rate, s.treatment_rate, s.lift_percent, s.z_score)
}

/** A two-sample Kolmogorov–Smirnov result (as scipy's ks_2samp). */
data class KsResult(val statistic: Double, val pValue: Double)

/** Library-wide calls. */
object MlopsEdge {
    /** Major version of the C ABI this binding mirrors (the header's MLE_ABI_VERSION_MAJOR). */
    const val ABI_VERSION_MAJOR = 1
    /**
     * Minor version of the C ABI this binding mirrors (MLE_ABI_VERSION_MINOR). 3: the binding needs
     * a library of ABI 1.3 or later (1.1 added [Runtime.changeInputSchema], [Runtime.maxLabels],
     * [Status.SPOOL_LOCKED] and the spool damage counters; 1.2 [ModelInfo.inputElementType] and
     * [ModelInfo.handlesMissingValues]; 1.3 model packages: [ModelOptions.trustedKeys],
     * [RuntimeOptions.trustedKeys], the package fields of [ModelInfo], the PACKAGE_* statuses; 1.4
     * [Runtime.freezeBaseline] and [Runtime.loadBaseline]).
     */
    const val ABI_VERSION_MINOR = 4
    /** `(major << 16) | minor`: what the binding passes to mle_abi_check when it loads the library. */
    const val ABI_VERSION = (ABI_VERSION_MAJOR shl 16) or ABI_VERSION_MINOR

    /** The library's version. */
    val version: String get() = fromC(lib.mle_version())

    /** The C ABI version the loaded library implements, `(major << 16) | minor`. */
    val abiVersion: Int get() = lib.mle_abi_version()

    /** The variant `scheme` gives (experiment, user) over `weights` (summing to 1). */
    fun abAssign(experiment: String, userId: String, weights: DoubleArray, scheme: AssignScheme = AssignScheme.MD5): Int {
        val out = SizeTOut()
        check(lib.mle_ab_assign(cString(experiment), cString(userId), weights, sizeT(weights.size), scheme.code, out))
        return out.value.toInt()
    }

    /** The pooled two-proportion z-test of treatment against control on given counts. */
    fun abTestSignificance(controlConversions: Long, controlTotal: Long, treatmentConversions: Long,
                           treatmentTotal: Long, confidence: Double = 0.95): Significance {
        val s = CSignificance()
        check(lib.mle_ab_test_significance(controlConversions, controlTotal, treatmentConversions, treatmentTotal, confidence, s))
        return Significance(s)
    }

    /** Two-sample two-sided Kolmogorov–Smirnov test. */
    fun ksTwoSample(a: DoubleArray, b: DoubleArray): KsResult {
        val d = DoubleByReference()
        val p = DoubleByReference()
        check(lib.mle_stats_ks_two_sample(a, sizeT(a.size), b, sizeT(b.size), d, p))
        return KsResult(d.value, p.value)
    }

    /** Forwards the library's log records at `level` and above to `callback` (logcat on Android). */
    fun setLogCallback(level: LogLevel, callback: ((LogLevel, String, String) -> Unit)?) {
        if (callback == null || level == LogLevel.OFF) {
            check(lib.mle_log_set_callback(LogLevel.OFF.code, null, null, null))
            return
        }
        // On failure the library calls free_userdata at once: nothing stays registered.
        check(lib.mle_log_set_callback(level.code, logTrampoline, Registry.register(callback), Registry.free))
    }

    /** Lambdas currently held by the library (for leak checks). */
    val registeredCallbacks: Int get() = Registry.size

    private val logTrampoline = object : LogCallback {
        override fun invoke(userdata: Pointer?, level: Int, target: Pointer, message: Pointer) {
            try {
                Registry.get<(LogLevel, String, String) -> Unit>(userdata)
                    ?.invoke(LogLevel.values()[level], fromC(target), fromC(message))
            } catch (e: Throwable) {
            }
        }
    }
}

/** Base of every handle owner: `close()` frees once; use after close throws. */
abstract class NativeHandle internal constructor(handle: Pointer) : Closeable {
    private var ptr: Pointer? = handle
    internal val handle: Pointer get() = ptr ?: throw IllegalStateException("${javaClass.simpleName} is closed")
    internal abstract fun free(handle: Pointer)
    override fun close() {
        val p = synchronized(this) { ptr.also { ptr = null } } ?: return
        free(p)
    }
}

/**
 * Loading options (mle_model_options); 0 / null means "the card's value, or the default".
 * `maxModelBytes` bounds every file read (and the bytes given to [Model.loadBytes]): a bigger
 * one fails with [Status.MODEL_LIMIT] before it is read (0 = 256 MiB).
 */
data class ModelOptions(val maxSequenceLength: Int = 0, val threads: Int = 0, val maxBatch: Int = 0,
                        val sequenceBuckets: List<Int>? = null, val maxTextBytes: Long = 0,
                        val planPerBucket: Boolean = false, val maxModelBytes: Long = 0,
                        val trustedKeys: List<ByteArray> = emptyList(), val minPackageVersion: Long = 0,
                        val maxNodes: Long = 0, val maxGraphDepth: Long = 0, val maxTensorElements: Long = 0,
                        val maxInitializerBytes: Long = 0) {
    internal fun toC(): CModelOptions {
        val o = CModelOptions()
        check(lib.mle_model_options_init(o, sizeT(o.size())))
        o.max_sequence_length = maxSequenceLength
        o.threads = threads
        o.max_batch = maxBatch
        sequenceBuckets?.let { b ->
            // The Memory is referenced by the struct, which the call holds: alive until it returns.
            val m = Memory(maxOf(1, b.size) * 4L)
            b.forEachIndexed { i, v -> m.setInt(i * 4L, v) }
            o.sequence_buckets = m
            o.sequence_bucket_count = sizeT(b.size)
        }
        o.max_text_bytes = SizeT(maxTextBytes)
        o.plan_per_bucket = if (planPerBucket) 1 else 0
        o.max_model_bytes = maxModelBytes
        o.trusted_keys = keyMemory(trustedKeys)
        o.trusted_key_count = sizeT(trustedKeys.size)
        o.min_package_version = minPackageVersion
        o.max_nodes = maxNodes
        o.max_graph_depth = maxGraphDepth
        o.max_tensor_elements = maxTensorElements
        o.max_initializer_bytes = maxInitializerBytes
        return o
    }
}

/** Trusted keys (32 bytes each) back to back in native memory, or null for none; the struct that
 *  points to it holds the reference while the call runs. The library reads 32 bytes per key, so
 *  a key of another length is refused here. */
internal fun keyMemory(keys: List<ByteArray>): Memory? {
    if (keys.isEmpty()) return null
    require(keys.all { it.size == 32 }) { "trusted keys are 32 bytes each" }
    val m = Memory(keys.size * 32L)
    keys.forEachIndexed { i, k -> m.write(i * 32L, k, 0, 32) }
    return m
}

/** What a model is (its card). `trainedAtUnix` is null when the card has no trained_at. `inputElementType`:
 *  an [ElementType] constant, what the graph takes (f32 features are converted to it);
 *  `handlesMissingValues`: NaN features are taken as missing values (else refused). */
data class ModelInfo(val name: String, val version: String, val inputKind: Int, val labelCount: Int, val maxInputLength: Int,
                     val trainedAt: String, val trainedAtUnix: Long?, val description: String, val metricsJson: String,
                     val planCount: Int, val inputElementType: Int, val handlesMissingValues: Boolean,
                     val fromPackage: Boolean = false, val packageVersion: Long = 0, val signedPackage: Boolean = false,
                     val signerPublicKey: ByteArray = ByteArray(32))

/** MLE_ELEMENT_*: the element type a model's graph input takes. */
object ElementType {
    const val FLOAT32 = 1
    const val FLOAT64 = 2
    const val INT64 = 3
    const val INT32 = 4
}

/** MLE_TIME_UNKNOWN (INT64_MIN). */
internal const val TIME_UNKNOWN = Long.MIN_VALUE

/** A loaded classifier. Thread-safe; sessions and runtimes keep it alive after close(). */
class Model private constructor(handle: Pointer) : NativeHandle(handle) {
    companion object {
        /** Loads a model directory (model.onnx, card, tokenizer) or an .onnx file. */
        fun load(path: String, options: ModelOptions? = null): Model {
            val out = PointerByReference()
            check(lib.mle_model_load(cString(path), options?.toC(), out))
            return Model(out.value)
        }
        /** Loads a model from memory (the tokenizer.json bytes for text models; an optional card). */
        fun loadBytes(onnx: ByteArray, tokenizerJson: ByteArray? = null, cardJson: String? = null,
                      options: ModelOptions? = null): Model {
            val out = PointerByReference()
            check(lib.mle_model_load_bytes(onnx, sizeT(onnx.size), tokenizerJson, sizeT(tokenizerJson?.size ?: 0),
                cardJson?.let { cString(it) }, options?.toC(), out))
            return Model(out.value)
        }
    }
    override fun free(handle: Pointer) = lib.mle_model_free(handle)
    val info: ModelInfo
        get() {
            val d = CModelDetails()
            check(lib.mle_model_get_details(handle, d))
            return ModelInfo(fromC(d.name), fromC(d.version), d.input_kind, d.label_count, d.max_input_length,
                fromC(d.trained_at), d.trained_at_unix.takeIf { it != TIME_UNKNOWN }, fromC(d.description),
                fromC(d.metrics_json), d.plan_count, d.input_element_type, d.handles_missing_values != 0,
                d.from_package != 0, d.package_version, d.signed_package != 0, d.signer_public_key.copyOf())
        }
    fun label(index: Int): String {
        val out = PointerByReference()
        check(lib.mle_model_get_label(handle, sizeT(index), out))
        return fromC(out.value)
    }
    /** The plan lengths (text: sequence buckets, ascending; one value otherwise). */
    val planLengths: IntArray
        get() {
            val n = SizeTOut()
            val status = lib.mle_model_get_plan_lengths(handle, null, SizeT(0), n)
            if (status != Status.BUFFER_TOO_SMALL) check(status)
            val lengths = IntArray(n.value.toInt())
            check(lib.mle_model_get_plan_lengths(handle, lengths, sizeT(lengths.size), n))
            return lengths.copyOf(n.value.toInt())
        }
}

/** One answer of a session. */
class Prediction(val labelIndex: Int, val label: String, val score: Float, val latencyNs: Long, val flags: Int,
                 val inputLength: Int, val probabilities: FloatArray) {
    internal constructor(p: CPrediction, probabilities: FloatArray) :
        this(p.label_index, fromC(p.label), p.score, p.latency_ns, p.flags, p.input_length, probabilities)
}

/** Session counters: `requests = successes + errors`, refused arguments included. */
data class SessionStats(val requests: Long, val errors: Long, val lastRequestSystemCalls: Long, val poolCapacity: Long,
                        val poolUsed: Long, val poolPeak: Long, val poolOverflows: Long)

/** Session options: the memory pool (`poolBytes` only for [PoolMode.FIXED]). */
data class SessionOptions(val poolMode: PoolMode = PoolMode.AUTO, val poolBytes: Long = 0)

/**
 * One thread's scratch for one model. Not thread-safe: a call made while another thread's call
 * runs on the same session fails with [Status.SESSION_BUSY] (and close() during a call is a bug:
 * the library keeps such a session alive, and it leaks).
 */
class Session(model: Model, options: SessionOptions? = null) : NativeHandle(newSession(model, options)) {
    private val labels = model.info.labelCount
    override fun free(handle: Pointer) = lib.mle_session_free(handle)

    fun classifyText(text: String): Prediction = classifyText(text.toByteArray(Charsets.UTF_8))
    /** Text already in UTF-8 (e.g. read from a file); invalid UTF-8 is [Status.INVALID_UTF8]. */
    fun classifyText(utf8: ByteArray): Prediction =
        run { p, probs, n -> lib.mle_session_classify_text(handle, utf8, sizeT(utf8.size), p, probs, sizeT(probs.size), n) }
    fun classifyFloats(values: FloatArray): Prediction =
        run { p, probs, n -> lib.mle_session_classify_f32(handle, values, sizeT(values.size), p, probs, sizeT(probs.size), n) }
    fun classifyBytes(data: ByteArray): Prediction =
        run { p, probs, n -> lib.mle_session_classify_bytes(handle, data, sizeT(data.size), p, probs, sizeT(probs.size), n) }

    /** Several texts in one run (the batch path allocates; single calls do not). */
    fun classifyTextBatch(texts: List<String>): List<Prediction> {
        val items = texts.map { it.toByteArray(Charsets.UTF_8) }
        return runBatch(items.size) { out, probs, n ->
            lib.mle_session_classify_text_batch(handle, items.map<ByteArray, Pointer?> { nativeBytes(it) }.toTypedArray(),
                sizeTArray(LongArray(items.size) { items[it].size.toLong() }), sizeT(items.size), out, probs, sizeT(probs?.size ?: 0), n)
        }
    }
    /** Several examples of `maxInputLength` values each, in one run. */
    fun classifyFloatsBatch(examples: List<FloatArray>): List<Prediction> {
        val values = FloatArray(examples.sumBy { it.size })
        var at = 0
        for (e in examples) { e.copyInto(values, at); at += e.size }
        return runBatch(examples.size) { out, probs, n ->
            lib.mle_session_classify_f32_batch(handle, values, sizeT(values.size), sizeT(examples.size), out, probs, sizeT(probs?.size ?: 0), n)
        }
    }
    fun classifyBytesBatch(items: List<ByteArray>): List<Prediction> =
        runBatch(items.size) { out, probs, n ->
            lib.mle_session_classify_bytes_batch(handle, items.map<ByteArray, Pointer?> { nativeBytes(it) }.toTypedArray(),
                sizeTArray(LongArray(items.size) { items[it].size.toLong() }), sizeT(items.size), out, probs, sizeT(probs?.size ?: 0), n)
        }

    fun stats(): SessionStats {
        val s = CSessionStats()
        check(lib.mle_session_get_stats(handle, s))
        return SessionStats(s.requests, s.errors, s.last_request_system_calls, s.pool_capacity, s.pool_used, s.pool_peak,
            s.pool_overflows)
    }

    /** Every later request is recorded by `monitor`. */
    fun attach(monitor: Monitor) = check(lib.mle_session_attach_monitor(handle, monitor.handle))
    fun detach() = check(lib.mle_session_detach_monitor(handle))

    private fun run(call: (CPrediction, FloatArray, SizeTOut) -> Int): Prediction {
        val p = CPrediction()
        val probs = FloatArray(labels)
        val n = SizeTOut()
        check(call(p, probs, n))
        return Prediction(p, probs.copyOf(n.value.toInt()))
    }

    /** `count` predictions (an output array: struct_size in element 0, set in all here). */
    private fun runBatch(count: Int, call: (Array<CPrediction>?, FloatArray?, SizeTOut) -> Int): List<Prediction> {
        val out = if (count == 0) null else sizedArray(count) { CPrediction() }
        val probs = if (count == 0) null else FloatArray(count * labels)
        val n = SizeTOut()
        check(call(out, probs, n))
        return out!!.mapIndexed { i, p -> Prediction(p, probs!!.copyOfRange(i * labels, (i + 1) * labels)) }
    }

    private companion object {
        fun newSession(model: Model, options: SessionOptions?): Pointer {
            val o = options?.let { CSessionOptions().apply { pool_mode = it.poolMode.code; pool_bytes = SizeT(it.poolBytes) } }
            val out = PointerByReference()
            check(lib.mle_session_new(model.handle, o, out))
            return out.value
        }
    }
}

/** One drift test. */
data class Drift(val tested: Boolean, val drifted: Boolean, val statistic: Double, val pValue: Double)

/** One alert: what (an [AlertMetric]), its [Level], current and baseline values. */
data class Alert(val metric: Int, val level: Int, val current: Double, val baseline: Double, val changePct: Double,
                 val feature: Int, val pValue: Double)

/** One analysis of a monitor (mle_snapshot). */
class Snapshot internal constructor(s: CSnapshot, labelCounts: LongArray = LongArray(0)) {
    /** struct_size as the library left it (the caller's size: what it wrote). */
    val structSize = s.struct_size
    val level = s.level
    val processed = s.processed
    val dropped = s.dropped
    val pending = s.pending
    /** Processed requests per status code (the last slot holds larger codes). */
    val statusCounts: LongArray = s.status_counts.copyOf()
    val windowCount = s.window_count
    val windowErrors = s.window_errors
    val errorRate = s.error_rate
    val latencyP50Us = s.latency_p50_us
    val latencyP95Us = s.latency_p95_us
    val latencyP99Us = s.latency_p99_us
    val latencyMeanUs = s.latency_mean_us
    val latencyMaxUs = s.latency_max_us
    val confidenceMean = s.confidence_mean
    val inputLengthMean = s.input_length_mean
    val hasBaseline = s.has_baseline != 0
    /** Whether the degradation alerts were judged (enough window samples against a baseline). */
    val degradationTested = s.degradation_tested != 0
    val baselineCount = s.baseline_count
    val baselineLatencyP95Us = s.baseline_latency_p95_us
    val baselineConfidenceMean = s.baseline_confidence_mean
    val latencyDrift = drift(s.drift_latency)
    val confidenceDrift = drift(s.drift_confidence)
    val inputLengthDrift = drift(s.drift_input_length)
    val featureDrifts: List<Drift> = (0 until s.feature_count).map { drift(s.drift_features[it]) }
    val labelDrift = Drift(s.drift_labels.tested != 0, s.drift_labels.drifted != 0, s.drift_labels.statistic, s.drift_labels.p_value)
    val alerts: List<Alert> = (0 until s.alert_count).map {
        val a = s.alerts[it]
        Alert(a.metric, a.level, a.current, a.baseline, a.change_pct, a.feature, a.p_value)
    }
    /** (version, ok, errors) per model version seen. */
    val versions: List<Triple<String, Long, Long>> = (0 until s.version_count).map {
        Triple(fromC(s.versions[it].version), s.versions[it].ok, s.versions[it].errors)
    }
    /** The window's predicted-label counts (label_count + 1 values) when asked for, else empty. */
    val labelCounts: LongArray = labelCounts
    private fun drift(d: CDrift) = Drift(d.tested != 0, d.drifted != 0, d.statistic, d.p_value)
}

/**
 * A reference distribution from the host (e.g. shipped with the model): at least 100 latencies
 * (µs) and 100 confidences; input lengths, one sample per watched feature, and the predicted-label
 * counts (0, label_count or label_count + 1 values) are optional.
 */
class Baseline(val latencyUs: DoubleArray, val confidence: DoubleArray, val inputLength: DoubleArray = DoubleArray(0),
               val features: List<DoubleArray> = emptyList(), val labelCounts: LongArray = LongArray(0),
               val errorRate: Double = 0.0) {
    internal fun toC(): CBaseline {
        require(features.size <= MAX_FEATURES) { "at most $MAX_FEATURES features" }
        // NULL only with a count of 0; the Memory objects are referenced by the struct the call holds.
        fun doubles(a: DoubleArray): Memory? = if (a.isEmpty()) null else Memory(a.size * 8L).also { it.write(0, a, 0, a.size) }
        val c = CBaseline()
        c.latency_us = doubles(latencyUs)
        c.latency_count = sizeT(latencyUs.size)
        c.confidence = doubles(confidence)
        c.confidence_count = sizeT(confidence.size)
        c.input_length = doubles(inputLength)
        c.input_length_count = sizeT(inputLength.size)
        c.feature_count = sizeT(features.size)
        features.forEachIndexed { i, f ->
            c.features[i] = doubles(f)
            c.feature_counts[i] = sizeT(f.size)
        }
        c.label_counts = if (labelCounts.isEmpty()) null else
            Memory(labelCounts.size * 8L).also { it.write(0, labelCounts, 0, labelCounts.size) }
        c.label_count = sizeT(labelCounts.size)
        c.error_rate = errorRate
        return c
    }
}

/** How a monitor is sized (0 = the default); `featureIndices` (at most 8) for tensor models. */
data class MonitorOptions(val labelCount: Int, val window: Int = 1024, val maxSessions: Int = 16, val ringCapacity: Int = 0,
                          val featureIndices: List<Int> = emptyList()) {
    internal fun <T : CMonitorOptions> fill(o: T): T {
        check(lib.mle_monitor_options_init(o, sizeT(o.size())))
        require(featureIndices.size <= MAX_FEATURES) { "at most $MAX_FEATURES features" }
        o.label_count = labelCount
        o.window = window
        o.max_sessions = maxSessions
        o.ring_capacity = ringCapacity
        o.feature_count = featureIndices.size
        featureIndices.forEachIndexed { i, f -> o.feature_indices[i] = f }
        return o
    }
}

/** Alert thresholds (mle_monitor_thresholds); [Thresholds.defaults] gives the library's. */
data class Thresholds(val latencyP95Warning: Double, val latencyP95Critical: Double, val confidenceDropWarning: Double,
                      val confidenceDropCritical: Double, val errorRateWarning: Double, val errorRateCritical: Double,
                      val driftPValue: Double, val labelDriftPValue: Double, val driftLevel: Int, val minDriftSamples: Int,
                      val minAlertSamples: Int) {
    internal constructor(t: CThresholds) : this(t.latency_p95_warning, t.latency_p95_critical, t.confidence_drop_warning,
        t.confidence_drop_critical, t.error_rate_warning, t.error_rate_critical, t.drift_p_value, t.label_drift_p_value,
        t.drift_level, t.min_drift_samples, t.min_alert_samples)

    internal fun <T : CThresholds> fill(t: T): T {
        check(lib.mle_monitor_thresholds_init(t, sizeT(t.size())))
        t.latency_p95_warning = latencyP95Warning
        t.latency_p95_critical = latencyP95Critical
        t.confidence_drop_warning = confidenceDropWarning
        t.confidence_drop_critical = confidenceDropCritical
        t.error_rate_warning = errorRateWarning
        t.error_rate_critical = errorRateCritical
        t.drift_p_value = driftPValue
        t.label_drift_p_value = labelDriftPValue
        t.drift_level = driftLevel
        t.min_drift_samples = minDriftSamples
        t.min_alert_samples = minAlertSamples
        return t
    }

    companion object {
        /** The library's defaults (mle_monitor_thresholds_init). */
        fun defaults(): Thresholds {
            val t = CThresholds()
            check(lib.mle_monitor_thresholds_init(t, sizeT(t.size())))
            return Thresholds(t)
        }
    }
}

/** An OpenTelemetry exponential histogram (mle_exp_histogram), e.g. latencies in seconds. */
class ExpHistogram internal constructor(internal val c: CExpHistogram) {
    val scale get() = c.scale
    val offset get() = c.offset
    val count get() = c.count
    val zeroCount get() = c.zero_count
    val sum get() = c.sum
    val min get() = c.min
    val max get() = c.max
    /** Counts of the buckets in use. */
    val counts: LongArray get() = c.counts.copyOf(c.bucket_count)

    /** A new histogram holding this one's values and `value` (finite, >= 0). */
    fun record(value: Double): ExpHistogram {
        val out = copy()
        check(lib.mle_exp_histogram_record(out.c, value))
        return out
    }
    /** The histogram of both value streams (e.g. several devices' latencies). */
    fun merge(other: ExpHistogram): ExpHistogram {
        val out = ExpHistogram(CExpHistogram())
        check(lib.mle_exp_histogram_merge(c, other.c, out.c))
        return out
    }
    private fun copy(): ExpHistogram {
        val out = CExpHistogram()
        c.write()
        out.pointer.write(0, c.pointer.getByteArray(0, c.size()), 0, c.size())
        out.read()
        return ExpHistogram(out)
    }

    companion object {
        fun empty(): ExpHistogram {
            val h = CExpHistogram()
            check(lib.mle_exp_histogram_init(h, sizeT(h.size())))
            return ExpHistogram(h)
        }
    }
}

/** The on-device monitor. Thread-safe. */
class Monitor private constructor(handle: Pointer, private val labelCount: Int) : NativeHandle(handle) {
    constructor(options: MonitorOptions) : this(newMonitor(options), options.labelCount)
    constructor(labelCount: Int, window: Int = 1024, maxSessions: Int = 16) :
        this(MonitorOptions(labelCount, window, maxSessions))

    override fun free(handle: Pointer) = lib.mle_monitor_free(handle)

    /** Analyses now (fires the level callback if the level changes); label counts on request. */
    fun snapshot(withLabelCounts: Boolean = false): Snapshot {
        val s = CSnapshot()
        if (!withLabelCounts) {
            check(lib.mle_monitor_snapshot(handle, s, null, SizeT(0), null))
            return Snapshot(s)
        }
        val counts = LongArray(labelCount + 1)
        val written = SizeTOut()
        check(lib.mle_monitor_snapshot(handle, s, counts, sizeT(counts.size), written))
        return Snapshot(s, counts.copyOf(written.value.toInt()))
    }
    /** Moves waiting records into the window without analysing; returns how many. */
    fun drain(): Long {
        val moved = SizeTOut()
        check(lib.mle_monitor_drain(handle, moved))
        return moved.value
    }
    fun freezeBaseline() = check(lib.mle_monitor_freeze_baseline(handle))
    /** Uses the host's reference distribution as the baseline (copied). */
    fun loadBaseline(baseline: Baseline) = check(lib.mle_monitor_load_baseline(handle, baseline.toC()))
    fun clearBaseline() = check(lib.mle_monitor_clear_baseline(handle))
    fun resetWindow() = check(lib.mle_monitor_reset_window(handle))
    var thresholds: Thresholds
        get() {
            val t = CThresholds()
            check(lib.mle_monitor_get_thresholds(handle, t))
            return Thresholds(t)
        }
        set(value) = check(lib.mle_monitor_set_thresholds(handle, value.fill(CThresholds())))
    /** Latencies since creation (seconds) as an exponential histogram. */
    fun latencyHistogram(): ExpHistogram {
        val h = CExpHistogram()
        check(lib.mle_monitor_get_latency_histogram(handle, h))
        return ExpHistogram(h)
    }
    /** Called with (previous level, current level, snapshot) when an analysis changes the level. */
    fun setLevelCallback(callback: ((Int, Int, Snapshot) -> Unit)?) {
        if (callback == null) check(lib.mle_monitor_set_level_callback(handle, null, null, null))
        else check(lib.mle_monitor_set_level_callback(handle, levelTrampoline, Registry.register(callback), Registry.free))
    }
    fun exportMetrics(format: MetricsFormat, modelVersion: String, telemetry: Telemetry? = null): String =
        render { buf, cap, len -> lib.mle_monitor_export_metrics(handle, cString(modelVersion), telemetry?.handle, format.code, buf, cap, len) }

    private companion object {
        fun newMonitor(options: MonitorOptions): Pointer {
            val out = PointerByReference()
            check(lib.mle_monitor_new(options.fill(CMonitorOptions()), out))
            return out.value
        }
        val levelTrampoline = object : LevelCallback {
            override fun invoke(userdata: Pointer?, previous: Int, current: Int, snapshot: Pointer) {
                try {
                    Registry.get<(Int, Int, Snapshot) -> Unit>(userdata)
                        ?.invoke(previous, current, Snapshot(CSnapshot.fromLibrary(snapshot)))
                } catch (e: Throwable) {
                }
            }
        }
    }
}

/** Size-then-fill rendering of the metric exports. */
internal fun render(call: (ByteArray?, SizeT, SizeTOut) -> Int): String {
    val len = SizeTOut()
    var status = call(null, SizeT(0), len)
    if (status != Status.BUFFER_TOO_SMALL) check(status)
    var needed = len.value
    repeat(4) {
        // Headroom: the metrics can grow between the two calls.
        val buf = ByteArray(needed.toInt() + 4096)
        val out = SizeTOut()
        status = call(buf, sizeT(buf.size), out)
        if (status == Status.OK) return fromC(buf)
        if (status != Status.BUFFER_TOO_SMALL) check(status)
        needed = out.value
    }
    throw MleException(Status.BUFFER_TOO_SMALL, "metrics kept growing while being rendered")
}

/** The host's answer to an upload. */
enum class UploadResult(internal val code: Int) { OK(0), RETRY(1), DROP(2) }

/** A batch offered for upload: JSON Lines text (schema mlops_edge.telemetry v1). */
class Batch(val id: Long, val data: ByteArray, val records: Long, val firstSeq: Long, val lastSeq: Long, val attempt: Int) {
    val text: String get() = String(data, Charsets.UTF_8)
}

/** What one flush did. */
data class FlushReport(val batchesSent: Long, val batchesDropped: Long, val retried: Boolean, val retryAfterMs: Long?, val pending: Long)

/**
 * Telemetry counters; `recorded == sent + droppedQueueFull + droppedByHost + pending`. What the
 * spool lost when the telemetry was created (since C ABI 1.1): `spoolCorruptBytes` of damaged
 * entries skipped in `spoolCorruptRegions` stretches (the intact entries after them were
 * recovered), and `spoolTruncated` when the spool file was found shorter than its header (emptied
 * or cut by something else: its records are lost; `spoolTornBytes` holds what was left).
 */
data class TelemetryStats(val recorded: Long, val sampledOut: Long, val sent: Long, val retried: Long,
                          val droppedQueueFull: Long, val droppedByHost: Long, val pending: Long,
                          val recovered: Long, val spoolTornBytes: Long, val batchesSent: Long = 0,
                          val batchesRetried: Long = 0, val batchesDropped: Long = 0, val spoolBytes: Long = 0,
                          val spoolSkipped: Long = 0, val spoolErrors: Long = 0, val lastSpoolError: String = "",
                          val spoolCorruptBytes: Long = 0, val spoolCorruptRegions: Long = 0,
                          val spoolTruncated: Boolean = false, val spoolLostRecords: Long = 0)

/** Telemetry options (see the README's Telemetry section). */
data class TelemetryOptions(val queueCapacity: Int = 4096, val requestSampleRate: Double = 1.0,
                            val batchMaxRecords: Int = 500, val batchMaxBytes: Int = 256 * 1024,
                            val retryInitialMs: Int = 1000, val retryMaxMs: Int = 300_000,
                            val spoolPath: String? = null, val spoolMaxBytes: Long = 4L shl 20,
                            val spoolSync: Boolean = false, val deviceId: String? = null)

/**
 * Telemetry: records requests and events (through a [Runtime]), hands batches to `upload` on
 * [flush]; `ready` is told (on a request thread) when a batch's worth is waiting. An exception
 * thrown by `upload` counts as RETRY. One Telemetry per spool file: a second one on the same
 * [TelemetryOptions.spoolPath] while the first (or a runtime using it) lives throws
 * [Status.SPOOL_LOCKED] (since C ABI 1.1).
 */
class Telemetry(options: TelemetryOptions = TelemetryOptions(), ready: ((Long) -> Unit)? = null,
                upload: (Batch) -> UploadResult) : NativeHandle(newTelemetry(options, upload, ready)) {
    override fun free(handle: Pointer) = lib.mle_telemetry_free(handle)

    fun flush(): FlushReport {
        val r = CFlushReport()
        check(lib.mle_telemetry_flush(handle, r))
        return FlushReport(r.batches_sent, r.batches_dropped, r.retried != 0, if (r.backing_off != 0) r.retry_after_ms else null, r.pending)
    }
    fun persist() = check(lib.mle_telemetry_persist(handle))
    fun stats(): TelemetryStats {
        val s = CTelemetryStats()
        check(lib.mle_telemetry_get_stats(handle, s))
        return TelemetryStats(s.recorded, s.sampled_out, s.sent, s.retried, s.dropped_queue_full, s.dropped_by_host,
            s.pending, s.recovered, s.spool_torn_bytes, s.batches_sent, s.batches_retried, s.batches_dropped,
            s.spool_bytes, s.spool_skipped, s.spool_errors, fromC(s.last_spool_error), s.spool_corrupt_bytes,
            s.spool_corrupt_regions, s.spool_truncated != 0, s.spool_lost_records)
    }

    private class Hooks(val upload: (Batch) -> UploadResult, val ready: ((Long) -> Unit)?)

    private companion object {
        val uploadTrampoline = object : UploadCallback {
            override fun invoke(userdata: Pointer?, batch: Pointer): Int = try {
                val b = CBatch.fromLibrary(batch)
                val data = b.data?.getByteArray(0, b.len.toInt()) ?: ByteArray(0)
                Registry.get<Hooks>(userdata)!!.upload(Batch(b.id, data, b.records.toLong(), b.first_seq, b.last_seq, b.attempt)).code
            } catch (e: Throwable) {
                UploadResult.RETRY.code // nothing is lost to a throwing callback
            }
        }
        val readyTrampoline = object : ReadyCallback {
            override fun invoke(userdata: Pointer?, waiting: Long) {
                try {
                    Registry.get<Hooks>(userdata)?.ready?.invoke(waiting)
                } catch (e: Throwable) {
                }
            }
        }
        fun newTelemetry(o: TelemetryOptions, upload: (Batch) -> UploadResult, ready: ((Long) -> Unit)?): Pointer {
            val c = CTelemetryOptions()
            check(lib.mle_telemetry_options_init(c, sizeT(c.size())))
            c.queue_capacity = o.queueCapacity
            c.request_sample_rate = o.requestSampleRate
            c.batch_max_records = o.batchMaxRecords
            c.batch_max_bytes = o.batchMaxBytes
            c.retry_initial_ms = o.retryInitialMs
            c.retry_max_ms = o.retryMaxMs
            c.spool_path = o.spoolPath?.let { nativeString(it) }
            c.spool_max_bytes = o.spoolMaxBytes
            c.spool_sync = if (o.spoolSync) 1 else 0
            c.device_id = o.deviceId?.let { nativeString(it) }
            c.upload = uploadTrampoline
            c.ready = if (ready != null) readyTrampoline else null
            c.userdata = Registry.register(Hooks(upload, ready))
            c.free_userdata = Registry.free
            val out = PointerByReference()
            // On failure the library calls free_userdata itself (at once, on this thread).
            check(lib.mle_telemetry_new(c, out))
            return out.value
        }
    }
}

/** One answer of the runtime. */
data class Served(val variant: Int, val candidate: Boolean, val labelIndex: Int, val label: String, val score: Float,
                  val latencyNs: Long, val version: String, val flags: Int = 0, val inputLength: Int = 0)

/** One deployment event (kind: an [EventKind]). */
data class Event(val kind: Int, val variant: Int, val fromVersion: String, val toVersion: String, val stagePercent: Int,
                 val level: Int, val message: String)

/** A variant of an experiment. */
class Variant(val name: String, val model: Model, val weight: Double)

/**
 * A self-test case for [Runtime.swap], [Runtime.startRollout] and [Runtime.changeInputSchema]: one
 * input and the label it must give.
 */
class SelfTestCase private constructor(internal val text: String?, internal val features: FloatArray?,
                                       internal val bytes: ByteArray?, val expectedLabel: String) {
    companion object {
        fun text(text: String, expectedLabel: String) = SelfTestCase(text, null, null, expectedLabel)
        fun features(values: FloatArray, expectedLabel: String) = SelfTestCase(null, values, null, expectedLabel)
        fun bytes(data: ByteArray, expectedLabel: String) = SelfTestCase(null, null, data, expectedLabel)
    }
}

/** The C array of cases (struct_size in every element), null for none (the card's cases). */
internal fun selfTestCases(cases: List<SelfTestCase>): Array<CSelfTestCase>? {
    if (cases.isEmpty()) return null
    val array = sizedArray(cases.size) { CSelfTestCase() }
    cases.forEachIndexed { i, case ->
        val c = array[i]
        // The Memory objects are referenced by the structs, which the call holds.
        c.text = case.text?.let { nativeString(it) }
        c.features = case.features?.takeIf { it.isNotEmpty() }?.let { f ->
            Memory(f.size * 4L).also { it.write(0, f, 0, f.size) }
        }
        c.feature_count = sizeT(case.features?.size ?: 0)
        c.bytes = case.bytes?.let { nativeBytes(it) }
        c.byte_count = sizeT(case.bytes?.size ?: 0)
        c.expected_label = nativeString(case.expectedLabel)
    }
    return array
}

/** Per-variant counts. */
data class VariantStats(val name: String, val version: String, val requests: Long, val errors: Long,
                        val conversions: Long, val outcomes: Long, val weight: Double = 0.0, val candidateRequests: Long = 0)

/** The shadow's results so far. */
data class ShadowReport(val version: String, val fraction: Double, val sampled: Long, val compared: Long, val agreed: Long,
                        val agreementRate: Double, val shadowErrors: Long, val productionErrors: Long,
                        val skippedQueueFull: Long, val skippedTooLarge: Long, val pending: Long, val discarded: Long,
                        val latencyP95Us: Double, val windowCount: Long)

/** One loaded model of a runtime ([Role] and variant; `ageDays` null when the card has no date). */
data class LoadedModel(val role: Int, val variant: Int, val variantName: String, val version: String,
                       val trainedAtUnix: Long?, val ageDays: Long?, val needsRetraining: Boolean,
                       val stalenessLevel: Int, val alertLevel: Int)

/**
 * Runtime health (mle_health) and its loaded models. `telemetrySpoolLostBytes`: spool bytes lost
 * when the runtime's telemetry was created (a torn tail cut, damage skipped, or a spool found
 * emptied; [TelemetryStats] says which). Since C ABI 1.1.
 */
data class Health(val state: Int, val level: Int, val requests: Long, val errors: Long, val hookErrors: Long,
                  val swaps: Long, val rollbacks: Long, val rolloutActive: Boolean, val rolloutPercent: Int,
                  val lastError: String, val telemetrySent: Long, val telemetryPending: Long,
                  val uptimeSeconds: Double, val inFlight: Long, val busy: Long, val refusedShuttingDown: Long,
                  val refusedModels: Long, val rolloutsCompleted: Long, val rolloutVariant: Int, val rolloutStage: Int,
                  val rolloutServedAtStage: Long, val rolloutRequestsPerStage: Long, val rolloutCandidateVersion: String,
                  val telemetryEnabled: Boolean, val telemetryRetried: Long, val telemetryDropped: Long,
                  val models: List<LoadedModel>, val structSize: Int, val telemetrySpoolLostBytes: Long = 0)

/**
 * Runtime options (mle_runtime_options). `monitor` (the template of each model's monitor; its
 * labelCount and maxSessions are set per model) and `thresholds` null = the library's defaults.
 */
data class RuntimeOptions(val maxConcurrency: Int = 4, val busyWaitMs: Int = 50, val supervisorThread: Boolean = true,
                          val evaluationIntervalMs: Int = 1000, val poolMode: PoolMode = PoolMode.AUTO,
                          val poolBytes: Long = 0, val monitor: MonitorOptions? = null, val thresholds: Thresholds? = null,
                          val shadowQueueCapacity: Int = 64, val shadowMaxInputBytes: Int = 16384,
                          val stalenessWarningDays: Int = 30, val stalenessCriticalDays: Int = 60,
                          val trustedKeys: List<ByteArray> = emptyList(), val minPackageVersion: Long = 0)

/**
 * The deployment runtime: A/B variants, hot swap, staged rollout, shadow, health, telemetry.
 * Thread-safe: classify from any thread.
 */
class Runtime(production: Model, options: RuntimeOptions = RuntimeOptions(), telemetry: Telemetry? = null) :
    NativeHandle(newRuntime(production, options, telemetry)) {
    override fun free(handle: Pointer) = lib.mle_runtime_free(handle)

    fun classifyText(userId: String, text: String): Served {
        val bytes = text.toByteArray(Charsets.UTF_8)
        return serve { out -> lib.mle_runtime_classify_text(handle, cString(userId), bytes, sizeT(bytes.size), out, null, SizeT(0), null) }
    }
    fun classifyFloats(userId: String, values: FloatArray): Served =
        serve { out -> lib.mle_runtime_classify_f32(handle, cString(userId), values, sizeT(values.size), out, null, SizeT(0), null) }
    fun classifyBytes(userId: String, data: ByteArray): Served =
        serve { out -> lib.mle_runtime_classify_bytes(handle, cString(userId), data, sizeT(data.size), out, null, SizeT(0), null) }

    /**
     * Sets an A/B experiment (weights sum to 1; variant 0 is control). Every model must take the
     * inputs production takes (kind, feature count and shape, byte layout) and have no more labels
     * than [maxLabels]; otherwise [Status.INVALID_ARGUMENT] and the experiment is not set.
     */
    fun setExperiment(name: String, variants: List<Variant>, scheme: AssignScheme = AssignScheme.MD5) {
        // An input array: struct_size in every element (sizedArray); the name Memory objects are
        // referenced by the structs, which the call holds.
        val array = if (variants.isEmpty()) null else sizedArray(variants.size) { CVariant() }
        array?.forEachIndexed { i, c ->
            c.name = nativeString(variants[i].name)
            c.model = variants[i].model.handle
            c.weight = variants[i].weight
        }
        check(lib.mle_runtime_set_experiment(handle, cString(name), array, sizeT(variants.size), scheme.code))
    }
    /** Called with every deployment event (on the thread that caused it). */
    fun setEventCallback(callback: ((Event) -> Unit)?) {
        if (callback == null) check(lib.mle_runtime_set_event_callback(handle, null, null, null))
        else check(lib.mle_runtime_set_event_callback(handle, eventTrampoline, Registry.register(callback), Registry.free))
    }
    /** The host decides the variant of (experiment, user); an answer out of range (or a throw) falls back to hashing. */
    fun setAssignmentHook(hook: ((String, String) -> Long)?) {
        if (hook == null) check(lib.mle_runtime_set_assignment_hook(handle, null, null, null))
        else check(lib.mle_runtime_set_assignment_hook(handle, hookTrampoline, Registry.register(hook), Registry.free))
    }
    /**
     * Hot swap after the self-test (`cases`, or the card's when empty). A model that cannot take
     * the inputs the runtime serves (another input kind, feature count or shape, byte layout) or
     * has more labels than [maxLabels] is refused with [Status.SELF_TEST_FAILED] (since C ABI 1.1)
     * and the old model keeps serving; a deliberate change is [changeInputSchema].
     */
    fun swap(variant: Int, model: Model, cases: List<SelfTestCase> = emptyList()) =
        check(lib.mle_runtime_swap(handle, sizeT(variant), model.handle, selfTestCases(cases), sizeT(cases.size)))
    /** Loads the model at `path` (with `options`) and swaps it in as [swap] does. */
    fun swapPath(variant: Int, path: String, options: ModelOptions? = null, cases: List<SelfTestCase> = emptyList()) =
        check(lib.mle_runtime_swap_path(handle, sizeT(variant), cString(path), options?.toC(), selfTestCases(cases), sizeT(cases.size)))
    /**
     * Starts a staged rollout (empty stages / 0 requests / null autoPromote: the defaults). The
     * candidate is refused as [swap] refuses a model ([Status.SELF_TEST_FAILED]).
     */
    fun startRollout(variant: Int, candidate: Model, stagesPercent: IntArray = intArrayOf(), requestsPerStage: Long = 0,
                     autoPromote: Boolean? = null, cases: List<SelfTestCase> = emptyList()) {
        val o = CRolloutOptions()
        check(lib.mle_rollout_options_init(o, sizeT(o.size())))
        if (stagesPercent.isNotEmpty()) {
            require(stagesPercent.size <= MAX_STAGES) { "at most $MAX_STAGES stages" }
            stagesPercent.copyInto(o.stages_percent)
            o.stage_count = stagesPercent.size
        }
        if (requestsPerStage > 0) o.requests_per_stage = requestsPerStage
        autoPromote?.let { o.auto_promote = if (it) 1 else 0 }
        check(lib.mle_runtime_start_rollout(handle, sizeT(variant), candidate.handle, o, selfTestCases(cases), sizeT(cases.size)))
    }
    /**
     * A deliberate change of input schema: `model` replaces production although it takes another
     * kind or shape of input, or has more labels, than the runtime serves (what [swap] refuses).
     * It still passes its self-test (`cases`, or the card's when empty). Only while production
     * serves alone: an experiment of several variants, a rollout or a shadow is
     * [Status.INVALID_STATE]. From the next request on, send the new model's inputs; [maxLabels]
     * follows the new model; [rollback] cannot cross the change ([Status.INVALID_STATE]).
     * Since C ABI 1.1.
     */
    fun changeInputSchema(model: Model, cases: List<SelfTestCase> = emptyList()) =
        check(lib.mle_runtime_change_input_schema(handle, model.handle, selfTestCases(cases), sizeT(cases.size)))
    fun promote() = check(lib.mle_runtime_promote(handle))
    fun rollback(variant: Int) = check(lib.mle_runtime_rollback(handle, sizeT(variant)))
    /**
     * Mirrors `fraction` of production requests to `model`, off the request path. It must take the
     * inputs production takes (its labels may differ), else [Status.INVALID_ARGUMENT].
     */
    fun setShadow(model: Model, fraction: Double) = check(lib.mle_runtime_set_shadow(handle, model.handle, fraction))
    fun clearShadow() = check(lib.mle_runtime_clear_shadow(handle))
    fun shadowReport(): ShadowReport {
        val r = CShadowReport()
        check(lib.mle_runtime_get_shadow_report(handle, r))
        return ShadowReport(fromC(r.version), r.fraction, r.sampled, r.compared, r.agreed, r.agreement_rate, r.shadow_errors,
            r.production_errors, r.skipped_queue_full, r.skipped_too_large, r.pending, r.discarded, r.latency_p95_us,
            r.window_count)
    }
    fun recordOutcome(variant: Int, converted: Boolean) =
        check(lib.mle_runtime_record_outcome(handle, sizeT(variant), if (converted) 1 else 0))
    fun significance(control: Int, treatment: Int, confidence: Double = 0.95): Significance {
        val s = CSignificance()
        check(lib.mle_runtime_test_significance(handle, sizeT(control), sizeT(treatment), confidence, s))
        return Significance(s)
    }
    fun variantStats(variant: Int): VariantStats {
        val s = CVariantStats()
        check(lib.mle_runtime_get_variant_stats(handle, sizeT(variant), s))
        return VariantStats(fromC(s.name), fromC(s.version), s.requests, s.errors, s.conversions, s.outcomes, s.weight,
            s.candidate_requests)
    }
    /**
     * Freezes the current window of a variant's model ([Role.VARIANT]), the candidate's or the
     * shadow's as its baseline (at least 100 successful requests; exported as the
     * `mlops_edge_baseline_*` gauges). Since C ABI 1.4.
     */
    fun freezeBaseline(role: Int = Role.VARIANT, variant: Int = 0) =
        check(lib.mle_runtime_freeze_baseline(handle, role, sizeT(variant)))
    /** Uses the host's reference distribution as that model's baseline (copied). Since C ABI 1.4. */
    fun loadBaseline(baseline: Baseline, role: Int = Role.VARIANT, variant: Int = 0) =
        check(lib.mle_runtime_load_baseline(handle, role, sizeT(variant), baseline.toC()))
    /** The monitor snapshot of a variant's model ([Role.VARIANT]), the candidate or the shadow. */
    fun snapshot(role: Int = Role.VARIANT, variant: Int = 0): Snapshot {
        val s = CSnapshot()
        check(lib.mle_runtime_snapshot(handle, role, sizeT(variant), s, null, SizeT(0), null))
        return Snapshot(s)
    }
    /**
     * The most labels a model answering this runtime's requests has (the variants and the rollout
     * candidate, not the shadow): what a probabilities buffer of a classify call must hold. It only
     * changes with [changeInputSchema]. Since C ABI 1.1.
     */
    val maxLabels: Int
        get() {
            val out = SizeTOut()
            check(lib.mle_runtime_get_max_labels(handle, out))
            return out.value.toInt()
        }
    fun evaluate() = check(lib.mle_runtime_evaluate(handle))
    /** Health and the loaded models (asked until the array holds them all). */
    fun health(): Health {
        var capacity = 0
        while (true) {
            val h = CHealth()
            // An output array: struct_size in element 0 (sizedArray sets it in all).
            val models = if (capacity == 0) null else sizedArray(capacity) { CLoadedModel() }
            val status = lib.mle_runtime_get_health(handle, h, models, sizeT(capacity))
            val needed = h.model_count.toInt()
            if (status == Status.BUFFER_TOO_SMALL || (status == Status.OK && needed > capacity)) {
                capacity = needed
                continue
            }
            check(status)
            val loaded = (0 until needed).map {
                val m = models!![it]
                LoadedModel(m.role, m.variant.toInt(), fromC(m.variant_name), fromC(m.version),
                    m.trained_at_unix.takeIf { t -> t != TIME_UNKNOWN }, m.age_days.takeIf { t -> t != TIME_UNKNOWN },
                    m.needs_retraining != 0, m.staleness_level, m.alert_level)
            }
            return Health(h.state, h.level, h.requests, h.errors, h.hook_errors, h.swaps, h.rollbacks, h.rollout_active != 0,
                h.rollout_percent, fromC(h.last_error), h.telemetry_sent, h.telemetry_pending, h.uptime_seconds, h.in_flight,
                h.busy, h.refused_shutting_down, h.refused_models, h.rollouts_completed, h.rollout_variant.toInt(),
                h.rollout_stage, h.rollout_served_at_stage, h.rollout_requests_per_stage, fromC(h.rollout_candidate_version),
                h.telemetry_enabled != 0, h.telemetry_retried, h.telemetry_dropped, loaded, h.struct_size,
                h.telemetry_spool_lost_bytes)
        }
    }
    fun exportMetrics(format: MetricsFormat): String =
        render { buf, cap, len -> lib.mle_runtime_export_metrics(handle, format.code, buf, cap, len) }
    /** Drains and stops; returns (version, snapshot) of each loaded model. */
    fun shutdown(timeoutMs: Int = 5000): List<Pair<String, Snapshot>> {
        val out = mutableListOf<Pair<String, Snapshot>>()
        // The library never frees this userdata (it is only passed to the callback): release it here.
        val id = Registry.register(out)
        try {
            check(lib.mle_runtime_shutdown(handle, timeoutMs, finalTrampoline, id))
        } finally {
            Registry.free.invoke(id)
        }
        return out
    }

    private fun serve(call: (CServed) -> Int): Served {
        val s = CServed()
        check(call(s))
        return Served(s.variant.toInt(), s.candidate != 0, s.label_index, fromC(s.label), s.score, s.latency_ns, fromC(s.version),
            s.flags, s.input_length)
    }

    private companion object {
        fun newRuntime(production: Model, o: RuntimeOptions, telemetry: Telemetry?): Pointer {
            val c = CRuntimeOptions()
            check(lib.mle_runtime_options_init(c, sizeT(c.size())))
            c.max_concurrency = o.maxConcurrency
            c.busy_wait_ms = o.busyWaitMs
            c.pool_mode = o.poolMode.code
            c.pool_bytes = SizeT(o.poolBytes)
            // Pointers (NULL = defaults): JNA writes the pointed-to structs along with this one.
            c.monitor = o.monitor?.fill(CMonitorOptions.ByReference())
            c.thresholds = o.thresholds?.fill(CThresholds.ByReference())
            c.shadow_queue_capacity = o.shadowQueueCapacity
            c.shadow_max_input_bytes = o.shadowMaxInputBytes
            c.supervisor_thread = if (o.supervisorThread) 1 else 0
            c.evaluation_interval_ms = o.evaluationIntervalMs
            c.staleness_warning_days = o.stalenessWarningDays
            c.staleness_critical_days = o.stalenessCriticalDays
            c.telemetry = telemetry?.handle
            c.trusted_keys = keyMemory(o.trustedKeys)
            c.trusted_key_count = sizeT(o.trustedKeys.size)
            c.min_package_version = o.minPackageVersion
            val out = PointerByReference()
            check(lib.mle_runtime_new(production.handle, c, out))
            return out.value
        }
        val eventTrampoline = object : EventCallback {
            override fun invoke(userdata: Pointer?, event: Pointer) {
                try {
                    val e = CEvent.fromLibrary(event)
                    Registry.get<(Event) -> Unit>(userdata)?.invoke(Event(e.kind, e.variant.toInt(), fromC(e.from_version),
                        fromC(e.to_version), e.stage_percent, e.level, fromC(e.message)))
                } catch (t: Throwable) {
                }
            }
        }
        val hookTrampoline = object : HookCallback {
            override fun invoke(userdata: Pointer?, experiment: Pointer?, experimentLen: SizeT, user: Pointer?, userLen: SizeT): Long = try {
                fun text(p: Pointer?, len: SizeT) =
                    if (p == null || len.toInt() == 0) "" else String(p.getByteArray(0, len.toInt()), Charsets.UTF_8)
                val exp = text(experiment, experimentLen)
                val u = text(user, userLen)
                Registry.get<(String, String) -> Long>(userdata)!!.invoke(exp, u)
            } catch (t: Throwable) {
                -1L // out of range: the runtime hashes instead (and counts it)
            }
        }
        val finalTrampoline = object : FinalSnapshotCallback {
            override fun invoke(userdata: Pointer?, role: Int, variant: SizeT, version: Pointer, snapshot: Pointer) {
                try {
                    Registry.get<MutableList<Pair<String, Snapshot>>>(userdata)
                        ?.add(fromC(version) to Snapshot(CSnapshot.fromLibrary(snapshot)))
                } catch (t: Throwable) {
                }
            }
        }
    }
}
