//! `mle_model`: loading, freeing and describing models.

use std::ffi::{c_char, CString};
use std::sync::Arc;

use super::args::{c_string, optional_out_slice, output, required, slice, utf8, write_optional};
use super::boundary::guard;
use super::mle_status;
use crate::error::{fail, Error, Result, Status};
use crate::model::{Model, ModelOptions, DEFAULT_MAX_BATCH};

const MODEL_MAGIC: u64 = u64::from_le_bytes(*b"mle:modl");

/// A loaded model (opaque). Reference counted: sessions keep their model alive, so
/// `mle_model_free` may be called while sessions still use it.
pub struct mle_model {
    _private: [u8; 0],
}

/// What an `mle_model` pointer points to: an `Arc<ModelHandle>`, magic first so that a handle
/// of another kind is recognised.
#[repr(C)]
pub(crate) struct ModelHandle {
    magic: u64,
    pub(crate) model: Model,
    name: CString,
    version: CString,
    trained_at: CString,
    description: CString,
    metrics: CString,
    pub(crate) labels: Vec<CString>,
}

/// Loading options. All-zero means "the card's values / the defaults": initialise with
/// `mle_model_options_init` or `= {0}`.
#[repr(C)]
pub struct mle_model_options {
    /// Text models: longest token sequence (0 = the card's, or 128).
    pub max_sequence_length: u32,
    /// Threads tract may use inside one run (0 or 1 = the calling thread only; more needs a library
    /// built with the `multithread` feature, helps only long sequences and gives up the
    /// zero-allocation guarantee).
    pub threads: u32,
    /// Largest batch the batch calls accept (0 = 32; 1 = no batch plan, batch calls go item by item).
    pub max_batch: u32,
    /// Text models: sequence-length buckets (NULL = the card's, or 8, 16, 24, 32, 48, 64, 96, ...).
    pub sequence_buckets: *const u32,
    /// Number of values in `sequence_buckets`.
    pub sequence_bucket_count: usize,
    /// Text models: bytes of text looked at (0 = 16 per allowed token).
    pub max_text_bytes: usize,
    /// Text models: 1 = one plan per bucket with the length fixed (more memory), 0 = one plan
    /// with a symbolic length shared by the buckets (the default).
    pub plan_per_bucket: u32,
}

/// What `mle_model_info` reports. Strings point into the model and stay valid while it lives;
/// they are never NULL (`""` when the card has no value).
#[repr(C)]
pub struct mle_model_details {
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
    /// `MLE_INPUT_TEXT`, `MLE_INPUT_TENSOR` or `MLE_INPUT_BYTES`.
    pub input_kind: u32,
    /// Number of labels (the length of a probability vector).
    pub label_count: u32,
    /// Text: longest token sequence; tensor: values per example; bytes: feature count.
    pub max_input_length: u32,
    /// Number of plan lengths (text buckets; 1 otherwise), see `mle_model_plan_lengths`.
    pub plan_count: u32,
}

/// `trained_at_unix` when the card has no `trained_at`.
pub const MLE_TIME_UNKNOWN: i64 = i64::MIN;

