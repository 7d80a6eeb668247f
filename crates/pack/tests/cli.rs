//! `mle-pack` end to end: a user's own tabular model and text model packed with golden cases,
//! signed, verified, inspected; and what it refuses (a golden case the model answers otherwise,
//! an operator the runtime lacks, a wrong key, a changed byte) with exit status 1 and the reason.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mle-pack")).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(o.status.success(), "mle-pack {args:?}: {}", text(&o));
    text(&o)
}

fn fails(args: &[&str], code: i32, says: &[&str]) {
    let o = run(args);
    assert_eq!(o.status.code(), Some(code), "mle-pack {args:?}: {}", text(&o));
    for s in says {
        assert!(text(&o).contains(s), "mle-pack {args:?} says {s}: {}", text(&o));
    }
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("mle-pack-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// breast-cancer-logreg's golden inputs as a golden CSV: 30 features, then the name of the label
/// the shipped golden file says onnxruntime gave (the other label when `wrong`).
fn breast_golden_csv(path: &str, wrong: bool) {
    let model = mlops_edge::Model::load(root().join("models/breast-cancer-logreg"), &Default::default()).unwrap();
    let golden: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root().join("models/breast-cancer-logreg/golden.json")).unwrap())
            .unwrap();
    let mut csv = (0..30).map(|i| format!("f{i}")).collect::<Vec<_>>().join(",") + ",label\n";
    for case in golden["cases"].as_array().unwrap().iter().take(8) {
        let features: Vec<String> = case["input"].as_array().unwrap().iter().map(|v| v.to_string()).collect();
        let index = case["label_index"].as_u64().unwrap();
        let index = if wrong { 1 - index } else { index };
        csv += &format!("{},{}\n", features.join(","), model.labels()[index as usize]);
    }
    std::fs::write(path, csv).unwrap();
}

