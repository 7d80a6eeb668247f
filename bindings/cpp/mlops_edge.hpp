// mlops_edge.hpp — a header-only C++17 wrapper over the C API (include/mlops_edge.h, C ABI 1.3).
//
// - Handles are move-only RAII classes: Model, Session, Monitor, Telemetry, Runtime.
// - Every failing call throws mle::Error, carrying the mle_status (compare it with the MLE_ERR_*
//   constants of the C header) and the library's message (mle_last_error()).
// - The ABI is checked once: the first wrapper object a program creates (or the first option
//   defaults it asks for) calls mle_abi_check(MLE_ABI_VERSION); a library that does not serve
//   this header makes that call, and every later one, throw mle::Error(MLE_ERR_ABI_MISMATCH).
// - Structs that grow: the wrapper sets struct_size on every struct it hands to the library
//   (options come from the *_init functions through X::default_options(), and the wrapper stamps
//   sizeof on its own copy of whatever options it is given), and the C structs it returns
//   (snapshots, health, statistics) carry struct_size == sizeof as this header declares them.
//   Structs the library passes to callbacks are copied into this header's layout before the
//   callback sees them.
// - Optional arguments that the C API takes as "NULL = defaults" are std::optional here.
// - Callbacks are std::function objects owned by the library through its userdata/free_userdata
//   pair: they live exactly as long as they are registered. An exception thrown by a callback
//   never crosses into the C library: it is caught (an upload then counts as RETRY, a hook answer
//   as "no answer", an event or level callback just returns).
// - Thread safety is the C API's: Model, Monitor, Telemetry and Runtime may be shared between
//   threads; a Session serves one call at a time (a second concurrent call throws
//   MLE_ERR_SESSION_BUSY): give each thread its own.
#ifndef MLOPS_EDGE_HPP
#define MLOPS_EDGE_HPP

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mlops_edge.h"

namespace mle {

/// A failed call: the C status and the message of mle_last_error().
class Error : public std::runtime_error {
  public:
    Error(mle_status status, const std::string &message)
        : std::runtime_error(std::string(mle_status_str(status)) + ": " + message), status_(status) {}
    /// The MLE_ERR_* code (e.g. MLE_ERR_MODEL_LIMIT, MLE_ERR_SESSION_BUSY, MLE_ERR_ABI_MISMATCH, or
    /// MLE_ERR_SPOOL_LOCKED since C ABI 1.1).
    mle_status status() const noexcept { return status_; }

  private:
    mle_status status_;
};

/// Throws mle::Error unless `status` is MLE_OK.
inline void check(mle_status status) {
    if (status != MLE_OK) throw Error(status, mle_last_error());
}

/// The library version, e.g. "0.4.0" (needs no ABI check: safe to print when the check fails).
inline std::string version() { return mle_version(); }

/// The C ABI version the library implements, `(major << 16) | minor`; MLE_ABI_VERSION is the
/// one this header was written for.
inline uint32_t abi_version() noexcept { return mle_abi_version(); }

/// Throws mle::Error(MLE_ERR_ABI_MISMATCH) unless the library serves a program compiled against
/// ABI `compiled` (the wrapper calls it once with MLE_ABI_VERSION before its first object).
inline void check_abi(uint32_t compiled = MLE_ABI_VERSION) { check(mle_abi_check(compiled)); }

namespace detail {
/// The outcome of the one ABI check, kept with its message: mle_last_error() is per thread and
/// overwritten by later failures, and later objects must throw the same error.
struct AbiCheck {
    mle_status status;
    std::string message;
};

/// Runs mle_abi_check(MLE_ABI_VERSION) the first time any wrapper object is made (a
/// function-local static: once per process, thread-safe) and throws on every call if it failed.
inline void require_abi() {
    static const AbiCheck result = [] {
        mle_status status = mle_abi_check(MLE_ABI_VERSION);
        return AbiCheck{status, status == MLE_OK ? std::string() : std::string(mle_last_error())};
    }();
    if (result.status != MLE_OK) throw Error(result.status, result.message);
}

/// An options struct filled with the library's defaults by its *_init function.
template <typename T>
T initialized(mle_status (*init)(T *, size_t)) {
    require_abi();
    T value{};
    check(init(&value, sizeof value));
    return value;
}

/// A copy of caller options with struct_size set to this header's sizeof (what the library
/// reads): options built by hand (`T o{}`) or copied around stay valid.
template <typename T>
T sized(T value) noexcept {
    value.struct_size = static_cast<uint32_t>(sizeof(T));
    return value;
}

/// An empty output struct, ready for the library to fill (struct_size set, the rest zero).
template <typename T>
T output() noexcept {
    T value{};
    value.struct_size = static_cast<uint32_t>(sizeof(T));
    return value;
}

/// A copy, in this header's layout, of a struct the library passed to a callback (whose
/// struct_size is the library's own): the fields both know are copied, any others stay zero.
template <typename T>
T from_library(const T &library) noexcept {
    T copy{};
    std::memcpy(&copy, &library, std::min<size_t>(library.struct_size, sizeof(T)));
    copy.struct_size = static_cast<uint32_t>(sizeof(T));
    return copy;
}

template <typename T, void (*Free)(T *)>
struct Deleter {
    void operator()(T *p) const noexcept { Free(p); }
};
template <typename T, void (*Free)(T *)>
using Handle = std::unique_ptr<T, Deleter<T, Free>>;

/// A heap copy of a callable, freed by the library through free_userdata.
template <typename F>
void destroy(void *userdata) noexcept {
    delete static_cast<F *>(userdata);
}

inline std::string text(const char *s) { return s ? std::string(s) : std::string(); }

/// A pointer to the options for the call, or nullptr (the library's defaults).
template <typename T>
const T *optional_ptr(const std::optional<T> &value) noexcept {
    return value ? &*value : nullptr;
}
}  // namespace detail

/// What a model is (its card, and what its input takes).
struct ModelInfo {
    std::string name, version, trained_at, description, metrics_json;
    int32_t input_kind = 0;                     // MLE_INPUT_*
    int64_t trained_at_unix = MLE_TIME_UNKNOWN;  // seconds since the epoch
    uint32_t label_count = 0, max_input_length = 0, plan_count = 0;
    int32_t input_element_type = MLE_ELEMENT_FLOAT32;  // MLE_ELEMENT_*: what the graph takes (f32 is converted)
    bool handles_missing_values = false;              // NaN features taken as missing values
    // ABI 1.3: where the model comes from (docs/packages.md).
    bool from_package = false;                        // loaded from a model package
    uint64_t package_version = 0;                     // its package_version (0: plain ONNX)
    bool signed_package = false;                      // the package's signature verified
    std::array<uint8_t, 32> signer_public_key{};      // the key that signed it (zeros: unsigned)
};

/// A self-test case for a swap or a rollout: the input (text, features or bytes) and the label
/// the model must give it.
struct SelfTestCase {
    int32_t input_kind = MLE_INPUT_TEXT;  // which of the three inputs is used
    std::string text;                     // UTF-8, without NUL bytes (the C struct is NUL-terminated)
    std::vector<float> features;
    std::vector<uint8_t> bytes;
    std::string expected_label;

