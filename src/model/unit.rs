//! A session's *unit*: the tract states (one per plan), the input tensors they read and the
//! memory pool, made once and recycled through the model (a dropped session gives its unit back;
//! the next session takes it). tract keeps per-thread matmul scratch keyed by the state's
//! identity, so reusing states keeps that scratch bounded however often the host creates
//! sessions or moves them between threads. The model's first unit is made at load time: its
//! warm-up is the load's check that every plan runs.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tract_onnx::prelude::*;

use super::tensors::{plan_inputs, run, write_ints, write_text_inputs, write_values};
use super::tract_state::TractState;
use super::{InputKind, ModelInner, Plan};
use crate::alloc::{self, Pool, PoolScope};
use crate::error::{fail, Error, Result, Status};

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

/// Preallocated per-session scratch; recycled through the model (see the module docs).
pub(crate) struct Unit {
    pub(crate) id: u64,
    pub(crate) states: Vec<TractState>,
    /// `inputs[slot][input]`: the tensors fed to the plans, rewritten in place per request; a
    /// slot per token count with exact lengths, else per plan (see [`input_slot`]).
    pub(crate) inputs: Vec<Vec<Arc<Tensor>>>,
    /// The slot the last request wrote (for `Session::rerun_plan`).
    pub(crate) last_slot: usize,
    pub(crate) pool: Option<Pool>,
    /// Set while a request runs; still set afterwards means the request panicked or tract
    /// failed midway, and the states are rebuilt before the next use.
    pub(crate) dirty: bool,
}

static NEXT_UNIT_ID: AtomicU64 = AtomicU64::new(1);

/// The input set a request of `tokens` tokens (text; 1 for other inputs) runs on with plan
/// `plan`: its own length's with exact lengths, else the plan's (padded to its length).
pub(crate) fn input_slot(model: &ModelInner, plan: usize, tokens: usize) -> usize {
    if model.exact_lengths {
        tokens.clamp(1, model.max_tokens) - 1
    } else {
        plan
    }
}

pub(crate) fn pool_matches(unit: &Unit, mode: PoolMode) -> bool {
    match (mode, &unit.pool) {
        (PoolMode::Off, None) => true,
        (PoolMode::Auto, Some(_)) => true,
        (PoolMode::Auto, None) => !alloc::router_installed(),
        (PoolMode::Bytes(n), Some(pool)) => pool.stats().capacity == n.next_multiple_of(4096),
        _ => false,
    }
}

pub(crate) fn spawn_states(model: &ModelInner) -> Result<Vec<TractState>> {
    model
        .plans
        .iter()
        .map(|p| TractState::new(&p.runnable).map_err(|e| Error::tract(Status::Inference, "creating a tract state", e)))
        .collect()
}

pub(crate) fn rebuild_states(
    model: &ModelInner,
    states: &mut Vec<TractState>,
    inputs: &mut Vec<Vec<Arc<Tensor>>>,
) -> Result<()> {
    let _system = PoolScope::system();
    *states = spawn_states(model)?;
    *inputs = plan_inputs(model)?;
    Ok(())
}

/// A warm-up run: plan `index` on input set `slot` (of a unit's states and inputs), its answer checked (one float score vector
/// per example, of `width` values when one is expected, no input kept by the state). Returns the
/// width; a failed run is `ModelUnsupported` with the message `unrunnable` words from tract's.
fn checked_run(
    model: &ModelInner,
    (states, inputs): (&mut [TractState], &[Vec<Arc<Tensor>>]),
    index: usize,
    slot: usize,
    width: Option<usize>,
    unrunnable: impl FnOnce(&str) -> String,
) -> Result<usize> {
    let outputs = run(model, &mut states[index], &inputs[slot])
        .map_err(|e| Error::new(Status::ModelUnsupported, unrunnable(e.message())))?;
    let n = check_output(model, &outputs)?;
    drop(outputs);
    check_reuse(&model.plans[index], &inputs[slot])?;
    if n == 0 || width.is_some_and(|w| w != n) {
        return fail(
            Status::ModelUnsupported,
            format!("output {:?} changes size with the input length: not a classifier", model.output_name),
        );
    }
    Ok(n)
}

