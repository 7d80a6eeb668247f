//! OneHotEncoder (ai.onnx.ml): each input value becomes a row of `len(cats_int64s)` floats, 1 where
//! the value is that category, as skl2onnx writes scikit-learn's OneHotEncoder (per column, after
//! a Gather, in a ColumnTransformer). Output shape: the input's, plus one axis of categories.
//!
//! Semantics are onnxruntime's: a float or double value is truncated to an integer before it is
//! looked up (`static_cast<int64_t>`); a value outside the categories gives a row of zeros when
//! `zeros` is 1 (scikit-learn's `handle_unknown="ignore"`, the default here) and is an error when
//! it is 0. String categories (`cats_strings`) need a string input, which a tensor model does not
//! take: refused at load, naming the way out.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::Onnx;

pub(super) fn register(onnx: &mut Onnx) {
    onnx.op_register.insert("OneHotEncoder", one_hot_encoder);
}

/// The categories in the order of the output axis, and whether an unknown value is zeros (or an
/// error).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct OneHotEncoder {
    categories: Vec<i64>,
    zeros: bool,
}

fn one_hot_encoder(_: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    if node.get_attr_opt_vec::<String>("cats_strings")?.is_some_and(|c| !c.is_empty()) {
        bail!(
            "OneHotEncoder: string categories (cats_strings) need a string input, which a feature model does not \
             take; encode the categories as numbers before the model and export the encoder with integer categories"
        );
    }
    let categories = node
        .get_attr_opt_vec::<i64>("cats_int64s")?
        .filter(|c| !c.is_empty())
        .ok_or_else(|| format_err!("OneHotEncoder: no categories (cats_int64s)"))?;
    let zeros = node.get_attr_opt::<i64>("zeros")?.unwrap_or(1) != 0;
    Ok((expand(OneHotEncoder { categories, zeros }), vec![]))
}

impl OneHotEncoder {
    /// The output position of `value`'s category, if it has one.
    fn position(&self, value: i64) -> Option<usize> {
        self.categories.iter().position(|&c| c == value)
    }

    /// Writes one row of `categories.len()` values per input value into `out` (zeroed).
    fn encode(&self, values: impl Iterator<Item = i64>, out: &mut [f32]) -> TractResult<()> {
        let width = self.categories.len();
        for (value, row) in values.zip(out.chunks_exact_mut(width)) {
            match self.position(value) {
                Some(j) => row[j] = 1.0,
                None if self.zeros => {}
                None => bail!(
                    "OneHotEncoder: value {value} is not one of the {width} categories it was fitted on (zeros=0; \
                     export scikit-learn's OneHotEncoder with handle_unknown=\"ignore\" to encode it as zeros)"
                ),
            }
        }
        Ok(())
    }
}

impl Op for OneHotEncoder {
    fn name(&self) -> StaticName {
        "OneHotEncoder".into()
    }

    op_as_typed_op!();
}

impl EvalOp for OneHotEncoder {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let mut shape: TVec<usize> = input.shape().into();
        shape.push(self.categories.len());
        let mut output = Tensor::zero::<f32>(&shape)?;
        {
            let mut view = output.try_as_plain_ram_mut()?;
            let out = view.as_slice_mut::<f32>()?;
            let plain = input.try_as_plain_ram()?;
            // onnxruntime's lookup: floats truncated toward zero (Rust's `as` saturates where C++
            // would be undefined, outside the i64 range no category lies anyway).
            match input.datum_type() {
                DatumType::F32 => self.encode(plain.as_slice::<f32>()?.iter().map(|&v| v as i64), out)?,
                DatumType::F64 => self.encode(plain.as_slice::<f64>()?.iter().map(|&v| v as i64), out)?,
                DatumType::I64 => self.encode(plain.as_slice::<i64>()?.iter().copied(), out)?,
                DatumType::I32 => self.encode(plain.as_slice::<i32>()?.iter().map(|&v| i64::from(v)), out)?,
                // tract runs ONNX's Cast to int64 as integer dimensions.
                DatumType::TDim => {
                    self.encode(plain.as_slice::<TDim>()?.iter().map(|d| d.to_i64().unwrap_or(i64::MIN)), out)?
                }
                other => bail!("OneHotEncoder: input of type {other:?} (float, double, int64 or int32 expected)"),
            }
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for OneHotEncoder {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut shape: TVec<TDim> = inputs[0].shape.iter().cloned().collect();
        shape.push(self.categories.len().to_dim());
        Ok(tvec!(f32::fact(shape)))
    }

    as_op!();
}

/// The ONNX node: the typed op itself, with the shape rules of an appended category axis.
impl Expansion for OneHotEncoder {
    fn name(&self) -> StaticName {
        "OneHotEncoder".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        super::one_in_f32_out_rules(s, inputs, outputs)?;
        s.equals(&outputs[0].rank, inputs[0].rank.bex() + 1)?;
        let width = self.categories.len().to_dim();
        s.given(&inputs[0].rank, move |s, rank| {
            let rank = rank as usize;
            for axis in 0..rank {
                s.equals(&outputs[0].shape[axis], &inputs[0].shape[axis])?;
            }
            s.equals(&outputs[0].shape[rank], width.clone())
        })
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, self.clone(), inputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_rows_and_unknown_values_follow_zeros() {
        let encoder = OneHotEncoder { categories: vec![0, 2, 5], zeros: true };
        let mut out = [0.0f32; 9];
        encoder.encode([2i64, 7, 0].into_iter(), &mut out).unwrap();
        assert_eq!(out, [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
        // floats truncate toward zero, as onnxruntime's static_cast does
        let input = tensor2(&[[5.9f32, 2.2]]).into_tvalue();
        let output = encoder.eval_out_of_plan(tvec!(input)).unwrap().unwrap();
        assert_eq!(output[0].shape(), &[1, 2, 3]);
        let view = output[0].to_plain_array_view::<f32>().unwrap();
        assert_eq!(view.as_slice().unwrap(), &[0.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
        let strict = OneHotEncoder { categories: vec![0, 2, 5], zeros: false };
        let err = strict.encode([7i64].into_iter(), &mut [0.0; 3]).unwrap_err().to_string();
        assert!(err.contains("value 7") && err.contains("handle_unknown"), "{err}");
    }
}
