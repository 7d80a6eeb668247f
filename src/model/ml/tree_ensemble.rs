//! TreeEnsembleClassifier, evaluated by a compact evaluator of our own: the converters' trees
//! (scikit-learn's trees, forests and gradient boosting, LightGBM, XGBoost) flattened at load
//! into one array of 16-byte nodes (feature, threshold, both children) plus a byte per node for
//! its comparison and missing-value rule, every tree walked once per row, the leaves' weights
//! summed per class in a preallocated row of scores.
//!
//! Semantics are onnxruntime's: a branch goes to its true child when `x CMP threshold`, or when
//! `x` is NaN and the node's `nodes_missing_value_tracks_true` is set; the scores are summed per
//! class, `base_values` added, then `post_transform` (NONE, LOGISTIC, SOFTMAX, SOFTMAX_ZERO,
//! PROBIT). A binary model that scores one column (every leaf weight on class 0: gradient
//! boosting, LightGBM and XGBoost binary exports) answers `[1 - p, p]` from that column.
//!
//! Everything the walk relies on is checked when the node is parsed: children inside their own
//! tree, no cycles, features and class ids in range, so the walk needs no bounds checks and
//! always ends.

use std::collections::HashMap;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::Onnx;

use super::classifier_op::{ClassifierExpansion, Scorer};

pub(super) fn register(onnx: &mut Onnx) {
    onnx.op_register.insert("TreeEnsembleClassifier", tree_ensemble_classifier);
}

/// The deepest walk a tree may have, in branches. Real exports stay far below it (a tree fully
/// grown by scikit-learn on a million rows is a few dozen deep; LightGBM's default 31 leaves allow
/// at most 30); a crafted chain a million deep is refused at load instead of costing every request.
pub(crate) const MAX_TREE_DEPTH: usize = 4096;

/// How a branch compares `x` with its threshold (a leaf has `LEAF`).
const LEQ: u8 = 0;
const LT: u8 = 1;
const GTE: u8 = 2;
const GT: u8 = 3;
const EQ: u8 = 4;
const NEQ: u8 = 5;
const LEAF: u8 = 6;
/// Set on a branch whose NaN goes to the true child.
const NAN_TRUE: u8 = 0x80;

/// One node: a branch (feature, threshold, children) or a leaf (its weights are
/// `weights[first..last]`, stored in `a` and `b`).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Node {
    feature: u32,
    threshold: f32,
    a: u32,
    b: u32,
}

/// The score transform after the sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PostTransform {
    None,
    Logistic,
    Softmax,
    SoftmaxZero,
    Probit,
}

/// The evaluator: flattened trees, leaf weights, and what happens to the sums.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TreeEnsemble {
    nodes: Vec<Node>,
    /// Per node: comparison (`LEQ`..`LEAF`) | `NAN_TRUE`.
    rules: Vec<u8>,
    roots: Vec<u32>,
    /// Leaf weights: (class column, weight).
    weights: Vec<(u32, f32)>,
    /// Score columns summed (1 for a one-column binary model).
    columns: usize,
    /// Features a row must have (highest feature id + 1).
    features: usize,
    base: Vec<f32>,
    post_transform: PostTransform,
    /// One column answering for two labels: the output is `[1 - p, p]`.
    binary_one_column: bool,
}

impl Eq for TreeEnsemble {}

fn tree_ensemble_classifier(_: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    Ok((expand(ClassifierExpansion::new(TreeEnsemble::from_node(node)?)), vec![]))
}

/// An integer attribute list, required.
fn ints(node: &NodeProto, name: &str) -> TractResult<Vec<i64>> {
    node.get_attr_opt_vec::<i64>(name)?.ok_or_else(|| format_err!("TreeEnsembleClassifier: {name} is missing"))
}

fn index(value: i64, what: &str) -> TractResult<u32> {
    u32::try_from(value).map_err(|_| format_err!("TreeEnsembleClassifier: {what} {value} is out of range"))
}