/// Checks the output of a plan's load-time run; returns its width (values per example).
fn check_output(model: &ModelInner, outputs: &TVec<TValue>) -> Result<usize> {
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
    Ok(output.len())
}

/// A session reuses one tract state and rewrites its input tensors in place for every request:
/// refuse a plan whose state still holds an input after its run (a Scan passing its input
/// through as its state does), since no request after the first could write it.
fn check_reuse(plan: &Plan, tensors: &[Arc<Tensor>]) -> Result<()> {
    if tensors.iter().all(|t| Arc::strong_count(t) == 1) {
        return Ok(());
    }
    let loops: Vec<String> = plan
        .runnable
        .model()
        .nodes
        .iter()
        .map(|node| node.op().name().to_string())
        .filter(|name| name.contains("Scan") || name.contains("Loop"))
        .collect();
    fail(
        Status::ModelUnsupported,
        format!(
            "the model keeps a reference to its input after a run ({}), so every request after the first would \
             fail: not served yet",
            if loops.is_empty() { "an operator holds it".to_string() } else { loops.join(", ") }
        ),
    )
}

/// The model's first unit, made at load time: its warm-up is the load's proof that every plan
/// runs (and how many scores the model gives), its pool is sized for `PoolMode::Auto`, and it
/// waits in the model's spare units for the first session, which is then ready at once.
/// Returns the output width (values per example) and the unit.
pub(crate) fn first_unit(model: &ModelInner) -> Result<(usize, Unit)> {
    let (unit, width) = make_unit(model, PoolMode::Auto, true)?;
    let width = width.ok_or_else(|| Error::new(Status::ModelUnsupported, "the model has no plan"))?;
    Ok((width, unit))
}

/// A fresh unit: states, inputs, and a pool sized from a warm-up run of every plan.
pub(crate) fn new_unit(model: &ModelInner, mode: PoolMode) -> Result<Unit> {
    make_unit(model, mode, false).map(|(unit, _)| unit)
}