impl ModelHandle {
    fn new(model: Model) -> Result<ModelHandle> {
        let card = model.card();
        let c = |s: &str| CString::new(s).map_err(|_| Error::new(Status::ModelCard, "card text contains NUL"));
        Ok(ModelHandle {
            magic: MODEL_MAGIC,
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

impl Drop for ModelHandle {
    fn drop(&mut self) {
        self.magic = 0;
    }
}

/// A model handle from C, checked for NULL and for being a model.
///
/// # Safety
/// `ptr` is NULL or a pointer returned by this library (a model or another handle) that has
/// not been freed.
pub(crate) unsafe fn model_ref<'a>(ptr: *const mle_model) -> Result<&'a ModelHandle> {
    // SAFETY: every handle type starts with a u64 magic, so reading it is valid for any live
    // handle of this library.
    let magic = unsafe { required(ptr as *const u64, "model")? };
    if *magic != MODEL_MAGIC {
        return fail(Status::InvalidArgument, "model is not an mle_model handle (wrong handle kind or freed)");
    }
    // SAFETY: the magic says it is a live ModelHandle.
    Ok(unsafe { &*(ptr as *const ModelHandle) })
}

/// Clone the Arc behind a model handle (for sessions).
///
/// # Safety
/// `ptr` came from `Arc::into_raw` in this module and is live (checked with `model_ref`).
pub(crate) unsafe fn model_arc(ptr: *const mle_model) -> Arc<ModelHandle> {
    let ptr = ptr as *const ModelHandle;
    // SAFETY: per the contract, ptr is a live Arc<ModelHandle> pointer; we add one strong reference.
    unsafe {
        Arc::increment_strong_count(ptr);
        Arc::from_raw(ptr)
    }
}

fn options_from_c(options: Option<&mle_model_options>) -> Result<ModelOptions> {
    let Some(o) = options else {
        return Ok(ModelOptions::default());
    };
    // SAFETY: the caller passes `sequence_bucket_count` values at `sequence_buckets` (or NULL).
    let buckets = unsafe { slice(o.sequence_buckets, o.sequence_bucket_count, "sequence_buckets")? };
    Ok(ModelOptions {
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
    })
}

fn publish(model: Model, out: &mut *mut mle_model) -> Result<()> {
    *out = Arc::into_raw(Arc::new(ModelHandle::new(model)?)) as *mut mle_model;
    Ok(())
}

/// Fill `options` with the defaults (all zero).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_model_options_init(options: *mut mle_model_options) {
    // SAFETY: NULL is ignored; otherwise the caller passes a writable options struct.
    unsafe {
        write_optional(
            options,
            mle_model_options {
                max_sequence_length: 0,
                threads: 0,
                max_batch: 0,
                sequence_buckets: std::ptr::null(),
                sequence_bucket_count: 0,
                max_text_bytes: 0,
                plan_per_bucket: 0,
            },
        )
    };
}

/// Load a model from `path`: a directory holding `model.onnx` (plus `tokenizer.json` for text
/// models and an optional `card.json`), or an `.onnx` file. `options` may be NULL (defaults).
/// On success `*out` receives a model to release with `mle_model_free`.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL path/out, bad options), `MLE_ERR_IO` (missing or
/// unreadable file), `MLE_ERR_MODEL_INVALID` (empty, truncated, corrupt ONNX),
/// `MLE_ERR_MODEL_UNSUPPORTED` (not a classifier, unsupported graph), `MLE_ERR_MODEL_CARD`,
/// `MLE_ERR_TOKENIZER` (missing or invalid tokenizer.json).
///
/// Thread safety: safe from any thread; loads may run concurrently.
#[no_mangle]
pub unsafe extern "C" fn mle_model_load(
    path: *const c_char,
    options: *const mle_model_options,
    out: *mut *mut mle_model,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract of this function (documented above).
        let (path, options, out) = unsafe { (c_string(path, "path")?, options.as_ref(), output(out, "out")?) };
        let path = path_from_bytes(path)?;
        publish(Model::load(path, &options_from_c(options)?)?, out)
    })
}

#[cfg(unix)]
fn path_from_bytes(bytes: &[u8]) -> Result<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    Ok(std::ffi::OsStr::from_bytes(bytes).into())
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: &[u8]) -> Result<std::path::PathBuf> {
    Ok(utf8(bytes, "path")?.into())
}

