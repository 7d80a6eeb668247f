// Test of the Kotlin binding on the JVM against the real library (a test-hooks build: it steps
// the library's clock and injects model latencies instead of waiting; nothing here decides by
// the wall clock).
// Usage: java ... mlopsedge.test.TestKt <repository root> <layout file from layout.c>
package mlopsedge.test

import com.sun.jna.Library
import com.sun.jna.Memory
import com.sun.jna.Native
import com.sun.jna.Pointer
import com.sun.jna.Structure
import mlopsedge.*
import java.io.File
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicLong

/** The test-only entry points (tests/c/test_hooks.h), present in the library's test-hooks build. */
@Suppress("FunctionName")
internal interface TestHooks : Library {
    fun mle_test_panic_next_request()
    fun mle_test_advance_clock(ms: Long)
    fun mle_test_set_model_latency(model: Pointer, latencyUs: Long): Int
}

private val hooks: TestHooks by lazy { Native.load("mlops_edge", TestHooks::class.java) }

private var checks = 0
private var failures = 0

private fun expect(condition: Boolean, what: String) {
    checks++
    if (!condition) {
        failures++
        System.err.println("FAIL: $what")
    }
}

private fun statusOf(block: () -> Unit): Int = try {
    block()
    Status.OK
} catch (e: MleException) {
    e.status
}

/** The exception `block` throws (null if it returns). */
private fun errorOf(block: () -> Unit): MleException? = try {
    block()
    null
} catch (e: MleException) {
    e
}

/** What layout.c printed: struct sizes, (field, offset, size) per struct in C order, constants. */
private class CLayout(file: File) {
    val sizes = mutableMapOf<String, Int>()
    val fields = mutableMapOf<String, MutableList<Triple<String, Int, Int>>>()
    val consts = mutableMapOf<String, Long>()
    init {
        for (line in file.readLines().filter { it.isNotBlank() }) {
            val w = line.split(" ")
            when (w[0]) {
                "struct" -> sizes[w[1]] = w[2].toInt()
                "field" -> fields.getOrPut(w[1]) { mutableListOf() }.add(Triple(w[2], w[3].toInt(), w[4].toInt()))
                "const" -> consts[w[1]] = w[2].toLong()
                else -> throw IllegalArgumentException("layout line: $line")
            }
        }
    }
}

/** Every mirror, freshly made (the same instances the binding's calls make). */
private fun mirrors(): Map<String, CStruct> = mapOf(
    "CSignificance" to CSignificance(), "CExpHistogram" to CExpHistogram(), "CModelOptions" to CModelOptions(),
    "CModelDetails" to CModelDetails(), "CMonitorOptions" to CMonitorOptions(), "CVersionCounts" to CVersionCounts(),
    "CDrift" to CDrift(), "CLabelDrift" to CLabelDrift(), "CAlert" to CAlert(), "CSnapshot" to CSnapshot(),
    "CBaseline" to CBaseline(), "CThresholds" to CThresholds(), "CRuntimeOptions" to CRuntimeOptions(), "CServed" to CServed(),
    "CVariant" to CVariant(), "CEvent" to CEvent(), "CSelfTestCase" to CSelfTestCase(),
    "CRolloutOptions" to CRolloutOptions(), "CVariantStats" to CVariantStats(), "CShadowReport" to CShadowReport(),
    "CHealth" to CHealth(), "CLoadedModel" to CLoadedModel(), "CSessionOptions" to CSessionOptions(),
    "CSessionStats" to CSessionStats(), "CPrediction" to CPrediction(), "CBatch" to CBatch(),
    "CTelemetryOptions" to CTelemetryOptions(), "CFlushReport" to CFlushReport(), "CTelemetryStats" to CTelemetryStats())

/** Native size of one field of a mirror, as JNA lays it out. */
private fun nativeSize(s: Structure, name: String): Int {
    val f = s.javaClass.getField(name)
    return Native.getNativeSize(f.type, f.get(s))
}

/** Sizes, field order, offsets and field sizes of every mirror against the C compiler's. */
private fun layouts(c: CLayout) {
    val kotlin = mirrors()
    expect(c.sizes.keys == kotlin.keys, "layout.c and the test cover the same structs: ${c.sizes.keys - kotlin.keys} ${kotlin.keys - c.sizes.keys}")
    for ((name, s) in kotlin) {
        expect(s.size() == c.sizes[name], "$name: Kotlin ${s.size()} bytes, C ${c.sizes[name]}")
        val cFields = c.fields[name] ?: emptyList<Triple<String, Int, Int>>()
        expect(s.fieldNames == cFields.map { it.first }, "$name fields: Kotlin ${s.fieldNames}, C ${cFields.map { it.first }}")
        for ((field, offset, size) in cFields) {
            if (field !in s.fieldNames) continue // reported by the field-list check
            expect(s.offsetOf(field) == offset, "$name.$field at ${s.offsetOf(field)}, C $offset")
            expect(nativeSize(s, field) == size, "$name.$field is ${nativeSize(s, field)} bytes, C $size")
        }
        // A new struct that grows carries its own size from birth (what the library reads).
        if ("struct_size" in s.fieldNames) {
            expect(s.readField("struct_size") == c.sizes[name], "$name() sets struct_size = ${c.sizes[name]}")
        }
    }
    // Arrays: contiguous at the C stride, every element carrying struct_size in native memory.
    val size = c.sizes["CVariant"]!!
    val variants = sizedArray(3) { CVariant() }
    expect(Pointer.nativeValue(variants[1].pointer) - Pointer.nativeValue(variants[0].pointer) == size.toLong(), "CVariant array stride")
    expect((0 until 3).all { variants[0].pointer.getInt(it.toLong() * size) == size }, "struct_size in every array element")
}