    static SelfTestCase of_text(std::string text, std::string expected_label) {
        SelfTestCase c;
        c.input_kind = MLE_INPUT_TEXT;
        c.text = std::move(text);
        c.expected_label = std::move(expected_label);
        return c;
    }
    static SelfTestCase of_features(std::vector<float> features, std::string expected_label) {
        SelfTestCase c;
        c.input_kind = MLE_INPUT_TENSOR;
        c.features = std::move(features);
        c.expected_label = std::move(expected_label);
        return c;
    }
    static SelfTestCase of_bytes(std::vector<uint8_t> bytes, std::string expected_label) {
        SelfTestCase c;
        c.input_kind = MLE_INPUT_BYTES;
        c.bytes = std::move(bytes);
        c.expected_label = std::move(expected_label);
        return c;
    }
};

namespace detail {
/// The C array of `cases` (pointing into them: valid while they live), struct_size in every
/// element.
inline std::vector<mle_self_test_case> c_cases(const std::vector<SelfTestCase> &cases) {
    std::vector<mle_self_test_case> out;
    out.reserve(cases.size());
    for (const auto &c : cases) {
        mle_self_test_case e = output<mle_self_test_case>();
        switch (c.input_kind) {
            case MLE_INPUT_TEXT:
                e.text = c.text.c_str();
                break;
            case MLE_INPUT_TENSOR:
                e.features = c.features.data();
                e.feature_count = c.features.size();
                break;
            case MLE_INPUT_BYTES:
                e.bytes = c.bytes.data();
                e.byte_count = c.bytes.size();
                break;
            default:
                throw Error(MLE_ERR_INVALID_ARGUMENT, "SelfTestCase::input_kind is not an MLE_INPUT_* value");
        }
        e.expected_label = c.expected_label.c_str();
        out.push_back(e);
    }
    return out;
}
}  // namespace detail

/// A loaded classifier (immutable; sessions and runtimes keep it alive).
class Model {
  public:
    /// The loading defaults (mle_model_options_init): change e.g. max_model_bytes (files above
    /// it are refused with MLE_ERR_MODEL_LIMIT before they are read), max_sequence_length,
    /// max_batch. `sequence_buckets` is a pointer the caller keeps alive during the load.
    static mle_model_options default_options() { return detail::initialized(&mle_model_options_init); }