/// Load a model from memory: `onnx` (`onnx_len` bytes), the tokenizer.json bytes for text models
/// (NULL/0 otherwise), and an optional sidecar card as NUL-terminated JSON text (NULL = none).
/// The library copies what it needs; the buffers may be freed when the call returns.
///
/// Errors: as `mle_model_load`, plus `MLE_ERR_INVALID_UTF8` for a card that is not UTF-8.
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
        // SAFETY: C contract of this function (documented above).
        let (onnx, tokenizer, out) = unsafe {
            (
                slice(onnx, onnx_len, "onnx")?,
                slice(tokenizer_json, tokenizer_len, "tokenizer_json")?,
                output(out, "out")?,
            )
        };
        let card = if card_json.is_null() {
            None
        } else {
            // SAFETY: non-NULL card_json is a NUL-terminated string per the contract.
            Some(utf8(unsafe { c_string(card_json, "card_json")? }, "card_json")?)
        };
        // SAFETY: options is NULL or a valid options struct per the contract.
        let options = options_from_c(unsafe { options.as_ref() })?;
        let tokenizer = (!tokenizer.is_empty()).then_some(tokenizer);
        publish(Model::from_bytes(onnx, tokenizer, card, &options)?, out)
    })
}

/// Release a model. NULL is ignored. Sessions created from it keep it alive until they are
/// freed; the handle itself must not be used after this call.
///
/// Thread safety: safe from any thread, but not concurrently with other calls on the same handle.
#[no_mangle]
pub unsafe extern "C" fn mle_model_free(model: *mut mle_model) {
    let _ = guard(|| {
        if model.is_null() {
            return Ok(());
        }
        // SAFETY: checks the handle kind before taking ownership back.
        unsafe {
            model_ref(model)?;
            drop(Arc::from_raw(model as *const ModelHandle));
        }
        Ok(())
    });
}

/// Describe a model into `*out` (strings owned by the model).
///
/// Thread safety: safe from any thread, concurrently with other calls on the model.
#[no_mangle]
pub unsafe extern "C" fn mle_model_info(model: *const mle_model, out: *mut mle_model_details) -> mle_status {
    guard(|| {
        // SAFETY: C contract of this function.
        let (m, out) = unsafe { (model_ref(model)?, output(out, "out")?) };
        let card = m.model.card();
        *out = mle_model_details {
            name: m.name.as_ptr(),
            version: m.version.as_ptr(),
            trained_at: m.trained_at.as_ptr(),
            description: m.description.as_ptr(),
            metrics_json: m.metrics.as_ptr(),
            trained_at_unix: card.trained_at_unix.unwrap_or(MLE_TIME_UNKNOWN),
            input_kind: m.model.input_kind() as u32,
            label_count: m.labels.len() as u32,
            max_input_length: m.model.max_input_length() as u32,
            plan_count: m.model.plan_lengths().len() as u32,
        };
        Ok(())
    })
}

/// The name of label `index` (0-based) in `*label`: a NUL-terminated string owned by the model.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` for an index out of range.
///
/// Thread safety: safe from any thread, concurrently with other calls on the model.
#[no_mangle]
pub unsafe extern "C" fn mle_model_label(
    model: *const mle_model,
    index: usize,
    label: *mut *const c_char,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract of this function.
        let (m, out) = unsafe { (model_ref(model)?, output(label, "label")?) };
        let name = m.labels.get(index).ok_or_else(|| {
            Error::new(
                Status::InvalidArgument,
                format!("label index {index} out of range (model has {})", m.labels.len()),
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
/// Thread safety: safe from any thread, concurrently with other calls on the model.
#[no_mangle]
pub unsafe extern "C" fn mle_model_plan_lengths(
    model: *const mle_model,
    lengths: *mut u32,
    capacity: usize,
    count: *mut usize,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract of this function.
        let (m, count) = unsafe { (model_ref(model)?, output(count, "count")?) };
        let values = m.model.plan_lengths();
        *count = values.len();
        // SAFETY: lengths is NULL or has `capacity` writable slots.
        if let Some(buffer) = unsafe { optional_out_slice(lengths, capacity, "lengths")? } {
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
