/* Checks the Swift package's module map with clang (no Swift toolchain here): the module
 * CMlopsEdge builds from the header, and every C function, struct, field, constant and callback
 * type the Swift layer (Sources/MlopsEdge/MlopsEdge.swift) uses resolves through it with the
 * argument types and the struct_size idioms the Swift code uses. Each function below mirrors one
 * part of the Swift file; run.sh checks mechanically that every mle_ name and every snake_case
 * field the Swift file names appears here, links this file against the library, and never runs
 * it (the handles are NULL: it is a compile-and-link check). */
@import CMlopsEdge;
#include <string.h>

/* SizedStruct.sized(): zeroed, struct_size = sizeof. Swift's MemoryLayout<T>.size of an imported C
 * struct is this sizeof. */
#define SIZED(type, name) \
    type name;            \
    memset(&name, 0, sizeof name); \
    name.struct_size = (uint32_t)sizeof name

/* An output array's stride is element 0's struct_size; Swift arrays of C structs are laid out with
 * MemoryLayout<T>.stride, equal to sizeof for a C struct (always a multiple of its alignment). */
_Static_assert(sizeof(mle_loaded_model) % _Alignof(mle_loaded_model) == 0, "stride == sizeof");
/* The Swift layer reads MLE_TIME_UNKNOWN as Int64.min (the macro is not importable). */
_Static_assert(MLE_TIME_UNKNOWN == INT64_MIN, "MLE_TIME_UNKNOWN is INT64_MIN");

/* UploadResult's raw values (Swift enum raw values must be literals). */
_Static_assert(MLE_UPLOAD_OK == 0 && MLE_UPLOAD_RETRY == 1 && MLE_UPLOAD_DROP == 2, "UploadResult raw values");

/* received(): a struct handed to a callback copied into this header's layout, at most the
 * library's struct_size bytes. */
static void received(void *dst, const void *src, size_t our_size) {
    uint32_t library_size;
    memcpy(&library_size, src, sizeof library_size);
    memset(dst, 0, our_size);
    memcpy(dst, src, library_size < our_size ? library_size : our_size);
}

/* The free_userdata of every boxed closure (releaseBox). */
static void release_box(void *userdata) { (void)userdata; }

/* Status, constants (the Status, PredictionFlag, InputKind, Level, Role, MetricsFormat,
 * AssignScheme, PoolMode and LogLevel namespaces) and the ABI check. */
static int32_t errors_and_constants(void) {
    int32_t statuses[] = {MLE_OK, MLE_ERR_INVALID_ARGUMENT, MLE_ERR_INVALID_UTF8, MLE_ERR_BUFFER_TOO_SMALL,
                          MLE_ERR_IO, MLE_ERR_MODEL_INVALID, MLE_ERR_MODEL_UNSUPPORTED, MLE_ERR_MODEL_CARD,
                          MLE_ERR_TOKENIZER, MLE_ERR_WRONG_INPUT_KIND, MLE_ERR_INPUT_SHAPE, MLE_ERR_INPUT_NOT_FINITE,
                          MLE_ERR_INFERENCE, MLE_ERR_POOL_EXHAUSTED, MLE_ERR_PANIC, MLE_ERR_OUTPUT_NOT_FINITE,
                          MLE_ERR_INSUFFICIENT_DATA, MLE_ERR_INVALID_STATE, MLE_ERR_LIMIT_REACHED, MLE_ERR_BUSY,
                          MLE_ERR_SHUTTING_DOWN, MLE_ERR_SELF_TEST_FAILED, MLE_ERR_SESSION_BUSY,
                          MLE_ERR_ABI_MISMATCH, MLE_ERR_MODEL_LIMIT, MLE_ERR_SPOOL_LOCKED,
                          MLE_ERR_PACKAGE_INVALID, MLE_ERR_PACKAGE_UNSIGNED, MLE_ERR_PACKAGE_UNTRUSTED_KEY,
                          MLE_ERR_PACKAGE_BAD_SIGNATURE, MLE_ERR_PACKAGE_TAMPERED, MLE_ERR_PACKAGE_FILES_MISMATCH,
                          MLE_ERR_PACKAGE_OUTDATED};
    uint32_t flags[] = {MLE_FLAG_TRUNCATED, MLE_FLAG_EMPTY_INPUT, MLE_FLAG_UNPOOLED, MLE_FLAG_LABEL_TRUNCATED};
    int32_t constants[] = {MLE_INPUT_TEXT, MLE_INPUT_TENSOR, MLE_INPUT_BYTES, MLE_LEVEL_OK, MLE_LEVEL_WARNING,
                           MLE_LEVEL_CRITICAL, MLE_ROLE_VARIANT, MLE_ROLE_CANDIDATE, MLE_ROLE_SHADOW,
                           MLE_METRICS_PROMETHEUS, MLE_METRICS_OPENMETRICS, MLE_METRICS_OTLP_JSON, MLE_ASSIGN_MD5,
                           MLE_ASSIGN_GROWTHBOOK_V1, MLE_ASSIGN_GROWTHBOOK_V2, MLE_POOL_AUTO, MLE_POOL_OFF,
                           MLE_POOL_FIXED, MLE_LOG_OFF, MLE_LOG_ERROR, MLE_LOG_WARN, MLE_LOG_INFO, MLE_LOG_DEBUG,
                           MLE_LOG_TRACE, MLE_MAX_FEATURES, MLE_MAX_STAGES};
    /* requireAbi(): the shim's constant is the header's MLE_ABI_VERSION. */
    uint32_t abi = CMLE_ABI_VERSION;
    mle_status status = mle_abi_check(abi);
    const char *message = status == MLE_OK ? "" : mle_last_error();
    const char *described = mle_status_str(status);
    return status + statuses[0] + (int32_t)flags[0] + constants[0] + (message[0] != 0) + (described[0] != 0);
}

