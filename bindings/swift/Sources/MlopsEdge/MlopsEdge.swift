// libmlops_edge for Swift: a thin layer over the C ABI 1.1 (module CMlopsEdge), mirroring the
// Kotlin binding. Classes free their handle in deinit; failing calls throw MleError (status +
// message); closures given as callbacks are boxed and owned by the library through its
// userdata/free pair, so they live exactly as long as they are registered. The callbacks are
// non-throwing Swift closures: no Swift error ever crosses into the C library.
//
// The ABI's rules (since 1.0) this file follows (the header's preamble states them):
// - The first use of the layer (any constructor or Mle function) calls
//   mle_abi_check(MLE_ABI_VERSION) once; a library of another ABI throws MleError(abiMismatch).
// - Every struct the layer gives to or gets from the library starts with struct_size. Structs are
//   made only by `T.sized()` (zeroed, struct_size = sizeof) or `T.defaults(mle_T_init)` (the
//   library's defaults); structs handed to callbacks are copied with `received`, which honours the
//   library's struct_size. `MemoryLayout<T>.size` of an imported C struct is the C sizeof (Swift
//   lays imported records out with clang's layout, tail padding included), and equals the stride
//   of a Swift array of them, which is what output arrays need in element 0.
// - Pointers stored in a struct (runtime options' monitor and thresholds, model options' buckets,
//   telemetry strings) come from with…Pointer/withCString scopes that enclose the call using them.
//
// No Swift toolchain exists where this library is built and tested: `bindings/swift/check/run.sh`
// compiles an Objective-C file exercising the same C functions, structs, fields and idioms through
// the module map, and checks this file's C surface against the header mechanically.
import CMlopsEdge
import Foundation

// MARK: - Errors, statuses and constants

/// A failed call: the MLE_ERR_* code (see `Status`) and the library's message.
public struct MleError: Error, CustomStringConvertible {
    public let status: Int32
    public let message: String
    public var description: String { "\(String(cString: mle_status_str(status))): \(message)" }
}

/// The status codes an MleError carries (`MLE_OK`, `MLE_ERR_*`).
public enum Status {
    public static let ok: Int32 = MLE_OK
    public static let invalidArgument: Int32 = MLE_ERR_INVALID_ARGUMENT
    public static let invalidUtf8: Int32 = MLE_ERR_INVALID_UTF8
    public static let bufferTooSmall: Int32 = MLE_ERR_BUFFER_TOO_SMALL
    public static let io: Int32 = MLE_ERR_IO
    public static let modelInvalid: Int32 = MLE_ERR_MODEL_INVALID
    public static let modelUnsupported: Int32 = MLE_ERR_MODEL_UNSUPPORTED
    public static let modelCard: Int32 = MLE_ERR_MODEL_CARD
    public static let tokenizer: Int32 = MLE_ERR_TOKENIZER
    public static let wrongInputKind: Int32 = MLE_ERR_WRONG_INPUT_KIND
    public static let inputShape: Int32 = MLE_ERR_INPUT_SHAPE
    public static let inputNotFinite: Int32 = MLE_ERR_INPUT_NOT_FINITE
    public static let inference: Int32 = MLE_ERR_INFERENCE
    public static let poolExhausted: Int32 = MLE_ERR_POOL_EXHAUSTED
    public static let panic: Int32 = MLE_ERR_PANIC
    public static let outputNotFinite: Int32 = MLE_ERR_OUTPUT_NOT_FINITE
    public static let insufficientData: Int32 = MLE_ERR_INSUFFICIENT_DATA
    public static let invalidState: Int32 = MLE_ERR_INVALID_STATE
    public static let limitReached: Int32 = MLE_ERR_LIMIT_REACHED
    public static let busy: Int32 = MLE_ERR_BUSY
    public static let shuttingDown: Int32 = MLE_ERR_SHUTTING_DOWN
    public static let selfTestFailed: Int32 = MLE_ERR_SELF_TEST_FAILED
    /// A session used by two calls at once (give each thread its own Session, or use a Runtime).
    public static let sessionBusy: Int32 = MLE_ERR_SESSION_BUSY
    /// The library implements another C ABI than the header this package was compiled against.
    public static let abiMismatch: Int32 = MLE_ERR_ABI_MISMATCH
    /// A model file above `ModelOptions.maxModelBytes`.
    public static let modelLimit: Int32 = MLE_ERR_MODEL_LIMIT
    /// The telemetry spool file is in use by another telemetry handle (of this process or
    /// another): one Telemetry per `TelemetryOptions.spoolPath`. Since C ABI 1.1.
    public static let spoolLocked: Int32 = MLE_ERR_SPOOL_LOCKED
    /// A model package is not well formed (since C ABI 1.3).
    public static let packageInvalid: Int32 = MLE_ERR_PACKAGE_INVALID
    /// Trusted keys are set and the model is not a signed package (since C ABI 1.3).
    public static let packageUnsigned: Int32 = MLE_ERR_PACKAGE_UNSIGNED
    /// The package is signed by a key that is not trusted (since C ABI 1.3).
    public static let packageUntrustedKey: Int32 = MLE_ERR_PACKAGE_UNTRUSTED_KEY
    /// The package's signature does not verify over its manifest (since C ABI 1.3).
    public static let packageBadSignature: Int32 = MLE_ERR_PACKAGE_BAD_SIGNATURE
    /// A file of the package changed after packing (since C ABI 1.3).
    public static let packageTampered: Int32 = MLE_ERR_PACKAGE_TAMPERED
    /// A manifest file is missing, or an unlisted one is there (since C ABI 1.3).
    public static let packageFilesMismatch: Int32 = MLE_ERR_PACKAGE_FILES_MISMATCH
    /// The package is older than the minimum package version (since C ABI 1.3).
    public static let packageOutdated: Int32 = MLE_ERR_PACKAGE_OUTDATED
}

/// Bits of Prediction.flags and Served.flags (`MLE_FLAG_*`).
public enum PredictionFlag {
    /// The input was cut to fit.
    public static let truncated = UInt32(MLE_FLAG_TRUNCATED)
    public static let emptyInput = UInt32(MLE_FLAG_EMPTY_INPUT)
    /// The request ran outside the session's memory pool.
    public static let unpooled = UInt32(MLE_FLAG_UNPOOLED)
    /// Served.label did not fit MLE_LABEL_BUFFER and was cut.
    public static let labelTruncated = UInt32(MLE_FLAG_LABEL_TRUNCATED)
}

/// Input kinds of a model (`MLE_INPUT_*`).
public enum InputKind {
    public static let text: Int32 = MLE_INPUT_TEXT
    public static let tensor: Int32 = MLE_INPUT_TENSOR
    public static let bytes: Int32 = MLE_INPUT_BYTES
}

/// Alert levels (`MLE_LEVEL_*`).
public enum Level {
    public static let ok: Int32 = MLE_LEVEL_OK
    public static let warning: Int32 = MLE_LEVEL_WARNING
    public static let critical: Int32 = MLE_LEVEL_CRITICAL
}

/// Roles of a runtime's models (`MLE_ROLE_*`).
public enum Role {
    public static let variant: Int32 = MLE_ROLE_VARIANT
    public static let candidate: Int32 = MLE_ROLE_CANDIDATE
    public static let shadow: Int32 = MLE_ROLE_SHADOW
}

/// Metric export formats (`MLE_METRICS_*`).
public enum MetricsFormat {
    public static let prometheus: Int32 = MLE_METRICS_PROMETHEUS
    public static let openMetrics: Int32 = MLE_METRICS_OPENMETRICS
    public static let otlpJson: Int32 = MLE_METRICS_OTLP_JSON
}

/// User-to-variant assignment schemes (`MLE_ASSIGN_*`).
public enum AssignScheme {
    /// md5 of "experiment:user_id" (the default; reproducible in any language with an md5).
    public static let md5: Int32 = MLE_ASSIGN_MD5
    /// What a GrowthBook SDK picks, hash version 1 or 2.
    public static let growthbookV1: Int32 = MLE_ASSIGN_GROWTHBOOK_V1
    public static let growthbookV2: Int32 = MLE_ASSIGN_GROWTHBOOK_V2
}

