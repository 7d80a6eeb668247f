//! Resource limits on what a model may ask for, checked before tract allocates for it.
//!
//! A hostile or broken ONNX file can declare a tensor of 2^40 elements in 100 bytes, a graph of a
//! million nodes, a chain deep enough to overflow a recursive pass, or an intermediate tensor
//! that grows with the sequence length until it cannot be allocated. Each is refused here with
//! `ModelLimit` and a message naming the limit and the option that raises it:
//!
//! - on the decoded protobuf, before tract builds anything: node count and graph depth (every
//!   subgraph included), each initializer's and constant's element count, their total bytes, the
//!   fixed dimensions of the graph's inputs, and what the operators that make a tensor from a
//!   size (ConstantOfShape, Expand, Tile, Range, OneHot) would make from constant sizes — tract
//!   folds those while it analyses the graph, before any later check could see them;
//! - on tract's typed model, before it is optimized: every node's output at the longest
//!   configured sequence length (and the largest batch), element count within the limit.

use std::collections::HashMap;

use tract_onnx::pb::{tensor_shape_proto, type_proto, AttributeProto, GraphProto, ModelProto, TensorProto};
use tract_onnx::prelude::*;

use crate::error::{fail, Error, Result, Status};

/// Limits on a model's size and shape (see the module docs). `Default` gives the safe defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelLimits {
    /// Most nodes in the graph, subgraphs included (default 100,000).
    pub max_nodes: usize,
    /// Longest chain of nodes from an input to an output (default 10,000).
    pub max_graph_depth: usize,
    /// Most elements in one tensor: an initializer, a constant, a graph input with fixed
    /// dimensions, or any node's output at the longest sequence length and largest batch
    /// (default 2^28, 1 GiB of f32).
    pub max_tensor_elements: u64,
    /// Most bytes in all initializers and constants together, as their shapes declare them
    /// (default 1 GiB).
    pub max_initializer_bytes: u64,
}

impl Default for ModelLimits {
    fn default() -> Self {
        ModelLimits {
            max_nodes: 100_000,
            max_graph_depth: 10_000,
            max_tensor_elements: 1 << 28,
            max_initializer_bytes: 1 << 30,
        }
    }
}

impl ModelLimits {
    /// Every limit at least 1.
    pub fn validate(&self) -> Result<()> {
        if self.max_nodes == 0
            || self.max_graph_depth == 0
            || self.max_tensor_elements == 0
            || self.max_initializer_bytes == 0
        {
            return fail(Status::InvalidArgument, "every model limit must be at least 1 (0 in C means the default)");
        }
        Ok(())
    }
}

fn over(what: String, limit: u64, option: &str) -> Error {
    Error::new(
        Status::ModelLimit,
        format!("{what}, above the limit of {limit}: raise {option} if the model is meant to be this large"),
    )
}

/// Checks the decoded protobuf against `limits` (before tract builds the model).
pub(crate) fn check_proto(proto: &ModelProto, limits: &ModelLimits) -> Result<()> {
    let Some(graph) = proto.graph.as_ref() else { return Ok(()) };
    let mut nodes = 0usize;
    let mut bytes = 0u64;
    check_graph(graph, limits, &mut nodes, &mut bytes)?;
    for input in &graph.input {
        let Some(type_proto::Value::TensorType(t)) = input.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
            continue;
        };
        let Some(shape) = &t.shape else { continue };
        let mut elements = 1u64;
        for dim in &shape.dim {
            if let Some(tensor_shape_proto::dimension::Value::DimValue(v)) = dim.value {
                elements = elements.saturating_mul(u64::try_from(v).unwrap_or(u64::MAX));
            }
        }
        if elements > limits.max_tensor_elements {
            return Err(over(
                format!("graph input {:?} has fixed dimensions of {elements} elements", input.name),
                limits.max_tensor_elements,
                "max_tensor_elements",
            ));
        }
    }
    Ok(())
}

