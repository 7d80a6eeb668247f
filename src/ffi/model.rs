//! `mle_model`: loading, freeing and describing models.

use std::ffi::{c_char, CString};
use std::sync::Arc;

use super::abi::{read_in, write_out, Extensible};
use super::args::{c_string, optional_out_slice, output, path_from_c, slice, utf8};
use super::boundary::guard;
use super::handle::{self, Handle};
use super::status::mle_status;
use crate::error::{fail, Error, Result, Status};
use crate::model::{Model, ModelLimits, ModelOptions, DEFAULT_MAX_BATCH, DEFAULT_MAX_MODEL_BYTES};
use crate::package::signature::keys_from_bytes;
use crate::package::trust::MAX_TRUSTED_KEYS;
use crate::package::TrustPolicy;

/// A loaded model (opaque). Immutable and reference counted: sessions and runtimes keep their
/// own reference, so `mle_model_free` may be called while they still use it.
///
/// Thread safety: every function taking a `const mle_model *` may be called from any thread,
/// concurrently.
pub struct mle_model {
    _private: [u8; 0],
}

/// What a model handle holds: a reference to the shared model (sessions and runtimes hold
/// others), so freeing the handle twice can never drop the model's count twice.
pub(crate) struct ModelRef(pub(crate) Arc<ModelShared>);

/// The model and the C strings `mle_model_get_details` and `mle_model_get_label` hand out.
pub(crate) struct ModelShared {
    pub(crate) model: Model,
    name: CString,
    version: CString,
    trained_at: CString,
    description: CString,
    metrics: CString,
    pub(crate) labels: Vec<CString>,
}

impl Handle for ModelRef {
    type C = mle_model;
    const MAGIC: u64 = u64::from_le_bytes(*b"mle:modl");
    const NAME: &'static str = "mle_model";
}

/// Loading options: set `struct_size = sizeof(mle_model_options)`; every other field 0 means
/// "the card's value, or the default" (`mle_model_options_init` does both). The limits below
/// are checked at load (`MLE_ERR_INVALID_ARGUMENT` outside them).
#[repr(C)]
pub struct mle_model_options {
    /// `sizeof(mle_model_options)` (see "Structs that grow" in the header's conventions).
    pub struct_size: u32,
    /// Text models: longest token sequence, 1..=8192 and at most the card's (0 = the card's, or
    /// 128).
    pub max_sequence_length: u32,
    /// Threads tract may use inside one run, 1..=64 (0 = 1: the calling thread only; more needs
    /// a library built with the `multithread` feature, helps only long sequences and gives up
    /// the zero-allocation guarantee).
    pub threads: u32,
    /// Largest batch the batch calls accept, 1..=1024 (0 = 32; 1 = no batch plan, batch calls go
    /// item by item). Above 1, the first batch call makes the batch plan (for the headline encoder
    /// about a quarter of a second); until then the model keeps its parsed graph.
    pub max_batch: u32,
    /// Text models: sequence-length buckets, each 1..=8192, at most 64 of them (NULL = the
    /// card's, or 8, 16, 24, 32, 48, 64, 96, ... up to the longest sequence).
    pub sequence_buckets: *const u32,
    /// Number of values in `sequence_buckets`.
    pub sequence_bucket_count: usize,
    /// Text models: bytes of text looked at per request, 1..=262144 (0 = 16 per allowed token).
    pub max_text_bytes: usize,
    /// Text models: 1 = one plan per bucket with the length fixed (more memory), 0 = one plan
    /// with a symbolic length shared by the buckets (the default).
    pub plan_per_bucket: u32,
    /// Largest model file (and tokenizer, card) read, and largest `onnx_len` accepted, in bytes
    /// (0 = 256 MiB). A bigger one is refused with `MLE_ERR_MODEL_LIMIT` before it is read.
    /// A model package is one file, held to this bound as a whole.
    pub max_model_bytes: u64,
    /// Trusted Ed25519 public keys, 32 bytes each, back to back (`trusted_key_count` of them, at
    /// most 64), or NULL. With keys, only model packages signed by one of them load: a plain ONNX
    /// file or directory and an unsigned package are refused (`MLE_ERR_PACKAGE_UNSIGNED`), as is a
    /// package signed by another key (`MLE_ERR_PACKAGE_UNTRUSTED_KEY`). Without keys, plain models
    /// and unsigned packages load; a package's files are checked against its manifest always, and
    /// a signature that is present must verify. The keys are copied. Since C ABI 1.3.
    pub trusted_keys: *const u8,
    /// Number of 32-byte keys at `trusted_keys` (0..=64). Since C ABI 1.3.
    pub trusted_key_count: usize,
    /// Lowest package version loaded (0 = any): an older package is refused with
    /// `MLE_ERR_PACKAGE_OUTDATED`, so that a signed but older release cannot be replayed to the
    /// device. Above 0, plain ONNX models (which have no version) are refused too. Since C ABI 1.3.
    pub min_package_version: u64,
    /// Most nodes in the graph, subgraphs included (0 = 100,000). Since C ABI 1.3.
    pub max_nodes: u64,
    /// Longest chain of nodes from an input to an output (0 = 10,000). Since C ABI 1.3.
    pub max_graph_depth: u64,
    /// Most elements in one tensor: an initializer, a constant, an input with fixed dimensions,
    /// or any node's output at the longest sequence length and largest batch (0 = 2^28). Since C
    /// ABI 1.3.
    pub max_tensor_elements: u64,
    /// Most bytes in all initializers and constants together, as their shapes declare them
    /// (0 = 1 GiB). A model above any of these four limits is refused with `MLE_ERR_MODEL_LIMIT`
    /// before tract allocates for it, the message naming the limit. Since C ABI 1.3.
    pub max_initializer_bytes: u64,
}

