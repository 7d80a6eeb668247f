//! onnxruntime through its C API, in the bench's own process: the library is loaded at run time
//! (`libonnxruntime.so` from the onnxruntime wheel that benches/exports.sh installs; path in
//! `MLE_ORT_DYLIB`), the C API table comes from `OrtGetApiBase()->GetApi(22)` with ort-sys's
//! declarations of it, and a session runs one thread, sequential, all graph optimizations, as a
//! C program would: the input tensor wraps a buffer created once and rewritten per request, the
//! output is allocated by onnxruntime per run and released after its values are read.

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr::{null, null_mut};

use std::path::Path;

use libloading::Library;
use ort_sys::{
    ExecutionMode, GraphOptimizationLevel, ONNXTensorElementDataType, OrtAllocatorType, OrtApi, OrtApiBase, OrtEnv,
    OrtLoggingLevel, OrtMemType, OrtMemoryInfo, OrtSession, OrtStatusPtr, OrtValue, ORT_API_VERSION,
};
use tokenizers::{Tokenizer, TruncationParams};

/// The loaded library, its C API table and one environment.
pub struct OnnxRuntime {
    api: &'static OrtApi,
    env: *mut OrtEnv,
    memory: *mut OrtMemoryInfo,
    version: String,
    // Kept loaded for as long as `api` is used.
    _library: Library,
}

/// The element type of a model's input, and its values kept in the type the model takes.
enum Buffer {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    I32(Vec<i32>),
}

/// One session over one model, with its input tensor prepared.
pub struct OrtModel<'r> {
    runtime: &'r OnnxRuntime,
    session: *mut OrtSession,
    input: *mut OrtValue,
    buffer: Buffer,
    input_name: CString,
    output_name: CString,
    /// Values per output row (the probabilities' width), for reading them.
    width: usize,
}

impl OnnxRuntime {
    /// Loads `libonnxruntime.so` from `path`.
    pub fn load(path: &str) -> Result<OnnxRuntime, String> {
        // SAFETY: loading onnxruntime runs its initialisers, which have no preconditions.
        let library = unsafe { Library::new(path) }.map_err(|e| format!("{path}: {e}"))?;
        // SAFETY: OrtGetApiBase has this signature in every onnxruntime release.
        let get_base = unsafe { library.get::<unsafe extern "C" fn() -> *const OrtApiBase>(b"OrtGetApiBase\0") }
            .map_err(|e| format!("{path}: {e}"))?;
        // SAFETY: the function returns a pointer to a static table, valid while the library is loaded.
        let base = unsafe { get_base().as_ref() }.ok_or("OrtGetApiBase returned NULL")?;
        // SAFETY: GetApi takes any version and returns NULL for one the library does not serve.
        let api = unsafe { (base.GetApi)(ORT_API_VERSION).as_ref() }
            .ok_or_else(|| format!("{path} does not serve onnxruntime C API version {ORT_API_VERSION}"))?;
        // SAFETY: the table lives as long as the library, which `OnnxRuntime` keeps loaded; the
        // reference never leaves it.
        let api: &'static OrtApi = unsafe { &*(api as *const OrtApi) };
        // SAFETY: GetVersionString returns a static NUL-terminated string.
        let version = unsafe { CStr::from_ptr((base.GetVersionString)()) }.to_string_lossy().into_owned();
        let mut runtime = OnnxRuntime { api, env: null_mut(), memory: null_mut(), version, _library: library };
        let name = CString::new("libmlops_edge-bench").unwrap();
        let mut env = null_mut();
        // SAFETY: valid out-pointer; the name is NUL-terminated.
        let status = unsafe { (api.CreateEnv)(OrtLoggingLevel::ORT_LOGGING_LEVEL_WARNING, name.as_ptr(), &mut env) };
        runtime.check(status)?;
        runtime.env = env;
        let mut memory = null_mut();
        // SAFETY: valid out-pointer.
        let status = unsafe {
            (api.CreateCpuMemoryInfo)(OrtAllocatorType::OrtArenaAllocator, OrtMemType::OrtMemTypeDefault, &mut memory)
        };
        runtime.check(status)?;
        runtime.memory = memory;
        Ok(runtime)
    }

