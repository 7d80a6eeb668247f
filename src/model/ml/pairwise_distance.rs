//! The pairwise distances of scikit-learn's k-neighbours export, without a Scan.
//!
//! skl2onnx computes `cdist(X, training rows)` as a Scan: the batch `X` is the loop's state,
//! passed through unchanged, and each step takes one training row `t` and emits
//! `ReduceSumSquare(X − t, axis 1)` (squared euclidean; `ReduceSum(Abs(X − t))` for manhattan).
//! tract 0.23 runs that Scan with its state still holding the session's input tensor after the
//! run (no request after the first can write it) and, behind a Scaler, answered every input alike.
//! Such a Scan is parsed here into what it computes: the state's output is the input itself and
//! the scan output `[training rows, batch]` is wired from tract-core's broadcasting subtraction,
//! square (or absolute value) and sum, with no loop and no state. Any other Scan goes to tract's
//! own parser unchanged.

use std::sync::OnceLock;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::{AttributeProto, GraphProto, NodeProto};
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::math;
use tract_onnx::tract_core::ops::nn::{Reduce, Reducer};
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::logic::wire_with_rank_broadcast;
use tract_onnx::Onnx;

/// An ONNX op parser, as tract registers them.
type Parser = fn(&ParsingContext, &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)>;

/// tract's own Scan parser, for every Scan that is not a distance computation.
static TRACT_SCAN: OnceLock<Parser> = OnceLock::new();

pub(super) fn register(onnx: &mut Onnx) {
    if let Some(&tract_scan) = onnx.op_register.0.get("Scan") {
        let _ = TRACT_SCAN.set(tract_scan);
    }
    onnx.op_register.insert("Scan", scan);
}

/// How the distance between two rows is summed from their differences.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
enum Metric {
    /// Σ (x − t)²: `ReduceSumSquare` (skl2onnx's "sqeuclidean"; euclidean is its Sqrt after).
    SquaredEuclidean,
    /// Σ |x − t|: `Abs` then `ReduceSum` (skl2onnx's "cityblock", scikit-learn's manhattan).
    Manhattan,
}

/// The op: outputs the state (the input rows, unchanged) and `[training rows, input rows]`
/// distances.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct PairwiseDistances {
    metric: Metric,
}

fn scan(ctx: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    if let Some(metric) = distance_scan(node) {
        return Ok((expand(PairwiseDistances { metric }), vec![]));
    }
    let tract_scan = TRACT_SCAN.get().ok_or_else(|| format_err!("Scan: tract's parser is not registered"))?;
    tract_scan(ctx, node)
}

/// The metric when `node` is a Scan over training rows computing one distance per input row
/// (one state passed through unchanged, one scan input, default axes and directions).
fn distance_scan(node: &NodeProto) -> Option<Metric> {
    let attribute = |name: &str| node.attribute.iter().find(|a| a.name == name);
    let default_axes = |name: &str| attribute(name).is_none_or(|a: &AttributeProto| a.ints.iter().all(|&v| v == 0));
    let layout_is_default = ["scan_input_axes", "scan_output_axes", "scan_input_directions", "scan_output_directions"]
        .iter()
        .all(|name| default_axes(name));
    if attribute("num_scan_inputs")?.i != 1 || node.input.len() != 2 || node.output.len() != 2 || !layout_is_default {
        return None;
    }
    let body = attribute("body")?.g.as_ref()?;
    if body.input.len() != 2 || body.output.len() != 2 {
        return None;
    }
    let (state, row) = (body.input[0].name.as_str(), body.input[1].name.as_str());
    // Output 0: the state unchanged (directly or through Identity).
    if through_identities(body, &body.output[0].name) != state {
        return None;
    }
    // Output 1: a sum over axis 1 of the difference between the state and the row.
    let reduced = producer(body, through_identities(body, &body.output[1].name))?;
    if reduced.get_attr_opt::<i64>("keepdims").ok()?.unwrap_or(1) != 0 || reduced_axes(body, reduced)? != [1] {
        return None;
    }
    let (metric, difference) = match reduced.op_type.as_str() {
        "ReduceSumSquare" => (Metric::SquaredEuclidean, reduced.input.first()?.as_str()),
        "ReduceSum" => {
            let abs = producer(body, reduced.input.first()?)?;
            if abs.op_type != "Abs" {
                return None;
            }
            (Metric::Manhattan, abs.input.first()?.as_str())
        }
        _ => return None,
    };
    let sub = producer(body, difference)?;
    let operands: Vec<&str> = sub.input.iter().map(String::as_str).collect();
    let differs = operands == [state, row] || operands == [row, state];
    // Nothing else in the body: Identity nodes, the Sub, the reduction and the Abs.
    let extra = body
        .node
        .iter()
        .any(|n| !matches!(n.op_type.as_str(), "Identity" | "Sub" | "Abs" | "ReduceSumSquare" | "ReduceSum"));
    (sub.op_type == "Sub" && differs && !extra && body.node.len() <= 5).then_some(metric)
}

/// The node of `body` that outputs `name`.
fn producer<'g>(body: &'g GraphProto, name: &str) -> Option<&'g NodeProto> {
    body.node.iter().find(|n| n.output.iter().any(|o| o == name))
}

/// The value `name` is a copy of, following Identity nodes back.
fn through_identities<'g>(body: &'g GraphProto, mut name: &'g str) -> &'g str {
    for _ in 0..body.node.len() {
        match producer(body, name) {
            Some(n) if n.op_type == "Identity" && n.input.len() == 1 => name = &n.input[0],
            _ => break,
        }
    }
    name
}