impl TreeEnsemble {
    fn from_node(node: &NodeProto) -> TractResult<TreeEnsemble> {
        for name in ["nodes_values", "class_weights", "base_values", "nodes_hitrates"] {
            let tensor = format!("{name}_as_tensor");
            let has_list = node.attribute.iter().any(|a| a.name == name);
            if node.attribute.iter().any(|a| a.name == tensor) && !has_list {
                bail!(
                    "TreeEnsembleClassifier: attribute {tensor} (double precision, ai.onnx.ml opset 3) is not \
                     supported: export with target_opset {{'ai.onnx.ml': 1}} (skl2onnx/onnxmltools) so that {name} \
                     is a float list"
                );
            }
        }
        let labels = match (
            node.get_attr_opt_vec::<i64>("classlabels_int64s")?,
            node.get_attr_opt_vec::<String>("classlabels_strings")?,
        ) {
            (Some(ints), None) => ints.len(),
            (None, Some(strings)) => strings.len(),
            _ => bail!("TreeEnsembleClassifier needs exactly one of classlabels_int64s and classlabels_strings"),
        };
        if labels == 0 {
            bail!("TreeEnsembleClassifier: no class labels");
        }
        let tree_ids = ints(node, "nodes_treeids")?;
        let node_ids = ints(node, "nodes_nodeids")?;
        let feature_ids = ints(node, "nodes_featureids")?;
        let true_ids = ints(node, "nodes_truenodeids")?;
        let false_ids = ints(node, "nodes_falsenodeids")?;
        let values = node
            .get_attr_opt_vec::<f32>("nodes_values")?
            .ok_or_else(|| format_err!("TreeEnsembleClassifier: nodes_values is missing"))?;
        let modes = node
            .get_attr_opt_vec::<String>("nodes_modes")?
            .ok_or_else(|| format_err!("TreeEnsembleClassifier: nodes_modes is missing"))?;
        let n = tree_ids.len();
        let missing = node.get_attr_opt_vec::<i64>("nodes_missing_value_tracks_true")?.unwrap_or_default();
        if [node_ids.len(), feature_ids.len(), true_ids.len(), false_ids.len(), values.len(), modes.len()]
            .iter()
            .any(|&len| len != n)
            || (!missing.is_empty() && missing.len() != n)
        {
            bail!("TreeEnsembleClassifier: the nodes_* attributes have different lengths");
        }
        // (tree id, node id) → flat index.
        let mut flat: HashMap<(i64, i64), u32> = HashMap::with_capacity(n);
        for (i, (&tree, &id)) in tree_ids.iter().zip(&node_ids).enumerate() {
            if flat.insert((tree, id), i as u32).is_some() {
                bail!("TreeEnsembleClassifier: node {id} of tree {tree} is defined twice");
            }
        }
        let mut nodes = Vec::with_capacity(n);
        let mut rules = Vec::with_capacity(n);
        let mut is_child = vec![false; n];
        let mut features = 0usize;
        for i in 0..n {
            let rule = match modes[i].as_str() {
                "BRANCH_LEQ" => LEQ,
                "BRANCH_LT" => LT,
                "BRANCH_GTE" => GTE,
                "BRANCH_GT" => GT,
                "BRANCH_EQ" => EQ,
                "BRANCH_NEQ" => NEQ,
                "LEAF" => LEAF,
                other => bail!("TreeEnsembleClassifier: node mode {other}"),
            };
            let nan_true = missing.get(i).is_some_and(|&m| m != 0);
            if rule == LEAF {
                nodes.push(Node { feature: 0, threshold: 0.0, a: 0, b: 0 });
                rules.push(LEAF);
                continue;
            }
            let child = |id: i64| {
                flat.get(&(tree_ids[i], id)).copied().ok_or_else(|| {
                    format_err!(
                        "TreeEnsembleClassifier: node {} of tree {} has no child {id}",
                        node_ids[i],
                        tree_ids[i]
                    )
                })
            };
            let (t, f) = (child(true_ids[i])?, child(false_ids[i])?);
            is_child[t as usize] = true;
            is_child[f as usize] = true;
            let feature = index(feature_ids[i], "feature id")?;
            features = features.max(feature as usize + 1);
            nodes.push(Node { feature, threshold: values[i], a: t, b: f });
            rules.push(rule | if nan_true { NAN_TRUE } else { 0 });
        }
        // Leaf weights, grouped by leaf.
        let class_trees = ints(node, "class_treeids")?;
        let class_nodes = ints(node, "class_nodeids")?;
        let class_ids = ints(node, "class_ids")?;
        let class_weights = node
            .get_attr_opt_vec::<f32>("class_weights")?
            .ok_or_else(|| format_err!("TreeEnsembleClassifier: class_weights is missing"))?;
        if [class_nodes.len(), class_ids.len(), class_weights.len()].iter().any(|&len| len != class_trees.len()) {
            bail!("TreeEnsembleClassifier: the class_* attributes have different lengths");
        }
        let binary_one_column = labels == 2 && class_ids.iter().all(|&c| c == 0);
        let columns = if binary_one_column { 1 } else { labels };
        let mut per_leaf: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n];
        for k in 0..class_trees.len() {
            let leaf = *flat.get(&(class_trees[k], class_nodes[k])).ok_or_else(|| {
                format_err!(
                    "TreeEnsembleClassifier: a weight names node {} of tree {}, which does not exist",
                    class_nodes[k],
                    class_trees[k]
                )
            })? as usize;
            if rules[leaf] != LEAF {
                bail!("TreeEnsembleClassifier: a weight is attached to a branch (node {})", class_nodes[k]);
            }
            let class = index(class_ids[k], "class id")?;
            if class as usize >= columns {
                bail!("TreeEnsembleClassifier: a leaf names class {class}, the node has {labels} class labels");
            }
            per_leaf[leaf].push((class, class_weights[k]));
        }
        let mut weights = Vec::with_capacity(class_trees.len());
        for (i, leaf_weights) in per_leaf.into_iter().enumerate() {
            if rules[i] == LEAF {
                nodes[i].a = weights.len() as u32;
                weights.extend(leaf_weights);
                nodes[i].b = weights.len() as u32;
            }
        }
        let roots: Vec<u32> = (0..n as u32).filter(|&i| !is_child[i as usize]).collect();
        let mut trees: Vec<i64> = tree_ids.clone();
        trees.sort_unstable();
        trees.dedup();
        if roots.len() != trees.len() {
            bail!("TreeEnsembleClassifier: {} trees but {} nodes that are nobody's child", trees.len(), roots.len());
        }
        check_acyclic(&nodes, &rules, &roots)?;
        let base = node.get_attr_opt_vec::<f32>("base_values")?.unwrap_or_default();
        if !base.is_empty() && base.len() != columns && !(binary_one_column && base.len() == 2) {
            bail!("TreeEnsembleClassifier: {} base_values for {columns} score columns", base.len());
        }
        let post: String = node.get_attr_opt("post_transform")?.unwrap_or_else(|| "NONE".to_string());
        let post_transform = match post.as_str() {
            "NONE" => PostTransform::None,
            "LOGISTIC" => PostTransform::Logistic,
            "SOFTMAX" => PostTransform::Softmax,
            "SOFTMAX_ZERO" => PostTransform::SoftmaxZero,
            "PROBIT" => PostTransform::Probit,
            other => bail!("TreeEnsembleClassifier: post_transform {other}"),
        };
        Ok(TreeEnsemble { nodes, rules, roots, weights, columns, features, base, post_transform, binary_one_column })
    }

    /// Sums one row's leaf weights into `scores` (`columns` values, zeroed by the caller).
    #[inline]
    fn sum(&self, x: &[f32], scores: &mut [f32]) {
        for &root in &self.roots {
            let mut i = root as usize;
            loop {
                let node = self.nodes[i];
                let rule = self.rules[i];
                let cmp = rule & !NAN_TRUE;
                if cmp == LEAF {
                    for &(class, weight) in &self.weights[node.a as usize..node.b as usize] {
                        scores[class as usize] += weight;
                    }
                    break;
                }
                let v = x[node.feature as usize];
                let t = node.threshold;
                let go_true = match cmp {
                    LEQ => v <= t,
                    LT => v < t,
                    GTE => v >= t,
                    GT => v > t,
                    EQ => v == t,
                    _ => v != t,
                } || (rule & NAN_TRUE != 0 && v.is_nan());
                i = if go_true { node.a } else { node.b } as usize;
            }
        }
    }

    /// The output row (`width()` values) for one input row.
    fn row(&self, x: &[f32], out: &mut [f32]) {
        let scores = &mut out[..self.columns];
        scores.iter_mut().for_each(|s| *s = 0.0);
        self.sum(x, scores);
        for (s, b) in scores.iter_mut().zip(&self.base) {
            *s += b;
        }
        if self.binary_one_column {
            let s = out[0];
            let (negative, positive) = match self.post_transform {
                PostTransform::None => (1.0 - s, s),
                PostTransform::Logistic => (logistic(-s), logistic(s)),
                PostTransform::Softmax | PostTransform::SoftmaxZero => {
                    let (a, b) = ((-s - s.abs()).exp(), (s - s.abs()).exp());
                    (a / (a + b), b / (a + b))
                }
                PostTransform::Probit => {
                    let p = probit(s);
                    (1.0 - p, p)
                }
            };
            out[0] = negative;
            out[1] = positive;
            return;
        }
        match self.post_transform {
            PostTransform::None => {}
            PostTransform::Logistic => out.iter_mut().for_each(|s| *s = logistic(*s)),
            PostTransform::Probit => out.iter_mut().for_each(|s| *s = probit(*s)),
            PostTransform::Softmax => softmax(out, false),
            PostTransform::SoftmaxZero => softmax(out, true),
        }
    }
}