/// What `mle_model_get_details` reports. Strings point into the model and stay valid while the
/// model handle (or a session or runtime using it) lives; they are never NULL (`""` when the
/// card has no value).
#[repr(C)]
pub struct mle_model_details {
    /// `sizeof(mle_model_details)`, set by the caller.
    pub struct_size: u32,
    /// `MLE_INPUT_TEXT`, `MLE_INPUT_TENSOR` or `MLE_INPUT_BYTES`.
    pub input_kind: i32,
    /// Card `name`.
    pub name: *const c_char,
    /// Card `version`.
    pub version: *const c_char,
    /// Card `trained_at` as written (ISO 8601).
    pub trained_at: *const c_char,
    /// Card `description`.
    pub description: *const c_char,
    /// Card `metrics` (JSON text).
    pub metrics_json: *const c_char,
    /// `trained_at` in seconds since the Unix epoch, or `MLE_TIME_UNKNOWN`.
    pub trained_at_unix: i64,
    /// Number of labels (the length of a probability vector).
    pub label_count: u32,
    /// Text: longest token sequence; tensor: values per example; bytes: feature count.
    pub max_input_length: u32,
    /// Number of plan lengths (text buckets; 1 otherwise), see `mle_model_get_plan_lengths`.
    pub plan_count: u32,
    /// The element type the graph's input takes, `MLE_ELEMENT_*` (since ABI 1.2). Tensor models
    /// still take f32 from `mle_session_classify_f32`: the runtime converts into its preallocated
    /// input (float64 exactly; integers only from whole numbers in range, else
    /// `MLE_ERR_INVALID_ARGUMENT` naming the feature).
    pub input_element_type: i32,
    /// 1 when NaN features are taken as missing values (a tensor model whose graph has a rule for
    /// them: a tree ensemble, a NaN imputer), 0 when NaN is refused with
    /// `MLE_ERR_INPUT_NOT_FINITE` (since ABI 1.2). Infinities are refused always.
    pub handles_missing_values: u32,
    /// 1 when the model was loaded from a model package, 0 for a plain ONNX model (since ABI 1.3).
    pub from_package: u32,
    /// The package's version (0 for a plain ONNX model) (since ABI 1.3).
    pub package_version: u64,
    /// 1 when the package was signed (its signature verified), 0 otherwise (since ABI 1.3).
    pub signed_package: u32,
    /// The Ed25519 public key that signed the package (zeros when unsigned) (since ABI 1.3).
    pub signer_public_key: [u8; 32],
}

