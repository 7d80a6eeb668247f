/*
 * The C compiler's view of every struct the Kotlin binding mirrors (Native.kt) and of the
 * header's constants the binding repeats, for the binding's layout test (test/Test.kt):
 *
 *   struct <Kotlin class> <sizeof>
 *   field <Kotlin class> <field> <offsetof> <sizeof the field>
 *   const <name> <value>
 *
 * A field added, removed, moved or resized in the header changes these lines and fails the
 * test until Native.kt follows. Each struct lists all its fields (the test also checks that the
 * two field lists are the same): when the header gains a field, add it here and in Native.kt.
 */
#include <stddef.h>
#include <stdio.h>

#include "mlops_edge.h"

#define STRUCT(kotlin, c) printf("struct %s %zu\n", kotlin, sizeof(c))
#define FIELD(kotlin, c, f) printf("field %s %s %zu %zu\n", kotlin, #f, offsetof(c, f), sizeof(((c *)0)->f))
#define CONST(name, value) printf("const %s %lld\n", name, (long long)(value))

static void structs(void) {
#define S "CSignificance"
    STRUCT(S, mle_significance_result);
    FIELD(S, mle_significance_result, struct_size);
    FIELD(S, mle_significance_result, significant);
    FIELD(S, mle_significance_result, control_rate);
    FIELD(S, mle_significance_result, treatment_rate);
    FIELD(S, mle_significance_result, lift);
    FIELD(S, mle_significance_result, lift_percent);
    FIELD(S, mle_significance_result, p_value);
    FIELD(S, mle_significance_result, z_score);
    FIELD(S, mle_significance_result, ci_lower);
    FIELD(S, mle_significance_result, ci_upper);
#undef S
#define S "CExpHistogram"
    STRUCT(S, mle_exp_histogram);
    FIELD(S, mle_exp_histogram, struct_size);
    FIELD(S, mle_exp_histogram, scale);
    FIELD(S, mle_exp_histogram, bucket_count);
    FIELD(S, mle_exp_histogram, offset);
    FIELD(S, mle_exp_histogram, count);
    FIELD(S, mle_exp_histogram, zero_count);
    FIELD(S, mle_exp_histogram, sum);
    FIELD(S, mle_exp_histogram, min);
    FIELD(S, mle_exp_histogram, max);
    FIELD(S, mle_exp_histogram, counts);
#undef S
#define S "CModelOptions"
    STRUCT(S, mle_model_options);
    FIELD(S, mle_model_options, struct_size);
    FIELD(S, mle_model_options, max_sequence_length);
    FIELD(S, mle_model_options, threads);
    FIELD(S, mle_model_options, max_batch);
    FIELD(S, mle_model_options, sequence_buckets);
    FIELD(S, mle_model_options, sequence_bucket_count);
    FIELD(S, mle_model_options, max_text_bytes);
    FIELD(S, mle_model_options, plan_per_bucket);
    FIELD(S, mle_model_options, max_model_bytes);
    FIELD(S, mle_model_options, trusted_keys);
    FIELD(S, mle_model_options, trusted_key_count);
    FIELD(S, mle_model_options, min_package_version);
    FIELD(S, mle_model_options, max_nodes);
    FIELD(S, mle_model_options, max_graph_depth);
    FIELD(S, mle_model_options, max_tensor_elements);
    FIELD(S, mle_model_options, max_initializer_bytes);
#undef S
#define S "CModelDetails"
    STRUCT(S, mle_model_details);
    FIELD(S, mle_model_details, struct_size);
    FIELD(S, mle_model_details, input_kind);
    FIELD(S, mle_model_details, name);
    FIELD(S, mle_model_details, version);
    FIELD(S, mle_model_details, trained_at);
    FIELD(S, mle_model_details, description);
    FIELD(S, mle_model_details, metrics_json);
    FIELD(S, mle_model_details, trained_at_unix);
    FIELD(S, mle_model_details, label_count);
    FIELD(S, mle_model_details, max_input_length);
    FIELD(S, mle_model_details, plan_count);
    FIELD(S, mle_model_details, input_element_type);
    FIELD(S, mle_model_details, handles_missing_values);
    FIELD(S, mle_model_details, from_package);
    FIELD(S, mle_model_details, package_version);
    FIELD(S, mle_model_details, signed_package);
    FIELD(S, mle_model_details, signer_public_key);
#undef S
#define S "CMonitorOptions"
    STRUCT(S, mle_monitor_options);
    FIELD(S, mle_monitor_options, struct_size);
    FIELD(S, mle_monitor_options, window);
    FIELD(S, mle_monitor_options, ring_capacity);
    FIELD(S, mle_monitor_options, max_sessions);
    FIELD(S, mle_monitor_options, label_count);
    FIELD(S, mle_monitor_options, feature_count);
    FIELD(S, mle_monitor_options, feature_indices);
#undef S
#define S "CVersionCounts"
    STRUCT(S, mle_version_counts);
    FIELD(S, mle_version_counts, version);
    FIELD(S, mle_version_counts, ok);
    FIELD(S, mle_version_counts, errors);
#undef S
#define S "CDrift"
    STRUCT(S, mle_drift);
    FIELD(S, mle_drift, tested);
    FIELD(S, mle_drift, drifted);
    FIELD(S, mle_drift, statistic);
    FIELD(S, mle_drift, p_value);
    FIELD(S, mle_drift, threshold);
    FIELD(S, mle_drift, current_count);
    FIELD(S, mle_drift, baseline_count);
#undef S
#define S "CLabelDrift"
    STRUCT(S, mle_label_drift);
    FIELD(S, mle_label_drift, tested);
    FIELD(S, mle_label_drift, drifted);
    FIELD(S, mle_label_drift, statistic);
    FIELD(S, mle_label_drift, p_value);
    FIELD(S, mle_label_drift, dof);
    FIELD(S, mle_label_drift, psi);
#undef S
#define S "CAlert"
    STRUCT(S, mle_alert);
    FIELD(S, mle_alert, metric);
    FIELD(S, mle_alert, level);
    FIELD(S, mle_alert, feature);
    FIELD(S, mle_alert, current);
    FIELD(S, mle_alert, baseline);
    FIELD(S, mle_alert, change_pct);
    FIELD(S, mle_alert, p_value);
#undef S
#define S "CSnapshot"
    STRUCT(S, mle_snapshot);
    FIELD(S, mle_snapshot, struct_size);
    FIELD(S, mle_snapshot, level);
    FIELD(S, mle_snapshot, processed);
    FIELD(S, mle_snapshot, dropped);
    FIELD(S, mle_snapshot, pending);
    FIELD(S, mle_snapshot, status_counts);
    FIELD(S, mle_snapshot, version_count);
    FIELD(S, mle_snapshot, versions);
    FIELD(S, mle_snapshot, window_count);
    FIELD(S, mle_snapshot, window_errors);
    FIELD(S, mle_snapshot, error_rate);
    FIELD(S, mle_snapshot, window_seconds);
    FIELD(S, mle_snapshot, throughput_per_second);
    FIELD(S, mle_snapshot, latency_p50_us);
    FIELD(S, mle_snapshot, latency_p95_us);
    FIELD(S, mle_snapshot, latency_p99_us);
    FIELD(S, mle_snapshot, latency_mean_us);
    FIELD(S, mle_snapshot, latency_max_us);
    FIELD(S, mle_snapshot, latency_histogram);
    FIELD(S, mle_snapshot, confidence_mean);
    FIELD(S, mle_snapshot, confidence_histogram);
    FIELD(S, mle_snapshot, input_length_mean);
    FIELD(S, mle_snapshot, input_length_histogram);
    FIELD(S, mle_snapshot, feature_means);
    FIELD(S, mle_snapshot, has_baseline);
    FIELD(S, mle_snapshot, degradation_tested);
    FIELD(S, mle_snapshot, baseline_count);
    FIELD(S, mle_snapshot, baseline_latency_p95_us);
    FIELD(S, mle_snapshot, baseline_confidence_mean);
    FIELD(S, mle_snapshot, baseline_error_rate);
    FIELD(S, mle_snapshot, drift_latency);
    FIELD(S, mle_snapshot, drift_confidence);
    FIELD(S, mle_snapshot, drift_input_length);
    FIELD(S, mle_snapshot, feature_count);
    FIELD(S, mle_snapshot, drift_features);
    FIELD(S, mle_snapshot, drift_labels);
    FIELD(S, mle_snapshot, alert_count);
    FIELD(S, mle_snapshot, alerts);
#undef S
#define S "CBaseline"
    STRUCT(S, mle_baseline);
    FIELD(S, mle_baseline, struct_size);
    FIELD(S, mle_baseline, latency_us);
    FIELD(S, mle_baseline, latency_count);
    FIELD(S, mle_baseline, confidence);
    FIELD(S, mle_baseline, confidence_count);
    FIELD(S, mle_baseline, input_length);
    FIELD(S, mle_baseline, input_length_count);
    FIELD(S, mle_baseline, feature_count);
    FIELD(S, mle_baseline, features);
    FIELD(S, mle_baseline, feature_counts);
    FIELD(S, mle_baseline, label_counts);
    FIELD(S, mle_baseline, label_count);
    FIELD(S, mle_baseline, error_rate);
#undef S
#define S "CThresholds"
    STRUCT(S, mle_monitor_thresholds);
    FIELD(S, mle_monitor_thresholds, struct_size);
    FIELD(S, mle_monitor_thresholds, drift_level);
    FIELD(S, mle_monitor_thresholds, latency_p95_warning);
    FIELD(S, mle_monitor_thresholds, latency_p95_critical);
    FIELD(S, mle_monitor_thresholds, confidence_drop_warning);
    FIELD(S, mle_monitor_thresholds, confidence_drop_critical);
    FIELD(S, mle_monitor_thresholds, error_rate_warning);
    FIELD(S, mle_monitor_thresholds, error_rate_critical);
    FIELD(S, mle_monitor_thresholds, drift_p_value);
    FIELD(S, mle_monitor_thresholds, label_drift_p_value);
    FIELD(S, mle_monitor_thresholds, min_drift_samples);
    FIELD(S, mle_monitor_thresholds, min_alert_samples);
#undef S
#define S "CRuntimeOptions"
    STRUCT(S, mle_runtime_options);
    FIELD(S, mle_runtime_options, struct_size);
    FIELD(S, mle_runtime_options, max_concurrency);
    FIELD(S, mle_runtime_options, busy_wait_ms);
    FIELD(S, mle_runtime_options, pool_mode);
    FIELD(S, mle_runtime_options, pool_bytes);
    FIELD(S, mle_runtime_options, monitor);
    FIELD(S, mle_runtime_options, thresholds);
    FIELD(S, mle_runtime_options, shadow_queue_capacity);
    FIELD(S, mle_runtime_options, shadow_max_input_bytes);
    FIELD(S, mle_runtime_options, evaluation_interval_ms);
    FIELD(S, mle_runtime_options, staleness_warning_days);
    FIELD(S, mle_runtime_options, staleness_critical_days);
    FIELD(S, mle_runtime_options, supervisor_thread);
    FIELD(S, mle_runtime_options, telemetry);
    FIELD(S, mle_runtime_options, trusted_keys);
    FIELD(S, mle_runtime_options, trusted_key_count);
    FIELD(S, mle_runtime_options, min_package_version);
#undef S
#define S "CServed"
    STRUCT(S, mle_served);
    FIELD(S, mle_served, struct_size);
    FIELD(S, mle_served, candidate);
    FIELD(S, mle_served, variant);
    FIELD(S, mle_served, label_index);
    FIELD(S, mle_served, score);
    FIELD(S, mle_served, flags);
    FIELD(S, mle_served, input_length);
    FIELD(S, mle_served, latency_ns);
    FIELD(S, mle_served, label);
    FIELD(S, mle_served, version);
#undef S
#define S "CVariant"
    STRUCT(S, mle_variant);
    FIELD(S, mle_variant, struct_size);
    FIELD(S, mle_variant, name);
    FIELD(S, mle_variant, model);
    FIELD(S, mle_variant, weight);
#undef S
#define S "CEvent"
    STRUCT(S, mle_event);
    FIELD(S, mle_event, struct_size);
    FIELD(S, mle_event, kind);
    FIELD(S, mle_event, variant);
    FIELD(S, mle_event, from_version);
    FIELD(S, mle_event, to_version);
    FIELD(S, mle_event, stage_percent);
    FIELD(S, mle_event, level);
    FIELD(S, mle_event, message);
#undef S
#define S "CSelfTestCase"
    STRUCT(S, mle_self_test_case);
    FIELD(S, mle_self_test_case, struct_size);
    FIELD(S, mle_self_test_case, text);
    FIELD(S, mle_self_test_case, features);
    FIELD(S, mle_self_test_case, feature_count);
    FIELD(S, mle_self_test_case, bytes);
    FIELD(S, mle_self_test_case, byte_count);
    FIELD(S, mle_self_test_case, expected_label);
#undef S
#define S "CRolloutOptions"
    STRUCT(S, mle_rollout_options);
    FIELD(S, mle_rollout_options, struct_size);
    FIELD(S, mle_rollout_options, stage_count);
    FIELD(S, mle_rollout_options, stages_percent);
    FIELD(S, mle_rollout_options, auto_promote);
    FIELD(S, mle_rollout_options, requests_per_stage);
#undef S
#define S "CVariantStats"
    STRUCT(S, mle_variant_stats);
    FIELD(S, mle_variant_stats, struct_size);
    FIELD(S, mle_variant_stats, name);
    FIELD(S, mle_variant_stats, version);
    FIELD(S, mle_variant_stats, weight);
    FIELD(S, mle_variant_stats, requests);
    FIELD(S, mle_variant_stats, errors);
    FIELD(S, mle_variant_stats, candidate_requests);
    FIELD(S, mle_variant_stats, conversions);
    FIELD(S, mle_variant_stats, outcomes);
#undef S
#define S "CShadowReport"
    STRUCT(S, mle_shadow_report);
    FIELD(S, mle_shadow_report, struct_size);
    FIELD(S, mle_shadow_report, version);
    FIELD(S, mle_shadow_report, fraction);
    FIELD(S, mle_shadow_report, sampled);
    FIELD(S, mle_shadow_report, compared);
    FIELD(S, mle_shadow_report, agreed);
    FIELD(S, mle_shadow_report, agreement_rate);
    FIELD(S, mle_shadow_report, shadow_errors);
    FIELD(S, mle_shadow_report, production_errors);
    FIELD(S, mle_shadow_report, skipped_queue_full);
    FIELD(S, mle_shadow_report, skipped_too_large);
    FIELD(S, mle_shadow_report, pending);
    FIELD(S, mle_shadow_report, discarded);
    FIELD(S, mle_shadow_report, latency_p95_us);
    FIELD(S, mle_shadow_report, window_count);
#undef S
#define S "CHealth"
    STRUCT(S, mle_health);
    FIELD(S, mle_health, struct_size);
    FIELD(S, mle_health, state);
    FIELD(S, mle_health, level);
    FIELD(S, mle_health, rollout_active);
    FIELD(S, mle_health, uptime_seconds);
    FIELD(S, mle_health, in_flight);
    FIELD(S, mle_health, requests);
    FIELD(S, mle_health, errors);
    FIELD(S, mle_health, busy);
    FIELD(S, mle_health, refused_shutting_down);
    FIELD(S, mle_health, hook_errors);
    FIELD(S, mle_health, swaps);
    FIELD(S, mle_health, refused_models);
    FIELD(S, mle_health, rollbacks);
    FIELD(S, mle_health, rollouts_completed);
    FIELD(S, mle_health, rollout_variant);
    FIELD(S, mle_health, rollout_stage);
    FIELD(S, mle_health, rollout_percent);
    FIELD(S, mle_health, rollout_served_at_stage);
    FIELD(S, mle_health, rollout_requests_per_stage);
    FIELD(S, mle_health, rollout_candidate_version);
    FIELD(S, mle_health, model_count);
    FIELD(S, mle_health, last_error);
    FIELD(S, mle_health, telemetry_enabled);
    FIELD(S, mle_health, telemetry_sent);
    FIELD(S, mle_health, telemetry_retried);
    FIELD(S, mle_health, telemetry_dropped);
    FIELD(S, mle_health, telemetry_pending);
    FIELD(S, mle_health, telemetry_spool_lost_bytes);
#undef S
#define S "CLoadedModel"
    STRUCT(S, mle_loaded_model);
    FIELD(S, mle_loaded_model, struct_size);
    FIELD(S, mle_loaded_model, role);
    FIELD(S, mle_loaded_model, variant);
    FIELD(S, mle_loaded_model, variant_name);
    FIELD(S, mle_loaded_model, version);
    FIELD(S, mle_loaded_model, trained_at_unix);
    FIELD(S, mle_loaded_model, age_days);
    FIELD(S, mle_loaded_model, needs_retraining);
    FIELD(S, mle_loaded_model, staleness_level);
    FIELD(S, mle_loaded_model, alert_level);
#undef S
#define S "CSessionOptions"
    STRUCT(S, mle_session_options);
    FIELD(S, mle_session_options, struct_size);
    FIELD(S, mle_session_options, pool_mode);
    FIELD(S, mle_session_options, pool_bytes);
#undef S
#define S "CSessionStats"
    STRUCT(S, mle_session_stats);
    FIELD(S, mle_session_stats, struct_size);
    FIELD(S, mle_session_stats, requests);
    FIELD(S, mle_session_stats, errors);
    FIELD(S, mle_session_stats, last_request_system_calls);
    FIELD(S, mle_session_stats, pool_capacity);
    FIELD(S, mle_session_stats, pool_used);
    FIELD(S, mle_session_stats, pool_peak);
    FIELD(S, mle_session_stats, pool_overflows);
#undef S
#define S "CPrediction"
    STRUCT(S, mle_prediction);
    FIELD(S, mle_prediction, struct_size);
    FIELD(S, mle_prediction, label_index);
    FIELD(S, mle_prediction, score);
    FIELD(S, mle_prediction, flags);
    FIELD(S, mle_prediction, label);
    FIELD(S, mle_prediction, latency_ns);
    FIELD(S, mle_prediction, input_length);
#undef S
#define S "CBatch"
    STRUCT(S, mle_batch);
    FIELD(S, mle_batch, struct_size);
    FIELD(S, mle_batch, attempt);
    FIELD(S, mle_batch, id);
    FIELD(S, mle_batch, data);
    FIELD(S, mle_batch, len);
    FIELD(S, mle_batch, records);
    FIELD(S, mle_batch, first_seq);
    FIELD(S, mle_batch, last_seq);
#undef S
#define S "CTelemetryOptions"
    STRUCT(S, mle_telemetry_options);
    FIELD(S, mle_telemetry_options, struct_size);
    FIELD(S, mle_telemetry_options, queue_capacity);
    FIELD(S, mle_telemetry_options, request_sample_rate);
    FIELD(S, mle_telemetry_options, batch_max_records);
    FIELD(S, mle_telemetry_options, batch_max_bytes);
    FIELD(S, mle_telemetry_options, retry_initial_ms);
    FIELD(S, mle_telemetry_options, retry_max_ms);
    FIELD(S, mle_telemetry_options, spool_path);
    FIELD(S, mle_telemetry_options, spool_max_bytes);
    FIELD(S, mle_telemetry_options, spool_sync);
    FIELD(S, mle_telemetry_options, device_id);
    FIELD(S, mle_telemetry_options, upload);
    FIELD(S, mle_telemetry_options, ready);
    FIELD(S, mle_telemetry_options, userdata);
    FIELD(S, mle_telemetry_options, free_userdata);
#undef S
#define S "CFlushReport"
    STRUCT(S, mle_flush_report);
    FIELD(S, mle_flush_report, struct_size);
    FIELD(S, mle_flush_report, retried);
    FIELD(S, mle_flush_report, backing_off);
    FIELD(S, mle_flush_report, batches_sent);
    FIELD(S, mle_flush_report, batches_dropped);
    FIELD(S, mle_flush_report, retry_after_ms);
    FIELD(S, mle_flush_report, pending);
#undef S
#define S "CTelemetryStats"
    STRUCT(S, mle_telemetry_stats);
    FIELD(S, mle_telemetry_stats, struct_size);
    FIELD(S, mle_telemetry_stats, recorded);
    FIELD(S, mle_telemetry_stats, sampled_out);
    FIELD(S, mle_telemetry_stats, sent);
    FIELD(S, mle_telemetry_stats, retried);
    FIELD(S, mle_telemetry_stats, dropped_queue_full);
    FIELD(S, mle_telemetry_stats, dropped_by_host);
    FIELD(S, mle_telemetry_stats, pending);
    FIELD(S, mle_telemetry_stats, batches_sent);
    FIELD(S, mle_telemetry_stats, batches_retried);
    FIELD(S, mle_telemetry_stats, batches_dropped);
    FIELD(S, mle_telemetry_stats, recovered);
    FIELD(S, mle_telemetry_stats, spool_torn_bytes);
    FIELD(S, mle_telemetry_stats, spool_bytes);
    FIELD(S, mle_telemetry_stats, spool_skipped);
    FIELD(S, mle_telemetry_stats, spool_errors);
    FIELD(S, mle_telemetry_stats, last_spool_error);
    FIELD(S, mle_telemetry_stats, spool_corrupt_bytes);
    FIELD(S, mle_telemetry_stats, spool_corrupt_regions);
    FIELD(S, mle_telemetry_stats, spool_truncated);
    FIELD(S, mle_telemetry_stats, spool_lost_records);
#undef S
}

