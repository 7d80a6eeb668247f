/* A reference host uploader for libmlops_edge (docs/fleet.md): the host half of the telemetry
 * loop, with libcurl.
 *
 *  - fleet_uploader_upload() is the telemetry's upload callback (mle_telemetry_options.upload,
 *    userdata = the uploader): it POSTs each batch to the receiver with its id (X-Mle-Batch-Id)
 *    and maps the HTTP answer to the library's verdict: 2xx -> MLE_UPLOAD_OK; 400, 413, 422 (the
 *    batch itself can never be stored) -> MLE_UPLOAD_DROP (the library counts its records as
 *    dropped by the host); anything else — 5xx, 408, 429, 401/403/404, a redirect, a timeout, a
 *    refused or failed connection -> MLE_UPLOAD_RETRY (the library keeps the batch and backs
 *    off: a misconfigured URL or credential delays records, it does not lose them).
 *  - fleet_uploader_start() runs a thread that calls mle_telemetry_flush on a timer (sooner when
 *    the library asks for a retry after a backoff) and PUTs the runtime's Prometheus text to a
 *    Pushgateway under the grouping key job="mlops_edge", device=<device id>, model=<model name>.
 *  - fleet_uploader_stop() ends the thread after a last flush (until nothing is pending or the
 *    drain timeout passes) and a last push.
 *
 * One uploader per telemetry. Nothing here is called on a request thread: the request path only
 * records into the library's queue. */
#ifndef FLEET_UPLOADER_H
#define FLEET_UPLOADER_H

#include <stdint.h>

#include "mlops_edge.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fleet_uploader_config {
    /* Where batches are POSTed, e.g. "http://127.0.0.1:8088/v1/batches" (required). */
    const char *receiver_url;
    /* The Pushgateway's base URL, e.g. "http://127.0.0.1:9091"; NULL: no metrics push. */
    const char *pushgateway_url;
    /* Grouping key values (required, not empty; the device id is the telemetry's, UTF-8; both are
     * sent base64url-encoded in the push URL). All strings are copied by fleet_uploader_new. */
    const char *device_id;
    const char *model_name;
    /* Per HTTP request, connection included (default 5000). */
    long timeout_ms;
    /* Flush timer and push timer (defaults 1000 and 15000). */
    uint32_t flush_interval_ms;
    uint32_t push_interval_ms;
    /* fleet_uploader_stop flushes until nothing is pending or this long has passed (default 10000):
     * no upload starts after it, and none runs past it. */
    uint32_t drain_timeout_ms;
} fleet_uploader_config;

/* What the uploader saw, for logs and tests. */
typedef struct fleet_uploader_stats {
    uint64_t posts;           /* batches POSTed */
    uint64_t answered_ok;     /* 2xx */
    uint64_t answered_retry;  /* any other answer: 5xx, 408, 429, 401/403/404, 3xx */
    uint64_t answered_drop;   /* 400, 413, 422 */
    uint64_t transport_errors; /* refused, timed out, reset: retried */
    uint64_t pushes;          /* Pushgateway PUTs answered 2xx */
    uint64_t push_failures;   /* Pushgateway PUTs that failed (pushed again at the next tick) */
    uint64_t flushes;
} fleet_uploader_stats;

typedef struct fleet_uploader fleet_uploader;

/* Returns NULL (with a message on stderr) if the configuration is incomplete or curl cannot start.
 * Call curl_global_init once in the program before. */
fleet_uploader *fleet_uploader_new(const fleet_uploader_config *config);

/* The upload callback for mle_telemetry_options.upload (userdata: the uploader). */
int32_t fleet_uploader_upload(void *userdata, const mle_batch *batch);

/* Starts the flush/push thread over `telemetry` and `runtime` (the runtime may be NULL: no push).
 * Both must outlive fleet_uploader_stop. Returns 0, or -1 if the thread could not start. */
int fleet_uploader_start(fleet_uploader *uploader, const mle_telemetry *telemetry, const mle_runtime *runtime);

/* Stops the thread after a last flush (until nothing is pending, or the drain timeout) and a last
 * push (tried up to three times). Returns the records still pending (0 when everything was
 * delivered or dropped, and when the uploader was not running). */
uint64_t fleet_uploader_stop(fleet_uploader *uploader);

/* Pushes the runtime's metrics now, from the caller's thread (serialized with the uploader's own
 * pushes). Returns 0 on a 2xx, -1 otherwise or without a Pushgateway URL. */
int fleet_uploader_push(fleet_uploader *uploader, const mle_runtime *runtime);

void fleet_uploader_get_stats(fleet_uploader *uploader, fleet_uploader_stats *out);

/* Frees an uploader that is not running (stop it first). NULL is ignored. */
void fleet_uploader_free(fleet_uploader *uploader);

#ifdef __cplusplus
}
#endif

#endif
