//! `Session`: one thread's preallocated scratch for one model, and the request path.
//!
//! A session owns a *unit*: the tract states (one per plan), the input tensors they read, and
//! (when [`PoolRouter`](crate::alloc::PoolRouter) is the global allocator) a memory pool. A
//! request tokenizes or copies its input into the unit's tensors, runs the plan of the smallest
//! fitting length, and writes probabilities into the session's buffers, with every allocation
//! tract and the tokenizer make served by the pool: zero system-allocator calls in steady state.
//!
//! Units are made and recycled on the model side (`model::unit`); the batch path is in `batch`.
//! Every request is counted once in the session's stats and, with a monitor attached, recorded
//! once, under the status it returned, whatever it returned.

mod batch;
mod profile;

pub use profile::{OpTime, Profile};

use std::sync::Arc;
use std::time::{Duration, Instant};

use mlops_edge_monitor::{Monitor, Record, Recorder, MAX_FEATURES};

use crate::alloc::{self, Pool, PoolScope, PoolStats};
use crate::error::{fail, Error, Result, Status};
use crate::model::tensors::{copy_output, fill_from_f32, fill_from_i32, run, write_text_inputs, write_values};
pub use crate::model::unit::PoolMode;
use crate::model::unit::{self, Unit};
use crate::model::{self, InputKind, Model, ModelInner, Tokens};

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
pub(crate) fn record(
    recorder: &mut Recorder,
    outcome: std::result::Result<&Prediction, Status>,
    input: Input<'_>,
    start: Instant,
    model: &ModelInner,
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
            let latency = crate::testing::reported_latency(&model.test_hooks, start.elapsed());
            (Record::error(latency.as_nanos() as u64, status.code() as u16), latency)
        }
    };
    recorder.record_at(record, start + latency);
}

/// Runs a request's body with a panic (a bug in this library or in tract) turned into a
/// `Status::Panic` error of that request, so that it is counted and recorded like any other
/// error. The unit's states are rebuilt before its next request (they were marked dirty).
pub(crate) fn catch_panic<T>(body: impl FnOnce() -> Result<T>) -> Result<T> {
    crate::error::internal_panics_as_errors(body)
}