/** The header's constants against the binding's. */
private fun constants(c: CLayout) {
    val kotlin: Map<String, Long> = mapOf(
        "ABI_VERSION" to MlopsEdge.ABI_VERSION, "ABI_VERSION_MAJOR" to MlopsEdge.ABI_VERSION_MAJOR,
        "ABI_VERSION_MINOR" to MlopsEdge.ABI_VERSION_MINOR,
        "MAX_FEATURES" to MAX_FEATURES, "STATUS_SLOTS" to STATUS_SLOTS, "MAX_VERSIONS" to MAX_VERSIONS,
        "VERSION_BUFFER" to VERSION_BUFFER, "MAX_ALERTS" to MAX_ALERTS, "NAME_BUFFER" to NAME_BUFFER,
        "LABEL_BUFFER" to LABEL_BUFFER, "ERROR_BUFFER" to ERROR_BUFFER, "MAX_STAGES" to MAX_STAGES,
        "EXP_MAX_BUCKETS" to EXP_MAX_BUCKETS,
        "Status.OK" to Status.OK, "Status.INVALID_ARGUMENT" to Status.INVALID_ARGUMENT,
        "Status.INVALID_UTF8" to Status.INVALID_UTF8, "Status.BUFFER_TOO_SMALL" to Status.BUFFER_TOO_SMALL,
        "Status.IO" to Status.IO, "Status.MODEL_INVALID" to Status.MODEL_INVALID,
        "Status.MODEL_UNSUPPORTED" to Status.MODEL_UNSUPPORTED, "Status.MODEL_CARD" to Status.MODEL_CARD,
        "Status.TOKENIZER" to Status.TOKENIZER, "Status.WRONG_INPUT_KIND" to Status.WRONG_INPUT_KIND,
        "Status.INPUT_SHAPE" to Status.INPUT_SHAPE, "Status.INPUT_NOT_FINITE" to Status.INPUT_NOT_FINITE,
        "Status.INFERENCE" to Status.INFERENCE, "Status.POOL_EXHAUSTED" to Status.POOL_EXHAUSTED,
        "Status.PANIC" to Status.PANIC, "Status.OUTPUT_NOT_FINITE" to Status.OUTPUT_NOT_FINITE,
        "Status.INSUFFICIENT_DATA" to Status.INSUFFICIENT_DATA, "Status.INVALID_STATE" to Status.INVALID_STATE,
        "Status.LIMIT_REACHED" to Status.LIMIT_REACHED, "Status.BUSY" to Status.BUSY,
        "Status.SHUTTING_DOWN" to Status.SHUTTING_DOWN, "Status.SELF_TEST_FAILED" to Status.SELF_TEST_FAILED,
        "Status.SESSION_BUSY" to Status.SESSION_BUSY, "Status.ABI_MISMATCH" to Status.ABI_MISMATCH,
        "Status.MODEL_LIMIT" to Status.MODEL_LIMIT, "Status.SPOOL_LOCKED" to Status.SPOOL_LOCKED,
        "Status.PACKAGE_INVALID" to Status.PACKAGE_INVALID, "Status.PACKAGE_UNSIGNED" to Status.PACKAGE_UNSIGNED,
        "Status.PACKAGE_UNTRUSTED_KEY" to Status.PACKAGE_UNTRUSTED_KEY,
        "Status.PACKAGE_BAD_SIGNATURE" to Status.PACKAGE_BAD_SIGNATURE,
        "Status.PACKAGE_TAMPERED" to Status.PACKAGE_TAMPERED,
        "Status.PACKAGE_FILES_MISMATCH" to Status.PACKAGE_FILES_MISMATCH,
        "Status.PACKAGE_OUTDATED" to Status.PACKAGE_OUTDATED,
        "InputKind.TEXT" to InputKind.TEXT, "InputKind.TENSOR" to InputKind.TENSOR, "InputKind.BYTES" to InputKind.BYTES,
        "ElementType.FLOAT32" to ElementType.FLOAT32, "ElementType.FLOAT64" to ElementType.FLOAT64,
        "ElementType.INT64" to ElementType.INT64, "ElementType.INT32" to ElementType.INT32,
        "Flags.TRUNCATED" to Flags.TRUNCATED, "Flags.EMPTY_INPUT" to Flags.EMPTY_INPUT, "Flags.UNPOOLED" to Flags.UNPOOLED,
        "Flags.LABEL_TRUNCATED" to Flags.LABEL_TRUNCATED,
        "Level.OK" to Level.OK, "Level.WARNING" to Level.WARNING, "Level.CRITICAL" to Level.CRITICAL,
        "Role.VARIANT" to Role.VARIANT, "Role.CANDIDATE" to Role.CANDIDATE, "Role.SHADOW" to Role.SHADOW,
        "RuntimeState.SERVING" to RuntimeState.SERVING, "RuntimeState.DRAINING" to RuntimeState.DRAINING,
        "RuntimeState.STOPPED" to RuntimeState.STOPPED,
        "AlertMetric.LATENCY_P95" to AlertMetric.LATENCY_P95, "AlertMetric.CONFIDENCE_MEAN" to AlertMetric.CONFIDENCE_MEAN,
        "AlertMetric.ERROR_RATE" to AlertMetric.ERROR_RATE, "AlertMetric.LATENCY_DRIFT" to AlertMetric.LATENCY_DRIFT,
        "AlertMetric.CONFIDENCE_DRIFT" to AlertMetric.CONFIDENCE_DRIFT,
        "AlertMetric.INPUT_LENGTH_DRIFT" to AlertMetric.INPUT_LENGTH_DRIFT,
        "AlertMetric.FEATURE_DRIFT" to AlertMetric.FEATURE_DRIFT, "AlertMetric.LABEL_DRIFT" to AlertMetric.LABEL_DRIFT,
        "EventKind.SWAPPED" to EventKind.SWAPPED, "EventKind.SWAP_REFUSED" to EventKind.SWAP_REFUSED,
        "EventKind.ROLLOUT_STARTED" to EventKind.ROLLOUT_STARTED, "EventKind.ROLLOUT_ADVANCED" to EventKind.ROLLOUT_ADVANCED,
        "EventKind.ROLLOUT_COMPLETED" to EventKind.ROLLOUT_COMPLETED, "EventKind.ROLLED_BACK" to EventKind.ROLLED_BACK,
        "EventKind.ALERT_LEVEL_CHANGED" to EventKind.ALERT_LEVEL_CHANGED,
        "EventKind.EXPERIMENT_CHANGED" to EventKind.EXPERIMENT_CHANGED, "EventKind.SHADOW_CHANGED" to EventKind.SHADOW_CHANGED,
        "EventKind.SHUTDOWN_STARTED" to EventKind.SHUTDOWN_STARTED,
        "MetricsFormat.PROMETHEUS" to MetricsFormat.PROMETHEUS.code, "MetricsFormat.OPENMETRICS" to MetricsFormat.OPENMETRICS.code,
        "MetricsFormat.OTLP_JSON" to MetricsFormat.OTLP_JSON.code,
        "LogLevel.OFF" to LogLevel.OFF.code, "LogLevel.ERROR" to LogLevel.ERROR.code, "LogLevel.WARN" to LogLevel.WARN.code,
        "LogLevel.INFO" to LogLevel.INFO.code, "LogLevel.DEBUG" to LogLevel.DEBUG.code, "LogLevel.TRACE" to LogLevel.TRACE.code,
        "AssignScheme.MD5" to AssignScheme.MD5.code, "AssignScheme.GROWTHBOOK_V1" to AssignScheme.GROWTHBOOK_V1.code,
        "AssignScheme.GROWTHBOOK_V2" to AssignScheme.GROWTHBOOK_V2.code,
        "PoolMode.AUTO" to PoolMode.AUTO.code, "PoolMode.OFF" to PoolMode.OFF.code, "PoolMode.FIXED" to PoolMode.FIXED.code,
        "UploadResult.OK" to UploadResult.OK.code, "UploadResult.RETRY" to UploadResult.RETRY.code,
        "UploadResult.DROP" to UploadResult.DROP.code
    ).mapValues { (_, v) -> v.toLong() } + mapOf("TIME_UNKNOWN" to TIME_UNKNOWN)
    expect(c.consts.keys - setOf("VERSION_MAJOR", "VERSION_MINOR", "VERSION_PATCH") == kotlin.keys,
        "layout.c and the test compare the same constants: ${c.consts.keys - kotlin.keys} ${kotlin.keys - c.consts.keys}")
    for ((name, value) in kotlin) expect(c.consts[name] == value, "$name: Kotlin $value, header ${c.consts[name]}")
    // LogLevel's callback maps the library's level by ordinal: the codes must be the ordinals.
    expect(LogLevel.values().all { it.code == it.ordinal }, "LogLevel codes are ordinals")
}

/** The ABI: the binding's version is the header's, the library serves it, and refuses others. */
private fun abi(c: CLayout) {
    expect(MlopsEdge.ABI_VERSION.toLong() == c.consts["ABI_VERSION"], "binding ABI ${MlopsEdge.ABI_VERSION} = header's ${c.consts["ABI_VERSION"]}")
    expect(MlopsEdge.abiVersion == MlopsEdge.ABI_VERSION, "the library implements ABI ${MlopsEdge.abiVersion}")
    expect(lib.mle_abi_check(MlopsEdge.ABI_VERSION) == Status.OK, "mle_abi_check(ABI_VERSION) passes")
    val major = (MlopsEdge.ABI_VERSION_MAJOR + 1) shl 16
    expect(lib.mle_abi_check(major) == Status.ABI_MISMATCH, "another major version: ABI_MISMATCH")
    expect(fromC(lib.mle_last_error()).contains("${MlopsEdge.ABI_VERSION_MAJOR + 1}.0"), "the message names the program's ABI")
    expect(lib.mle_abi_check(MlopsEdge.ABI_VERSION + 1) == Status.ABI_MISMATCH, "a newer minor version: ABI_MISMATCH")
    // This binding mirrors ABI 1.4; the library also serves programs built for 1.0 to 1.3.
    expect(MlopsEdge.ABI_VERSION_MAJOR == 1 && MlopsEdge.ABI_VERSION_MINOR == 4, "the binding mirrors ABI 1.4")
    expect(lib.mle_abi_check(MlopsEdge.ABI_VERSION_MAJOR shl 16) == Status.OK, "an older minor of the same major is served")
    if (MlopsEdge.ABI_VERSION_MAJOR > 0) {
        expect(lib.mle_abi_check((MlopsEdge.ABI_VERSION_MAJOR - 1) shl 16) == Status.ABI_MISMATCH, "an older major: ABI_MISMATCH")
    }
    // The binding's load-time check: asked for a newer minor version, loading fails.
    val refused = errorOf { loadLibrary(MlopsEdge.ABI_VERSION + 1) }
    expect(refused?.status == Status.ABI_MISMATCH &&
        refused.message!!.contains("C ABI ${MlopsEdge.ABI_VERSION_MAJOR}.${MlopsEdge.ABI_VERSION_MINOR + 1}"),
        "loading for another ABI throws ABI_MISMATCH: ${refused?.message}")
    expect(loadLibrary().mle_abi_version() == MlopsEdge.ABI_VERSION, "loading for this ABI passes")
    val v = "${c.consts["VERSION_MAJOR"]}.${c.consts["VERSION_MINOR"]}.${c.consts["VERSION_PATCH"]}"
    expect(MlopsEdge.version == v, "library version ${MlopsEdge.version} = header's $v")
}

