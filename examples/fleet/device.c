/* A device app wired for the fleet (docs/fleet.md): a runtime over one model, telemetry uploaded
 * by the reference uploader (uploader.c), metrics pushed to a Pushgateway, a baseline frozen once
 * the monitor window has seen normal traffic. It serves the inputs of a file in a loop (one input
 * per line: the text for a text model, comma-separated numbers for a tensor model) and, with
 * --truth, writes what it saw (requests, errors, every latency, the telemetry's counters) as JSON
 * for checking a backend against.
 *
 *   fleet_device --model models/profanity-tfidf --inputs inputs.txt --device-id phone-7 \
 *       --model-name profanity --receiver http://127.0.0.1:8088/v1/batches \
 *       --pushgateway http://127.0.0.1:9091 [--requests 1000] [--interval-us 0] [--window 0]
 *       [--baseline-after 0] [--flush-ms 1000] [--push-ms 15000] [--sample-rate 1]
 *       [--retry-initial-ms 1000] [--retry-max-ms 300000] [--spool file] [--truth truth.json]
 *
 * --spool keeps the telemetry's records and numbering across a restart (and an app kill): without
 * it a restarted device numbers its records from 1 again.
 *
 * Built with -DFLEET_TEST_HOOKS against the library with the test hooks (tests/fleet), it also
 * takes --latency-us A (every request reports A..1.6A, fixed per input line, instead of its
 * measured latency), --slow-after N --slow-factor F (from request N on, F times that), and
 * --drift-inputs FILE --drift-after N (from request N on, serve that file's inputs instead). */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlops_edge.h"
#include "uploader.h"

#ifdef FLEET_TEST_HOOKS
mle_status mle_test_set_model_latency(const struct mle_model *model, uint64_t latency_us);
#endif

struct inputs {
    char **lines;
    size_t count;
};

static int read_inputs(const char *path, struct inputs *out) {
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    memset(out, 0, sizeof *out);
    if (!f) {
        perror(path);
        return -1;
    }
    while ((len = getline(&line, &cap, f)) >= 0) {
        char **grown;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0) continue;
        grown = realloc(out->lines, (out->count + 1) * sizeof *grown);
        if (!grown) break;
        out->lines = grown;
        if (!(out->lines[out->count] = strdup(line))) break;
        out->count++;
    }
    free(line);
    fclose(f);
    if (out->count == 0) {
        fprintf(stderr, "%s: no inputs (one per line)\n", path);
        return -1;
    }
    return 0;
}

static void free_inputs(struct inputs *in) {
    size_t i;
    for (i = 0; i < in->count; i++) free(in->lines[i]);
    free(in->lines);
}

/* Parses "1,2.5,3" into values; returns the count, or 0 when the line is not numbers. */
static size_t parse_floats(const char *line, float *values, size_t cap) {
    size_t n = 0;
    const char *p = line;
    while (*p && n < cap) {
        char *end;
        float v = strtof(p, &end);
        if (end == p) return 0;
        values[n++] = v;
        p = end;
        while (*p == ',' || *p == ' ') p++;
    }
    return *p ? 0 : n;
}

