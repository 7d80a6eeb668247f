//! `Session`: one thread's preallocated scratch for one model, and the request path.
//!
//! A session owns a *unit*: the tract states (one per plan), the input tensors they read, and
//! (when [`PoolRouter`](crate::alloc::PoolRouter) is the global allocator) a memory pool. A
//! request tokenizes or copies its input into the unit's tensors, runs the plan of the smallest
//! fitting length, and writes probabilities into the session's buffers, with every allocation
//! tract and the tokenizer make served by the pool: zero system-allocator calls in steady state.
//!
//! Units are recycled: a dropped session gives its unit back to the model and the next new
//! session takes it. tract keeps per-thread matmul scratch keyed by the state's identity, so
//! reusing states (instead of creating new ones) keeps that scratch bounded however often the
//! host creates sessions or moves them between threads.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tract_linalg::multithread::multithread_tract_scope;
use tract_onnx::prelude::*;

use mlops_edge_monitor::{Monitor, Record, Recorder, MAX_FEATURES};

use crate::alloc::{self, Pool, PoolScope, PoolStats};
use crate::error::{fail, Error, Result, Status};
use crate::model::{self, InputKind, InputRole, InputSpec, Model, ModelInner, Tokens};

/// The input was cut to fit: text beyond the longest sequence or the text window, bytes beyond
/// what the features read.
pub const FLAG_TRUNCATED: u32 = 1;
/// The input was empty (empty text, zero bytes).
pub const FLAG_EMPTY_INPUT: u32 = 2;
/// The request ran outside the session's pool (first request of this session on this thread,
/// or no pool): allocations went to the system allocator.
pub const FLAG_UNPOOLED: u32 = 4;

/// The answer to one request.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// Index of the most probable label.
    pub label_index: usize,
    /// Its name.
    pub label: Arc<str>,
    /// Its probability.
    pub score: f32,
    /// Time from the call to the answer (preprocessing, inference, postprocessing).
    pub latency: Duration,
    /// `FLAG_*` bits.
    pub flags: u32,
    /// Tokens (text, special tokens included), bytes given (bytes), or values (tensor).
    pub input_length: usize,
}

/// How a session gets its memory pool.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum PoolMode {
    /// A pool sized from warm-up runs when the router is the global allocator; none otherwise.
    #[default]
    Auto,
    /// No pool: tract allocates from the system allocator on every request.
    Off,
    /// A pool of exactly this many bytes (the router must be the global allocator).
    Bytes(usize),
}

/// Options for [`Session::new`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct SessionOptions {
    /// Memory pool policy.
    pub pool: PoolMode,
}

/// Counters of a session.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Requests served (successes and errors).
    pub requests: u64,
    /// Requests that returned an error.
    pub errors: u64,
    /// Calls to the system allocator the last request made on its thread (0 in steady state
    /// with a pool; only counted when the router is the global allocator).
    pub last_request_system_calls: u64,
    /// The pool, if the session has one.
    pub pool: Option<PoolStats>,
}

/// Pushes the monitor record of one request (no allocation, no lock: see `Recorder::record_at`).
#[inline]
fn record(
    recorder: &mut Recorder,
    outcome: std::result::Result<&Prediction, Status>,
    input: Input<'_>,
    start: Instant,
) {
    let (record, latency) = match outcome {
        Ok(p) => {
            let mut r = Record::success(
                p.latency.as_nanos() as u64,
                p.label_index as u32,
                p.score,
                p.input_length.min(u32::MAX as usize) as u32,
            );
            if let Input::Tensor(values) = input {
                for (slot, index) in r.features.iter_mut().zip(recorder.feature_indices()).take(MAX_FEATURES) {
                    *slot = values.get(*index as usize).copied().unwrap_or(f32::NAN);
                }
            }
            (r, p.latency)
        }
        Err(status) => {
            let latency = start.elapsed();
            (Record::error(latency.as_nanos() as u64, status.code() as u16), latency)
        }
    };
    recorder.record_at(record, start + latency);
}

/// Preallocated per-session scratch; recycled through the model (see the module docs).
pub(crate) struct SessionUnit {
    id: u64,
    states: Vec<TypedSimpleState>,
    /// `inputs[plan][input]`: the tensors fed to each plan, rewritten in place per request.
    inputs: Vec<Vec<Arc<Tensor>>>,
    pool: Option<Pool>,
    /// Set while a request runs; still set afterwards means the request panicked or tract
    /// failed midway, and the states are rebuilt before the next use.
    dirty: bool,
}

static NEXT_UNIT_ID: AtomicU64 = AtomicU64::new(1);

