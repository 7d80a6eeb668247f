// libmlops_edge for Swift: a thin layer over the C API (module CMlopsEdge), mirroring the Kotlin
// binding. Classes free their handle in deinit; failing calls throw MleError (status + message);
// closures given as callbacks are boxed and owned by the library through its userdata/free pair,
// so they live exactly as long as they are registered.
//
// No Swift toolchain exists where this library is built and tested: the module map is checked
// with clang (`bindings/swift/check`), and this file is kept to plain calls of the C API whose
// behaviour the C, C++ and Kotlin tests cover.
import CMlopsEdge
import Foundation

/// A failed call: the MLE_ERR_* code and the library's message.
public struct MleError: Error, CustomStringConvertible {
    public let status: Int32
    public let message: String
    public var description: String { "\(String(cString: mle_status_str(status))): \(message)" }
}

@inline(__always)
func check(_ status: Int32) throws {
    if status != 0 { throw MleError(status: status, message: String(cString: mle_last_error())) }
}

/// A closure owned by the library: passed as userdata, released by `releaseBox`.
final class Box<T> {
    let value: T
    init(_ value: T) { self.value = value }
    func retained() -> UnsafeMutableRawPointer { Unmanaged.passRetained(self).toOpaque() }
    static func from(_ p: UnsafeMutableRawPointer?) -> T { Unmanaged<Box<T>>.fromOpaque(p!).takeUnretainedValue().value }
}

private func releaseBox<T>(_ type: T.Type) -> mle_free_userdata {
    return { p in if let p = p { Unmanaged<AnyObject>.fromOpaque(p).release() } }
}

/// The first `count` elements of a C array field (Swift imports those as tuples).
func elements<Tuple, Element>(of tuple: Tuple, count: Int, as _: Element.Type) -> [Element] {
    withUnsafeBytes(of: tuple) { Array($0.bindMemory(to: Element.self).prefix(count)) }
}