    /// Loads a model directory (model.onnx + card + tokenizer) or an .onnx file.
    static Model load(const std::string &path, const std::optional<mle_model_options> &options = std::nullopt) {
        detail::require_abi();
        std::optional<mle_model_options> o;
        if (options) o = detail::sized(*options);
        mle_model *m = nullptr;
        check(mle_model_load(path.c_str(), detail::optional_ptr(o), &m));
        return Model(m);
    }
    /// Loads from memory (tokenizer JSON and card JSON may be empty); the library copies what it
    /// needs.
    static Model from_bytes(const std::vector<uint8_t> &onnx, const std::string &tokenizer_json = {},
                            const std::string &card_json = {},
                            const std::optional<mle_model_options> &options = std::nullopt) {
        detail::require_abi();
        std::optional<mle_model_options> o;
        if (options) o = detail::sized(*options);
        mle_model *m = nullptr;
        check(mle_model_load_bytes(onnx.data(), onnx.size(),
                                   tokenizer_json.empty() ? nullptr
                                                          : reinterpret_cast<const uint8_t *>(tokenizer_json.data()),
                                   tokenizer_json.size(), card_json.empty() ? nullptr : card_json.c_str(),
                                   detail::optional_ptr(o), &m));
        return Model(m);
    }
    ModelInfo info() const {
        auto d = detail::output<mle_model_details>();
        check(mle_model_get_details(handle_.get(), &d));
        ModelInfo i;
        i.name = detail::text(d.name);
        i.version = detail::text(d.version);
        i.trained_at = detail::text(d.trained_at);
        i.description = detail::text(d.description);
        i.metrics_json = detail::text(d.metrics_json);
        i.input_kind = d.input_kind;
        i.trained_at_unix = d.trained_at_unix;
        i.label_count = d.label_count;
        i.max_input_length = d.max_input_length;
        i.plan_count = d.plan_count;
        i.input_element_type = d.input_element_type;
        i.handles_missing_values = d.handles_missing_values != 0;
        i.from_package = d.from_package != 0;
        i.package_version = d.package_version;
        i.signed_package = d.signed_package != 0;
        std::copy(std::begin(d.signer_public_key), std::end(d.signer_public_key), i.signer_public_key.begin());
        return i;
    }
    std::string label(size_t index) const {
        const char *l = nullptr;
        check(mle_model_get_label(handle_.get(), index, &l));
        return l;
    }
    size_t label_count() const { return info().label_count; }
    /// The plan lengths (text models: the sequence buckets, ascending; otherwise one value).
    std::vector<uint32_t> plan_lengths() const {
        size_t count = 0;
        check(mle_model_get_plan_lengths(handle_.get(), nullptr, 0, &count));
        std::vector<uint32_t> lengths(count);
        check(mle_model_get_plan_lengths(handle_.get(), lengths.data(), lengths.size(), &count));
        lengths.resize(count);
        return lengths;
    }
    const mle_model *get() const noexcept { return handle_.get(); }

  private:
    explicit Model(mle_model *m) : handle_(m) {}
    detail::Handle<mle_model, mle_model_free> handle_;
};

/// One answer of a session.
struct Prediction {
    uint32_t label_index = 0;
    std::string label;
    float score = 0;
    uint64_t latency_ns = 0;
    uint32_t flags = 0;  // MLE_FLAG_*
    uint32_t input_length = 0;
    std::vector<float> probabilities;
};

class Monitor;

/// One thread's scratch for one model. A session serves one call at a time (a call made while
/// another runs throws MLE_ERR_SESSION_BUSY); it may move between threads between calls.
class Session {
  public:
    /// `options` (pool mode and size) as from default_options(); std::nullopt: the defaults.
    explicit Session(const Model &model, const std::optional<mle_session_options> &options = std::nullopt) {
        detail::require_abi();
        std::optional<mle_session_options> o;
        if (options) o = detail::sized(*options);
        mle_session *s = nullptr;
        check(mle_session_new(model.get(), detail::optional_ptr(o), &s));
        handle_.reset(s);
        labels_ = model.label_count();
    }
    /// MLE_POOL_AUTO, no fixed size (the session options have no *_init function: all zero
    /// means the defaults).
    static mle_session_options default_options() {
        detail::require_abi();
        return detail::output<mle_session_options>();
    }
    Prediction classify_text(std::string_view text) {
        return run([&](mle_prediction *p, float *probs, size_t cap, size_t *n) {
            return mle_session_classify_text(handle_.get(), text.data(), text.size(), p, probs, cap, n);
        });
    }
    Prediction classify_f32(const std::vector<float> &values) {
        return run([&](mle_prediction *p, float *probs, size_t cap, size_t *n) {
            return mle_session_classify_f32(handle_.get(), values.data(), values.size(), p, probs, cap, n);
        });
    }
    Prediction classify_bytes(const std::vector<uint8_t> &data) {
        return run([&](mle_prediction *p, float *probs, size_t cap, size_t *n) {
            return mle_session_classify_bytes(handle_.get(), data.data(), data.size(), p, probs, cap, n);
        });
    }
    /// Counters: every classify call counts once (requests = successes + errors), refused
    /// arguments (invalid UTF-8, a wrong input) included.
    mle_session_stats stats() const {
        auto s = detail::output<mle_session_stats>();
        check(mle_session_get_stats(handle_.get(), &s));
        return s;
    }
    inline void attach(const Monitor &monitor);
    void detach() { check(mle_session_detach_monitor(handle_.get())); }
    mle_session *get() const noexcept { return handle_.get(); }

