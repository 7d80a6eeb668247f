// Test of the Kotlin binding on the JVM against the real library.
// Usage: java ... mlopsedge.test.TestKt <repository root> <layout file from layout.c>
package mlopsedge.test

import com.sun.jna.Memory
import com.sun.jna.Pointer
import com.sun.jna.Structure
import mlopsedge.*
import java.io.File

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

private fun layouts(file: File) {
    val dummy = Memory(65536)
    val kotlin: Map<String, Structure> = mapOf(
        "CPrediction" to CPrediction(), "CServed" to CServed(), "CModelDetails" to CModelDetails(),
        "CMonitorOptions" to CMonitorOptions(), "CThresholds" to CThresholds(), "CRuntimeOptions" to CRuntimeOptions(),
        "CVersionCounts" to CVersionCounts(), "CDrift" to CDrift(), "CLabelDrift" to CLabelDrift(), "CAlert" to CAlert(),
        "CSnapshot" to CSnapshot(), "CVariant" to CVariant(), "CEvent" to CEvent(dummy),
        "CRolloutOptions" to CRolloutOptions(), "CSignificance" to CSignificance(), "CVariantStats" to CVariantStats(),
        "CHealth" to CHealth(), "CTelemetryOptions" to CTelemetryOptions(), "CTelemetryStats" to CTelemetryStats(),
        "CFlushReport" to CFlushReport(), "CBatch" to CBatch(dummy))
    val c = file.readLines().filter { it.isNotBlank() }.associate { line -> line.split(" ").let { it[0] to it[1].toInt() } }
    expect(c.keys == kotlin.keys, "layout file covers every mapped struct: ${c.keys - kotlin.keys} ${kotlin.keys - c.keys}")
    for ((name, s) in kotlin) expect(s.size() == c[name], "$name: Kotlin ${s.size()} bytes, C ${c[name]}")
}

fun main(args: Array<String>) {
    val root = args[0]
    layouts(File(args[1]))
    expect(MlopsEdge.version.isNotEmpty(), "version")

    // Errors carry the status and the message.
    val missing = try { Model.load("$root/models/no-such-model"); null } catch (e: MleException) { e }
    expect(missing?.status == Status.IO && missing.message!!.contains("no-such-model"), "missing model: IO with the path")

    Model.load("$root/models/profanity-tfidf").use { text ->
        expect(text.info.labelCount == 2 && text.info.inputKind == 1, "model info")
        Session(text).use { session ->
            val p = session.classifyText("shut up you stupid idiot, what the hell")
            expect(p.label == "PROFANE" && p.probabilities.size == 2, "classifyText: ${p.label}")
            expect(statusOf { session.classifyFloats(floatArrayOf(1f, 2f)) } == Status.WRONG_INPUT_KIND, "wrong input kind")
            Monitor(labelCount = 2).use { monitor ->
                session.attach(monitor)
                repeat(150) { session.classifyText(if (it % 3 == 0) "you are a damn moron" else "have a nice day") }
                monitor.freezeBaseline()
                var changes = 0
                monitor.setLevelCallback { _, _, _ -> changes++ }
                repeat(200) { session.classifyText("you are a damn moron and an idiot") }
                val s = monitor.snapshot()
                expect(s.processed == 350L && s.hasBaseline && s.degradationTested && s.labelDrift.tested && s.labelDrift.drifted,
                    "monitor snapshot with label drift (processed ${s.processed})")
                expect(changes == 1 && s.alerts.isNotEmpty() && s.versions.size == 1, "level callback and alerts")
                expect(monitor.exportMetrics(MetricsFormat.PROMETHEUS, "1.9.1").contains("model_predictions_total"), "monitor export")
                session.detach()
            }
        }
        val closed = Session(text)
        closed.close()
        closed.close()
        expect(try { closed.classifyText("x"); false } catch (e: IllegalStateException) { true }, "use after close")
    }

    // Runtime with telemetry, experiment, hook, events.
    val batches = mutableListOf<String>()
    var failNext = true
    val callbacksBefore = MlopsEdge.registeredCallbacks
    val telemetry = Telemetry(TelemetryOptions(retryInitialMs = 1, retryMaxMs = 1, deviceId = "jvm-test")) { batch ->
        if (failNext) {
            failNext = false
            throw RuntimeException("network down")
        }
        batches.add(batch.text)
        UploadResult.OK
    }
    val digits = Model.load("$root/models/digits-mlp")
    val digitsB = Model.load("$root/models/digits-mlp")
    Runtime(digits, RuntimeOptions(supervisorThread = false), telemetry).use { rt ->
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
        expect(rt.variantStats(0).requests == counts[0].toLong(), "variant stats")
        rt.setAssignmentHook { _, user -> if (user == "vip") 1L else -1L }
        expect(rt.classifyFloats("vip", values).variant == 1, "the hook decides")
        rt.setAssignmentHook { _, _ -> throw IllegalStateException("bug") }
        rt.classifyFloats("someone", values)
        expect(rt.health().hookErrors == 1L, "a throwing hook is counted")
        rt.setAssignmentHook(null)
        expect(statusOf { rt.classifyFloats("x", floatArrayOf(1f)) } == Status.INPUT_SHAPE, "bad input")
        val sig = rt.significance(0, 1)
        expect(sig.pValue in 0.0..1.0, "significance")

        val r1 = telemetry.flush()
        expect(r1.retried && r1.retryAfterMs != null, "a throwing upload is a RETRY")
        Thread.sleep(5)
        val r2 = telemetry.flush()
        val stats = telemetry.stats()
        expect(r2.batchesSent >= 1 && stats.pending == 0L && stats.sent == stats.recorded, "delivered after the retry: $stats")
        expect(batches.isNotEmpty() && batches[0].startsWith("{\"schema\":\"mlops_edge.telemetry\""), "JSON Lines batch")
        expect(batches[0].contains("\"device_id\":\"jvm-test\""), "device id in the header")
        expect(rt.health().telemetrySent == stats.sent, "health carries telemetry counts")
        expect(rt.exportMetrics(MetricsFormat.OPENMETRICS).endsWith("# EOF\n"), "runtime export")

        val logs = mutableListOf<String>()
        MlopsEdge.setLogCallback(LogLevel.INFO) { _, _, message -> logs.add(message) }
        rt.swap(0, digitsB)
        MlopsEdge.setLogCallback(LogLevel.OFF, null)
        expect(logs.any { it.contains("Swapped") }, "the swap was logged")

        val candidate = Model.load("$root/models/digits-mlp")
        rt.setExperiment("exp", listOf(Variant("control", digits, 1.0)))
        rt.startRollout(0, candidate, intArrayOf(50, 100), 10)
        expect(statusOf { rt.startRollout(0, candidate) } == Status.INVALID_STATE, "one rollout at a time")
        expect(rt.health().rolloutActive, "rollout active")
        rt.rollback(0)
        candidate.close()
        val finals = rt.shutdown(2000)
        expect(finals.isNotEmpty(), "final snapshots")
        expect(statusOf { rt.classifyFloats("u", values) } == Status.SHUTTING_DOWN, "after shutdown")
        expect(events.map { it.kind }.containsAll(listOf(8, 1, 3, 6, 10)), "events: ${events.map { it.kind }}")
    }
    telemetry.close()
    digits.close()
    digitsB.close()
    expect(MlopsEdge.registeredCallbacks == callbacksBefore, "every lambda released (${MlopsEdge.registeredCallbacks} held)")
    println("$checks checks, $failures failures")
    System.exit(if (failures == 0) 0 else 1)
}
