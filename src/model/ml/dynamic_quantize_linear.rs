//! DynamicQuantizeLinear (standard ONNX; onnxruntime's `quantize_dynamic` puts one before every
//! MatMulInteger): a float tensor to uint8 with a scale and a zero point taken from its own range.
//! tract evaluates it one value at a time (a fold for the range, then a division and a
//! `round_ties_even` call per value, which is a library call on baseline x86_64): in the headline
//! model's int8 variant that took 26–30% of a run (BENCHMARKS.md, per-operator profile). This op
//! computes the same values in passes the compiler vectorizes: the range over 16 lanes, and the
//! rounding (half to even) by adding and subtracting 1.5·2²³, exact here since every quotient lies
//! within ±255.
//!
//! Semantics are tract's (which follows the ONNX definition): the range is extended to include 0
//! and NaN values are left out of it; scale = (max − min) / 255; zero point = round(−min / scale)
//! clamped to 0..=255; each value becomes clamp(round(x / scale) + zero point, 0, 255), a NaN
//! quotient counting as 0 (a NaN value becomes the zero point).

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::Onnx;

pub(super) fn register(onnx: &mut Onnx) {
    onnx.op_register.insert("DynamicQuantizeLinear", dynamic_quantize_linear);
}

fn dynamic_quantize_linear(_: &ParsingContext, _: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    Ok((expand(DynamicQuantizeLinear), vec![]))
}

/// The op: one float input; outputs the uint8 values, the scale (f32 scalar) and the zero point
/// (u8 scalar).
#[derive(Debug, Clone, Default, Hash, PartialEq, Eq)]
struct DynamicQuantizeLinear;

/// Lanes of the range pass: two AVX-512 or four AVX2 registers of f32.
const LANES: usize = 16;

/// The smallest and the largest value of `values` and 0 (NaN left out).
fn range(values: &[f32]) -> (f32, f32) {
    let mut low = [0f32; LANES];
    let mut high = [0f32; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for lane in 0..LANES {
            let v = chunk[lane];
            low[lane] = if v < low[lane] { v } else { low[lane] };
            high[lane] = if v > high[lane] { v } else { high[lane] };
        }
    }
    let (mut min, mut max) = (0f32, 0f32);
    for &v in low.iter().chain(rest) {
        min = if v < min { v } else { min };
    }
    for &v in high.iter().chain(rest) {
        max = if v > max { v } else { max };
    }
    (min, max)
}

/// The scale and zero point of a tensor whose range (0 included) is `min..=max`.
fn scale_and_zero_point(min: f32, max: f32) -> (f32, u8) {
    let scale = (max - min) / 255.0;
    let zero_point = (-min / scale).round_ties_even().clamp(0.0, 255.0);
    // A NaN zero point (an all-zero tensor: 0 / 0) is 0, as `f32::max` makes it in tract's.
    (scale, if zero_point.is_nan() { 0 } else { zero_point as u8 })
}

/// `round_ties_even(x / scale) + zero_point`, clamped to 0..=255, for every value.
fn quantize(values: &[f32], scale: f32, zero_point: u8, out: &mut [u8]) {
    // Adding then subtracting 1.5·2²³ rounds a float of magnitude below 2²² to the nearest
    // integer, ties to even (the default rounding mode of IEEE additions); every quotient here is
    // within ±255 (|x| <= max - min), or NaN/infinite for a NaN/infinite input.
    const ROUNDER: f32 = 12_582_912.0;
    let zero_point = f32::from(zero_point);
    for (x, y) in values.iter().zip(out.iter_mut()) {
        let rounded = (x / scale + ROUNDER) - ROUNDER;
        let rounded = if rounded.is_nan() { 0.0 } else { rounded };
        *y = (rounded + zero_point).clamp(0.0, 255.0) as u8;
    }
}

impl Op for DynamicQuantizeLinear {
    fn name(&self) -> StaticName {
        "DynamicQuantizeLinear".into()
    }

    op_as_typed_op!();
}

impl EvalOp for DynamicQuantizeLinear {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let plain = input.try_as_plain_ram()?;
        let values = plain.as_slice::<f32>()?;
        let (min, max) = range(values);
        let (scale, zero_point) = scale_and_zero_point(min, max);
        let mut output = Tensor::zero::<u8>(input.shape())?;
        {
            let mut view = output.try_as_plain_ram_mut()?;
            quantize(values, scale, zero_point, view.as_slice_mut::<u8>()?);
        }
        Ok(tvec!(output.into_tvalue(), tensor0(scale).into_tvalue(), tensor0(zero_point).into_tvalue()))
    }
}