/** Growing structs at the boundary: an unset struct_size and unknown non-zero fields are refused. */
private fun structSizes(root: String) {
    Model.load("$root/models/digits-mlp").use { m ->
        val d = CModelDetails()
        d.struct_size = 0
        expect(lib.mle_model_get_details(m.handle, d) == Status.INVALID_ARGUMENT &&
            fromC(lib.mle_last_error()).contains("struct_size"), "an unset struct_size is refused")
        val ok = CModelDetails()
        expect(lib.mle_model_get_details(m.handle, ok) == Status.OK && ok.struct_size == ok.size(),
            "the library leaves the caller's struct_size")

        // A program built against a newer header: options 8 bytes larger than this library's.
        val size = CModelOptions().size()
        val bigger = Memory(size + 8L)
        bigger.clear()
        val newer = CModelOptions(bigger)
        check(lib.mle_model_options_init(newer, SizeT(size + 8L)) == Status.OK)
        newer.read()
        expect(newer.struct_size == size + 8, "options_init sets the caller's size")
        val out = com.sun.jna.ptr.PointerByReference()
        expect(lib.mle_model_load("$root/models/digits-mlp\u0000".toByteArray(), newer, out) == Status.OK,
            "a larger struct with its unknown tail zero loads")
        lib.mle_model_free(out.value)
        bigger.setLong(size.toLong(), 1)
        expect(lib.mle_model_load("$root/models/digits-mlp\u0000".toByteArray(), newer, out) == Status.ABI_MISMATCH,
            "a non-zero field this library does not know: ABI_MISMATCH")
    }
}

/** Model loading: errors, limits, options, in-memory loads. */
private fun models(root: String) {
    val missing = errorOf { Model.load("$root/models/no-such-model") }
    expect(missing?.status == Status.IO && missing.message!!.contains("no-such-model"), "missing model: IO with the path")

    val path = "$root/models/digits-mlp"
    val bytes = File("$path/model.onnx").readBytes()
    val limited = errorOf { Model.load(path, ModelOptions(maxModelBytes = bytes.size - 1L)) }
    expect(limited?.status == Status.MODEL_LIMIT && limited.message!!.contains("max_model_bytes"),
        "a model above maxModelBytes: MODEL_LIMIT naming the option (${limited?.message})")
    Model.load(path, ModelOptions(maxModelBytes = bytes.size.toLong())).use {
        expect(it.info.labelCount == 10, "a model of exactly maxModelBytes loads")
    }
    expect(statusOf { Model.loadBytes(bytes, options = ModelOptions(maxModelBytes = bytes.size - 1L)) } == Status.MODEL_LIMIT,
        "loadBytes above maxModelBytes: MODEL_LIMIT")
    Model.loadBytes(bytes).use { m ->
        expect(m.info.inputKind == InputKind.TENSOR && m.info.maxInputLength == 64, "loadBytes: ${m.info}")
    }
    expect(statusOf { Model.loadBytes(bytes.copyOf(100)) } == Status.MODEL_INVALID, "truncated ONNX: MODEL_INVALID")
    expect(statusOf { Model.load(path, ModelOptions(threads = 65)) } == Status.INVALID_ARGUMENT, "threads out of range")
    expect(statusOf { Model.load("$root/models/profanity-tfidf", ModelOptions(maxTextBytes = 262145)) } == Status.INVALID_ARGUMENT,
        "maxTextBytes out of range")
    Model.load("$root/models/profanity-tfidf", ModelOptions(sequenceBuckets = listOf(16, 32), maxSequenceLength = 32)).use { m ->
        expect(m.planLengths.toList() == listOf(16, 32) && m.info.planCount == 2, "sequence buckets: ${m.planLengths.toList()}")
    }
}

private fun sessionStats(s: Session) = s.stats()

private fun <T> List<T>.sumByLong(f: (T) -> Long): Long = fold(0L) { acc, x -> acc + f(x) }

/** Sessions: classify, refusals counted, batch, pools, panic, busy. */
private fun sessions(root: String) {
    Model.load("$root/models/profanity-tfidf").use { text ->
        val info = text.info
        expect(info.labelCount == 2 && info.inputKind == InputKind.TEXT, "model info")
        expect(info.inputElementType == ElementType.INT64 && !info.handlesMissingValues, "token ids: int64, no NaN")
        Model.load("$root/tests/data/exports/xgboost-breast.onnx").use { trees ->
            expect(trees.info.handlesMissingValues && trees.info.inputElementType == ElementType.FLOAT32,
                "a tree ensemble takes NaN features: ${trees.info}")
        }
        Model.load("$root/tests/data/exports/logreg-int64-digits.onnx").use { ints ->
            expect(ints.info.inputElementType == ElementType.INT64, "an int64-input export says so: ${ints.info}")
        }
        expect(text.label(1) == "PROFANE" && statusOf { text.label(2) } == Status.INVALID_ARGUMENT, "labels")
        expect(text.planLengths.size == info.planCount && text.planLengths.toList() == text.planLengths.sorted(),
            "plan lengths ascending: ${text.planLengths.toList()}")
        Session(text).use { session ->
            val p = session.classifyText("shut up you stupid idiot, what the hell")
            expect(p.label == "PROFANE" && p.labelIndex == 1 && p.probabilities.size == 2, "classifyText: ${p.label}")
            expect(Math.abs(p.probabilities.sum() - 1f) < 1e-4 && p.score == p.probabilities[1], "probabilities")
            expect((session.classifyText("").flags and Flags.EMPTY_INPUT) != 0, "empty text is flagged")

            // Refusals are requests: counted in requests and errors (requests = successes + errors).
            val before = sessionStats(session)
            expect(statusOf { session.classifyFloats(floatArrayOf(1f, 2f)) } == Status.WRONG_INPUT_KIND, "wrong input kind")
            expect(statusOf { session.classifyText(byteArrayOf(0x68, 0xff.toByte(), 0x69)) } == Status.INVALID_UTF8, "invalid UTF-8")
            val t = "hello".toByteArray()
            val n = SizeTOut()
            expect(lib.mle_session_classify_text(session.handle, t, sizeT(t.size), CPrediction(), FloatArray(1), SizeT(1), n) ==
                Status.BUFFER_TOO_SMALL && n.value == 2L, "a one-float buffer: BUFFER_TOO_SMALL, 2 needed")
            expect(lib.mle_session_classify_text(session.handle, t, sizeT(t.size), null, null, SizeT(0), null) ==
                Status.INVALID_ARGUMENT, "NULL out: INVALID_ARGUMENT")
            session.classifyText("hello")
            val after = sessionStats(session)
            expect(after.requests == before.requests + 5 && after.errors == before.errors + 4,
                "session stats count the 4 refused requests: $before -> $after")
            expect(after.poolCapacity > 0, "an AUTO session has a pool: $after")

            // Batch: the same answers as single calls, each item counted.
            val texts = listOf("you are a damn idiot", "have a nice day", "what the hell")
            val batch = session.classifyTextBatch(texts)
            expect(batch.map { it.label } == texts.map { session.classifyText(it).label } && batch.all { it.probabilities.size == 2 },
                "text batch = single calls: ${batch.map { it.label }}")
            expect(batch[0].score == batch[0].probabilities[batch[0].labelIndex], "batch rows line up")
            val afterBatch = sessionStats(session)
            expect(afterBatch.requests == after.requests + 6, "a batch counts each item: ${afterBatch.requests}")
            // Batch refusals count every item too (arrays passed by hand: the API never sends a short buffer).
            val items = arrayOf<Pointer?>(nativeString("hello"), nativeString("\u00e9t\u00e9"))
            val lengths = sizeTArray(longArrayOf(5, 5))
            val bn = SizeTOut()
            expect(lib.mle_session_classify_text_batch(session.handle, items, lengths, SizeT(2), sizedArray(2) { CPrediction() },
                FloatArray(3), SizeT(3), bn) == Status.BUFFER_TOO_SMALL && bn.value == 4L, "batch: short buffer, 4 needed")
            items[1]!!.setByte(1, 0xff.toByte())
            expect(lib.mle_session_classify_text_batch(session.handle, items, lengths, SizeT(2), sizedArray(2) { CPrediction() },
                null, SizeT(0), null) == Status.INVALID_UTF8 && fromC(lib.mle_last_error()).contains("1"), "batch: invalid UTF-8 in item 1")
            val afterRefusals = sessionStats(session)
            expect(afterRefusals.requests == afterBatch.requests + 4 && afterRefusals.errors == afterBatch.errors + 4,
                "refused batches count each item: $afterBatch -> $afterRefusals")
            expect(statusOf { session.classifyTextBatch(emptyList()) } == Status.INVALID_ARGUMENT, "empty batch")
            expect(statusOf { session.classifyFloatsBatch(listOf(FloatArray(64))) } == Status.WRONG_INPUT_KIND, "batch: wrong kind")

            // A panic inside the library comes back as PANIC; the session keeps serving.
            hooks.mle_test_panic_next_request()
            expect(statusOf { session.classifyText("boom") } == Status.PANIC, "a panic: PANIC")
            expect(session.classifyText("you are a damn idiot").label == "PROFANE", "the session recovers after a panic")
        }
        Session(text, SessionOptions(PoolMode.OFF)).use { s ->
            s.classifyText("hello")
            expect(s.stats().poolCapacity == 0L && s.stats().requests == 1L, "a session without a pool")
        }
        expect(statusOf { Session(text, SessionOptions(PoolMode.FIXED, 1)) } == Status.INVALID_ARGUMENT, "a 1-byte fixed pool")
        val closed = Session(text)
        closed.close()
        closed.close()
        expect(try { closed.classifyText("x"); false } catch (e: IllegalStateException) { true }, "use after close")
    }

    Model.load("$root/models/digits-mlp").use { digits ->
        Session(digits).use { s ->
            val examples = listOf(FloatArray(64) { 3f }, FloatArray(64) { (it % 16).toFloat() })
            val batch = s.classifyFloatsBatch(examples)
            expect(batch.map { it.labelIndex } == examples.map { s.classifyFloats(it).labelIndex } && batch[0].inputLength == 64,
                "f32 batch = single calls")
            expect(statusOf { s.classifyFloats(FloatArray(64) { Float.NaN }) } == Status.INPUT_NOT_FINITE, "NaN input")
            expect(statusOf { s.classifyFloats(FloatArray(3)) } == Status.INPUT_SHAPE, "wrong length")
            busy(s)
        }
    }
    Model.load("$root/models/magika").use { bytesModel ->
        Session(bytesModel).use { s ->
            val items = listOf("#!/bin/sh\necho hi\n".toByteArray(), "{\"a\": 1}".toByteArray(), ByteArray(0))
            val batch = s.classifyBytesBatch(items)
            expect(batch.map { it.label } == items.map { s.classifyBytes(it).label }, "bytes batch = single calls: ${batch.map { it.label }}")
        }
    }
}

