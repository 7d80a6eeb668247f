//! Where the headline encoder's inference time goes, per tract operator (`Session::profile_text`:
//! every node of the plan timed), for both variants (fp32 and int8 products) at about 16 and 32
//! tokens (the first text of each length class of benches/inputs.json). Prints the BENCHMARKS.md
//! tables; `cargo test --benches` runs it with 2 runs per case.

use std::path::PathBuf;

use mlops_edge::alloc::PoolRouter;
use mlops_edge::{Model, ModelOptions, Session};

#[global_allocator]
static ALLOCATOR: PoolRouter = PoolRouter::system();

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let runs = if full { 300 } else { 2 };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let inputs: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("benches/inputs.json")).unwrap()).unwrap();
    for variant in ["minilm-l3-promptinj", "minilm-l3-promptinj-int8"] {
        let model = Model::load(root.join("models").join(variant), &ModelOptions::default()).unwrap();
        let mut session = Session::new(&model).unwrap();
        for bucket in ["16", "32"] {
            let text = inputs["minilm-l3-promptinj"][bucket][0].as_str().unwrap();
            let profile = session.profile_text(text, runs).unwrap();
            let run_us = profile.run.as_secs_f64() * 1e6;
            let ops_us: f64 = profile.ops.iter().map(|o| o.time.as_secs_f64() * 1e6).sum();
            println!("\n{variant}, {} tokens: one run {run_us:.0} µs ({runs} runs, mean)\n", profile.tokens);
            println!("| operator | nodes | µs per run | share |");
            println!("|---|---|---|---|");
            for op in &profile.ops {
                let us = op.time.as_secs_f64() * 1e6;
                if us / run_us >= 0.005 {
                    println!("| {} | {} | {us:.0} | {:.1}% |", op.op, op.nodes, 100.0 * us / run_us);
                }
            }
            let small: f64 =
                profile.ops.iter().map(|o| o.time.as_secs_f64() * 1e6).filter(|&us| us / run_us < 0.005).sum();
            println!("| (operators under 0.5% each) | | {small:.0} | {:.1}% |", 100.0 * small / run_us);
            println!(
                "| (tract's per-run work beside the operators) | | {:.0} | {:.1}% |",
                run_us - ops_us,
                100.0 * (run_us - ops_us) / run_us
            );
        }
    }
}
