//! Model packages (issue: trust in what runs): a package loads with its files checked against the
//! manifest; with trusted keys only a package signed by one of them loads, and an unsigned
//! package, a wrong key, a changed byte in any file, a missing or an extra file, a changed
//! manifest and an older version are each refused with their own status and a message naming
//! what failed. A runtime with trusted keys refuses such models on a swap, a rollout, an
//! experiment or a shadow, keeps the old model serving and says why in the event.

mod common;

use common::{breast_rows, model_dir, record_events, refused};
use mlops_edge::deploy::rollout::RolloutConfig;
use mlops_edge::package::{self, archive, PublicKey, SecretKey, TrustPolicy};
use mlops_edge::runtime::EventKind;
use mlops_edge::{Model, ModelOptions, Runtime, RuntimeOptions, Status, Variant};

fn key(n: u8) -> SecretKey {
    SecretKey::from_seed([n; 32]).unwrap()
}

fn trusting(keys: &[PublicKey]) -> ModelOptions {
    ModelOptions { trust: TrustPolicy { keys: keys.to_vec(), min_package_version: 0 }, ..ModelOptions::default() }
}

/// breast-cancer-logreg's golden cases, expected labels as onnxruntime gave them (by index).
fn breast_cases(count: usize, wrong: bool) -> Vec<u8> {
    let golden = common::golden("breast-cancer-logreg");
    let labels = Model::load(model_dir("breast-cancer-logreg"), &ModelOptions::default()).unwrap().labels().to_vec();
    let cases: Vec<serde_json::Value> = golden["cases"]
        .as_array()
        .unwrap()
        .iter()
        .take(count)
        .map(|c| {
            let index = c["label_index"].as_u64().unwrap() as usize;
            let index = if wrong { 1 - index } else { index };
            serde_json::json!({"features": c["input"], "label": &*labels[index]})
        })
        .collect();
    serde_json::to_vec(&cases).unwrap()
}

