//! Refusing a graph that uses an operator this runtime does not serve, in the user's terms: the
//! operator, the node, and the way out (the converter option or the change that avoids it),
//! instead of tract's "Unimplemented(…) ToTypedTranslator" wording at analysis time; likewise a
//! map input and a Scan loop in a feature model.

use tract_onnx::pb::GraphProto;
use tract_onnx::prelude::InferenceModel;

use crate::error::{fail, Result, Status};

/// The first node of `model` whose operator tract's ONNX parser has no implementation for (it
/// keeps such nodes as `Unimplemented(<op>)` placeholders), as (operator, node name).
fn first_unimplemented(model: &InferenceModel) -> Option<(String, String)> {
    model.nodes().iter().find_map(|node| {
        let name = node.op().name();
        let op = name.strip_prefix("Unimplemented(")?.strip_suffix(')')?;
        Some((op.to_string(), node.name.clone()))
    })
}

/// What to do instead of `op`, for the operators users of scikit-learn, LightGBM and XGBoost
/// exports meet.
fn way_out(op: &str) -> &'static str {
    match op {
        "DictVectorizer" | "CastMap" | "FeatureVectorizer" => {
            "the model takes maps or several inputs; export the pipeline after its DictVectorizer with one float \
             tensor input (skl2onnx: initial_types=[('input', FloatTensorType([None, n_features]))]) and pass the \
             features in that order"
        }
        "LabelEncoder" | "CategoryMapper" | "StringNormalizer" | "Tokenizer" | "TfIdfVectorizer" => {
            "string features are not served in a tensor model; encode categories as numbers before the model \
             (e.g. OrdinalEncoder fitted outside the exported pipeline), or ship a text model with a tokenizer.json"
        }
        "TreeEnsembleRegressor" | "LinearRegressor" | "SVMRegressor" => {
            "it is a regressor; this runtime serves classifiers (a probability per label)"
        }
        // ai.onnx.ml opset 5's single tree operator (classifiers and regressors alike).
        "TreeEnsemble" => {
            "export with target_opset={'': 17, 'ai.onnx.ml': 3} (skl2onnx/onnxmltools) so that the converter writes \
             TreeEnsembleClassifier"
        }
        _ => "re-export the model without it (another converter option or opset), or report the operator",
    }
}

/// Refuses `model` when it uses an operator tract cannot run: `ModelUnsupported`, naming the
/// operator, its node and the way out.
pub(crate) fn refuse_unimplemented(model: &InferenceModel) -> Result<()> {
    match first_unimplemented(model) {
        None => Ok(()),
        Some((op, node)) => fail(
            Status::ModelUnsupported,
            format!(
                "the graph uses the ONNX operator {op} (node {node:?}), which this runtime does not serve: {}",
                way_out(&op)
            ),
        ),
    }
}

/// Refuses a feature model that still loops with a Scan after parsing (k-neighbours' distance
/// Scans are parsed into plain ops by `ml::pairwise_distance`). tract 0.23's Scan can keep a
/// reference to its input through its state (no second request could be written) and answered
/// every input alike on a k-neighbours export behind a scaler: refused, never served wrong.
pub(crate) fn refuse_scan_loops(model: &InferenceModel) -> Result<()> {
    if !model.nodes().iter().any(|n| n.op().name() == "Scan") {
        return Ok(());
    }
    fail(
        Status::ModelUnsupported,
        "the graph loops with a Scan that is not a pairwise distance (k-neighbours' distance Scans are served): \
         this runtime does not serve general Scan loops in feature models; export without the loop (e.g. a \
         k-neighbours model with a euclidean or manhattan metric)",
    )
}

/// Refuses a graph with an input that is not a tensor (a map or a sequence: what a
/// DictVectorizer, a CastMap or a ZipMap-fed pipeline takes), before tract's parser stops at it
/// with "has no type value".
pub(crate) fn refuse_non_tensor_inputs(graph: &GraphProto) -> Result<()> {
    let initializers: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let map_input = graph
        .input
        .iter()
        .filter(|input| !initializers.contains(&input.name.as_str()))
        .find(|input| input.r#type.as_ref().is_some_and(|t| t.value.is_none()));
    let Some(input) = map_input else { return Ok(()) };
    let consumer = graph.node.iter().find(|n| n.input.contains(&input.name)).map(|n| n.op_type.as_str());
    fail(
        Status::ModelUnsupported,
        format!(
            "graph input {:?} is not a tensor (a map or a sequence{}), which this runtime does not take: {}",
            input.name,
            consumer.map(|op| format!(", read by {op}")).unwrap_or_default(),
            way_out(consumer.unwrap_or("DictVectorizer"))
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hint_names_a_way_out() {
        for op in ["DictVectorizer", "LabelEncoder", "TreeEnsembleRegressor", "TreeEnsemble", "Whatever"] {
            let hint = way_out(op);
            assert!(hint.len() > 30, "{op}: {hint}");
        }
        assert!(way_out("DictVectorizer").contains("FloatTensorType"));
        // opset 5's TreeEnsemble may be a classifier: the way out is the older operator, not "a regressor"
        assert!(way_out("TreeEnsemble").contains("TreeEnsembleClassifier"));
    }
}