/// `trained_at_unix` when the card has no `trained_at`.
pub const MLE_TIME_UNKNOWN: i64 = i64::MIN;

// SAFETY: repr(C), struct_size first, plain data (integers and raw pointers).
unsafe impl Extensible for mle_model_options {
    const NAME: &'static str = "mle_model_options";
    // ABI 1.0 to 1.2 ended after `max_model_bytes`.
    const SIZES: &'static [usize] =
        &[std::mem::offset_of!(mle_model_options, trusted_keys), std::mem::size_of::<mle_model_options>()];
    fn defaults() -> Self {
        mle_model_options {
            struct_size: std::mem::size_of::<mle_model_options>() as u32,
            max_sequence_length: 0,
            threads: 0,
            max_batch: 0,
            sequence_buckets: std::ptr::null(),
            sequence_bucket_count: 0,
            max_text_bytes: 0,
            plan_per_bucket: 0,
            max_model_bytes: 0,
            trusted_keys: std::ptr::null(),
            trusted_key_count: 0,
            min_package_version: 0,
            max_nodes: 0,
            max_graph_depth: 0,
            max_tensor_elements: 0,
            max_initializer_bytes: 0,
        }
    }
}

super::abi::extensible_out! {
    // ABI 1.0 and 1.1 ended after `plan_count` (their sizeof, padding included, is the offset of
    // `handles_missing_values`: `input_element_type` took the old tail padding).
    // ABI 1.2 ended after `handles_missing_values` (its sizeof, padding included, is the offset of
    // `package_version`: `from_package` took the old tail padding).
    mle_model_details: &[
        std::mem::offset_of!(mle_model_details, handles_missing_values),
        std::mem::offset_of!(mle_model_details, package_version),
        std::mem::size_of::<mle_model_details>(),
    ];
}

impl ModelShared {
    fn new(model: Model) -> Result<ModelShared> {
        let card = model.card();
        let c = |s: &str| CString::new(s).map_err(|_| Error::new(Status::ModelCard, "card text contains NUL"));
        Ok(ModelShared {
            name: c(&card.name)?,
            version: c(&card.version)?,
            trained_at: c(card.trained_at.as_deref().unwrap_or(""))?,
            description: c(&card.description)?,
            metrics: c(card.metrics.as_deref().unwrap_or(""))?,
            labels: model.labels().iter().map(|l| c(l)).collect::<Result<_>>()?,
            model,
        })
    }
}

/// The model behind a handle argument.
///
/// # Safety
/// `ptr` is NULL or a handle of this library (see `handle::get`).
pub(crate) unsafe fn model_ref<'a>(ptr: *const mle_model, argument: &str) -> Result<&'a Arc<ModelShared>> {
    // SAFETY: per the caller's contract.
    Ok(&unsafe { handle::get::<ModelRef>(ptr, argument)? }.0)
}