    /// The library's version string.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// `Err(message)` for a non-NULL status (which is released).
    fn check(&self, status: OrtStatusPtr) -> Result<(), String> {
        if status.0.is_null() {
            return Ok(());
        }
        // SAFETY: a non-NULL status from this API; its message lives until it is released.
        let message = unsafe { CStr::from_ptr((self.api.GetErrorMessage)(status.0)) }.to_string_lossy().into_owned();
        // SAFETY: released once, after its message was copied.
        unsafe { (self.api.ReleaseStatus)(status.0) };
        Err(message)
    }

    /// The name of a session's input or output `index` (`output`: an output).
    fn io_name(&self, session: *mut OrtSession, index: usize, output: bool) -> Result<CString, String> {
        let mut allocator = null_mut();
        // SAFETY: a valid out-pointer; the default allocator is a static.
        self.check(unsafe { (self.api.GetAllocatorWithDefaultOptions)(&mut allocator) })?;
        let mut name: *mut c_char = null_mut();
        let get = if output { self.api.SessionGetOutputName } else { self.api.SessionGetInputName };
        // SAFETY: a live session, an index below its count (checked by the library), valid out-pointer.
        self.check(unsafe { get(session, index, allocator, &mut name) })?;
        // SAFETY: a NUL-terminated string allocated by `allocator`, freed right after it is copied.
        let copy = unsafe { CStr::from_ptr(name) }.to_owned();
        // SAFETY: allocated by this allocator, freed once.
        self.check(unsafe { (self.api.AllocatorFree)(allocator, name.cast()) })?;
        Ok(copy)
    }

    /// A one-thread session (sequential, all graph optimizations) over the model file at `path`.
    fn create_session(&self, path: &str) -> Result<*mut OrtSession, String> {
        let api = self.api;
        let mut options = null_mut();
        // SAFETY: valid out-pointer; the options are released below whatever happens.
        self.check(unsafe { (api.CreateSessionOptions)(&mut options) })?;
        // SAFETY: `options` is live for these calls.
        let configured = unsafe {
            self.check((api.SetIntraOpNumThreads)(options, 1))
                .and_then(|_| self.check((api.SetInterOpNumThreads)(options, 1)))
                .and_then(|_| self.check((api.SetSessionExecutionMode)(options, ExecutionMode::ORT_SEQUENTIAL)))
                .and_then(|_| {
                    self.check((api.SetSessionGraphOptimizationLevel)(options, GraphOptimizationLevel::ORT_ENABLE_ALL))
                })
        };
        let mut session = null_mut();
        let model = CString::new(path).map_err(|_| "a path with NUL".to_string())?;
        // SAFETY: live env and options, NUL-terminated path (ortchar is c_char on Linux).
        let created = configured
            .and_then(|_| self.check(unsafe { (api.CreateSession)(self.env, model.as_ptr(), options, &mut session) }));
        // SAFETY: the session keeps its own copy of what it needs from the options.
        unsafe { (api.ReleaseSessionOptions)(options) };
        created.map(|_| session)
    }

    /// The names of a session's inputs (`output` false) or outputs.
    fn io_names(&self, session: *mut OrtSession, output: bool) -> Result<Vec<CString>, String> {
        let mut count = 0usize;
        let get_count = if output { self.api.SessionGetOutputCount } else { self.api.SessionGetInputCount };
        // SAFETY: a live session, valid out-pointer.
        self.check(unsafe { get_count(session, &mut count) })?;
        (0..count).map(|i| self.io_name(session, i, output)).collect()
    }

    /// The served output: the first whose name contains "prob" (a probability tensor `[1, width]`),
    /// else the last.
    fn scores_output(&self, session: *mut OrtSession) -> Result<CString, String> {
        let names = self.io_names(session, true)?;
        names
            .iter()
            .find(|n| n.to_string_lossy().contains("prob"))
            .or(names.last())
            .cloned()
            .ok_or_else(|| "the model has no output".to_string())
    }

