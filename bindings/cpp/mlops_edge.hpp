// mlops_edge.hpp — a header-only C++17 wrapper over the C API (include/mlops_edge.h).
//
// - Handles are move-only RAII classes: Model, Session, Monitor, Telemetry, Runtime.
// - Every failing call throws mle::Error, carrying the mle_status and the library's message.
// - Callbacks are std::function objects owned by the library through its userdata/free_userdata
//   pair: they live exactly as long as they are registered. An exception thrown by a callback
//   never crosses into the C library: it is caught (an upload then counts as RETRY, a hook answer
//   as "no answer").
// - Thread safety is the C API's: Model, Monitor, Telemetry and Runtime may be shared between
//   threads; a Session belongs to one thread at a time.
#ifndef MLOPS_EDGE_HPP
#define MLOPS_EDGE_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
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
    /// The MLE_ERR_* code.
    mle_status status() const noexcept { return status_; }

  private:
    mle_status status_;
};

/// Throws mle::Error unless `status` is MLE_OK.
inline void check(mle_status status) {
    if (status != MLE_OK) throw Error(status, mle_last_error());
}

/// The library version.
inline std::string version() { return mle_version(); }

namespace detail {
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
}  // namespace detail

/// What a model is (its card).
struct ModelInfo {
    std::string name, version, trained_at, description, metrics_json;
    uint32_t input_kind = 0, label_count = 0, max_input_length = 0;
};

/// A loaded classifier (immutable; sessions and runtimes keep it alive).
class Model {
  public:
    /// Loads a model directory (model.onnx + card + tokenizer) or an .onnx file.
    static Model load(const std::string &path, const mle_model_options *options = nullptr) {
        mle_model *m = nullptr;
        check(mle_model_load(path.c_str(), options, &m));
        return Model(m);
    }
    /// Loads from memory (tokenizer JSON and card JSON may be empty).
    static Model from_bytes(const std::vector<uint8_t> &onnx, const std::string &tokenizer_json = {},
                            const std::string &card_json = {}, const mle_model_options *options = nullptr) {
        mle_model *m = nullptr;
        check(mle_model_load_bytes(onnx.data(), onnx.size(),
                                   tokenizer_json.empty() ? nullptr : reinterpret_cast<const uint8_t *>(tokenizer_json.data()),
                                   tokenizer_json.size(), card_json.empty() ? nullptr : card_json.c_str(), options, &m));
        return Model(m);
    }
    ModelInfo info() const {
        mle_model_details d;
        check(mle_model_info(handle_.get(), &d));
        return ModelInfo{detail::text(d.name),   detail::text(d.version), detail::text(d.trained_at),
                         detail::text(d.description), detail::text(d.metrics_json), d.input_kind,
                         d.label_count,          d.max_input_length};
    }
    std::string label(size_t index) const {
        const char *l = nullptr;
        check(mle_model_label(handle_.get(), index, &l));
        return l;
    }
    size_t label_count() const { return info().label_count; }
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
    uint32_t flags = 0;
    uint32_t input_length = 0;
    std::vector<float> probabilities;
};

class Monitor;

/// One thread's scratch for one model.
class Session {
  public:
    explicit Session(const Model &model, const mle_session_options *options = nullptr) {
        mle_session *s = nullptr;
        check(mle_session_new(model.get(), options, &s));
        handle_.reset(s);
        labels_ = model.label_count();
    }
    Prediction classify_text(std::string_view text) {
        return run([&](mle_prediction *p, float *probs, size_t cap, size_t *n) {
            return mle_classify_text(handle_.get(), text.data(), text.size(), p, probs, cap, n);
        });
    }
    Prediction classify_f32(const std::vector<float> &values) {
        return run([&](mle_prediction *p, float *probs, size_t cap, size_t *n) {
            return mle_classify_f32(handle_.get(), values.data(), values.size(), p, probs, cap, n);
        });
    }
    Prediction classify_bytes(const std::vector<uint8_t> &data) {
        return run([&](mle_prediction *p, float *probs, size_t cap, size_t *n) {
            return mle_classify_bytes(handle_.get(), data.data(), data.size(), p, probs, cap, n);
        });
    }
    inline void attach(const Monitor &monitor);
    void detach() { check(mle_session_detach_monitor(handle_.get())); }
    mle_session *get() const noexcept { return handle_.get(); }