  private:
    template <typename Call>
    Prediction run(Call call) {
        Prediction out;
        out.probabilities.resize(labels_);  // the model's label count: always large enough
        auto p = detail::output<mle_prediction>();
        size_t n = 0;
        check(call(&p, out.probabilities.data(), out.probabilities.size(), &n));
        out.probabilities.resize(n);
        out.label_index = p.label_index;
        out.label = detail::text(p.label);
        out.score = p.score;
        out.latency_ns = p.latency_ns;
        out.flags = p.flags;
        out.input_length = p.input_length;
        return out;
    }
    detail::Handle<mle_session, mle_session_free> handle_;
    size_t labels_ = 0;
};

/// A level change of a monitor: (previous level, current level, the snapshot), MLE_LEVEL_*.
using LevelCallback = std::function<void(int32_t, int32_t, const mle_snapshot &)>;

/// The on-device monitor (lock-free ingest from attached sessions; analysis on demand).
class Monitor {
  public:
    explicit Monitor(const mle_monitor_options &options) {
        detail::require_abi();
        const mle_monitor_options o = detail::sized(options);
        mle_monitor *m = nullptr;
        check(mle_monitor_new(&o, &m));
        handle_.reset(m);
        label_slots_ = static_cast<size_t>(o.label_count) + 1;
    }
    static mle_monitor_options default_options() { return detail::initialized(&mle_monitor_options_init); }
    static mle_monitor_thresholds default_thresholds() { return detail::initialized(&mle_monitor_thresholds_init); }
    /// Analyses now: percentiles, histograms, drift against the baseline, alerts, level.
    /// `label_counts` (optional) receives the window's predicted-label counts, label_count + 1
    /// values (the last: labels out of range).
    mle_snapshot snapshot(std::vector<uint64_t> *label_counts = nullptr) const {
        auto s = detail::output<mle_snapshot>();
        size_t written = 0;
        if (label_counts) {
            label_counts->assign(label_slots_, 0);
            check(mle_monitor_snapshot(handle_.get(), &s, label_counts->data(), label_counts->size(), &written));
            label_counts->resize(written);
        } else {
            check(mle_monitor_snapshot(handle_.get(), &s, nullptr, 0, &written));
        }
        return s;
    }
    void freeze_baseline() const { check(mle_monitor_freeze_baseline(handle_.get())); }
    void clear_baseline() const { check(mle_monitor_clear_baseline(handle_.get())); }
    mle_monitor_thresholds thresholds() const {
        auto t = detail::output<mle_monitor_thresholds>();
        check(mle_monitor_get_thresholds(handle_.get(), &t));
        return t;
    }
    /// `t` as from default_thresholds() or thresholds(), then changed.
    void set_thresholds(const mle_monitor_thresholds &t) const {
        const mle_monitor_thresholds sized = detail::sized(t);
        check(mle_monitor_set_thresholds(handle_.get(), &sized));
    }
    /// Installs the level-change callback (an empty function removes it). It runs inside
    /// snapshot(), on the analysing thread, and must not analyse this monitor.
    void set_level_callback(LevelCallback callback) const {
        if (!callback) {
            check(mle_monitor_set_level_callback(handle_.get(), nullptr, nullptr, nullptr));
            return;
        }
        auto *f = new LevelCallback(std::move(callback));
        // On failure the library frees `f` itself (free_userdata runs at once).
        check(mle_monitor_set_level_callback(handle_.get(), &level_trampoline, f, &detail::destroy<LevelCallback>));
    }
    /// The latency histogram since creation (seconds, every request), mergeable across devices.
    mle_exp_histogram latency_histogram() const {
        auto h = detail::output<mle_exp_histogram>();
        check(mle_monitor_get_latency_histogram(handle_.get(), &h));
        return h;
    }
    inline std::string export_metrics(int32_t format, const std::string &model_version,
                                      const class Telemetry *telemetry = nullptr) const;
    const mle_monitor *get() const noexcept { return handle_.get(); }

  private:
    static void level_trampoline(void *userdata, int32_t previous, int32_t current, const mle_snapshot *s) noexcept {
        try {
            const mle_snapshot snapshot = detail::from_library(*s);
            (*static_cast<LevelCallback *>(userdata))(previous, current, snapshot);
        } catch (...) {
        }
    }
    detail::Handle<mle_monitor, mle_monitor_free> handle_;
    size_t label_slots_ = 1;
};

inline void Session::attach(const Monitor &monitor) { check(mle_session_attach_monitor(handle_.get(), monitor.get())); }

/// Answer of an upload callback.
enum class Upload : int32_t { Ok = MLE_UPLOAD_OK, Retry = MLE_UPLOAD_RETRY, Drop = MLE_UPLOAD_DROP };

/// A batch offered to the upload callback (the bytes are valid during the call only).
struct Batch {
    uint64_t id;
    std::string_view data;  // JSON Lines
    size_t records;
    uint64_t first_seq, last_seq;
    uint32_t attempt;
};

/// Telemetry: the record queue, batches, spool and the host's upload hooks. One Telemetry per
/// spool file: a second one on the same spool_path while the first (or a runtime using it) lives
/// throws MLE_ERR_SPOOL_LOCKED (since C ABI 1.1). stats() says what a damaged or emptied spool
/// lost at creation (spool_corrupt_bytes, spool_corrupt_regions, spool_truncated: C ABI 1.1).
class Telemetry {
  public:
    using UploadFn = std::function<Upload(const Batch &)>;
    using ReadyFn = std::function<void(uint64_t)>;

    /// `options` as from default_options() (its strings need only live during this call); its
    /// upload, ready, userdata and free_userdata fields are the wrapper's.
    Telemetry(mle_telemetry_options options, UploadFn upload, ReadyFn ready = {}) {
        detail::require_abi();
        auto *callbacks = new Callbacks{std::move(upload), std::move(ready)};
        options = detail::sized(options);
        options.upload = &upload_trampoline;
        options.ready = callbacks->ready ? &ready_trampoline : nullptr;
        options.userdata = callbacks;
        options.free_userdata = &detail::destroy<Callbacks>;
        mle_telemetry *t = nullptr;
        // On failure the library frees the callbacks itself.
        check(mle_telemetry_new(&options, &t));
        handle_.reset(t);
    }
    static mle_telemetry_options default_options() { return detail::initialized(&mle_telemetry_options_init); }
    /// Offers batches to the upload callback (on this thread) until one is answered RETRY,
    /// a batch waits for its backoff, or nothing is left.
    mle_flush_report flush() const {
        auto r = detail::output<mle_flush_report>();
        check(mle_telemetry_flush(handle_.get(), &r));
        return r;
    }
    void persist() const { check(mle_telemetry_persist(handle_.get())); }
    mle_telemetry_stats stats() const {
        auto s = detail::output<mle_telemetry_stats>();
        check(mle_telemetry_get_stats(handle_.get(), &s));
        return s;
    }
    const mle_telemetry *get() const noexcept { return handle_.get(); }