/// Session memory pool modes (`MLE_POOL_*`).
public enum PoolMode {
    public static let auto: Int32 = MLE_POOL_AUTO
    public static let off: Int32 = MLE_POOL_OFF
    public static let fixed: Int32 = MLE_POOL_FIXED
}

/// Log levels (`MLE_LOG_*`).
public enum LogLevel {
    public static let off: Int32 = MLE_LOG_OFF
    public static let error: Int32 = MLE_LOG_ERROR
    public static let warn: Int32 = MLE_LOG_WARN
    public static let info: Int32 = MLE_LOG_INFO
    public static let debug: Int32 = MLE_LOG_DEBUG
    public static let trace: Int32 = MLE_LOG_TRACE
}

@inline(__always)
func check(_ status: Int32) throws {
    if status != MLE_OK { throw MleError(status: status, message: String(cString: mle_last_error())) }
}

/// The result of `mle_abi_check(MLE_ABI_VERSION)`, made once: a global's initializer runs once,
/// thread-safely, on first use. The message is kept because mle_last_error is per thread.
/// (CMLE_ABI_VERSION is the header's MLE_ABI_VERSION, see shim.h.)
private let abiCheck: (status: Int32, message: String) = {
    let status = mle_abi_check(CMLE_ABI_VERSION)
    return (status, status == MLE_OK ? "" : String(cString: mle_last_error()))
}()

/// Throws MleError(abiMismatch) when the library does not implement this package's ABI. Every
/// way into the layer passes here before its first C call (sessions and runtimes need a Model).
func requireAbi() throws {
    if abiCheck.status != MLE_OK { throw MleError(status: abiCheck.status, message: abiCheck.message) }
}

// MARK: - Structs that grow (struct_size)

/// The C structs that start with `uint32_t struct_size`.
protocol SizedStruct {
    init()
    var struct_size: UInt32 { get set }
}

extension SizedStruct {
    /// Zeroed, with `struct_size = sizeof` (outputs, inputs without an init function, and element
    /// 0 of output arrays).
    static func sized() -> Self {
        var value = Self()
        value.struct_size = UInt32(MemoryLayout<Self>.size)
        return value
    }

    /// The library's defaults, from the struct's `mle_*_init(&value, sizeof value)`.
    static func defaults(_ initialize: (UnsafeMutablePointer<Self>?, Int) -> Int32) throws -> Self {
        var value = Self()
        try check(initialize(&value, MemoryLayout<Self>.size))
        return value
    }
}

/// A struct the library hands to a callback, copied into this header's layout. Its struct_size
/// is the library's: a newer library's struct is larger (the fields past ours are not read); a
/// smaller one (an older library, which mle_abi_check already refuses) would leave the fields it
/// lacks zero instead of reading past its end.
func received<T: SizedStruct>(_ pointer: UnsafePointer<T>) -> T {
    var value = T()
    // struct_size is the first field: read it alone, before knowing how much may be read.
    let librarySize = Int(UnsafeRawPointer(pointer).load(as: UInt32.self))
    let count = min(librarySize, MemoryLayout<T>.size)
    withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: UnsafeRawBufferPointer(start: UnsafeRawPointer(pointer), count: count)) }
    return value
}

extension mle_model_options: SizedStruct {}
extension mle_model_details: SizedStruct {}
extension mle_session_options: SizedStruct {}
extension mle_session_stats: SizedStruct {}
extension mle_prediction: SizedStruct {}
extension mle_monitor_options: SizedStruct {}
extension mle_monitor_thresholds: SizedStruct {}
extension mle_snapshot: SizedStruct {}
extension mle_telemetry_options: SizedStruct {}
extension mle_batch: SizedStruct {}
extension mle_flush_report: SizedStruct {}
extension mle_telemetry_stats: SizedStruct {}
extension mle_runtime_options: SizedStruct {}
extension mle_rollout_options: SizedStruct {}
extension mle_served: SizedStruct {}
extension mle_variant: SizedStruct {}
extension mle_event: SizedStruct {}
extension mle_significance_result: SizedStruct {}
extension mle_variant_stats: SizedStruct {}
extension mle_shadow_report: SizedStruct {}
extension mle_health: SizedStruct {}
extension mle_loaded_model: SizedStruct {}

// MARK: - Helpers

/// A closure owned by the library: passed as userdata, released by `releaseBox`.
final class Box<T> {
    let value: T
    init(_ value: T) { self.value = value }
    func retained() -> UnsafeMutableRawPointer { Unmanaged.passRetained(self).toOpaque() }
    static func from(_ p: UnsafeMutableRawPointer?) -> T { Unmanaged<Box<T>>.fromOpaque(p!).takeUnretainedValue().value }
}

/// The free_userdata of every boxed closure: drops the reference `Box.retained` gave the library.
let releaseBox: mle_free_userdata = { p in if let p = p { Unmanaged<AnyObject>.fromOpaque(p).release() } }

/// The first `count` elements of a C array field (Swift imports those as tuples).
func elements<Tuple, Element>(of tuple: Tuple, count: Int, as _: Element.Type) -> [Element] {
    withUnsafeBytes(of: tuple) { Array($0.bindMemory(to: Element.self).prefix(count)) }
}

/// Writes `values` into the first elements of a C array field.
func fill<Tuple, Element>(_ tuple: inout Tuple, with values: [Element]) {
    withUnsafeMutableBytes(of: &tuple) { raw in
        let buffer = raw.bindMemory(to: Element.self)
        for (i, v) in values.prefix(buffer.count).enumerated() { buffer[i] = v }
    }
}

/// A NUL-terminated C char array field as a String (invalid UTF-8 repaired).
func string<Tuple>(fromCArray tuple: Tuple) -> String {
    withUnsafeBytes(of: tuple) { raw in
        let bytes = raw.bindMemory(to: UInt8.self)
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}

/// A NUL-terminated string owned by the library, "" for NULL.
func string(_ p: UnsafePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "" }

/// `len` bytes of UTF-8 at `p` (not NUL-terminated) as a String (invalid UTF-8 repaired).
func string(_ p: UnsafePointer<CChar>?, _ len: Int) -> String {
    guard let p = p, len > 0 else { return "" }
    return p.withMemoryRebound(to: UInt8.self, capacity: len) {
        String(decoding: UnsafeBufferPointer(start: $0, count: len), as: UTF8.self)
    }
}

func invalidArgument(_ message: String) -> MleError { MleError(status: MLE_ERR_INVALID_ARGUMENT, message: message) }

/// A count for a `uint32_t` field: out of range throws MLE_ERR_INVALID_ARGUMENT instead of trapping.
func cUInt32(_ value: Int, _ name: String) throws -> UInt32 {
    guard let v = UInt32(exactly: value) else { throw invalidArgument("\(name) must be in 0...\(UInt32.max), got \(value)") }
    return v
}

/// A value for an `int32_t` field, likewise.
func cInt32(_ value: Int, _ name: String) throws -> Int32 {
    guard let v = Int32(exactly: value) else { throw invalidArgument("\(name) must be in \(Int32.min)...\(Int32.max), got \(value)") }
    return v
}

/// A size for a `size_t` field (Int in Swift): negative throws.
func cSize(_ value: Int, _ name: String) throws -> Int {
    guard value >= 0 else { throw invalidArgument("\(name) must not be negative, got \(value)") }
    return value
}

/// `body` with a pointer to `value` (NULL for nil), valid during the call only.
func withOptionalPointer<T, R>(to value: T?, _ body: (UnsafePointer<T>?) throws -> R) rethrows -> R {
    guard var value = value else { return try body(nil) }
    return try withUnsafePointer(to: &value) { try body($0) }
}

/// `body` with a NUL-terminated copy of `s` (NULL for nil), valid during the call only.
func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) throws -> R) rethrows -> R {
    guard let s = s else { return try body(nil) }
    return try s.withCString { try body($0) }
}