/**
 * Two threads on one session: some calls find it busy (SESSION_BUSY) and those are not the
 * session's requests. The loop stops at the first busy answer (bounded by a call count, not a
 * time); calls take microseconds on two running threads, so overlaps come early.
 */
private fun busy(s: Session) {
    val values = FloatArray(64) { 1f }
    val before = s.stats()
    val stop = AtomicBoolean(false)
    val otherOk = AtomicLong()
    val otherUnexpected = AtomicLong()
    val other = Thread {
        while (!stop.get()) {
            when (statusOf { s.classifyFloats(values) }) {
                Status.OK -> otherOk.incrementAndGet()
                Status.SESSION_BUSY -> Unit
                else -> otherUnexpected.incrementAndGet()
            }
        }
    }
    other.start()
    var ok = 0L
    var busy = 0
    var unexpected = 0
    var calls = 0
    while (busy == 0 && calls < 2_000_000) {
        calls++
        when (statusOf { s.classifyFloats(values) }) {
            Status.OK -> ok++
            Status.SESSION_BUSY -> busy++
            else -> unexpected++
        }
    }
    stop.set(true)
    other.join()
    expect(busy > 0, "a session used by two threads answers SESSION_BUSY ($calls calls)")
    expect(unexpected == 0 && otherUnexpected.get() == 0L, "only OK or SESSION_BUSY while shared")
    val after = s.stats()
    expect(after.requests - before.requests == ok + otherOk.get() && after.errors == before.errors,
        "busy refusals are not the session's requests: ${after.requests - before.requests} = $ok + ${otherOk.get()}")
}

/** The monitor: baseline, drift, injected latency alerts, thresholds, histograms, export. */
private fun monitors(root: String) {
    Model.load("$root/models/profanity-tfidf").use { text ->
        // Every request reports 200 µs: the latency statistics are exact, not the machine's.
        expect(hooks.mle_test_set_model_latency(text.handle, 200) == Status.OK, "latency injection")
        Session(text).use { session ->
            Monitor(labelCount = 2).use { monitor ->
                expect(monitor.thresholds == Thresholds.defaults(), "a new monitor has the default thresholds")
                session.attach(monitor)
                repeat(150) { session.classifyText(if (it % 3 == 0) "you are a damn moron" else "have a nice day") }
                expect(monitor.drain() == 150L, "drain moves the 150 waiting records")
                monitor.freezeBaseline()
                var changes = 0
                monitor.setLevelCallback { _, _, snap -> if (snap.processed > 0) changes++ }
                repeat(200) { session.classifyText("you are a damn moron and an idiot") }
                val s = monitor.snapshot(withLabelCounts = true)
                expect(s.processed == 350L && s.hasBaseline && s.degradationTested && s.labelDrift.tested && s.labelDrift.drifted,
                    "monitor snapshot with label drift (processed ${s.processed})")
                expect(changes == 1 && s.alerts.isNotEmpty() && s.versions.size == 1, "level callback and alerts")
                expect(s.alerts.any { it.metric == AlertMetric.LABEL_DRIFT } && s.level == s.alerts.map { it.level }.max(),
                    "label drift alert; level = the most severe: ${s.alerts}")
                expect(s.alerts.none { it.metric == AlertMetric.LATENCY_P95 } && Math.abs(s.latencyP95Us - 200.0) < 1e-6,
                    "injected constant latency: p95 ${s.latencyP95Us} µs, no latency alert")
                expect(s.versions[0].first == text.info.version && s.versions[0].second == 350L, "versions: ${s.versions}")
                expect(s.statusCounts[Status.OK] == 350L && s.windowErrors == 0L, "status counts")
                expect(s.labelCounts.size == 3 && s.labelCounts.sum() == s.windowCount, "label counts: ${s.labelCounts.toList()}")
                expect(s.structSize == CSnapshot.SIZE && s.baselineCount > 0, "snapshot struct_size ${s.structSize}")

                // Ten times slower: a critical p95 alert against the 200 µs baseline.
                hooks.mle_test_set_model_latency(text.handle, 2000)
                repeat(200) { session.classifyText("have a nice day") }
                val slow = monitor.snapshot()
                expect(slow.alerts.any { it.metric == AlertMetric.LATENCY_P95 && it.level == Level.CRITICAL } &&
                    Math.abs(slow.baselineLatencyP95Us - 200.0) < 1e-6 && slow.level == Level.CRITICAL,
                    "injected slowdown: critical p95 alert (${slow.latencyP95Us} µs)")
                expect(changes == 2, "the level change reached the callback ($changes)")

                val h = monitor.latencyHistogram()
                expect(h.count == 550L && h.min > 0.0 && Math.abs(h.max - 0.002) < 1e-9, "latency histogram: ${h.count} values")
                expect(h.merge(h).count == 1100L && h.merge(h).counts.sum() + h.merge(h).zeroCount == 1100L, "merged histograms")
                expect(ExpHistogram.empty().record(0.5).record(0.0).count == 2L && ExpHistogram.empty().record(0.0).zeroCount == 1L,
                    "recorded histogram")
                expect(statusOf { ExpHistogram.empty().record(-1.0) } == Status.INVALID_ARGUMENT, "negative value refused")

                monitor.thresholds = monitor.thresholds.copy(minAlertSamples = 5, latencyP95Critical = 20.0)
                expect(monitor.thresholds.minAlertSamples == 5 && monitor.thresholds.latencyP95Critical == 20.0, "thresholds set")
                expect(monitor.snapshot().alerts.none { it.metric == AlertMetric.LATENCY_P95 && it.level == Level.CRITICAL },
                    "raised critical threshold: no critical p95 alert")
                expect(statusOf { monitor.thresholds = monitor.thresholds.copy(driftPValue = 2.0) } == Status.INVALID_ARGUMENT,
                    "a p-value above 1 is refused")
                expect(monitor.exportMetrics(MetricsFormat.PROMETHEUS, "1.9.1").contains("model_predictions_total"), "monitor export")
                monitor.resetWindow()
                expect(monitor.snapshot().windowCount == 0L, "reset window")
                monitor.clearBaseline()
                expect(!monitor.snapshot().hasBaseline, "baseline cleared")
                monitor.setLevelCallback(null)
                session.detach()
            }
            Monitor(MonitorOptions(labelCount = 2, window = 100)).use { small ->
                expect(statusOf { small.freezeBaseline() } == Status.INSUFFICIENT_DATA, "baseline of an empty window")
                // A host baseline (every pointer and count of mle_baseline crosses): 200 µs, confidence 0.9.
                val lat = DoubleArray(100) { 200.0 }
                val conf = DoubleArray(100) { 0.9 }
                small.loadBaseline(Baseline(lat, conf, DoubleArray(100) { 5.0 }, labelCounts = longArrayOf(60, 40, 0), errorRate = 0.01))
                val b = small.snapshot()
                expect(b.hasBaseline && b.baselineCount == 100L && Math.abs(b.baselineLatencyP95Us - 200.0) < 1e-9 &&
                    Math.abs(b.baselineConfidenceMean - 0.9) < 1e-9, "loaded baseline: ${b.baselineCount} samples")
                expect(statusOf { small.loadBaseline(Baseline(lat.copyOf(99), conf)) } == Status.INSUFFICIENT_DATA, "99 latencies")
                expect(statusOf { small.loadBaseline(Baseline(lat, DoubleArray(100) { Double.NaN })) } == Status.INVALID_ARGUMENT,
                    "NaN confidence")
                expect(statusOf { small.loadBaseline(Baseline(lat, conf, errorRate = 2.0)) } == Status.INVALID_ARGUMENT, "error rate 2")
                expect(statusOf { small.loadBaseline(Baseline(lat, conf, features = listOf(lat))) } == Status.INVALID_ARGUMENT,
                    "a feature the monitor does not watch")
            }
            expect(statusOf { Monitor(MonitorOptions(labelCount = 2, window = 70000)) } == Status.INVALID_ARGUMENT, "window too large")
        }
        hooks.mle_test_set_model_latency(text.handle, 0)
    }

    // Watched features of a tensor model, against a host baseline: the baseline's feature
    // pointers reach the library (input value 0 matches its sample, value 5 does not).
    Model.load("$root/models/digits-mlp").use { digits ->
        Monitor(MonitorOptions(labelCount = 10, featureIndices = listOf(0, 5))).use { monitor ->
            Session(digits).use { s ->
                s.attach(monitor)
                val same = DoubleArray(100) { 3.0 }
                monitor.loadBaseline(Baseline(DoubleArray(100) { 100.0 }, DoubleArray(100) { 0.9 },
                    features = listOf(same, DoubleArray(100) { 10.0 })))
                repeat(40) { s.classifyFloats(FloatArray(64) { 3f }) }
                val snap = monitor.snapshot()
                expect(snap.featureDrifts.size == 2 && snap.featureDrifts[0].tested && !snap.featureDrifts[0].drifted &&
                    snap.featureDrifts[1].drifted, "feature drift per watched feature: ${snap.featureDrifts}")
                expect(snap.alerts.any { it.metric == AlertMetric.FEATURE_DRIFT && it.feature == 1 } &&
                    snap.alerts.none { it.metric == AlertMetric.FEATURE_DRIFT && it.feature == 0 }, "feature drift alert names feature 1")
                s.detach()
            }
        }
    }
}

