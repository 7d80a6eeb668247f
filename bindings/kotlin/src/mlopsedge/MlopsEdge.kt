// libmlops_edge for Kotlin/JVM and Android, over JNA. Every class that owns a native handle is
// Closeable (use `use { }`); every failing call throws MleException with the library's status
// code and message; callbacks are Kotlin lambdas that stay alive exactly as long as the library
// holds them (a registry keyed by the userdata pointer, released by the library's free callback).
package mlopsedge

import com.sun.jna.Native
import com.sun.jna.Pointer
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
}

/** Metric export formats. */
enum class MetricsFormat(internal val code: Int) { PROMETHEUS(0), OPENMETRICS(1), OTLP_JSON(2) }

/** Log levels for [MlopsEdge.setLogCallback]. */
enum class LogLevel(internal val code: Int) { OFF(0), ERROR(1), WARN(2), INFO(3), DEBUG(4), TRACE(5) }

internal val lib: Lib by lazy { Native.load("mlops_edge", Lib::class.java) }

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
    val free = object : FreeCallback {
        override fun invoke(userdata: Pointer?) {
            userdata?.let { live.remove(Pointer.nativeValue(it)) }
        }
    }
}

/** Library-wide calls. */
object MlopsEdge {
    /** The library's version. */
    val version: String get() = fromC(lib.mle_version())

    /** The seed's md5 A/B assignment for (experiment, user) over `weights` (summing to 1). */
    fun abAssign(experiment: String, userId: String, weights: DoubleArray): Int {
        val out = SizeTOut()
        check(lib.mle_ab_assign(cString(experiment), cString(userId), weights, SizeT(weights.size.toLong()), out))
        return out.value.toInt()
    }

