//! Where the headline encoder's inference time goes, per tract operator (`Session::profile_text`:
//! every node of the plan timed), for both variants (fp32 and int8 products) at about 16 and 32
//! tokens (the first text of each length class of benches/inputs.json). Prints the BENCHMARKS.md
//! tables; `cargo test --benches` runs it with 2 runs per case.
//!
//! With `MLE_ORT_DYLIB` set (benches/against-onnxruntime.sh profile), onnxruntime's C API answers
//! the same text in the same process, in slices alternating with the profiled runs, and each table
//! ends with its whole request (tokenize, run, logits) beside this runtime's matrix products alone:
//! what the kernels would have to reach before anything else counts.

use std::path::PathBuf;
use std::time::{Duration, Instant};

// Its feature-model sessions serve the other benches.
#[allow(dead_code)]
#[path = "common/onnxruntime_c.rs"]
mod onnxruntime_c;

use mlops_edge::alloc::PoolRouter;
use mlops_edge::{Model, ModelOptions, Session};
use onnxruntime_c::OnnxRuntime;

#[global_allocator]
static ALLOCATOR: PoolRouter = PoolRouter::system();

/// Profiled runs and onnxruntime requests alternate in this many slices.
const SLICES: usize = 10;

/// The operators that are tract's matrix products: the kernel runs and the packing of their inputs.
const MATRIX_PRODUCT_OPS: [&str; 2] = ["OptMatMul", "OptMatMulPack"];

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let runs_per_slice = if full { 30 } else { 1 };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let inputs: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("benches/inputs.json")).unwrap()).unwrap();
    let ort = std::env::var("MLE_ORT_DYLIB").ok().map(|p| OnnxRuntime::load(&p).expect("onnxruntime library"));
    // MLE_PROFILE_FIXED_LENGTHS=1: the fp32 variant with one plan per text length, every symbol
    // bound (plan_per_bucket, a bucket at each text's token count): what tract's kernel choice
    // makes of a known length against the shared plan's symbolic one.
    let fixed = std::env::var_os("MLE_PROFILE_FIXED_LENGTHS").is_some();
    let variants: &[&str] =
        if fixed { &["minilm-l3-promptinj"] } else { &["minilm-l3-promptinj", "minilm-l3-promptinj-int8"] };
    for &variant in variants {
        let dir = root.join("models").join(variant);
        let options = if fixed {
            let shared = Model::load(&dir, &ModelOptions::default()).unwrap();
            let lengths: Vec<usize> = ["16", "32"]
                .iter()
                .map(|b| shared.tokenize(inputs["minilm-l3-promptinj"][b][0].as_str().unwrap()).unwrap().0.len())
                .collect();
            ModelOptions { plan_per_bucket: true, sequence_buckets: Some(lengths), ..ModelOptions::default() }
        } else {
            ModelOptions::default()
        };
        let model = Model::load(&dir, &options).unwrap();
        let mut session = Session::new(&model).unwrap();
        let mut ort_model = ort.as_ref().map(|o| o.text_session(&dir, model.max_input_length(), 2).unwrap());
        for bucket in ["16", "32"] {
            let text = inputs["minilm-l3-promptinj"][bucket][0].as_str().unwrap();
            if let Some(o) = ort_model.as_mut() {
                o.classify_text(text).unwrap(); // its first run at this length
            }
            let mut slices = Vec::with_capacity(SLICES);
            let mut theirs: Vec<Duration> = Vec::new();
            for _ in 0..SLICES {
                slices.push(session.profile_text(text, runs_per_slice).unwrap());
                if let Some(o) = ort_model.as_mut() {
                    for _ in 0..runs_per_slice {
                        let start = Instant::now();
                        std::hint::black_box(o.classify_text(text).unwrap());
                        theirs.push(start.elapsed());
                    }
                }
            }
            let profile = mean_profile(&slices);
            let run_us = profile.run_us;
            let ops_us: f64 = profile.ops.iter().map(|(_, _, us)| us).sum();
            let runs = SLICES * runs_per_slice;
            println!("\n{variant}, {} tokens: one run {run_us:.0} µs ({runs} runs, mean)\n", profile.tokens);
            println!("| operator | nodes | µs per run | share |");
            println!("|---|---|---|---|");
            for (op, nodes, us) in &profile.ops {
                if us / run_us >= 0.005 {
                    println!("| {op} | {nodes} | {us:.0} | {:.1}% |", 100.0 * us / run_us);
                }
            }
            let small: f64 = profile.ops.iter().map(|(_, _, us)| *us).filter(|&us| us / run_us < 0.005).sum();
            println!("| (operators under 0.5% each) | | {small:.0} | {:.1}% |", 100.0 * small / run_us);
            println!(
                "| (tract's per-run work beside the operators) | | {:.0} | {:.1}% |",
                run_us - ops_us,
                100.0 * (run_us - ops_us) / run_us
            );
            if bucket == "16" {
                println!("\nmatrix-product kernels of the plan (tract's description, nodes):");
                for (kernel, nodes) in &slices[0].kernels {
                    println!("- {kernel} ({nodes})");
                }
            }
            if !theirs.is_empty() {
                let products: f64 = profile
                    .ops
                    .iter()
                    .filter(|(op, _, _)| MATRIX_PRODUCT_OPS.contains(&op.as_str()))
                    .map(|(_, _, us)| us)
                    .sum();
                let ort_us = theirs.iter().map(Duration::as_secs_f64).sum::<f64>() * 1e6 / theirs.len() as f64;
                println!(
                    "\nonnxruntime's whole request on this text (tokenize, run, logits; {runs} runs, mean): {ort_us:.0} µs; \
                     this runtime's matrix products alone (OptMatMul + OptMatMulPack): {products:.0} µs ({:.2}×)",
                    products / ort_us
                );
            }
        }
    }
}

/// A profile averaged over slices of equal run counts: (operator, nodes, µs per run) by total
/// time, the whole run's µs per run, and the text's tokens.
struct MeanProfile {
    tokens: usize,
    ops: Vec<(String, usize, f64)>,
    run_us: f64,
}

fn mean_profile(slices: &[mlops_edge::session::Profile]) -> MeanProfile {
    let n = slices.len() as f64;
    let mut ops: Vec<(String, usize, f64)> = Vec::new();
    for slice in slices {
        for op in &slice.ops {
            let us = op.time.as_secs_f64() * 1e6 / n;
            match ops.iter_mut().find(|(name, _, _)| *name == op.op) {
                Some(entry) => entry.2 += us,
                None => ops.push((op.op.clone(), op.nodes, us)),
            }
        }
    }
    ops.sort_by(|a, b| b.2.total_cmp(&a.2));
    MeanProfile {
        tokens: slices[0].tokens,
        ops,
        run_us: slices.iter().map(|s| s.run.as_secs_f64() * 1e6).sum::<f64>() / n,
    }
}