  private:
    struct Callbacks {
        UploadFn upload;
        ReadyFn ready;
    };
    // mle_batch carries the library's struct_size; every field read here is in ABI 1.0, which
    // any library that passed the ABI check has.
    static int32_t upload_trampoline(void *userdata, const mle_batch *b) noexcept {
        try {
            Batch batch{b->id,        std::string_view(reinterpret_cast<const char *>(b->data), b->len),
                        b->records,   b->first_seq,
                        b->last_seq,  b->attempt};
            return static_cast<int32_t>(static_cast<Callbacks *>(userdata)->upload(batch));
        } catch (...) {
            return MLE_UPLOAD_RETRY;  // nothing is lost to a throwing callback
        }
    }
    static void ready_trampoline(void *userdata, uint64_t waiting) noexcept {
        try {
            static_cast<Callbacks *>(userdata)->ready(waiting);
        } catch (...) {
        }
    }
    detail::Handle<mle_telemetry, mle_telemetry_free> handle_;
};

namespace detail {
/// Renders metrics with the size-then-fill protocol of the export calls.
template <typename Call>
std::string render(Call call) {
    size_t needed = 0;
    mle_status s = call(nullptr, 0, &needed);
    if (s != MLE_ERR_BUFFER_TOO_SMALL) check(s);
    for (int attempt = 0; attempt < 4; attempt++) {
        std::string out(needed + 4096, '\0');  // headroom: the text may grow between calls
        size_t len = 0;
        s = call(&out[0], out.size(), &len);
        if (s == MLE_OK) {
            out.resize(len);  // on success `len` is the text's length, without the NUL
            return out;
        }
        if (s != MLE_ERR_BUFFER_TOO_SMALL) check(s);
        needed = len;
    }
    throw Error(MLE_ERR_BUFFER_TOO_SMALL, "metrics kept growing while being rendered");
}
}  // namespace detail

inline std::string Monitor::export_metrics(int32_t format, const std::string &model_version,
                                           const Telemetry *telemetry) const {
    return detail::render([&](char *buf, size_t cap, size_t *len) {
        return mle_monitor_export_metrics(handle_.get(), model_version.c_str(), telemetry ? telemetry->get() : nullptr,
                                          format, buf, cap, len);
    });
}

/// One answer of the runtime.
struct Served {
    size_t variant = 0;
    bool candidate = false;  // the rollout candidate answered
    uint32_t label_index = 0;
    std::string label, version;
    float score = 0;
    uint64_t latency_ns = 0;
    uint32_t flags = 0, input_length = 0;
};

/// One deployment event.
struct Event {
    int32_t kind;  // MLE_EVENT_*
    size_t variant;
    std::string from_version, to_version;
    uint32_t stage_percent;
    int32_t level;  // MLE_LEVEL_*
    std::string message;
};

/// A variant of an experiment (variant 0 is control).
struct VariantSpec {
    std::string name;
    const Model *model;
    double weight;
};

/// Runtime options: the C struct's scalar fields, plus the monitor template and thresholds every
/// loaded model's monitor gets. The Runtime points the C struct's `monitor`, `thresholds` and
/// `telemetry` fields at its own copies for the duration of mle_runtime_new (the library copies
/// them), so whatever those three pointers hold here is ignored.
struct RuntimeOptions {
    mle_runtime_options runtime = detail::initialized(&mle_runtime_options_init);
    std::optional<mle_monitor_options> monitor;        // std::nullopt: the library's defaults
    std::optional<mle_monitor_thresholds> thresholds;  // start from Monitor::default_thresholds()
};

/// The deployment runtime: A/B variants, shadow, hot swap, staged rollout, health, telemetry.
class Runtime {
  public:
    using EventFn = std::function<void(const Event &)>;
    using HookFn = std::function<int64_t(std::string_view experiment, std::string_view user_id)>;

    /// `telemetry`, when given, records every request and event (the runtime keeps its own
    /// reference: the Telemetry may be destroyed first).
    explicit Runtime(const Model &production, const RuntimeOptions &options = RuntimeOptions(),
                     const Telemetry *telemetry = nullptr) {
        detail::require_abi();
        // The pointed-to structs live on this frame for the call; the library copies them.
        std::optional<mle_monitor_options> monitor;
        std::optional<mle_monitor_thresholds> thresholds;
        if (options.monitor) monitor = detail::sized(*options.monitor);
        if (options.thresholds) thresholds = detail::sized(*options.thresholds);
        mle_runtime_options o = detail::sized(options.runtime);
        o.monitor = detail::optional_ptr(monitor);
        o.thresholds = detail::optional_ptr(thresholds);
        o.telemetry = telemetry ? telemetry->get() : nullptr;
        mle_runtime *r = nullptr;
        check(mle_runtime_new(production.get(), &o, &r));
        handle_.reset(r);
    }
    static RuntimeOptions default_options() { return RuntimeOptions(); }

