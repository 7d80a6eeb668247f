//! ZipMap: turns a probability tensor `[N, C]` into a sequence of maps label → probability,
//! which tract cannot represent and the runtime does not need. skl2onnx and onnxmltools add it
//! to every classifier by default. Served as the identity over its probability tensor: the
//! graph's probability output then holds the tensor itself, and the labels (its
//! `classlabels_int64s` or `classlabels_strings`) are read by [`super::labels`].

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::identity::Identity;
use tract_onnx::Onnx;

pub(super) fn register(onnx: &mut Onnx) {
    onnx.op_register.insert("ZipMap", zipmap);
}

fn zipmap(_: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let ints = node.get_attr_opt_vec::<i64>("classlabels_int64s")?;
    let strings = node.get_attr_opt_vec::<String>("classlabels_strings")?;
    if ints.is_some() == strings.is_some() {
        bail!("ZipMap needs exactly one of classlabels_int64s and classlabels_strings");
    }
    Ok((Box::<Identity>::default(), vec![]))
}
