//! `classify --model models/<dir> [--kind text|bytes|f32]`: one input per line on stdin (text;
//! a file path for bytes; comma-separated floats for f32), one JSON object per line on stdout:
//! `{"label", "label_index", "score", "probabilities", "latency_us", "flags"}`, or `{"error",
//! "status"}` for an input that fails (the run goes on). `--kind` defaults to the model's.

use std::io::{BufRead, Write};

use mlops_edge::{InputKind, Model, ModelOptions, Session};
use serde_json::json;

#[global_allocator]
static ALLOCATOR: mlops_edge::alloc::PoolRouter = mlops_edge::alloc::PoolRouter::system();

fn usage() -> ! {
    eprintln!("usage: classify --model <dir or .onnx> [--kind text|bytes|f32] < inputs");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut model_path = None;
    let mut kind = None;
    let mut i = 0;
    while i < args.len() {
        match (args[i].as_str(), args.get(i + 1)) {
            ("--model", Some(v)) => model_path = Some(v.clone()),
            ("--kind", Some(v)) => kind = Some(v.clone()),
            _ => usage(),
        }
        i += 2;
    }
    let Some(model_path) = model_path else { usage() };
    let model = Model::load(&model_path, &ModelOptions::default()).unwrap_or_else(|e| {
        eprintln!("classify: cannot load {model_path}: {e}");
        std::process::exit(1)
    });
    let kind = match kind.as_deref() {
        None => model.input_kind(),
        Some("text") => InputKind::Text,
        Some("bytes") => InputKind::Bytes,
        Some("f32") => InputKind::Tensor,
        Some(other) => {
            eprintln!("classify: unknown kind {other:?}");
            usage()
        }
    };
    let mut session = Session::new(&model).unwrap_or_else(|e| {
        eprintln!("classify: cannot create a session: {e}");
        std::process::exit(1)
    });
    let mut probs = vec![0f32; model.labels().len()];
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in std::io::stdin().lock().lines() {
        let line = match line {
            Ok(line) => line,
            Err(e) => {
                eprintln!("classify: reading stdin: {e}");
                std::process::exit(1)
            }
        };
        let result = match kind {
            InputKind::Text => session.classify_text(&line, Some(&mut probs)),
            InputKind::Bytes => match std::fs::read(line.trim()) {
                Ok(data) => session.classify_bytes(&data, Some(&mut probs)),
                Err(e) => Err(mlops_edge::Error::new(mlops_edge::Status::Io, format!("{}: {e}", line.trim()))),
            },
            InputKind::Tensor => {
                let values: Result<Vec<f32>, _> = line.split(',').map(|v| v.trim().parse::<f32>()).collect();
                match values {
                    Ok(values) => session.classify_f32(&values, Some(&mut probs)),
                    Err(e) => Err(mlops_edge::Error::new(
                        mlops_edge::Status::InvalidArgument,
                        format!("not comma-separated floats: {e}"),
                    )),
                }
            }
        };
        let record = match result {
            Ok(p) => json!({
                "label": &*p.label,
                "label_index": p.label_index,
                "score": p.score,
                "probabilities": probs,
                "latency_us": p.latency.as_secs_f64() * 1e6,
                "flags": p.flags,
            }),
            Err(e) => json!({"error": e.message(), "status": e.status().code()}),
        };
        if writeln!(out, "{record}").is_err() {
            return;
        }
    }
}
