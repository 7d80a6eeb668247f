//! LinearClassifier as the converters write it, served by tract's own op after its attributes
//! are normalised: string class labels (`classlabels_strings`) become the indices 0..n. The
//! runtime serves the probability tensor, never the label output, and takes the label names from
//! [`super::labels`] (tract cannot type a graph whose label output is a string lookup).

use std::sync::OnceLock;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::{AttributeProto, NodeProto};
use tract_onnx::tract_hir::internal::*;
use tract_onnx::Onnx;

/// A parser as tract's register holds it.
type Parser = fn(&ParsingContext, &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)>;

pub(super) fn register(onnx: &mut Onnx) {
    onnx.op_register.insert("LinearClassifier", linear_classifier);
}

/// tract's own parser for `op`, from a framework whose register this module did not touch.
fn tract_parser(op: &str) -> TractResult<Parser> {
    static TRACT_PARSERS: OnceLock<tract_onnx::model::OnnxOpRegister> = OnceLock::new();
    let register = TRACT_PARSERS.get_or_init(|| tract_onnx::onnx().op_register);
    register.0.get(op).copied().ok_or_else(|| format_err!("tract has no parser for {op}"))
}

fn linear_classifier(ctx: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let mut node = node.clone();
    labels_as_indices(&mut node, "classlabels_ints")?;
    tract_parser("LinearClassifier")?(ctx, &node)
}

/// Replaces `classlabels_strings` with `int_attribute` = 0..n; returns the label count.
fn labels_as_indices(node: &mut NodeProto, int_attribute: &str) -> TractResult<usize> {
    if let Some(strings) = node.get_attr_opt_vec::<String>("classlabels_strings")? {
        let count = strings.len();
        node.attribute.retain(|a| a.name != "classlabels_strings");
        node.attribute.push(AttributeProto {
            name: int_attribute.to_string(),
            r#type: AttributeType::Ints as i32,
            ints: (0..count as i64).collect(),
            ..AttributeProto::default()
        });
        return Ok(count);
    }
    Ok(node.get_attr_opt_vec::<i64>(int_attribute)?.map(|v| v.len()).unwrap_or(0))
}