/* Mle: version, abiVersion, abAssign, testSignificance, setLogHandler. */
static void on_log(void *userdata, int32_t level, const char *target, const char *message) {
    (void)userdata;
    (void)level;
    (void)target;
    (void)message;
}

static mle_status library_calls(void) {
    const char *version = mle_version();
    uint32_t abi = mle_abi_version();
    double weights[2] = {0.5, 0.5};
    size_t variant = 0;
    mle_status status = mle_ab_assign("exp", "user", weights, 2, MLE_ASSIGN_MD5, &variant);
    SIZED(mle_significance_result, r);
    status |= mle_ab_test_significance(10, 100, 12, 100, 0.95, &r);
    double sum = r.control_rate + r.treatment_rate + r.p_value + r.z_score + r.lift + r.lift_percent +
                 r.significant + r.ci_lower + r.ci_upper;
    mle_log_callback trampoline = on_log;
    mle_free_userdata release = release_box;
    status |= mle_log_set_callback(MLE_LOG_OFF, NULL, NULL, NULL);
    status |= mle_log_set_callback(MLE_LOG_INFO, trampoline, &variant, release);
    return status + (int32_t)sum + (int32_t)abi + version[0];
}

/* ModelOptions.withCStruct, ModelDetails, Model. */
static mle_status model_calls(mle_model **model) {
    mle_model_options o;
    mle_status status = mle_model_options_init(&o, sizeof o);
    uint32_t buckets[2] = {16, 32};
    o.max_sequence_length = 64;
    o.threads = 1;
    o.max_batch = 8;
    o.max_text_bytes = 4096;
    o.max_model_bytes = 1u << 20;
    o.plan_per_bucket = 1;
    o.sequence_buckets = buckets;
    o.sequence_bucket_count = 2;
    static const uint8_t keys[32] = {0};
    o.trusted_keys = keys;
    o.trusted_key_count = 1;
    o.min_package_version = 3;
    o.max_nodes = 1000;
    o.max_graph_depth = 100;
    o.max_tensor_elements = 1u << 20;
    o.max_initializer_bytes = 1u << 20;
    status |= mle_model_load("m", &o, model);
    status |= mle_model_load("m", NULL, model);
    mle_model_details d = {.struct_size = sizeof d};
    status |= mle_model_get_details(*model, &d);
    double sum = d.input_kind + (d.name[0] + d.version[0] + d.trained_at[0] + d.description[0] + d.metrics_json[0]) +
                 (double)d.trained_at_unix + d.label_count + d.max_input_length + d.plan_count +
                 d.input_element_type + d.handles_missing_values + MLE_ELEMENT_FLOAT64 + d.from_package +
                 (double)d.package_version + d.signed_package + d.signer_public_key[0];
    const char *label = NULL;
    status |= mle_model_get_label(*model, 0, &label);
    mle_model_free(*model);
    return status + (int32_t)sum;
}

