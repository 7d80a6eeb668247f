//! The fuzz targets' smoke run (full tier: `#[ignore = "heavy: …"]`): every function of
//! `mlops_edge::fuzz` over its seed corpus and a fixed number of deterministic mutations of each
//! seed (bit flips, truncations, insertions, splices), in the ordinary test build. A panic fails
//! the test and names the target, the seed and the mutation.
//! It also writes the seeds to target/tmp/fuzz-seeds/, where the coverage-guided campaign
//! (scripts/fuzz.sh: cargo-fuzz, nightly; docs/fuzzing.md) starts from.

mod common;

use std::path::PathBuf;

use common::Rng;
use mlops_edge::fuzz;

/// One target: its function, its seed files, and how many mutations of each seed to run.
struct Target {
    name: &'static str,
    run: fn(&[u8]),
    seeds: Vec<Vec<u8>>,
    mutations_per_seed: usize,
}

fn read(path: PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn targets() -> Vec<Target> {
    let root = common::models().parent().unwrap().to_path_buf();
    let exports = common::test_data().join("exports");
    let small_onnx: Vec<Vec<u8>> = [
        "logreg-scaler-breast.onnx",
        "tree-wine.onnx",
        "dictvectorizer-logreg-breast.onnx",
        "pca-logreg-wine-nozipmap.onnx",
    ]
    .iter()
    .map(|f| read(exports.join(f)))
    .chain([read(common::model_dir("breast-cancer-logreg").join("model.onnx"))])
    .collect();
    let packages = ["breast-signed.mlepkg", "breast-unsigned.mlepkg"]
        .iter()
        .map(|f| read(common::test_data().join("packages").join(f)))
        .collect();
    let cards = vec![
        br#"{"name": "m", "version": "1", "id2label": {"0": "A", "1": "B"}, "trained_at": "2026-01-02T03:04:05Z"}"#.to_vec(),
        br#"{"max_sequence_length": 128, "sequence_buckets": [8, 16], "postprocess": "softmax", "metrics": {"f1": 0.9}}"#.to_vec(),
        br#"{"input_kind": "bytes", "bytes_beg_size": 512, "bytes_end_size": 512, "bytes_block_size": 4096, "bytes_padding_token": 256}"#.to_vec(),
        br#"{"self_test": [{"text": "a", "label": "A"}, {"features": [1, 2], "label": "B"}]}"#.to_vec(),
    ];
    let spool = real_spool();
    let baseline: Vec<u8> = (0..2400u32).flat_map(|i| (f64::from(i % 97) * 1.5).to_le_bytes()).collect();
    let texts: Vec<Vec<u8>> = ["hello there", "shut up you idiot", "", "ünïcödé 😀 \u{0}", "a\u{1f}b\u{1f}0.5,0.5"]
        .iter()
        .map(|t| t.as_bytes().to_vec())
        .collect();
    let ab = vec![b"exp-1\x1fuser-42\x1f0.5,0.5".to_vec(), b"\x1f\x1f1".to_vec(), b"e\x1fu\x1f0.1,0.2,0.7".to_vec()];
    vec![
        Target { name: "package", run: fuzz::package, seeds: packages, mutations_per_seed: 400 },
        Target { name: "onnx", run: fuzz::onnx, seeds: small_onnx, mutations_per_seed: 160 },
        Target { name: "card", run: fuzz::card, seeds: cards, mutations_per_seed: 3000 },
        Target { name: "tokenizer", run: fuzz::tokenizer, seeds: tokenizer_seeds(&root), mutations_per_seed: 200 },
        Target { name: "spool", run: fuzz::spool, seeds: vec![spool], mutations_per_seed: 4000 },
        Target { name: "baseline", run: fuzz::baseline, seeds: vec![baseline], mutations_per_seed: 3000 },
        Target { name: "session_inputs", run: fuzz::session_inputs, seeds: texts, mutations_per_seed: 1000 },
        Target { name: "ab_inputs", run: fuzz::ab_inputs, seeds: ab, mutations_per_seed: 4000 },
    ]
}

/// The shipped text model's tokenizer.json and the small ones of fuzz/seeds/tokenizer (WordPiece,
/// byte-level BPE, Unigram, WordLevel; small enough for libFuzzer to mutate quickly).
fn tokenizer_seeds(root: &std::path::Path) -> Vec<Vec<u8>> {
    let mut small: Vec<PathBuf> = std::fs::read_dir(root.join("fuzz/seeds/tokenizer"))
        .expect("fuzz/seeds/tokenizer")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    small.sort();
    assert!(small.len() >= 4, "the small tokenizer seeds: {small:?}");
    std::iter::once(root.join("models/profanity-tfidf/tokenizer.json")).chain(small).map(read).collect()
}

/// Writes each target's seeds to `<cargo's test tmp dir>/fuzz-seeds/<target>/` (target/tmp), where
/// scripts/fuzz.sh starts the coverage-guided campaign from: the seeds of both runs are these.
fn write_seeds(targets: &[Target]) {
    for target in targets {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-seeds").join(target.name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for (i, seed) in target.seeds.iter().enumerate() {
            let path = dir.join(format!("seed-{i}"));
            std::fs::write(&path, seed).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(&read(path), seed, "seed {i} of {} written back unchanged", target.name);
        }
    }
}

