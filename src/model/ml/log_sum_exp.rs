//! ReduceLogSumExp computed stably: `max + ln Σ exp(x − max)`, as onnxruntime does. tract 0.23
//! computes `ln Σ exp(x)`, which overflows or underflows to infinities on the log-likelihoods of
//! naive Bayes exports (scikit-learn's MultinomialNB on 64 pixel counts gives −500: every answer
//! was NaN). Axes come from the attribute (before opset 18) or the constant second input.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::math;
use tract_onnx::tract_core::ops::nn::{Reduce as CoreReduce, Reducer as CoreReducer};
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::nn::{Reduce, Reducer};
use tract_onnx::Onnx;

pub(super) fn register(onnx: &mut Onnx) {
    onnx.op_register.insert("ReduceLogSumExp", log_sum_exp);
}

/// The op: where its axes come from, and whether reduced axes stay (as size 1).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct LogSumExp {
    /// `Some`: the attribute's axes (opset < 18; `None` inside: every axis).
    attribute_axes: Option<Option<Vec<i64>>>,
    keep_dims: bool,
    noop_with_empty_axes: bool,
}

fn log_sum_exp(ctx: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let keep_dims = node.get_attr_opt("keepdims")?.unwrap_or(1i64) == 1;
    let noop_with_empty_axes = node.get_attr_opt("noop_with_empty_axes")?.unwrap_or(0i64) == 1;
    let attribute_axes = if ctx.onnx_operator_set_version >= 18 {
        if node.input.len() < 2 {
            Some(None)
        } else {
            None
        }
    } else {
        Some(node.get_attr_opt_vec("axes")?)
    };
    Ok((expand(LogSumExp { attribute_axes, keep_dims, noop_with_empty_axes }), vec![]))
}

impl LogSumExp {
    /// tract's reduction with the same axes: its shape rules are the ones this op keeps.
    fn shape_of(&self, axes: Option<Vec<i64>>) -> Reduce {
        Reduce::new(axes, self.keep_dims, Reducer::LogSumExp)
    }

    fn axes_from_input(&self, axes: Vec<i64>, rank: usize) -> Option<Vec<i64>> {
        if axes.is_empty() && !self.noop_with_empty_axes {
            Some((0..rank as i64).collect())
        } else {
            Some(axes)
        }
    }
}

impl Expansion for LogSumExp {
    fn name(&self) -> StaticName {
        "ReduceLogSumExp".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, if self.attribute_axes.is_some() { 1 } else { 2 })?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        match &self.attribute_axes {
            Some(axes) => {
                let reduce = self.shape_of(axes.clone());
                s.given(&inputs[0].shape, move |s, shape| s.equals(&outputs[0].shape, reduce.output_shape(&shape)))
            }
            None => s.given_2(&inputs[0].shape, &inputs[1].value, move |s, shape, axes| {
                let axes = axes.cast_to::<i64>()?.try_as_plain_ram()?.as_slice::<i64>()?.to_vec();
                let reduce = self.shape_of(self.axes_from_input(axes, shape.len()));
                s.equals(&outputs[0].shape, reduce.output_shape(&shape))
            }),
        }
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let rank = model.outlet_fact(inputs[0])?.rank();
        let axes = match &self.attribute_axes {
            Some(axes) => axes.clone(),
            None => {
                let fact = model.outlet_fact(inputs[1])?;
                let konst = fact.konst.as_ref().context("ReduceLogSumExp: the axes must be a constant")?;
                let axes = konst.cast_to::<i64>()?.try_as_plain_ram()?.as_slice::<i64>()?.to_vec();
                self.axes_from_input(axes, rank)
            }
        };
        let mut axes: Vec<usize> = match axes {
            None => (0..rank).collect(),
            Some(axes) => axes
                .iter()
                .map(|&a| {
                    let a = if a < 0 { a + rank as i64 } else { a };
                    usize::try_from(a).ok().filter(|&a| a < rank).context("ReduceLogSumExp: axis out of range")
                })
                .collect::<TractResult<_>>()?,
        };
        axes.sort_unstable();
        axes.dedup();
        let x = inputs[0];
        if axes.is_empty() {
            return Ok(tvec!(x));
        }
        // Reductions keep the reduced axes (size 1), so max broadcasts against x.
        let max =
            model.wire_node(format!("{prefix}.max"), CoreReduce::new(axes.clone().into(), CoreReducer::Max), &[x])?;
        let shifted = model.wire_node(format!("{prefix}.shift"), math::sub(), &[x, max[0]])?;
        let exp = model.wire_node(format!("{prefix}.exp"), math::exp(), &shifted)?;
        let sum =
            model.wire_node(format!("{prefix}.sum"), CoreReduce::new(axes.clone().into(), CoreReducer::Sum), &exp)?;
        let ln = model.wire_node(format!("{prefix}.ln"), math::ln(), &sum)?;
        let mut y = model.wire_node(format!("{prefix}.add_max"), math::add(), &[ln[0], max[0]])?;
        if !self.keep_dims {
            for &axis in axes.iter().rev() {
                y = model.wire_node(format!("{prefix}.rm{axis}"), AxisOp::Rm(axis), &y)?;
            }
        }
        Ok(y)
    }
}