/** Stateless calls: assignment schemes, significance, KS. */
private fun stateless() {
    val w = doubleArrayOf(0.5, 0.5)
    expect(MlopsEdge.abAssign("exp", "user-1", w) == MlopsEdge.abAssign("exp", "user-1", w, AssignScheme.MD5), "MD5 is the default")
    val gb = (0 until 200).map { MlopsEdge.abAssign("exp", "user-$it", w, AssignScheme.GROWTHBOOK_V2) }
    expect(gb.toSet() == setOf(0, 1), "GrowthBook v2 spreads users over both variants")
    expect((0 until 50).all { MlopsEdge.abAssign("exp", "u$it", doubleArrayOf(0.0, 1.0), AssignScheme.GROWTHBOOK_V1) == 1 },
        "GrowthBook v1 with all weight on variant 1")
    expect(statusOf { MlopsEdge.abAssign("exp", "u", doubleArrayOf(0.3, 0.3)) } == Status.INVALID_ARGUMENT, "weights not summing to 1")
    val sig = MlopsEdge.abTestSignificance(50, 1000, 80, 1000)
    expect(sig.significant && sig.pValue < 0.05 && Math.abs(sig.controlRate - 0.05) < 1e-12 && Math.abs(sig.lift - 0.03) < 1e-12,
        "stateless significance: $sig")
    expect(statusOf { MlopsEdge.abTestSignificance(1, 0, 1, 10) } == Status.INVALID_ARGUMENT, "a total of 0")
    val same = MlopsEdge.ksTwoSample(doubleArrayOf(1.0, 2.0, 3.0), doubleArrayOf(1.0, 2.0, 3.0))
    val apart = MlopsEdge.ksTwoSample(doubleArrayOf(1.0, 2.0, 3.0), doubleArrayOf(10.0, 11.0, 12.0))
    expect(same.statistic == 0.0 && same.pValue == 1.0 && apart.statistic == 1.0 && apart.pValue < 0.2, "KS: $same $apart")
    expect(statusOf { MlopsEdge.ksTwoSample(doubleArrayOf(), doubleArrayOf(1.0)) } == Status.INVALID_ARGUMENT, "KS of an empty sample")
}

/** The runtime: telemetry, experiment, hook, events, swaps, shadow, rollout, health, shutdown. */
/** ABI 1.3's model packages (tests/data/packages): the trust options and what a package reports. */
private fun packages(root: String) {
    val dir = "$root/tests/data/packages"
    val key = File("$dir/test-key.pub").readText().trim().chunked(2).map { it.toInt(16).toByte() }.toByteArray()
    val trusted = ModelOptions(trustedKeys = listOf(key))
    Model.load("$dir/breast-signed.mlepkg", trusted).use { m ->
        expect(m.info.fromPackage && m.info.signedPackage && m.info.packageVersion == 3L &&
            m.info.signerPublicKey.contentEquals(key), "a signed package reports its signer: ${m.info}")
    }
    Model.load("$dir/breast-unsigned.mlepkg").use { m ->
        expect(m.info.fromPackage && !m.info.signedPackage, "an unsigned package loads without keys")
    }
    val unsigned = errorOf { Model.load("$dir/breast-unsigned.mlepkg", trusted) }
    expect(unsigned?.status == Status.PACKAGE_UNSIGNED, "with a trusted key an unsigned package: PACKAGE_UNSIGNED (${unsigned?.message})")
    expect(statusOf { Model.load("$root/models/digits-mlp", trusted) } == Status.PACKAGE_UNSIGNED, "a plain model too")
    val other = ModelOptions(trustedKeys = listOf(ByteArray(32) { 7 }))
    expect(statusOf { Model.load("$dir/breast-signed.mlepkg", other) } == Status.PACKAGE_UNTRUSTED_KEY, "another key: PACKAGE_UNTRUSTED_KEY")
    expect(statusOf { Model.load("$dir/breast-signed.mlepkg", trusted.copy(minPackageVersion = 4)) } == Status.PACKAGE_OUTDATED,
        "an older package: PACKAGE_OUTDATED")
    val changed = File("$dir/breast-signed.mlepkg").readBytes()
    changed[changed.size / 2] = (changed[changed.size / 2].toInt() xor 0x10).toByte()
    expect(statusOf { Model.loadBytes(changed, options = trusted) } in listOf(Status.PACKAGE_TAMPERED, Status.PACKAGE_INVALID),
        "a changed byte is refused")
    expect(runCatching { Model.load("$dir/breast-signed.mlepkg", ModelOptions(trustedKeys = listOf(ByteArray(31)))) }
        .exceptionOrNull() is IllegalArgumentException, "a key of 31 bytes is refused by the binding")
    // A runtime with the key takes the signed package and refuses a plain model.
    Model.load("$root/models/breast-cancer-logreg").use { plain ->
        expect(statusOf { Runtime(plain, RuntimeOptions(supervisorThread = false, trustedKeys = listOf(key))).close() } ==
            Status.PACKAGE_UNSIGNED, "a runtime with trusted keys refuses a plain production model")
    }
    Model.load("$dir/breast-signed.mlepkg", trusted).use { m ->
        Runtime(m, RuntimeOptions(supervisorThread = false, maxConcurrency = 1, trustedKeys = listOf(key))).use { rt ->
            expect(rt.classifyFloats("u", rows30()).version == "3.0.0", "the signed package serves")
        }
    }
}