/* Session: new with options, the three classify calls (out before the probabilities buffer),
 * stats, attach, detach. */
static mle_status session_calls(const mle_model *model, const mle_monitor *monitor) {
    mle_session *session = NULL;
    mle_session_options o;
    mle_status status = mle_session_options_init(&o, sizeof o);
    o.pool_mode = MLE_POOL_AUTO;
    o.pool_bytes = 0;
    status |= mle_session_new(model, &o, &session);
    SIZED(mle_prediction, p);
    float probs[4];
    size_t n = 0;
    float features[2] = {0, 1};
    uint8_t bytes[1] = {0};
    status |= mle_session_classify_text(session, "x", 1, &p, probs, 4, &n);
    status |= mle_session_classify_f32(session, features, 2, &p, probs, 4, &n);
    status |= mle_session_classify_bytes(session, bytes, 1, &p, probs, 4, &n);
    double sum = p.label_index + (p.label != NULL) + p.score + p.flags + p.input_length + (double)p.latency_ns;
    mle_session_stats s = {.struct_size = sizeof s};
    status |= mle_session_get_stats(session, &s);
    sum += (double)(s.requests + s.errors + s.last_request_system_calls + s.pool_capacity + s.pool_used + s.pool_peak +
                    s.pool_overflows);
    status |= mle_session_attach_monitor(session, monitor);
    status |= mle_session_detach_monitor(session);
    mle_session_free(session);
    return status + (int32_t)sum;
}

/* Snapshot.init: every field the Swift layer reads. */
static double read_snapshot(const mle_snapshot *s) {
    const mle_drift *d = &s->drift_latency;
    const mle_label_drift *l = &s->drift_labels;
    const mle_alert *a = &s->alerts[0];
    const mle_version_counts *v = &s->versions[0];
    return (double)(s->processed + s->dropped + s->pending + s->window_count + s->window_errors) + s->error_rate +
           s->latency_p50_us + s->latency_p95_us + s->latency_p99_us + s->confidence_mean + s->has_baseline +
           s->degradation_tested + s->level + d->tested + d->drifted + d->statistic + d->p_value +
           s->drift_confidence.p_value + s->drift_input_length.p_value + s->drift_features[0].p_value +
           s->feature_count + l->tested + l->drifted + l->statistic + l->p_value + s->alert_count + a->metric +
           a->level + a->feature + a->current + a->baseline + a->change_pct + s->version_count + v->version[0] +
           (double)(v->ok + v->errors);
}

/* Monitor: MonitorOptions.cStruct, Thresholds, snapshot, drain, baseline, thresholds, the level
 * handler, export. */
static void on_level(void *userdata, int32_t previous, int32_t current, const mle_snapshot *snapshot) {
    mle_snapshot copy;
    received(&copy, snapshot, sizeof copy);
    (void)userdata;
    (void)previous;
    (void)current;
    (void)read_snapshot(&copy);
}