fn check_graph(graph: &GraphProto, limits: &ModelLimits, nodes: &mut usize, bytes: &mut u64) -> Result<()> {
    *nodes += graph.node.len();
    if *nodes > limits.max_nodes {
        return Err(over(format!("the graph has more than {} nodes", *nodes), limits.max_nodes as u64, "max_nodes"));
    }
    for tensor in &graph.initializer {
        check_tensor(tensor, &format!("initializer {:?}", tensor.name), limits, bytes)?;
    }
    for node in &graph.node {
        for attribute in &node.attribute {
            check_attribute(attribute, &node.name, limits, nodes, bytes)?;
        }
    }
    check_sized_ops(graph, limits)?;
    let depth = depth(graph)?;
    if depth > limits.max_graph_depth {
        return Err(over(
            format!("the graph's longest chain has {depth} nodes"),
            limits.max_graph_depth as u64,
            "max_graph_depth",
        ));
    }
    Ok(())
}

fn check_attribute(
    attribute: &AttributeProto,
    node: &str,
    limits: &ModelLimits,
    nodes: &mut usize,
    bytes: &mut u64,
) -> Result<()> {
    let what = || format!("node {node:?}'s attribute {:?}", attribute.name);
    for tensor in attribute.t.iter().chain(&attribute.tensors) {
        check_tensor(tensor, &what(), limits, bytes)?;
    }
    for graph in attribute.g.iter().chain(&attribute.graphs) {
        check_graph(graph, limits, nodes, bytes)?;
    }
    Ok(())
}

/// The element count a tensor's dimensions declare, and its bytes, against the limits.
fn check_tensor(tensor: &TensorProto, what: &str, limits: &ModelLimits, bytes: &mut u64) -> Result<()> {
    let mut elements = 1u64;
    for &d in &tensor.dims {
        let Ok(d) = u64::try_from(d) else {
            return fail(Status::ModelInvalid, format!("{what} has a negative dimension ({d})"));
        };
        elements = elements.saturating_mul(d);
    }
    if elements > limits.max_tensor_elements {
        return Err(over(
            format!("{what} declares {elements} elements (dimensions {:?})", tensor.dims),
            limits.max_tensor_elements,
            "max_tensor_elements",
        ));
    }
    *bytes = bytes.saturating_add(elements.saturating_mul(element_size(tensor.data_type)));
    if *bytes > limits.max_initializer_bytes {
        return Err(over(
            format!("the initializers and constants declare {} bytes or more (at {what})", *bytes),
            limits.max_initializer_bytes,
            "max_initializer_bytes",
        ));
    }
    Ok(())
}

/// The operators that make a tensor from sizes given as inputs: with those inputs constant, tract
/// computes them while analysing the graph (constant folding), allocating the whole output. The
/// element count each would make (a lower bound where another input adds to it) against the limit.
fn check_sized_ops(graph: &GraphProto, limits: &ModelLimits) -> Result<()> {
    let mut constants: HashMap<&str, &TensorProto> = graph.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    for node in graph.node.iter().filter(|n| n.op_type == "Constant") {
        if let (Some(output), Some(value)) = (node.output.first(), node.attribute.iter().find_map(|a| a.t.as_ref())) {
            constants.insert(output.as_str(), value);
        }
    }
    let values = |node: &tract_onnx::pb::NodeProto, ix: usize| -> Option<Vec<f64>> {
        node.input.get(ix).and_then(|name| constants.get(name.as_str())).and_then(|t| numbers(t))
    };
    let product = |v: &[f64]| v.iter().fold(1u64, |p, &d| p.saturating_mul(if d > 0.0 { d as u64 } else { 0 }));
    for node in &graph.node {
        let elements = match node.op_type.as_str() {
            "ConstantOfShape" => values(node, 0).map(|shape| product(&shape)),
            "Expand" => values(node, 1).map(|shape| product(&shape)),
            "Tile" => values(node, 1).map(|repeats| {
                let input =
                    node.input.first().and_then(|n| constants.get(n.as_str())).map_or(1, |t| {
                        t.dims.iter().fold(1u64, |p, &d| p.saturating_mul(u64::try_from(d).unwrap_or(0)))
                    });
                product(&repeats).saturating_mul(input)
            }),
            "Range" => match (values(node, 0), values(node, 1), values(node, 2)) {
                (Some(start), Some(limit), Some(delta)) => match (start.first(), limit.first(), delta.first()) {
                    (Some(&s), Some(&l), Some(&d)) if d != 0.0 => {
                        Some(((l - s) / d).ceil().max(0.0).min(u64::MAX as f64) as u64)
                    }
                    _ => None,
                },
                _ => None,
            },
            "OneHot" => {
                values(node, 1).and_then(|depth| depth.first().map(|&d| d.max(0.0).min(u64::MAX as f64) as u64))
            }
            _ => None,
        };
        if let Some(elements) = elements.filter(|&e| e > limits.max_tensor_elements) {
            return Err(over(
                format!(
                    "node {:?} ({}) would make {elements} elements from its constant sizes",
                    node.name, node.op_type
                ),
                limits.max_tensor_elements,
                "max_tensor_elements",
            ));
        }
    }
    Ok(())
}