private fun runtime(root: String) {
    val batches = mutableListOf<String>()
    var failNext = true
    val callbacksBefore = MlopsEdge.registeredCallbacks
    // A telemetry that fails to start gives its userdata back at once.
    expect(statusOf { Telemetry(TelemetryOptions(queueCapacity = 1)) { UploadResult.OK } } == Status.INVALID_ARGUMENT &&
        MlopsEdge.registeredCallbacks == callbacksBefore, "a refused telemetry frees its callbacks")
    val telemetry = Telemetry(TelemetryOptions(retryInitialMs = 1, retryMaxMs = 1, deviceId = "jvm-test")) { batch ->
        if (failNext) {
            failNext = false
            throw RuntimeException("network down")
        }
        batches.add(batch.text)
        UploadResult.OK
    }
    val path = "$root/models/digits-mlp"
    val digits = Model.load(path)
    val digitsB = Model.load(path)
    val version = digits.info.version

    // The options' pointers: an invalid thresholds or monitor struct is read, and refused.
    expect(statusOf { Runtime(digits, RuntimeOptions(supervisorThread = false,
        thresholds = Thresholds.defaults().copy(driftPValue = 2.0))).close() } == Status.INVALID_ARGUMENT,
        "runtime thresholds pointer is read (invalid p-value refused)")
    expect(statusOf { Runtime(digits, RuntimeOptions(supervisorThread = false,
        monitor = MonitorOptions(labelCount = 0, window = 70000))).close() } == Status.INVALID_ARGUMENT,
        "runtime monitor pointer is read (window too large refused)")

    val options = RuntimeOptions(supervisorThread = false, monitor = MonitorOptions(labelCount = 0, window = 16),
        thresholds = Thresholds.defaults().copy(minAlertSamples = 10))
    Runtime(digits, options, telemetry).use { rt ->
        val events = mutableListOf<Event>()
        rt.setEventCallback { events.add(it) }
        rt.setExperiment("exp", listOf(Variant("control", digits, 0.5), Variant("treatment", digitsB, 0.5)))
        expect(statusOf { rt.setExperiment("exp", listOf(Variant("a", digits, 0.7), Variant("b", digitsB, 0.7))) } ==
            Status.INVALID_ARGUMENT, "weights not summing to 1")
        val values = FloatArray(64) { 3f }
        val counts = IntArray(2)
        for (i in 0 until 100) {
            val s = rt.classifyFloats("user-$i", values)
            counts[s.variant]++
            expect(s.variant == MlopsEdge.abAssign("exp", "user-$i", doubleArrayOf(0.5, 0.5)), "assignment = stateless call")
            rt.recordOutcome(s.variant, i % 2 == 0)
        }
        val vs = listOf(rt.variantStats(0), rt.variantStats(1))
        expect(vs.map { it.requests } == counts.map { it.toLong() } && vs.map { it.name } == listOf("control", "treatment") &&
            vs.all { it.weight == 0.5 && it.version == version } && vs.sumByLong { it.outcomes } == 100L &&
            vs.sumByLong { it.conversions } == 50L, "variant stats: $vs")
        val served = rt.classifyFloats("someone", values)
        expect(served.version == version && served.inputLength == 64 && served.label == digits.label(served.labelIndex),
            "served answer: $served")
        // The runtime's monitor template (window 16) reached the variant's monitor.
        val snap = rt.snapshot(Role.VARIANT, 0)
        expect(snap.windowCount == 16L && snap.processed >= 16L, "runtime monitor template: window ${snap.windowCount}")
        expect(statusOf { rt.snapshot(Role.CANDIDATE) } == Status.INVALID_STATE, "no candidate to snapshot")

        rt.setAssignmentHook { _, user -> if (user == "vip") 1L else -1L }
        expect(rt.classifyFloats("vip", values).variant == 1, "the hook decides")
        rt.setAssignmentHook { _, _ -> throw IllegalStateException("bug") }
        rt.classifyFloats("someone", values)
        expect(rt.health().hookErrors == 1L, "a throwing hook is counted")
        rt.setAssignmentHook(null)
        expect(statusOf { rt.classifyFloats("x", floatArrayOf(1f)) } == Status.INPUT_SHAPE, "bad input")
        val sig = rt.significance(0, 1)
        expect(sig.pValue in 0.0..1.0, "significance")
        expect(statusOf { rt.significance(0, 5) } == Status.INVALID_ARGUMENT, "significance of no such variant")

        // A refused request (a one-float probabilities buffer) is counted in the health.
        val h0 = rt.health()
        val n = SizeTOut()
        expect(lib.mle_runtime_classify_f32(rt.handle, cString("u"), values, sizeT(64), CServed(), FloatArray(1), SizeT(1), n) ==
            Status.BUFFER_TOO_SMALL && n.value == 10L, "runtime: short buffer, 10 needed")
        val h1 = rt.health()
        expect(h1.requests == h0.requests + 1 && h1.errors == h0.errors + 1, "health counts the refused request: ${h0.requests}/${h0.errors} -> ${h1.requests}/${h1.errors}")
        expect(h1.structSize == CHealth().size() && h1.state == RuntimeState.SERVING && h1.telemetryEnabled && h1.uptimeSeconds >= 0.0,
            "health struct: size ${h1.structSize}, state ${h1.state}")
        expect(h1.models.map { it.variantName }.toSet() == setOf("control", "treatment") &&
            h1.models.all { it.role == Role.VARIANT && it.version == version } && h1.models.map { it.variant }.toSet() == setOf(0, 1),
            "loaded models: ${h1.models}")

        val r1 = telemetry.flush()
        expect(r1.retried && r1.retryAfterMs != null, "a throwing upload is a RETRY")
        // Step the library's clock past the backoff instead of sleeping.
        hooks.mle_test_advance_clock((r1.retryAfterMs ?: 0) + 1)
        val r2 = telemetry.flush()
        val stats = telemetry.stats()
        expect(r2.batchesSent >= 1 && stats.pending == 0L && stats.sent == stats.recorded, "delivered after the retry: $stats")
        expect(stats.batchesRetried == 1L && stats.retried > 0, "one RETRY counted: $stats")
        expect(batches.isNotEmpty() && batches[0].startsWith("{\"schema\":\"mlops_edge.telemetry\""), "JSON Lines batch")
        expect(batches[0].contains("\"device_id\":\"jvm-test\""), "device id in the header")
        expect(rt.health().telemetrySent == stats.sent, "health carries telemetry counts")
        expect(rt.exportMetrics(MetricsFormat.OPENMETRICS).endsWith("# EOF\n"), "runtime export")

        val logs = mutableListOf<String>()
        MlopsEdge.setLogCallback(LogLevel.INFO) { _, _, message -> logs.add(message) }
        rt.swap(0, digitsB)
        MlopsEdge.setLogCallback(LogLevel.OFF, null)
        expect(logs.any { it.contains("Swapped") }, "the swap was logged: $logs")

        // Self-test cases (an input array: struct_size in every element).
        val label = digits.label(rt.classifyFloats("u", values).labelIndex)
        val wrong = digits.label((digits.label(0).let { if (it == label) 1 else 0 }))
        val refusedBefore = rt.health().refusedModels
        expect(statusOf { rt.swap(1, digitsB, listOf(SelfTestCase.features(values, label), SelfTestCase.features(values, wrong))) } ==
            Status.SELF_TEST_FAILED, "a failing self-test case refuses the swap")
        rt.swap(1, digitsB, listOf(SelfTestCase.features(values, label), SelfTestCase.features(values, label)))
        expect(statusOf { rt.swap(1, digitsB, listOf(SelfTestCase.text("hello", label))) } == Status.SELF_TEST_FAILED,
            "a text case for a tensor model is refused")
        // swap_path with model options: the limit applies to the path's files.
        val limited = errorOf { rt.swapPath(1, path, ModelOptions(maxModelBytes = 100)) }
        expect(limited?.status == Status.MODEL_LIMIT, "swapPath above maxModelBytes: MODEL_LIMIT (${limited?.message})")
        rt.swapPath(1, path, ModelOptions(maxModelBytes = 1L shl 20), listOf(SelfTestCase.features(values, label)))
        expect(rt.health().refusedModels == refusedBefore + 3, "refused models counted")

        // Shadow: every request copied to the same model agrees.
        rt.setShadow(digitsB, 1.0)
        repeat(10) { rt.classifyFloats("shadow-$it", values) }
        rt.evaluate()
        val sr = rt.shadowReport()
        expect(sr.sampled == 10L && sr.compared == 10L && sr.agreed == 10L && sr.agreementRate == 1.0 && sr.version == version,
            "shadow report: $sr")
        expect(rt.snapshot(Role.SHADOW).processed == 10L, "shadow snapshot")
        rt.clearShadow()
        expect(statusOf { rt.shadowReport() } == Status.INVALID_STATE, "no shadow, no report")

        val candidate = Model.load(path)
        rt.setExperiment("exp", listOf(Variant("control", digits, 1.0)))
        rt.startRollout(0, candidate, intArrayOf(50, 100), 10, autoPromote = false)
        expect(statusOf { rt.startRollout(0, candidate) } == Status.INVALID_STATE, "one rollout at a time")
        val hr = rt.health()
        expect(hr.rolloutActive && hr.rolloutPercent == 50 && hr.rolloutRequestsPerStage == 10L && hr.rolloutVariant == 0 &&
            hr.rolloutCandidateVersion == version, "rollout active: $hr")
        expect(hr.models.any { it.role == Role.CANDIDATE }, "the candidate is a loaded model")
        rt.rollback(0)
        expect(!rt.health().rolloutActive && rt.health().rollbacks == 1L, "rolled back")
        candidate.close()
        val finals = rt.shutdown(2000)
        expect(finals.isNotEmpty() && finals.all { it.first == version && it.second.structSize >= CSnapshot.SIZE },
            "final snapshots: ${finals.map { it.first }}")
        expect(statusOf { rt.classifyFloats("u", values) } == Status.SHUTTING_DOWN, "after shutdown")
        expect(rt.health().state == RuntimeState.STOPPED && rt.health().refusedShuttingDown == 1L, "stopped")
        val kinds = events.map { it.kind }
        expect(kinds.containsAll(listOf(EventKind.EXPERIMENT_CHANGED, EventKind.SWAPPED, EventKind.SWAP_REFUSED,
            EventKind.SHADOW_CHANGED, EventKind.ROLLOUT_STARTED, EventKind.ROLLED_BACK, EventKind.SHUTDOWN_STARTED)),
            "events: $kinds")
        expect(events.first { it.kind == EventKind.ROLLOUT_STARTED }.stagePercent == 50, "rollout event carries its stage")
    }
    telemetry.close()
    digits.close()
    digitsB.close()
    expect(MlopsEdge.registeredCallbacks == callbacksBefore, "every lambda released (${MlopsEdge.registeredCallbacks} held)")
}