/// A unit for `mode`, and the output width when it warmed up. A unit without a pool
/// (`PoolMode::Off`, or `Auto` without the router) warms up only when `check` asks for it.
fn make_unit(model: &ModelInner, mode: PoolMode, check: bool) -> Result<(Unit, Option<usize>)> {
    let _system = PoolScope::system();
    let id = NEXT_UNIT_ID.fetch_add(1, Ordering::Relaxed);
    let mut unit =
        Unit { id, states: spawn_states(model)?, inputs: plan_inputs(model)?, last_slot: 0, pool: None, dirty: false };
    let router = alloc::router_installed();
    let pooled = match mode {
        PoolMode::Off => false,
        PoolMode::Auto => router,
        PoolMode::Bytes(_) if !router => {
            return fail(Status::InvalidArgument, "a pool needs alloc::PoolRouter as the global allocator")
        }
        PoolMode::Bytes(_) => true,
    };
    if !pooled {
        if !check {
            return Ok((unit, None));
        }
        let width = warm_up(model, &mut unit)?;
        settle_lengths(model, &mut unit, width)?;
        return Ok((unit, Some(width)));
    }
    let (bytes, width) = match mode {
        PoolMode::Bytes(n) => (n, warm_up(model, &mut unit)?),
        _ => {
            alloc::reset_thread_peak();
            let base = alloc::thread_stats().system_net_bytes;
            let width = warm_up(model, &mut unit)?;
            let peak = (alloc::thread_stats().system_peak_bytes - base).max(0) as usize;
            ((2 * peak + 256 * 1024).clamp(alloc::MIN_POOL_BYTES, alloc::MAX_POOL_BYTES), width)
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
    settle_lengths(model, &mut unit, width)?;
    Ok((unit, Some(width)))
}

/// Text models that run each request at its own length (`ModelInner::exact_lengths`): a bucket's
/// state will run at lengths its warm-up did not. Runs at a length below the bucket's, in the
/// unit's pool when it has one: the first, a single token on the first plan, proves that the graph
/// answers unpadded (the same width as the warm-up's). When that run touched the system allocator
/// (a state that keeps shape-sized buffers between runs, as tract's int8 products do, freed the
/// warm-up's), every other plan gets the same run, so that no request later frees a block the
/// warm-up made outside the pool.
fn settle_lengths(model: &ModelInner, unit: &mut Unit, width: usize) -> Result<()> {
    let Some(encoder) = model.text.as_ref().filter(|_| model.exact_lengths) else {
        return Ok(());
    };
    let pad = encoder.pad_id();
    let ids = vec![pad; model.max_tokens];
    for index in 0..model.plans.len() {
        let length = if index == 0 { 1 } else { model.plans[index - 1].length + 1 };
        let slot = input_slot(model, index, length);
        write_text_inputs(&model.inputs, &mut unit.inputs[slot], &ids[..length], pad)?;
        let calls_before = alloc::thread_stats().system_calls;
        let scope = unit.pool.as_ref().map(PoolScope::enter);
        let checked = checked_run(model, (&mut unit.states, &unit.inputs), index, slot, Some(width), |e| {
            format!(
                "the model does not run on a text shorter than its bucket, at length {length} ({e}): load it with \
                 plan_per_bucket, which pads every text to its bucket"
            )
        });
        drop(scope);
        checked?;
        let touched = alloc::thread_stats().system_calls != calls_before;
        if index == 0 && !touched {
            break;
        }
    }
    Ok(())
}

/// One worst-case request on every plan (the longest input each can get), outside any pool:
/// the tokenizer's worst cases, then each plan once. Checks what each plan returns (one score
/// vector per example, floats, the same width at every length, no input kept by the state) and
/// returns the width. The thread this runs on counts as warmed for every plan of the unit.
pub(crate) fn warm_up(model: &ModelInner, unit: &mut Unit) -> Result<usize> {
    let mut ids = vec![0i64; model.max_tokens];
    if let Some(encoder) = &model.text {
        // The tokenizer's worst cases: many one-letter words, punctuation, multi-byte text.
        let n = encoder.max_text_bytes();
        for unit_text in ["a ", "!", "\u{00e9}", "\u{1F525}"] {
            let text = unit_text.repeat(n / unit_text.len() + 1);
            encoder.encode(&text, &mut ids)?;
        }
    }
    let mut width = None;
    for (index, plan) in model.plans.iter().enumerate() {
        let slot = input_slot(model, index, plan.length);
        match model.kind {
            InputKind::Text => {
                let pad = model.text.as_ref().map(|t| t.pad_id()).unwrap_or(0);
                ids.iter_mut().for_each(|v| *v = pad);
                write_text_inputs(&model.inputs, &mut unit.inputs[slot], &ids[..plan.length], pad)?;
            }
            _ => write_values(&mut unit.inputs[slot][0], |t| write_ints(t, |_| 0))?,
        }
        let length = plan.length;
        width = Some(checked_run(model, (&mut unit.states, &unit.inputs), index, slot, width, |e| {
            format!("the model does not run at length {length}: {e}")
        })?);
        thread_has_run(unit.id, index);
    }
    width.ok_or_else(|| Error::new(Status::ModelUnsupported, "the model has no plan"))
}

const WARM_SLOTS: usize = 64;

thread_local! {
    /// (unit id << 8 | plan index) pairs whose first run on this thread already happened;
    /// a small ring, so a thread that serves many units forgets the oldest (which then just
    /// run once more outside the pool).
    static WARM: RefCell<([u64; WARM_SLOTS], usize)> = const { RefCell::new(([0; WARM_SLOTS], 0)) };
}

/// True if this (unit, plan) already ran on this thread; records it otherwise.
pub(crate) fn thread_has_run(unit: u64, plan: usize) -> bool {
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
