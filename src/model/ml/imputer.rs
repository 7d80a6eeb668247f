//! Imputer: replaces missing values by per-feature (or one) imputed values, as skl2onnx writes a
//! SimpleImputer. "Missing" is NaN when `replaced_value_float` is NaN (scikit-learn's default),
//! else the elements equal to it. Expanded into tract-core ops: a mask (is-NaN or equality), then
//! a select between the imputed constants and the input. Integer imputation
//! (`imputed_value_int64s`) is refused with a message naming it.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::logic::{comp_eq, Iff};
use tract_onnx::tract_core::ops::math;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::logic::wire_with_rank_broadcast;
use tract_onnx::Onnx;

use super::{check_feature_len, to_f32};

pub(super) fn register(onnx: &mut Onnx) {
    onnx.op_register.insert("Imputer", imputer);
}

/// The op: what replaces a missing value (per feature, or one), and what counts as missing.
#[derive(Debug, Clone, PartialEq)]
struct Imputer {
    imputed: Arc<Tensor>,
    /// `None`: NaN is missing.
    replaced: Option<f32>,
}

impl Eq for Imputer {}

impl std::hash::Hash for Imputer {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.imputed.hash(state);
        self.replaced.map(f32::to_bits).hash(state);
    }
}

fn imputer(_: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    if node.get_attr_opt_vec::<i64>("imputed_value_int64s")?.is_some_and(|v| !v.is_empty()) {
        bail!("Imputer: integer imputation (imputed_value_int64s) is not supported; export float features");
    }
    let imputed = node
        .get_attr_opt_vec::<f32>("imputed_value_floats")?
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format_err!("Imputer: imputed_value_floats is missing"))?;
    let replaced: f32 = node.get_attr_opt("replaced_value_float")?.unwrap_or(0.0);
    let replaced = (!replaced.is_nan()).then_some(replaced);
    Ok((expand(Imputer { imputed: rctensor1(&imputed), replaced }), vec![]))
}

impl Expansion for Imputer {
    fn name(&self) -> StaticName {
        "Imputer".into()
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
        check_feature_len("Imputer", "imputed_value_floats", self.imputed.len(), &fact)?;
        let x = to_f32(prefix, model, inputs[0])?;
        let missing = match self.replaced {
            None => model.wire_node(format!("{prefix}.is_nan"), math::is_nan(), &[x])?[0],
            Some(value) => {
                let value = model.add_const(format!("{prefix}.replaced"), rctensor0(value))?;
                wire_with_rank_broadcast(
                    format!("{prefix}.is_replaced"),
                    model,
                    TypedBinOp(comp_eq(), None),
                    &[x, value],
                )?[0]
            }
        };
        let imputed = model.add_const(format!("{prefix}.imputed"), self.imputed.clone())?;
        wire_with_rank_broadcast(format!("{prefix}.select"), model, Iff, &[missing, imputed, x])
    }
}