  private:
    template <typename Call>
    Prediction run(Call call) {
        Prediction out;
        out.probabilities.resize(labels_);
        mle_prediction p;
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

/// A level change of a monitor: (previous level, current level, the snapshot).
using LevelCallback = std::function<void(int32_t, int32_t, const mle_snapshot &)>;

/// The on-device monitor (lock-free ingest from attached sessions; analysis on demand).
class Monitor {
  public:
    explicit Monitor(const mle_monitor_options &options) {
        mle_monitor *m = nullptr;
        check(mle_monitor_new(&options, &m));
        handle_.reset(m);
        label_slots_ = static_cast<size_t>(options.label_count) + 1;
    }
    static mle_monitor_options default_options() {
        mle_monitor_options o;
        mle_monitor_options_init(&o);
        return o;
    }
    /// Analyses now: percentiles, histograms, drift against the baseline, alerts, level.
    mle_snapshot snapshot(std::vector<uint64_t> *label_counts = nullptr) const {
        mle_snapshot s;
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
    void freeze_baseline() const { check(mle_monitor_baseline_freeze(handle_.get())); }
    void clear_baseline() const { check(mle_monitor_baseline_clear(handle_.get())); }
    mle_monitor_thresholds thresholds() const {
        mle_monitor_thresholds t;
        check(mle_monitor_get_thresholds(handle_.get(), &t));
        return t;
    }
    void set_thresholds(const mle_monitor_thresholds &t) const { check(mle_monitor_set_thresholds(handle_.get(), &t)); }
    void set_level_callback(LevelCallback callback) const {
        if (!callback) {
            check(mle_monitor_set_level_callback(handle_.get(), nullptr, nullptr, nullptr));
            return;
        }
        auto *f = new LevelCallback(std::move(callback));
        check(mle_monitor_set_level_callback(handle_.get(), &level_trampoline, f, &detail::destroy<LevelCallback>));
    }
    mle_exp_histogram latency_histogram() const {
        mle_exp_histogram h;
        check(mle_monitor_latency_histogram(handle_.get(), &h));
        return h;
    }
    inline std::string export_metrics(uint32_t format, const std::string &model_version,
                                      const class Telemetry *telemetry = nullptr) const;
    const mle_monitor *get() const noexcept { return handle_.get(); }

  private:
    static void level_trampoline(void *userdata, int32_t previous, int32_t current, const mle_snapshot *s) {
        try {
            (*static_cast<LevelCallback *>(userdata))(previous, current, *s);
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
    std::string_view data;
    size_t records;
    uint64_t first_seq, last_seq;
    uint32_t attempt;
};

/// Telemetry: the record queue, batches, spool and the host's upload hooks.
class Telemetry {
  public:
    using UploadFn = std::function<Upload(const Batch &)>;
    using ReadyFn = std::function<void(uint64_t)>;

    /// `options` as from default_options(); its upload/ready/userdata fields are set here.
    Telemetry(mle_telemetry_options options, UploadFn upload, ReadyFn ready = {}) {
        auto *callbacks = new Callbacks{std::move(upload), std::move(ready)};
        options.upload = &upload_trampoline;
        options.ready = callbacks->ready ? &ready_trampoline : nullptr;
        options.userdata = callbacks;
        options.free_userdata = &detail::destroy<Callbacks>;
        mle_telemetry *t = nullptr;
        // On failure the library frees the callbacks itself.
        check(mle_telemetry_new(&options, &t));
        handle_.reset(t);
    }
    static mle_telemetry_options default_options() {
        mle_telemetry_options o;
        mle_telemetry_options_init(&o);
        return o;
    }
    mle_flush_report flush() const {
        mle_flush_report r;
        check(mle_telemetry_flush(handle_.get(), &r));
        return r;
    }
    void persist() const { check(mle_telemetry_persist(handle_.get())); }
    mle_telemetry_stats stats() const {
        mle_telemetry_stats s;
        check(mle_telemetry_get_stats(handle_.get(), &s));
        return s;
    }
    const mle_telemetry *get() const noexcept { return handle_.get(); }

  private:
    struct Callbacks {
        UploadFn upload;
        ReadyFn ready;
    };
    static int32_t upload_trampoline(void *userdata, const mle_batch *b) {
        try {
            Batch batch{b->id, std::string_view(reinterpret_cast<const char *>(b->data), b->len), b->records,
                        b->first_seq, b->last_seq, b->attempt};
            return static_cast<int32_t>(static_cast<Callbacks *>(userdata)->upload(batch));
        } catch (...) {
            return MLE_UPLOAD_RETRY;  // nothing is lost to a throwing callback
        }
    }
    static void ready_trampoline(void *userdata, uint64_t waiting) {
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
            out.resize(len);
            return out;
        }
        if (s != MLE_ERR_BUFFER_TOO_SMALL) check(s);
        needed = len;
    }
    throw Error(MLE_ERR_BUFFER_TOO_SMALL, "metrics kept growing while being rendered");
}
}  // namespace detail

inline std::string Monitor::export_metrics(uint32_t format, const std::string &model_version,
                                           const Telemetry *telemetry) const {
    return detail::render([&](char *buf, size_t cap, size_t *len) {
        return mle_monitor_export_metrics(handle_.get(), model_version.c_str(), telemetry ? telemetry->get() : nullptr,
                                          format, buf, cap, len);
    });
}

/// One answer of the runtime.
struct Served {
    size_t variant = 0;
    bool candidate = false;
    uint32_t label_index = 0;
    std::string label, version;
    float score = 0;
    uint64_t latency_ns = 0;
    uint32_t flags = 0, input_length = 0;
};

/// One deployment event.
struct Event {
    int32_t kind;
    size_t variant;
    std::string from_version, to_version;
    uint32_t stage_percent;
    int32_t level;
    std::string message;
};

/// A variant of an experiment.
struct VariantSpec {
    std::string name;
    const Model *model;
    double weight;
};

/// The deployment runtime: A/B variants, shadow, hot swap, staged rollout, health, telemetry.
class Runtime {
  public:
    using EventFn = std::function<void(const Event &)>;
    using HookFn = std::function<int64_t(std::string_view experiment, std::string_view user_id)>;

    /// `telemetry`, when given, records every request and event (the runtime keeps its own reference).
    Runtime(const Model &production, mle_runtime_options options, const Telemetry *telemetry = nullptr) {
        options.telemetry = telemetry ? telemetry->get() : nullptr;
        mle_runtime *r = nullptr;
        check(mle_runtime_new(production.get(), &options, &r));
        handle_.reset(r);
    }
    static mle_runtime_options default_options() {
        mle_runtime_options o;
        mle_runtime_options_init(&o);
        return o;
    }
    Served classify_text(const std::string &user_id, std::string_view text) const {
        return serve([&](float *p, size_t cap, size_t *n, mle_served *out) {
            return mle_runtime_classify_text(handle_.get(), user_id.c_str(), text.data(), text.size(), p, cap, n, out);
        });
    }
    Served classify_f32(const std::string &user_id, const std::vector<float> &features) const {
        return serve([&](float *p, size_t cap, size_t *n, mle_served *out) {
            return mle_runtime_classify_f32(handle_.get(), user_id.c_str(), features.data(), features.size(), p, cap,
                                            n, out);
        });
    }
    Served classify_bytes(const std::string &user_id, const std::vector<uint8_t> &data) const {
        return serve([&](float *p, size_t cap, size_t *n, mle_served *out) {
            return mle_runtime_classify_bytes(handle_.get(), user_id.c_str(), data.data(), data.size(), p, cap, n, out);
        });
    }
    void set_experiment(const std::string &name, const std::vector<VariantSpec> &variants,
                        uint32_t scheme = MLE_ASSIGN_SEED_MD5) const {
        std::vector<mle_variant> c;
        for (const auto &v : variants) c.push_back(mle_variant{v.name.c_str(), v.model ? v.model->get() : nullptr, v.weight});
        check(mle_runtime_set_experiment(handle_.get(), name.c_str(), c.data(), c.size(), scheme));
    }
    void set_event_callback(EventFn callback) const {
        if (!callback) {
            check(mle_runtime_set_event_callback(handle_.get(), nullptr, nullptr, nullptr));
            return;
        }
        auto *f = new EventFn(std::move(callback));
        check(mle_runtime_set_event_callback(handle_.get(), &event_trampoline, f, &detail::destroy<EventFn>));
    }
    void set_assignment_hook(HookFn hook) const {
        if (!hook) {
            check(mle_runtime_set_assignment_hook(handle_.get(), nullptr, nullptr, nullptr));
            return;
        }
        auto *f = new HookFn(std::move(hook));
        check(mle_runtime_set_assignment_hook(handle_.get(), &hook_trampoline, f, &detail::destroy<HookFn>));
    }
    void swap(size_t variant, const Model &model) const {
        check(mle_runtime_swap(handle_.get(), variant, model.get(), nullptr, 0));
    }
    void start_rollout(size_t variant, const Model &candidate, const std::vector<uint32_t> &stages = {},
                       uint64_t requests_per_stage = 0) const {
        mle_rollout_options o;
        mle_rollout_options_init(&o);
        if (!stages.empty()) {
            if (stages.size() > 8) throw Error(MLE_ERR_INVALID_ARGUMENT, "at most 8 rollout stages");
            for (size_t i = 0; i < stages.size(); i++) o.stages_percent[i] = stages[i];
            o.stage_count = static_cast<uint32_t>(stages.size());
        }
        if (requests_per_stage) o.requests_per_stage = requests_per_stage;
        check(mle_runtime_start_rollout(handle_.get(), variant, candidate.get(), &o, nullptr, 0));
    }
    void promote() const { check(mle_runtime_promote(handle_.get())); }
    void rollback(size_t variant) const { check(mle_runtime_rollback(handle_.get(), variant)); }
    void set_shadow(const Model &model, double fraction) const {
        check(mle_runtime_set_shadow(handle_.get(), model.get(), fraction));
    }
    void clear_shadow() const { check(mle_runtime_clear_shadow(handle_.get())); }
    mle_shadow_report shadow_report() const {
        mle_shadow_report r;
        check(mle_runtime_shadow_report(handle_.get(), &r));
        return r;
    }
    void record_outcome(size_t variant, bool converted) const {
        check(mle_runtime_record_outcome(handle_.get(), variant, converted ? 1 : 0));
    }
    mle_significance_result significance(size_t control, size_t treatment, double confidence = 0.95) const {
        mle_significance_result r;
        check(mle_runtime_significance(handle_.get(), control, treatment, confidence, &r));
        return r;
    }
    mle_variant_stats variant_stats(size_t variant) const {
        mle_variant_stats s;
        check(mle_runtime_variant_stats(handle_.get(), variant, &s));
        return s;
    }
    mle_snapshot snapshot(int32_t role = MLE_ROLE_VARIANT, size_t variant = 0) const {
        mle_snapshot s;
        size_t written = 0;
        check(mle_runtime_snapshot(handle_.get(), role, variant, &s, nullptr, 0, &written));
        return s;
    }
    void evaluate() const { check(mle_runtime_evaluate(handle_.get())); }
    mle_health health() const {
        mle_health h;
        check(mle_runtime_health(handle_.get(), &h, nullptr, 0));
        return h;
    }
    std::string export_metrics(uint32_t format) const {
        return detail::render([&](char *buf, size_t cap, size_t *len) {
            return mle_runtime_export_metrics(handle_.get(), format, buf, cap, len);
        });
    }
    /// Drains and stops; returns (role, variant, version, snapshot) of every loaded model.
    struct FinalSnapshot {
        int32_t role;
        size_t variant;
        std::string version;
        mle_snapshot snapshot;
    };
    std::vector<FinalSnapshot> shutdown(uint32_t timeout_ms = 5000) const {
        std::vector<FinalSnapshot> out;
        check(mle_runtime_shutdown(handle_.get(), timeout_ms, &final_trampoline, &out));
        return out;
    }
    const mle_runtime *get() const noexcept { return handle_.get(); }

  private:
    template <typename Call>
    Served serve(Call call) const {
        mle_served s;
        size_t n = 0;
        check(call(nullptr, 0, &n, &s));
        return Served{s.variant, s.candidate != 0, s.label_index, s.label, s.version, s.score, s.latency_ns, s.flags,
                      s.input_length};
    }
    static void event_trampoline(void *userdata, const mle_event *e) {
        try {
            (*static_cast<EventFn *>(userdata))(Event{e->kind, e->variant, detail::text(e->from_version),
                                                      detail::text(e->to_version), e->stage_percent, e->level,
                                                      detail::text(e->message)});
        } catch (...) {
        }
    }
    static int64_t hook_trampoline(void *userdata, const char *exp, size_t exp_len, const char *user, size_t user_len) {
        try {
            return (*static_cast<HookFn *>(userdata))(std::string_view(exp, exp_len), std::string_view(user, user_len));
        } catch (...) {
            return -1;  // out of range: the runtime falls back to hashing (and counts it)
        }
    }
    static void final_trampoline(void *userdata, int32_t role, size_t variant, const char *version,
                                 const mle_snapshot *s) {
        try {
            static_cast<std::vector<FinalSnapshot> *>(userdata)->push_back(
                FinalSnapshot{role, variant, detail::text(version), *s});
        } catch (...) {
        }
    }
    detail::Handle<mle_runtime, mle_runtime_free> handle_;
};

/// The seed's md5 A/B assignment, stateless.
inline size_t ab_assign(const std::string &experiment, const std::string &user_id, const std::vector<double> &weights) {
    size_t variant = 0;
    check(mle_ab_assign(experiment.c_str(), user_id.c_str(), weights.data(), weights.size(), &variant));
    return variant;
}

/// The seed's two-proportion significance test.
inline mle_significance_result ab_significance(uint64_t control_conversions, uint64_t control_total,
                                               uint64_t treatment_conversions, uint64_t treatment_total,
                                               double confidence = 0.95) {
    mle_significance_result r;
    check(mle_ab_significance(control_conversions, control_total, treatment_conversions, treatment_total, confidence, &r));
    return r;
}

/// Forwards the library's log records at `max_level` (MLE_LOG_*) and above; an empty function
/// (or MLE_LOG_OFF) turns forwarding off.
using LogFn = std::function<void(int32_t level, std::string_view target, std::string_view message)>;
inline void set_log_callback(int32_t max_level, LogFn callback) {
    if (!callback || max_level == MLE_LOG_OFF) {
        check(mle_set_log_callback(MLE_LOG_OFF, nullptr, nullptr, nullptr));
        return;
    }
    struct Trampoline {
        static void call(void *userdata, int32_t level, const char *target, const char *message) {
            try {
                (*static_cast<LogFn *>(userdata))(level, target, message);
            } catch (...) {
            }
        }
    };
    auto *f = new LogFn(std::move(callback));
    check(mle_set_log_callback(max_level, &Trampoline::call, f, &detail::destroy<LogFn>));
}

}  // namespace mle

#endif  // MLOPS_EDGE_HPP