/// A NUL-terminated C char array field as a String (invalid UTF-8 repaired).
func string<Tuple>(fromCArray tuple: Tuple) -> String {
    withUnsafeBytes(of: tuple) { raw in
        let bytes = raw.bindMemory(to: UInt8.self)
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}

/// `len` bytes of UTF-8 at `p` (not NUL-terminated) as a String (invalid UTF-8 repaired).
func string(_ p: UnsafePointer<CChar>?, _ len: Int) -> String {
    guard let p = p, len > 0 else { return "" }
    return p.withMemoryRebound(to: UInt8.self, capacity: len) {
        String(decoding: UnsafeBufferPointer(start: $0, count: len), as: UTF8.self)
    }
}

/// A count for a `uint32_t` field: out of range throws MLE_ERR_INVALID_ARGUMENT instead of trapping.
func cUInt32(_ value: Int, _ name: String) throws -> UInt32 {
    guard let v = UInt32(exactly: value) else {
        throw MleError(status: Int32(MLE_ERR_INVALID_ARGUMENT), message: "\(name) must be in 0...\(UInt32.max), got \(value)")
    }
    return v
}

/// Size-then-fill rendering of a metrics export (the text may grow between the two calls).
func render(_ call: (UnsafeMutablePointer<CChar>?, Int, UnsafeMutablePointer<Int>) -> Int32) throws -> String {
    var needed = 0
    var status = withUnsafeMutablePointer(to: &needed) { call(nil, 0, $0) }
    if status != Int32(MLE_ERR_BUFFER_TOO_SMALL) { try check(status) }
    for _ in 0..<4 {
        var buffer = [CChar](repeating: 0, count: needed + 4096)
        var length = 0
        status = buffer.withUnsafeMutableBufferPointer { b in withUnsafeMutablePointer(to: &length) { call(b.baseAddress, b.count, $0) } }
        if status == 0 { return String(cString: buffer) }
        if status != Int32(MLE_ERR_BUFFER_TOO_SMALL) { try check(status) }
        needed = length
    }
    throw MleError(status: Int32(MLE_ERR_BUFFER_TOO_SMALL), message: "metrics kept growing while being rendered")
}

/// A loaded classifier (thread-safe; sessions and runtimes keep it alive).
public final class Model {
    let handle: OpaquePointer
    public init(path: String) throws {
        var out: OpaquePointer?
        try check(mle_model_load(path, nil, &out))
        handle = out!
    }
    deinit { mle_model_free(handle) }
    public var labelCount: Int {
        var d = mle_model_details()
        return mle_model_info(handle, &d) == 0 ? Int(d.label_count) : 0
    }
    public func label(_ index: Int) throws -> String {
        var l: UnsafePointer<CChar>?
        try check(mle_model_label(handle, index, &l))
        return String(cString: l!)
    }
}

/// One answer.
public struct Prediction {
    public let labelIndex: Int
    public let label: String
    public let score: Float
    public let latencyNs: UInt64
    public let probabilities: [Float]
}

/// One thread's scratch for one model (not thread-safe).
public final class Session {
    let handle: OpaquePointer
    let labels: Int
    public init(model: Model) throws {
        var out: OpaquePointer?
        try check(mle_session_new(model.handle, nil, &out))
        handle = out!
        labels = model.labelCount
    }
    deinit { mle_session_free(handle) }
    // Text goes through withCString: a valid pointer even for "" (an empty Array's may be nil),
    // with the UTF-8 length passed, so interior NULs are kept.
    public func classify(text: String) throws -> Prediction {
        try predict { p, probs, capacity, n in
            text.withCString { mle_classify_text(handle, $0, text.utf8.count, p, probs, capacity, n) }
        }
    }
    public func classify(features: [Float]) throws -> Prediction {
        try predict { p, probs, capacity, n in mle_classify_f32(handle, features, features.count, p, probs, capacity, n) }
    }
    public func classify(bytes: [UInt8]) throws -> Prediction {
        try predict { p, probs, capacity, n in mle_classify_bytes(handle, bytes, bytes.count, p, probs, capacity, n) }
    }
    /// One classify call with room for every label's probability.
    private func predict(_ call: (UnsafeMutablePointer<mle_prediction>, UnsafeMutablePointer<Float>?, Int,
                                  UnsafeMutablePointer<Int>) -> Int32) throws -> Prediction {
        var probs = [Float](repeating: 0, count: labels)
        var p = mle_prediction()
        var n = 0
        let status = probs.withUnsafeMutableBufferPointer { b in
            withUnsafeMutablePointer(to: &p) { pp in withUnsafeMutablePointer(to: &n) { call(pp, b.baseAddress, b.count, $0) } }
        }
        try check(status)
        return Prediction(labelIndex: Int(p.label_index), label: String(cString: p.label), score: p.score,
                          latencyNs: p.latency_ns, probabilities: Array(probs.prefix(n)))
    }
    /// Every later request of this session is recorded by `monitor`.
    public func attach(_ monitor: Monitor) throws { try check(mle_session_attach_monitor(handle, monitor.handle)) }
    public func detach() throws { try check(mle_session_detach_monitor(handle)) }
}

/// One drift test (KS for latency, confidence, input length; chi-square for labels).
public struct Drift {
    public let tested: Bool
    public let drifted: Bool
    public let statistic: Double
    public let pValue: Double
}

/// One alert: metric (MLE_ALERT_*), level (MLE_LEVEL_*), current and baseline values.
public struct Alert {
    public let metric: Int32
    public let level: Int32
    public let current: Double
    public let baseline: Double
    public let changePct: Double
}

/// One analysis of a monitor (the main fields of mle_snapshot).
public struct Snapshot {
    public let processed: UInt64
    public let dropped: UInt64
    public let windowCount: UInt64
    public let errorRate: Double
    public let latencyP50Us: Double
    public let latencyP95Us: Double
    public let latencyP99Us: Double
    public let confidenceMean: Double
    public let hasBaseline: Bool
    /// Whether the degradation alerts were judged (enough window samples against a baseline).
    public let degradationTested: Bool
    public let level: Int32
    public let latencyDrift: Drift
    public let confidenceDrift: Drift
    public let inputLengthDrift: Drift
    public let labelDrift: Drift
    public let alerts: [Alert]
    /// (version, ok, errors) per model version seen.
    public let versions: [(version: String, ok: UInt64, errors: UInt64)]

    init(_ s: mle_snapshot) {
        func drift(_ d: mle_drift) -> Drift { Drift(tested: d.tested != 0, drifted: d.drifted != 0, statistic: d.statistic, pValue: d.p_value) }
        processed = s.processed
        dropped = s.dropped
        windowCount = s.window_count
        errorRate = s.error_rate
        latencyP50Us = s.latency_p50_us
        latencyP95Us = s.latency_p95_us
        latencyP99Us = s.latency_p99_us
        confidenceMean = s.confidence_mean
        hasBaseline = s.has_baseline != 0
        degradationTested = s.degradation_tested != 0
        level = s.level
        latencyDrift = drift(s.drift_latency)
        confidenceDrift = drift(s.drift_confidence)
        inputLengthDrift = drift(s.drift_input_length)
        labelDrift = Drift(tested: s.drift_labels.tested != 0, drifted: s.drift_labels.drifted != 0,
                           statistic: s.drift_labels.statistic, pValue: s.drift_labels.p_value)
        alerts = elements(of: s.alerts, count: Int(s.alert_count), as: mle_alert.self).map {
            Alert(metric: $0.metric, level: $0.level, current: $0.current, baseline: $0.baseline, changePct: $0.change_pct)
        }
        versions = elements(of: s.versions, count: Int(s.version_count), as: mle_version_counts.self).map {
            (version: string(fromCArray: $0.version), ok: $0.ok, errors: $0.errors)
        }
    }
}

/// The on-device monitor (thread-safe).
public final class Monitor {
    let handle: OpaquePointer
    /// (previous level, current level, the analysis): called when an analysis changes the level.
    public typealias LevelHandler = (Int32, Int32, Snapshot) -> Void

    public init(labelCount: Int, window: Int = 1024, maxSessions: Int = 16) throws {
        var o = mle_monitor_options()
        mle_monitor_options_init(&o)
        o.label_count = try cUInt32(labelCount, "labelCount")
        o.window = try cUInt32(window, "window")
        o.max_sessions = try cUInt32(maxSessions, "maxSessions")
        var out: OpaquePointer?
        try check(mle_monitor_new(&o, &out))
        handle = out!
    }
    deinit { mle_monitor_free(handle) }

    public func snapshot() throws -> Snapshot {
        var s = mle_snapshot()
        try check(mle_monitor_snapshot(handle, &s, nil, 0, nil))
        return Snapshot(s)
    }
    public func freezeBaseline() throws { try check(mle_monitor_baseline_freeze(handle)) }
    public func clearBaseline() throws { try check(mle_monitor_baseline_clear(handle)) }
    public func resetWindow() throws { try check(mle_monitor_reset_window(handle)) }
    /// Runs inside the analysis call that changed the level; it must not analyse this monitor.
    public func setLevelHandler(_ handler: LevelHandler?) throws {
        guard let handler = handler else {
            try check(mle_monitor_set_level_callback(handle, nil, nil, nil))
            return
        }
        let trampoline: mle_level_callback = { userdata, previous, current, snapshot in
            Box<LevelHandler>.from(userdata)(previous, current, Snapshot(snapshot!.pointee))
        }
        try check(mle_monitor_set_level_callback(handle, trampoline, Box<LevelHandler>(handler).retained(),
                                                 releaseBox(LevelHandler.self)))
    }
    /// Prometheus text (format 0), OpenMetrics (1) or OTLP JSON (2), labelled with `modelVersion`.
    public func exportMetrics(format: UInt32 = 0, modelVersion: String, telemetry: Telemetry? = nil) throws -> String {
        try render { buffer, capacity, length in
            mle_monitor_export_metrics(handle, modelVersion, telemetry?.handle, format, buffer, capacity, length)
        }
    }
}

/// The host's answer to an upload.
public enum UploadResult: Int32 { case ok = 0, retry = 1, drop = 2 }

/// Telemetry with the host's upload closure (JSON Lines batches, schema mlops_edge.telemetry v1).
public final class Telemetry {
    let handle: OpaquePointer
    public typealias Upload = (_ batchId: UInt64, _ data: Data, _ attempt: UInt32) -> UploadResult

    public init(sampleRate: Double = 1.0, spoolPath: String? = nil, upload: @escaping Upload) throws {
        var o = mle_telemetry_options()
        mle_telemetry_options_init(&o)
        o.request_sample_rate = sampleRate
        o.upload = { userdata, batch in
            let b = batch!.pointee
            let data = Data(bytes: b.data, count: b.len)
            return Box<Upload>.from(userdata)(b.id, data, b.attempt).rawValue
        }
        o.userdata = Box<Upload>(upload).retained()
        o.free_userdata = releaseBox(Upload.self)
        var out: OpaquePointer?
        // The library frees the userdata itself when creation fails.
        if let path = spoolPath {
            try path.withCString { p in
                o.spool_path = p
                try check(mle_telemetry_new(&o, &out))
            }
        } else {
            try check(mle_telemetry_new(&o, &out))
        }
        handle = out!
    }
    deinit { mle_telemetry_free(handle) }

    /// Offers waiting batches; returns the milliseconds until a RETRY'd batch may go again (nil if none).
    @discardableResult
    public func flush() throws -> UInt64? {
        var r = mle_flush_report()
        try check(mle_telemetry_flush(handle, &r))
        return r.backing_off != 0 ? r.retry_after_ms : nil
    }
    public func persist() throws { try check(mle_telemetry_persist(handle)) }
    public func pending() throws -> UInt64 {
        var s = mle_telemetry_stats()
        try check(mle_telemetry_get_stats(handle, &s))
        return s.pending
    }
}

/// One answer of the runtime.
public struct Served {
    public let variant: Int
    public let candidate: Bool
    public let labelIndex: Int
    public let label: String
    public let score: Float
    public let latencyNs: UInt64
    /// The version of the model that answered.
    public let version: String

    init(_ s: mle_served) {
        variant = s.variant
        candidate = s.candidate != 0
        labelIndex = Int(s.label_index)
        label = string(fromCArray: s.label)
        score = s.score
        latencyNs = s.latency_ns
        version = string(fromCArray: s.version)
    }
}

/// Per-variant counts.
public struct VariantStats {
    public let name: String
    public let version: String
    public let requests: UInt64
    public let errors: UInt64
    public let conversions: UInt64
    public let outcomes: UInt64
}

/// The seed's significance test of two variants' conversion rates.
public struct Significance {
    public let pValue: Double
    public let lift: Double
    public let significant: Bool
    public let ciLower: Double
    public let ciUpper: Double
}

/// Runtime health (the main fields of mle_health).
public struct Health {
    public let state: Int32
    public let level: Int32
    public let requests: UInt64
    public let errors: UInt64
    public let hookErrors: UInt64
    public let swaps: UInt64
    public let rollbacks: UInt64
    public let rolloutActive: Bool
    public let rolloutPercent: UInt32
    public let lastError: String
    public let telemetrySent: UInt64
    public let telemetryPending: UInt64
}

/// A deployment event (kind: MLE_EVENT_*).
public struct Event {
    public let kind: Int32
    public let variant: Int
    public let fromVersion: String
    public let toVersion: String
    public let message: String
}

/// The deployment runtime (thread-safe).
public final class Runtime {
    let handle: OpaquePointer
    let telemetry: Telemetry?
    public typealias EventHandler = (Event) -> Void

    public init(production: Model, supervisorThread: Bool = true, telemetry: Telemetry? = nil) throws {
        var o = mle_runtime_options()
        mle_runtime_options_init(&o)
        o.supervisor_thread = supervisorThread ? 1 : 0
        o.telemetry = telemetry?.handle
        var out: OpaquePointer?
        try check(mle_runtime_new(production.handle, &o, &out))
        handle = out!
        self.telemetry = telemetry
    }
    deinit { mle_runtime_free(handle) }

    public func classify(userId: String, text: String) throws -> Served {
        try serve { n, out in
            text.withCString { mle_runtime_classify_text(handle, userId, $0, text.utf8.count, nil, 0, n, out) }
        }
    }
    public func classify(userId: String, features: [Float]) throws -> Served {
        try serve { n, out in mle_runtime_classify_f32(handle, userId, features, features.count, nil, 0, n, out) }
    }
    public func classify(userId: String, bytes: [UInt8]) throws -> Served {
        try serve { n, out in mle_runtime_classify_bytes(handle, userId, bytes, bytes.count, nil, 0, n, out) }
    }
    private func serve(_ call: (UnsafeMutablePointer<Int>, UnsafeMutablePointer<mle_served>) -> Int32) throws -> Served {
        var s = mle_served()
        var n = 0
        let status = withUnsafeMutablePointer(to: &n) { np in withUnsafeMutablePointer(to: &s) { call(np, $0) } }
        try check(status)
        return Served(s)
    }
    /// An A/B experiment: (name, model, weight) per variant, weights summing to 1.
    public func setExperiment(_ name: String, _ variants: [(String, Model, Double)]) throws {
        let names = variants.map { strdup($0.0) }
        defer { names.forEach { free($0) } }
        var c = variants.enumerated().map { i, v in mle_variant(name: names[i], model: v.1.handle, weight: v.2) }
        try check(mle_runtime_set_experiment(handle, name, &c, c.count, 0))
    }
    public func setEventHandler(_ handler: EventHandler?) throws {
        guard let handler = handler else {
            try check(mle_runtime_set_event_callback(handle, nil, nil, nil))
            return
        }
        let trampoline: mle_event_callback = { userdata, event in
            let e = event!.pointee
            let text = { (p: UnsafePointer<CChar>?) in p.map { String(cString: $0) } ?? "" }
            Box<EventHandler>.from(userdata)(Event(kind: e.kind, variant: e.variant, fromVersion: text(e.from_version),
                                                   toVersion: text(e.to_version), message: text(e.message)))
        }
        try check(mle_runtime_set_event_callback(handle, trampoline, Box<EventHandler>(handler).retained(),
                                                 releaseBox(EventHandler.self)))
    }
    public typealias AssignmentHook = (_ experiment: String, _ userId: String) -> Int64
    /// The host decides the variant of (experiment, user); an answer out of range falls back to hashing.
    public func setAssignmentHook(_ hook: AssignmentHook?) throws {
        guard let hook = hook else {
            try check(mle_runtime_set_assignment_hook(handle, nil, nil, nil))
            return
        }
        let trampoline: mle_assignment_hook = { userdata, experiment, experimentLen, user, userLen in
            Box<AssignmentHook>.from(userdata)(string(experiment, experimentLen), string(user, userLen))
        }
        try check(mle_runtime_set_assignment_hook(handle, trampoline, Box<AssignmentHook>(hook).retained(),
                                                  releaseBox(AssignmentHook.self)))
    }
    public func swap(variant: Int, model: Model) throws { try check(mle_runtime_swap(handle, variant, model.handle, nil, 0)) }
    public func startRollout(variant: Int, candidate: Model) throws {
        var o = mle_rollout_options()
        mle_rollout_options_init(&o)
        try check(mle_runtime_start_rollout(handle, variant, candidate.handle, &o, nil, 0))
    }
    public func promote() throws { try check(mle_runtime_promote(handle)) }
    public func rollback(variant: Int) throws { try check(mle_runtime_rollback(handle, variant)) }
    public func recordOutcome(variant: Int, converted: Bool) throws {
        try check(mle_runtime_record_outcome(handle, variant, converted ? 1 : 0))
    }
    /// Mirrors a `fraction` of production requests to `model`, off the request path.
    public func setShadow(model: Model, fraction: Double) throws {
        try check(mle_runtime_set_shadow(handle, model.handle, fraction))
    }
    public func clearShadow() throws { try check(mle_runtime_clear_shadow(handle)) }
    public func significance(control: Int, treatment: Int, confidence: Double = 0.95) throws -> Significance {
        var r = mle_significance_result()
        try check(mle_runtime_significance(handle, control, treatment, confidence, &r))
        return Significance(pValue: r.p_value, lift: r.lift, significant: r.significant != 0, ciLower: r.ci_lower,
                            ciUpper: r.ci_upper)
    }
    public func variantStats(_ variant: Int) throws -> VariantStats {
        var v = mle_variant_stats()
        try check(mle_runtime_variant_stats(handle, variant, &v))
        return VariantStats(name: string(fromCArray: v.name), version: string(fromCArray: v.version), requests: v.requests,
                            errors: v.errors, conversions: v.conversions, outcomes: v.outcomes)
    }
    /// The monitor snapshot of a variant's model (role MLE_ROLE_VARIANT), the candidate or the shadow.
    public func snapshot(role: Int32 = 0, variant: Int = 0) throws -> Snapshot {
        var s = mle_snapshot()
        try check(mle_runtime_snapshot(handle, role, variant, &s, nil, 0, nil))
        return Snapshot(s)
    }
    /// Runs the supervisor's evaluation now (alerts, rollout decisions).
    public func evaluate() throws { try check(mle_runtime_evaluate(handle)) }
    public func health() throws -> Health {
        var h = mle_health()
        try check(mle_runtime_health(handle, &h, nil, 0))
        return Health(state: h.state, level: h.level, requests: h.requests, errors: h.errors, hookErrors: h.hook_errors,
                      swaps: h.swaps, rollbacks: h.rollbacks, rolloutActive: h.rollout_active != 0,
                      rolloutPercent: h.rollout_percent, lastError: string(fromCArray: h.last_error),
                      telemetrySent: h.telemetry_sent, telemetryPending: h.telemetry_pending)
    }
    /// Prometheus text (format 0), OpenMetrics (1) or OTLP JSON (2).
    public func exportMetrics(format: UInt32 = 0) throws -> String {
        try render { buffer, capacity, length in mle_runtime_export_metrics(handle, format, buffer, capacity, length) }
    }
    public func shutdown(timeoutMs: UInt32 = 5000) throws { try check(mle_runtime_shutdown(handle, timeoutMs, nil, nil)) }
}