/* The header's values of the constants the binding repeats (names as the test knows them). */
static void constants(void) {
    CONST("ABI_VERSION", MLE_ABI_VERSION);
    CONST("ABI_VERSION_MAJOR", MLE_ABI_VERSION_MAJOR);
    CONST("ABI_VERSION_MINOR", MLE_ABI_VERSION_MINOR);
    CONST("VERSION_MAJOR", MLE_VERSION_MAJOR);
    CONST("VERSION_MINOR", MLE_VERSION_MINOR);
    CONST("VERSION_PATCH", MLE_VERSION_PATCH);

    CONST("ElementType.FLOAT32", MLE_ELEMENT_FLOAT32);
    CONST("ElementType.FLOAT64", MLE_ELEMENT_FLOAT64);
    CONST("ElementType.INT64", MLE_ELEMENT_INT64);
    CONST("ElementType.INT32", MLE_ELEMENT_INT32);

    CONST("MAX_FEATURES", MLE_MAX_FEATURES);
    CONST("STATUS_SLOTS", MLE_STATUS_SLOTS);
    CONST("MAX_VERSIONS", MLE_MAX_VERSIONS);
    CONST("VERSION_BUFFER", MLE_VERSION_BUFFER);
    CONST("MAX_ALERTS", MLE_MAX_ALERTS);
    CONST("NAME_BUFFER", MLE_NAME_BUFFER);
    CONST("LABEL_BUFFER", MLE_LABEL_BUFFER);
    CONST("ERROR_BUFFER", MLE_ERROR_BUFFER);
    CONST("MAX_STAGES", MLE_MAX_STAGES);
    CONST("EXP_MAX_BUCKETS", MLE_EXP_MAX_BUCKETS);

    CONST("Status.OK", MLE_OK);
    CONST("Status.INVALID_ARGUMENT", MLE_ERR_INVALID_ARGUMENT);
    CONST("Status.INVALID_UTF8", MLE_ERR_INVALID_UTF8);
    CONST("Status.BUFFER_TOO_SMALL", MLE_ERR_BUFFER_TOO_SMALL);
    CONST("Status.IO", MLE_ERR_IO);
    CONST("Status.MODEL_INVALID", MLE_ERR_MODEL_INVALID);
    CONST("Status.MODEL_UNSUPPORTED", MLE_ERR_MODEL_UNSUPPORTED);
    CONST("Status.MODEL_CARD", MLE_ERR_MODEL_CARD);
    CONST("Status.TOKENIZER", MLE_ERR_TOKENIZER);
    CONST("Status.WRONG_INPUT_KIND", MLE_ERR_WRONG_INPUT_KIND);
    CONST("Status.INPUT_SHAPE", MLE_ERR_INPUT_SHAPE);
    CONST("Status.INPUT_NOT_FINITE", MLE_ERR_INPUT_NOT_FINITE);
    CONST("Status.INFERENCE", MLE_ERR_INFERENCE);
    CONST("Status.POOL_EXHAUSTED", MLE_ERR_POOL_EXHAUSTED);
    CONST("Status.PANIC", MLE_ERR_PANIC);
    CONST("Status.OUTPUT_NOT_FINITE", MLE_ERR_OUTPUT_NOT_FINITE);
    CONST("Status.INSUFFICIENT_DATA", MLE_ERR_INSUFFICIENT_DATA);
    CONST("Status.INVALID_STATE", MLE_ERR_INVALID_STATE);
    CONST("Status.LIMIT_REACHED", MLE_ERR_LIMIT_REACHED);
    CONST("Status.BUSY", MLE_ERR_BUSY);
    CONST("Status.SHUTTING_DOWN", MLE_ERR_SHUTTING_DOWN);
    CONST("Status.SELF_TEST_FAILED", MLE_ERR_SELF_TEST_FAILED);
    CONST("Status.SESSION_BUSY", MLE_ERR_SESSION_BUSY);
    CONST("Status.ABI_MISMATCH", MLE_ERR_ABI_MISMATCH);
    CONST("Status.MODEL_LIMIT", MLE_ERR_MODEL_LIMIT);
    CONST("Status.SPOOL_LOCKED", MLE_ERR_SPOOL_LOCKED);
    CONST("Status.PACKAGE_INVALID", MLE_ERR_PACKAGE_INVALID);
    CONST("Status.PACKAGE_UNSIGNED", MLE_ERR_PACKAGE_UNSIGNED);
    CONST("Status.PACKAGE_UNTRUSTED_KEY", MLE_ERR_PACKAGE_UNTRUSTED_KEY);
    CONST("Status.PACKAGE_BAD_SIGNATURE", MLE_ERR_PACKAGE_BAD_SIGNATURE);
    CONST("Status.PACKAGE_TAMPERED", MLE_ERR_PACKAGE_TAMPERED);
    CONST("Status.PACKAGE_FILES_MISMATCH", MLE_ERR_PACKAGE_FILES_MISMATCH);
    CONST("Status.PACKAGE_OUTDATED", MLE_ERR_PACKAGE_OUTDATED);

    CONST("InputKind.TEXT", MLE_INPUT_TEXT);
    CONST("InputKind.TENSOR", MLE_INPUT_TENSOR);
    CONST("InputKind.BYTES", MLE_INPUT_BYTES);
    CONST("Flags.TRUNCATED", MLE_FLAG_TRUNCATED);
    CONST("Flags.EMPTY_INPUT", MLE_FLAG_EMPTY_INPUT);
    CONST("Flags.UNPOOLED", MLE_FLAG_UNPOOLED);
    CONST("Flags.LABEL_TRUNCATED", MLE_FLAG_LABEL_TRUNCATED);
    CONST("Level.OK", MLE_LEVEL_OK);
    CONST("Level.WARNING", MLE_LEVEL_WARNING);
    CONST("Level.CRITICAL", MLE_LEVEL_CRITICAL);
    CONST("Role.VARIANT", MLE_ROLE_VARIANT);
    CONST("Role.CANDIDATE", MLE_ROLE_CANDIDATE);
    CONST("Role.SHADOW", MLE_ROLE_SHADOW);
    CONST("RuntimeState.SERVING", MLE_STATE_SERVING);
    CONST("RuntimeState.DRAINING", MLE_STATE_DRAINING);
    CONST("RuntimeState.STOPPED", MLE_STATE_STOPPED);
    CONST("AlertMetric.LATENCY_P95", MLE_ALERT_LATENCY_P95);
    CONST("AlertMetric.CONFIDENCE_MEAN", MLE_ALERT_CONFIDENCE_MEAN);
    CONST("AlertMetric.ERROR_RATE", MLE_ALERT_ERROR_RATE);
    CONST("AlertMetric.LATENCY_DRIFT", MLE_ALERT_LATENCY_DRIFT);
    CONST("AlertMetric.CONFIDENCE_DRIFT", MLE_ALERT_CONFIDENCE_DRIFT);
    CONST("AlertMetric.INPUT_LENGTH_DRIFT", MLE_ALERT_INPUT_LENGTH_DRIFT);
    CONST("AlertMetric.FEATURE_DRIFT", MLE_ALERT_FEATURE_DRIFT);
    CONST("AlertMetric.LABEL_DRIFT", MLE_ALERT_LABEL_DRIFT);
    CONST("EventKind.SWAPPED", MLE_EVENT_SWAPPED);
    CONST("EventKind.SWAP_REFUSED", MLE_EVENT_SWAP_REFUSED);
    CONST("EventKind.ROLLOUT_STARTED", MLE_EVENT_ROLLOUT_STARTED);
    CONST("EventKind.ROLLOUT_ADVANCED", MLE_EVENT_ROLLOUT_ADVANCED);
    CONST("EventKind.ROLLOUT_COMPLETED", MLE_EVENT_ROLLOUT_COMPLETED);
    CONST("EventKind.ROLLED_BACK", MLE_EVENT_ROLLED_BACK);
    CONST("EventKind.ALERT_LEVEL_CHANGED", MLE_EVENT_ALERT_LEVEL_CHANGED);
    CONST("EventKind.EXPERIMENT_CHANGED", MLE_EVENT_EXPERIMENT_CHANGED);
    CONST("EventKind.SHADOW_CHANGED", MLE_EVENT_SHADOW_CHANGED);
    CONST("EventKind.SHUTDOWN_STARTED", MLE_EVENT_SHUTDOWN_STARTED);

    CONST("MetricsFormat.PROMETHEUS", MLE_METRICS_PROMETHEUS);
    CONST("MetricsFormat.OPENMETRICS", MLE_METRICS_OPENMETRICS);
    CONST("MetricsFormat.OTLP_JSON", MLE_METRICS_OTLP_JSON);
    CONST("LogLevel.OFF", MLE_LOG_OFF);
    CONST("LogLevel.ERROR", MLE_LOG_ERROR);
    CONST("LogLevel.WARN", MLE_LOG_WARN);
    CONST("LogLevel.INFO", MLE_LOG_INFO);
    CONST("LogLevel.DEBUG", MLE_LOG_DEBUG);
    CONST("LogLevel.TRACE", MLE_LOG_TRACE);
    CONST("AssignScheme.MD5", MLE_ASSIGN_MD5);
    CONST("AssignScheme.GROWTHBOOK_V1", MLE_ASSIGN_GROWTHBOOK_V1);
    CONST("AssignScheme.GROWTHBOOK_V2", MLE_ASSIGN_GROWTHBOOK_V2);
    CONST("PoolMode.AUTO", MLE_POOL_AUTO);
    CONST("PoolMode.OFF", MLE_POOL_OFF);
    CONST("PoolMode.FIXED", MLE_POOL_FIXED);
    CONST("UploadResult.OK", MLE_UPLOAD_OK);
    CONST("UploadResult.RETRY", MLE_UPLOAD_RETRY);
    CONST("UploadResult.DROP", MLE_UPLOAD_DROP);
    CONST("TIME_UNKNOWN", MLE_TIME_UNKNOWN);
}

int main(void) {
    structs();
    constants();
    return 0;
}