    /** Forwards the library's log records at `level` and above to `callback` (logcat on Android). */
    fun setLogCallback(level: LogLevel, callback: ((LogLevel, String, String) -> Unit)?) {
        if (callback == null || level == LogLevel.OFF) {
            check(lib.mle_set_log_callback(0, null, null, null))
            return
        }
        check(lib.mle_set_log_callback(level.code, logTrampoline, Registry.register(callback), Registry.free))
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

/** What a model is (its card). */
data class ModelInfo(val name: String, val version: String, val inputKind: Int, val labelCount: Int, val maxInputLength: Int)

/** A loaded classifier. Thread-safe; sessions and runtimes keep it alive after close(). */
class Model private constructor(handle: Pointer) : NativeHandle(handle) {
    companion object {
        /** Loads a model directory (model.onnx, card, tokenizer) or an .onnx file. */
        fun load(path: String): Model {
            val out = PointerByReference()
            check(lib.mle_model_load(cString(path), null, out))
            return Model(out.value)
        }
    }
    override fun free(handle: Pointer) = lib.mle_model_free(handle)
    val info: ModelInfo
        get() {
            val d = CModelDetails()
            check(lib.mle_model_info(handle, d))
            return ModelInfo(fromC(d.name), fromC(d.version), d.input_kind, d.label_count, d.max_input_length)
        }
    fun label(index: Int): String {
        val out = PointerByReference()
        check(lib.mle_model_label(handle, SizeT(index.toLong()), out))
        return fromC(out.value)
    }
}

/** One answer of a session. */
class Prediction(val labelIndex: Int, val label: String, val score: Float, val latencyNs: Long, val flags: Int,
                 val inputLength: Int, val probabilities: FloatArray)

/** One thread's scratch for one model (not thread-safe). */
class Session(model: Model) : NativeHandle(newSession(model)) {
    private val labels = model.info.labelCount
    override fun free(handle: Pointer) = lib.mle_session_free(handle)

    fun classifyText(text: String): Prediction {
        val bytes = text.toByteArray(Charsets.UTF_8)
        return run { p, probs, n -> lib.mle_classify_text(handle, bytes, SizeT(bytes.size.toLong()), p, probs, SizeT(probs.size.toLong()), n) }
    }
    fun classifyFloats(values: FloatArray): Prediction =
        run { p, probs, n -> lib.mle_classify_f32(handle, values, SizeT(values.size.toLong()), p, probs, SizeT(probs.size.toLong()), n) }
    fun classifyBytes(data: ByteArray): Prediction =
        run { p, probs, n -> lib.mle_classify_bytes(handle, data, SizeT(data.size.toLong()), p, probs, SizeT(probs.size.toLong()), n) }
    /** Every later request is recorded by `monitor`. */
    fun attach(monitor: Monitor) = check(lib.mle_session_attach_monitor(handle, monitor.handle))
    fun detach() = check(lib.mle_session_detach_monitor(handle))

    private fun run(call: (CPrediction, FloatArray, SizeTOut) -> Int): Prediction {
        val p = CPrediction()
        val probs = FloatArray(labels)
        val n = SizeTOut()
        check(call(p, probs, n))
        return Prediction(p.label_index, fromC(p.label), p.score, p.latency_ns, p.flags, p.input_length,
            probs.copyOf(n.value.toInt()))
    }

    private companion object {
        fun newSession(model: Model): Pointer {
            val out = PointerByReference()
            check(lib.mle_session_new(model.handle, null, out))
            return out.value
        }
    }
}

/** One drift test. */
data class Drift(val tested: Boolean, val drifted: Boolean, val statistic: Double, val pValue: Double)

/** One alert: what (MLE alert metric code), its level, current and baseline values. */
data class Alert(val metric: Int, val level: Int, val current: Double, val baseline: Double, val changePct: Double)

/** One analysis of a monitor (the main fields of mle_snapshot). */
class Snapshot internal constructor(s: CSnapshot) {
    val processed = s.processed
    val dropped = s.dropped
    val windowCount = s.window_count
    val errorRate = s.error_rate
    val latencyP50Us = s.latency_p50_us
    val latencyP95Us = s.latency_p95_us
    val latencyP99Us = s.latency_p99_us
    val confidenceMean = s.confidence_mean
    val hasBaseline = s.has_baseline != 0
    /** Whether the degradation alerts were judged (enough window samples against a baseline). */
    val degradationTested = s.degradation_tested != 0
    val level = s.level
    val latencyDrift = drift(s.drift_latency)
    val confidenceDrift = drift(s.drift_confidence)
    val inputLengthDrift = drift(s.drift_input_length)
    val labelDrift = Drift(s.drift_labels.tested != 0, s.drift_labels.drifted != 0, s.drift_labels.statistic, s.drift_labels.p_value)
    val alerts: List<Alert> = (0 until s.alert_count).map {
        val a = s.alerts[it]
        Alert(a.metric, a.level, a.current, a.baseline, a.change_pct)
    }
    /** (version, ok, errors) per model version seen. */
    val versions: List<Triple<String, Long, Long>> = (0 until s.version_count).map {
        Triple(fromC(s.versions[it].version), s.versions[it].ok, s.versions[it].errors)
    }
    private fun drift(d: CDrift) = Drift(d.tested != 0, d.drifted != 0, d.statistic, d.p_value)
}

/** The on-device monitor. Thread-safe. */
class Monitor(labelCount: Int, window: Int = 1024, maxSessions: Int = 16) : NativeHandle(newMonitor(labelCount, window, maxSessions)) {
    override fun free(handle: Pointer) = lib.mle_monitor_free(handle)

    fun snapshot(): Snapshot {
        val s = CSnapshot()
        check(lib.mle_monitor_snapshot(handle, s, null, SizeT(0), null))
        return Snapshot(s)
    }
    fun freezeBaseline() = check(lib.mle_monitor_baseline_freeze(handle))
    fun clearBaseline() = check(lib.mle_monitor_baseline_clear(handle))
    /** Called with (previous level, current level, snapshot) when an analysis changes the level. */
    fun setLevelCallback(callback: ((Int, Int, Snapshot) -> Unit)?) {
        if (callback == null) check(lib.mle_monitor_set_level_callback(handle, null, null, null))
        else check(lib.mle_monitor_set_level_callback(handle, levelTrampoline, Registry.register(callback), Registry.free))
    }
    fun exportMetrics(format: MetricsFormat, modelVersion: String, telemetry: Telemetry? = null): String =
        render { buf, cap, len -> lib.mle_monitor_export_metrics(handle, cString(modelVersion), telemetry?.handle, format.code, buf, cap, len) }

    private companion object {
        fun newMonitor(labelCount: Int, window: Int, maxSessions: Int): Pointer {
            val o = CMonitorOptions()
            lib.mle_monitor_options_init(o)
            o.label_count = labelCount
            o.window = window
            o.max_sessions = maxSessions
            val out = PointerByReference()
            check(lib.mle_monitor_new(o, out))
            return out.value
        }
        val levelTrampoline = object : LevelCallback {
            override fun invoke(userdata: Pointer?, previous: Int, current: Int, snapshot: Pointer) {
                try {
                    Registry.get<(Int, Int, Snapshot) -> Unit>(userdata)?.invoke(previous, current, Snapshot(CSnapshot(snapshot)))
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
    repeat(4) {
        val buf = ByteArray(len.value.toInt() + 4096)
        val out = SizeTOut()
        status = call(buf, SizeT(buf.size.toLong()), out)
        if (status == Status.OK) return String(buf, 0, out.value.toInt(), Charsets.UTF_8)
        if (status != Status.BUFFER_TOO_SMALL) check(status)
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

/** Telemetry counters; `recorded == sent + droppedQueueFull + droppedByHost + pending`. */
data class TelemetryStats(val recorded: Long, val sampledOut: Long, val sent: Long, val retried: Long,
                          val droppedQueueFull: Long, val droppedByHost: Long, val pending: Long,
                          val recovered: Long, val spoolTornBytes: Long)

/** Telemetry options (see the README's Telemetry section). */
data class TelemetryOptions(val queueCapacity: Int = 4096, val requestSampleRate: Double = 1.0,
                            val batchMaxRecords: Int = 500, val batchMaxBytes: Int = 256 * 1024,
                            val retryInitialMs: Int = 1000, val retryMaxMs: Int = 300_000,
                            val spoolPath: String? = null, val deviceId: String? = null)

/**
 * Telemetry: records requests and events (through a [Runtime]), hands batches to `upload` on
 * [flush]; `ready` is told (on a request thread) when a batch's worth is waiting. An exception
 * thrown by `upload` counts as RETRY.
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
            s.pending, s.recovered, s.spool_torn_bytes)
    }

    private class Hooks(val upload: (Batch) -> UploadResult, val ready: ((Long) -> Unit)?)

    private companion object {
        val uploadTrampoline = object : UploadCallback {
            override fun invoke(userdata: Pointer?, batch: Pointer): Int = try {
                val b = CBatch(batch)
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
            lib.mle_telemetry_options_init(c)
            c.queue_capacity = o.queueCapacity
            c.request_sample_rate = o.requestSampleRate
            c.batch_max_records = o.batchMaxRecords
            c.batch_max_bytes = o.batchMaxBytes
            c.retry_initial_ms = o.retryInitialMs
            c.retry_max_ms = o.retryMaxMs
            val strings = mutableListOf<com.sun.jna.Memory>()
            fun native(s: String?): Pointer? = s?.let { v ->
                val bytes = cString(v)
                com.sun.jna.Memory(bytes.size.toLong()).also { it.write(0, bytes, 0, bytes.size); strings.add(it) }
            }
            c.spool_path = native(o.spoolPath)
            c.device_id = native(o.deviceId)
            c.upload = uploadTrampoline
            c.ready = if (ready != null) readyTrampoline else null
            c.userdata = Registry.register(Hooks(upload, ready))
            c.free_userdata = Registry.free
            val out = PointerByReference()
            // On failure the library calls free_userdata itself.
            check(lib.mle_telemetry_new(c, out))
            return out.value
        }
    }
}

/** One answer of the runtime. */
data class Served(val variant: Int, val candidate: Boolean, val labelIndex: Int, val label: String, val score: Float,
                  val latencyNs: Long, val version: String)

/** One deployment event (kind: MLE_EVENT_* code). */
data class Event(val kind: Int, val variant: Int, val fromVersion: String, val toVersion: String, val stagePercent: Int,
                 val level: Int, val message: String)

/** A variant of an experiment. */
class Variant(val name: String, val model: Model, val weight: Double)

/** Per-variant counts. */
data class VariantStats(val name: String, val version: String, val requests: Long, val errors: Long,
                        val conversions: Long, val outcomes: Long)

/** The seed's significance test of two variants. */
data class Significance(val pValue: Double, val lift: Double, val significant: Boolean, val ciLower: Double, val ciUpper: Double)

/** Runtime health (main fields of mle_health). */
data class Health(val state: Int, val level: Int, val requests: Long, val errors: Long, val hookErrors: Long,
                  val swaps: Long, val rollbacks: Long, val rolloutActive: Boolean, val rolloutPercent: Int,
                  val lastError: String, val telemetrySent: Long, val telemetryPending: Long)

/** Runtime options (see mle_runtime_options). */
data class RuntimeOptions(val maxConcurrency: Int = 4, val busyWaitMs: Int = 50, val supervisorThread: Boolean = true,
                          val evaluationIntervalMs: Int = 1000)

/**
 * The deployment runtime: A/B variants, hot swap, staged rollout, shadow, health, telemetry.
 * Thread-safe: classify from any thread.
 */
class Runtime(production: Model, options: RuntimeOptions = RuntimeOptions(), telemetry: Telemetry? = null) :
    NativeHandle(newRuntime(production, options, telemetry)) {
    override fun free(handle: Pointer) = lib.mle_runtime_free(handle)

    fun classifyText(userId: String, text: String): Served {
        val bytes = text.toByteArray(Charsets.UTF_8)
        return serve { n, out -> lib.mle_runtime_classify_text(handle, cString(userId), bytes, SizeT(bytes.size.toLong()), null, SizeT(0), n, out) }
    }
    fun classifyFloats(userId: String, values: FloatArray): Served =
        serve { n, out -> lib.mle_runtime_classify_f32(handle, cString(userId), values, SizeT(values.size.toLong()), null, SizeT(0), n, out) }
    fun classifyBytes(userId: String, data: ByteArray): Served =
        serve { n, out -> lib.mle_runtime_classify_bytes(handle, cString(userId), data, SizeT(data.size.toLong()), null, SizeT(0), n, out) }

    /** Sets an A/B experiment (weights sum to 1; variant 0 is control). */
    fun setExperiment(name: String, variants: List<Variant>) {
        val names = variants.map { v -> cString(v.name).let { b -> com.sun.jna.Memory(b.size.toLong()).also { it.write(0, b, 0, b.size) } } }
        val array = if (variants.isEmpty()) null else (CVariant().toArray(variants.size).map { it as CVariant })
        array?.forEachIndexed { i, c ->
            c.name = names[i]
            c.model = variants[i].model.handle
            c.weight = variants[i].weight
            c.write()
        }
        check(lib.mle_runtime_set_experiment(handle, cString(name), array?.get(0), SizeT(variants.size.toLong()), 0))
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
    fun swap(variant: Int, model: Model) = check(lib.mle_runtime_swap(handle, SizeT(variant.toLong()), model.handle, null, SizeT(0)))
    fun startRollout(variant: Int, candidate: Model, stagesPercent: IntArray = intArrayOf(), requestsPerStage: Long = 0) {
        val o = CRolloutOptions()
        lib.mle_rollout_options_init(o)
        if (stagesPercent.isNotEmpty()) {
            require(stagesPercent.size <= 8) { "at most 8 stages" }
            stagesPercent.copyInto(o.stages_percent)
            o.stage_count = stagesPercent.size
        }
        if (requestsPerStage > 0) o.requests_per_stage = requestsPerStage
        check(lib.mle_runtime_start_rollout(handle, SizeT(variant.toLong()), candidate.handle, o, null, SizeT(0)))
    }
    fun promote() = check(lib.mle_runtime_promote(handle))
    fun rollback(variant: Int) = check(lib.mle_runtime_rollback(handle, SizeT(variant.toLong())))
    fun setShadow(model: Model, fraction: Double) = check(lib.mle_runtime_set_shadow(handle, model.handle, fraction))
    fun clearShadow() = check(lib.mle_runtime_clear_shadow(handle))
    fun recordOutcome(variant: Int, converted: Boolean) =
        check(lib.mle_runtime_record_outcome(handle, SizeT(variant.toLong()), if (converted) 1 else 0))
    fun significance(control: Int, treatment: Int, confidence: Double = 0.95): Significance {
        val s = CSignificance()
        check(lib.mle_runtime_significance(handle, SizeT(control.toLong()), SizeT(treatment.toLong()), confidence, s))
        return Significance(s.p_value, s.lift, s.significant != 0, s.ci_lower, s.ci_upper)
    }
    fun variantStats(variant: Int): VariantStats {
        val s = CVariantStats()
        check(lib.mle_runtime_variant_stats(handle, SizeT(variant.toLong()), s))
        return VariantStats(fromC(s.name), fromC(s.version), s.requests, s.errors, s.conversions, s.outcomes)
    }
    /** The monitor snapshot of a variant's model (role 0), the candidate (1) or the shadow (2). */
    fun snapshot(role: Int = 0, variant: Int = 0): Snapshot {
        val s = CSnapshot()
        check(lib.mle_runtime_snapshot(handle, role, SizeT(variant.toLong()), s, null, SizeT(0), null))
        return Snapshot(s)
    }
    fun evaluate() = check(lib.mle_runtime_evaluate(handle))
    fun health(): Health {
        val h = CHealth()
        check(lib.mle_runtime_health(handle, h, null, SizeT(0)))
        return Health(h.state, h.level, h.requests, h.errors, h.hook_errors, h.swaps, h.rollbacks, h.rollout_active != 0,
            h.rollout_percent, fromC(h.last_error), h.telemetry_sent, h.telemetry_pending)
    }
    fun exportMetrics(format: MetricsFormat): String =
        render { buf, cap, len -> lib.mle_runtime_export_metrics(handle, format.code, buf, cap, len) }
    /** Drains and stops; returns (role, variant, version, snapshot) of each loaded model. */
    fun shutdown(timeoutMs: Int = 5000): List<Pair<String, Snapshot>> {
        val out = mutableListOf<Pair<String, Snapshot>>()
        val id = Registry.register(out)
        try {
            check(lib.mle_runtime_shutdown(handle, timeoutMs, finalTrampoline, id))
        } finally {
            Registry.free.invoke(id)
        }
        return out
    }

    private fun serve(call: (SizeTOut, CServed) -> Int): Served {
        val s = CServed()
        check(call(SizeTOut(), s))
        return Served(s.variant.toInt(), s.candidate != 0, s.label_index, fromC(s.label), s.score, s.latency_ns, fromC(s.version))
    }

    private companion object {
        fun newRuntime(production: Model, o: RuntimeOptions, telemetry: Telemetry?): Pointer {
            val c = CRuntimeOptions()
            lib.mle_runtime_options_init(c)
            c.max_concurrency = o.maxConcurrency
            c.busy_wait_ms = o.busyWaitMs
            c.supervisor_thread = if (o.supervisorThread) 1 else 0
            c.evaluation_interval_ms = o.evaluationIntervalMs
            c.telemetry = telemetry?.handle
            val out = PointerByReference()
            check(lib.mle_runtime_new(production.handle, c, out))
            return out.value
        }
        val eventTrampoline = object : EventCallback {
            override fun invoke(userdata: Pointer?, event: Pointer) {
                try {
                    val e = CEvent(event)
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
                    Registry.get<MutableList<Pair<String, Snapshot>>>(userdata)?.add(fromC(version) to Snapshot(CSnapshot(snapshot)))
                } catch (t: Throwable) {
                }
            }
        }
    }
}
