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
    public func classify(text: String) throws -> Prediction {
        var probs = [Float](repeating: 0, count: labels)
        var p = mle_prediction()
        var n = 0
        let utf8 = Array(text.utf8)
        try utf8.withUnsafeBufferPointer { t in
            try t.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(t.count, 1)) { c in
                try check(mle_classify_text(handle, c, t.count, &p, &probs, probs.count, &n))
            }
        }
        return Prediction(labelIndex: Int(p.label_index), label: String(cString: p.label), score: p.score,
                          latencyNs: p.latency_ns, probabilities: Array(probs.prefix(n)))
    }
    public func classify(features: [Float]) throws -> Prediction {
        var probs = [Float](repeating: 0, count: labels)
        var p = mle_prediction()
        var n = 0
        try check(mle_classify_f32(handle, features, features.count, &p, &probs, probs.count, &n))
        return Prediction(labelIndex: Int(p.label_index), label: String(cString: p.label), score: p.score,
                          latencyNs: p.latency_ns, probabilities: Array(probs.prefix(n)))
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
    public let score: Float
    public let latencyNs: UInt64
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
        o.telemetry = telemetry.map { UnsafePointer($0.handle) }
        var out: OpaquePointer?
        try check(mle_runtime_new(production.handle, &o, &out))
        handle = out!
        self.telemetry = telemetry
    }
    deinit { mle_runtime_free(handle) }

    public func classify(userId: String, text: String) throws -> Served {
        var s = mle_served()
        var n = 0
        let utf8 = Array(text.utf8)
        try utf8.withUnsafeBufferPointer { t in
            try t.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(t.count, 1)) { c in
                try check(mle_runtime_classify_text(handle, userId, c, t.count, nil, 0, &n, &s))
            }
        }
        return Served(variant: s.variant, candidate: s.candidate != 0, labelIndex: Int(s.label_index), score: s.score,
                      latencyNs: s.latency_ns)
    }
    public func classify(userId: String, features: [Float]) throws -> Served {
        var s = mle_served()
        var n = 0
        try check(mle_runtime_classify_f32(handle, userId, features, features.count, nil, 0, &n, &s))
        return Served(variant: s.variant, candidate: s.candidate != 0, labelIndex: Int(s.label_index), score: s.score,
                      latencyNs: s.latency_ns)
    }
    /// An A/B experiment: (name, model, weight) per variant, weights summing to 1.
    public func setExperiment(_ name: String, _ variants: [(String, Model, Double)]) throws {
        let names = variants.map { strdup($0.0) }
        defer { names.forEach { free($0) } }
        var c = variants.enumerated().map { i, v in mle_variant(name: names[i], model: UnsafePointer(v.1.handle), weight: v.2) }
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
    /// Prometheus text (format 0), OpenMetrics (1) or OTLP JSON (2).
    public func exportMetrics(format: UInt32 = 0) throws -> String {
        var needed = 0
        let status = mle_runtime_export_metrics(handle, format, nil, 0, &needed)
        if status != 3 { try check(status) }
        var buffer = [CChar](repeating: 0, count: needed + 4096)
        var len = 0
        try check(mle_runtime_export_metrics(handle, format, &buffer, buffer.count, &len))
        return String(cString: buffer)
    }
    public func shutdown(timeoutMs: UInt32 = 5000) throws { try check(mle_runtime_shutdown(handle, timeoutMs, nil, nil)) }
}