/// A spool file as the library writes it: records, an offered batch (the upload says RETRY), an
/// acknowledgement.
fn real_spool() -> Vec<u8> {
    use mlops_edge::{Telemetry, TelemetryOptions, Verdict};
    let dir = std::env::temp_dir().join(format!("mle-fuzz-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("seed.spool");
    {
        let options = TelemetryOptions {
            spool_path: Some(path.clone()),
            batch_max_records: 4,
            retry_initial: std::time::Duration::from_millis(1),
            ..TelemetryOptions::default()
        };
        let mut answers = [Verdict::Ok, Verdict::Retry].into_iter().cycle();
        let telemetry = Telemetry::new(options, Box::new(move |_| answers.next().unwrap()), None).unwrap();
        for i in 0..10 {
            telemetry.record_event(&common::telemetry_event(i));
        }
        telemetry.flush().unwrap();
        telemetry.persist().unwrap();
    }
    let bytes = read(path);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(bytes.len() > 100, "a spool with content");
    bytes
}

/// One mutation of `seed`: what libFuzzer's simplest mutators do.
fn mutate(seed: &[u8], rng: &mut Rng, other: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(6) {
            0 if !data.is_empty() => {
                let at = rng.below(data.len());
                data[at] ^= 1 << rng.below(8);
            }
            1 if !data.is_empty() => {
                let at = rng.below(data.len());
                data[at] = rng.next() as u8;
            }
            2 => data.truncate(rng.below(data.len() + 1)),
            3 => {
                let at = rng.below(data.len() + 1);
                let bytes: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
                data.splice(at..at, bytes);
            }
            4 if !other.is_empty() => {
                let at = rng.below(data.len() + 1);
                let from = rng.below(other.len());
                let len = rng.below(other.len() - from + 1).min(64);
                data.splice(at..at, other[from..from + len].iter().copied());
            }
            _ if data.len() > 8 => {
                // Interesting integers where length fields usually live.
                let at = rng.below(data.len() - 8);
                let value: u64 = [0, 1, u64::MAX, 1 << 31, 1 << 40, 0x7fff_ffff][rng.below(6)];
                data[at..at + 8].copy_from_slice(&value.to_le_bytes());
            }
            _ => data.push(rng.next() as u8),
        }
    }
    data
}

#[test]
#[ignore = "heavy: the fuzz targets over their seeds and ~40,000 mutations"]
fn fuzz_targets_survive_their_seeds_and_mutations() {
    let targets = targets();
    write_seeds(&targets);
    let mut total = 0;
    for target in targets {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ target.name.len() as u64);
        let mut runs = 0;
        for (s, seed) in target.seeds.iter().enumerate() {
            (target.run)(seed);
            runs += 1;
            let other = &target.seeds[(s + 1) % target.seeds.len()];
            for m in 0..target.mutations_per_seed {
                let input = mutate(seed, &mut rng, other);
                let result = std::panic::catch_unwind(|| (target.run)(&input));
                assert!(
                    result.is_ok(),
                    "fuzz target {} panicked on mutation {m} of seed {s} ({} bytes): {:?}",
                    target.name,
                    input.len(),
                    result.err().and_then(|e| e.downcast_ref::<String>().cloned())
                );
                runs += 1;
            }
        }
        eprintln!("{}: {runs} inputs", target.name);
        total += runs;
    }
    assert!(total > 30_000, "{total} inputs in all");
}
