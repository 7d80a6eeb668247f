//! Binarizer: `y = 1 if x > threshold else 0`, as skl2onnx writes a Binarizer (e.g. in front of a
//! BernoulliNB). Expanded into tract-core's greater-than and a cast to f32.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cast::cast;
use tract_onnx::tract_core::ops::logic::comp_gt;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::logic::wire_with_rank_broadcast;
use tract_onnx::Onnx;

use super::to_f32;

pub(super) fn register(onnx: &mut Onnx) {
    onnx.op_register.insert("Binarizer", binarizer);
}

/// The op: its threshold's bits (so that it is `Eq` and `Hash`).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Binarizer {
    threshold_bits: u32,
}

fn binarizer(_: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let threshold: f32 = node.get_attr_opt("threshold")?.unwrap_or(0.0);
    Ok((expand(Binarizer { threshold_bits: threshold.to_bits() }), vec![]))
}

impl Expansion for Binarizer {
    fn name(&self) -> StaticName {
        "Binarizer".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        super::unary_f32_rules(s, inputs, outputs)
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let x = to_f32(prefix, model, inputs[0])?;
        let threshold =
            model.add_const(format!("{prefix}.threshold"), rctensor0(f32::from_bits(self.threshold_bits)))?;
        let above =
            wire_with_rank_broadcast(format!("{prefix}.gt"), model, TypedBinOp(comp_gt(), None), &[x, threshold])?[0];
        model.wire_node(format!("{prefix}.to_f32"), cast(f32::datum_type()), &[above])
    }
}