impl TypedOp for DynamicQuantizeLinear {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(u8::fact(inputs[0].shape.clone()), f32::scalar_fact(), u8::scalar_fact()))
    }

    as_op!();
}

/// The ONNX node: the typed op itself.
impl Expansion for DynamicQuantizeLinear {
    fn name(&self) -> StaticName {
        "DynamicQuantizeLinear".into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(3)
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 3)?;
        s.equals(&inputs[0].datum_type, f32::datum_type())?;
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        s.equals(&outputs[0].datum_type, u8::datum_type())?;
        s.equals(&outputs[1].datum_type, f32::datum_type())?;
        s.equals(&outputs[1].rank, 0)?;
        s.equals(&outputs[2].datum_type, u8::datum_type())?;
        s.equals(&outputs[2].rank, 0)
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, self.clone(), inputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// tract's own evaluation, value by value (tract-onnx's `dynamic_quantize_linear_u8`): the
    /// reference this op must equal. Its zero point is `max` then `min`, as tract writes it: that
    /// order turns NaN into 0, where `clamp` would keep it.
    #[allow(clippy::manual_clamp)]
    fn reference(values: &[f32]) -> (Vec<u8>, f32, u8) {
        let (min, max) = values.iter().fold((0f32, 0f32), |(lo, hi), &v| {
            if v < lo {
                (v, hi)
            } else if v > hi {
                (lo, v)
            } else {
                (lo, hi)
            }
        });
        let scale = (max - min) / 255.0;
        let zero_point = (-min / scale).round_ties_even().max(0.0).min(255.0) as u8;
        let out = values
            .iter()
            .map(|&x| (((x / scale).round_ties_even() as i32) + zero_point as i32).clamp(0, 255) as u8)
            .collect();
        (out, scale, zero_point)
    }

    fn ours(values: &[f32]) -> (Vec<u8>, f32, u8) {
        let (min, max) = range(values);
        let (scale, zero_point) = scale_and_zero_point(min, max);
        let mut out = vec![0u8; values.len()];
        quantize(values, scale, zero_point, &mut out);
        (out, scale, zero_point)
    }

    #[test]
    fn the_onnx_examples() {
        // The ONNX operator documentation's three examples.
        let cases: [(&[f32], &[u8], u8); 3] = [
            (&[0., 2., -3., -2.5, 1.34, 0.5], &[153, 255, 0, 26, 221, 179], 153),
            (&[-1., -2.1, -1.3, -2.5, -3.34, -4.], &[191, 121, 172, 96, 42, 0], 255),
            (
                &[1., 2.1, 1.3, 2.5, 3.34, 4., 1.5, 2.6, 3.9, 4., 3., 2.345],
                &[64, 134, 83, 159, 213, 255, 96, 166, 249, 255, 191, 149],
                0,
            ),
        ];
        for (values, want, zero_point) in cases {
            let (out, _, zp) = ours(values);
            assert_eq!(out, want);
            assert_eq!(zp, zero_point);
        }
    }

    #[test]
    fn equals_tracts_evaluation_on_every_kind_of_input() {
        // Deterministic pseudo-random activations of many lengths (remainders of the 16 lanes),
        // ties on purpose (values on exact half steps), an all-zero tensor, one-signed tensors.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32
        };
        for len in [1usize, 7, 16, 17, 100, 384, 1536, 4099] {
            let mixed: Vec<f32> = (0..len).map(|_| next() * 8.0 - 3.0).collect();
            let positive: Vec<f32> = (0..len).map(|_| next() * 2.0).collect();
            let negative: Vec<f32> = (0..len).map(|_| -next()).collect();
            let ties: Vec<f32> = (0..len).map(|i| (i % 511) as f32 * 0.5 - 127.5).collect();
            for values in [mixed, positive, negative, ties, vec![0.0; len]] {
                let (a, b) = (ours(&values), reference(&values));
                assert_eq!(a.1.to_bits(), b.1.to_bits(), "scale, {len} values");
                assert_eq!(a.2, b.2, "zero point, {len} values");
                assert_eq!(a.0, b.0, "values, {len} values");
            }
        }
    }

    #[test]
    fn nan_values_are_left_out_of_the_range_and_quantize_to_the_zero_point() {
        let values = [1.0, f32::NAN, -1.0, 0.5];
        let (out, scale, zero_point) = ours(&values);
        assert_eq!((out.clone(), scale, zero_point), reference(&values));
        assert_eq!(out[1], zero_point);
    }
}
