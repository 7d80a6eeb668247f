//! The class labels an exported classifier carries in its graph: ZipMap's (the map keys of the
//! default export), else the classifier operator's, else the constant class list a graph without
//! ai.onnx.ml classifier picks its label from (skl2onnx's `ArrayFeatureExtractor(classes, argmax)`,
//! e.g. an MLP or a double-precision export with ZipMap off). A model without a card answers with
//! them.

use tract_onnx::pb::{GraphProto, NodeProto, TensorProto};

/// The operators that carry class labels, with the attribute of their integer labels.
const CARRIERS: [(&str, &str); 4] = [
    ("ZipMap", "classlabels_int64s"),
    ("TreeEnsembleClassifier", "classlabels_int64s"),
    ("LinearClassifier", "classlabels_ints"),
    ("SVMClassifier", "classlabels_ints"),
];

/// The labels of the graph's classifier, as strings (int64 labels in decimal), or `None` when
/// the graph has no operator that carries them. ZipMap wins over the classifier it wraps.
pub(crate) fn class_labels(graph: &GraphProto) -> Option<Vec<String>> {
    CARRIERS
        .iter()
        .find_map(|(op, ints)| graph.node.iter().rev().find(|n| n.op_type == *op).and_then(|n| of(n, ints)))
        .or_else(|| extracted_classes(graph))
}

/// The constant first input of the last ArrayFeatureExtractor, when it is a list of int64 or
/// string class labels.
fn extracted_classes(graph: &GraphProto) -> Option<Vec<String>> {
    let node = graph.node.iter().rev().find(|n| n.op_type == "ArrayFeatureExtractor")?;
    let name = node.input.first()?;
    constant_labels(super::initializer(graph, name)?)
}

/// An int32 (6), int64 (7) or string (8) tensor of rank ≤ 1 as labels.
fn constant_labels(t: &TensorProto) -> Option<Vec<String>> {
    if t.dims.len() > 1 {
        return None;
    }
    match t.data_type {
        7 => super::int64_values(t).filter(|v| !v.is_empty()).map(|v| v.iter().map(i64::to_string).collect()),
        6 if !t.int32_data.is_empty() => Some(t.int32_data.iter().map(i32::to_string).collect()),
        6 if t.raw_data.len() % 4 == 0 && !t.raw_data.is_empty() => {
            Some(t.raw_data.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]).to_string()).collect())
        }
        8 if !t.string_data.is_empty() => {
            t.string_data.iter().map(|s| String::from_utf8(s.clone()).ok()).collect::<Option<Vec<_>>>()
        }
        _ => None,
    }
}

fn of(node: &NodeProto, ints: &str) -> Option<Vec<String>> {
    if let Ok(Some(strings)) = node.get_attr_opt_vec::<String>("classlabels_strings") {
        return Some(strings);
    }
    match node.get_attr_opt_vec::<i64>(ints) {
        Ok(Some(values)) => Some(values.iter().map(i64::to_string).collect()),
        _ => None,
    }
}
