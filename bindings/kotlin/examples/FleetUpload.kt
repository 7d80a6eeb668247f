// The fleet upload loop on the JVM (docs/fleet.md): the Kotlin counterpart of
// examples/fleet/uploader.c, shaped like an Android WorkManager worker. On Android, call
// [FleetUpload.doWork] from a CoroutineWorker's doWork() scheduled as periodic work with a
// network constraint, and map [WorkResult.RETRY] to Result.retry() (WorkManager then backs off);
// here it is plain JVM code, tested by bindings/kotlin/test/Test.kt against a local HTTP server.
package mlopsedge.fleet

import java.io.IOException
import java.net.HttpURLConnection
import java.net.URL
import java.util.Base64
import mlopsedge.Batch
import mlopsedge.MetricsFormat
import mlopsedge.MleException
import mlopsedge.Runtime
import mlopsedge.Telemetry
import mlopsedge.UploadResult

/** What one run of the work asks of its scheduler. */
enum class WorkResult { SUCCESS, RETRY }

/**
 * POSTs telemetry batches to a receiver (fleet/receiver/mle_receiver.py or any server speaking
 * its protocol) and PUTs the runtime's Prometheus text to a Pushgateway under the grouping key
 * job="mlops_edge", device, model. Pass [upload] as the Telemetry's upload hook:
 * `Telemetry(options) { fleet.upload(it) }`.
 */
class FleetUpload(
    private val receiverUrl: String,
    private val pushgatewayUrl: String?,
    private val deviceId: String,
    private val modelName: String,
    private val timeoutMs: Int = 5000
) {
    /**
     * The telemetry's upload hook: 2xx OK; 400, 413, 422 (the batch can never be stored) DROP;
     * anything else — 5xx, 408, 429, 401/403/404, a redirect, an I/O failure — RETRY.
     */
    fun upload(batch: Batch): UploadResult =
        send(receiverUrl, "POST", "application/x-ndjson", batch.data,
            "X-Mle-Batch-Id" to java.lang.Long.toUnsignedString(batch.id))
            ?.let { verdict(it) } ?: UploadResult.RETRY // refused, unreachable, timed out: kept

    /** PUTs the runtime's metrics (replacing this device's group). True on a 2xx. */
    fun push(runtime: Runtime): Boolean {
        val base = pushgatewayUrl ?: return false
        val url = "$base/metrics/job/mlops_edge/device@base64/${b64(deviceId)}/model@base64/${b64(modelName)}"
        val body = runtime.exportMetrics(MetricsFormat.PROMETHEUS).toByteArray()
        return (send(url, "PUT", "text/plain; version=0.0.4", body) ?: 0) in 200..299
    }

    /** One request with a body; the HTTP status, or null when no answer came (an I/O failure). */
    private fun send(url: String, method: String, contentType: String, body: ByteArray,
                     vararg headers: Pair<String, String>): Int? {
        val conn = URL(url).openConnection() as HttpURLConnection
        return try {
            conn.requestMethod = method
            conn.doOutput = true
            conn.connectTimeout = timeoutMs
            conn.readTimeout = timeoutMs
            conn.setRequestProperty("Content-Type", contentType)
            for ((name, value) in headers) conn.setRequestProperty(name, value)
            conn.outputStream.use { it.write(body) }
            conn.responseCode
        } catch (e: IOException) {
            null
        } finally {
            conn.disconnect()
        }
    }

    /**
     * One run of the periodic work: flush (each batch goes through [upload]) and push. RETRY when
     * a batch is waiting out a backoff, so the scheduler comes back; SUCCESS when everything that
     * could go went.
     */
    fun doWork(telemetry: Telemetry, runtime: Runtime?): WorkResult {
        val report = try {
            telemetry.flush()
        } catch (e: MleException) {
            return WorkResult.RETRY // BUSY: the app flushed at the same moment
        }
        if (runtime != null) push(runtime)
        return if (report.retryAfterMs != null) WorkResult.RETRY else WorkResult.SUCCESS
    }

    companion object {
        /** The verdict for an HTTP status. */
        fun verdict(code: Int): UploadResult = when (code) {
            in 200..299 -> UploadResult.OK
            400, 413, 422 -> UploadResult.DROP
            else -> UploadResult.RETRY // also -1: not a valid HTTP answer
        }

        private fun b64(s: String): String =
            Base64.getUrlEncoder().withoutPadding().encodeToString(s.toByteArray(Charsets.UTF_8))
    }
}
