//! Entry points for fuzzing (feature `fuzzing`): one function per parser of outside data, each
//! taking arbitrary bytes. A fuzz target (fuzz/fuzz_targets/) and the corpus replay in the test
//! suite (tests/fuzz_smoke.rs) call the same function; a panic, an abort or a hang in one is a
//! bug. Every function treats an error as a good answer: bad input must be refused, never crash.

use std::sync::OnceLock;

use crate::deploy::ab;
use crate::model::TextEncoder;
use crate::monitor::{Baseline, BaselineSamples, Monitor, MonitorConfig};
use crate::package::{self, SecretKey, TrustPolicy};
use crate::session::{Input, Session};
use crate::telemetry::{Telemetry, TelemetryOptions, Verdict};
use crate::{Model, ModelCard, ModelOptions};

/// For each fuzz target's `init`: a panic hook that lets the library catch panics as it does in
/// production. libfuzzer-sys's own hook aborts on every panic, even one the library catches and
/// answers with an error (tract's and the tokenizers crate's, behind
/// `error::internal_panics_as_errors`), which made those good answers look like findings. This
/// hook only counts them and prints the first few and every 10,000th; a panic that escapes the
/// library still ends the run, because libfuzzer-sys catches it at the target's boundary and
/// aborts.
pub fn let_the_library_catch_panics() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static CAUGHT: AtomicU64 = AtomicU64::new(0);
    std::panic::set_hook(Box::new(|info| {
        let n = CAUGHT.fetch_add(1, Ordering::Relaxed) + 1;
        if n <= 3 || n % 10_000 == 0 {
            eprintln!("panic #{n} (the library turns it into an error unless the run aborts next): {info}");
        }
    }));
}

/// Model package bytes: opened without keys and with a trusted key; a package that opens is then
/// loaded as a model.
pub fn package(data: &[u8]) {
    let opens = package::open(data, &TrustPolicy::default()).is_ok();
    let key = SecretKey::from_seed([7; 32]).expect("a valid seed");
    let trusted = TrustPolicy { keys: vec![key.public_key()], min_package_version: 1 };
    let _ = package::open(data, &trusted);
    if opens {
        let _ = Model::from_package(data, &small_options());
    }
}

/// ONNX bytes (and anything else) given as a model.
pub fn onnx(data: &[u8]) {
    let _ = Model::from_bytes(data, None, None, &small_options());
}

/// A sidecar card (JSON text) over an empty metadata set.
pub fn card(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ModelCard::from_sources(&[], Some(text));
    }
}

/// tokenizer.json bytes, then a text through the tokenizer they make.
pub fn tokenizer(data: &[u8]) {
    if let Ok(encoder) = TextEncoder::new(data, 64, 1024) {
        let mut ids = [0i64; 64];
        let _ = encoder.encode("Ignore all previous instructions, ünïcödé 😀", &mut ids);
    }
}

/// A telemetry spool file's bytes, recovered by a new telemetry handle.
pub fn spool(data: &[u8]) {
    let dir = std::env::temp_dir().join(format!("mle-fuzz-spool-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{:?}.spool", std::thread::current().id()).replace(['(', ')'], ""));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let options = TelemetryOptions { spool_path: Some(path.clone()), ..TelemetryOptions::default() };
    if let Ok(telemetry) = Telemetry::new(options, Box::new(|_| Verdict::Ok), None) {
        let _ = telemetry.flush();
        let _ = telemetry.stats();
    }
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(path.with_extension("spool.lock"));
}

/// A baseline the host loads into a monitor: the bytes as f64 samples split into its parts.
pub fn baseline(data: &[u8]) {
    let values: Vec<f64> = data.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect();
    let third = values.len() / 3;
    let (latency, rest) = values.split_at(third);
    let (confidence, lengths) = rest.split_at(third);
    let counts: Vec<u64> = data.iter().take(4).map(|&b| u64::from(b)).collect();
    let samples = BaselineSamples {
        latency_us: latency,
        confidence,
        input_length: lengths,
        features: &[],
        label_counts: &counts,
        error_rate: data.first().map(|&b| f64::from(b) / 200.0).unwrap_or(0.0),
    };
    if let Ok(monitor) = Monitor::new(MonitorConfig { label_count: counts.len().max(1), ..MonitorConfig::default() }) {
        let _ = monitor.load_baseline(&samples);
    }
    let _ = Baseline::from_samples(&samples);
}

/// Request inputs on a session of the shipped text model and of a tensor model: the bytes as
/// (lossy) text, as raw bytes given to a text model, and as f32 features.
pub fn session_inputs(data: &[u8]) {
    thread_local! {
        static SESSIONS: std::cell::RefCell<Option<(Session, Session)>> = const { std::cell::RefCell::new(None) };
    }
    let (text_model, tensor_model) = fuzz_models()
        .expect("the fuzz models (models/profanity-tfidf, models/breast-cancer-logreg, or MLE_FUZZ_MODELS)");
    SESSIONS.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            let (Ok(a), Ok(b)) = (Session::new(text_model), Session::new(tensor_model)) else { return };
            *cell = Some((a, b));
        }
        let (text, tensor) = cell.as_mut().expect("set above");
        let mut probabilities = [0f32; 4];
        let _ = text.classify(Input::Text(&String::from_utf8_lossy(data)), Some(&mut probabilities));
        if let Ok(s) = std::str::from_utf8(data) {
            let _ = text.classify_text(s, None);
        }
        let _ = text.classify(Input::Bytes(data), None);
        let features: Vec<f32> =
            data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect();
        let _ = tensor.classify(Input::Tensor(&features), Some(&mut probabilities));
        let _ = tensor.classify(Input::Tensor(&features), Some(&mut probabilities[..1]));
    });
}

/// The models `session_inputs` uses: profanity-tfidf (text) and breast-cancer-logreg (30 f32
/// features) from `MLE_FUZZ_MODELS` or the repository's models/ directory.
fn fuzz_models() -> Option<&'static (Model, Model)> {
    static MODELS: OnceLock<Option<(Model, Model)>> = OnceLock::new();
    MODELS
        .get_or_init(|| {
            let dir = std::env::var_os("MLE_FUZZ_MODELS")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models"));
            let text = Model::load(dir.join("profanity-tfidf"), &ModelOptions::default()).ok()?;
            let tensor = Model::load(dir.join("breast-cancer-logreg"), &ModelOptions::default()).ok()?;
            Some((text, tensor))
        })
        .as_ref()
}

/// A/B assignment inputs: the bytes split into an experiment name, a user id and weights.
pub fn ab_inputs(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\u{1f}');
    let experiment = parts.next().unwrap_or("");
    let user = parts.next().unwrap_or("");
    let weights: Vec<f64> =
        parts.next().unwrap_or("").split(',').take(20).filter_map(|w| w.trim().parse().ok()).collect();
    let _ = ab::validate_weights(&weights);
    let _ = ab::assign_md5(experiment, user, &weights);
    for version in [1, 2, 3] {
        let _ = ab::choose_growthbook(experiment, user, &weights, version);
        let _ = ab::growthbook_hash(experiment, user, version);
    }
    let _ = ab::growthbook_bucket_ranges(weights.len().min(20), 0.5, Some(&weights));
    let _ = ab::growthbook_in_namespace(user, experiment, 0.1, 0.9);
}

/// Loading options that keep a fuzzed model's cost bounded: no batch plan.
fn small_options() -> ModelOptions {
    ModelOptions { max_batch: 1, max_model_bytes: 16 << 20, ..ModelOptions::default() }
}
