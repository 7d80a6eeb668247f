// Test of the C++ wrapper against the real library (built and run by scripts/test.sh through
// bindings/cpp/run.sh). Usage: test <repository root>
#include <atomic>
#include <chrono>
#include <thread>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "mlops_edge.hpp"

static int failures = 0, checks = 0;
#define EXPECT(cond, what)                                                   \
    do {                                                                     \
        checks++;                                                            \
        if (!(cond)) {                                                       \
            failures++;                                                      \
            std::fprintf(stderr, "FAIL %s:%d: %s: %s\n", __FILE__, __LINE__, #cond, what); \
        }                                                                    \
    } while (0)

template <typename F>
static mle_status status_of(F f) {
    try {
        f();
        return MLE_OK;
    } catch (const mle::Error &e) {
        return e.status();
    }
}

int main(int argc, char **argv) {
    std::string root = argc > 1 ? argv[1] : ".";
    EXPECT(mle::version() == MLE_VERSION_STRING, "version");

    // Errors carry the status and the message.
    try {
        mle::Model::load(root + "/models/no-such-model");
        EXPECT(false, "loading a missing model throws");
    } catch (const mle::Error &e) {
        EXPECT(e.status() == MLE_ERR_IO, "missing model: MLE_ERR_IO");
        EXPECT(std::strstr(e.what(), "no-such-model") != nullptr, "the message names the path");
    }

    // Models and sessions.
    auto text_model = mle::Model::load(root + "/models/profanity-tfidf");
    auto digits = mle::Model::load(root + "/models/digits-mlp");
    EXPECT(text_model.info().input_kind == MLE_INPUT_TEXT && text_model.label_count() == 2, "text model card");
    EXPECT(digits.label(3) == "3", "digits labels");
    mle::Session session(text_model);
    auto p = session.classify_text("shut up you stupid idiot, what the hell");
    EXPECT(p.label == "PROFANE" && p.probabilities.size() == 2 && std::fabs(p.probabilities[0] + p.probabilities[1] - 1) < 1e-5,
           "classify_text");
    EXPECT(status_of([&] { session.classify_f32({1, 2, 3}); }) == MLE_ERR_WRONG_INPUT_KIND, "wrong input kind");
    mle::Session moved = std::move(session);
    EXPECT(moved.classify_text("have a nice day").label == "CLEAN", "a moved session works");

    // Monitor.
    auto mopts = mle::Monitor::default_options();
    mopts.label_count = 2;
    mle::Monitor monitor(mopts);
    moved.attach(monitor);
    for (int i = 0; i < 150; i++) moved.classify_text(i % 3 ? "have a nice day" : "you are a damn moron");
    monitor.freeze_baseline();
    std::vector<uint64_t> labels;
    auto snap = monitor.snapshot(&labels);
    EXPECT(snap.processed == 150 && labels.size() == 3 && labels[0] + labels[1] == 150, "snapshot and label counts");
    EXPECT(monitor.latency_histogram().count == 150, "latency histogram");
    int level_changes = 0;
    monitor.set_level_callback([&](int32_t, int32_t, const mle_snapshot &) { level_changes++; });
    for (int i = 0; i < 200; i++) moved.classify_text("you are a damn moron and an idiot");
    snap = monitor.snapshot();
    EXPECT(snap.drift_labels.tested && snap.drift_labels.drifted && level_changes == 1, "label drift fires the callback");
    EXPECT(monitor.export_metrics(MLE_METRICS_PROMETHEUS, "1.0").find("model_predictions_total") != std::string::npos,
           "monitor export");
    EXPECT(status_of([&] { monitor.export_metrics(99, "1.0"); }) == MLE_ERR_INVALID_ARGUMENT, "bad format");

    // Telemetry + runtime.
    std::atomic<int> uploads{0};
    std::vector<std::string> batches;
    bool fail_next = true;
    auto topts = mle::Telemetry::default_options();
    topts.retry_initial_ms = 1;
    topts.retry_max_ms = 1;
    mle::Telemetry telemetry(topts, [&](const mle::Batch &b) {
        uploads++;
        if (fail_next) {
            fail_next = false;
            throw std::runtime_error("network down");  // a throwing callback counts as RETRY
        }
        batches.emplace_back(b.data);
        return mle::Upload::Ok;
    });
    auto ropts = mle::Runtime::default_options();
    ropts.supervisor_thread = 0;
    mle::Runtime rt(digits, ropts, &telemetry);
    std::vector<mle::Event> events;
    rt.set_event_callback([&](const mle::Event &e) { events.push_back(e); });
    auto digits_b = mle::Model::load(root + "/models/digits-mlp");
    rt.set_experiment("exp", {{"control", &digits, 0.5}, {"treatment", &digits_b, 0.5}});
    EXPECT(status_of([&] { rt.set_experiment("exp", {{"a", &digits, 0.7}, {"b", &digits_b, 0.7}}); }) ==
               MLE_ERR_INVALID_ARGUMENT,
           "weights not summing to 1");
    std::vector<float> values(64, 3.0f);
    size_t per_variant[2] = {0, 0};
    for (int i = 0; i < 100; i++) {
        auto s = rt.classify_f32("user-" + std::to_string(i), values);
        per_variant[s.variant]++;
        EXPECT(s.version.size() > 0 && s.variant == mle::ab_assign("exp", "user-" + std::to_string(i), {0.5, 0.5}),
               "assignment equals the stateless call");
        rt.record_outcome(s.variant, i % 2 == 0);
    }
    EXPECT(per_variant[0] + per_variant[1] == 100 && rt.variant_stats(0).requests == per_variant[0], "variant stats");
    rt.set_assignment_hook([](std::string_view, std::string_view user) -> int64_t { return user == "vip" ? 1 : -1; });
    EXPECT(rt.classify_f32("vip", values).variant == 1, "the hook decides");
    rt.set_assignment_hook([](std::string_view, std::string_view) -> int64_t { throw std::runtime_error("bug"); });
    rt.classify_f32("someone", values);  // a throwing hook falls back to hashing
    EXPECT(rt.health().hook_errors == 1, "a throwing hook is counted, not propagated");
    rt.set_assignment_hook(nullptr);
    EXPECT(status_of([&] { rt.classify_f32("x", {1, 2}); }) == MLE_ERR_INPUT_SHAPE, "bad input");
    auto sig = rt.significance(0, 1);
    EXPECT(sig.p_value >= 0 && sig.p_value <= 1, "significance");

    // Telemetry: the first upload throws (RETRY), the next succeeds.
    auto r1 = telemetry.flush();
    EXPECT(r1.retried == 1 && uploads == 1, "a throwing upload is a RETRY");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto r2 = telemetry.flush();
    auto stats = telemetry.stats();
    EXPECT(r2.batches_sent >= 1 && stats.pending == 0 && stats.sent == stats.recorded, "delivered after the retry");
    EXPECT(!batches.empty() && batches[0].rfind("{\"schema\":\"mlops_edge.telemetry\"", 0) == 0, "JSON Lines batch");
    EXPECT(rt.export_metrics(MLE_METRICS_OPENMETRICS).find("# EOF") != std::string::npos, "runtime export");

    // Logging.
    std::vector<std::string> logs;
    mle::set_log_callback(MLE_LOG_INFO, [&](int32_t, std::string_view, std::string_view m) { logs.emplace_back(m); });
    rt.swap(0, digits_b);
    mle::set_log_callback(MLE_LOG_OFF, nullptr);
    EXPECT(!logs.empty(), "the swap was logged");
    EXPECT(status_of([] { mle::set_log_callback(42, [](int32_t, std::string_view, std::string_view) {}); }) ==
               MLE_ERR_INVALID_ARGUMENT,
           "bad log level");

    // Rollout and shutdown.
    auto candidate = mle::Model::load(root + "/models/digits-mlp");
    rt.set_experiment("exp", {{"control", &digits, 1.0}});
    rt.start_rollout(0, candidate, {50, 100}, 10);
    EXPECT(status_of([&] { rt.start_rollout(0, candidate); }) == MLE_ERR_INVALID_STATE, "one rollout at a time");
    rt.rollback(0);
    auto finals = rt.shutdown(2000);
    EXPECT(!finals.empty(), "final snapshots");
    EXPECT(status_of([&] { rt.classify_f32("u", values); }) == MLE_ERR_SHUTTING_DOWN, "after shutdown");
    EXPECT(events.size() >= 4, "events reached the lambda");

    std::printf("%d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