/// Size-then-fill rendering of a metrics export (the text may grow between the two calls).
func render(_ call: (UnsafeMutablePointer<CChar>?, Int, UnsafeMutablePointer<Int>) -> Int32) throws -> String {
    var needed = 0
    var status = withUnsafeMutablePointer(to: &needed) { call(nil, 0, $0) }
    if status != MLE_ERR_BUFFER_TOO_SMALL { try check(status) }
    for _ in 0..<4 {
        var buffer = [CChar](repeating: 0, count: needed + 4096)
        var length = 0
        status = buffer.withUnsafeMutableBufferPointer { b in withUnsafeMutablePointer(to: &length) { call(b.baseAddress, b.count, $0) } }
        if status == MLE_OK { return String(cString: buffer) }
        if status != MLE_ERR_BUFFER_TOO_SMALL { try check(status) }
        needed = length
    }
    throw MleError(status: MLE_ERR_BUFFER_TOO_SMALL, message: "metrics kept growing while being rendered")
}

// MARK: - Library-wide calls

/// Calls that belong to no object (not named after the module: a type named like its module
/// breaks module-qualified names such as `MlopsEdge.Model` for clients).
public enum Mle {
    /// The library's version, e.g. "0.4.0".
    public static func version() throws -> String {
        try requireAbi()
        return String(cString: mle_version())
    }

    /// The C ABI the library implements, `(major << 16) | minor`.
    public static func abiVersion() -> UInt32 { mle_abi_version() }

    /// The variant `scheme` (AssignScheme) gives `userId` in `experiment` with these weights
    /// (summing to 1): what the runtime's hashing picks for the same experiment and scheme.
    public static func abAssign(experiment: String, userId: String, weights: [Double],
                                scheme: Int32 = AssignScheme.md5) throws -> Int {
        try requireAbi()
        var variant = 0
        try check(mle_ab_assign(experiment, userId, weights, weights.count, scheme, &variant))
        return variant
    }

    /// The pooled two-proportion z-test on given counts.
    public static func testSignificance(controlConversions: UInt64, controlTotal: UInt64, treatmentConversions: UInt64,
                                        treatmentTotal: UInt64, confidence: Double = 0.95) throws -> Significance {
        try requireAbi()
        var r = mle_significance_result.sized()
        try check(mle_ab_test_significance(controlConversions, controlTotal, treatmentConversions, treatmentTotal,
                                           confidence, &r))
        return Significance(r)
    }

    /// (level, target, message), on the thread that logged: keep it short and thread-safe.
    public typealias LogHandler = (_ level: Int32, _ target: String, _ message: String) -> Void

    /// Forwards the library's log records at `level` (LogLevel) and more severe to `handler`;
    /// nil (or LogLevel.off) turns forwarding off and releases the previous handler.
    public static func setLogHandler(level: Int32, _ handler: LogHandler?) throws {
        try requireAbi()
        guard let handler = handler else {
            try check(mle_log_set_callback(LogLevel.off, nil, nil, nil))
            return
        }
        let trampoline: mle_log_callback = { userdata, level, target, message in
            Box<LogHandler>.from(userdata)(level, string(target), string(message))
        }
        // The library owns the box from here: released when replaced, or at once if this fails.
        try check(mle_log_set_callback(level, trampoline, Box<LogHandler>(handler).retained(), releaseBox))
    }
}

// MARK: - Model

/// Loading options (mle_model_options); nil keeps the card's value or the library's default.
public struct ModelOptions {
    /// Text models: longest token sequence, 1...8192 (nil: the card's, or 128).
    public var maxSequenceLength: Int?
    /// Threads tract may use in one run, 1...64 (nil: 1).
    public var threads: Int?
    /// Largest batch, 1...1024 (nil: 32).
    public var maxBatch: Int?
    /// Text models: bytes of text looked at per request (nil: 16 per allowed token).
    public var maxTextBytes: Int?
    /// Text models: one plan per bucket (more memory) instead of one symbolic plan.
    public var planPerBucket = false
    /// Text models: sequence-length buckets (empty: the card's, or the default ladder).
    public var sequenceBuckets: [UInt32] = []
    /// Largest model file (and tokenizer, card) read, in bytes (nil: 256 MiB). A larger file
    /// throws MleError(Status.modelLimit) before it is read.
    public var maxModelBytes: UInt64?
    /// Ed25519 public keys (32 bytes each) whose signed model packages load; with any set, nothing
    /// else loads (MleError(Status.packageUnsigned), .packageUntrustedKey, …). Since C ABI 1.3.
    public var trustedKeys: [[UInt8]] = []
    /// Refuse a signed package older than this version (Status.packageOutdated; nil: any).
    public var minPackageVersion: UInt64?
    /// Resource limits checked before anything is allocated (nil: the library's defaults: 100,000
    /// nodes, graph depth 10,000, 2^28 elements per tensor, 1 GiB of initializers). Since C ABI 1.3.
    public var maxNodes: UInt64?
    public var maxGraphDepth: UInt64?
    public var maxTensorElements: UInt64?
    public var maxInitializerBytes: UInt64?

    public init() {}

    /// `body` with the C struct; its bucket and key arrays live for the call.
    func withCStruct<R>(_ body: (UnsafePointer<mle_model_options>) throws -> R) throws -> R {
        var o = try mle_model_options.defaults(mle_model_options_init)
        if let v = maxSequenceLength { o.max_sequence_length = try cUInt32(v, "maxSequenceLength") }
        if let v = threads { o.threads = try cUInt32(v, "threads") }
        if let v = maxBatch { o.max_batch = try cUInt32(v, "maxBatch") }
        if let v = maxTextBytes { o.max_text_bytes = try cSize(v, "maxTextBytes") }
        if let v = maxModelBytes { o.max_model_bytes = v }
        if let v = minPackageVersion { o.min_package_version = v }
        if let v = maxNodes { o.max_nodes = v }
        if let v = maxGraphDepth { o.max_graph_depth = v }
        if let v = maxTensorElements { o.max_tensor_elements = v }
        if let v = maxInitializerBytes { o.max_initializer_bytes = v }
        o.plan_per_bucket = planPerBucket ? 1 : 0
        let keys = try flattenKeys(trustedKeys)
        return try sequenceBuckets.withUnsafeBufferPointer { buckets -> R in
            try keys.withUnsafeBufferPointer { keyBytes -> R in
                o.sequence_buckets = buckets.isEmpty ? nil : buckets.baseAddress
                o.sequence_bucket_count = buckets.count
                o.trusted_keys = keyBytes.isEmpty ? nil : keyBytes.baseAddress
                o.trusted_key_count = trustedKeys.count
                return try withUnsafePointer(to: &o) { try body($0) }
            }
        }
    }
}

/// The keys one after the other, as the C options take them; a key that is not 32 bytes throws.
func flattenKeys(_ keys: [[UInt8]]) throws -> [UInt8] {
    var bytes: [UInt8] = []
    for (i, key) in keys.enumerated() {
        guard key.count == 32 else {
            throw invalidArgument("trustedKeys[\(i)] has \(key.count) bytes: an Ed25519 public key has 32")
        }
        bytes.append(contentsOf: key)
    }
    return bytes
}

/// What a model's card and plans say (mle_model_details).
public struct ModelDetails {
    public let inputKind: Int32
    public let name: String
    public let version: String
    public let trainedAt: String
    public let description: String
    public let metricsJson: String
    /// Seconds since the Unix epoch; nil when the card has no trained_at (MLE_TIME_UNKNOWN).
    public let trainedAtUnix: Int64?
    public let labelCount: Int
    public let maxInputLength: Int
    public let planCount: Int
    /// MLE_ELEMENT_*: the element type the graph's input takes (f32 features are converted to it).
    public let inputElementType: Int32
    /// NaN features are taken as missing values (a tree ensemble, a NaN imputer); else refused.
    public let handlesMissingValues: Bool
    /// Loaded from a model package (docs/packages.md), its version, whether it was signed and by
    /// which key (32 bytes; empty when unsigned). Since C ABI 1.3.
    public let fromPackage: Bool
    public let packageVersion: UInt64
    public let signedPackage: Bool
    public let signerPublicKey: [UInt8]