/// The values of a small integer or float tensor (shapes, repeats, scalars), when it holds at
/// most 64 of them.
fn numbers(t: &TensorProto) -> Option<Vec<f64>> {
    const MOST: usize = 64;
    let raw = &t.raw_data;
    let stored = raw.len() / 4 + t.int64_data.len() + t.int32_data.len() + t.float_data.len() + t.double_data.len();
    if stored > 2 * MOST {
        return None;
    }
    let values: Vec<f64> = match t.data_type {
        7 if !t.int64_data.is_empty() => t.int64_data.iter().map(|&v| v as f64).collect(),
        7 => raw.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")) as f64).collect(),
        6 if !t.int32_data.is_empty() => t.int32_data.iter().map(|&v| f64::from(v)).collect(),
        6 => raw.chunks_exact(4).map(|c| f64::from(i32::from_le_bytes(c.try_into().expect("4 bytes")))).collect(),
        1 if !t.float_data.is_empty() => t.float_data.iter().map(|&v| f64::from(v)).collect(),
        1 => raw.chunks_exact(4).map(|c| f64::from(f32::from_le_bytes(c.try_into().expect("4 bytes")))).collect(),
        11 if !t.double_data.is_empty() => t.double_data.clone(),
        11 => raw.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect(),
        _ => return None,
    };
    (values.len() <= MOST).then_some(values)
}

/// Bytes per element of an ONNX data type (1 for types this table does not know, 8 for strings:
/// a bound on what their lengths cost is the file size anyway).
fn element_size(data_type: i32) -> u64 {
    match data_type {
        2 | 3 | 9 => 1,            // uint8, int8, bool
        4 | 5 | 10 | 16 => 2,      // uint16, int16, float16, bfloat16
        1 | 6 | 12 => 4,           // float, int32, uint32
        7 | 8 | 11 | 13 | 14 => 8, // int64, string, double, uint64, complex64
        15 => 16,                  // complex128
        _ => 1,
    }
}

