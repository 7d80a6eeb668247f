// The C++ wrapper on one page: load a model (with a size limit, as for a model downloaded at run
// time), serve it through a runtime that records telemetry, handle a refused request, upload the
// telemetry, read the health and the Prometheus text, shut down.
// Build: g++ -std=c++17 example.cpp -lmlops_edge      Usage: example <repository root>
#include <cstdio>
#include <string>
#include <vector>

#include "mlops_edge.hpp"

int main(int argc, char **argv) {
    const std::string root = argc > 1 ? argv[1] : ".";
    try {
        // The first wrapper call checks that libmlops_edge serves this header's ABI (an
        // mle::Error with MLE_ERR_ABI_MISMATCH otherwise). Files above max_model_bytes are refused
        // with MLE_ERR_MODEL_LIMIT before they are read.
        auto model_options = mle::Model::default_options();
        model_options.max_model_bytes = 64 << 20;
        auto model = mle::Model::load(root + "/models/profanity-tfidf", model_options);

        // Telemetry hands JSON Lines batches to this callback, on the thread that calls flush().
        mle::Telemetry telemetry(mle::Telemetry::default_options(), [](const mle::Batch &batch) {
            std::printf("upload batch %llu: %zu records, %zu bytes\n", static_cast<unsigned long long>(batch.id),
                        batch.records, batch.data.size());
            return mle::Upload::Ok;  // a real host POSTs batch.data and answers Retry on failure
        });

        // Every model the runtime loads gets a monitor; warn when p95 latency rises by 25%.
        auto runtime_options = mle::Runtime::default_options();
        runtime_options.thresholds = mle::Monitor::default_thresholds();
        runtime_options.thresholds->latency_p95_warning = 0.25;
        mle::Runtime runtime(model, runtime_options, &telemetry);

        for (const char *text : {"have a lovely day", "you stupid idiot", "what the hell is this", "bad \xff byte"}) {
            try {
                auto served = runtime.classify_text("user-42", text);
                std::printf("%-24s -> %s (%.3f) by %s in %.1f us\n", text, served.label.c_str(), served.score,
                            served.version.c_str(), served.latency_ns / 1000.0);
            } catch (const mle::Error &e) {
                // A refused request (here MLE_ERR_INVALID_UTF8) leaves the runtime serving; it is
                // counted in the health and recorded in the telemetry like any other.
                std::printf("%-24s -> refused (status %d): %s\n", "(invalid UTF-8)", e.status(), e.what());
            }
        }

        telemetry.flush();
        // The level is the worst of the monitors' alerts and the models' staleness (card age).
        std::vector<mle_loaded_model> models;
        const mle_health health = runtime.health(&models);
        std::printf("health: %llu requests, %llu errors, level %d\n", static_cast<unsigned long long>(health.requests),
                    static_cast<unsigned long long>(health.errors), health.level);
        for (const auto &m : models) {
            std::printf("  model %s: %lld days old (staleness level %d), alert level %d\n", m.version,
                        static_cast<long long>(m.age_days), m.staleness_level, m.alert_level);
        }
        const std::string metrics = runtime.export_metrics(MLE_METRICS_PROMETHEUS);
        std::printf("Prometheus export: %zu bytes, first line: %s\n", metrics.size(),
                    metrics.substr(0, metrics.find('\n')).c_str());
        runtime.shutdown();
    } catch (const mle::Error &e) {
        std::fprintf(stderr, "libmlops_edge %s: error %d: %s\n", mle::version().c_str(), e.status(), e.what());
        return 1;
    }
    return 0;
}
