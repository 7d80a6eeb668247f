//! Where a text request's inference time goes, per tract operator: a benchmark hook
//! (`benches/profile.rs`), not a request path. It allocates, and runs outside the pool.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tract_onnx::prelude::*;

use super::Session;
use crate::error::{fail, Error, Result, Status};
use crate::model::InputKind;

/// The time one kind of operator took over the profiled runs.
#[derive(Clone, Debug, PartialEq)]
pub struct OpTime {
    /// tract's operator name (`OptMatMul`, `Softmax`, …).
    pub op: String,
    /// How many nodes of the plan run this operator.
    pub nodes: usize,
    /// Their time, summed over the nodes, per run (the mean over the runs).
    pub time: Duration,
}

/// A profile: time per operator, and the whole runs' time (per run) of which they are a part.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// Tokens the text ran at.
    pub tokens: usize,
    /// Operators, the slowest first.
    pub ops: Vec<OpTime>,
    /// One whole run, mean (tract's own per-run work beside the operators included).
    pub run: Duration,
    /// The matrix-product kernels the plan uses: each distinct shape and kernel choice of its
    /// `OptMatMul` nodes as tract describes it ("Mult: m:S k:384 n:1536 with [...]"), with how many
    /// nodes share it.
    pub kernels: Vec<(String, usize)>,
}

impl Session {
    /// Benchmark hook: tokenizes `text`, then runs its plan `runs` times timing every node (a
    /// warm-up run first, not counted). Text models only.
    #[doc(hidden)]
    pub fn profile_text(&mut self, text: &str, runs: usize) -> Result<Profile> {
        let inner = Arc::clone(&self.model.inner);
        let model = &*inner;
        if model.kind != InputKind::Text || runs == 0 {
            return fail(Status::InvalidArgument, "profile_text needs a text model and at least one run");
        }
        let unit = self.unit.as_mut().expect("a live session always holds its unit");
        let (plan, slot, tokens) = super::write_text(model, &mut unit.inputs, &mut self.ids, text)?;
        let count = tokens.count;
        let mut per_node: Vec<(String, Duration)> = Vec::new();
        let mut whole = Duration::ZERO;
        for round in 0..=runs {
            let values: TVec<TValue> = unit.inputs[slot].iter().map(|t| TValue::from_const(Arc::clone(t))).collect();
            let mut times: Vec<(String, Duration)> = Vec::new();
            let start = Instant::now();
            let outputs = unit.states[plan]
                .run_with_eval(values, |ctx, state, node, input| {
                    let t = Instant::now();
                    let out = tract_core::plan::eval(ctx, state, node, input);
                    times.push((node.op().name().to_string(), t.elapsed()));
                    out
                })
                .map_err(|e| Error::tract(Status::Inference, "profiling the model", e))?;
            let elapsed = start.elapsed();
            drop(outputs);
            if round == 0 {
                continue;
            }
            whole += elapsed;
            for (op, time) in times {
                match per_node.iter_mut().find(|(name, _)| *name == op) {
                    Some((_, total)) => *total += time,
                    None => per_node.push((op, time)),
                }
            }
        }
        let graph = model.plans[plan].runnable.model();
        let nodes = |op: &str| graph.nodes.iter().filter(|n| n.op().name() == op).count();
        let mut ops: Vec<OpTime> =
            per_node.into_iter().map(|(op, time)| OpTime { nodes: nodes(&op), op, time: time / runs as u32 }).collect();
        ops.sort_by_key(|o| std::cmp::Reverse(o.time));
        let mut kernels: Vec<(String, usize)> = Vec::new();
        for node in graph.nodes.iter().filter(|n| n.op().name() == "OptMatMul") {
            for line in node.op().info().unwrap_or_default().into_iter().filter(|l| l.starts_with("Mult:")) {
                match kernels.iter_mut().find(|(k, _)| *k == line) {
                    Some((_, n)) => *n += 1,
                    None => kernels.push((line, 1)),
                }
            }
        }
        Ok(Profile { tokens: count.max(1), ops, run: whole / runs as u32, kernels })
    }
}
