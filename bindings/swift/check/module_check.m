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
    (void)mle_last_error();
    (void)mle_status_str(status);
    mle_runtime_free(runtime);
    mle_telemetry_free(telemetry);
    mle_session_free(session);
    mle_model_free(model);
    return status;
}