static mle_status monitor_calls(mle_monitor **monitor, const mle_telemetry *telemetry) {
    mle_monitor_options o;
    mle_status status = mle_monitor_options_init(&o, sizeof o);
    o.window = 1024;
    o.ring_capacity = 1024;
    o.max_sessions = 16;
    o.label_count = 2;
    o.feature_count = 1;
    o.feature_indices[0] = 3;
    status |= mle_monitor_new(&o, monitor);
    mle_snapshot s = {.struct_size = sizeof s};
    status |= mle_monitor_snapshot(*monitor, &s, NULL, 0, NULL);
    double sum = read_snapshot(&s);
    size_t moved = 0;
    status |= mle_monitor_drain(*monitor, &moved);
    status |= mle_monitor_freeze_baseline(*monitor);
    status |= mle_monitor_clear_baseline(*monitor);
    status |= mle_monitor_reset_window(*monitor);
    mle_monitor_thresholds t;
    status |= mle_monitor_thresholds_init(&t, sizeof t);
    t.drift_level = MLE_LEVEL_WARNING;
    t.latency_p95_warning = 0.5;
    t.latency_p95_critical = 1.0;
    t.confidence_drop_warning = 0.1;
    t.confidence_drop_critical = 0.2;
    t.error_rate_warning = 0.05;
    t.error_rate_critical = 0.2;
    t.drift_p_value = 0.05;
    t.label_drift_p_value = 0.05;
    t.min_drift_samples = 30;
    t.min_alert_samples = 30;
    status |= mle_monitor_set_thresholds(*monitor, &t);
    SIZED(mle_monitor_thresholds, current);
    status |= mle_monitor_get_thresholds(*monitor, &current);
    mle_level_callback trampoline = on_level;
    status |= mle_monitor_set_level_callback(*monitor, NULL, NULL, NULL);
    status |= mle_monitor_set_level_callback(*monitor, trampoline, &moved, release_box);
    char buffer[16];
    size_t length = 0;
    status |= mle_monitor_export_metrics(*monitor, "1.0", telemetry, MLE_METRICS_PROMETHEUS, NULL, 0, &length);
    status |= mle_monitor_export_metrics(*monitor, "1.0", NULL, MLE_METRICS_OPENMETRICS, buffer, sizeof buffer, &length);
    return status + (int32_t)sum;
}

/* Telemetry: options (numbers, then the strings inside withCString), the upload and ready
 * trampolines, new, flush, persist, stats, free. */
static int32_t on_upload(void *userdata, const mle_batch *batch) {
    mle_batch b;
    received(&b, batch, sizeof b);
    (void)userdata;
    return b.data != NULL && b.len > 0 && b.id > 0 && b.attempt > 0 ? MLE_UPLOAD_OK : MLE_UPLOAD_RETRY;
}

static void on_ready(void *userdata, uint64_t waiting) {
    (void)userdata;
    (void)waiting;
}

static mle_status telemetry_calls(mle_telemetry **telemetry) {
    mle_telemetry_options o;
    mle_status status = mle_telemetry_options_init(&o, sizeof o);
    o.queue_capacity = 4096;
    o.request_sample_rate = 1.0;
    o.batch_max_records = 500;
    o.batch_max_bytes = 262144;
    o.retry_initial_ms = 1000;
    o.retry_max_ms = 300000;
    o.spool_max_bytes = 1u << 22;
    o.spool_sync = 0;
    o.spool_path = "spool";
    o.device_id = "device";
    o.upload = on_upload;
    o.ready = on_ready;
    o.userdata = &o;
    o.free_userdata = release_box;
    status |= mle_telemetry_new(&o, telemetry);
    mle_flush_report r = {.struct_size = sizeof r};
    status |= mle_telemetry_flush(*telemetry, &r);
    double sum = (double)(r.batches_sent + r.batches_dropped + r.retried + r.backing_off + r.retry_after_ms + r.pending);
    status |= mle_telemetry_persist(*telemetry);
    SIZED(mle_telemetry_stats, s);
    status |= mle_telemetry_get_stats(*telemetry, &s);
    sum += (double)(s.recorded + s.sampled_out + s.sent + s.retried + s.dropped_queue_full + s.dropped_by_host +
                    s.pending + s.recovered + s.spool_bytes + s.spool_errors + s.spool_torn_bytes) +
           s.last_spool_error[0];
    /* ABI 1.1: what the spool lost at creation. */
    sum += (double)(s.spool_corrupt_bytes + s.spool_corrupt_regions) + (s.spool_truncated != 0);
    return status + (int32_t)sum;
}

/* Runtime: options with the monitor template and thresholds as pointers, classify (user id,
 * input, out, no probabilities), experiment with a scheme, events, the hook, swap (handle and
 * path with model options), the input schema change and max labels (ABI 1.1), rollout,
 * outcomes, shadow, significance, stats, snapshots, health with its models array, export,
 * shutdown with the final snapshots. */
static void on_event(void *userdata, const mle_event *event) {
    mle_event e;
    received(&e, event, sizeof e);
    (void)userdata;
    (void)(e.kind + e.variant + e.from_version[0] + e.to_version[0] + e.stage_percent + e.level + e.message[0]);
}