/** 30 features for breast-cancer-logreg (and three_labels_30). */
private fun rows30() = FloatArray(30) { (it % 7) * 0.5f }

/**
 * ABI 1.1: a runtime serving the 30-feature, 2-label breast-cancer model refuses a swap, a rollout,
 * an experiment and a shadow whose model takes 64 features, a swap to a text model, and a swap or
 * an experiment variant with 3 labels;
 * production keeps answering. changeInputSchema is the deliberate change, and maxLabels follows it.
 */
private fun inputSchema(root: String) {
    val breast = Model.load("$root/models/breast-cancer-logreg")
    val breastB = Model.load("$root/models/breast-cancer-logreg")
    val digits = Model.load("$root/models/digits-mlp")
    val three = Model.load("$root/tests/data/three_labels_30.onnx")
    val text = Model.load("$root/models/profanity-tfidf")
    val version = breast.info.version
    val rows64 = FloatArray(64) { 3f }
    Runtime(breast, RuntimeOptions(supervisorThread = false)).use { rt ->
        val events = mutableListOf<Event>()
        rt.setEventCallback { events.add(it) }
        expect(rt.maxLabels == 2, "breast-cancer: maxLabels 2, got ${rt.maxLabels}")
        val before = rt.health()

        // A swap to 64 features: refused, the message naming the deliberate way.
        val refused = errorOf { rt.swap(0, digits) }
        expect(refused?.status == Status.SELF_TEST_FAILED, "a swap to 64 features: SELF_TEST_FAILED (${refused?.status})")
        expect(refused?.message?.contains("cannot take the inputs") == true &&
            refused.message!!.contains("mle_runtime_change_input_schema"), "the refusal says why: ${refused?.message}")
        expect(events.lastOrNull()?.kind == EventKind.SWAP_REFUSED &&
            events.last().message.contains("cannot take the inputs"), "refusal event: ${events.lastOrNull()}")
        expect(statusOf { rt.swap(0, text) } == Status.SELF_TEST_FAILED, "a swap to text input")
        expect(statusOf { rt.swap(0, three) } == Status.SELF_TEST_FAILED, "a swap to 3 labels (buffers hold 2)")
        expect(statusOf { rt.swapPath(0, "$root/models/digits-mlp") } == Status.SELF_TEST_FAILED, "swapPath to 64 features")
        expect(statusOf { rt.startRollout(0, digits) } == Status.SELF_TEST_FAILED, "a rollout of 64 features")
        expect(statusOf { rt.setExperiment("schema", listOf(Variant("control", breastB, 0.5), Variant("wide", digits, 0.5))) } ==
            Status.INVALID_ARGUMENT, "an experiment variant of 64 features")
        expect(statusOf { rt.setExperiment("schema", listOf(Variant("control", breastB, 0.5), Variant("three", three, 0.5))) } ==
            Status.INVALID_ARGUMENT, "an experiment variant with 3 labels")
        expect(statusOf { rt.setShadow(digits, 1.0) } == Status.INVALID_ARGUMENT, "a shadow of 64 features")
        val after = rt.health()
        expect(after.swaps == before.swaps && after.refusedModels - before.refusedModels == 8L,
            "nothing swapped, 8 refusals: ${after.refusedModels - before.refusedModels}")

        // Production keeps answering, with its 2 labels.
        val served = rt.classifyFloats("u", rows30())
        expect(served.variant == 0 && served.version == version && served.label == breast.label(served.labelIndex),
            "production still answers: $served")
        expect(rt.maxLabels == 2, "still 2 labels after the refusals")

        // The same schema is accepted; a shadow may have other labels.
        rt.swap(0, breastB)
        rt.setShadow(three, 1.0)
        expect(statusOf { rt.changeInputSchema(digits) } == Status.INVALID_STATE, "no schema change beside a shadow")
        rt.clearShadow()
        expect(statusOf { rt.changeInputSchema(digits, listOf(SelfTestCase.features(rows64, "no such label"))) } ==
            Status.SELF_TEST_FAILED, "the schema change's self-test runs")
        expect(rt.maxLabels == 2, "a refused change leaves maxLabels")

        // The deliberate change.
        rt.changeInputSchema(digits)
        expect(events.last().kind == EventKind.SWAPPED && events.last().message.contains("input schema changed"),
            "schema change event: ${events.last()}")
        expect(rt.maxLabels == 10, "digits: maxLabels 10, got ${rt.maxLabels}")
        val n = SizeTOut()
        val probs = FloatArray(rt.maxLabels)
        expect(lib.mle_runtime_classify_f32(rt.handle, cString("u"), rows64, sizeT(64), CServed(), probs, sizeT(probs.size), n) ==
            Status.OK && n.value == 10L, "a buffer of maxLabels holds the new model's probabilities (${n.value})")
        expect(rt.classifyFloats("u", rows64).version == digits.info.version, "digits serves")
        expect(statusOf { rt.classifyFloats("u", rows30()) } == Status.INPUT_SHAPE, "the old inputs no longer fit")
        expect(statusOf { rt.rollback(0) } == Status.INVALID_STATE, "no rollback across a schema change")

        // And back, deliberately.
        rt.changeInputSchema(breast)
        expect(rt.maxLabels == 2 && rt.classifyFloats("u", rows30()).version == version, "back to breast-cancer")
        rt.shutdown(1000)
        expect(statusOf { rt.changeInputSchema(digits) } == Status.SHUTTING_DOWN, "no schema change after shutdown")
    }
    listOf(breast, breastB, digits, three, text).forEach { it.close() }
}