/// Model options from C (NULL = the defaults), checked against their ranges.
///
/// # Safety
/// `options` is NULL or points to a caller struct of `struct_size` bytes whose
/// `sequence_buckets` points to `sequence_bucket_count` values (or is NULL).
pub(crate) unsafe fn options_from_c(options: *const mle_model_options) -> Result<ModelOptions> {
    if options.is_null() {
        return Ok(ModelOptions::default());
    }
    // SAFETY: per the caller's contract.
    let o = unsafe { read_in(options, "options")? };
    // SAFETY: the caller passes `sequence_bucket_count` values at `sequence_buckets` (or NULL).
    let buckets = unsafe { slice(o.sequence_buckets, o.sequence_bucket_count, "options.sequence_buckets")? };
    let options = ModelOptions {
        max_sequence_length: (o.max_sequence_length != 0).then_some(o.max_sequence_length as usize),
        sequence_buckets: (!buckets.is_empty()).then(|| buckets.iter().map(|&b| b as usize).collect()),
        threads: o.threads.max(1) as usize,
        max_text_bytes: (o.max_text_bytes != 0).then_some(o.max_text_bytes),
        max_batch: if o.max_batch == 0 { DEFAULT_MAX_BATCH } else { o.max_batch as usize },
        plan_per_bucket: match o.plan_per_bucket {
            0 => false,
            1 => true,
            other => return fail(Status::InvalidArgument, format!("plan_per_bucket must be 0 or 1, got {other}")),
        },
        max_model_bytes: if o.max_model_bytes == 0 { DEFAULT_MAX_MODEL_BYTES } else { o.max_model_bytes },
        // SAFETY: per the caller's contract, `trusted_key_count` keys at `trusted_keys` (or NULL).
        trust: unsafe { trust_from_c(o.trusted_keys, o.trusted_key_count, o.min_package_version, "options")? },
        limits: limits_from_c(&o)?,
    };
    options.validate()?;
    Ok(options)
}

/// The model limits from C (0 = the default of each).
fn limits_from_c(o: &mle_model_options) -> Result<ModelLimits> {
    let d = ModelLimits::default();
    let count = |value: u64, default: usize, name: &str| -> Result<usize> {
        if value == 0 {
            return Ok(default);
        }
        usize::try_from(value).map_err(|_| {
            Error::new(Status::InvalidArgument, format!("options.{name} {value} does not fit this platform"))
        })
    };
    Ok(ModelLimits {
        max_nodes: count(o.max_nodes, d.max_nodes, "max_nodes")?,
        max_graph_depth: count(o.max_graph_depth, d.max_graph_depth, "max_graph_depth")?,
        max_tensor_elements: if o.max_tensor_elements == 0 { d.max_tensor_elements } else { o.max_tensor_elements },
        max_initializer_bytes: if o.max_initializer_bytes == 0 {
            d.max_initializer_bytes
        } else {
            o.max_initializer_bytes
        },
    })
}

/// A trust policy from C: `count` 32-byte keys at `keys` (NULL when 0) and the minimum package
/// version.
///
/// # Safety
/// `keys` is NULL or points to `count * 32` readable bytes.
pub(crate) unsafe fn trust_from_c(
    keys: *const u8,
    count: usize,
    min_package_version: u64,
    argument: &str,
) -> Result<TrustPolicy> {
    if count > MAX_TRUSTED_KEYS {
        return fail(
            Status::InvalidArgument,
            format!("{argument}.trusted_key_count must be 0..={MAX_TRUSTED_KEYS}, got {count}"),
        );
    }
    // SAFETY: per the caller's contract; count * 32 cannot overflow (count <= 64).
    let bytes = unsafe { slice(keys, count * 32, &format!("{argument}.trusted_keys"))? };
    Ok(TrustPolicy { keys: keys_from_bytes(bytes)?, min_package_version })
}

fn publish(model: Model, out: &mut *mut mle_model) -> Result<()> {
    *out = handle::into_raw(ModelRef(Arc::new(ModelShared::new(model)?)));
    Ok(())
}

/// Fill `*options` with the defaults: `struct_size` bytes zeroed, then `struct_size` set. Pass
/// `sizeof(mle_model_options)`.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL, or a size below the smallest layout).
///
/// # Safety
/// `options` is NULL or points to `struct_size` writable bytes.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_model_options_init(options: *mut mle_model_options, struct_size: usize) -> mle_status {
    // SAFETY: per this function's contract.
    guard(|| unsafe { super::abi::init(options, struct_size, "options") })
}