impl Scorer for TreeEnsemble {
    type Scratch = ();

    fn features(&self) -> usize {
        self.features
    }

    fn width(&self) -> usize {
        if self.binary_one_column {
            2
        } else {
            self.columns
        }
    }

    fn score(&self, x: &[f32], out: &mut [f32], _: &mut ()) {
        self.row(x, out)
    }

    fn op_name(&self) -> &'static str {
        "TreeEnsembleClassifier"
    }
}

/// Every walk from a root ends at a leaf (no node is reached twice from one root), and every node
/// is on some tree's walk (a node that is its own descendant is nobody's root either).
/// No walk is longer than [`MAX_TREE_DEPTH`] branches.
fn check_acyclic(nodes: &[Node], rules: &[u8], roots: &[u32]) -> TractResult<()> {
    let mut seen = vec![u32::MAX; nodes.len()];
    let mut stack = Vec::new();
    let mut visited = 0usize;
    for (tree, &root) in roots.iter().enumerate() {
        stack.push((root, 0usize));
        while let Some((i, depth)) = stack.pop() {
            let i = i as usize;
            if seen[i] == tree as u32 {
                bail!("TreeEnsembleClassifier: tree {tree} reaches a node twice (a cycle or a shared node)");
            }
            seen[i] = tree as u32;
            visited += 1;
            if rules[i] & !NAN_TRUE != LEAF {
                if depth == MAX_TREE_DEPTH {
                    bail!(
                        "TreeEnsembleClassifier: tree {tree} is deeper than {MAX_TREE_DEPTH} branches (every request \
                         would walk them all): not served; limit the depth when training (max_depth)"
                    );
                }
                stack.push((nodes[i].a, depth + 1));
                stack.push((nodes[i].b, depth + 1));
            }
        }
    }
    if visited != nodes.len() {
        bail!(
            "TreeEnsembleClassifier: {} nodes are on no tree's walk (twice a child, or a cycle)",
            nodes.len() - visited
        );
    }
    Ok(())
}

