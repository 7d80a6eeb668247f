// The C++ wrapper in a few lines: a runtime on the headline model with telemetry, three
// requests, one upload batch, the Prometheus text. Usage: example <repository root>
#include <cstdio>
#include <string>

#include "mlops_edge.hpp"

int main(int argc, char **argv) {
    std::string root = argc > 1 ? argv[1] : ".";
    try {
        auto model = mle::Model::load(root + "/models/profanity-tfidf");
        mle::Telemetry telemetry(mle::Telemetry::default_options(), [](const mle::Batch &batch) {
            std::printf("upload batch %llu: %zu records, %zu bytes\n", (unsigned long long)batch.id, batch.records,
                        batch.data.size());
            return mle::Upload::Ok;  // a real host POSTs batch.data and answers Retry on failure
        });
        mle::Runtime runtime(model, mle::Runtime::default_options(), &telemetry);
        for (const char *text : {"have a lovely day", "you stupid idiot", "what the hell is this"}) {
            auto served = runtime.classify_text("user-42", text);
            std::printf("%-24s -> %s (%.3f) by %s in %.1f us\n", text, served.label.c_str(), served.score,
                        served.version.c_str(), served.latency_ns / 1000.0);
        }
        telemetry.flush();
        std::string metrics = runtime.export_metrics(MLE_METRICS_PROMETHEUS);
        std::printf("Prometheus export: %zu bytes, first line: %s\n", metrics.size(),
                    metrics.substr(0, metrics.find('\n')).c_str());
        runtime.shutdown();
    } catch (const mle::Error &e) {
        std::fprintf(stderr, "error %d: %s\n", e.status(), e.what());
        return 1;
    }
    return 0;
}