    init(_ d: mle_model_details) {
        inputKind = d.input_kind
        name = string(d.name)
        version = string(d.version)
        trainedAt = string(d.trained_at)
        description = string(d.description)
        metricsJson = string(d.metrics_json)
        // MLE_TIME_UNKNOWN is INT64_MIN, a macro Swift does not import (module_check.m asserts it).
        trainedAtUnix = d.trained_at_unix == Int64.min ? nil : d.trained_at_unix
        labelCount = Int(d.label_count)
        maxInputLength = Int(d.max_input_length)
        planCount = Int(d.plan_count)
        inputElementType = d.input_element_type
        handlesMissingValues = d.handles_missing_values != 0
        fromPackage = d.from_package != 0
        packageVersion = d.package_version
        signedPackage = d.signed_package != 0
        var key = d.signer_public_key
        signerPublicKey = signedPackage ? withUnsafeBytes(of: &key) { Array($0) } : []
    }
}

/// A loaded classifier (thread-safe; sessions and runtimes keep it alive).
public final class Model {
    let handle: OpaquePointer
    public init(path: String, options: ModelOptions? = nil) throws {
        try requireAbi()
        var out: OpaquePointer?
        if let options = options {
            try options.withCStruct { o -> Void in try check(mle_model_load(path, o, &out)) }
        } else {
            try check(mle_model_load(path, nil, &out))
        }
        handle = out!
    }
    deinit { mle_model_free(handle) }

    public func details() throws -> ModelDetails {
        var d = mle_model_details.sized()
        try check(mle_model_get_details(handle, &d))
        return ModelDetails(d)
    }
    public var labelCount: Int { (try? details().labelCount) ?? 0 }
    public func label(_ index: Int) throws -> String {
        var l: UnsafePointer<CChar>?
        try check(mle_model_get_label(handle, index, &l))
        return string(l)
    }
}

// MARK: - Session

/// One answer.
public struct Prediction {
    public let labelIndex: Int
    public let label: String
    public let score: Float
    /// MLE_FLAG_* bits (truncated input, empty input, unpooled request).
    public let flags: UInt32
    public let inputLength: Int
    public let latencyNs: UInt64
    public let probabilities: [Float]
}

/// A session's counters: requests = successes + errors (refused arguments included).
public struct SessionStats {
    public let requests: UInt64
    public let errors: UInt64
    public let lastRequestSystemCalls: UInt64
    public let poolCapacity: UInt64
    public let poolUsed: UInt64
    public let poolPeak: UInt64
    public let poolOverflows: UInt64
}

/// One thread's scratch for one model: one call at a time (a second concurrent call throws
/// MleError(Status.sessionBusy)); give each thread its own.
public final class Session {
    let handle: OpaquePointer
    let labels: Int
    public init(model: Model, poolMode: Int32 = PoolMode.auto, poolBytes: Int = 0) throws {
        var o = try mle_session_options.defaults(mle_session_options_init)
        o.pool_mode = poolMode
        o.pool_bytes = try cSize(poolBytes, "poolBytes")
        var out: OpaquePointer?
        try check(mle_session_new(model.handle, &o, &out))
        handle = out!
        labels = model.labelCount
    }
    deinit { mle_session_free(handle) }
    // Text goes through withCString: a valid pointer even for "" (an empty Array's may be nil),
    // with the UTF-8 length passed, so interior NULs are kept.
    public func classify(text: String) throws -> Prediction {
        try predict { out, probs, capacity, n in
            text.withCString { mle_session_classify_text(handle, $0, text.utf8.count, out, probs, capacity, n) }
        }
    }
    public func classify(features: [Float]) throws -> Prediction {
        try predict { out, probs, capacity, n in
            mle_session_classify_f32(handle, features, features.count, out, probs, capacity, n)
        }
    }
    public func classify(bytes: [UInt8]) throws -> Prediction {
        try predict { out, probs, capacity, n in mle_session_classify_bytes(handle, bytes, bytes.count, out, probs, capacity, n) }
    }
    /// One classify call (out, then the probabilities buffer with room for every label).
    private func predict(_ call: (UnsafeMutablePointer<mle_prediction>, UnsafeMutablePointer<Float>?, Int,
                                  UnsafeMutablePointer<Int>) -> Int32) throws -> Prediction {
        var probs = [Float](repeating: 0, count: labels)
        var p = mle_prediction.sized()
        var n = 0
        let status = probs.withUnsafeMutableBufferPointer { b in
            withUnsafeMutablePointer(to: &p) { pp in withUnsafeMutablePointer(to: &n) { call(pp, b.baseAddress, b.count, $0) } }
        }
        try check(status)
        return Prediction(labelIndex: Int(p.label_index), label: string(p.label), score: p.score, flags: p.flags,
                          inputLength: Int(p.input_length), latencyNs: p.latency_ns, probabilities: Array(probs.prefix(n)))
    }
    public func stats() throws -> SessionStats {
        var s = mle_session_stats.sized()
        try check(mle_session_get_stats(handle, &s))
        return SessionStats(requests: s.requests, errors: s.errors, lastRequestSystemCalls: s.last_request_system_calls,
                            poolCapacity: s.pool_capacity, poolUsed: s.pool_used, poolPeak: s.pool_peak,
                            poolOverflows: s.pool_overflows)
    }
    /// Every later request of this session is recorded by `monitor`.
    public func attach(_ monitor: Monitor) throws { try check(mle_session_attach_monitor(handle, monitor.handle)) }
    public func detach() throws { try check(mle_session_detach_monitor(handle)) }
}

// MARK: - Monitor

/// One drift test (KS for latency, confidence, input length and features; chi-square for labels).
public struct Drift {
    public let tested: Bool
    public let drifted: Bool
    public let statistic: Double
    public let pValue: Double

    init(_ d: mle_drift) {
        tested = d.tested != 0
        drifted = d.drifted != 0
        statistic = d.statistic
        pValue = d.p_value
    }
    init(_ d: mle_label_drift) {
        tested = d.tested != 0
        drifted = d.drifted != 0
        statistic = d.statistic
        pValue = d.p_value
    }
}

/// One alert: metric (MLE_ALERT_*), level (Level), current and baseline values.
public struct Alert {
    public let metric: Int32
    public let level: Int32
    /// The feature's position for a feature drift alert.
    public let feature: Int
    public let current: Double
    public let baseline: Double
    public let changePct: Double
}

/// One analysis of a monitor (the main fields of mle_snapshot).
public struct Snapshot {
    public let processed: UInt64
    public let dropped: UInt64
    public let pending: UInt64
    public let windowCount: UInt64
    public let windowErrors: UInt64
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
    public let featureDrifts: [Drift]
    public let labelDrift: Drift
    public let alerts: [Alert]
    /// (version, ok, errors) per model version seen.
    public let versions: [(version: String, ok: UInt64, errors: UInt64)]

    init(_ s: mle_snapshot) {
        processed = s.processed
        dropped = s.dropped
        pending = s.pending
        windowCount = s.window_count
        windowErrors = s.window_errors
        errorRate = s.error_rate
        latencyP50Us = s.latency_p50_us
        latencyP95Us = s.latency_p95_us
        latencyP99Us = s.latency_p99_us
        confidenceMean = s.confidence_mean
        hasBaseline = s.has_baseline != 0
        degradationTested = s.degradation_tested != 0
        level = s.level
        latencyDrift = Drift(s.drift_latency)
        confidenceDrift = Drift(s.drift_confidence)
        inputLengthDrift = Drift(s.drift_input_length)
        featureDrifts = elements(of: s.drift_features, count: Int(s.feature_count), as: mle_drift.self).map { Drift($0) }
        labelDrift = Drift(s.drift_labels)
        alerts = elements(of: s.alerts, count: Int(s.alert_count), as: mle_alert.self).map {
            Alert(metric: $0.metric, level: $0.level, feature: Int($0.feature), current: $0.current, baseline: $0.baseline,
                  changePct: $0.change_pct)
        }
        versions = elements(of: s.versions, count: Int(s.version_count), as: mle_version_counts.self).map {
            (version: string(fromCArray: $0.version), ok: $0.ok, errors: $0.errors)
        }
    }
}

