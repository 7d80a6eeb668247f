//! The ai.onnx.ml operators that scikit-learn (skl2onnx), LightGBM and XGBoost (onnxmltools)
//! exports use and tract does not serve as those converters write them, one per file. Each is
//! registered on the ONNX framework as a parser ([`register`]) that builds an expansion into
//! tract-core ops (Scaler, Imputer, Binarizer), an identity (ZipMap), an evaluator of our own
//! (TreeEnsembleClassifier, SVMClassifier: [`classifier_op`]; OneHotEncoder), or tract's own op after
//! normalising the attributes the converters write (LinearClassifier). Four standard operators
//! are replaced where tract's falls short on the models served: Sigmoid over doubles, a stable
//! ReduceLogSumExp, the Scan that k-neighbours exports compute their distances with
//! ([`pairwise_distance`]; any other Scan is still tract's), and DynamicQuantizeLinear in
//! vectorized passes ([`dynamic_quantize_linear`], for int8 models from onnxruntime's
//! `quantize_dynamic`).
//!
//! The class labels such a graph carries (ZipMap's, else the classifier's) are found by
//! [`labels::class_labels`]: a model without a card still answers with its own labels.

pub(crate) mod binarizer;
pub(crate) mod classifier_op;
pub(crate) mod double_sigmoid;
pub(crate) mod dynamic_quantize_linear;
pub(crate) mod imputer;
pub(crate) mod labels;
pub(crate) mod linear_classifier;
pub(crate) mod log_sum_exp;
pub(crate) mod one_hot_encoder;
pub(crate) mod pairwise_distance;
pub(crate) mod scaler;
pub(crate) mod svm_classifier;
pub(crate) mod tree_ensemble;
pub(crate) mod zipmap;

use tract_onnx::tract_core::ops::cast::cast;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::Onnx;

/// Register every parser of this module on `onnx`, replacing tract's own where we wrap it.
pub(crate) fn register(onnx: &mut Onnx) {
    zipmap::register(onnx);
    double_sigmoid::register(onnx);
    log_sum_exp::register(onnx);
    scaler::register(onnx);
    imputer::register(onnx);
    binarizer::register(onnx);
    svm_classifier::register(onnx);
    linear_classifier::register(onnx);
    tree_ensemble::register(onnx);
    pairwise_distance::register(onnx);
    dynamic_quantize_linear::register(onnx);
    one_hot_encoder::register(onnx);
}

/// The initializer of `graph` named `name`.
pub(crate) fn initializer<'g>(
    graph: &'g tract_onnx::pb::GraphProto,
    name: &str,
) -> Option<&'g tract_onnx::pb::TensorProto> {
    graph.initializer.iter().find(|t| t.name == name)
}

/// The values of an int64 initializer (its `int64_data`, or little-endian `raw_data`); `None` for
/// another type or a ragged byte length.
pub(crate) fn int64_values(tensor: &tract_onnx::pb::TensorProto) -> Option<Vec<i64>> {
    if tensor.data_type != tract_onnx::pb::tensor_proto::DataType::Int64 as i32 {
        return None;
    }
    if !tensor.int64_data.is_empty() {
        return Some(tensor.int64_data.clone());
    }
    let chunks = tensor.raw_data.chunks_exact(8);
    if !chunks.remainder().is_empty() {
        return None;
    }
    Some(chunks.map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect())
}

/// A float attribute list, or `default` when the node does not have it.
pub(crate) fn floats_or(node: &tract_onnx::pb::NodeProto, name: &str, default: &[f32]) -> TractResult<Vec<f32>> {
    Ok(node.get_attr_opt_vec::<f32>(name)?.unwrap_or_else(|| default.to_vec()))
}

/// Casts `x` to f32 unless it is already (the ml ops take float, double and integer inputs).
pub(crate) fn to_f32(prefix: &str, model: &mut TypedModel, x: OutletId) -> TractResult<OutletId> {
    if model.outlet_fact(x)?.datum_type == f32::datum_type() {
        return Ok(x);
    }
    Ok(model.wire_node(format!("{prefix}.to_f32"), cast(f32::datum_type()), &[x])?[0])
}

/// Checks that a per-feature parameter of `len` values fits `x`'s last axis (1 or equal).
pub(crate) fn check_feature_len(op: &str, what: &str, len: usize, fact: &TypedFact) -> TractResult<()> {
    if len == 1 {
        return Ok(());
    }
    let last = fact.shape.last().and_then(|d| d.to_usize().ok());
    if last.is_some_and(|features| features != len) {
        bail!("{op}: {what} has {len} values but the input has {} features", last.unwrap_or(0));
    }
    Ok(())
}

/// The rules of an op with one input and one f32 output (its shape rules are the caller's).
pub(crate) fn one_in_f32_out_rules<'r, 'p: 'r>(
    s: &mut Solver<'r>,
    inputs: &'p [TensorProxy],
    outputs: &'p [TensorProxy],
) -> InferenceResult {
    check_input_arity(inputs, 1)?;
    check_output_arity(outputs, 1)?;
    s.equals(&outputs[0].datum_type, f32::datum_type())
}

/// The shape rules of an element-wise op whose output is f32 (Scaler, Imputer, Binarizer): one
/// input, one output of the same shape.
pub(crate) fn unary_f32_rules<'r, 'p: 'r>(
    s: &mut Solver<'r>,
    inputs: &'p [TensorProxy],
    outputs: &'p [TensorProxy],
) -> InferenceResult {
    one_in_f32_out_rules(s, inputs, outputs)?;
    s.equals(&inputs[0].shape, &outputs[0].shape)
}

/// Whether the graph has a rule for missing values (NaN features): a tree ensemble (its nodes say
/// which branch NaN takes, as onnxruntime does) or an imputer that replaces NaN, and no
/// OneHotEncoder (its integer cast would turn NaN into a category). Such a model takes NaN
/// features; any other refuses them (`InputNotFinite`).
pub(crate) fn handles_missing_values(graph: &tract_onnx::pb::GraphProto) -> bool {
    // A OneHotEncoder's input is cast to integers first: NaN would become some category.
    let one_hot = graph.node.iter().any(|n| n.op_type == "OneHotEncoder");
    !one_hot
        && graph.node.iter().any(|n| {
            n.op_type == "TreeEnsembleClassifier"
                || (n.op_type == "Imputer"
                    && n.get_attr_opt::<f32>("replaced_value_float").ok().flatten().is_some_and(f32::is_nan))
        })
}
