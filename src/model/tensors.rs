//! tract I/O for a request: input tensors written in place, a state run, the output read.

use std::sync::Arc;

use tract_linalg::multithread::multithread_tract_scope;
use tract_onnx::prelude::*;

use super::tract_state::TractState;
use super::{InputRole, InputSpec, ModelInner};
use crate::error::{fail, Error, Result, Status};

pub(crate) fn run(model: &ModelInner, state: &mut TractState, inputs: &[Arc<Tensor>]) -> Result<TVec<TValue>> {
    let values: TVec<TValue> = inputs.iter().map(|t| TValue::from_const(Arc::clone(t))).collect();
    // Installing the executor per thread also keeps tract from locking its global default
    // executor mutex on every matmul.
    multithread_tract_scope(model.executor.clone(), || state.run(values))
        .map_err(|e| Error::tract(Status::Inference, "running the model", e))
}

/// Copy the output (rows × width values) into `raw`.
pub(crate) fn copy_output(outputs: &TVec<TValue>, rows: usize, raw: &mut [f32]) -> Result<()> {
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
pub(crate) fn write_values(tensor: &mut Arc<Tensor>, fill: impl FnOnce(&mut Tensor) -> Result<()>) -> Result<()> {
    let tensor =
        Arc::get_mut(tensor).ok_or_else(|| Error::new(Status::Inference, "input tensor still referenced by tract"))?;
    fill(tensor)
}

/// Write the caller's f32 features into the model's input tensor, converting in place to the
/// type the graph takes: f64 exactly, integers only when every value is a whole number in range
/// (`InvalidArgument` naming the first that is not, nothing written).
pub(crate) fn fill_from_f32(dst: &mut Tensor, values: &[f32]) -> Result<()> {
    let dt = dst.datum_type();
    match dt {
        DatumType::I64 | DatumType::I32 => check_whole(values, dt)?,
        _ => {}
    }
    let mut view = dst.try_as_plain_ram_mut().map_err(|e| Error::tract(Status::Inference, "input", e))?;
    macro_rules! convert {
        ($t:ty) => {{
            let slice = view.as_slice_mut::<$t>().map_err(|e| Error::tract(Status::Inference, "input", e))?;
            for (slot, &v) in slice.iter_mut().zip(values) {
                *slot = v as $t;
            }
        }};
    }
    match dt {
        DatumType::F32 => {
            view.as_slice_mut::<f32>().map_err(|e| Error::tract(Status::Inference, "input", e))?.copy_from_slice(values)
        }
        DatumType::F64 => convert!(f64),
        DatumType::I64 => convert!(i64),
        DatumType::I32 => convert!(i32),
        other => return fail(Status::ModelUnsupported, format!("tensor input of type {other:?}")),
    }
    Ok(())
}

/// Every value is a whole number that `dt` (an integer type) holds.
fn check_whole(values: &[f32], dt: DatumType) -> Result<()> {
    let limit = if dt == DatumType::I32 { 2f32.powi(31) } else { 2f32.powi(63) };
    match values.iter().position(|v| v.fract() != 0.0 || !(-limit..limit).contains(v)) {
        None => Ok(()),
        Some(i) => fail(
            Status::InvalidArgument,
            format!(
                "feature {i} is {}, but the model takes whole numbers ({dt:?} input): pass integral values",
                values[i]
            ),
        ),
    }
}

pub(crate) fn fill_from_i32(dst: &mut Tensor, values: &[i32]) -> Result<()> {
    write_ints(dst, |i| i64::from(values[i]))
}

/// Write `value(position)` into every element of an integer or float tensor.
pub(crate) fn write_ints(dst: &mut Tensor, value: impl Fn(usize) -> i64) -> Result<()> {
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
        DatumType::F64 => fill!(f64),
        other => return fail(Status::ModelUnsupported, format!("input type {other:?}")),
    }
    Ok(())
}

pub(crate) fn write_text_inputs(
    specs: &[InputSpec],
    tensors: &mut [Arc<Tensor>],
    ids: &[i64],
    pad_id: i64,
) -> Result<()> {
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
pub(crate) fn batch_tensor(
    model: &ModelInner,
    n: usize,
    fill: impl FnOnce(&mut Tensor) -> Result<()>,
) -> Result<Tensor> {
    let shape: Vec<usize> = std::iter::once(n).chain(model.example_shape.iter().copied()).collect();
    let mut t = Tensor::zero_dt(model.inputs[0].datum_type, &shape)
        .map_err(|e| Error::tract(Status::Inference, "batch input", e))?;
    fill(&mut t)?;
    Ok(t)
}

/// A unit's input sets, zero-filled: with exact lengths one per token count (1..=max_tokens),
/// otherwise one per plan in the shape it takes (see `unit::input_slot`).
pub(crate) fn plan_inputs(model: &ModelInner) -> Result<Vec<Vec<Arc<Tensor>>>> {
    let lengths: Vec<usize> = if model.exact_lengths {
        (1..=model.max_tokens).collect()
    } else {
        model.plans.iter().map(|plan| plan.length).collect()
    };
    lengths
        .into_iter()
        .map(|length| {
            model
                .inputs
                .iter()
                .map(|spec| {
                    let shape: Vec<usize> = match spec.role {
                        InputRole::Features => std::iter::once(1).chain(model.example_shape.iter().copied()).collect(),
                        _ => vec![1, length],
                    };
                    Tensor::zero_dt(spec.datum_type, &shape)
                        .map(Arc::new)
                        .map_err(|e| Error::tract(Status::Inference, "allocating inputs", e))
                })
                .collect()
        })
        .collect()
}
