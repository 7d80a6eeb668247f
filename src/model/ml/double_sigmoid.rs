//! Sigmoid over double values, as skl2onnx writes a LogisticRegression exported with a float64
//! input: tract's sigmoid takes f32 (and f16) only. A double input is cast to f32, put through
//! tract's sigmoid and cast back (the scores the runtime serves are f32 anyway); other inputs go
//! to tract's sigmoid as before.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_core::ops::cast::cast;
use tract_onnx::tract_core::ops::nn::sigmoid;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::Onnx;

use super::to_f32;

pub(super) fn register(onnx: &mut Onnx) {
    onnx.op_register.insert("Sigmoid", |_: &ParsingContext, _: &NodeProto| Ok((expand(Sigmoid), vec![])));
}

/// The op: element-wise logistic function, any float type.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Sigmoid;

impl Expansion for Sigmoid {
    fn name(&self) -> StaticName {
        "Sigmoid".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        Ok(())
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let dt = model.outlet_fact(inputs[0])?.datum_type;
        if dt != f64::datum_type() {
            return model.wire_node(prefix, sigmoid(), inputs);
        }
        let x = to_f32(prefix, model, inputs[0])?;
        let y = model.wire_node(format!("{prefix}.sigmoid"), sigmoid(), &[x])?;
        model.wire_node(format!("{prefix}.to_f64"), cast(f64::datum_type()), &y)
    }
}
