/* Prints sizeof of every C struct the Kotlin binding maps, for its layout test. */
#include <stdio.h>

#include "mlops_edge.h"

#define SIZE(kotlin, c) printf("%s %zu\n", kotlin, sizeof(c))

int main(void) {
    SIZE("CPrediction", mle_prediction);
    SIZE("CServed", mle_served);
    SIZE("CModelDetails", mle_model_details);
    SIZE("CMonitorOptions", mle_monitor_options);
    SIZE("CThresholds", mle_monitor_thresholds);
    SIZE("CRuntimeOptions", mle_runtime_options);
    SIZE("CVersionCounts", mle_version_counts);
    SIZE("CDrift", mle_drift);
    SIZE("CLabelDrift", mle_label_drift);
    SIZE("CAlert", mle_alert);
    SIZE("CSnapshot", mle_snapshot);
    SIZE("CVariant", mle_variant);
    SIZE("CEvent", mle_event);
    SIZE("CRolloutOptions", mle_rollout_options);
    SIZE("CSignificance", mle_significance_result);
    SIZE("CVariantStats", mle_variant_stats);
    SIZE("CHealth", mle_health);
    SIZE("CTelemetryOptions", mle_telemetry_options);
    SIZE("CTelemetryStats", mle_telemetry_stats);
    SIZE("CFlushReport", mle_flush_report);
    SIZE("CBatch", mle_batch);
    return 0;
}