/// The longest chain of nodes in `graph` (inputs and initializers at depth 0), without recursion:
/// nodes in any order, each waiting for the producers of its inputs. A cycle is refused.
fn depth(graph: &GraphProto) -> Result<usize> {
    let producer: HashMap<&str, usize> = graph
        .node
        .iter()
        .enumerate()
        .flat_map(|(ix, node)| node.output.iter().map(move |o| (o.as_str(), ix)))
        .collect();
    let mut waiting: Vec<usize> = vec![0; graph.node.len()];
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); graph.node.len()];
    for (ix, node) in graph.node.iter().enumerate() {
        for input in node.input.iter().filter(|i| !i.is_empty()) {
            if let Some(&p) = producer.get(input.as_str()) {
                waiting[ix] += 1;
                consumers[p].push(ix);
            }
        }
    }
    let mut depth_of: Vec<usize> = vec![1; graph.node.len()];
    let mut ready: Vec<usize> = (0..graph.node.len()).filter(|&ix| waiting[ix] == 0).collect();
    let mut done = 0;
    let mut deepest = 0;
    while let Some(ix) = ready.pop() {
        done += 1;
        deepest = deepest.max(depth_of[ix]);
        for &c in &consumers[ix] {
            depth_of[c] = depth_of[c].max(depth_of[ix] + 1);
            waiting[c] -= 1;
            if waiting[c] == 0 {
                ready.push(c);
            }
        }
    }
    if done < graph.node.len() {
        return fail(Status::ModelInvalid, "the graph has a cycle (a node depends on its own output)");
    }
    Ok(deepest)
}