static const char *arg(int argc, char **argv, const char *name, const char *fallback) {
    int i;
    for (i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return fallback;
}

static unsigned long long number(int argc, char **argv, const char *name, unsigned long long fallback) {
    const char *v = arg(argc, argv, name, NULL);
    return v ? strtoull(v, NULL, 10) : fallback;
}

int main(int argc, char **argv) {
    const char *model_dir = arg(argc, argv, "--model", NULL), *inputs_path = arg(argc, argv, "--inputs", NULL);
    const char *truth_path = arg(argc, argv, "--truth", NULL);
    unsigned long long requests = number(argc, argv, "--requests", 1000);
    unsigned long long interval_us = number(argc, argv, "--interval-us", 0);
    unsigned long long baseline_after = number(argc, argv, "--baseline-after", 0);
#ifdef FLEET_TEST_HOOKS
    unsigned long long latency_us = number(argc, argv, "--latency-us", 0);
    unsigned long long slow_after = number(argc, argv, "--slow-after", 0);
    unsigned long long slow_factor = number(argc, argv, "--slow-factor", 1);
    unsigned long long drift_after = number(argc, argv, "--drift-after", 0);
    const char *drift_path = arg(argc, argv, "--drift-inputs", NULL);
    struct inputs drift = {0};
#endif
    fleet_uploader_config uc;
    mle_telemetry_options to;
    mle_monitor_options mo;
    mle_runtime_options ro;
    mle_model_details details;
    mle_telemetry_stats ts;
    fleet_uploader_stats us;
    struct inputs inputs;
    fleet_uploader *uploader = NULL;
    mle_model *model = NULL;
    mle_telemetry *telemetry = NULL;
    mle_runtime *runtime = NULL;
    unsigned long long i, errors = 0, baseline_frozen = 0;
    uint64_t *latencies = NULL, left;
    float probabilities[64], values[4096];
    FILE *truth = NULL;
    int exit_code = 1;

    memset(&uc, 0, sizeof uc);
    uc.receiver_url = arg(argc, argv, "--receiver", NULL);
    uc.pushgateway_url = arg(argc, argv, "--pushgateway", NULL);
    uc.device_id = arg(argc, argv, "--device-id", NULL);
    uc.model_name = arg(argc, argv, "--model-name", NULL);
    uc.flush_interval_ms = (uint32_t)number(argc, argv, "--flush-ms", 1000);
    uc.push_interval_ms = (uint32_t)number(argc, argv, "--push-ms", 15000);
    if (!model_dir || !inputs_path || !uc.receiver_url || !uc.device_id || !uc.model_name) {
        fprintf(stderr, "usage: %s --model DIR --inputs FILE --device-id ID --model-name NAME --receiver URL "
                        "[--pushgateway URL] [--requests N] [--interval-us U] [--window W] [--baseline-after N] "
                        "[--flush-ms MS] [--push-ms MS] [--sample-rate R] [--retry-initial-ms MS] [--retry-max-ms MS] "
                        "[--spool FILE] [--truth FILE]\n", argv[0]);
        return 2;
    }
    if (strpbrk(uc.device_id, "\"\\\r\n") || strpbrk(uc.model_name, "\"\\\r\n")) {
        fprintf(stderr, "--device-id and --model-name: no quotes, backslashes or line breaks (they go into JSON)\n");
        return 2;
    }
    if (mle_abi_check(MLE_ABI_VERSION) != MLE_OK) {
        fprintf(stderr, "%s\n", mle_last_error());
        return 1;
    }
    if (read_inputs(inputs_path, &inputs) != 0) return 1;
#ifdef FLEET_TEST_HOOKS
    if (drift_path && read_inputs(drift_path, &drift) != 0) return 1;
#endif
    curl_global_init(CURL_GLOBAL_DEFAULT);
    latencies = calloc(requests ? requests : 1, sizeof *latencies);
    if (!latencies) goto done;

    if (mle_model_load(model_dir, NULL, &model) != MLE_OK) {
        fprintf(stderr, "%s: %s\n", model_dir, mle_last_error());
        goto done;
    }
    memset(&details, 0, sizeof details);
    details.struct_size = sizeof details;
    if (mle_model_get_details(model, &details) != MLE_OK) goto done;
    if (!(uploader = fleet_uploader_new(&uc))) goto done;

    mle_telemetry_options_init(&to, sizeof to);
    to.device_id = uc.device_id;
    to.upload = fleet_uploader_upload;
    to.userdata = uploader;
    to.request_sample_rate = strtod(arg(argc, argv, "--sample-rate", "1"), NULL);
    to.queue_capacity = 1u << 16;
    to.batch_max_records = 200;
    to.retry_initial_ms = (uint32_t)number(argc, argv, "--retry-initial-ms", 1000);
    to.retry_max_ms = (uint32_t)number(argc, argv, "--retry-max-ms", 300000);
    to.spool_path = arg(argc, argv, "--spool", NULL);
    if (mle_telemetry_new(&to, &telemetry) != MLE_OK) {
        fprintf(stderr, "telemetry: %s\n", mle_last_error());
        goto done;
    }
    mle_monitor_options_init(&mo, sizeof mo);
    mo.window = (uint32_t)number(argc, argv, "--window", mo.window);
    mle_runtime_options_init(&ro, sizeof ro);
    ro.monitor = &mo;
    ro.telemetry = telemetry;
    if (mle_runtime_new(model, &ro, &runtime) != MLE_OK) {
        fprintf(stderr, "runtime: %s\n", mle_last_error());
        goto done;
    }
    if (fleet_uploader_start(uploader, telemetry, runtime) != 0) goto done;

    for (i = 0; i < requests; i++) {
        const struct inputs *source = &inputs;
        size_t index;
        mle_served served;
        size_t written = 0;
        mle_status status;
        char user[32];
#ifdef FLEET_TEST_HOOKS
        if (drift.count && i >= drift_after) source = &drift;
#endif
        index = (size_t)(i % source->count);
#ifdef FLEET_TEST_HOOKS
        if (latency_us) {
            /* Fixed per input line: a window holding each line once has the baseline's latencies. */
            uint64_t us = latency_us + latency_us * (uint64_t)(index % 7) / 10u;
            if (slow_after && i >= slow_after) us *= slow_factor;
            mle_test_set_model_latency(model, us);
        }
#endif
        memset(&served, 0, sizeof served);
        served.struct_size = sizeof served;
        snprintf(user, sizeof user, "user-%zu", index);
        if (details.input_kind == MLE_INPUT_TEXT) {
            const char *text = source->lines[index];
            status = mle_runtime_classify_text(runtime, user, text, strlen(text), &served, probabilities,
                                               sizeof probabilities / sizeof probabilities[0], &written);
        } else if (details.input_kind == MLE_INPUT_TENSOR) {
            size_t n = parse_floats(source->lines[index], values, sizeof values / sizeof values[0]);
            status = mle_runtime_classify_f32(runtime, user, values, n, &served, probabilities,
                                              sizeof probabilities / sizeof probabilities[0], &written);
        } else {
            const char *bytes = source->lines[index];
            status = mle_runtime_classify_bytes(runtime, user, (const uint8_t *)bytes, strlen(bytes), &served,
                                                probabilities, sizeof probabilities / sizeof probabilities[0],
                                                &written);
        }
        if (status != MLE_OK) errors++;
        latencies[i] = served.latency_ns;
        if (baseline_after && i + 1 == baseline_after) {
            if (mle_runtime_freeze_baseline(runtime, MLE_ROLE_VARIANT, 0) == MLE_OK) {
                baseline_frozen = 1;
            } else {
                fprintf(stderr, "%s: baseline not frozen: %s\n", uc.device_id, mle_last_error());
            }
        }
        if (interval_us) {
            struct timespec pause = {(time_t)(interval_us / 1000000u), (long)(interval_us % 1000000u) * 1000L};
            nanosleep(&pause, NULL);
        }
    }
    /* Let the supervisor see the last window before the last push (it evaluates every second). */
    mle_runtime_evaluate(runtime);
    left = fleet_uploader_stop(uploader);

    memset(&ts, 0, sizeof ts);
    ts.struct_size = sizeof ts;
    mle_telemetry_get_stats(telemetry, &ts);
    fleet_uploader_get_stats(uploader, &us);
    fprintf(stderr, "%s: %llu requests, %llu errors; telemetry recorded %llu, sent %llu, dropped %llu+%llu, "
                    "pending %llu; %llu posts (%llu ok, %llu retry, %llu drop, %llu transport errors), %llu pushes\n",
            uc.device_id, requests, errors, (unsigned long long)ts.recorded, (unsigned long long)ts.sent,
            (unsigned long long)ts.dropped_queue_full, (unsigned long long)ts.dropped_by_host,
            (unsigned long long)ts.pending, (unsigned long long)us.posts, (unsigned long long)us.answered_ok,
            (unsigned long long)us.answered_retry, (unsigned long long)us.answered_drop,
            (unsigned long long)us.transport_errors, (unsigned long long)us.pushes);
    if (truth_path) {
        truth = fopen(truth_path, "w");
        if (!truth) {
            perror(truth_path);
            goto done;
        }
        fprintf(truth,
                "{\"device_id\": \"%s\", \"model\": \"%s\", \"model_version\": \"%s\", \"requests\": %llu, "
                "\"errors\": %llu, \"baseline_frozen\": %llu, \"pending_after_drain\": %llu,\n"
                " \"telemetry\": {\"recorded\": %llu, \"sent\": %llu, \"dropped_queue_full\": %llu, "
                "\"dropped_by_host\": %llu, \"pending\": %llu, \"batches_sent\": %llu, \"batches_retried\": %llu, "
                "\"batches_dropped\": %llu},\n"
                " \"uploader\": {\"posts\": %llu, \"ok\": %llu, \"retry\": %llu, \"drop\": %llu, "
                "\"transport_errors\": %llu, \"pushes\": %llu, \"push_failures\": %llu},\n"
                " \"latencies_ns\": [",
                uc.device_id, uc.model_name, details.version ? details.version : "", requests, errors,
                baseline_frozen, (unsigned long long)left, (unsigned long long)ts.recorded,
                (unsigned long long)ts.sent, (unsigned long long)ts.dropped_queue_full,
                (unsigned long long)ts.dropped_by_host, (unsigned long long)ts.pending,
                (unsigned long long)ts.batches_sent, (unsigned long long)ts.batches_retried,
                (unsigned long long)ts.batches_dropped, (unsigned long long)us.posts,
                (unsigned long long)us.answered_ok, (unsigned long long)us.answered_retry,
                (unsigned long long)us.answered_drop, (unsigned long long)us.transport_errors,
                (unsigned long long)us.pushes, (unsigned long long)us.push_failures);
        for (i = 0; i < requests; i++) fprintf(truth, "%s%llu", i ? "," : "", (unsigned long long)latencies[i]);
        fprintf(truth, "]}\n");
        if (fclose(truth) != 0) {
            perror(truth_path);
            goto done;
        }
    }
    exit_code = left == 0 ? 0 : 3;

done:
    /* The uploader's thread uses the runtime and the telemetry: stopped first; freed last, as the
     * telemetry's upload callback points at it until the telemetry is freed. */
    if (uploader) fleet_uploader_stop(uploader);
    mle_runtime_free(runtime);
    mle_telemetry_free(telemetry);
    fleet_uploader_free(uploader);
    mle_model_free(model);
    free(latencies);
    free_inputs(&inputs);
#ifdef FLEET_TEST_HOOKS
    if (drift.count) free_inputs(&drift);
#endif
    curl_global_cleanup();
    return exit_code;
}