    /// Classifies for `user_id` (empty: anonymous; see mle_runtime_classify_text).
    Served classify_text(const std::string &user_id, std::string_view text) const {
        return serve([&](mle_served *out) {
            return mle_runtime_classify_text(handle_.get(), user_id.c_str(), text.data(), text.size(), out, nullptr,
                                             0, nullptr);
        });
    }
    Served classify_f32(const std::string &user_id, const std::vector<float> &features) const {
        return serve([&](mle_served *out) {
            return mle_runtime_classify_f32(handle_.get(), user_id.c_str(), features.data(), features.size(), out,
                                            nullptr, 0, nullptr);
        });
    }
    Served classify_bytes(const std::string &user_id, const std::vector<uint8_t> &data) const {
        return serve([&](mle_served *out) {
            return mle_runtime_classify_bytes(handle_.get(), user_id.c_str(), data.data(), data.size(), out, nullptr,
                                              0, nullptr);
        });
    }
    /// Sets an experiment; `scheme` is MLE_ASSIGN_MD5, MLE_ASSIGN_GROWTHBOOK_V1 or _V2. Every model
    /// must take the inputs production takes (kind, feature count and shape, byte layout) and have
    /// no more labels than max_labels(); otherwise MLE_ERR_INVALID_ARGUMENT and nothing changes.
    void set_experiment(const std::string &name, const std::vector<VariantSpec> &variants,
                        int32_t scheme = MLE_ASSIGN_MD5) const {
        std::vector<mle_variant> c;
        c.reserve(variants.size());
        for (const auto &v : variants) {
            auto e = detail::output<mle_variant>();  // struct_size in every element
            e.name = v.name.c_str();
            e.model = v.model ? v.model->get() : nullptr;
            e.weight = v.weight;
            c.push_back(e);
        }
        check(mle_runtime_set_experiment(handle_.get(), name.c_str(), c.data(), c.size(), scheme));
    }
    /// Installs the event callback (an empty function removes it); it runs on the thread that
    /// caused the event and may call the runtime, except shutdown.
    void set_event_callback(EventFn callback) const {
        if (!callback) {
            check(mle_runtime_set_event_callback(handle_.get(), nullptr, nullptr, nullptr));
            return;
        }
        auto *f = new EventFn(std::move(callback));
        check(mle_runtime_set_event_callback(handle_.get(), &event_trampoline, f, &detail::destroy<EventFn>));
    }
    /// Installs the assignment hook (an empty function removes it): return a variant index, or
    /// anything out of range to let hashing decide (counted in health().hook_errors).
    void set_assignment_hook(HookFn hook) const {
        if (!hook) {
            check(mle_runtime_set_assignment_hook(handle_.get(), nullptr, nullptr, nullptr));
            return;
        }
        auto *f = new HookFn(std::move(hook));
        check(mle_runtime_set_assignment_hook(handle_.get(), &hook_trampoline, f, &detail::destroy<HookFn>));
    }
    /// Hot swap after a self-test (`cases`, or the card's when empty). A model that cannot take the
    /// inputs the runtime serves (another input kind, feature count or shape, byte layout) or has
    /// more labels than max_labels() is refused with MLE_ERR_SELF_TEST_FAILED (since C ABI 1.1)
    /// and the old one keeps serving; a deliberate change is change_input_schema().
    void swap(size_t variant, const Model &model, const std::vector<SelfTestCase> &cases = {}) const {
        const auto c = detail::c_cases(cases);
        check(mle_runtime_swap(handle_.get(), variant, model.get(), c.data(), c.size()));
    }
    /// Loads the model at `path` (with `options`, as Model::load) and swaps it in as swap() does;
    /// a model that fails to load is refused (MLE_EVENT_SWAP_REFUSED) and its status thrown.
    void swap_path(size_t variant, const std::string &path,
                   const std::optional<mle_model_options> &options = std::nullopt,
                   const std::vector<SelfTestCase> &cases = {}) const {
        std::optional<mle_model_options> o;
        if (options) o = detail::sized(*options);
        const auto c = detail::c_cases(cases);
        check(mle_runtime_swap_path(handle_.get(), variant, path.c_str(), detail::optional_ptr(o), c.data(), c.size()));
    }
    /// Starts a staged rollout (`stages`: candidate percent per stage, the last 100; empty: the
    /// defaults; `requests_per_stage` 0: the default). The candidate is refused as swap() refuses
    /// a model (MLE_ERR_SELF_TEST_FAILED).
    void start_rollout(size_t variant, const Model &candidate, const std::vector<uint32_t> &stages = {},
                       uint64_t requests_per_stage = 0, const std::vector<SelfTestCase> &cases = {}) const {
        mle_rollout_options o = detail::initialized(&mle_rollout_options_init);
        if (!stages.empty()) {
            if (stages.size() > MLE_MAX_STAGES) throw Error(MLE_ERR_INVALID_ARGUMENT, "at most 8 rollout stages");
            std::copy(stages.begin(), stages.end(), o.stages_percent);
            o.stage_count = static_cast<uint32_t>(stages.size());
        }
        if (requests_per_stage) o.requests_per_stage = requests_per_stage;
        const auto c = detail::c_cases(cases);
        check(mle_runtime_start_rollout(handle_.get(), variant, candidate.get(), &o, c.data(), c.size()));
    }
    /// Loads the model at `path` (with `options`, as Model::load: a model package is verified
    /// under its trusted keys, or the runtime's) and starts its rollout with the default stages;
    /// a model that fails to load is refused (MLE_EVENT_SWAP_REFUSED) and its status thrown.
    /// Since C ABI 1.3.
    void start_rollout_path(size_t variant, const std::string &path,
                            const std::optional<mle_model_options> &options = std::nullopt,
                            const std::vector<SelfTestCase> &cases = {}) const {
        std::optional<mle_model_options> o;
        if (options) o = detail::sized(*options);
        const auto c = detail::c_cases(cases);
        check(mle_runtime_start_rollout_path(handle_.get(), variant, path.c_str(), detail::optional_ptr(o), nullptr,
                                             c.data(), c.size()));
    }
    /// A deliberate change of input schema: `model` replaces production although it takes another
    /// kind or shape of input, or has more labels, than the runtime serves (what swap() refuses).
    /// It still passes its self-test (`cases`, or the card's when empty). Only while production
    /// serves alone (an experiment of several variants, a rollout or a shadow:
    /// MLE_ERR_INVALID_STATE). From the next request on, send the new inputs; max_labels()
    /// follows the new model; rollback() cannot cross the change (MLE_ERR_INVALID_STATE).
    /// Since C ABI 1.1.
    void change_input_schema(const Model &model, const std::vector<SelfTestCase> &cases = {}) const {
        const auto c = detail::c_cases(cases);
        check(mle_runtime_change_input_schema(handle_.get(), model.get(), c.data(), c.size()));
    }
    void promote() const { check(mle_runtime_promote(handle_.get())); }
    void rollback(size_t variant) const { check(mle_runtime_rollback(handle_.get(), variant)); }
    /// Mirrors `fraction` of production requests to `model`, off the request path. It must take the
    /// inputs production takes (its labels may differ), else MLE_ERR_INVALID_ARGUMENT.
    void set_shadow(const Model &model, double fraction) const {
        check(mle_runtime_set_shadow(handle_.get(), model.get(), fraction));
    }
    void clear_shadow() const { check(mle_runtime_clear_shadow(handle_.get())); }
    mle_shadow_report shadow_report() const {
        auto r = detail::output<mle_shadow_report>();
        check(mle_runtime_get_shadow_report(handle_.get(), &r));
        return r;
    }
    void record_outcome(size_t variant, bool converted) const {
        check(mle_runtime_record_outcome(handle_.get(), variant, converted ? 1 : 0));
    }
    /// The two-proportion z-test of `treatment` against `control` on the recorded outcomes.
    mle_significance_result significance(size_t control, size_t treatment, double confidence = 0.95) const {
        auto r = detail::output<mle_significance_result>();
        check(mle_runtime_test_significance(handle_.get(), control, treatment, confidence, &r));
        return r;
    }
    mle_variant_stats variant_stats(size_t variant) const {
        auto s = detail::output<mle_variant_stats>();
        check(mle_runtime_get_variant_stats(handle_.get(), variant, &s));
        return s;
    }
    /// Freezes the current window of the model with `role` as its baseline (at least 100 successful
    /// requests). Since C ABI 1.4.
    void freeze_baseline(int32_t role = MLE_ROLE_VARIANT, size_t variant = 0) const {
        check(mle_runtime_freeze_baseline(handle_.get(), role, variant));
    }
    /// Loads the host's baseline (copied) into the monitor of the model with `role`. Since C ABI 1.4.
    void load_baseline(const mle_baseline &baseline, int32_t role = MLE_ROLE_VARIANT, size_t variant = 0) const {
        check(mle_runtime_load_baseline(handle_.get(), role, variant, &baseline));
    }
    /// Analyses the monitor of the model with `role` (MLE_ROLE_*; `variant` for MLE_ROLE_VARIANT).
    mle_snapshot snapshot(int32_t role = MLE_ROLE_VARIANT, size_t variant = 0) const {
        auto s = detail::output<mle_snapshot>();
        size_t written = 0;
        check(mle_runtime_snapshot(handle_.get(), role, variant, &s, nullptr, 0, &written));
        return s;
    }
    /// The most labels a model answering this runtime's requests has (the variants and the rollout
    /// candidate, not the shadow): what a probabilities buffer of the C classify calls must hold.
    /// It only changes with change_input_schema(). Since C ABI 1.1.
    size_t max_labels() const {
        size_t n = 0;
        check(mle_runtime_get_max_labels(handle_.get(), &n));
        return n;
    }
    /// One supervisor pass now, on this thread (with runtime.supervisor_thread = 0).
    void evaluate() const { check(mle_runtime_evaluate(handle_.get())); }
    /// The runtime's health; `models` (optional) receives every loaded model (role, variant,
    /// version, staleness, alert level), as many as health().model_count. Since C ABI 1.1 it
    /// carries telemetry_spool_lost_bytes (what the telemetry's spool lost at its creation).
    mle_health health(std::vector<mle_loaded_model> *models = nullptr) const {
        auto h = detail::output<mle_health>();
        if (!models) {
            check(mle_runtime_get_health(handle_.get(), &h, nullptr, 0));
            return h;
        }
        // The count can change between calls (a swap, a shadow set elsewhere): grow to what the
        // library reported and ask again. struct_size goes in every element (the library needs
        // it in element 0, the stride).
        size_t capacity = std::max<size_t>(models->size(), 4);
        for (int attempt = 0; attempt < 8; attempt++) {
            models->assign(capacity, detail::output<mle_loaded_model>());
            mle_status s = mle_runtime_get_health(handle_.get(), &h, models->data(), models->size());
            if (s == MLE_OK) {
                models->resize(h.model_count);
                return h;
            }
            if (s != MLE_ERR_BUFFER_TOO_SMALL) check(s);
            capacity = h.model_count;  // *out is written with the count on BUFFER_TOO_SMALL
        }
        throw Error(MLE_ERR_BUFFER_TOO_SMALL, "the loaded models kept changing while health was read");
    }
    std::string export_metrics(int32_t format) const {
        return detail::render([&](char *buf, size_t cap, size_t *len) {
            return mle_runtime_export_metrics(handle_.get(), format, buf, cap, len);
        });
    }
    /// What shutdown() returns per loaded model.
    struct FinalSnapshot {
        int32_t role;  // MLE_ROLE_*
        size_t variant;
        std::string version;
        mle_snapshot snapshot;
    };
    /// Drains (up to `timeout_ms` for in-flight requests; MLE_ERR_BUSY if some still run: call
    /// again) and stops; returns the last snapshot of every loaded model.
    std::vector<FinalSnapshot> shutdown(uint32_t timeout_ms = 5000) const {
        ShutdownState state;
        check(mle_runtime_shutdown(handle_.get(), timeout_ms, &final_trampoline, &state));
        if (state.failed) throw std::bad_alloc();  // a snapshot could not be kept
        return std::move(state.snapshots);
    }
    const mle_runtime *get() const noexcept { return handle_.get(); }

