// Test of the C++ wrapper against the real library (built and run by scripts/test.sh through
// bindings/cpp/run.sh), a library built with the test hooks (tests/c/test_hooks.h): time moves
// by mle_test_advance_clock and latencies are injected with mle_test_set_model_latency, so no
// check depends on the wall clock. Usage: test <repository root>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

#include "mlops_edge.hpp"
#include "test_hooks.h"

static int failures = 0, checks = 0;
#define EXPECT(cond, what)                                                                 \
    do {                                                                                   \
        checks++;                                                                          \
        if (!(cond)) {                                                                     \
            failures++;                                                                    \
            std::fprintf(stderr, "FAIL %s:%d: %s: %s\n", __FILE__, __LINE__, #cond, what); \
        }                                                                                  \
    } while (0)

// The status a call throws (MLE_OK when it does not throw); `message` gets the error's text.
template <typename F>
static mle_status status_of(F f, std::string *message = nullptr) {
    try {
        f();
        return MLE_OK;
    } catch (const mle::Error &e) {
        if (message) *message = e.what();
        return e.status();
    }
}

static bool contains(const std::string &haystack, const char *needle) {
    return haystack.find(needle) != std::string::npos;
}

static std::vector<uint8_t> read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

static void write_file(const std::string &path, const std::vector<uint8_t> &bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// The new statuses of ABI 1.0 are distinct codes C++ code can switch on.
static_assert(MLE_ERR_SESSION_BUSY == 22 && MLE_ERR_ABI_MISMATCH == 23 && MLE_ERR_MODEL_LIMIT == 24,
              "ABI 1.0 status codes");
// ... and the one ABI 1.1 added follows them, then ABI 1.3's package statuses; this wrapper is
// written for ABI 1.3.
static_assert(MLE_ERR_SPOOL_LOCKED == 25, "ABI 1.1 status code");
static_assert(MLE_ERR_PACKAGE_INVALID == 26 && MLE_ERR_PACKAGE_OUTDATED == 32, "ABI 1.3 status codes");
static_assert(MLE_ABI_VERSION_MAJOR == 1 && MLE_ABI_VERSION_MINOR == 4 && MLE_ABI_VERSION == 0x10004u, "C ABI 1.4");

// ABI 1.3: model packages through the C structs' trust fields.
static void packages(const std::string &root) {
    const std::string dir = root + "/tests/data/packages";
    std::string hex;
    std::ifstream(dir + "/test-key.pub") >> hex;
    uint8_t key[32] = {0};
    for (size_t i = 0; i < 32 && 2 * i + 1 < hex.size(); i++) key[i] = static_cast<uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
    auto options = mle::Model::default_options();
    options.trusted_keys = key;
    options.trusted_key_count = 1;
    auto model = mle::Model::load(dir + "/breast-signed.mlepkg", options);
    EXPECT(model.info().signed_package == 1 && model.info().package_version == 3 &&
               std::memcmp(model.info().signer_public_key.data(), key, 32) == 0,
           "a signed package loads with its key and reports it");
    std::string message;
    EXPECT(status_of([&] { mle::Model::load(dir + "/breast-unsigned.mlepkg", options); }, &message) ==
               MLE_ERR_PACKAGE_UNSIGNED && contains(message, "not signed"),
           "an unsigned package with a trusted key: MLE_ERR_PACKAGE_UNSIGNED");
    auto ropts = mle::Runtime::default_options();
    ropts.runtime.supervisor_thread = 0;
    ropts.runtime.max_concurrency = 1;
    ropts.runtime.trusted_keys = key;
    ropts.runtime.trusted_key_count = 1;
    mle::Runtime rt(model, ropts);
    EXPECT(status_of([&] { rt.start_rollout_path(0, dir + "/breast-unsigned.mlepkg"); }) == MLE_ERR_PACKAGE_UNSIGNED,
           "a rollout to an unsigned package is refused");
    EXPECT(status_of([&] { rt.swap_path(0, root + "/models/breast-cancer-logreg"); }) == MLE_ERR_PACKAGE_UNSIGNED,
           "a swap to a plain model is refused");
    rt.start_rollout_path(0, dir + "/breast-signed.mlepkg");
    EXPECT(rt.health().rollout_active == 1, "the signed package rolls out");
}

// ABI 1.1: a runtime serving the 30-feature, 2-label breast-cancer model refuses a swap to the
// 64-feature digits model (and a rollout, an experiment variant, a shadow of it, a swap to 3
// labels); production keeps answering; change_input_schema is the deliberate change, and
// max_labels follows it.
static void input_schema(const std::string &root) {
    auto breast = mle::Model::load(root + "/models/breast-cancer-logreg");
    auto breast_b = mle::Model::load(root + "/models/breast-cancer-logreg");
    auto digits = mle::Model::load(root + "/models/digits-mlp");
    auto three = mle::Model::load(root + "/tests/data/three_labels_30.onnx");
    std::vector<float> rows30(30), rows64(64, 3.0f);
    for (size_t i = 0; i < rows30.size(); i++) rows30[i] = static_cast<float>(i % 7) * 0.5f;
    const std::string version = breast.info().version;
    auto ropts = mle::Runtime::default_options();
    ropts.runtime.supervisor_thread = 0;
    mle::Runtime rt(breast, ropts);
    std::vector<mle::Event> events;
    rt.set_event_callback([&](const mle::Event &e) { events.push_back(e); });
    EXPECT(rt.max_labels() == 2, "breast-cancer: max_labels 2");
    const auto before = rt.health();

    std::string message;
    EXPECT(status_of([&] { rt.swap(0, digits); }, &message) == MLE_ERR_SELF_TEST_FAILED,
           "a swap to 64 features: MLE_ERR_SELF_TEST_FAILED");
    EXPECT(contains(message, "cannot take the inputs") && contains(message, "mle_runtime_change_input_schema"),
           "the refusal says why and names the deliberate way");
    EXPECT(!events.empty() && events.back().kind == MLE_EVENT_SWAP_REFUSED &&
               contains(events.back().message, "cannot take the inputs"),
           "a refusal event");
    EXPECT(status_of([&] { rt.swap(0, three); }) == MLE_ERR_SELF_TEST_FAILED, "a swap to 3 labels (buffers hold 2)");
    EXPECT(status_of([&] { rt.start_rollout(0, digits); }) == MLE_ERR_SELF_TEST_FAILED, "a rollout of 64 features");
    EXPECT(status_of([&] { rt.set_experiment("schema", {{"control", &breast_b, 0.5}, {"wide", &digits, 0.5}}); }) ==
               MLE_ERR_INVALID_ARGUMENT,
           "an experiment variant of 64 features");
    EXPECT(status_of([&] { rt.set_shadow(digits, 1.0); }) == MLE_ERR_INVALID_ARGUMENT, "a shadow of 64 features");
    const auto after = rt.health();
    EXPECT(after.swaps == before.swaps && after.refused_models - before.refused_models == 5,
           "nothing swapped, 5 refusals counted");

    // Production keeps answering, with its 2 labels.
    const auto served = rt.classify_f32("u", rows30);
    EXPECT(served.variant == 0 && served.version == version && served.label == breast.label(served.label_index),
           "production still answers");
    EXPECT(rt.max_labels() == 2, "still 2 labels after the refusals");

    // The same schema is accepted; a shadow may have other labels, but blocks a schema change.
    rt.swap(0, breast_b);
    rt.set_shadow(three, 1.0);
    EXPECT(status_of([&] { rt.change_input_schema(digits); }) == MLE_ERR_INVALID_STATE,
           "no schema change beside a shadow");
    rt.clear_shadow();
    EXPECT(status_of([&] { rt.change_input_schema(digits, {mle::SelfTestCase::of_features(rows64, "no such label")}); }) ==
               MLE_ERR_SELF_TEST_FAILED,
           "the schema change's self-test runs");
    EXPECT(rt.max_labels() == 2, "a refused change leaves max_labels");

    // The deliberate change.
    rt.change_input_schema(digits);
    EXPECT(events.back().kind == MLE_EVENT_SWAPPED && contains(events.back().message, "input schema changed"),
           "a schema change event");
    EXPECT(rt.max_labels() == 10, "digits: max_labels 10");
    {
        // max_labels() sizes the probabilities buffer of the C call.
        std::vector<float> probs(rt.max_labels());
        auto out = mle::detail::output<mle_served>();
        size_t n = 0;
        EXPECT(mle_runtime_classify_f32(rt.get(), "u", rows64.data(), rows64.size(), &out, probs.data(), probs.size(),
                                        &n) == MLE_OK &&
                   n == 10,
               "a buffer of max_labels() holds the new model's probabilities");
    }
    EXPECT(rt.classify_f32("u", rows64).version == digits.info().version, "digits serves");
    EXPECT(status_of([&] { rt.classify_f32("u", rows30); }) == MLE_ERR_INPUT_SHAPE, "the old inputs no longer fit");
    EXPECT(status_of([&] { rt.rollback(0); }) == MLE_ERR_INVALID_STATE, "no rollback across a schema change");
    rt.change_input_schema(breast);
    EXPECT(rt.max_labels() == 2 && rt.classify_f32("u", rows30).version == version, "back to breast-cancer");
}

// ABI 1.1's spool: one Telemetry per spool file (MLE_ERR_SPOOL_LOCKED), and what a damaged spool
// lost, in the telemetry stats and the runtime's health.
static void spool(const std::string &root) {
    const std::string path =
        (std::filesystem::temp_directory_path() / ("mle_cpp_spool_" + std::to_string(getpid()) + ".spool")).string();
    std::filesystem::remove(path);
    auto digits = mle::Model::load(root + "/models/digits-mlp");
    auto topts = mle::Telemetry::default_options();
    topts.spool_path = path.c_str();
    auto ropts = mle::Runtime::default_options();
    ropts.runtime.supervisor_thread = 0;
    const auto retry = [](const mle::Batch &) { return mle::Upload::Retry; };
    {
        mle::Telemetry first(topts, retry);
        const auto fresh = first.stats();
        EXPECT(fresh.spool_corrupt_bytes == 0 && fresh.spool_corrupt_regions == 0 && fresh.spool_truncated == 0,
               "a new spool lost nothing");
        std::string message;
        EXPECT(status_of([&] { mle::Telemetry second(topts, retry); }, &message) == MLE_ERR_SPOOL_LOCKED,
               "a second Telemetry on the same spool: MLE_ERR_SPOOL_LOCKED");
        EXPECT(contains(message, path.c_str()), "the message names the spool");
        mle::Runtime rt(digits, ropts, &first);
        for (int i = 0; i < 100; i++) rt.classify_f32("u", std::vector<float>(64, 5.0f));
        EXPECT(rt.health().telemetry_spool_lost_bytes == 0, "health: nothing lost from a new spool");
        first.persist();
    }
    // Both handles gone: the file is free. One flipped bit at 10% of it.
    auto bytes = read_file(path);
    EXPECT(bytes.size() > 1000, "a spool was written");
    if (bytes.size() > 1000) {
        bytes[bytes.size() / 10] ^= 0x40;
        write_file(path, bytes);
        mle::Telemetry reopened(topts, retry);
        const auto s = reopened.stats();
        EXPECT(s.recovered == 99 && s.spool_corrupt_regions == 1 && s.spool_corrupt_bytes > 0 &&
                   s.spool_corrupt_bytes < 300 && s.spool_torn_bytes == 0 && s.spool_truncated == 0,
               "damage skipped and counted");
        mle::Runtime rt(digits, ropts, &reopened);
        EXPECT(rt.health().telemetry_spool_lost_bytes == s.spool_corrupt_bytes, "health: the spool bytes lost");
    }
    write_file(path, {});  // emptied by something else
    {
        mle::Telemetry emptied(topts, retry);
        const auto s = emptied.stats();
        EXPECT(s.spool_truncated == 1 && s.recovered == 0 && s.last_spool_error[0] != 0, "an emptied spool is reported");
    }
    std::filesystem::remove(path);
}

int main(int argc, char **argv) {
    std::string root = argc > 1 ? argv[1] : ".";
    EXPECT(mle::version() == MLE_VERSION_STRING, "version");

    // The ABI: the library serves this header; other versions are refused with the message
    // naming both.
    EXPECT(mle::abi_version() == MLE_ABI_VERSION, "mle::abi_version equals the header's MLE_ABI_VERSION");
    EXPECT(status_of([] { mle::check_abi(); }) == MLE_OK, "the header's ABI is served");
    EXPECT(status_of([] { mle::check_abi(MLE_ABI_VERSION_MAJOR << 16); }) == MLE_OK, "minor 0 of the major is served");
    std::string message;
    EXPECT(status_of([] { mle::check_abi((MLE_ABI_VERSION_MAJOR + 1u) << 16); }, &message) == MLE_ERR_ABI_MISMATCH,
           "another major version: MLE_ERR_ABI_MISMATCH");
    EXPECT(contains(message, "C ABI version mismatch") &&
               contains(message, (std::to_string(MLE_ABI_VERSION_MAJOR + 1) + ".0").c_str()) &&
               contains(message, (std::to_string(MLE_ABI_VERSION_MAJOR) + "." + std::to_string(MLE_ABI_VERSION_MINOR)).c_str()),
           "the ABI error carries the status text and the versions");
    EXPECT(status_of([] { mle::check_abi(MLE_ABI_VERSION + 1); }) == MLE_ERR_ABI_MISMATCH,
           "a newer minor version than the library: MLE_ERR_ABI_MISMATCH");
    for (mle_status s : {MLE_ERR_SESSION_BUSY, MLE_ERR_ABI_MISMATCH, MLE_ERR_MODEL_LIMIT, MLE_ERR_SPOOL_LOCKED,
                         MLE_ERR_PACKAGE_INVALID, MLE_ERR_PACKAGE_TAMPERED, MLE_ERR_PACKAGE_OUTDATED}) {
        EXPECT(std::strcmp(mle_status_str(s), "unknown status") != 0, "the library names the new statuses");
        EXPECT(mle::Error(s, "x").status() == s && contains(mle::Error(s, "x").what(), mle_status_str(s)),
               "an mle::Error carries a new status");
    }

    // Structs handed to callbacks carry the library's struct_size: the wrapper copies what both
    // layouts have into this header's layout (an older library's shorter struct leaves the rest
    // zero; a newer library's longer one is cut), and says so in struct_size.
    {
        mle_snapshot older{};
        older.struct_size = static_cast<uint32_t>(offsetof(mle_snapshot, pending));  // an "older" layout
        older.level = MLE_LEVEL_WARNING;
        older.processed = 7;
        older.pending = 99;  // beyond the older layout: not the library's, must not be copied
        auto copy = mle::detail::from_library(older);
        EXPECT(copy.struct_size == sizeof(mle_snapshot) && copy.level == MLE_LEVEL_WARNING && copy.processed == 7 &&
                   copy.pending == 0,
               "a shorter library struct: known fields copied, the rest zero");
        struct Newer {
            mle_snapshot known;
            uint64_t added;
        } newer{};
        newer.known.struct_size = sizeof(Newer);
        newer.known.alert_count = 3;
        newer.added = 1;
        copy = mle::detail::from_library(newer.known);
        EXPECT(copy.struct_size == sizeof(mle_snapshot) && copy.alert_count == 3,
               "a longer library struct: this header's part copied");
    }

    // Errors carry the status and the message.
    try {
        mle::Model::load(root + "/models/no-such-model");
        EXPECT(false, "loading a missing model throws");
    } catch (const mle::Error &e) {
        EXPECT(e.status() == MLE_ERR_IO, "missing model: MLE_ERR_IO");
        EXPECT(std::strstr(e.what(), "no-such-model") != nullptr, "the message names the path");
    }

    // max_model_bytes: a model file above it is refused before it is read, from a path or bytes.
    const std::string digits_path = root + "/models/digits-mlp";
    const std::vector<uint8_t> digits_onnx = read_file(digits_path + "/model.onnx");
    EXPECT(digits_onnx.size() > 1000, "the digits model is read");
    auto small = mle::Model::default_options();
    EXPECT(small.struct_size == sizeof(mle_model_options), "default_options comes from mle_model_options_init");
    small.max_model_bytes = 1000;
    message.clear();
    EXPECT(status_of([&] { mle::Model::load(digits_path, small); }, &message) == MLE_ERR_MODEL_LIMIT,
           "a model file above max_model_bytes: MLE_ERR_MODEL_LIMIT");
    EXPECT(contains(message, "max_model_bytes"), "the message names the option that raises the limit");
    auto exact = mle::Model::default_options();
    exact.max_model_bytes = digits_onnx.size() - 1;
    EXPECT(status_of([&] { mle::Model::from_bytes(digits_onnx, {}, {}, exact); }) == MLE_ERR_MODEL_LIMIT,
           "ONNX bytes one above max_model_bytes: MLE_ERR_MODEL_LIMIT");
    exact.max_model_bytes = digits_onnx.size();
    EXPECT(mle::Model::from_bytes(digits_onnx, {}, {}, exact).label_count() == 10, "ONNX bytes at the limit load");
    mle_model_options unsized{};  // built by hand: the wrapper sets struct_size on its copy
    unsized.max_model_bytes = 1000;
    EXPECT(status_of([&] { mle::Model::load(digits_path, unsized); }) == MLE_ERR_MODEL_LIMIT,
           "options without struct_size are read (the wrapper stamps it)");

    // Models and sessions.
    auto text_model = mle::Model::load(root + "/models/profanity-tfidf");
    auto digits = mle::Model::load(digits_path);
    auto text_info = text_model.info();
    EXPECT(text_info.input_kind == MLE_INPUT_TEXT && text_model.label_count() == 2, "text model card");
    EXPECT(text_info.plan_count >= 1 && text_model.plan_lengths().size() == text_info.plan_count, "plan lengths");
    EXPECT(digits.label(3) == "3", "digits labels");
    // ABI 1.2: what the graph's input takes, and whether NaN is a missing value.
    EXPECT(digits.info().input_element_type == MLE_ELEMENT_FLOAT32 && !digits.info().handles_missing_values,
           "digits: float32 input, NaN refused");
    auto forest = mle::Model::load(root + "/tests/data/exports/xgboost-breast.onnx");
    EXPECT(forest.info().handles_missing_values && forest.label_count() == 2, "a tree ensemble takes NaN");
    auto doubles = mle::Model::load(root + "/tests/data/exports/logreg-double-breast.onnx");
    EXPECT(doubles.info().input_element_type == MLE_ELEMENT_FLOAT64, "a double-input export says so");
    EXPECT(status_of([&] { digits.label(10); }) == MLE_ERR_INVALID_ARGUMENT, "label index out of range");
    mle::Session session(text_model);
    auto p = session.classify_text("shut up you stupid idiot, what the hell");
    EXPECT(p.label == "PROFANE" && p.probabilities.size() == 2 &&
               std::fabs(p.probabilities[0] + p.probabilities[1] - 1) < 1e-5,
           "classify_text");
    EXPECT(status_of([&] { session.classify_f32({1, 2, 3}); }) == MLE_ERR_WRONG_INPUT_KIND, "wrong input kind");
    mle::Session moved = std::move(session);
    EXPECT(moved.classify_text("have a nice day").label == "CLEAN", "a moved session works");
    auto no_pool = mle::Session::default_options();
    no_pool.pool_mode = MLE_POOL_OFF;
    EXPECT(mle::Session(text_model, no_pool).stats().pool_capacity == 0, "session options reach the library");
    no_pool.pool_mode = 42;
    EXPECT(status_of([&] { mle::Session refused(text_model, no_pool); }) == MLE_ERR_INVALID_ARGUMENT,
           "a bad pool mode");

    // Session stats count every classify call, refused ones included (requests = successes +
    // errors): the wrong input kind above, invalid UTF-8, and a too-small buffer (the wrapper
    // always sizes its own; the C call on the same session shows the count).
    auto stats = moved.stats();
    EXPECT(stats.struct_size == sizeof(mle_session_stats), "stats carry this header's struct_size");
    EXPECT(stats.requests == 3 && stats.errors == 1, "two successes and the wrong input kind");
    EXPECT(status_of([&] { moved.classify_text("bad \xff byte"); }) == MLE_ERR_INVALID_UTF8, "invalid UTF-8");
    stats = moved.stats();
    EXPECT(stats.requests == 4 && stats.errors == 2, "invalid UTF-8 is counted as a request and an error");
    {
        auto out = mle::detail::output<mle_prediction>();
        float one = 0;
        size_t needed = 0;
        EXPECT(mle_session_classify_text(moved.get(), "hello", 5, &out, &one, 1, &needed) == MLE_ERR_BUFFER_TOO_SMALL &&
                   needed == 2,
               "a one-value buffer for two labels: MLE_ERR_BUFFER_TOO_SMALL with the needed count");
    }
    stats = moved.stats();
    EXPECT(stats.requests == 5 && stats.errors == 3, "a too-small buffer is counted as a request and an error");

    // A panic inside the library comes back as MLE_ERR_PANIC and the session stays usable.
    std::fprintf(stderr, "(the library prints the forced panic below; it is expected)\n");
    mle_test_panic_next_request();
    EXPECT(status_of([&] { moved.classify_text("have a nice day"); }) == MLE_ERR_PANIC, "a panic is MLE_ERR_PANIC");
    EXPECT(moved.classify_text("have a nice day").label == "CLEAN", "the session works after a panic");

    // Monitor, with injected latencies: 1 ms during the baseline, 3 ms after it.
    auto mopts = mle::Monitor::default_options();
    mopts.label_count = 2;
    mle::Monitor monitor(mopts);
    moved.attach(monitor);
    EXPECT(mle_test_set_model_latency(text_model.get(), 1000) == MLE_OK, "latency injected");
    for (int i = 0; i < 150; i++) moved.classify_text(i % 3 ? "have a nice day" : "you are a damn moron");
    monitor.freeze_baseline();
    std::vector<uint64_t> labels;
    auto snap = monitor.snapshot(&labels);
    EXPECT(snap.struct_size == sizeof(mle_snapshot), "a snapshot carries this header's struct_size");
    EXPECT(snap.processed == 150 && labels.size() == 3 && labels[0] + labels[1] == 150, "snapshot and label counts");
    EXPECT(snap.latency_p95_us == 1000 && snap.has_baseline == 1 && snap.baseline_latency_p95_us == 1000,
           "the injected latency is what the monitor saw");
    auto histogram = monitor.latency_histogram();
    EXPECT(histogram.struct_size == sizeof(mle_exp_histogram) && histogram.count == 150 &&
               std::fabs(histogram.sum - 0.15) < 1e-9,
           "latency histogram");
    int level_changes = 0;
    int32_t last_level = -1;
    uint32_t callback_snapshot_size = 0;
    bool latency_alert = false;
    monitor.set_level_callback([&](int32_t, int32_t current, const mle_snapshot &s) {
        level_changes++;
        last_level = current;
        callback_snapshot_size = s.struct_size;
        for (uint32_t i = 0; i < s.alert_count; i++)
            if (s.alerts[i].metric == MLE_ALERT_LATENCY_P95 && s.alerts[i].level == MLE_LEVEL_CRITICAL)
                latency_alert = true;
    });
    mle_test_set_model_latency(text_model.get(), 3000);
    for (int i = 0; i < 200; i++) moved.classify_text("you are a damn moron and an idiot");
    snap = monitor.snapshot();
    EXPECT(snap.drift_labels.tested && snap.drift_labels.drifted && level_changes == 1, "label drift fires the callback");
    EXPECT(last_level == MLE_LEVEL_CRITICAL && latency_alert, "p95 latency tripled: a critical latency alert");
    EXPECT(callback_snapshot_size == sizeof(mle_snapshot), "the callback's snapshot is in this header's layout");
    mle_test_set_model_latency(text_model.get(), 0);
    auto thresholds = monitor.thresholds();
    EXPECT(thresholds.struct_size == sizeof(mle_monitor_thresholds) && thresholds.min_alert_samples == 30,
           "thresholds read back");
    thresholds.latency_p95_warning = -1;
    EXPECT(status_of([&] { monitor.set_thresholds(thresholds); }) == MLE_ERR_INVALID_ARGUMENT, "bad thresholds");
    EXPECT(monitor.export_metrics(MLE_METRICS_PROMETHEUS, "1.0").find("model_predictions_total") != std::string::npos,
           "monitor export");
    EXPECT(monitor.export_metrics(MLE_METRICS_OPENMETRICS, "1.0").find('\0') == std::string::npos,
           "an export holds no NUL");
    EXPECT(status_of([&] { monitor.export_metrics(99, "1.0"); }) == MLE_ERR_INVALID_ARGUMENT, "bad format");

    // Runtime options: the monitor template and thresholds are pointers the wrapper fills.
    {
        auto bad = mle::Runtime::default_options();
        bad.runtime.supervisor_thread = 0;
        bad.thresholds = mle::Monitor::default_thresholds();
        bad.thresholds->latency_p95_warning = -1;
        EXPECT(status_of([&] { mle::Runtime refused(digits, bad); }) == MLE_ERR_INVALID_ARGUMENT,
               "the runtime reads the thresholds the wrapper points it at");
        auto windowed = mle::Runtime::default_options();
        windowed.runtime.supervisor_thread = 0;
        windowed.monitor = mle::Monitor::default_options();
        windowed.monitor->window = 16;
        mle::Runtime small_rt(digits, windowed);
        for (int i = 0; i < 40; i++) small_rt.classify_f32("", std::vector<float>(64, 1.0f));
        auto s = small_rt.snapshot();
        EXPECT(s.processed == 40 && s.window_count == 16, "the runtime's monitors use the monitor template");
        // A baseline from C++ (ABI 1.4): 16 in the window is too few to freeze; a loaded one takes.
        EXPECT(status_of([&] { small_rt.freeze_baseline(); }) == MLE_ERR_INSUFFICIENT_DATA, "freeze needs 100");
        std::vector<double> latencies(120, 50.0), confidences(120, 0.9);
        mle_baseline b{};
        b.struct_size = sizeof b;
        b.latency_us = latencies.data();
        b.latency_count = latencies.size();
        b.confidence = confidences.data();
        b.confidence_count = confidences.size();
        small_rt.load_baseline(b);
        s = small_rt.snapshot();
        EXPECT(s.has_baseline == 1 && s.baseline_count == 120, "the loaded baseline is the variant's");
        EXPECT(small_rt.export_metrics(MLE_METRICS_PROMETHEUS).find("mlops_edge_baseline_confidence_mean") !=
                   std::string::npos,
               "the baseline is exported");
    }

    // Telemetry + runtime. The backoff after a RETRY is an hour: only the moved clock ends it.
    std::atomic<int> uploads{0};
    std::vector<std::string> batches;
    bool fail_next = true;
    auto topts = mle::Telemetry::default_options();
    topts.retry_initial_ms = 3600 * 1000;
    topts.retry_max_ms = 3600 * 1000;
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
    ropts.runtime.supervisor_thread = 0;
    mle::Runtime rt(digits, ropts, &telemetry);
    std::vector<mle::Event> events;
    rt.set_event_callback([&](const mle::Event &e) { events.push_back(e); });
    auto digits_b = mle::Model::load(digits_path);
    rt.set_experiment("exp", {{"control", &digits, 0.5}, {"treatment", &digits_b, 0.5}});
    EXPECT(status_of([&] { rt.set_experiment("exp", {{"a", &digits, 0.7}, {"b", &digits_b, 0.7}}); }) ==
               MLE_ERR_INVALID_ARGUMENT,
           "weights not summing to 1");
    EXPECT(status_of([&] { rt.set_experiment("exp", {{"a", &digits, 1.0}}, 7); }) == MLE_ERR_INVALID_ARGUMENT,
           "an unknown scheme");
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
    EXPECT(rt.variant_stats(1).struct_size == sizeof(mle_variant_stats) &&
               std::string(rt.variant_stats(1).name) == "treatment",
           "variant stats name the variant");
    EXPECT(status_of([&] { rt.variant_stats(2); }) == MLE_ERR_INVALID_ARGUMENT, "no such variant");
    // The GrowthBook schemes: a full-weight variant always wins; a bad weight set is refused.
    EXPECT(mle::ab_assign("exp", "u", {0.0, 1.0}, MLE_ASSIGN_GROWTHBOOK_V1) == 1 &&
               mle::ab_assign("exp", "u", {1.0, 0.0}, MLE_ASSIGN_GROWTHBOOK_V2) == 0,
           "GrowthBook schemes");
    EXPECT(status_of([] { mle::ab_assign("exp", "u", {0.5, 0.5}, 3); }) == MLE_ERR_INVALID_ARGUMENT,
           "an unknown scheme (stateless)");
    EXPECT(status_of([] { mle::ab_assign("exp", "u", {0.5, 0.6}); }) == MLE_ERR_INVALID_ARGUMENT,
           "weights not summing to 1 (stateless)");
    rt.set_assignment_hook([](std::string_view, std::string_view user) -> int64_t { return user == "vip" ? 1 : -1; });
    EXPECT(rt.classify_f32("vip", values).variant == 1, "the hook decides");
    rt.set_assignment_hook([](std::string_view, std::string_view) -> int64_t { throw std::runtime_error("bug"); });
    rt.classify_f32("someone", values);  // a throwing hook falls back to hashing
    EXPECT(rt.health().hook_errors == 1, "a throwing hook is counted, not propagated");
    rt.set_assignment_hook(nullptr);
    auto before = rt.health();
    EXPECT(status_of([&] { rt.classify_f32("x", {1, 2}); }) == MLE_ERR_INPUT_SHAPE, "bad input");
    auto after = rt.health();
    EXPECT(after.requests == before.requests + 1 && after.errors == before.errors + 1,
           "a refused runtime request is counted in health");
    auto sig = rt.significance(0, 1);
    EXPECT(sig.struct_size == sizeof(mle_significance_result) && sig.p_value >= 0 && sig.p_value <= 1,
           "significance");
    auto fixed = mle::ab_significance(50, 1000, 80, 1000);
    EXPECT(fixed.significant == 1 && std::fabs(fixed.control_rate - 0.05) < 1e-12, "significance on counts");
    EXPECT(status_of([] { mle::ab_significance(5, 0, 1, 10); }) == MLE_ERR_INVALID_ARGUMENT, "a total of 0");

    // Health with the models array: 4 variants and a shadow are 5 models, more than the
    // wrapper's first guess of 4, so it grows the array and asks again.
    rt.set_experiment("wide", {{"v0", &digits, 0.25}, {"v1", &digits_b, 0.25}, {"v2", &digits, 0.25},
                               {"v3", &digits_b, 0.25}});
    rt.set_shadow(digits_b, 1.0);
    std::vector<mle_loaded_model> models;
    auto health = rt.health(&models);
    bool sizes_ok = true, shadow_seen = false;
    for (const auto &m : models) {
        sizes_ok = sizes_ok && m.struct_size == sizeof(mle_loaded_model);
        shadow_seen = shadow_seen || m.role == MLE_ROLE_SHADOW;
    }
    EXPECT(health.struct_size == sizeof(mle_health) && health.model_count == 5 && models.size() == 5,
           "health reports every loaded model");
    EXPECT(sizes_ok && shadow_seen && models[0].role == MLE_ROLE_VARIANT &&
               std::string(models[0].variant_name) == "v0" && std::string(models[0].version).size() > 0,
           "loaded models in this header's layout");
    rt.classify_f32("shadowed", values);
    rt.evaluate();  // runs the queued shadow comparison
    auto shadow = rt.shadow_report();
    EXPECT(shadow.struct_size == sizeof(mle_shadow_report) && shadow.sampled == 1 && shadow.compared == 1 &&
               shadow.agreed == 1,
           "shadow report");
    rt.clear_shadow();
    EXPECT(status_of([&] { rt.shadow_report(); }) == MLE_ERR_INVALID_STATE, "no shadow");
    models.clear();
    rt.set_experiment("exp", {{"control", &digits, 0.5}, {"treatment", &digits_b, 0.5}});
    EXPECT(rt.health(&models).model_count == 2 && models.size() == 2, "health after the shadow left");

    // Telemetry: the first upload throws (RETRY); the batch then waits for its backoff, which
    // ends only when the library's clock is moved past it.
    auto r1 = telemetry.flush();
    EXPECT(r1.struct_size == sizeof(mle_flush_report) && r1.retried == 1 && uploads == 1, "a throwing upload is a RETRY");
    auto waiting = telemetry.flush();
    EXPECT(waiting.backing_off == 1 && waiting.batches_sent == 0 && uploads == 1 &&
               waiting.retry_after_ms > 0 && waiting.retry_after_ms <= 3600 * 1000,
           "the batch waits for its backoff");
    mle_test_advance_clock(3600 * 1000);
    auto r2 = telemetry.flush();
    auto tstats = telemetry.stats();
    EXPECT(r2.batches_sent >= 1 && tstats.pending == 0 && tstats.sent == tstats.recorded, "delivered after the retry");
    EXPECT(tstats.struct_size == sizeof(mle_telemetry_stats) && tstats.batches_retried == 1, "telemetry stats");
    EXPECT(!batches.empty() && batches[0].rfind("{\"schema\":\"mlops_edge.telemetry\"", 0) == 0, "JSON Lines batch");
    EXPECT(rt.export_metrics(MLE_METRICS_OPENMETRICS).find("# EOF") != std::string::npos, "runtime export");

    // Self-test cases (struct_size in every element): a case the model fails refuses the swap.
    mle::Session digits_session(digits);
    const std::string label_of_values = digits_session.classify_f32(values).label;
    const std::string wrong_label = label_of_values == "0" ? "1" : "0";
    const size_t refused_before = rt.health().refused_models;
    EXPECT(status_of([&] {
               rt.swap(1, digits_b,
                       {mle::SelfTestCase::of_features(values, label_of_values),
                        mle::SelfTestCase::of_features(values, wrong_label)});
           }) == MLE_ERR_SELF_TEST_FAILED,
           "a failed self-test case refuses the swap");
    EXPECT(rt.health().refused_models == refused_before + 1, "the refusal is counted");
    rt.swap(1, digits_b, {mle::SelfTestCase::of_features(values, label_of_values)});
    EXPECT(status_of([&] { rt.swap(1, digits_b, {mle::SelfTestCase::of_text("text", label_of_values)}); }) ==
               MLE_ERR_SELF_TEST_FAILED,
           "a text case for a tensor model refuses the swap");

    // swap_path with model options: max_model_bytes applies to the file the runtime loads.
    const size_t swaps_before = rt.health().swaps;
    message.clear();
    EXPECT(status_of([&] { rt.swap_path(1, digits_path, small); }, &message) == MLE_ERR_MODEL_LIMIT,
           "swap_path of a model above max_model_bytes: MLE_ERR_MODEL_LIMIT");
    EXPECT(events.back().kind == MLE_EVENT_SWAP_REFUSED, "the refused load is an event");
    rt.swap_path(1, digits_path);
    EXPECT(rt.health().swaps == swaps_before + 1 && events.back().kind == MLE_EVENT_SWAPPED, "swap_path swaps");

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
    auto candidate = mle::Model::load(digits_path);
    rt.set_experiment("exp", {{"control", &digits, 1.0}});
    rt.start_rollout(0, candidate, {50, 100}, 10);
    EXPECT(rt.health().rollout_active == 1 && rt.health().rollout_percent == 50, "the rollout runs");
    EXPECT(status_of([&] { rt.start_rollout(0, candidate); }) == MLE_ERR_INVALID_STATE, "one rollout at a time");
    EXPECT(status_of([&] { rt.start_rollout(0, candidate, {1, 2, 3, 4, 5, 6, 7, 8, 100}); }) ==
               MLE_ERR_INVALID_ARGUMENT,
           "at most MLE_MAX_STAGES stages");
    rt.rollback(0);
    EXPECT(status_of([&] { rt.promote(); }) == MLE_ERR_INVALID_STATE, "nothing to promote");
    auto finals = rt.shutdown(2000);
    EXPECT(!finals.empty() && finals[0].snapshot.struct_size == sizeof(mle_snapshot), "final snapshots");
    EXPECT(status_of([&] { rt.classify_f32("u", values); }) == MLE_ERR_SHUTTING_DOWN, "after shutdown");
    EXPECT(status_of([&] { rt.shutdown(); }) == MLE_ERR_INVALID_STATE, "a second shutdown");
    EXPECT(events.size() >= 4, "events reached the lambda");

    input_schema(root);
    spool(root);
    packages(root);

    std::printf("%d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