    /// A one-thread session over the model file at `path` whose one input takes `features` values of
    /// `dtype` ("float32", "float64", "int64" or "int32") per row; the served output is the first
    /// whose name contains "prob" (a probability tensor `[1, width]`).
    pub fn session(&self, path: &str, features: usize, dtype: &str, width: usize) -> Result<OrtModel<'_>, String> {
        let api = self.api;
        let session = self.create_session(path)?;
        let output_name = self.scores_output(session)?;
        let input_name = self.io_name(session, 0, false)?;
        let (mut buffer, element, bytes) = match dtype {
            "float64" => {
                (Buffer::F64(vec![0.0; features]), ONNXTensorElementDataType::ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE, 8)
            }
            "int64" => {
                (Buffer::I64(vec![0; features]), ONNXTensorElementDataType::ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, 8)
            }
            "int32" => {
                (Buffer::I32(vec![0; features]), ONNXTensorElementDataType::ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32, 4)
            }
            _ => (Buffer::F32(vec![0.0; features]), ONNXTensorElementDataType::ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, 4),
        };
        let data: *mut c_void = match &mut buffer {
            Buffer::F32(v) => v.as_mut_ptr().cast(),
            Buffer::F64(v) => v.as_mut_ptr().cast(),
            Buffer::I64(v) => v.as_mut_ptr().cast(),
            Buffer::I32(v) => v.as_mut_ptr().cast(),
        };
        let shape = [1i64, features as i64];
        let mut input = null_mut();
        // SAFETY: `data` points to `features * bytes` bytes owned by `buffer`, which the returned
        // `OrtModel` keeps (a Vec's heap block does not move when the Vec does) and outlives the value.
        self.check(unsafe {
            (api.CreateTensorWithDataAsOrtValue)(
                self.memory,
                data,
                features * bytes,
                shape.as_ptr(),
                2,
                element,
                &mut input,
            )
        })?;
        Ok(OrtModel { runtime: self, session, input, buffer, input_name, output_name, width })
    }
}

impl OnnxRuntime {
    /// One `Run` of `session` on `inputs` (named `input_names`), fetching `output_name`, a float
    /// tensor of `width` values per row: its values summed (read, as a caller would) and the
    /// output released.
    fn run(
        &self,
        session: *mut OrtSession,
        input_names: &[*const c_char],
        inputs: &[*mut OrtValue],
        output_name: &CStr,
        width: usize,
    ) -> Result<f32, String> {
        let api = self.api;
        let inputs: Vec<*const OrtValue> = inputs.iter().map(|&v| v as *const OrtValue).collect();
        let output_names = [output_name.as_ptr()];
        let mut output: *mut OrtValue = null_mut();
        // SAFETY: a live session and input values, as many names as values, one output name and slot.
        self.check(unsafe {
            (api.Run)(
                session,
                null(),
                input_names.as_ptr(),
                inputs.as_ptr(),
                inputs.len(),
                output_names.as_ptr(),
                1,
                &mut output,
            )
        })?;
        let mut data: *mut c_void = null_mut();
        // SAFETY: `output` is the float tensor `[1, width]` Run just made.
        let read = self.check(unsafe { (api.GetTensorMutableData)(output, &mut data) });
        // SAFETY: `data` holds `width` f32 values while `output` lives (released right after).
        let sum = read.map(|_| unsafe { std::slice::from_raw_parts(data as *const f32, width) }.iter().sum());
        // SAFETY: made by Run for this request, released once.
        unsafe { (api.ReleaseValue)(output) };
        sum
    }

    /// A one-thread session over the text model in `dir` (`model.onnx`, `tokenizer.json`), as a
    /// program using onnxruntime runs it: the tokenizer without padding and truncating at
    /// `max_length` tokens (as the runtime does); the inputs int64 `[1, length]` token tensors,
    /// recognised by name (`attention_mask`: ones; `token_type_ids`: zeros; anything else: the
    /// token ids); the output as in [`OnnxRuntime::session`].
    pub fn text_session(&self, dir: &Path, max_length: usize, width: usize) -> Result<OrtTextModel<'_>, String> {
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).map_err(|e| e.to_string())?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams { max_length, ..Default::default() }))
            .map_err(|e| e.to_string())?;
        let path = dir.join("model.onnx");
        let session = self.create_session(path.to_str().ok_or("a path that is not UTF-8")?)?;
        let output_name = self.scores_output(session)?;
        let input_names = self.io_names(session, false)?;
        Ok(OrtTextModel { runtime: self, session, tokenizer, input_names, output_name, width })
    }
}

