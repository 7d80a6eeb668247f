/* The reference host uploader (see uploader.h and docs/fleet.md). */
#define _POSIX_C_SOURCE 200809L
#include "uploader.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fleet_uploader {
    fleet_uploader_config config;  /* its strings point at the copies below */
    char *receiver_url, *push_url, *device_id, *model_name, *pushgateway_url;
    CURL *post, *put;
    char *metrics;          /* the export buffer, grown as the runtime's text grows */
    size_t metrics_cap;
    pthread_t thread;
    int running;
    int stop_requested;
    pthread_mutex_t lock;   /* stop_requested, stats */
    pthread_mutex_t push_lock; /* put, metrics: a push from the app's thread and the timer's */
    uint64_t drain_deadline_ms; /* during fleet_uploader_stop's drain: uploads after it are RETRY */
    uint64_t last_pending;
    pthread_cond_t wake;
    const mle_telemetry *telemetry;
    const mle_runtime *runtime;
    fleet_uploader_stats stats;
};

static uint64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* base64url without padding: the Pushgateway's "<label>@base64/<value>" path form takes any bytes
 * (a device id with '/' or spaces included). */
static char *base64url(const char *s) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(s), i, o = 0;
    char *out = malloc(4 * (n / 3 + 1) + 1);
    if (!out) return NULL;
    for (i = 0; i + 2 < n; i += 3) {
        unsigned v = ((unsigned char)s[i] << 16) | ((unsigned char)s[i + 1] << 8) | (unsigned char)s[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned char)s[i] << 16;
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
    } else if (n - i == 2) {
        unsigned v = ((unsigned char)s[i] << 16) | ((unsigned char)s[i + 1] << 8);
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
    }
    out[o] = '\0';
    return out;
}

static size_t discard(char *data, size_t size, size_t count, void *userdata) {
    (void)data;
    (void)userdata;
    return size * count;
}

fleet_uploader *fleet_uploader_new(const fleet_uploader_config *config) {
    fleet_uploader *u;
    if (!config || !config->receiver_url || !config->device_id || !config->model_name || !config->device_id[0] ||
        !config->model_name[0]) {
        fprintf(stderr, "fleet_uploader_new: receiver_url, device_id and model_name (not empty) are required\n");
        return NULL;
    }
    u = calloc(1, sizeof *u);
    if (!u) return NULL;
    u->config = *config;
    /* The caller's strings are copied: they need not outlive this call. */
    u->device_id = strdup(config->device_id);
    u->model_name = strdup(config->model_name);
    u->pushgateway_url = config->pushgateway_url ? strdup(config->pushgateway_url) : NULL;
    u->config.device_id = u->device_id;
    u->config.model_name = u->model_name;
    u->config.pushgateway_url = u->pushgateway_url;
    if (u->config.timeout_ms <= 0) u->config.timeout_ms = 5000;
    if (!u->config.flush_interval_ms) u->config.flush_interval_ms = 1000;
    if (!u->config.push_interval_ms) u->config.push_interval_ms = 15000;
    if (!u->config.drain_timeout_ms) u->config.drain_timeout_ms = 10000;
    u->receiver_url = strdup(config->receiver_url);
    if (config->pushgateway_url) {
        char *device = base64url(config->device_id), *model = base64url(config->model_name);
        size_t len = strlen(config->pushgateway_url) + (device ? strlen(device) : 0) + (model ? strlen(model) : 0) + 64;
        u->push_url = malloc(len);
        if (device && model && u->push_url) {
            /* An empty base64 value is "=" in the Pushgateway's path syntax; ids are never empty. */
            snprintf(u->push_url, len, "%s/metrics/job/mlops_edge/device@base64/%s/model@base64/%s",
                     config->pushgateway_url, device, model);
        } else {
            free(u->push_url);
            u->push_url = NULL; /* refused below */
        }
        free(device);
        free(model);
    }
    u->post = curl_easy_init();
    u->put = curl_easy_init();
    pthread_mutex_init(&u->lock, NULL);
    pthread_mutex_init(&u->push_lock, NULL);
    {
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&u->wake, &attr);
        pthread_condattr_destroy(&attr);
    }
    if (!u->receiver_url || !u->device_id || !u->model_name || !u->post || !u->put ||
        (config->pushgateway_url && (!u->pushgateway_url || !u->push_url))) {
        fprintf(stderr, "fleet_uploader_new: out of memory or curl_easy_init failed\n");
        fleet_uploader_free(u);
        return NULL;
    }
    return u;
}

static void count(fleet_uploader *u, uint64_t *field) {
    pthread_mutex_lock(&u->lock);
    (*field)++;
    pthread_mutex_unlock(&u->lock);
}

/* The verdict for an HTTP status: only an answer saying the batch itself can never be taken
 * drops it. Anything else that is not 2xx (5xx, 408, 429, a redirect curl does not follow, 401/403
 * for a missing credential, 404 for a wrong URL) is the network's or the host's configuration
 * problem: retried, so the records wait instead of being lost, and MleUploadsFailing says why. */