/// Load a model from `path`: a directory holding `model.onnx` (plus `tokenizer.json` for text
/// models and an optional `card.json`), an `.onnx` file (its card may be `<stem>.card.json`), or
/// a model package made by `mle-pack` (one file; verified first under the options' trusted keys
/// and minimum version, see docs/packages.md). Only regular files are read, each at most
/// `max_model_bytes`. `options` may be NULL (defaults). On success `*out` receives a model to
/// release with `mle_model_free`.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL path/out, an option out of range),
/// `MLE_ERR_IO` (missing or unreadable file; a FIFO, socket or device),
/// `MLE_ERR_MODEL_LIMIT` (a file above `max_model_bytes`), `MLE_ERR_MODEL_INVALID` (empty,
/// truncated, corrupt ONNX, impossible shapes), `MLE_ERR_MODEL_UNSUPPORTED` (not a classifier,
/// unsupported graph), `MLE_ERR_MODEL_CARD`, `MLE_ERR_TOKENIZER` (missing or invalid
/// tokenizer.json); for packages and trusted keys `MLE_ERR_PACKAGE_INVALID`, `_UNSIGNED`,
/// `_UNTRUSTED_KEY`, `_BAD_SIGNATURE`, `_TAMPERED`, `_FILES_MISMATCH`, `_OUTDATED` (a plain
/// model is `_UNSIGNED` or `_OUTDATED` when trusted keys or a minimum version are set).
///
/// # Safety
/// `path` is NULL or a NUL-terminated path (any bytes but NUL on POSIX, UTF-8 elsewhere);
/// `options` as in `mle_model_options_init`; `out` is NULL or writable.
///
/// Thread safety: safe from any thread; loads may run concurrently.
#[no_mangle]
pub unsafe extern "C" fn mle_model_load(
    path: *const c_char,
    options: *const mle_model_options,
    out: *mut *mut mle_model,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let (path, options, out) =
            unsafe { (path_from_c(path, "path")?, options_from_c(options)?, output(out, "out")?) };
        publish(Model::load(path, &options)?, out)
    })
}

/// Load a model from memory: `onnx` (`onnx_len` bytes), the tokenizer.json bytes for text models
/// (NULL/0 otherwise), and an optional sidecar card as NUL-terminated JSON text (NULL = none).
/// `onnx` may also be a model package (then give no tokenizer and no card: it carries its own),
/// verified as `mle_model_load` verifies one. The library copies what it needs; the buffers may
/// be freed when the call returns.
///
/// Errors: as `mle_model_load`, plus `MLE_ERR_INVALID_UTF8` for a card that is not UTF-8.
///
/// # Safety
/// Each pointer is NULL (with a zero length) or valid for its length; `card_json` is NULL or
/// NUL-terminated; `options` and `out` as in `mle_model_load`.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_model_load_bytes(
    onnx: *const u8,
    onnx_len: usize,
    tokenizer_json: *const u8,
    tokenizer_len: usize,
    card_json: *const c_char,
    options: *const mle_model_options,
    out: *mut *mut mle_model,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let (onnx, tokenizer, options, out) = unsafe {
            (
                slice(onnx, onnx_len, "onnx")?,
                slice(tokenizer_json, tokenizer_len, "tokenizer_json")?,
                options_from_c(options)?,
                output(out, "out")?,
            )
        };
        let card = if card_json.is_null() {
            None
        } else {
            // SAFETY: a non-NULL card_json is NUL-terminated per the contract.
            Some(utf8(unsafe { c_string(card_json, "card_json")? }, "card_json")?)
        };
        let tokenizer = (!tokenizer.is_empty()).then_some(tokenizer);
        publish(Model::from_bytes(onnx, tokenizer, card, &options)?, out)
    })
}

/// Release a model handle. NULL is ignored. Sessions and runtimes created from it keep the model
/// alive until they are freed; the handle itself must not be used after this call (a second
/// free of the same handle is detected while its memory is not reused, and then reported
/// through `mle_last_error`, but it is a bug, as with `free()`).
///
/// # Safety
/// `model` is NULL or a live handle; no other call uses it during or after this one.
///
/// Thread safety: not concurrently with other calls on the same handle.
#[no_mangle]
pub unsafe extern "C" fn mle_model_free(model: *mut mle_model) {
    // SAFETY: per this function's contract.
    let _ = guard(|| unsafe { handle::free::<ModelRef>(model, "model") }.map(drop));
}