fn logistic(v: f32) -> f32 {
    let e = 1.0 / (1.0 + (-v.abs()).exp());
    if v < 0.0 {
        1.0 - e
    } else {
        e
    }
}

/// onnxruntime's probit: √2 · erfinv(2v − 1), with Winitzki's erfinv approximation.
fn probit(v: f32) -> f32 {
    let x = 2.0 * v - 1.0;
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let ln = ((1.0 - x) * (1.0 + x)).ln();
    if !ln.is_finite() {
        return 0.0;
    }
    let a = 2.0 / (std::f32::consts::PI * 0.147) + 0.5 * ln;
    let b = ln / 0.147;
    std::f32::consts::SQRT_2 * sign * (-a + (a * a - b).sqrt()).sqrt()
}

/// Softmax in place; `zero`: scores of exactly 0 stay 0 (onnxruntime's SOFTMAX_ZERO).
fn softmax(values: &mut [f32], zero: bool) {
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in values.iter_mut() {
        *v = if zero && v.abs() <= 1e-7 { 0.0 } else { (*v - max).exp() };
        sum += *v;
    }
    if sum == 0.0 {
        values.iter_mut().for_each(|v| *v = 0.5);
    } else {
        values.iter_mut().for_each(|v| *v /= sum);
    }
}