/// One session over a text model; each request tokenizes and wraps its token ids (and a mask of
/// ones, type ids of zeros) in input tensors of its own length, as a C program would.
pub struct OrtTextModel<'r> {
    runtime: &'r OnnxRuntime,
    session: *mut OrtSession,
    tokenizer: Tokenizer,
    input_names: Vec<CString>,
    output_name: CString,
    width: usize,
}

impl OrtTextModel<'_> {
    /// One request: `text` tokenized (special tokens included), then run.
    pub fn classify_text(&mut self, text: &str) -> Result<f32, String> {
        let encoding = self.tokenizer.encode(text, true).map_err(|e| e.to_string())?;
        let ids: Vec<i64> = encoding.get_ids().iter().map(|&id| i64::from(id)).collect();
        self.classify_ids(&ids)
    }

    /// One run on `ids`.
    fn classify_ids(&mut self, ids: &[i64]) -> Result<f32, String> {
        let api = self.runtime.api;
        let ones = vec![1i64; ids.len()];
        let zeros = vec![0i64; ids.len()];
        let shape = [1i64, ids.len() as i64];
        let mut values = Vec::with_capacity(self.input_names.len());
        let mut made = Ok(());
        for name in &self.input_names {
            let data = match name.to_str() {
                Ok("attention_mask") => &ones,
                Ok("token_type_ids") => &zeros,
                _ => ids,
            };
            let mut value = null_mut();
            // SAFETY: `data` holds `ids.len()` int64 values that outlive the value (released below,
            // before this function returns); ONNX Runtime only reads an input.
            made = self.runtime.check(unsafe {
                (api.CreateTensorWithDataAsOrtValue)(
                    self.runtime.memory,
                    data.as_ptr() as *mut c_void,
                    data.len() * 8,
                    shape.as_ptr(),
                    2,
                    ONNXTensorElementDataType::ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64,
                    &mut value,
                )
            });
            if made.is_err() {
                break;
            }
            values.push(value);
        }
        let names: Vec<*const c_char> = self.input_names.iter().map(|n| n.as_ptr()).collect();
        let result = made.and_then(|_| self.runtime.run(self.session, &names, &values, &self.output_name, self.width));
        for value in values {
            // SAFETY: made above for this request, released once.
            unsafe { (api.ReleaseValue)(value) };
        }
        result
    }
}

impl Drop for OrtTextModel<'_> {
    fn drop(&mut self) {
        // SAFETY: created in `text_session`, released once.
        unsafe { (self.runtime.api.ReleaseSession)(self.session) };
    }
}

impl Drop for OnnxRuntime {
    fn drop(&mut self) {
        // SAFETY: created in `load` (or still NULL when `load` failed half way, which these
        // release functions accept), released once; sessions borrow the runtime, so none is live.
        unsafe {
            if !self.memory.is_null() {
                (self.api.ReleaseMemoryInfo)(self.memory);
            }
            if !self.env.is_null() {
                (self.api.ReleaseEnv)(self.env);
            }
        }
    }
}

impl OrtModel<'_> {
    /// One request: `row` written into the input buffer (converted to the model's type), one
    /// `Run`, the probabilities summed (read, as a caller would) and the output released.
    pub fn classify(&mut self, row: &[f32]) -> Result<f32, String> {
        match &mut self.buffer {
            Buffer::F32(v) => v.copy_from_slice(row),
            Buffer::F64(v) => v.iter_mut().zip(row).for_each(|(d, &s)| *d = f64::from(s)),
            Buffer::I64(v) => v.iter_mut().zip(row).for_each(|(d, &s)| *d = s as i64),
            Buffer::I32(v) => v.iter_mut().zip(row).for_each(|(d, &s)| *d = s as i32),
        }
        let input_names = [self.input_name.as_ptr()];
        self.runtime.run(self.session, &input_names, &[self.input], &self.output_name, self.width)
    }
}

impl Drop for OrtModel<'_> {
    fn drop(&mut self) {
        // SAFETY: created in `session`, released once, the value before the buffer it wraps goes.
        unsafe {
            (self.runtime.api.ReleaseValue)(self.input);
            (self.runtime.api.ReleaseSession)(self.session);
        }
    }
}