/// A package of breast-cancer-logreg with a card naming `version` and golden cases.
fn breast_package(version: &str, package_version: u64) -> Vec<u8> {
    let onnx = std::fs::read(model_dir("breast-cancer-logreg").join("model.onnx")).unwrap();
    let card = format!(r#"{{"name": "breast-cancer-logreg", "version": "{version}"}}"#);
    let cases = breast_cases(5, false);
    let files: [(&str, &[u8]); 3] =
        [(package::MODEL, &onnx), (package::CARD, card.as_bytes()), (package::SELF_TEST, &cases)];
    package::build(&files, package_version, "breast-cancer-logreg", version).unwrap()
}

/// A text model's package (tokenizer included).
fn profanity_package() -> Vec<u8> {
    let dir = model_dir("profanity-tfidf");
    let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
    let tokenizer = std::fs::read(dir.join("tokenizer.json")).unwrap();
    package::build(&[(package::MODEL, &onnx), (package::TOKENIZER, &tokenizer)], 1, "profanity", "1").unwrap()
}

/// The package's entries, each changed by `f` (name, bytes), written back in order.
fn rewrite(bytes: &[u8], f: impl Fn(&str, &mut Vec<u8>) -> bool) -> Vec<u8> {
    let mut entries = archive::read(bytes).unwrap();
    entries.retain_mut(|(name, data)| f(name, data));
    let view: Vec<(&str, &[u8])> = entries.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    archive::write(&view).unwrap()
}

/// The offset of `name`'s contents in the tar (walking the 512-byte headers).
fn data_offset(tar: &[u8], name: &str) -> usize {
    let mut at = 0;
    while at + 512 <= tar.len() {
        let header = &tar[at..at + 512];
        let end = header[..100].iter().position(|&b| b == 0).unwrap_or(100);
        let size = usize::from_str_radix(std::str::from_utf8(&header[124..135]).unwrap().trim_matches(['\0', ' ']), 8)
            .unwrap();
        if &header[..end] == name.as_bytes() {
            return at + 512;
        }
        at += 512 + size.div_ceil(512) * 512;
    }
    panic!("{name} is not in the package");
}

#[test]
fn an_unsigned_package_loads_without_keys_and_says_where_it_comes_from() {
    let bytes = breast_package("2.0.0", 7);
    assert!(package::looks_like_package(&bytes));
    let model = Model::from_package(&bytes, &ModelOptions::default()).unwrap();
    assert_eq!(model.card().version, "2.0.0");
    assert_eq!(model.provenance().package_version, Some(7));
    assert_eq!(model.provenance().signer, None);
    // The golden cases became the card's self-test cases.
    assert_eq!(mlops_edge::deploy::selftest::cases_from_card(&model).unwrap().len(), 5);
    // The same bytes through a file, and through from_bytes.
    let dir = std::env::temp_dir().join(format!("mle-pkg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("breast.mlepkg");
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(Model::load(&path, &ModelOptions::default()).unwrap().provenance().package_version, Some(7));
    assert_eq!(Model::from_bytes(&bytes, None, None, &ModelOptions::default()).unwrap().card().version, "2.0.0");
    // A text model with its tokenizer answers like the plain directory.
    let packaged = Model::from_package(&profanity_package(), &ModelOptions::default()).unwrap();
    let plain = Model::load(model_dir("profanity-tfidf"), &ModelOptions::default()).unwrap();
    let mut a = mlops_edge::Session::new(&packaged).unwrap();
    let mut b = mlops_edge::Session::new(&plain).unwrap();
    for text in ["you are wonderful", "what the hell is this"] {
        assert_eq!(a.classify_text(text, None).unwrap().score, b.classify_text(text, None).unwrap().score);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn with_trusted_keys_only_a_package_signed_by_one_of_them_loads() {
    let bytes = breast_package("1", 3);
    let signed = package::sign(&bytes, &key(1)).unwrap();
    assert_eq!(signed, package::sign(&bytes, &key(1)).unwrap(), "signing is deterministic");
    let trusted = trusting(&[key(9).public_key(), key(1).public_key()]);
    let model = Model::from_package(&signed, &trusted).unwrap();
    assert_eq!(model.provenance().signer, Some(key(1).public_key()));
    assert!(model.provenance().manifest_sha256.is_some());

    refused(Model::from_package(&bytes, &trusted), Status::PackageUnsigned, &["not signed", "mle-pack sign"]);
    let by_other = package::sign(&bytes, &key(2)).unwrap();
    refused(
        Model::from_package(&by_other, &trusted),
        Status::PackageUntrustedKey,
        &[&key(2).public_key().short(), "trusted_keys"],
    );
    // Re-signing replaces the signature.
    assert!(Model::from_package(&package::sign(&by_other, &key(1)).unwrap(), &trusted).is_ok());
    // Without keys a signed package loads, whoever signed it (its signature still verifies).
    assert!(Model::from_package(&by_other, &ModelOptions::default()).is_ok());

    // Plain ONNX models are refused when keys are configured: as a directory, a file, bytes.
    let dir = model_dir("breast-cancer-logreg");
    refused(Model::load(&dir, &trusted), Status::PackageUnsigned, &["plain ONNX", "breast-cancer-logreg"]);
    refused(Model::load(dir.join("model.onnx"), &trusted), Status::PackageUnsigned, &["plain ONNX"]);
    let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
    refused(Model::from_bytes(&onnx, None, None, &trusted), Status::PackageUnsigned, &["not signed"]);
    // More keys than a policy holds: an argument error.
    let many = trusting(&vec![key(1).public_key(); package::trust::MAX_TRUSTED_KEYS + 1]);
    refused(Model::from_package(&signed, &many), Status::InvalidArgument, &["trusted keys"]);
}

#[test]
fn a_changed_byte_in_any_file_a_missing_or_extra_file_and_a_changed_manifest_are_each_named() {
    let signed = package::sign(&breast_package("1", 3), &key(1)).unwrap();
    let trusted = trusting(&[key(1).public_key()]);
    for name in [package::MODEL, package::CARD, package::SELF_TEST] {
        // One byte flipped in place, as a bad download or an attacker would.
        let mut changed = signed.clone();
        changed[data_offset(&signed, name) + 3] ^= 0x20;
        refused(Model::from_package(&changed, &trusted), Status::PackageTampered, &[name, "SHA-256"]);
        // Without keys the files are checked all the same.
        refused(Model::from_package(&changed, &ModelOptions::default()), Status::PackageTampered, &[name]);
        // A file with a byte more.
        let longer = rewrite(&signed, |n, d| {
            if n == name {
                d.push(b' ');
            }
            true
        });
        refused(Model::from_package(&longer, &trusted), Status::PackageTampered, &[name, "bytes"]);
        // The file left out.
        let missing = rewrite(&signed, |n, _| n != name);
        refused(Model::from_package(&missing, &trusted), Status::PackageFilesMismatch, &[name, "missing"]);
    }
    let mut entries = archive::read(&signed).unwrap();
    entries.push(("tokenizer.json".into(), b"{}".to_vec()));
    let view: Vec<(&str, &[u8])> = entries.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    let extra = archive::write(&view).unwrap();
    refused(Model::from_package(&extra, &trusted), Status::PackageFilesMismatch, &["tokenizer.json", "does not list"]);

    // The manifest changed after signing (a higher package_version to pass a minimum): the
    // signature no longer verifies, keys or not.
    let bumped = rewrite(&signed, |n, d| {
        if n == package::MANIFEST {
            let text =
                String::from_utf8(d.clone()).unwrap().replace("\"package_version\": 3", "\"package_version\": 9");
            assert_ne!(text.as_bytes(), &d[..]);
            *d = text.into_bytes();
        }
        true
    });
    refused(Model::from_package(&bumped, &trusted), Status::PackageBadSignature, &["does not verify"]);
    refused(Model::from_package(&bumped, &ModelOptions::default()), Status::PackageBadSignature, &[]);

    // Not a package at all, or a broken container.
    refused(Model::from_package(b"not a package", &trusted), Status::PackageInvalid, &[]);
    refused(Model::from_package(&signed[..700], &trusted), Status::PackageInvalid, &[]);
}

#[test]
fn a_minimum_package_version_refuses_an_older_release() {
    let old = package::sign(&breast_package("1", 3), &key(1)).unwrap();
    let new = package::sign(&breast_package("2", 4), &key(1)).unwrap();
    let mut options = trusting(&[key(1).public_key()]);
    options.trust.min_package_version = 4;
    refused(Model::from_package(&old, &options), Status::PackageOutdated, &["package_version 3", "minimum of 4"]);
    assert_eq!(Model::from_package(&new, &options).unwrap().provenance().package_version, Some(4));
    // A minimum without keys still refuses older packages and plain models.
    let options =
        ModelOptions { trust: TrustPolicy { keys: vec![], min_package_version: 4 }, ..ModelOptions::default() };
    refused(Model::from_package(&breast_package("1", 3), &options), Status::PackageOutdated, &["package_version 3"]);
    refused(Model::load(model_dir("breast-cancer-logreg"), &options), Status::PackageOutdated, &["no package_version"]);
}

#[test]
fn golden_cases_in_both_the_card_and_the_package_are_refused() {
    let onnx = std::fs::read(model_dir("breast-cancer-logreg").join("model.onnx")).unwrap();
    let cases = breast_cases(2, false);
    let card = format!(r#"{{"self_test": {}}}"#, String::from_utf8(cases.clone()).unwrap());
    let files: [(&str, &[u8]); 3] =
        [(package::MODEL, &onnx), (package::CARD, card.as_bytes()), (package::SELF_TEST, &cases)];
    let bytes = package::build(&files, 1, "", "").unwrap();
    refused(Model::from_package(&bytes, &ModelOptions::default()), Status::PackageInvalid, &["self_test"]);
}

#[test]
fn a_runtime_with_trusted_keys_refuses_what_does_not_verify_and_keeps_serving() {
    let trusted_key = key(1);
    let options = RuntimeOptions {
        supervisor_thread: false,
        max_concurrency: 1,
        trust: TrustPolicy { keys: vec![trusted_key.public_key()], min_package_version: 2 },
        ..RuntimeOptions::default()
    };
    // The production model itself must pass.
    let plain = common::breast("0.9");
    let err = Runtime::new(&plain, options.clone()).err().unwrap();
    assert_eq!(err.status(), Status::PackageUnsigned, "{}", err.message());
    let production =
        Model::from_package(&package::sign(&breast_package("1.0", 2), &trusted_key).unwrap(), &ModelOptions::default())
            .unwrap();
    let rt = Runtime::new(&production, options).unwrap();
    let events = record_events(&rt);
    let row = &breast_rows()[0];
    let serves = |rt: &Runtime| rt.classify_f32("user", row, None).unwrap().version.to_string();
    assert_eq!(serves(&rt), "1.0");

    let dir = std::env::temp_dir().join(format!("mle-pkg-rt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let good = package::sign(&breast_package("2.0", 3), &trusted_key).unwrap();
    let mut tampered = good.clone();
    tampered[data_offset(&good, package::MODEL) + 40] ^= 1;
    let cases: [(&str, Vec<u8>, Status, &str); 5] = [
        ("unsigned", breast_package("2.0", 3), Status::PackageUnsigned, "not signed"),
        (
            "other-key",
            package::sign(&breast_package("2.0", 3), &key(5)).unwrap(),
            Status::PackageUntrustedKey,
            "not among",
        ),
        ("tampered", tampered, Status::PackageTampered, "model.onnx"),
        (
            "old",
            package::sign(&breast_package("0.5", 1), &trusted_key).unwrap(),
            Status::PackageOutdated,
            "minimum of 2",
        ),
        (
            "wrong-golden",
            {
                let onnx = std::fs::read(model_dir("breast-cancer-logreg").join("model.onnx")).unwrap();
                let cases = breast_cases(3, true);
                let bytes =
                    package::build(&[(package::MODEL, &onnx), (package::SELF_TEST, &cases)], 3, "b", "2.0").unwrap();
                package::sign(&bytes, &trusted_key).unwrap()
            },
            Status::SelfTestFailed,
            "expected label",
        ),
    ];
    let no_options = ModelOptions::default();
    for (name, bytes, status, says) in &cases {
        let path = write(&format!("{name}.mlepkg"), bytes);
        let before = events.lock().unwrap().len();
        let err = rt.swap_from_path(0, &path, &no_options, None).unwrap_err();
        assert_eq!(err.status(), *status, "swap to {name}: {}", err.message());
        let err = rt.start_rollout_from_path(0, &path, &no_options, RolloutConfig::default(), None).unwrap_err();
        assert_eq!(err.status(), *status, "rollout to {name}: {}", err.message());
        let new: Vec<_> = events.lock().unwrap()[before..].to_vec();
        assert_eq!(new.len(), 2, "{name}: one event per refusal");
        for e in &new {
            assert_eq!(e.kind, EventKind::SwapRefused, "{name}");
            assert!(e.message.contains(says), "{name}: the event says why: {}", e.message);
        }
        assert_eq!(serves(&rt), "1.0", "{name}: the old model keeps serving");
    }
    // Models loaded by the host without the keys are held to the runtime's policy all the same.
    let unsigned = Model::from_package(&breast_package("2.0", 3), &ModelOptions::default()).unwrap();
    assert_eq!(rt.swap(0, &unsigned, None).unwrap_err().status(), Status::PackageUnsigned);
    assert_eq!(rt.set_shadow(&unsigned, 0.5).unwrap_err().status(), Status::PackageUnsigned);
    let variants = [
        Variant { name: "a".into(), model: production.clone(), weight: 0.5 },
        Variant { name: "b".into(), model: unsigned.clone(), weight: 0.5 },
    ];
    assert_eq!(
        rt.set_experiment("e", &variants, mlops_edge::deploy::ab::Assignment::Md5).unwrap_err().status(),
        Status::PackageUnsigned
    );
    assert_eq!(serves(&rt), "1.0");
    // A good package swaps in, through a path and as a loaded model.
    let path = write("good.mlepkg", &good);
    rt.swap_from_path(0, &path, &no_options, None).unwrap();
    assert_eq!(serves(&rt), "2.0");
    assert_eq!(rt.health().counters.refused_models, 13);
    std::fs::remove_dir_all(&dir).unwrap();
}