static int64_t on_assign(void *userdata, const char *experiment, size_t experiment_len, const char *user_id,
                         size_t user_id_len) {
    (void)userdata;
    return (int64_t)(experiment_len + user_id_len) + experiment[0] + user_id[0];
}

static void on_final(void *userdata, int32_t role, size_t variant, const char *version, const mle_snapshot *snapshot) {
    mle_snapshot copy;
    received(&copy, snapshot, sizeof copy);
    (void)userdata;
    (void)(role + variant + version[0] + read_snapshot(&copy));
}

static mle_status runtime_calls(const mle_model *model, const mle_telemetry *telemetry) {
    mle_runtime_options o;
    mle_status status = mle_runtime_options_init(&o, sizeof o);
    o.max_concurrency = 4;
    o.busy_wait_ms = 50;
    o.pool_mode = MLE_POOL_FIXED;
    o.pool_bytes = 1u << 20;
    o.shadow_queue_capacity = 64;
    o.shadow_max_input_bytes = 16384;
    o.evaluation_interval_ms = 1000;
    o.staleness_warning_days = 30;
    o.staleness_critical_days = 60;
    o.supervisor_thread = 1;
    o.telemetry = telemetry;
    static const uint8_t runtime_keys[32] = {0};
    o.trusted_keys = runtime_keys;
    o.trusted_key_count = 1;
    o.min_package_version = 3;
    mle_monitor_options monitor;
    status |= mle_monitor_options_init(&monitor, sizeof monitor);
    mle_monitor_thresholds thresholds;
    status |= mle_monitor_thresholds_init(&thresholds, sizeof thresholds);
    o.monitor = &monitor;
    o.thresholds = &thresholds;
    mle_runtime *runtime = NULL;
    status |= mle_runtime_new(model, &o, &runtime);

    SIZED(mle_served, s);
    float features[2] = {0, 1};
    uint8_t bytes[1] = {0};
    status |= mle_runtime_classify_text(runtime, "u", "x", 1, &s, NULL, 0, NULL);
    status |= mle_runtime_classify_f32(runtime, "u", features, 2, &s, NULL, 0, NULL);
    status |= mle_runtime_classify_bytes(runtime, "u", bytes, 1, &s, NULL, 0, NULL);
    double sum = s.variant + s.candidate + s.label_index + s.label[0] + s.score + s.flags + s.input_length +
                 (double)s.latency_ns + s.version[0];

    /* An input array: struct_size in every element. */
    mle_variant variants[2];
    for (int i = 0; i < 2; i++) {
        memset(&variants[i], 0, sizeof variants[i]);
        variants[i].struct_size = sizeof variants[i];
        variants[i].name = i == 0 ? "control" : "treatment";
        variants[i].model = model;
        variants[i].weight = 0.5;
    }
    status |= mle_runtime_set_experiment(runtime, "exp", variants, 2, MLE_ASSIGN_GROWTHBOOK_V2);

    mle_event_callback event_trampoline = on_event;
    status |= mle_runtime_set_event_callback(runtime, NULL, NULL, NULL);
    status |= mle_runtime_set_event_callback(runtime, event_trampoline, &o, release_box);
    mle_assignment_hook hook_trampoline = on_assign;
    status |= mle_runtime_set_assignment_hook(runtime, NULL, NULL, NULL);
    status |= mle_runtime_set_assignment_hook(runtime, hook_trampoline, &o, release_box);

    status |= mle_runtime_swap(runtime, 0, model, NULL, 0);
    mle_model_options model_options;
    status |= mle_model_options_init(&model_options, sizeof model_options);
    model_options.max_model_bytes = 1u << 20;
    status |= mle_runtime_swap_path(runtime, 0, "m", &model_options, NULL, 0);
    status |= mle_runtime_swap_path(runtime, 0, "m", NULL, NULL, 0);
    /* ABI 1.1: the deliberate schema change (the card's self-test cases) and the label bound. */
    status |= mle_runtime_change_input_schema(runtime, model, NULL, 0);
    size_t max_labels = 0;
    status |= mle_runtime_get_max_labels(runtime, &max_labels);
    sum += (double)max_labels;

    mle_rollout_options rollout;
    status |= mle_rollout_options_init(&rollout, sizeof rollout);
    rollout.stage_count = 2;
    rollout.stages_percent[0] = 50;
    rollout.stages_percent[1] = 100;
    rollout.requests_per_stage = 10;
    rollout.auto_promote = 0;
    status |= mle_runtime_start_rollout(runtime, 0, model, &rollout, NULL, 0);
    status |= mle_runtime_promote(runtime);
    status |= mle_runtime_rollback(runtime, 0);
    status |= mle_runtime_record_outcome(runtime, 0, 1);

    status |= mle_runtime_set_shadow(runtime, model, 0.1);
    mle_shadow_report shadow = {.struct_size = sizeof shadow};
    status |= mle_runtime_get_shadow_report(runtime, &shadow);
    sum += shadow.version[0] + shadow.fraction + shadow.agreement_rate + shadow.latency_p95_us +
           (double)(shadow.sampled + shadow.compared + shadow.agreed + shadow.shadow_errors +
                    shadow.production_errors + shadow.skipped_queue_full + shadow.skipped_too_large +
                    shadow.pending + shadow.discarded);
    status |= mle_runtime_clear_shadow(runtime);

    SIZED(mle_significance_result, significance);
    status |= mle_runtime_test_significance(runtime, 0, 1, 0.95, &significance);
    sum += significance.p_value;
    mle_variant_stats v = {.struct_size = sizeof v};
    status |= mle_runtime_get_variant_stats(runtime, 0, &v);
    sum += v.name[0] + v.version[0] + v.weight +
           (double)(v.requests + v.errors + v.candidate_requests + v.conversions + v.outcomes);
    SIZED(mle_snapshot, snapshot);
    status |= mle_runtime_snapshot(runtime, MLE_ROLE_VARIANT, 0, &snapshot, NULL, 0, NULL);
    sum += read_snapshot(&snapshot);
    status |= mle_runtime_freeze_baseline(runtime, MLE_ROLE_VARIANT, 0);
    status |= mle_runtime_evaluate(runtime);

    /* Health: first the count (no array), then an output array sized from model_count. */
    mle_health h = {.struct_size = sizeof h};
    status |= mle_runtime_get_health(runtime, &h, NULL, 0);
    mle_loaded_model models[4];
    for (int i = 0; i < 4; i++) models[i] = (mle_loaded_model){.struct_size = sizeof models[0]};
    status |= mle_runtime_get_health(runtime, &h, models, h.model_count < 4 ? h.model_count : 4);
    sum += h.state + h.level + h.rollout_active + h.rollout_percent + h.last_error[0] + h.model_count +
           (double)(h.requests + h.errors + h.busy + h.hook_errors + h.swaps + h.refused_models + h.rollbacks +
                    h.telemetry_sent + h.telemetry_pending + h.telemetry_spool_lost_bytes);
    const mle_loaded_model *m = &models[0];
    sum += m->role + m->variant + m->variant_name[0] + m->version[0] + (double)m->trained_at_unix +
           (double)m->age_days + m->needs_retraining + m->staleness_level + m->alert_level;

    char buffer[16];
    size_t length = 0;
    status |= mle_runtime_export_metrics(runtime, MLE_METRICS_OTLP_JSON, buffer, sizeof buffer, &length);
    mle_final_snapshot_callback final_trampoline = on_final;
    status |= mle_runtime_shutdown(runtime, 5000, final_trampoline, &o);
    mle_runtime_free(runtime);
    return status + (int32_t)sum;
}

int use_every_symbol_the_swift_layer_calls(void) {
    mle_model *model = NULL;
    mle_monitor *monitor = NULL;
    mle_telemetry *telemetry = NULL;
    int32_t status = errors_and_constants() | library_calls() | model_calls(&model) | telemetry_calls(&telemetry);
    status |= monitor_calls(&monitor, telemetry);
    status |= session_calls(model, monitor);
    status |= runtime_calls(model, telemetry);
    mle_monitor_free(monitor);
    mle_telemetry_free(telemetry);
    return status;
}

/* Linked (run.sh checks that the library defines every function used here), never run. */
int main(void) { return use_every_symbol_the_swift_layer_calls() == 0 ? 0 : 1; }