/// How a monitor is sized (mle_monitor_options); nil keeps the library's default.
public struct MonitorOptions {
    /// Records the analysis window keeps (nil: 1024).
    public var window: Int?
    /// Records each session's ring holds between analyses (nil: 1024).
    public var ringCapacity: Int?
    /// Sessions attached at once (nil: 16; a runtime sets its own).
    public var maxSessions: Int?
    /// Labels counted one by one, usually the model's label count (a runtime sets its own).
    public var labelCount: Int?
    /// Tensor input positions watched for drift (at most MLE_MAX_FEATURES).
    public var featureIndices: [Int] = []

    public init() {}

    func cStruct() throws -> mle_monitor_options {
        var o = try mle_monitor_options.defaults(mle_monitor_options_init)
        if let v = window { o.window = try cUInt32(v, "window") }
        if let v = ringCapacity { o.ring_capacity = try cUInt32(v, "ringCapacity") }
        if let v = maxSessions { o.max_sessions = try cUInt32(v, "maxSessions") }
        if let v = labelCount { o.label_count = try cUInt32(v, "labelCount") }
        guard featureIndices.count <= Int(MLE_MAX_FEATURES) else {
            throw invalidArgument("at most \(MLE_MAX_FEATURES) featureIndices, got \(featureIndices.count)")
        }
        o.feature_count = UInt32(featureIndices.count)
        try fill(&o.feature_indices, with: featureIndices.map { try cUInt32($0, "featureIndices") })
        return o
    }
}

/// Alert thresholds (mle_monitor_thresholds), starting from the library's defaults.
public struct Thresholds {
    var c: mle_monitor_thresholds

    public init() throws {
        try requireAbi()
        c = try mle_monitor_thresholds.defaults(mle_monitor_thresholds_init)
    }
    init(_ c: mle_monitor_thresholds) { self.c = c }

    /// Level of drift alerts: Level.warning (default) or Level.critical.
    public var driftLevel: Int32 { get { c.drift_level } set { c.drift_level = newValue } }
    public var latencyP95Warning: Double { get { c.latency_p95_warning } set { c.latency_p95_warning = newValue } }
    public var latencyP95Critical: Double { get { c.latency_p95_critical } set { c.latency_p95_critical = newValue } }
    public var confidenceDropWarning: Double { get { c.confidence_drop_warning } set { c.confidence_drop_warning = newValue } }
    public var confidenceDropCritical: Double { get { c.confidence_drop_critical } set { c.confidence_drop_critical = newValue } }
    public var errorRateWarning: Double { get { c.error_rate_warning } set { c.error_rate_warning = newValue } }
    public var errorRateCritical: Double { get { c.error_rate_critical } set { c.error_rate_critical = newValue } }
    public var driftPValue: Double { get { c.drift_p_value } set { c.drift_p_value = newValue } }
    public var labelDriftPValue: Double { get { c.label_drift_p_value } set { c.label_drift_p_value = newValue } }
    public var minDriftSamples: UInt32 { get { c.min_drift_samples } set { c.min_drift_samples = newValue } }
    public var minAlertSamples: UInt32 { get { c.min_alert_samples } set { c.min_alert_samples = newValue } }
}

/// The on-device monitor (thread-safe).
public final class Monitor {
    let handle: OpaquePointer
    /// (previous level, current level, the analysis): called when an analysis changes the level.
    public typealias LevelHandler = (Int32, Int32, Snapshot) -> Void

    public init(options: MonitorOptions) throws {
        try requireAbi()
        var o = try options.cStruct()
        var out: OpaquePointer?
        try check(mle_monitor_new(&o, &out))
        handle = out!
    }
    public convenience init(labelCount: Int, window: Int = 1024, maxSessions: Int = 16) throws {
        var options = MonitorOptions()
        options.labelCount = labelCount
        options.window = window
        options.maxSessions = maxSessions
        try self.init(options: options)
    }
    deinit { mle_monitor_free(handle) }

    public func snapshot() throws -> Snapshot {
        var s = mle_snapshot.sized()
        try check(mle_monitor_snapshot(handle, &s, nil, 0, nil))
        return Snapshot(s)
    }
    /// Moves waiting records into the window without analysing; returns how many moved.
    @discardableResult
    public func drain() throws -> Int {
        var moved = 0
        try check(mle_monitor_drain(handle, &moved))
        return moved
    }
    public func freezeBaseline() throws { try check(mle_monitor_freeze_baseline(handle)) }
    public func clearBaseline() throws { try check(mle_monitor_clear_baseline(handle)) }
    public func resetWindow() throws { try check(mle_monitor_reset_window(handle)) }
    public func thresholds() throws -> Thresholds {
        var t = mle_monitor_thresholds.sized()
        try check(mle_monitor_get_thresholds(handle, &t))
        return Thresholds(t)
    }
    public func setThresholds(_ thresholds: Thresholds) throws {
        var t = thresholds.c
        try check(mle_monitor_set_thresholds(handle, &t))
    }
    /// Runs inside the analysis call that changed the level; it must not analyse this monitor.
    public func setLevelHandler(_ handler: LevelHandler?) throws {
        guard let handler = handler else {
            try check(mle_monitor_set_level_callback(handle, nil, nil, nil))
            return
        }
        let trampoline: mle_level_callback = { userdata, previous, current, snapshot in
            guard let snapshot = snapshot else { return }
            Box<LevelHandler>.from(userdata)(previous, current, Snapshot(received(snapshot)))
        }
        // The library owns the box from here: released when replaced or freed, or at once if this fails.
        try check(mle_monitor_set_level_callback(handle, trampoline, Box<LevelHandler>(handler).retained(), releaseBox))
    }
    /// Prometheus text, OpenMetrics or OTLP JSON (MetricsFormat), labelled with `modelVersion`.
    public func exportMetrics(format: Int32 = MetricsFormat.prometheus, modelVersion: String,
                              telemetry: Telemetry? = nil) throws -> String {
        try render { buffer, capacity, length in
            mle_monitor_export_metrics(handle, modelVersion, telemetry?.handle, format, buffer, capacity, length)
        }
    }
}

// MARK: - Telemetry

/// The host's answer to an upload.
public enum UploadResult: Int32 { case ok = 0, retry = 1, drop = 2 }

/// Telemetry options (mle_telemetry_options); nil keeps the library's default.
public struct TelemetryOptions {
    public var queueCapacity: Int?
    /// Fraction of successful requests recorded, 0...1 (nil: 1).
    public var requestSampleRate: Double?
    public var batchMaxRecords: Int?
    public var batchMaxBytes: Int?
    public var retryInitialMs: Int?
    public var retryMaxMs: Int?
    /// Spool file keeping unsent records across app kills (nil: none).
    public var spoolPath: String?
    public var spoolMaxBytes: UInt64?
    /// fsync every spool write (survives power loss).
    public var spoolSync = false
    /// Device id written into each batch header (at most 64 bytes of UTF-8).
    public var deviceId: String?

    public init() {}

    /// Sets the numeric fields; the strings are set by Telemetry.init, inside their withCString.
    func apply(to o: inout mle_telemetry_options) throws {
        if let v = queueCapacity { o.queue_capacity = try cUInt32(v, "queueCapacity") }
        if let v = requestSampleRate { o.request_sample_rate = v }
        if let v = batchMaxRecords { o.batch_max_records = try cUInt32(v, "batchMaxRecords") }
        if let v = batchMaxBytes { o.batch_max_bytes = try cUInt32(v, "batchMaxBytes") }
        if let v = retryInitialMs { o.retry_initial_ms = try cUInt32(v, "retryInitialMs") }
        if let v = retryMaxMs { o.retry_max_ms = try cUInt32(v, "retryMaxMs") }
        if let v = spoolMaxBytes { o.spool_max_bytes = v }
        o.spool_sync = spoolSync ? 1 : 0
    }
}

/// What one flush did.
public struct FlushReport {
    public let batchesSent: UInt64
    public let batchesDropped: UInt64
    public let retried: Bool
    /// Milliseconds until a RETRY'd batch may go again (nil if none waits).
    public let retryAfterMs: UInt64?
    public let pending: UInt64
}