/**
 * ABI 1.1's spool: one Telemetry per spool file (SPOOL_LOCKED), and what a damaged or emptied
 * spool lost, in the telemetry stats and the runtime's health.
 */
private fun spool(root: String) {
    val dir = java.nio.file.Files.createTempDirectory("mle-kotlin-spool").toFile()
    val path = File(dir, "telemetry.spool").path
    val callbacksBefore = MlopsEdge.registeredCallbacks
    val options = TelemetryOptions(spoolPath = path)
    val runtimeOptions = RuntimeOptions(supervisorThread = false)
    try {
        Model.load("$root/models/digits-mlp").use { digits ->
            Telemetry(options) { UploadResult.RETRY }.use { first ->
                val fresh = first.stats()
                expect(fresh.spoolCorruptBytes == 0L && fresh.spoolCorruptRegions == 0L && !fresh.spoolTruncated,
                    "a new spool lost nothing: $fresh")
                val locked = errorOf { Telemetry(options) { UploadResult.OK } }
                expect(locked?.status == Status.SPOOL_LOCKED && locked.message!!.contains(path),
                    "a second Telemetry on the same spool: SPOOL_LOCKED naming the path (${locked?.status}: ${locked?.message})")
                expect(MlopsEdge.registeredCallbacks == callbacksBefore + 1, "the refused telemetry's callbacks are released")
                Runtime(digits, runtimeOptions, first).use { rt ->
                    repeat(100) { rt.classifyFloats("u", FloatArray(64) { 5f }) }
                    expect(rt.health().telemetrySpoolLostBytes == 0L, "health: nothing lost from a new spool")
                    first.persist()
                }
            }
            // Both handles gone: the file is free. One flipped bit at 10% of it.
            val bytes = File(path).readBytes()
            expect(bytes.size > 1000, "a spool of ${bytes.size} bytes")
            bytes[bytes.size / 10] = (bytes[bytes.size / 10].toInt() xor 0x40).toByte()
            File(path).writeBytes(bytes)
            Telemetry(options) { UploadResult.RETRY }.use { t ->
                val s = t.stats()
                expect(s.recovered == 99L && s.spoolCorruptRegions == 1L && s.spoolCorruptBytes in 1L..299L &&
                    s.spoolTornBytes == 0L && !s.spoolTruncated && s.lastSpoolError.contains("damaged"),
                    "damage skipped and counted: $s")
                Runtime(digits, runtimeOptions, t).use { rt ->
                    val h = rt.health()
                    expect(h.telemetrySpoolLostBytes == s.spoolCorruptBytes,
                        "health: ${h.telemetrySpoolLostBytes} spool bytes lost (stats: ${s.spoolCorruptBytes})")
                }
            }
            // Emptied by something else.
            File(path).writeBytes(ByteArray(0))
            Telemetry(options) { UploadResult.RETRY }.use { t ->
                val s = t.stats()
                expect(s.spoolTruncated && s.recovered == 0L && s.spoolCorruptRegions == 0L && s.lastSpoolError.isNotEmpty(),
                    "an emptied spool is reported: $s")
            }
        }
    } finally {
        dir.deleteRecursively()
    }
    expect(MlopsEdge.registeredCallbacks == callbacksBefore, "every telemetry lambda released")
}

/**
 * The fleet upload loop (bindings/kotlin/examples/FleetUpload.kt) against a local HTTP server
 * that answers 503, then 200, then 400: RETRY keeps the batch (offered again with its id), OK
 * counts it sent, DROP counts its records dropped; the push lands under the grouping key.
 */
private fun fleetUpload(root: String) {
    val answers = java.util.ArrayDeque(listOf(503, 200, 400))
    // Filled on the server's thread, read on this one.
    val posts = java.util.Collections.synchronizedList(mutableListOf<Pair<String, String>>()) // (batch id, first line)
    val puts = java.util.Collections.synchronizedList(mutableListOf<Pair<String, String>>())  // (path, body)
    val server = com.sun.net.httpserver.HttpServer.create(java.net.InetSocketAddress("127.0.0.1", 0), 0)
    server.createContext("/") { exchange ->
        val body = exchange.requestBody.readBytes().toString(Charsets.UTF_8)
        val code = if (exchange.requestMethod == "PUT") {
            puts.add(exchange.requestURI.path to body)
            200
        } else {
            posts.add((exchange.requestHeaders.getFirst("X-Mle-Batch-Id") ?: "") to body.lineSequence().first())
            answers.poll() ?: 200
        }
        exchange.sendResponseHeaders(code, -1)
        exchange.close()
    }
    server.start()
    try {
        val port = server.address.port
        val fleet = mlopsedge.fleet.FleetUpload("http://127.0.0.1:$port/v1/batches", "http://127.0.0.1:$port",
            "jvm/device 1", "digits")
        expect(mlopsedge.fleet.FleetUpload.verdict(429) == UploadResult.RETRY &&
            mlopsedge.fleet.FleetUpload.verdict(404) == UploadResult.RETRY &&
            mlopsedge.fleet.FleetUpload.verdict(413) == UploadResult.DROP &&
            mlopsedge.fleet.FleetUpload.verdict(302) == UploadResult.RETRY &&
            mlopsedge.fleet.FleetUpload.verdict(204) == UploadResult.OK, "HTTP status verdicts")
        val telemetry = Telemetry(TelemetryOptions(retryInitialMs = 1, retryMaxMs = 1, batchMaxRecords = 10,
            deviceId = "jvm/device 1")) { fleet.upload(it) }
        val model = Model.load("$root/models/digits-mlp")
        Runtime(model, RuntimeOptions(supervisorThread = false), telemetry).use { rt ->
            for (i in 0 until 20) rt.classifyFloats("u$i", FloatArray(64) { (i % 5).toFloat() })
            // The runtime's baseline from Kotlin (ABI 1.4): 20 requests are too few to freeze one.
            expect(statusOf { rt.freezeBaseline() } == Status.INSUFFICIENT_DATA, "freezing needs 100 successes")
            expect(statusOf { rt.freezeBaseline(Role.SHADOW) } == Status.INVALID_STATE, "no shadow to freeze")
            expect(fleet.doWork(telemetry, rt) == mlopsedge.fleet.WorkResult.RETRY, "a 503 asks to come back")
            Thread.sleep(5) // the 1 ms backoff
            fleet.doWork(telemetry, rt)
            Thread.sleep(5)
            fleet.doWork(telemetry, rt)
            val s = telemetry.stats()
            expect(s.batchesRetried == 1L && s.batchesSent >= 1 && s.batchesDropped == 1L && s.droppedByHost == 10L &&
                s.pending == 0L && s.sent + s.droppedByHost == s.recorded, "503 retried, 200 sent, 400 dropped: $s")
            expect(posts.size >= 3 && posts[0].first == posts[1].first && posts[0].first.isNotEmpty(),
                "the retried batch comes back with its id: $posts")
            expect(posts[0].second.contains("\"device_id\":\"jvm/device 1\""), "the batch header: ${posts[0].second}")
            val b64 = { v: String -> java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(v.toByteArray()) }
            expect(puts.isNotEmpty() && puts.last().first ==
                "/metrics/job/mlops_edge/device@base64/${b64("jvm/device 1")}/model@base64/${b64("digits")}" &&
                puts.last().second.contains("mlops_edge_runtime_requests_total 20"), "the push: ${puts.lastOrNull()?.first}")
        }
        telemetry.close()
        model.close()
    } finally {
        server.stop(0)
    }
}

/** Runs one part of the test; an exception is a failure of that part (the others still run). */
private fun part(name: String, body: () -> Unit) {
    try {
        body()
    } catch (t: Throwable) {
        expect(false, "$name threw $t")
        t.printStackTrace()
    }
}

fun main(args: Array<String>) {
    val root = args[0]
    val c = CLayout(File(args[1]))
    part("layouts") { layouts(c) }
    part("constants") { constants(c) }
    part("abi") { abi(c) }
    part("struct sizes") { structSizes(root) }
    part("models") { models(root) }
    part("sessions") { sessions(root) }
    part("monitors") { monitors(root) }
    part("stateless") { stateless() }
    part("runtime") { runtime(root) }
    part("input schema") { inputSchema(root) }
    part("spool") { spool(root) }
    part("packages") { packages(root) }
    part("fleet upload") { fleetUpload(root) }
    println("$checks checks, $failures failures")
    System.exit(if (failures == 0) 0 else 1)
}