#[test]
fn a_tabular_model_is_packed_signed_verified_and_inspected() {
    let s = Scratch::new("tabular");
    let model = root().join("models/breast-cancer-logreg/model.onnx");
    let model = model.to_str().unwrap();
    let (golden, card) = (s.path("golden.csv"), s.path("card.json"));
    breast_golden_csv(&golden, false);
    std::fs::write(&card, r#"{"name": "breast", "version": "1.2.0", "description": "my own logistic regression"}"#)
        .unwrap();
    let said = ok(&["keygen", "--out", &s.path("release")]);
    assert!(said.contains("release.pub"), "{said}");
    fails(&["keygen", "--out", &s.path("release")], 1, &["exists"]);
    let package = s.path("breast.mlepkg");
    let said = ok(&[
        "pack",
        "--model",
        model,
        "--card",
        &card,
        "--golden",
        &golden,
        "--package-version",
        "5",
        "--out",
        &package,
    ]);
    assert!(said.contains("8 golden cases passed") && said.contains("unsigned"), "{said}");
    // Unsigned: verify without keys passes, with a key refuses.
    ok(&["verify", &package]);
    fails(&["verify", "--trusted-key", &s.path("release.pub"), &package], 1, &["not signed", "package_unsigned"]);
    let said = ok(&["sign", "--key", &s.path("release.key"), &package]);
    assert!(said.contains("signed by key"), "{said}");
    let said = ok(&["verify", "--trusted-key", &s.path("release.pub"), "--min-package-version", "5", &package]);
    assert!(said.contains("signed by trusted key") && said.contains("8 golden cases passed"), "{said}");
    fails(
        &["verify", "--trusted-key", &s.path("release.pub"), "--min-package-version", "6", &package],
        1,
        &["package_outdated"],
    );
    ok(&["keygen", "--out", &s.path("other")]);
    fails(&["verify", "--trusted-key", &s.path("other.pub"), &package], 1, &["not among", "package_untrusted_key"]);
    let said = ok(&["inspect", &package]);
    for needle in [
        "breast 1.2.0",
        "package_version 5",
        "model.onnx",
        "card.json",
        "self_test.json",
        "sha256",
        "signature: ed25519",
        "my own logistic regression",
        "tensor input",
        "golden cases: 8",
        "plan:",
    ] {
        assert!(said.contains(needle), "inspect shows {needle}: {said}");
    }
    // A changed byte is refused by verify and inspect alike.
    let mut bytes = std::fs::read(&package).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    let changed = s.path("changed.mlepkg");
    std::fs::write(&changed, bytes).unwrap();
    fails(&["verify", "--trusted-key", &s.path("release.pub"), &changed], 1, &[]);
    fails(&["inspect", &changed], 1, &[]);
    // pack --key signs in one step.
    let signed = s.path("signed.mlepkg");
    ok(&[
        "pack",
        "--model",
        model,
        "--golden",
        &golden,
        "--package-version",
        "6",
        "--out",
        &signed,
        "--key",
        &s.path("release.key"),
    ]);
    ok(&["verify", "--trusted-key", &s.path("release.pub"), &signed]);
}

#[test]
fn a_text_model_is_packed_with_its_tokenizer() {
    let s = Scratch::new("text");
    let dir = root().join("models/profanity-tfidf");
    let golden = s.path("golden.csv");
    // The expected labels are the ones the runtime gives the plain model (checked by the
    // classify CLI elsewhere against onnxruntime): here the package must agree with them.
    let model = mlops_edge::Model::load(&dir, &mlops_edge::ModelOptions::default()).unwrap();
    let mut session = mlops_edge::Session::new(&model).unwrap();
    let mut csv = String::from("text,label\n");
    for t in ["you are lovely", "shut up, you idiot", "a \"quoted\" text, with commas\nand a newline"] {
        let label = session.classify_text(t, None).unwrap().label;
        csv += &format!("\"{}\",{label}\n", t.replace('"', "\"\""));
    }
    std::fs::write(&golden, csv).unwrap();
    let package = s.path("profanity.mlepkg");
    let onnx = dir.join("model.onnx");
    let tokenizer = dir.join("tokenizer.json");
    let said = ok(&[
        "pack",
        "--model",
        onnx.to_str().unwrap(),
        "--tokenizer",
        tokenizer.to_str().unwrap(),
        "--golden",
        &golden,
        "--package-version",
        "1",
        "--out",
        &package,
    ]);
    assert!(said.contains("3 golden cases passed"), "{said}");
    assert!(ok(&["inspect", &package]).contains("tokenizer.json"));
    // Without its tokenizer the text model cannot be served: nothing is written.
    let missing = s.path("no-tokenizer.mlepkg");
    fails(&["pack", "--model", onnx.to_str().unwrap(), "--package-version", "1", "--out", &missing], 1, &["tokenizer"]);
    assert!(!Path::new(&missing).exists());
}

#[test]
fn what_the_runtime_cannot_serve_is_not_packed() {
    let s = Scratch::new("refused");
    let model = root().join("models/breast-cancer-logreg/model.onnx");
    let golden = s.path("golden.csv");
    breast_golden_csv(&golden, true);
    let out = s.path("x.mlepkg");
    fails(
        &["pack", "--model", model.to_str().unwrap(), "--golden", &golden, "--package-version", "1", "--out", &out],
        1,
        &["self-test case 0", "expected label"],
    );
    assert!(!Path::new(&out).exists(), "nothing written");
    // An operator tract lacks is named.
    let unsupported = root().join("tests/data/exports/dictvectorizer-logreg-breast.onnx");
    fails(
        &["pack", "--model", unsupported.to_str().unwrap(), "--package-version", "1", "--out", &out],
        1,
        &["DictVectorizer", "cannot serve"],
    );
    assert!(!Path::new(&out).exists());
    // Usage errors: exit status 2.
    fails(&["pack", "--model", model.to_str().unwrap(), "--out", &out], 2, &["--package-version"]);
    fails(&["frobnicate"], 2, &["unknown command"]);
    fails(&["verify"], 2, &["file argument"]);
}
