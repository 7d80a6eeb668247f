//! The typed op and the inference-graph node shared by the classifiers this module evaluates
//! itself (tree ensembles, SVMs): a [`Scorer`] turns one row of features into one row of scores,
//! [`ScoreOp`] runs it over a batch into a fresh `[rows, width]` tensor, and
//! [`ClassifierExpansion`] gives the ONNX node its two outputs, the label (the index of the
//! largest score, as int64: the runtime reads label names from the graph, never this output) and
//! the scores.

use std::fmt::Debug;

use tract_onnx::tract_core::ops::cast::cast;
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::nn::{Reduce, Reducer};
use tract_onnx::tract_hir::internal::*;

use super::to_f32;

/// One row of features in, one row of scores out.
pub(crate) trait Scorer: Debug + Clone + PartialEq + Eq + Send + Sync + 'static {
    /// Buffers reused across the rows of one evaluation.
    type Scratch: Default;
    /// The ONNX operator's name.
    fn op_name(&self) -> &'static str;
    /// Features the scorer reads (a row may have more: a tree ensemble need not use every one).
    fn features(&self) -> usize;
    /// Whether rows of `width` values can be scored (default: at least `features()`).
    fn accepts(&self, width: usize) -> bool {
        width >= self.features()
    }
    /// Scores in an output row.
    fn width(&self) -> usize;
    /// Writes `width()` scores for the row `x` (`features()` values) into `out`.
    fn score(&self, x: &[f32], out: &mut [f32], scratch: &mut Self::Scratch);
}

/// The typed op: `[rows, features]` f32 in, `[rows, width]` f32 out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScoreOp<S>(pub S);

impl<S: Scorer> Op for ScoreOp<S> {
    fn name(&self) -> StaticName {
        self.0.op_name().into()
    }

    op_as_typed_op!();
}

impl<S: Scorer> EvalOp for ScoreOp<S> {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let input = input.cast_to::<f32>()?;
        let view = input.to_plain_array_view::<f32>()?;
        let rows = if view.ndim() == 1 { 1 } else { view.shape()[0] };
        let features = view.shape().last().copied().unwrap_or(0);
        if !self.0.accepts(features) {
            bail!("{}: rows of {features} values, the model reads {}", self.0.op_name(), self.0.features());
        }
        let values = view.as_slice().ok_or_else(|| format_err!("{}: the input is not contiguous", self.0.op_name()))?;
        let width = self.0.width();
        let mut output = Tensor::zero::<f32>(&[rows, width])?;
        {
            let mut out = output.try_as_plain_ram_mut()?;
            let out = out.as_slice_mut::<f32>()?;
            let mut scratch = S::Scratch::default();
            for (x, o) in values.chunks_exact(features.max(1)).zip(out.chunks_exact_mut(width)) {
                self.0.score(x, o, &mut scratch);
            }
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl<S: Scorer> TypedOp for ScoreOp<S> {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let rows = if inputs[0].rank() == 1 { 1.to_dim() } else { inputs[0].shape[0].clone() };
        Ok(tvec!(f32::fact([rows, self.0.width().to_dim()])))
    }

    as_op!();
}

/// The ONNX node: outputs label (int64 `[rows]`) and scores (f32 `[rows, width]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClassifierExpansion<S>(ScoreOp<S>);

impl<S: Scorer> ClassifierExpansion<S> {
    pub(crate) fn new(scorer: S) -> Self {
        ClassifierExpansion(ScoreOp(scorer))
    }
}

impl<S: Scorer> Expansion for ClassifierExpansion<S> {
    fn name(&self) -> StaticName {
        self.0 .0.op_name().into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(2)
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 2)?;
        s.equals(&inputs[0].rank, 2)?;
        s.equals(&outputs[0].datum_type, i64::datum_type())?;
        s.equals(&outputs[0].rank, 1)?;
        s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
        s.equals(&outputs[1].datum_type, f32::datum_type())?;
        s.equals(&outputs[1].rank, 2)?;
        s.equals(&outputs[1].shape[0], &inputs[0].shape[0])?;
        s.equals(&outputs[1].shape[1], self.0 .0.width().to_dim())?;
        Ok(())
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let width = model.outlet_fact(inputs[0])?.shape.last().and_then(|d| d.to_usize().ok());
        if let Some(width) = width.filter(|&w| !self.0 .0.accepts(w)) {
            bail!("{}: the input has {width} features, the model reads {}", self.0 .0.op_name(), self.0 .0.features());
        }
        let x = to_f32(prefix, model, inputs[0])?;
        let scores = model.wire_node(format!("{prefix}.scores"), self.0.clone(), &[x])?[0];
        let winner =
            model.wire_node(format!("{prefix}.argmax"), Reduce::new(tvec!(1), Reducer::ArgMax(false)), &[scores])?;
        let winner = model.wire_node(format!("{prefix}.rm_axis"), AxisOp::Rm(1), &winner)?;
        let label = model.wire_node(format!("{prefix}.label"), cast(i64::datum_type()), &winner)?[0];
        Ok(tvec!(label, scores))
    }
}