/// Telemetry counters: recorded = sent + droppedQueueFull + droppedByHost + pending.
public struct TelemetryStats {
    public let recorded: UInt64
    public let sampledOut: UInt64
    public let sent: UInt64
    public let retried: UInt64
    public let droppedQueueFull: UInt64
    public let droppedByHost: UInt64
    public let pending: UInt64
    public let recovered: UInt64
    public let spoolBytes: UInt64
    public let spoolErrors: UInt64
    public let lastSpoolError: String
    /// Bytes of a torn tail cut from the spool at creation (a write the app's death interrupted).
    public let spoolTornBytes: UInt64
    /// Bytes of damaged entries skipped inside the spool at creation (the intact entries after
    /// them were recovered). Since C ABI 1.1.
    public let spoolCorruptBytes: UInt64
    /// Stretches of damage skipped inside the spool at creation. Since C ABI 1.1.
    public let spoolCorruptRegions: UInt64
    /// The spool file existed but was found shorter than its header at creation (emptied or cut by
    /// something else: its records are lost; `spoolTornBytes` holds what was left). Since C ABI 1.1.
    public let spoolTruncated: Bool
}

/// Telemetry with the host's upload closure (JSON Lines batches, schema mlops_edge.telemetry v1).
/// One Telemetry per spool file: a second one on the same `spoolPath` while the first (or a
/// runtime using it) lives throws MleError(Status.spoolLocked) (since C ABI 1.1).
public final class Telemetry {
    let handle: OpaquePointer
    public typealias Upload = (_ batchId: UInt64, _ data: Data, _ attempt: UInt32) -> UploadResult
    /// A batch's worth of records is waiting: signal your scheduler (called on a request thread).
    public typealias Ready = (_ waiting: UInt64) -> Void

    /// The two closures behind the one userdata the library passes to both callbacks.
    final class Hooks {
        let upload: Upload
        let ready: Ready?
        init(upload: @escaping Upload, ready: Ready?) {
            self.upload = upload
            self.ready = ready
        }
    }

    public init(options: TelemetryOptions = TelemetryOptions(), ready: Ready? = nil, upload: @escaping Upload) throws {
        try requireAbi()
        var o = try mle_telemetry_options.defaults(mle_telemetry_options_init)
        try options.apply(to: &o)
        o.upload = { userdata, batch in
            guard let batch = batch else { return UploadResult.retry.rawValue }
            let b = received(batch)
            let data = b.data.map { Data(bytes: $0, count: b.len) } ?? Data()
            return Box<Hooks>.from(userdata).upload(b.id, data, b.attempt).rawValue
        }
        if ready != nil {
            o.ready = { userdata, waiting in
                if let ready = Box<Hooks>.from(userdata).ready { ready(waiting) }
            }
        }
        var out: OpaquePointer?
        try withOptionalCString(options.spoolPath) { spool -> Void in
            try withOptionalCString(options.deviceId) { device -> Void in
                o.spool_path = spool
                o.device_id = device
                // Nothing throws between here and the call: the library owns the box from the
                // call on (released with the last user of the telemetry, or at once on failure).
                o.userdata = Box(Hooks(upload: upload, ready: ready)).retained()
                o.free_userdata = releaseBox
                try check(mle_telemetry_new(&o, &out))
            }
        }
        handle = out!
    }
    deinit { mle_telemetry_free(handle) }

    /// Offers waiting batches; `retryAfterMs` says when a RETRY'd batch may go again.
    @discardableResult
    public func flush() throws -> FlushReport {
        var r = mle_flush_report.sized()
        try check(mle_telemetry_flush(handle, &r))
        return FlushReport(batchesSent: r.batches_sent, batchesDropped: r.batches_dropped, retried: r.retried != 0,
                           retryAfterMs: r.backing_off != 0 ? r.retry_after_ms : nil, pending: r.pending)
    }
    /// Moves queued records to the spool without uploading (e.g. when the app goes to the background).
    public func persist() throws { try check(mle_telemetry_persist(handle)) }
    public func stats() throws -> TelemetryStats {
        var s = mle_telemetry_stats.sized()
        try check(mle_telemetry_get_stats(handle, &s))
        return TelemetryStats(recorded: s.recorded, sampledOut: s.sampled_out, sent: s.sent, retried: s.retried,
                              droppedQueueFull: s.dropped_queue_full, droppedByHost: s.dropped_by_host, pending: s.pending,
                              recovered: s.recovered, spoolBytes: s.spool_bytes, spoolErrors: s.spool_errors,
                              lastSpoolError: string(fromCArray: s.last_spool_error), spoolTornBytes: s.spool_torn_bytes,
                              spoolCorruptBytes: s.spool_corrupt_bytes, spoolCorruptRegions: s.spool_corrupt_regions,
                              spoolTruncated: s.spool_truncated != 0)
    }
    public func pending() throws -> UInt64 { try stats().pending }
}

// MARK: - Runtime

/// One answer of the runtime.
public struct Served {
    public let variant: Int
    public let candidate: Bool
    public let labelIndex: Int
    public let label: String
    public let score: Float
    /// MLE_FLAG_* bits, plus MLE_FLAG_LABEL_TRUNCATED.
    public let flags: UInt32
    public let inputLength: Int
    public let latencyNs: UInt64
    /// The version of the model that answered.
    public let version: String

    init(_ s: mle_served) {
        variant = s.variant
        candidate = s.candidate != 0
        labelIndex = Int(s.label_index)
        label = string(fromCArray: s.label)
        score = s.score
        flags = s.flags
        inputLength = Int(s.input_length)
        latencyNs = s.latency_ns
        version = string(fromCArray: s.version)
    }
}

/// Per-variant counts.
public struct VariantStats {
    public let name: String
    public let version: String
    public let weight: Double
    public let requests: UInt64
    public let errors: UInt64
    public let candidateRequests: UInt64
    public let conversions: UInt64
    public let outcomes: UInt64
}

/// The pooled two-proportion z-test of treatment against control.
public struct Significance {
    public let controlRate: Double
    public let treatmentRate: Double
    public let pValue: Double
    public let zScore: Double
    public let lift: Double
    public let liftPercent: Double
    public let significant: Bool
    public let ciLower: Double
    public let ciUpper: Double

    init(_ r: mle_significance_result) {
        controlRate = r.control_rate
        treatmentRate = r.treatment_rate
        pValue = r.p_value
        zScore = r.z_score
        lift = r.lift
        liftPercent = r.lift_percent
        significant = r.significant != 0
        ciLower = r.ci_lower
        ciUpper = r.ci_upper
    }
}

/// Shadow testing results.
public struct ShadowReport {
    public let version: String
    public let fraction: Double
    public let sampled: UInt64
    public let compared: UInt64
    public let agreed: UInt64
    /// NaN before the first comparison.
    public let agreementRate: Double
    public let shadowErrors: UInt64
    public let productionErrors: UInt64
    public let skippedQueueFull: UInt64
    public let skippedTooLarge: UInt64
    public let pending: UInt64
    public let discarded: UInt64
    public let latencyP95Us: Double
}

/// One loaded model of the runtime.
public struct LoadedModel {
    public let role: Int32
    public let variant: Int
    public let variantName: String
    public let version: String
    /// Unix seconds of the card's trained_at (nil: unknown).
    public let trainedAtUnix: Int64?
    public let ageDays: Int64?
    public let needsRetraining: Bool
    public let stalenessLevel: Int32
    public let alertLevel: Int32

    init(_ m: mle_loaded_model) {
        role = m.role
        variant = m.variant
        variantName = string(fromCArray: m.variant_name)
        version = string(fromCArray: m.version)
        // Int64.min is MLE_TIME_UNKNOWN (see ModelDetails).
        trainedAtUnix = m.trained_at_unix == Int64.min ? nil : m.trained_at_unix
        ageDays = m.age_days == Int64.min ? nil : m.age_days
        needsRetraining = m.needs_retraining != 0
        stalenessLevel = m.staleness_level
        alertLevel = m.alert_level
    }
}

