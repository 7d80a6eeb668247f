//! Scaler: `y = (x - offset) * scale`, per feature (or one value for all), as skl2onnx writes a
//! StandardScaler, RobustScaler or MaxAbsScaler. Expanded into tract-core's broadcasting sub and
//! mul over constants; the output is f32 whatever the input type.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_core::ops::math;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::logic::wire_with_rank_broadcast;
use tract_onnx::Onnx;

use super::{check_feature_len, to_f32};

pub(super) fn register(onnx: &mut Onnx) {
    onnx.op_register.insert("Scaler", scaler);
}

/// The op: offsets and scales, each of length 1 or the feature count.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Scaler {
    offset: Arc<Tensor>,
    scale: Arc<Tensor>,
}

fn scaler(_: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let offset = super::floats_or(node, "offset", &[0.0])?;
    let scale = super::floats_or(node, "scale", &[1.0])?;
    if offset.is_empty() || scale.is_empty() {
        bail!("Scaler: offset and scale must not be empty");
    }
    Ok((expand(Scaler { offset: rctensor1(&offset), scale: rctensor1(&scale) }), vec![]))
}

impl Expansion for Scaler {
    fn name(&self) -> StaticName {
        "Scaler".into()
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
        let fact = model.outlet_fact(inputs[0])?.clone();
        check_feature_len("Scaler", "offset", self.offset.len(), &fact)?;
        check_feature_len("Scaler", "scale", self.scale.len(), &fact)?;
        let x = to_f32(prefix, model, inputs[0])?;
        let offset = model.add_const(format!("{prefix}.offset"), self.offset.clone())?;
        let scale = model.add_const(format!("{prefix}.scale"), self.scale.clone())?;
        let centred = wire_with_rank_broadcast(format!("{prefix}.sub"), model, math::sub(), &[x, offset])?[0];
        wire_with_rank_broadcast(format!("{prefix}.mul"), model, math::mul(), &[centred, scale])
    }
}