/// The reduction's axes: the attribute (opset < 18) or the constant second input, with -1 read as
/// axis 1 of the `[rows, features]` difference.
fn reduced_axes(body: &GraphProto, reduce: &NodeProto) -> Option<Vec<i64>> {
    let axes = match reduce.input.get(1) {
        Some(name) => super::int64_values(super::initializer(body, name)?)?,
        None => reduce.get_attr_opt_vec::<i64>("axes").ok()??,
    };
    Some(axes.into_iter().map(|a| if a == -1 { 1 } else { a }).collect())
}

impl Expansion for PairwiseDistances {
    fn name(&self) -> StaticName {
        "PairwiseDistances".into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(2)
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 2)?;
        s.equals(&inputs[0].rank, 2)?;
        s.equals(&inputs[1].rank, 2)?;
        s.equals(&inputs[0].shape[1], &inputs[1].shape[1])?;
        s.equals(&inputs[0].datum_type, &inputs[1].datum_type)?;
        s.equals(&outputs[0].datum_type, &inputs[0].datum_type)?;
        s.equals(&outputs[0].shape, &inputs[0].shape)?;
        s.equals(&outputs[1].datum_type, &inputs[0].datum_type)?;
        s.equals(&outputs[1].rank, 2)?;
        s.equals(&outputs[1].shape[0], &inputs[1].shape[0])?;
        s.equals(&outputs[1].shape[1], &inputs[0].shape[0])?;
        Ok(())
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let (rows, training) = (inputs[0], inputs[1]);
        // [1, rows, features] − [training, 1, features] → [training, rows, features]
        let rows3 = model.wire_node(format!("{prefix}.rows"), AxisOp::Add(0), &[rows])?[0];
        let training3 = model.wire_node(format!("{prefix}.training"), AxisOp::Add(1), &[training])?[0];
        let difference = wire_with_rank_broadcast(
            format!("{prefix}.sub"),
            model,
            TypedBinOp(Box::new(math::Sub), None),
            &[rows3, training3],
        )?;
        let magnitude = match self.metric {
            Metric::SquaredEuclidean => model.wire_node(format!("{prefix}.square"), math::square(), &difference)?,
            Metric::Manhattan => model.wire_node(format!("{prefix}.abs"), math::abs(), &difference)?,
        };
        let summed = model.wire_node(format!("{prefix}.sum"), Reduce::new(tvec!(2), Reducer::Sum), &magnitude)?;
        let distances = model.wire_node(format!("{prefix}.rm_axis"), AxisOp::Rm(2), &summed)?[0];
        Ok(tvec!(rows, distances))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::{AttributeProto, TensorProto, ValueInfoProto};

    fn node(op: &str, inputs: &[&str], output: &str) -> NodeProto {
        NodeProto {
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            attribute: vec![AttributeProto { name: "keepdims".into(), i: 0, r#type: 2, ..Default::default() }],
            ..Default::default()
        }
    }

    fn scan_of(body: Vec<NodeProto>, axes: &[i64]) -> NodeProto {
        let value = |name: &str| ValueInfoProto { name: name.into(), ..Default::default() };
        let graph = GraphProto {
            node: body,
            input: vec![value("state"), value("row")],
            output: vec![value("state_out"), value("scan_out")],
            initializer: vec![TensorProto {
                name: "axes".into(),
                data_type: tract_onnx::pb::tensor_proto::DataType::Int64 as i32,
                dims: vec![axes.len() as i64],
                int64_data: axes.to_vec(),
                ..Default::default()
            }],
            ..Default::default()
        };
        NodeProto {
            op_type: "Scan".into(),
            input: vec!["x".into(), "training".into()],
            output: vec!["x_out".into(), "distances".into()],
            attribute: vec![
                AttributeProto { name: "num_scan_inputs".into(), i: 1, r#type: 2, ..Default::default() },
                AttributeProto { name: "body".into(), g: Some(graph), r#type: 5, ..Default::default() },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn the_distance_scans_are_recognised_and_nothing_else() {
        let sq = |axes: &[i64], reduce_input: &str| {
            scan_of(
                vec![
                    node("Identity", &["state"], "state_out"),
                    node("Sub", &["state", "row"], "d"),
                    node("ReduceSumSquare", &[reduce_input, "axes"], "r"),
                    node("Identity", &["r"], "scan_out"),
                ],
                axes,
            )
        };
        assert_eq!(distance_scan(&sq(&[1], "d")), Some(Metric::SquaredEuclidean));
        assert_eq!(distance_scan(&sq(&[-1], "d")), Some(Metric::SquaredEuclidean));
        assert_eq!(distance_scan(&sq(&[0], "d")), None, "a sum over the rows is not a distance");
        assert_eq!(distance_scan(&sq(&[1], "state")), None, "no difference");
        let manhattan = scan_of(
            vec![
                node("Identity", &["state"], "state_out"),
                node("Sub", &["row", "state"], "d"),
                node("Abs", &["d"], "a"),
                node("ReduceSum", &["a", "axes"], "scan_out"),
            ],
            &[1],
        );
        assert_eq!(distance_scan(&manhattan), Some(Metric::Manhattan));
        let mut changed_state = sq(&[1], "d");
        if let Some(g) = changed_state.attribute[1].g.as_mut() {
            g.node[0] = node("Neg", &["state"], "state_out");
        }
        assert_eq!(distance_scan(&changed_state), None, "a state that changes is a real loop");
        let mut reversed = sq(&[1], "d");
        reversed.attribute.push(AttributeProto {
            name: "scan_input_directions".into(),
            ints: vec![1],
            r#type: 7,
            ..Default::default()
        });
        assert_eq!(distance_scan(&reversed), None);
    }
}