/// Runtime health (the main fields of mle_health) and the loaded models.
public struct Health {
    public let state: Int32
    public let level: Int32
    public let requests: UInt64
    public let errors: UInt64
    public let busy: UInt64
    public let hookErrors: UInt64
    public let swaps: UInt64
    public let refusedModels: UInt64
    public let rollbacks: UInt64
    public let rolloutActive: Bool
    public let rolloutPercent: UInt32
    public let lastError: String
    public let telemetrySent: UInt64
    public let telemetryPending: UInt64
    /// Spool bytes lost when the runtime's telemetry was created: a torn tail cut, damage skipped,
    /// or a spool found emptied (`TelemetryStats` says which). Since C ABI 1.1.
    public let telemetrySpoolLostBytes: UInt64
    public let models: [LoadedModel]
}

/// A deployment event (kind: MLE_EVENT_*).
public struct Event {
    public let kind: Int32
    public let variant: Int
    public let fromVersion: String
    public let toVersion: String
    public let stagePercent: UInt32
    public let level: Int32
    public let message: String
}

/// A model's last snapshot, given by shutdown.
public struct FinalSnapshot {
    public let role: Int32
    public let variant: Int
    public let version: String
    public let snapshot: Snapshot
}

/// Runtime options (mle_runtime_options); nil keeps the library's default.
public struct RuntimeOptions {
    /// Sessions per loaded model = requests one model serves at once (nil: 4).
    public var maxConcurrency: Int?
    /// Milliseconds a request waits for a free session before MleError(Status.busy) (nil: 50).
    public var busyWaitMs: Int?
    public var poolMode: Int32?
    public var poolBytes: Int?
    /// Template of each model's monitor (nil: defaults; maxSessions and labelCount are set per model).
    public var monitor: MonitorOptions?
    /// Thresholds of each model's monitor (nil: defaults).
    public var thresholds: Thresholds?
    public var shadowQueueCapacity: Int?
    public var shadowMaxInputBytes: Int?
    public var evaluationIntervalMs: Int?
    public var stalenessWarningDays: Int?
    public var stalenessCriticalDays: Int?
    /// false: no supervisor thread, call Runtime.evaluate() yourself.
    public var supervisorThread = true
    /// Keys every model the runtime is given must be signed with (swaps, rollouts, experiments,
    /// the shadow); a refused model keeps the old one serving. Since C ABI 1.3.
    public var trustedKeys: [[UInt8]] = []
    /// Refuse signed packages older than this version (nil: any).
    public var minPackageVersion: UInt64?

    public init() {}

    /// Sets the plain fields; the monitor and thresholds pointers are set by Runtime.init.
    func apply(to o: inout mle_runtime_options) throws {
        if let v = maxConcurrency { o.max_concurrency = try cUInt32(v, "maxConcurrency") }
        if let v = busyWaitMs { o.busy_wait_ms = try cUInt32(v, "busyWaitMs") }
        if let v = poolMode { o.pool_mode = v }
        if let v = poolBytes { o.pool_bytes = try cSize(v, "poolBytes") }
        if let v = shadowQueueCapacity { o.shadow_queue_capacity = try cUInt32(v, "shadowQueueCapacity") }
        if let v = shadowMaxInputBytes { o.shadow_max_input_bytes = try cUInt32(v, "shadowMaxInputBytes") }
        if let v = evaluationIntervalMs { o.evaluation_interval_ms = try cUInt32(v, "evaluationIntervalMs") }
        if let v = stalenessWarningDays { o.staleness_warning_days = try cInt32(v, "stalenessWarningDays") }
        if let v = stalenessCriticalDays { o.staleness_critical_days = try cInt32(v, "stalenessCriticalDays") }
        o.supervisor_thread = supervisorThread ? 1 : 0
        if let v = minPackageVersion { o.min_package_version = v }
    }
}

/// The deployment runtime (thread-safe).
public final class Runtime {
    let handle: OpaquePointer
    /// The runtime keeps its own reference to the telemetry; this one keeps the Swift object.
    let telemetry: Telemetry?
    public typealias EventHandler = (Event) -> Void

    public init(production: Model, options: RuntimeOptions = RuntimeOptions(), telemetry: Telemetry? = nil) throws {
        var o = try mle_runtime_options.defaults(mle_runtime_options_init)
        try options.apply(to: &o)
        o.telemetry = telemetry?.handle
        let monitor = try options.monitor?.cStruct()
        let thresholds = options.thresholds?.c
        var out: OpaquePointer?
        let keys = try flattenKeys(options.trustedKeys)
        // monitor, thresholds and the keys are pointers: valid for the call, which copies what
        // they point to.
        try withOptionalPointer(to: monitor) { m -> Void in
            try withOptionalPointer(to: thresholds) { t -> Void in
                try keys.withUnsafeBufferPointer { keyBytes -> Void in
                    o.monitor = m
                    o.thresholds = t
                    o.trusted_keys = keyBytes.isEmpty ? nil : keyBytes.baseAddress
                    o.trusted_key_count = options.trustedKeys.count
                    try check(mle_runtime_new(production.handle, &o, &out))
                }
            }
        }
        handle = out!
        self.telemetry = telemetry
    }
    deinit { mle_runtime_free(handle) }