/// Describe a model into `*out` (set `out->struct_size` first; strings owned by the model).
///
/// # Safety
/// `model` is NULL or a live handle; `out` is NULL or a writable struct of `out->struct_size`
/// bytes.
///
/// Thread safety: safe from any thread, concurrently with other calls on the model.
#[no_mangle]
pub unsafe extern "C" fn mle_model_get_details(model: *const mle_model, out: *mut mle_model_details) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let m = unsafe { model_ref(model, "model")? };
        let card = m.model.card();
        let provenance = m.model.provenance();
        let details = mle_model_details {
            struct_size: 0,
            input_kind: m.model.input_kind() as i32,
            name: m.name.as_ptr(),
            version: m.version.as_ptr(),
            trained_at: m.trained_at.as_ptr(),
            description: m.description.as_ptr(),
            metrics_json: m.metrics.as_ptr(),
            trained_at_unix: card.trained_at_unix.unwrap_or(MLE_TIME_UNKNOWN),
            label_count: m.labels.len() as u32,
            max_input_length: m.model.max_input_length() as u32,
            plan_count: m.model.plan_lengths().len() as u32,
            input_element_type: m.model.input_element_type() as i32,
            handles_missing_values: u32::from(m.model.handles_missing_values()),
            from_package: u32::from(provenance.package_version.is_some()),
            package_version: provenance.package_version.unwrap_or(0),
            signed_package: u32::from(provenance.signer.is_some()),
            signer_public_key: provenance.signer.map(|k| k.0).unwrap_or([0; 32]),
        };
        // SAFETY: per this function's contract.
        unsafe { write_out(out, &details, "out") }
    })
}

/// The name of label `index` (0-based) in `*label`: a NUL-terminated string owned by the model.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` for an index out of range.
///
/// # Safety
/// `model` is NULL or a live handle; `label` is NULL or writable.
///
/// Thread safety: safe from any thread, concurrently with other calls on the model.
#[no_mangle]
pub unsafe extern "C" fn mle_model_get_label(
    model: *const mle_model,
    index: usize,
    label: *mut *const c_char,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let (m, out) = unsafe { (model_ref(model, "model")?, output(label, "label")?) };
        let name = m.labels.get(index).ok_or_else(|| {
            Error::new(
                Status::InvalidArgument,
                format!("label index {index} out of range (the model has {} labels)", m.labels.len()),
            )
        })?;
        *out = name.as_ptr();
        Ok(())
    })
}

/// Copy the plan lengths (text: sequence buckets, ascending) into `lengths` (capacity
/// `capacity`); `*count` receives how many there are. `lengths` may be NULL to ask the count.
///
/// Errors: `MLE_ERR_BUFFER_TOO_SMALL` (with `*count` set) when `capacity` is too small.
///
/// # Safety
/// `model` is NULL or a live handle; `lengths` is NULL or has `capacity` writable values;
/// `count` is NULL or writable.
///
/// Thread safety: safe from any thread, concurrently with other calls on the model.
#[no_mangle]
pub unsafe extern "C" fn mle_model_get_plan_lengths(
    model: *const mle_model,
    lengths: *mut u32,
    capacity: usize,
    count: *mut usize,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let (m, count, buffer) = unsafe {
            (model_ref(model, "model")?, output(count, "count")?, optional_out_slice(lengths, capacity, "lengths")?)
        };
        let values = m.model.plan_lengths();
        *count = values.len();
        if let Some(buffer) = buffer {
            if buffer.len() < values.len() {
                return fail(
                    Status::BufferTooSmall,
                    format!("lengths holds {capacity} values, {} needed", values.len()),
                );
            }
            for (dst, &v) in buffer.iter_mut().zip(&values) {
                *dst = v as u32;
            }
        }
        Ok(())
    })
}