  private:
    struct ShutdownState {
        std::vector<FinalSnapshot> snapshots;
        bool failed = false;
    };
    template <typename Call>
    Served serve(Call call) const {
        auto s = detail::output<mle_served>();
        check(call(&s));
        Served out;
        out.variant = s.variant;
        out.candidate = s.candidate != 0;
        out.label_index = s.label_index;
        out.label = s.label;
        out.version = s.version;
        out.score = s.score;
        out.latency_ns = s.latency_ns;
        out.flags = s.flags;
        out.input_length = s.input_length;
        return out;
    }
    // mle_event carries the library's struct_size; every field read here is in ABI 1.0.
    static void event_trampoline(void *userdata, const mle_event *e) noexcept {
        try {
            (*static_cast<EventFn *>(userdata))(Event{e->kind, e->variant, detail::text(e->from_version),
                                                      detail::text(e->to_version), e->stage_percent, e->level,
                                                      detail::text(e->message)});
        } catch (...) {
        }
    }
    static int64_t hook_trampoline(void *userdata, const char *exp, size_t exp_len, const char *user,
                                   size_t user_len) noexcept {
        try {
            return (*static_cast<HookFn *>(userdata))(std::string_view(exp, exp_len), std::string_view(user, user_len));
        } catch (...) {
            return -1;  // out of range: the runtime falls back to hashing (and counts it)
        }
    }
    static void final_trampoline(void *userdata, int32_t role, size_t variant, const char *version,
                                 const mle_snapshot *s) noexcept {
        auto *state = static_cast<ShutdownState *>(userdata);
        try {
            state->snapshots.push_back(FinalSnapshot{role, variant, detail::text(version), detail::from_library(*s)});
        } catch (...) {
            state->failed = true;
        }
    }
    detail::Handle<mle_runtime, mle_runtime_free> handle_;
};

/// The A/B assignment, stateless: the variant `scheme` (MLE_ASSIGN_MD5, the runtime's default,
/// or MLE_ASSIGN_GROWTHBOOK_V1/_V2) gives `user_id` in `experiment` with these weights.
inline size_t ab_assign(const std::string &experiment, const std::string &user_id, const std::vector<double> &weights,
                        int32_t scheme = MLE_ASSIGN_MD5) {
    detail::require_abi();
    size_t variant = 0;
    check(mle_ab_assign(experiment.c_str(), user_id.c_str(), weights.data(), weights.size(), scheme, &variant));
    return variant;
}

/// The pooled two-proportion z-test on given counts.
inline mle_significance_result ab_significance(uint64_t control_conversions, uint64_t control_total,
                                               uint64_t treatment_conversions, uint64_t treatment_total,
                                               double confidence = 0.95) {
    detail::require_abi();
    auto r = detail::output<mle_significance_result>();
    check(mle_ab_test_significance(control_conversions, control_total, treatment_conversions, treatment_total,
                                   confidence, &r));
    return r;
}

/// Forwards the library's log records at `max_level` (MLE_LOG_*) and more severe to `callback`
/// (on the logging thread); an empty function (or MLE_LOG_OFF) turns forwarding off.
using LogFn = std::function<void(int32_t level, std::string_view target, std::string_view message)>;
inline void set_log_callback(int32_t max_level, LogFn callback) {
    detail::require_abi();
    if (!callback || max_level == MLE_LOG_OFF) {
        check(mle_log_set_callback(MLE_LOG_OFF, nullptr, nullptr, nullptr));
        return;
    }
    struct Trampoline {
        static void call(void *userdata, int32_t level, const char *target, const char *message) noexcept {
            try {
                (*static_cast<LogFn *>(userdata))(level, target ? target : "", message ? message : "");
            } catch (...) {
            }
        }
    };
    auto *f = new LogFn(std::move(callback));
    // On failure (e.g. a level out of range) the library frees `f` itself.
    check(mle_log_set_callback(max_level, &Trampoline::call, f, &detail::destroy<LogFn>));
}

}  // namespace mle

#endif  // MLOPS_EDGE_HPP