#[cfg(test)]
mod tests {
    use tract_onnx::pb::attribute_proto::AttributeType;
    use tract_onnx::pb::AttributeProto;

    use super::*;

    fn ints(name: &str, v: &[i64]) -> AttributeProto {
        AttributeProto { name: name.into(), r#type: AttributeType::Ints as i32, ints: v.to_vec(), ..Default::default() }
    }

    fn floats(name: &str, v: &[f32]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: AttributeType::Floats as i32,
            floats: v.to_vec(),
            ..Default::default()
        }
    }

    fn strings(name: &str, v: &[&str]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: AttributeType::Strings as i32,
            strings: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
            ..Default::default()
        }
    }

    /// One tree: node 0 tests feature 1 with `mode` against 0.5 (NaN to the true side when
    /// `nan_true`), node 1 (true) votes class 1, node 2 (false) votes class 0.
    fn stump(mode: &str, nan_true: bool, true_child: i64) -> NodeProto {
        NodeProto {
            op_type: "TreeEnsembleClassifier".into(),
            attribute: vec![
                ints("classlabels_int64s", &[0, 1]),
                ints("nodes_treeids", &[0, 0, 0]),
                ints("nodes_nodeids", &[0, 1, 2]),
                ints("nodes_featureids", &[1, 0, 0]),
                floats("nodes_values", &[0.5, 0.0, 0.0]),
                strings("nodes_modes", &[mode, "LEAF", "LEAF"]),
                ints("nodes_truenodeids", &[true_child, 0, 0]),
                ints("nodes_falsenodeids", &[2, 0, 0]),
                ints("nodes_missing_value_tracks_true", &[i64::from(nan_true), 0, 0]),
                ints("class_treeids", &[0, 0]),
                ints("class_nodeids", &[1, 2]),
                ints("class_ids", &[1, 0]),
                floats("class_weights", &[1.0, 1.0]),
            ],
            ..Default::default()
        }
    }

    fn answer(ensemble: &TreeEnsemble, x: [f32; 2]) -> [f32; 2] {
        let mut out = [0.0; 2];
        ensemble.row(&x, &mut out);
        out
    }

    #[test]
    fn every_comparison_and_the_missing_value_rule() {
        for (mode, below, equal, above) in [
            ("BRANCH_LEQ", 1.0, 1.0, 0.0),
            ("BRANCH_LT", 1.0, 0.0, 0.0),
            ("BRANCH_GTE", 0.0, 1.0, 1.0),
            ("BRANCH_GT", 0.0, 0.0, 1.0),
            ("BRANCH_EQ", 0.0, 1.0, 0.0),
            ("BRANCH_NEQ", 1.0, 0.0, 1.0),
        ] {
            let e = TreeEnsemble::from_node(&stump(mode, false, 1)).unwrap();
            let class1 = |v: f32| answer(&e, [9.0, v])[1];
            assert_eq!((class1(0.25), class1(0.5), class1(0.75)), (below, equal, above), "{mode}");
        }
        let nan_false = TreeEnsemble::from_node(&stump("BRANCH_LEQ", false, 1)).unwrap();
        let nan_true = TreeEnsemble::from_node(&stump("BRANCH_LEQ", true, 1)).unwrap();
        assert_eq!(answer(&nan_false, [0.0, f32::NAN]), [1.0, 0.0]);
        assert_eq!(answer(&nan_true, [0.0, f32::NAN]), [0.0, 1.0]);
    }

    #[test]
    fn malformed_trees_are_refused_with_the_reason() {
        let message = |node: NodeProto| TreeEnsemble::from_node(&node).unwrap_err().to_string();
        // node 0's true child is node 0: a cycle
        assert!(message(stump("BRANCH_LEQ", false, 0)).contains("cycle"));
        // a child that does not exist
        assert!(message(stump("BRANCH_LEQ", false, 7)).contains("no child 7"));
        let mut bad_class = stump("BRANCH_LEQ", false, 1);
        bad_class.attribute.retain(|a| a.name != "class_ids");
        bad_class.attribute.push(ints("class_ids", &[5, 0]));
        assert!(message(bad_class).contains("class 5"));
        let mut short = stump("BRANCH_LEQ", false, 1);
        short.attribute.retain(|a| a.name != "nodes_values");
        short.attribute.push(floats("nodes_values", &[0.5]));
        assert!(message(short).contains("different lengths"));
        let mut tensor_only = stump("BRANCH_LEQ", false, 1);
        tensor_only.attribute.retain(|a| a.name != "nodes_values");
        tensor_only.attribute.push(AttributeProto { name: "nodes_values_as_tensor".into(), ..Default::default() });
        assert!(message(tensor_only).contains("target_opset"));
    }

    #[test]
    #[cfg_attr(mle_emulated, ignore = "heavy under emulation: 2 million nodes parsed (37 s under qemu)")]
    fn a_tree_a_million_branches_deep_is_refused_without_recursion() {
        // Branch k tests feature 0; its true child is leaf 2k+1, its false child branch k+1 (the
        // last one's false child a leaf): a chain of `depth` branches.
        let chain = |depth: i64| {
            let n = 2 * depth + 1;
            let ids: Vec<i64> = (0..n).collect();
            let branch = |k: i64| k % 2 == 0 && k < n - 1;
            let modes: Vec<&str> = ids.iter().map(|&k| if branch(k) { "BRANCH_LEQ" } else { "LEAF" }).collect();
            let leaves: Vec<i64> = ids.iter().copied().filter(|&k| !branch(k)).collect();
            NodeProto {
                op_type: "TreeEnsembleClassifier".into(),
                attribute: vec![
                    ints("classlabels_int64s", &[0, 1]),
                    ints("nodes_treeids", &vec![0; n as usize]),
                    ints("nodes_nodeids", &ids),
                    ints("nodes_featureids", &vec![0; n as usize]),
                    floats("nodes_values", &vec![0.5; n as usize]),
                    strings("nodes_modes", &modes),
                    ints(
                        "nodes_truenodeids",
                        &ids.iter().map(|&k| if branch(k) { k + 1 } else { 0 }).collect::<Vec<_>>(),
                    ),
                    ints(
                        "nodes_falsenodeids",
                        &ids.iter().map(|&k| if branch(k) { k + 2 } else { 0 }).collect::<Vec<_>>(),
                    ),
                    ints("class_treeids", &vec![0; leaves.len()]),
                    ints("class_nodeids", &leaves),
                    ints("class_ids", &vec![1; leaves.len()]),
                    floats("class_weights", &vec![1.0; leaves.len()]),
                ],
                ..Default::default()
            }
        };
        let deep = TreeEnsemble::from_node(&chain(1_000_000)).unwrap_err().to_string();
        assert!(deep.contains("deeper than 4096") && deep.contains("max_depth"), "{deep}");
        let e = TreeEnsemble::from_node(&chain(MAX_TREE_DEPTH as i64)).unwrap();
        assert_eq!(answer(&e, [0.0, 0.0]), [0.0, 1.0], "the deepest tree allowed still answers");
    }

    #[test]
    fn a_one_column_binary_model_answers_both_labels() {
        let mut node = stump("BRANCH_LEQ", false, 1);
        node.attribute.retain(|a| !["class_ids", "post_transform", "base_values"].contains(&a.name.as_str()));
        node.attribute.push(ints("class_ids", &[0, 0]));
        node.attribute.push(floats("base_values", &[0.5]));
        node.attribute.push(AttributeProto {
            name: "post_transform".into(),
            r#type: AttributeType::String as i32,
            s: b"LOGISTIC".to_vec(),
            ..Default::default()
        });
        let e = TreeEnsemble::from_node(&node).unwrap();
        let [negative, positive] = answer(&e, [0.0, 0.0]); // true leaf: 1.0 + base 0.5
        let p = 1.0 / (1.0 + (-1.5f32).exp());
        assert!((positive - p).abs() < 1e-6 && (negative - (1.0 - p)).abs() < 1e-6, "{negative} {positive}");
    }
}