/// Checks every node output of `typed` (a single-example model) with the sequence length `seq` at
/// `max_tokens` (text models; `None` otherwise) against `max_tensor_elements`; outputs computed
/// from the inputs (not constants, whose size the initializer check bounds) count `batch` times,
/// for the batch plan.
pub(crate) fn check_typed(
    typed: &TypedModel,
    seq: &Symbol,
    max_tokens: Option<usize>,
    batch: usize,
    limits: &ModelLimits,
) -> Result<()> {
    let mut values = SymbolValues::default();
    if let Some(n) = max_tokens {
        values.set(seq, n as i64);
    }
    for node in &typed.nodes {
        for (slot, output) in node.outputs.iter().enumerate().filter(|(_, o)| o.fact.konst.is_none()) {
            let mut elements = 1u64;
            for dim in output.fact.shape.iter() {
                // A dimension tract cannot evaluate at these values (another symbol) counts as 1:
                // what it can reach is bounded by the inputs, which are checked.
                let d = dim.eval_to_i64(&values).ok().and_then(|d| u64::try_from(d).ok()).unwrap_or(1);
                elements = elements.saturating_mul(d);
            }
            let total = elements.saturating_mul(batch as u64);
            if total > limits.max_tensor_elements {
                let at = match max_tokens {
                    Some(n) => format!(" at {n} tokens"),
                    None => String::new(),
                };
                let batch_note = if batch > 1 { format!(" for a batch of {batch}") } else { String::new() };
                return Err(over(
                    format!(
                        "node {:?} ({}) output {slot} would hold {total} elements{at}{batch_note}",
                        node.name,
                        node.op().name()
                    ),
                    limits.max_tensor_elements,
                    "max_tensor_elements (or lower max_sequence_length or max_batch)",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::NodeProto;

    fn node(name: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
        NodeProto {
            name: name.into(),
            op_type: "Relu".into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn chain(n: usize) -> GraphProto {
        let nodes = (0..n).map(|i| node(&format!("n{i}"), &[&format!("t{i}")], &[&format!("t{}", i + 1)])).collect();
        GraphProto { node: nodes, ..Default::default() }
    }

    #[test]
    fn depth_is_the_longest_chain_and_a_cycle_is_refused() {
        assert_eq!(depth(&chain(5)).unwrap(), 5);
        // Far deeper than a recursive walk could go.
        assert_eq!(depth(&chain(200_000)).unwrap(), 200_000);
        let cycle =
            GraphProto { node: vec![node("a", &["y"], &["x"]), node("b", &["x"], &["y"])], ..Default::default() };
        assert_eq!(depth(&cycle).unwrap_err().status(), Status::ModelInvalid);
    }

    #[test]
    fn nodes_depth_and_tensors_over_their_limits_are_refused_naming_the_option() {
        let proto = |graph: GraphProto| ModelProto { graph: Some(graph), ..Default::default() };
        let tight =
            ModelLimits { max_nodes: 10, max_graph_depth: 4, max_tensor_elements: 1000, max_initializer_bytes: 100 };
        assert!(check_proto(&proto(chain(4)), &tight).is_ok());
        let err = check_proto(&proto(chain(11)), &tight).unwrap_err();
        assert!(err.status() == Status::ModelLimit && err.message().contains("max_nodes"), "{}", err.message());
        let err = check_proto(&proto(chain(5)), &tight).unwrap_err();
        assert!(err.message().contains("max_graph_depth"), "{}", err.message());

        let tensor =
            |dims: Vec<i64>, data_type: i32| TensorProto { dims, data_type, name: "w".into(), ..Default::default() };
        let with = |t: TensorProto| GraphProto { initializer: vec![t], ..chain(1) };
        assert!(check_proto(&proto(with(tensor(vec![5, 5], 1))), &tight).is_ok());
        let err = check_proto(&proto(with(tensor(vec![1 << 20, 1 << 20], 1))), &tight).unwrap_err();
        assert!(err.message().contains("max_tensor_elements") && err.message().contains("\"w\""), "{}", err.message());
        let err = check_proto(&proto(with(tensor(vec![10, 10], 1))), &tight).unwrap_err();
        assert!(err.message().contains("max_initializer_bytes"), "{}", err.message());
        let err = check_proto(&proto(with(tensor(vec![-1], 1))), &tight).unwrap_err();
        assert_eq!(err.status(), Status::ModelInvalid);
        // Dimensions whose product overflows u64 saturate rather than wrap.
        let huge = tensor(vec![i64::MAX, i64::MAX, i64::MAX], 1);
        assert_eq!(check_proto(&proto(with(huge)), &ModelLimits::default()).unwrap_err().status(), Status::ModelLimit);

        // Sizes that tract would fold into a tensor while analysing: a Constant shape of
        // [3, 2^28] into ConstantOfShape (3 GiB of f32 from ~150 bytes), a Range of 2^30 values.
        let mut shape = node("shape", &[], &["s"]);
        let dims = TensorProto { dims: vec![2], data_type: 7, int64_data: vec![3, 1 << 28], ..Default::default() };
        shape.op_type = "Constant".into();
        shape.attribute.push(AttributeProto { name: "value".into(), t: Some(dims), ..Default::default() });
        let mut fill = node("fill", &["s"], &["big"]);
        fill.op_type = "ConstantOfShape".into();
        let graph = GraphProto { node: vec![shape, fill], ..Default::default() };
        let err = check_proto(&proto(graph), &ModelLimits::default()).unwrap_err();
        assert!(err.message().contains("ConstantOfShape") && err.message().contains("805306368"), "{}", err.message());
        let scalar = |name: &str, v: i64| TensorProto {
            name: name.into(),
            data_type: 7,
            int64_data: vec![v],
            ..Default::default()
        };
        let mut range = node("range", &["a", "b", "c"], &["r"]);
        range.op_type = "Range".into();
        let graph = GraphProto {
            node: vec![range],
            initializer: vec![scalar("a", 0), scalar("b", 1 << 30), scalar("c", 1)],
            ..Default::default()
        };
        let err = check_proto(&proto(graph), &ModelLimits::default()).unwrap_err();
        assert!(err.message().contains("Range"), "{}", err.message());

        // A Constant's value and a subgraph's nodes count too.
        let mut constant = node("c", &[], &["k"]);
        constant.attribute.push(AttributeProto {
            name: "value".into(),
            t: Some(tensor(vec![4096], 1)),
            ..Default::default()
        });
        let err = check_proto(&proto(GraphProto { node: vec![constant], ..Default::default() }), &tight).unwrap_err();
        assert!(err.message().contains("node \"c\"'s attribute"), "{}", err.message());
        let mut looped = node("loop", &[], &["z"]);
        looped.attribute.push(AttributeProto { name: "body".into(), g: Some(chain(10)), ..Default::default() });
        let err = check_proto(&proto(GraphProto { node: vec![looped], ..Default::default() }), &tight).unwrap_err();
        assert!(err.message().contains("max_nodes"), "{}", err.message());
    }
}
