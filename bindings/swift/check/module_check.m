/* Checks the Swift package's module map with clang (no Swift toolchain here): the module
 * CMlopsEdge builds from the header, and the symbols the Swift layer uses resolve through it. */
@import CMlopsEdge;

int use_every_symbol_the_swift_layer_calls(void) {
    mle_model *model = 0;
    mle_session *session = 0;
    mle_runtime *runtime = 0;
    mle_telemetry *telemetry = 0;
    mle_prediction prediction;
    mle_served served;
    mle_runtime_options runtime_options;
    mle_telemetry_options telemetry_options;
    mle_flush_report report;
    mle_telemetry_stats stats;
    mle_health health;
    mle_monitor *monitor = 0;
    mle_monitor_options monitor_options;
    mle_snapshot snapshot;
    mle_significance_result significance;
    mle_variant_stats variant_stats;
    mle_variant variant = {"a", 0, 1.0};
    mle_level_callback on_level = 0;
    mle_assignment_hook hook = 0;
    mle_event_callback on_event = 0;
    mle_free_userdata free_userdata = 0;
    uint8_t bytes[1] = {0};
    double sum = 0;
    size_t n = 0;
    float probs[2];
    int32_t status = mle_model_load("m", 0, &model);
    status |= mle_session_new(model, 0, &session);
    status |= mle_classify_text(session, "x", 1, &prediction, probs, 2, &n);
    mle_runtime_options_init(&runtime_options);
    mle_telemetry_options_init(&telemetry_options);
    status |= mle_telemetry_new(&telemetry_options, &telemetry);
    runtime_options.telemetry = telemetry;
    status |= mle_runtime_new(model, &runtime_options, &runtime);
    status |= mle_runtime_classify_text(runtime, "u", "x", 1, 0, 0, &n, &served);
    status |= mle_runtime_record_outcome(runtime, 0, 1);
    status |= mle_runtime_health(runtime, &health, 0, 0);
    status |= mle_telemetry_flush(telemetry, &report);
    status |= mle_telemetry_get_stats(telemetry, &stats);
    status |= mle_runtime_export_metrics(runtime, MLE_METRICS_PROMETHEUS, 0, 0, &n);
    /* The rest of what MlopsEdge.swift calls, and the struct fields it reads and writes. */
    status |= mle_classify_f32(session, probs, 2, &prediction, probs, 2, &n);
    status |= mle_classify_bytes(session, bytes, 1, &prediction, probs, 2, &n);
    sum += prediction.label_index + prediction.score + prediction.latency_ns + (prediction.label != 0);
    mle_monitor_options_init(&monitor_options);
    monitor_options.label_count = 2;
    monitor_options.window = 16;
    monitor_options.max_sessions = 1;
    status |= mle_monitor_new(&monitor_options, &monitor);
    status |= mle_session_attach_monitor(session, monitor);
    status |= mle_session_detach_monitor(session);
    status |= mle_monitor_snapshot(monitor, &snapshot, 0, 0, 0);
    sum += snapshot.processed + snapshot.dropped + snapshot.window_count + snapshot.error_rate +
           snapshot.latency_p50_us + snapshot.latency_p95_us + snapshot.latency_p99_us + snapshot.confidence_mean +
           snapshot.has_baseline + snapshot.degradation_tested + snapshot.level + snapshot.alert_count +
           snapshot.version_count + snapshot.drift_latency.tested + snapshot.drift_latency.drifted +
           snapshot.drift_latency.statistic + snapshot.drift_latency.p_value + snapshot.drift_confidence.p_value +
           snapshot.drift_input_length.p_value + snapshot.drift_labels.tested + snapshot.drift_labels.drifted +
           snapshot.drift_labels.statistic + snapshot.drift_labels.p_value + snapshot.alerts[0].metric +
           snapshot.alerts[0].level + snapshot.alerts[0].current + snapshot.alerts[0].baseline +
           snapshot.alerts[0].change_pct + snapshot.versions[0].version[0] + snapshot.versions[0].ok +
           snapshot.versions[0].errors;
    status |= mle_monitor_baseline_freeze(monitor);
    status |= mle_monitor_baseline_clear(monitor);
    status |= mle_monitor_reset_window(monitor);
    status |= mle_monitor_set_level_callback(monitor, on_level, 0, free_userdata);
    status |= mle_monitor_export_metrics(monitor, "1", telemetry, MLE_METRICS_PROMETHEUS, 0, 0, &n);
    status |= mle_runtime_classify_f32(runtime, "u", probs, 2, 0, 0, &n, &served);
    status |= mle_runtime_classify_bytes(runtime, "u", bytes, 1, 0, 0, &n, &served);
    sum += served.variant + served.candidate + served.label_index + served.score + served.latency_ns +
           served.label[0] + served.version[0];
    status |= mle_runtime_set_experiment(runtime, "e", &variant, 1, 0);
    status |= mle_runtime_set_event_callback(runtime, on_event, 0, free_userdata);
    status |= mle_runtime_set_assignment_hook(runtime, hook, 0, free_userdata);
    status |= mle_runtime_swap(runtime, 0, model, 0, 0);
    status |= mle_runtime_set_shadow(runtime, model, 0.1);
    status |= mle_runtime_clear_shadow(runtime);
    status |= mle_runtime_significance(runtime, 0, 1, 0.95, &significance);
    sum += significance.p_value + significance.lift + significance.significant + significance.ci_lower +
           significance.ci_upper;
    status |= mle_runtime_variant_stats(runtime, 0, &variant_stats);
    sum += variant_stats.name[0] + variant_stats.version[0] + variant_stats.requests + variant_stats.errors +
           variant_stats.conversions + variant_stats.outcomes;
    status |= mle_runtime_snapshot(runtime, MLE_ROLE_VARIANT, 0, &snapshot, 0, 0, 0);
    status |= mle_runtime_evaluate(runtime);
    sum += health.state + health.level + health.requests + health.errors + health.hook_errors + health.swaps +
           health.rollbacks + health.rollout_active + health.rollout_percent + health.last_error[0] +
           health.telemetry_sent + health.telemetry_pending;
    status |= mle_runtime_promote(runtime);
    status |= mle_runtime_rollback(runtime, 0);
    status |= mle_telemetry_persist(telemetry);
    mle_monitor_free(monitor);
    (void)sum;
    (void)mle_last_error();
    (void)mle_status_str(status);
    mle_runtime_free(runtime);
    mle_telemetry_free(telemetry);
    mle_session_free(session);
    mle_model_free(model);
    return status;
}