static int32_t verdict(long code) {
    if (code >= 200 && code < 300) return MLE_UPLOAD_OK;
    if (code == 400 || code == 413 || code == 422) return MLE_UPLOAD_DROP;
    return MLE_UPLOAD_RETRY;
}

int32_t fleet_uploader_upload(void *userdata, const mle_batch *batch) {
    fleet_uploader *u = userdata;
    struct curl_slist *headers = NULL, *more;
    char id_header[64];
    long code = 0, timeout_ms;
    int32_t result;
    CURLcode rc;

    if (!u || !batch) return MLE_UPLOAD_RETRY;
    timeout_ms = u->config.timeout_ms;
    if (u->drain_deadline_ms) {
        /* fleet_uploader_stop's drain: nothing may start after its deadline, nor run past it. */
        uint64_t now = now_ms();
        if (now >= u->drain_deadline_ms) return MLE_UPLOAD_RETRY;
        if ((uint64_t)timeout_ms > u->drain_deadline_ms - now) timeout_ms = (long)(u->drain_deadline_ms - now);
    }
    snprintf(id_header, sizeof id_header, "X-Mle-Batch-Id: %llu", (unsigned long long)batch->id);
    headers = curl_slist_append(headers, "Content-Type: application/x-ndjson");
    more = headers ? curl_slist_append(headers, id_header) : NULL;
    if (!more) {
        curl_slist_free_all(headers);
        return MLE_UPLOAD_RETRY; /* out of memory: try again later */
    }
    headers = more;
    curl_easy_reset(u->post);
    curl_easy_setopt(u->post, CURLOPT_URL, u->receiver_url);
    curl_easy_setopt(u->post, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(u->post, CURLOPT_POSTFIELDS, (const char *)batch->data);
    curl_easy_setopt(u->post, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)batch->len);
    curl_easy_setopt(u->post, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(u->post, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(u->post, CURLOPT_WRITEFUNCTION, discard);
    rc = curl_easy_perform(u->post);
    curl_slist_free_all(headers);
    count(u, &u->stats.posts);
    if (rc != CURLE_OK) {
        /* Refused, unreachable, timed out, reset: the network or the receiver is down. */
        count(u, &u->stats.transport_errors);
        return MLE_UPLOAD_RETRY;
    }
    curl_easy_getinfo(u->post, CURLINFO_RESPONSE_CODE, &code);
    result = verdict(code);
    count(u, result == MLE_UPLOAD_OK ? &u->stats.answered_ok
             : result == MLE_UPLOAD_DROP ? &u->stats.answered_drop : &u->stats.answered_retry);
    return result;
}

static int push_locked(fleet_uploader *u, const mle_runtime *runtime);

int fleet_uploader_push(fleet_uploader *u, const mle_runtime *runtime) {
    int result;
    if (!u || !u->push_url || !runtime) return -1;
    pthread_mutex_lock(&u->push_lock);
    result = push_locked(u, runtime);
    pthread_mutex_unlock(&u->push_lock);
    return result;
}

static int push_locked(fleet_uploader *u, const mle_runtime *runtime) {
    size_t len = 0;
    long code = 0;
    mle_status status;
    struct curl_slist *headers = NULL;
    CURLcode rc;

    status = mle_runtime_export_metrics(runtime, MLE_METRICS_PROMETHEUS, u->metrics, u->metrics_cap, &len);
    if (status == MLE_ERR_BUFFER_TOO_SMALL) {
        /* The text grows with what the runtime holds (a rollout adds a model): headroom. */
        size_t cap = len + len / 2 + 4096;
        char *grown = realloc(u->metrics, cap);
        if (!grown) return -1;
        u->metrics = grown;
        u->metrics_cap = cap;
        status = mle_runtime_export_metrics(runtime, MLE_METRICS_PROMETHEUS, u->metrics, u->metrics_cap, &len);
    }
    if (status != MLE_OK) {
        fprintf(stderr, "fleet uploader: export failed: %s\n", mle_last_error());
        count(u, &u->stats.push_failures);
        return -1;
    }
    headers = curl_slist_append(headers, "Content-Type: text/plain; version=0.0.4");
    if (!headers) {
        count(u, &u->stats.push_failures);
        return -1;
    }
    curl_easy_reset(u->put);
    curl_easy_setopt(u->put, CURLOPT_URL, u->push_url);
    /* PUT replaces every metric of this device's group (POST would keep series that are gone). */
    curl_easy_setopt(u->put, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(u->put, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(u->put, CURLOPT_POSTFIELDS, u->metrics);
    curl_easy_setopt(u->put, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(u->put, CURLOPT_TIMEOUT_MS, u->config.timeout_ms);
    curl_easy_setopt(u->put, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(u->put, CURLOPT_WRITEFUNCTION, discard);
    rc = curl_easy_perform(u->put);
    curl_slist_free_all(headers);
    if (rc == CURLE_OK) curl_easy_getinfo(u->put, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK || code < 200 || code >= 300) {
        count(u, &u->stats.push_failures);
        return -1;
    }
    count(u, &u->stats.pushes);
    return 0;
}

/* One flush; returns the milliseconds the library asks to wait before the next (0: no wish). */
static uint64_t flush_once(fleet_uploader *u, uint64_t *pending) {
    mle_flush_report report;
    memset(&report, 0, sizeof report);
    report.struct_size = sizeof report;
    count(u, &u->stats.flushes);
    if (mle_telemetry_flush(u->telemetry, &report) != MLE_OK) {
        /* MLE_ERR_BUSY: the app flushed at the same moment (its count stands); anything else is
         * in mle_last_error. */
        *pending = u->last_pending ? u->last_pending : 1;
        return 0;
    }
    *pending = u->last_pending = report.pending;
    return report.backing_off ? report.retry_after_ms : 0;
}

static void *run(void *arg) {
    fleet_uploader *u = arg;
    uint64_t next_push = now_ms();
    for (;;) {
        uint64_t pending = 0, wait_ms, retry_ms, now;
        struct timespec until;
        retry_ms = flush_once(u, &pending);
        now = now_ms();
        if (u->push_url && u->runtime && now >= next_push) {
            fleet_uploader_push(u, u->runtime);
            next_push = now + u->config.push_interval_ms;
        }
        wait_ms = u->config.flush_interval_ms;
        /* A batch in backoff: come back when it may be offered again, not later than the timer. */
        if (retry_ms && retry_ms < wait_ms) wait_ms = retry_ms;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += (time_t)(wait_ms / 1000);
        until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&u->lock);
        while (!u->stop_requested) {
            if (pthread_cond_timedwait(&u->wake, &u->lock, &until) == ETIMEDOUT) break;
        }
        if (u->stop_requested) {
            pthread_mutex_unlock(&u->lock);
            return NULL;
        }
        pthread_mutex_unlock(&u->lock);
    }
}

int fleet_uploader_start(fleet_uploader *u, const mle_telemetry *telemetry, const mle_runtime *runtime) {
    if (!u || !telemetry || u->running) return -1;
    u->telemetry = telemetry;
    u->runtime = runtime;
    u->stop_requested = 0;
    if (pthread_create(&u->thread, NULL, run, u) != 0) return -1;
    u->running = 1;
    return 0;
}

uint64_t fleet_uploader_stop(fleet_uploader *u) {
    uint64_t pending = 0, deadline;
    if (!u || !u->running) return 0;
    pthread_mutex_lock(&u->lock);
    u->stop_requested = 1;
    pthread_cond_signal(&u->wake);
    pthread_mutex_unlock(&u->lock);
    pthread_join(u->thread, NULL);
    u->running = 0;
    /* Drain: flush until nothing is pending, waiting out backoffs, within the drain timeout (the
     * upload callback refuses to start or outlast it). */
    deadline = now_ms() + u->config.drain_timeout_ms;
    u->drain_deadline_ms = deadline;
    for (;;) {
        uint64_t retry_ms = flush_once(u, &pending), now = now_ms();
        struct timespec pause;
        if (pending == 0 || now >= deadline) break;
        if (!retry_ms) retry_ms = 10;
        if (now + retry_ms > deadline) retry_ms = deadline - now;
        pause.tv_sec = (time_t)(retry_ms / 1000);
        pause.tv_nsec = (long)(retry_ms % 1000) * 1000000L;
        nanosleep(&pause, NULL);
    }
    u->drain_deadline_ms = 0;
    /* The last push carries the final counts: worth a second and third try. */
    if (u->push_url && u->runtime) {
        int attempt;
        for (attempt = 0; attempt < 3 && fleet_uploader_push(u, u->runtime) != 0; attempt++) {
            struct timespec pause = {0, 100000000L};
            nanosleep(&pause, NULL);
        }
    }
    return pending;
}

void fleet_uploader_get_stats(fleet_uploader *u, fleet_uploader_stats *out) {
    if (!u || !out) return;
    pthread_mutex_lock(&u->lock);
    *out = u->stats;
    pthread_mutex_unlock(&u->lock);
}

void fleet_uploader_free(fleet_uploader *u) {
    if (!u) return;
    if (u->running) fleet_uploader_stop(u);
    if (u->post) curl_easy_cleanup(u->post);
    if (u->put) curl_easy_cleanup(u->put);
    pthread_mutex_destroy(&u->lock);
    pthread_mutex_destroy(&u->push_lock);
    pthread_cond_destroy(&u->wake);
    free(u->receiver_url);
    free(u->device_id);
    free(u->model_name);
    free(u->pushgateway_url);
    free(u->push_url);
    free(u->metrics);
    free(u);
}