/// One thread's scratch for one model. `Send`, not `Sync`: use it from one thread at a time.
pub struct Session {
    model: Model,
    unit: Option<Unit>,
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
    /// Text as bytes not yet checked to be UTF-8 (what C callers pass): invalid UTF-8 is an
    /// [`Status::InvalidUtf8`] error of the request, counted like any other.
    Utf8(&'a [u8]),
    /// One example of f32 features, for tensor models.
    Tensor(&'a [f32]),
    /// Raw bytes, for byte models.
    Bytes(&'a [u8]),
}

impl Input<'_> {
    /// The model input kind this input is for.
    pub fn kind(&self) -> InputKind {
        match self {
            Input::Text(_) | Input::Utf8(_) => InputKind::Text,
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

    /// A session for `model`. It takes a unit (tract states, input tensors, memory pool) that an
    /// earlier session gave back, or the one the model's load made ready; otherwise creating it
    /// runs every plan once (warm-up, and pool sizing), so create sessions up front, not per
    /// request.
    pub fn with_options(model: &Model, options: &SessionOptions) -> Result<Session> {
        let inner = &model.inner;
        let reuse = inner.spare_units.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let unit = match reuse {
            Some(unit) if unit::pool_matches(&unit, options.pool) => unit,
            other => {
                drop(other);
                unit::new_unit(inner, options.pool)?
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

    fn unit(&self) -> &Unit {
        self.unit.as_ref().expect("a live session always holds its unit")
    }

    /// Classify any [`Input`] (what the three typed calls do).
    pub fn classify(&mut self, input: Input<'_>, probabilities: Option<&mut [f32]>) -> Result<Prediction> {
        self.classify_checked(|| Ok((input, probabilities)))
    }

    /// Classify what `arguments` gives, where checking the caller's arguments is part of the
    /// request (the C API's NULL pointers, lengths, buffers): an error there is counted and
    /// recorded like any other, and its message is made inside the session's pool (no
    /// system-allocator call on that path either).
    pub(crate) fn classify_checked<'a>(
        &mut self,
        arguments: impl FnOnce() -> Result<(Input<'a>, Option<&'a mut [f32]>)>,
    ) -> Result<Prediction> {
        let start = Instant::now();
        let calls_before = alloc::thread_stats().system_calls;
        let (input, result) = {
            let unit = self.unit.as_ref().expect("a live session always holds its unit");
            let scope = unit.pool.as_ref().map(PoolScope::enter);
            let arguments = arguments();
            drop(scope);
            match arguments {
                Ok((input, probabilities)) => {
                    let result = catch_panic(|| self.classify_inner(input, probabilities, start));
                    (Some(input), result)
                }
                Err(e) => (None, Err(e)),
            }
        };
        self.stats.requests += 1;
        self.stats.last_request_system_calls = alloc::thread_stats().system_calls - calls_before;
        if result.is_err() {
            self.stats.errors += 1;
        }
        if let Some(recorder) = self.recorder.as_mut() {
            let model = &*self.model.inner;
            let outcome = result.as_ref().map_err(Error::status);
            record(recorder, outcome, input.unwrap_or(Input::Bytes(&[])), start, model);
        }
        result
    }

    fn classify_inner(&mut self, input: Input<'_>, out: Option<&mut [f32]>, start: Instant) -> Result<Prediction> {
        // Everything from here on allocates from the pool, error messages included.
        let unit = self.unit.as_mut().expect("a live session always holds its unit");
        let pool_scope = unit.pool.as_ref().map(PoolScope::enter);
        let input = match input {
            Input::Utf8(bytes) => Input::Text(std::str::from_utf8(bytes).map_err(|e| {
                Error::new(
                    Status::InvalidUtf8,
                    format!("text is not valid UTF-8 (bad byte at offset {})", e.valid_up_to()),
                )
            })?),
            other => other,
        };
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
            // Field by field: `pool_scope` borrows `unit.pool` until the end of the run.
            unit::rebuild_states(model, &mut unit.states, &mut unit.inputs)?;
            unit.dirty = false;
        }
        unit.dirty = true;
        crate::testing::checkpoint(&model.test_hooks);
        unit.dirty = false;

        // Preprocess into the unit's tensors.
        let (plan_index, slot, input_length, mut flags) = match input {
            Input::Text(text) => {
                let (plan, slot, Tokens { count, truncated }) =
                    write_text(model, &mut unit.inputs, &mut self.ids, text)?;
                let mut flags = if truncated { FLAG_TRUNCATED } else { 0 };
                if text.is_empty() {
                    flags |= FLAG_EMPTY_INPUT;
                }
                (plan, slot, count, flags)
            }
            Input::Tensor(values) => {
                write_values(&mut unit.inputs[0][0], |dst| fill_from_f32(dst, values))?;
                (0, 0, values.len(), 0)
            }
            Input::Utf8(_) => unreachable!("checked as UTF-8 above"),
            Input::Bytes(data) => {
                let features = model.bytes.as_ref().expect("bytes model has its features");
                let truncated = model::extract_byte_features(features, data, &mut self.byte_features);
                let values = &self.byte_features;
                write_values(&mut unit.inputs[0][0], |dst| fill_from_i32(dst, values))?;
                let mut flags = if truncated { FLAG_TRUNCATED } else { 0 };
                if data.is_empty() {
                    flags |= FLAG_EMPTY_INPUT;
                }
                (0, 0, data.len(), flags)
            }
        };
        unit.last_slot = slot;

        // Run: the first run of this unit's plan on this thread goes to the system allocator,
        // so that tract's per-thread buffers never live in the pool.
        let warm = unit.pool.is_some() && unit::thread_has_run(unit.id, plan_index);
        let system_scope = (!warm).then(PoolScope::system);
        if !warm {
            flags |= FLAG_UNPOOLED;
        }
        unit.dirty = true;
        let outputs = run(model, &mut unit.states[plan_index], &unit.inputs[slot])?;
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
            latency: crate::testing::reported_latency(&model.test_hooks, start.elapsed()),
            flags,
            input_length,
        })
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

pub(crate) fn check_tensor(model: &ModelInner, values: &[f32]) -> Result<()> {
    if values.len() != model.example_len {
        return fail(Status::InputShape, format!("the model takes {} values, got {}", model.example_len, values.len()));
    }
    let refused = |v: &f32| v.is_infinite() || (v.is_nan() && !model.handles_missing);
    if let Some(i) = values.iter().position(refused) {
        let why = if values[i].is_nan() {
            "; this model has no rule for missing values (tree ensembles and NaN imputers have)"
        } else {
            ""
        };
        return fail(Status::InputNotFinite, format!("value {i} is {}{why}", values[i]));
    }
    Ok(())
}

/// Tokenizes `text` into `ids` and writes them into a unit's input set (of `inputs`) for them; returns the plan
/// to run, the input set (see `unit::input_slot`) and the tokens.
pub(crate) fn write_text(
    model: &ModelInner,
    inputs: &mut [Vec<Arc<tract_onnx::prelude::Tensor>>],
    ids: &mut [i64],
    text: &str,
) -> Result<(usize, usize, Tokens)> {
    let encoder = model.text.as_ref().expect("text model has an encoder");
    let tokens = encoder.encode(text, ids)?;
    let plan = pick_plan(model, tokens.count.max(1));
    let slot = unit::input_slot(model, plan, tokens.count);
    write_text_inputs(&model.inputs, &mut inputs[slot], &ids[..tokens.count], encoder.pad_id())?;
    Ok((plan, slot, tokens))
}

/// The smallest plan whose length holds `tokens` (the last one otherwise).
pub(crate) fn pick_plan(model: &ModelInner, tokens: usize) -> usize {
    model.plans.iter().position(|p| p.length >= tokens).unwrap_or(model.plans.len() - 1)
}

impl Session {
    /// Benchmark hook: run plan `plan` again on the inputs the last request left in the
    /// session's tensors (inference only: no preprocessing, no postprocessing), in the pool.
    /// With exact lengths those are the last request's own input set, whatever `plan` is.
    #[doc(hidden)]
    pub fn rerun_plan(&mut self, plan: usize) -> Result<()> {
        let model = Arc::clone(&self.model.inner);
        let unit = self.unit.as_mut().expect("a live session always holds its unit");
        let _scope = unit.pool.as_ref().map(PoolScope::enter);
        let index = plan.min(unit.states.len() - 1);
        let slot = if model.exact_lengths { unit.last_slot } else { index };
        drop(run(&model, &mut unit.states[index], &unit.inputs[slot])?);
        Ok(())
    }
}