/// One thread's scratch for one model. `Send`, not `Sync`: use it from one thread at a time.
pub struct Session {
    model: Model,
    unit: Option<SessionUnit>,
    ids: Vec<i64>,
    byte_features: Vec<i32>,
    raw: Vec<f32>,
    probs: Vec<f32>,
    stats: SessionStats,
    recorder: Option<Recorder>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("model", &self.model).field("stats", &self.stats()).finish()
    }
}

/// What a request carries (borrowed: nothing is copied).
#[derive(Copy, Clone, Debug)]
pub enum Input<'a> {
    /// Text, for text models.
    Text(&'a str),
    /// One example of f32 features, for tensor models.
    Tensor(&'a [f32]),
    /// Raw bytes, for byte models.
    Bytes(&'a [u8]),
}

impl Input<'_> {
    /// The model input kind this input is for.
    pub fn kind(&self) -> InputKind {
        match self {
            Input::Text(_) => InputKind::Text,
            Input::Tensor(_) => InputKind::Tensor,
            Input::Bytes(_) => InputKind::Bytes,
        }
    }
}

impl Session {
    /// A session for `model` with default options.
    pub fn new(model: &Model) -> Result<Session> {
        Session::with_options(model, &SessionOptions::default())
    }

    /// A session for `model`. Creating one runs every plan once (warm-up, and pool sizing), so
    /// create sessions up front, not per request.
    pub fn with_options(model: &Model, options: &SessionOptions) -> Result<Session> {
        let inner = &model.inner;
        let reuse = inner.spare_units.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let unit = match reuse {
            Some(unit) if pool_matches(&unit, options.pool) => unit,
            other => {
                drop(other);
                new_unit(inner, options.pool)?
            }
        };
        Ok(Session {
            model: model.clone(),
            unit: Some(unit),
            ids: vec![0; inner.max_tokens],
            byte_features: vec![0; inner.bytes.map(|b| b.len()).unwrap_or(0)],
            raw: vec![0.0; inner.output_width],
            probs: vec![0.0; inner.labels.len()],
            stats: SessionStats::default(),
            recorder: None,
        })
    }

    /// The model this session serves.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Counters.
    pub fn stats(&self) -> SessionStats {
        SessionStats { pool: self.unit().pool.as_ref().map(Pool::stats), ..self.stats }
    }

    /// Attaches `monitor`: from now on every request (success or error) pushes one record into
    /// this session's own lock-free ring of the monitor, stamped with the model card's version.
    /// Replaces a previously attached monitor. Errors: `LimitReached` when the monitor's lanes
    /// are all taken; `InvalidArgument` when a watched feature index is outside this model's
    /// tensor input or the version string is longer than 64 bytes.
    pub fn attach_monitor(&mut self, monitor: &Monitor) -> Result<()> {
        let width = self.model.max_input_length();
        let indices = &monitor.config().feature_indices;
        if self.model.input_kind() == InputKind::Tensor {
            if let Some(bad) = indices.iter().find(|i| **i as usize >= width) {
                return fail(
                    Status::InvalidArgument,
                    format!("monitored feature index {bad} is outside this model's {width} input values"),
                );
            }
        }
        self.recorder = None;
        self.recorder = Some(monitor.recorder(&self.model.card().version)?);
        Ok(())
    }

    /// Detaches the monitor, if any (its lane becomes free for another session).
    pub fn detach_monitor(&mut self) {
        self.recorder = None;
    }

    /// Whether a monitor is attached.
    pub fn has_monitor(&self) -> bool {
        self.recorder.is_some()
    }

    /// Classify a text. `probabilities`, when given, receives one value per label and must
    /// hold at least that many ([`Status::BufferTooSmall`] otherwise).
    pub fn classify_text(&mut self, text: &str, probabilities: Option<&mut [f32]>) -> Result<Prediction> {
        self.classify(Input::Text(text), probabilities)
    }

    /// Classify one example of f32 features (exactly [`Model::max_input_length`] values, all finite).
    pub fn classify_f32(&mut self, features: &[f32], probabilities: Option<&mut [f32]>) -> Result<Prediction> {
        self.classify(Input::Tensor(features), probabilities)
    }

    /// Classify raw bytes (e.g. a file's content).
    pub fn classify_bytes(&mut self, data: &[u8], probabilities: Option<&mut [f32]>) -> Result<Prediction> {
        self.classify(Input::Bytes(data), probabilities)
    }

    fn unit(&self) -> &SessionUnit {
        self.unit.as_ref().expect("a live session always holds its unit")
    }

    /// Classify any [`Input`] (what the three typed calls do).
    pub fn classify(&mut self, input: Input<'_>, probabilities: Option<&mut [f32]>) -> Result<Prediction> {
        let start = Instant::now();
        let calls_before = alloc::thread_stats().system_calls;
        let result = self.classify_inner(input, probabilities, start);
        self.stats.requests += 1;
        self.stats.last_request_system_calls = alloc::thread_stats().system_calls - calls_before;
        if result.is_err() {
            self.stats.errors += 1;
        }
        if let Some(recorder) = self.recorder.as_mut() {
            record(recorder, result.as_ref().map_err(Error::status), input, start);
        }
        result
    }

    fn classify_inner(&mut self, input: Input<'_>, out: Option<&mut [f32]>, start: Instant) -> Result<Prediction> {
        // Everything from here on allocates from the pool, error messages included.
        let unit = self.unit.as_mut().expect("a live session always holds its unit");
        let pool_scope = unit.pool.as_ref().map(PoolScope::enter);
        let overflows_before = unit.pool.as_ref().map(|p| p.stats().overflows);
        let inner = Arc::clone(&self.model.inner);
        let model = &*inner;
        if input.kind() != model.kind {
            return fail(
                Status::WrongInputKind,
                format!("this model takes {} input, not {}", model.kind.as_str(), input.kind().as_str()),
            );
        }
        if let Some(buffer) = &out {
            if buffer.len() < model.labels.len() {
                return fail(
                    Status::BufferTooSmall,
                    format!(
                        "probabilities buffer holds {} values, the model has {} labels",
                        buffer.len(),
                        model.labels.len()
                    ),
                );
            }
        }
        if let Input::Tensor(values) = input {
            check_tensor(model, values)?;
        }
        if unit.dirty {
            rebuild_states(model, unit)?;
        }
        unit.dirty = true;
        testing::maybe_panic();
        testing::maybe_delay(model);
        unit.dirty = false;

        // Preprocess into the unit's tensors.
        let (plan_index, input_length, mut flags) = match input {
            Input::Text(text) => {
                let encoder = model.text.as_ref().expect("text model has an encoder");
                let Tokens { count, truncated } = encoder.encode(text, &mut self.ids)?;
                let plan = pick_plan(model, count.max(1));
                write_text_inputs(&model.inputs, &mut unit.inputs[plan], &self.ids[..count], encoder.pad_id())?;
                let mut flags = if truncated { FLAG_TRUNCATED } else { 0 };
                if text.is_empty() {
                    flags |= FLAG_EMPTY_INPUT;
                }
                (plan, count, flags)
            }
            Input::Tensor(values) => {
                write_values(&mut unit.inputs[0][0], |dst| fill_from_f32(dst, values))?;
                (0, values.len(), 0)
            }
            Input::Bytes(data) => {
                let features = model.bytes.as_ref().expect("bytes model has its features");
                let truncated = model::extract_byte_features(features, data, &mut self.byte_features);
                let values = &self.byte_features;
                write_values(&mut unit.inputs[0][0], |dst| fill_from_i32(dst, values))?;
                let mut flags = if truncated { FLAG_TRUNCATED } else { 0 };
                if data.is_empty() {
                    flags |= FLAG_EMPTY_INPUT;
                }
                (0, data.len(), flags)
            }
        };

        // Run: the first run of this unit's plan on this thread goes to the system allocator,
        // so that tract's per-thread buffers never live in the pool.
        let warm = unit.pool.is_some() && thread_has_run(unit.id, plan_index);
        let system_scope = (!warm).then(PoolScope::system);
        if !warm {
            flags |= FLAG_UNPOOLED;
        }
        unit.dirty = true;
        let outputs = run(model, &mut unit.states[plan_index], &unit.inputs[plan_index])?;
        unit.dirty = false;
        drop(system_scope);
        copy_output(&outputs, 1, &mut self.raw)?;
        drop(outputs);
        drop(pool_scope);
        model::probabilities(model.postprocess, &self.raw, &mut self.probs)?;
        let (label_index, score) = model::argmax(&self.probs);

        if let (Some(pool), Some(before)) = (&unit.pool, overflows_before) {
            let stats = pool.stats();
            if stats.overflows != before {
                return fail(
                    Status::PoolExhausted,
                    format!("the session's memory pool ({} bytes) ran out during this request; create the session with a larger pool", stats.capacity),
                );
            }
        }
        if let Some(buffer) = out {
            buffer[..self.probs.len()].copy_from_slice(&self.probs);
        }
        Ok(Prediction {
            label_index,
            label: Arc::clone(&model.labels[label_index]),
            score,
            latency: start.elapsed(),
            flags,
            input_length,
        })
    }

    /// Classify many texts in one run of the batch plan (padded to the longest). Allocates
    /// (the batch path is for throughput; single requests are the allocation-free path).
    /// `probabilities`, when given, receives `texts.len() × labels` values, row by row.
    pub fn classify_text_batch(
        &mut self,
        texts: &[&str],
        probabilities: Option<&mut [f32]>,
    ) -> Result<Vec<Prediction>> {
        let inputs: Vec<Input<'_>> = texts.iter().map(|t| Input::Text(t)).collect();
        self.classify_batch(&inputs, probabilities)
    }

    /// Classify many f32 examples (each exactly [`Model::max_input_length`] values) in one run.
    pub fn classify_f32_batch(
        &mut self,
        examples: &[&[f32]],
        probabilities: Option<&mut [f32]>,
    ) -> Result<Vec<Prediction>> {
        let inputs: Vec<Input<'_>> = examples.iter().map(|e| Input::Tensor(e)).collect();
        self.classify_batch(&inputs, probabilities)
    }

    /// Classify many byte strings in one run.
    pub fn classify_bytes_batch(
        &mut self,
        items: &[&[u8]],
        probabilities: Option<&mut [f32]>,
    ) -> Result<Vec<Prediction>> {
        let inputs: Vec<Input<'_>> = items.iter().map(|b| Input::Bytes(b)).collect();
        self.classify_batch(&inputs, probabilities)
    }

    fn classify_batch(&mut self, inputs: &[Input<'_>], out: Option<&mut [f32]>) -> Result<Vec<Prediction>> {
        let start = Instant::now();
        let result = self.classify_batch_inner(inputs, out, start);
        self.stats.requests += inputs.len() as u64;
        if result.is_err() {
            self.stats.errors += inputs.len() as u64;
        }
        if let Some(recorder) = self.recorder.as_mut() {
            // One record per item; each carries the whole batch's latency (what it waited).
            for (i, input) in inputs.iter().enumerate() {
                let outcome = match &result {
                    Ok(predictions) => Ok(&predictions[i]),
                    Err(e) => Err(e.status()),
                };
                record(recorder, outcome, *input, start);
            }
        }
        result
    }

    fn classify_batch_inner(
        &mut self,
        inputs: &[Input<'_>],
        out: Option<&mut [f32]>,
        start: Instant,
    ) -> Result<Vec<Prediction>> {
        let model = Arc::clone(&self.model.inner);
        let n = inputs.len();
        let labels = model.labels.len();
        if n == 0 {
            return fail(Status::InvalidArgument, "a batch needs at least one input");
        }
        if n > model.options.max_batch {
            return fail(
                Status::InvalidArgument,
                format!("batch of {n} exceeds max_batch {}", model.options.max_batch),
            );
        }
        if let Some(kind) = inputs.iter().map(Input::kind).find(|k| *k != model.kind) {
            return fail(
                Status::WrongInputKind,
                format!("this model takes {} input, not {}", model.kind.as_str(), kind.as_str()),
            );
        }
        if let Some(buffer) = &out {
            if buffer.len() < n * labels {
                return fail(
                    Status::BufferTooSmall,
                    format!(
                        "probabilities buffer holds {} values, {n} inputs × {labels} labels need {}",
                        buffer.len(),
                        n * labels
                    ),
                );
            }
        }
        let Some((batch_plan, rows)) = model.batch.plan_for(n, model.options.max_batch)? else {
            // max_batch == 1: no batch plan; classify item by item.
            let mut predictions = Vec::with_capacity(n);
            let mut out = out;
            for (i, input) in inputs.iter().enumerate() {
                let row = out.as_deref_mut().map(|b| &mut b[i * labels..(i + 1) * labels]);
                predictions.push(self.classify_inner(*input, row, Instant::now())?);
            }
            return Ok(predictions);
        };
        let _system = PoolScope::system();
        let mut flags = vec![0u32; n];
        let mut lengths = vec![0usize; n];
        let tensors = match model.kind {
            InputKind::Text => {
                let encoder = model.text.as_ref().expect("text model has an encoder");
                let mut ids = vec![0i64; n * model.max_tokens];
                for (i, input) in inputs.iter().enumerate() {
                    let Input::Text(text) = input else { unreachable!("kinds checked above") };
                    let row = &mut ids[i * model.max_tokens..(i + 1) * model.max_tokens];
                    let tokens = encoder.encode(text, row)?;
                    lengths[i] = tokens.count;
                    flags[i] = if tokens.truncated { FLAG_TRUNCATED } else { 0 }
                        | if text.is_empty() { FLAG_EMPTY_INPUT } else { 0 };
                }
                let width = model.plans[pick_plan(&model, lengths.iter().copied().max().unwrap_or(1).max(1))].length;
                let mut tensors = Vec::with_capacity(model.inputs.len());
                for spec in &model.inputs {
                    let mut t = Tensor::zero_dt(spec.datum_type, &[rows, width])
                        .map_err(|e| Error::tract(Status::Inference, "batch input", e))?;
                    write_ints(&mut t, |pos| {
                        let (row, col) = (pos / width, pos % width);
                        // Rows past `n` only pad the batch to the plan's size: one real token.
                        let real = if row < n { col < lengths[row] } else { col == 0 };
                        match spec.role {
                            InputRole::TokenIds if real && row < n => ids[row * model.max_tokens + col],
                            InputRole::TokenIds => encoder.pad_id(),
                            InputRole::AttentionMask => i64::from(real),
                            _ => 0,
                        }
                    })?;
                    tensors.push(Arc::new(t));
                }
                tensors
            }
            InputKind::Tensor => {
                let len = model.example_len;
                let mut values = Vec::with_capacity(rows * len);
                for (i, input) in inputs.iter().enumerate() {
                    let Input::Tensor(example) = input else { unreachable!("kinds checked above") };
                    check_tensor(&model, example)
                        .map_err(|e| Error::new(e.status(), format!("batch item {i}: {}", e.message())))?;
                    values.extend_from_slice(example);
                    lengths[i] = len;
                }
                values.resize(rows * len, 0.0);
                vec![Arc::new(batch_tensor(&model, rows, |dst| fill_from_f32(dst, &values))?)]
            }
            InputKind::Bytes => {
                let features = model.bytes.expect("bytes model has its features");
                let mut values = vec![features.padding_token; rows * features.len()];
                for (i, input) in inputs.iter().enumerate() {
                    let Input::Bytes(data) = input else { unreachable!("kinds checked above") };
                    let row = &mut values[i * features.len()..(i + 1) * features.len()];
                    let truncated = model::extract_byte_features(&features, data, row);
                    flags[i] =
                        if truncated { FLAG_TRUNCATED } else { 0 } | if data.is_empty() { FLAG_EMPTY_INPUT } else { 0 };
                    lengths[i] = data.len();
                }
                vec![Arc::new(batch_tensor(&model, rows, |dst| fill_from_i32(dst, &values))?)]
            }
        };
        let mut state = batch_plan.spawn().map_err(|e| Error::tract(Status::Inference, "batch state", e))?;
        let outputs = run(&model, &mut state, &tensors)?;
        let mut raw = vec![0f32; rows * model.output_width];
        copy_output(&outputs, rows, &mut raw)?;
        let mut probs = vec![0f32; n * labels];
        let latency = start.elapsed();
        let mut predictions = Vec::with_capacity(n);
        for i in 0..n {
            let row = &mut probs[i * labels..(i + 1) * labels];
            model::probabilities(model.postprocess, &raw[i * model.output_width..(i + 1) * model.output_width], row)?;
            let (label_index, score) = model::argmax(row);
            predictions.push(Prediction {
                label_index,
                label: Arc::clone(&model.labels[label_index]),
                score,
                latency,
                flags: flags[i] | FLAG_UNPOOLED,
                input_length: lengths[i],
            });
        }
        if let Some(buffer) = out {
            buffer[..probs.len()].copy_from_slice(&probs);
        }
        Ok(predictions)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(unit) = self.unit.take() {
            if !unit.dirty {
                self.model.inner.spare_units.lock().unwrap_or_else(|e| e.into_inner()).push(unit);
            }
        }
    }
}

fn pool_matches(unit: &SessionUnit, mode: PoolMode) -> bool {
    match (mode, &unit.pool) {
        (PoolMode::Off, None) => true,
        (PoolMode::Auto, Some(_)) => true,
        (PoolMode::Auto, None) => !alloc::router_installed(),
        (PoolMode::Bytes(n), Some(pool)) => pool.stats().capacity == n.next_multiple_of(4096),
        _ => false,
    }
}

fn check_tensor(model: &ModelInner, values: &[f32]) -> Result<()> {
    if values.len() != model.example_len {
        return fail(Status::InputShape, format!("the model takes {} values, got {}", model.example_len, values.len()));
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return fail(Status::InputNotFinite, format!("value {i} is {}", values[i]));
    }
    Ok(())
}

/// The smallest plan whose length holds `tokens` (the last one otherwise).
fn pick_plan(model: &ModelInner, tokens: usize) -> usize {
    model.plans.iter().position(|p| p.length >= tokens).unwrap_or(model.plans.len() - 1)
}

fn run(model: &ModelInner, state: &mut TypedSimpleState, inputs: &[Arc<Tensor>]) -> Result<TVec<TValue>> {
    let values: TVec<TValue> = inputs.iter().map(|t| TValue::from_const(Arc::clone(t))).collect();
    // Installing the executor per thread also keeps tract from locking its global default
    // executor mutex on every matmul.
    multithread_tract_scope(model.executor.clone(), || state.run(values))
        .map_err(|e| Error::tract(Status::Inference, "running the model", e))
}

/// Copy the output (rows × width values) into `raw`.
fn copy_output(outputs: &TVec<TValue>, rows: usize, raw: &mut [f32]) -> Result<()> {
    let output = outputs.first().ok_or_else(|| Error::new(Status::Inference, "the model returned no output"))?;
    if output.len() != raw.len() {
        return fail(
            Status::Inference,
            format!(
                "output has {} values ({:?}), expected {rows} × {}",
                output.len(),
                output.shape(),
                raw.len() / rows.max(1)
            ),
        );
    }
    let view = output.try_as_plain_ram().map_err(|e| Error::tract(Status::Inference, "reading the output", e))?;
    match output.datum_type() {
        DatumType::F32 => {
            raw.copy_from_slice(view.as_slice::<f32>().map_err(|e| Error::tract(Status::Inference, "output", e))?)
        }
        DatumType::F64 => {
            let values = view.as_slice::<f64>().map_err(|e| Error::tract(Status::Inference, "output", e))?;
            for (dst, &v) in raw.iter_mut().zip(values) {
                *dst = v as f32;
            }
        }
        other => return fail(Status::ModelUnsupported, format!("output type {other:?} is not a float score")),
    }
    Ok(())
}

/// Rewrite an input tensor in place (it is exclusively ours between runs).
fn write_values(tensor: &mut Arc<Tensor>, fill: impl FnOnce(&mut Tensor) -> Result<()>) -> Result<()> {
    let tensor =
        Arc::get_mut(tensor).ok_or_else(|| Error::new(Status::Inference, "input tensor still referenced by tract"))?;
    fill(tensor)
}

fn fill_from_f32(dst: &mut Tensor, values: &[f32]) -> Result<()> {
    let dt = dst.datum_type();
    let mut view = dst.try_as_plain_ram_mut().map_err(|e| Error::tract(Status::Inference, "input", e))?;
    let slice = view
        .as_slice_mut::<f32>()
        .map_err(|_| Error::new(Status::ModelUnsupported, format!("tensor input of type {dt:?}")))?;
    slice.copy_from_slice(values);
    Ok(())
}

fn fill_from_i32(dst: &mut Tensor, values: &[i32]) -> Result<()> {
    write_ints(dst, |i| i64::from(values[i]))
}

/// Write `value(position)` into every element of an integer or float tensor.
fn write_ints(dst: &mut Tensor, value: impl Fn(usize) -> i64) -> Result<()> {
    let dt = dst.datum_type();
    let mut view = dst.try_as_plain_ram_mut().map_err(|e| Error::tract(Status::Inference, "input", e))?;
    macro_rules! fill {
        ($t:ty) => {{
            let slice = view.as_slice_mut::<$t>().map_err(|e| Error::tract(Status::Inference, "input", e))?;
            for (i, slot) in slice.iter_mut().enumerate() {
                *slot = value(i) as $t;
            }
        }};
    }
    match dt {
        DatumType::I64 => fill!(i64),
        DatumType::I32 => fill!(i32),
        DatumType::F32 => fill!(f32),
        other => return fail(Status::ModelUnsupported, format!("input type {other:?}")),
    }
    Ok(())
}

fn write_text_inputs(specs: &[InputSpec], tensors: &mut [Arc<Tensor>], ids: &[i64], pad_id: i64) -> Result<()> {
    for (spec, tensor) in specs.iter().zip(tensors.iter_mut()) {
        write_values(tensor, |t| {
            write_ints(t, |pos| match spec.role {
                InputRole::TokenIds => ids.get(pos).copied().unwrap_or(pad_id),
                InputRole::AttentionMask => i64::from(pos < ids.len()),
                _ => 0,
            })
        })?;
    }
    Ok(())
}

/// The feature input of a tensor/bytes model for `n` examples.
fn batch_tensor(model: &ModelInner, n: usize, fill: impl FnOnce(&mut Tensor) -> Result<()>) -> Result<Tensor> {
    let shape: Vec<usize> = std::iter::once(n).chain(model.example_shape.iter().copied()).collect();
    let mut t = Tensor::zero_dt(model.inputs[0].datum_type, &shape)
        .map_err(|e| Error::tract(Status::Inference, "batch input", e))?;
    fill(&mut t)?;
    Ok(t)
}

/// Input tensors for every plan, zero-filled, in the shape each plan takes.
fn plan_inputs(model: &ModelInner) -> Result<Vec<Vec<Arc<Tensor>>>> {
    model
        .plans
        .iter()
        .map(|plan| {
            model
                .inputs
                .iter()
                .map(|spec| {
                    let shape: Vec<usize> = match spec.role {
                        InputRole::Features => std::iter::once(1).chain(model.example_shape.iter().copied()).collect(),
                        _ => vec![1, plan.length],
                    };
                    Tensor::zero_dt(spec.datum_type, &shape)
                        .map(Arc::new)
                        .map_err(|e| Error::tract(Status::Inference, "allocating inputs", e))
                })
                .collect()
        })
        .collect()
}

fn spawn_states(model: &ModelInner) -> Result<Vec<TypedSimpleState>> {
    model
        .plans
        .iter()
        .map(|p| p.runnable.spawn().map_err(|e| Error::tract(Status::Inference, "creating a tract state", e)))
        .collect()
}

fn rebuild_states(model: &ModelInner, unit: &mut SessionUnit) -> Result<()> {
    let _system = PoolScope::system();
    unit.states = spawn_states(model)?;
    unit.inputs = plan_inputs(model)?;
    unit.dirty = false;
    Ok(())
}

/// Run every plan once on a neutral input; returns the output width (values per example).
/// Used at load time: it proves the plans run and tells how many scores the model gives.
pub(crate) fn self_check(model: &ModelInner) -> Result<usize> {
    let mut width = None;
    let mut inputs = plan_inputs(model)?;
    for (plan, tensors) in model.plans.iter().zip(inputs.iter_mut()) {
        let mut state =
            plan.runnable.spawn().map_err(|e| Error::tract(Status::Inference, "creating a tract state", e))?;
        if model.kind == InputKind::Text {
            let pad = model.text.as_ref().map(|t| t.pad_id()).unwrap_or(0);
            let ids = vec![pad; plan.length];
            write_text_inputs(&model.inputs, tensors, &ids, pad)?;
        }
        let outputs = run(model, &mut state, tensors).map_err(|e| {
            Error::new(
                Status::ModelUnsupported,
                format!("the model does not run at length {}: {}", plan.length, e.message()),
            )
        })?;
        let output = outputs.first().ok_or_else(|| Error::new(Status::ModelUnsupported, "the model has no output"))?;
        let shape = output.shape();
        let wide_axes = shape.iter().skip(1).filter(|&&d| d > 1).count();
        if shape.len() >= 2 && (shape[0] != 1 || wide_axes > 1) {
            return fail(
                Status::ModelUnsupported,
                format!(
                    "output {:?} of shape {shape:?} is not one score vector per example: not a classifier",
                    model.output_name
                ),
            );
        }
        if !output.datum_type().is_float() {
            return fail(
                Status::ModelUnsupported,
                format!("output {:?} has type {:?}, not float scores", model.output_name, output.datum_type()),
            );
        }
        let n = output.len();
        if n == 0 || width.is_some_and(|w| w != n) {
            return fail(
                Status::ModelUnsupported,
                format!("output {:?} changes size with the input length: not a classifier", model.output_name),
            );
        }
        width = Some(n);
    }
    width.ok_or_else(|| Error::new(Status::ModelUnsupported, "the model has no plan"))
}

/// A fresh unit: states, inputs, and a pool sized from warm-up runs.
fn new_unit(model: &ModelInner, mode: PoolMode) -> Result<SessionUnit> {
    let _system = PoolScope::system();
    let id = NEXT_UNIT_ID.fetch_add(1, Ordering::Relaxed);
    let mut unit =
        SessionUnit { id, states: spawn_states(model)?, inputs: plan_inputs(model)?, pool: None, dirty: false };
    let router = alloc::router_installed();
    let bytes = match mode {
        PoolMode::Off => return Ok(unit),
        PoolMode::Auto if !router => return Ok(unit),
        PoolMode::Bytes(_) if !router => {
            return fail(Status::InvalidArgument, "a pool needs alloc::PoolRouter as the global allocator")
        }
        PoolMode::Bytes(n) => {
            warm_up(model, &mut unit)?;
            n
        }
        PoolMode::Auto => {
            alloc::reset_thread_peak();
            let base = alloc::thread_stats().system_net_bytes;
            warm_up(model, &mut unit)?;
            let peak = (alloc::thread_stats().system_peak_bytes - base).max(0) as usize;
            (2 * peak + 256 * 1024).clamp(alloc::MIN_POOL_BYTES, alloc::MAX_POOL_BYTES)
        }
    };
    unit.pool = Some(Pool::create(bytes).map_err(|e| {
        Error::new(
            Status::InvalidArgument,
            format!(
                "cannot create a {bytes}-byte memory pool: {e:?} (allowed {}..={} bytes)",
                alloc::MIN_POOL_BYTES,
                alloc::MAX_POOL_BYTES
            ),
        )
    })?);
    Ok(unit)
}

/// Worst-case requests on every plan (the longest inputs each can get), outside any pool. The
/// thread this runs on counts as warmed for every plan of the unit.
fn warm_up(model: &ModelInner, unit: &mut SessionUnit) -> Result<()> {
    let mut ids = vec![0i64; model.max_tokens];
    if let Some(encoder) = &model.text {
        // The tokenizer's worst cases: many one-letter words, punctuation, multi-byte text.
        let n = encoder.max_text_bytes();
        for unit_text in ["a ", "!", "\u{00e9}", "\u{1F525}"] {
            let text = unit_text.repeat(n / unit_text.len() + 1);
            encoder.encode(&text, &mut ids)?;
        }
    }
    for (index, plan) in model.plans.iter().enumerate() {
        match model.kind {
            InputKind::Text => {
                let pad = model.text.as_ref().map(|t| t.pad_id()).unwrap_or(0);
                ids.iter_mut().for_each(|v| *v = pad);
                write_text_inputs(&model.inputs, &mut unit.inputs[index], &ids[..plan.length], pad)?;
            }
            _ => write_values(&mut unit.inputs[index][0], |t| write_ints(t, |_| 0))?,
        }
        for _ in 0..2 {
            let outputs = run(model, &mut unit.states[index], &unit.inputs[index])?;
            drop(outputs);
        }
        thread_has_run(unit.id, index);
    }
    Ok(())
}

const WARM_SLOTS: usize = 64;

thread_local! {
    /// (unit id << 8 | plan index) pairs whose first run on this thread already happened;
    /// a small ring, so a thread that serves many units forgets the oldest (which then just
    /// run once more outside the pool).
    static WARM: RefCell<([u64; WARM_SLOTS], usize)> = const { RefCell::new(([0; WARM_SLOTS], 0)) };
}

/// True if this (unit, plan) already ran on this thread; records it otherwise.
fn thread_has_run(unit: u64, plan: usize) -> bool {
    let key = (unit << 8) | plan as u64;
    WARM.with(|warm| {
        let mut warm = warm.borrow_mut();
        if warm.0.contains(&key) {
            return true;
        }
        let next = warm.1;
        warm.0[next] = key;
        warm.1 = (next + 1) % WARM_SLOTS;
        false
    })
}

impl Session {
    /// Benchmark hook: run plan `plan` again on the inputs the last request left in the
    /// session's tensors (inference only: no preprocessing, no postprocessing), in the pool.
    #[doc(hidden)]
    pub fn rerun_plan(&mut self, plan: usize) -> Result<()> {
        let model = Arc::clone(&self.model.inner);
        let unit = self.unit.as_mut().expect("a live session always holds its unit");
        let _scope = unit.pool.as_ref().map(PoolScope::enter);
        let index = plan.min(unit.states.len() - 1);
        drop(run(&model, &mut unit.states[index], &unit.inputs[index])?);
        Ok(())
    }
}

/// Test hooks (for the C and Rust test suites; harmless in production).
#[doc(hidden)]
pub mod testing {
    use std::cell::Cell;

    thread_local! {
        static PANIC_NEXT: Cell<bool> = const { Cell::new(false) };
        static EXTRA_LATENCY: Cell<std::time::Duration> = const { Cell::new(std::time::Duration::ZERO) };
    }

    /// Make every request on this thread take at least `extra` longer (a busy wait inside the
    /// request path, no syscall), to exercise latency alerts on real requests. Zero turns it off.
    pub fn set_extra_latency(extra: std::time::Duration) {
        EXTRA_LATENCY.with(|d| d.set(extra));
    }

    /// Make every request on `model` (any session, any thread) take at least `extra` longer: an
    /// injected degradation of one model version, for rollout tests. Zero turns it off.
    pub fn set_model_extra_latency(model: &crate::Model, extra: std::time::Duration) {
        let ns = extra.as_nanos().min(u64::MAX as u128) as u64;
        model.inner.test_extra_latency_ns.store(ns, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn maybe_delay(model: &crate::model::ModelInner) {
        let per_model = model.test_extra_latency_ns.load(std::sync::atomic::Ordering::Relaxed);
        let extra = EXTRA_LATENCY.with(|d| d.get()) + std::time::Duration::from_nanos(per_model);
        if !extra.is_zero() {
            let start = std::time::Instant::now();
            while start.elapsed() < extra {
                std::hint::spin_loop();
            }
        }
    }

    /// Make the next request on this thread panic inside the request path (after the pool is
    /// entered), to prove the panic boundary and the session's recovery.
    pub fn panic_in_next_request() {
        PANIC_NEXT.with(|p| p.set(true));
    }

    pub(crate) fn maybe_panic() {
        if PANIC_NEXT.with(|p| p.replace(false)) {
            panic!("forced panic for testing (mle_test_panic_next_request)");
        }
    }
}