    public func classify(userId: String, text: String) throws -> Served {
        try serve { out in
            text.withCString { mle_runtime_classify_text(handle, userId, $0, text.utf8.count, out, nil, 0, nil) }
        }
    }
    public func classify(userId: String, features: [Float]) throws -> Served {
        try serve { out in mle_runtime_classify_f32(handle, userId, features, features.count, out, nil, 0, nil) }
    }
    public func classify(userId: String, bytes: [UInt8]) throws -> Served {
        try serve { out in mle_runtime_classify_bytes(handle, userId, bytes, bytes.count, out, nil, 0, nil) }
    }
    private func serve(_ call: (UnsafeMutablePointer<mle_served>) -> Int32) throws -> Served {
        var s = mle_served.sized()
        try check(withUnsafeMutablePointer(to: &s) { call($0) })
        return Served(s)
    }
    /// An A/B experiment: (name, model, weight) per variant, weights summing to 1; variant 0 is
    /// control; `scheme` (AssignScheme) assigns the users. Every model must take the inputs
    /// production takes (kind, feature count and shape, byte layout) and have no more labels than
    /// `maxLabels()`; otherwise MleError(Status.invalidArgument) and nothing changes.
    public func setExperiment(_ name: String, _ variants: [(String, Model, Double)], scheme: Int32 = AssignScheme.md5) throws {
        let names = variants.map { strdup($0.0) }
        defer { names.forEach { free($0) } }
        // An input array: struct_size in every element.
        let c: [mle_variant] = variants.indices.map { (i: Int) -> mle_variant in
            var v = mle_variant.sized()
            v.name = names[i].map { UnsafePointer($0) }
            v.model = variants[i].1.handle
            v.weight = variants[i].2
            return v
        }
        try check(mle_runtime_set_experiment(handle, name, c, c.count, scheme))
    }
    /// Called on the thread that caused the event (a control call's, the supervisor's).
    public func setEventHandler(_ handler: EventHandler?) throws {
        guard let handler = handler else {
            try check(mle_runtime_set_event_callback(handle, nil, nil, nil))
            return
        }
        let trampoline: mle_event_callback = { userdata, event in
            guard let event = event else { return }
            let e = received(event)
            Box<EventHandler>.from(userdata)(Event(kind: e.kind, variant: e.variant, fromVersion: string(e.from_version),
                                                   toVersion: string(e.to_version), stagePercent: e.stage_percent,
                                                   level: e.level, message: string(e.message)))
        }
        try check(mle_runtime_set_event_callback(handle, trampoline, Box<EventHandler>(handler).retained(), releaseBox))
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
        try check(mle_runtime_set_assignment_hook(handle, trampoline, Box<AssignmentHook>(hook).retained(), releaseBox))
    }
    /// Hot swap after the model's self-test (its card's cases). A model that cannot take the inputs
    /// the runtime serves (another input kind, feature count or shape, byte layout) or has more
    /// labels than `maxLabels()` is refused with MleError(Status.selfTestFailed) (since C ABI 1.1)
    /// and the old one keeps serving; a deliberate change is `changeInputSchema(model:)`.
    public func swap(variant: Int, model: Model) throws { try check(mle_runtime_swap(handle, variant, model.handle, nil, 0)) }
    /// A deliberate change of input schema: `model` replaces production although it takes another
    /// kind or shape of input, or has more labels, than the runtime serves (what `swap` refuses),
    /// after its self-test (its card's cases). Only while production serves alone (an experiment of
    /// several variants, a rollout or a shadow: MleError(Status.invalidState)). From the next
    /// request on, send the new inputs; `maxLabels()` follows the new model; `rollback` cannot
    /// cross the change (Status.invalidState). Since C ABI 1.1.
    public func changeInputSchema(model: Model) throws {
        try check(mle_runtime_change_input_schema(handle, model.handle, nil, 0))
    }
    /// Loads the model at `path` with `options` and swaps it in; a model that fails to load is
    /// refused like a failed self-test (the old one keeps serving; its load status is thrown).
    public func swap(variant: Int, path: String, options: ModelOptions? = nil) throws {
        if let options = options {
            try options.withCStruct { o -> Void in try check(mle_runtime_swap_path(handle, variant, path, o, nil, 0)) }
        } else {
            try check(mle_runtime_swap_path(handle, variant, path, nil, nil, 0))
        }
    }
    /// A staged rollout of `candidate` for `variant` (empty stages: 10, 25, 50, 100 percent). The
    /// candidate is refused as `swap` refuses a model (Status.selfTestFailed).
    public func startRollout(variant: Int, candidate: Model, stagesPercent: [Int] = [], requestsPerStage: UInt64? = nil,
                             autoPromote: Bool? = nil) throws {
        var o = try mle_rollout_options.defaults(mle_rollout_options_init)
        if !stagesPercent.isEmpty {
            guard stagesPercent.count <= Int(MLE_MAX_STAGES) else {
                throw invalidArgument("at most \(MLE_MAX_STAGES) stages, got \(stagesPercent.count)")
            }
            o.stage_count = UInt32(stagesPercent.count)
            try fill(&o.stages_percent, with: stagesPercent.map { try cUInt32($0, "stagesPercent") })
        }
        if let v = requestsPerStage { o.requests_per_stage = v }
        if let v = autoPromote { o.auto_promote = v ? 1 : 0 }
        try check(mle_runtime_start_rollout(handle, variant, candidate.handle, &o, nil, 0))
    }
    public func promote() throws { try check(mle_runtime_promote(handle)) }
    public func rollback(variant: Int) throws { try check(mle_runtime_rollback(handle, variant)) }
    public func recordOutcome(variant: Int, converted: Bool) throws {
        try check(mle_runtime_record_outcome(handle, variant, converted ? 1 : 0))
    }
    /// Mirrors a `fraction` of production requests to `model`, off the request path. It must take
    /// the inputs production takes (its labels may differ), else MleError(Status.invalidArgument).
    public func setShadow(model: Model, fraction: Double) throws {
        try check(mle_runtime_set_shadow(handle, model.handle, fraction))
    }
    public func clearShadow() throws { try check(mle_runtime_clear_shadow(handle)) }
    public func shadowReport() throws -> ShadowReport {
        var r = mle_shadow_report.sized()
        try check(mle_runtime_get_shadow_report(handle, &r))
        return ShadowReport(version: string(fromCArray: r.version), fraction: r.fraction, sampled: r.sampled,
                            compared: r.compared, agreed: r.agreed, agreementRate: r.agreement_rate,
                            shadowErrors: r.shadow_errors, productionErrors: r.production_errors,
                            skippedQueueFull: r.skipped_queue_full, skippedTooLarge: r.skipped_too_large,
                            pending: r.pending, discarded: r.discarded, latencyP95Us: r.latency_p95_us)
    }
    public func significance(control: Int, treatment: Int, confidence: Double = 0.95) throws -> Significance {
        var r = mle_significance_result.sized()
        try check(mle_runtime_test_significance(handle, control, treatment, confidence, &r))
        return Significance(r)
    }
    public func variantStats(_ variant: Int) throws -> VariantStats {
        var v = mle_variant_stats.sized()
        try check(mle_runtime_get_variant_stats(handle, variant, &v))
        return VariantStats(name: string(fromCArray: v.name), version: string(fromCArray: v.version), weight: v.weight,
                            requests: v.requests, errors: v.errors, candidateRequests: v.candidate_requests,
                            conversions: v.conversions, outcomes: v.outcomes)
    }
    /// Freezes the current window of a variant's model (Role.variant), the candidate's or the
    /// shadow's as its baseline (at least 100 successful requests). Since C ABI 1.4.
    public func freezeBaseline(role: Int32 = Role.variant, variant: Int = 0) throws {
        try check(mle_runtime_freeze_baseline(handle, role, variant))
    }
    /// The monitor snapshot of a variant's model (Role.variant), the candidate or the shadow.
    public func snapshot(role: Int32 = Role.variant, variant: Int = 0) throws -> Snapshot {
        var s = mle_snapshot.sized()
        try check(mle_runtime_snapshot(handle, role, variant, &s, nil, 0, nil))
        return Snapshot(s)
    }
    /// The most labels a model answering this runtime's requests has (the variants and the rollout
    /// candidate, not the shadow): what a probabilities buffer must hold. It only changes with
    /// `changeInputSchema(model:)`. Since C ABI 1.1.
    public func maxLabels() throws -> Int {
        var count = 0
        try check(mle_runtime_get_max_labels(handle, &count))
        return count
    }
    /// Runs the supervisor's evaluation now (alerts, rollout decisions).
    public func evaluate() throws { try check(mle_runtime_evaluate(handle)) }
    public func health() throws -> Health {
        var h = mle_health.sized()
        try check(mle_runtime_get_health(handle, &h, nil, 0))
        // The models: an output array, struct_size in element 0 (sized() sets it in every one).
        // A swap between the two calls can add a model: ask again with the new count.
        var models: [mle_loaded_model] = []
        for attempt in 0..<4 {
            models = [mle_loaded_model](repeating: mle_loaded_model.sized(), count: h.model_count)
            let status = models.withUnsafeMutableBufferPointer { b in mle_runtime_get_health(handle, &h, b.baseAddress, b.count) }
            if status == MLE_OK { break }
            if status != MLE_ERR_BUFFER_TOO_SMALL || attempt == 3 { try check(status) }
        }
        return Health(state: h.state, level: h.level, requests: h.requests, errors: h.errors, busy: h.busy,
                      hookErrors: h.hook_errors, swaps: h.swaps, refusedModels: h.refused_models, rollbacks: h.rollbacks,
                      rolloutActive: h.rollout_active != 0, rolloutPercent: h.rollout_percent,
                      lastError: string(fromCArray: h.last_error), telemetrySent: h.telemetry_sent,
                      telemetryPending: h.telemetry_pending, telemetrySpoolLostBytes: h.telemetry_spool_lost_bytes,
                      models: models.prefix(min(h.model_count, models.count)).map { LoadedModel($0) })
    }
    /// Prometheus text, OpenMetrics or OTLP JSON (MetricsFormat).
    public func exportMetrics(format: Int32 = MetricsFormat.prometheus) throws -> String {
        try render { buffer, capacity, length in mle_runtime_export_metrics(handle, format, buffer, capacity, length) }
    }

    /// Collects shutdown's final snapshots (passed unretained: shutdown calls back on this thread,
    /// inside the call, and never frees it).
    final class FinalSnapshots {
        var items: [FinalSnapshot] = []
    }

    /// Graceful shutdown; returns each loaded model's last snapshot.
    @discardableResult
    public func shutdown(timeoutMs: UInt32 = 5000) throws -> [FinalSnapshot] {
        let collected = FinalSnapshots()
        let trampoline: mle_final_snapshot_callback = { userdata, role, variant, version, snapshot in
            guard let userdata = userdata, let snapshot = snapshot else { return }
            let collector = Unmanaged<FinalSnapshots>.fromOpaque(userdata).takeUnretainedValue()
            collector.items.append(FinalSnapshot(role: role, variant: variant, version: string(version),
                                             snapshot: Snapshot(received(snapshot))))
        }
        try withExtendedLifetime(collected) {
            try check(mle_runtime_shutdown(handle, timeoutMs, trampoline, Unmanaged.passUnretained(collected).toOpaque()))
        }
        return collected.items
    }
}
