//! The classifiers people export, as skl2onnx and onnxmltools write them by default
//! (tests/data/exports, made by make_exports.py with onnxruntime's answers): each one the runtime
//! serves answers every golden row with onnxruntime's label and probabilities; each one it does
//! not serve yet is refused at load with a status and a message naming the operator.

mod common;

use common::test_data;
use mlops_edge::{ElementType, Model, ModelOptions, Session, Status};
use serde_json::Value;

/// Largest |probability − onnxruntime's| accepted (tract and onnxruntime both compute in f32; tree
/// ensembles sum in another order).
const TOLERANCE: f32 = 1e-5;

/// Exports not served yet, with the operator their refusal must name.
const NOT_YET: [(&str, &str); 0] = [];

fn golden() -> Value {
    let text = std::fs::read_to_string(test_data().join("exports/golden.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn default_exports_answer_like_onnxruntime() {
    let golden = golden();
    let models = golden["models"].as_object().unwrap();
    assert!(models.len() >= 28, "the corpus has every family");
    let mut served = Vec::new();
    let mut failures = Vec::new();
    for (name, entry) in models {
        let result = std::panic::catch_unwind(|| check_one(name, entry));
        match result {
            Ok(Some(line)) => served.push(line),
            Ok(None) => {}
            Err(e) => failures.push(format!("{name}: {}", e.downcast_ref::<String>().cloned().unwrap_or_default())),
        }
    }
    eprintln!("served like onnxruntime: {}", served.join(", "));
    assert!(failures.is_empty(), "{} exports fail:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(served.len(), models.len() - NOT_YET.len());
}

/// Checks one export; `Some(summary)` when it is served, `None` when it is refused as expected.
fn check_one(name: &str, entry: &Value) -> Option<String> {
    {
        let path = test_data().join("exports").join(entry["file"].as_str().unwrap());
        let loaded = Model::load(&path, &ModelOptions::default());
        if let Some((_, op)) = NOT_YET.iter().find(|(n, _)| *n == name) {
            let err = match loaded {
                Err(e) => e,
                Ok(_) => panic!("{name} loads now: move it out of NOT_YET"),
            };
            assert_eq!(err.status(), Status::ModelUnsupported, "{name}: {}", err.message());
            assert!(err.message().contains(op), "{name}: the refusal names {op}: {}", err.message());
            return None;
        }
        let model = loaded.unwrap_or_else(|e| panic!("{name} ({}): {}", entry["estimator"], e.message()));
        let labels: Vec<String> =
            entry["labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().into()).collect();
        let got: Vec<String> = model.labels().iter().map(|l| l.to_string()).collect();
        assert_eq!(got, labels, "{name}: the labels the export carries");
        let mut session = Session::new(&model).unwrap();
        let mut probs = vec![0.0f32; labels.len()];
        let mut worst = 0.0f32;
        for (i, row) in entry["rows"].as_array().unwrap().iter().enumerate() {
            let features: Vec<f32> = row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
            let p = session
                .classify_f32(&features, Some(&mut probs))
                .unwrap_or_else(|e| panic!("{name} row {i}: {}", e.message()));
            let want: Vec<f32> =
                entry["probabilities"][i].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
            for (g, w) in probs.iter().zip(&want) {
                worst = worst.max((g - w).abs());
            }
            assert_eq!(&*p.label, entry["predicted"][i].as_str().unwrap(), "{name} row {i}: {probs:?} vs {want:?}");
        }
        assert!(worst <= TOLERANCE, "{name}: max |Δp| {worst:e} against onnxruntime");
        // Missing values: NaN features where the graph has a rule for them, refused elsewhere.
        let first: Vec<f32> = entry["rows"][0].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        match entry.get("missing") {
            Some(missing) => {
                assert!(model.handles_missing_values(), "{name}: the graph has a rule for NaN");
                for (i, row) in missing["rows"].as_array().unwrap().iter().enumerate() {
                    let features: Vec<f32> =
                        row.as_array().unwrap().iter().map(|v| v.as_f64().map_or(f32::NAN, |v| v as f32)).collect();
                    session
                        .classify_f32(&features, Some(&mut probs))
                        .unwrap_or_else(|e| panic!("{name} missing row {i}: {}", e.message()));
                    for (g, w) in probs.iter().zip(missing["probabilities"][i].as_array().unwrap()) {
                        let d = (g - w.as_f64().unwrap() as f32).abs();
                        assert!(d <= TOLERANCE, "{name} missing row {i}: |Δp| {d:e}");
                    }
                }
            }
            None => {
                assert!(!model.handles_missing_values(), "{name}");
                let mut hole = first.clone();
                hole[1] = f32::NAN;
                let err = session.classify_f32(&hole, None).unwrap_err();
                assert_eq!(err.status(), Status::InputNotFinite, "{name}");
                assert!(err.message().contains("no rule for missing values"), "{name}: {}", err.message());
            }
        }
        let mut infinite = first;
        infinite[0] = f32::INFINITY;
        assert_eq!(session.classify_f32(&infinite, None).unwrap_err().status(), Status::InputNotFinite, "{name}");
        Some(format!("{name} (max |Δp| {worst:.1e})"))
    }
}

#[test]
fn integer_and_double_inputs_take_the_callers_f32() {
    // digits' pixels are whole numbers: exported with an int64 input, the caller still passes f32.
    let model = Model::load(test_data().join("exports/logreg-int64-digits.onnx"), &ModelOptions::default()).unwrap();
    assert_eq!(model.input_element_type(), ElementType::Int64);
    let mut session = Session::new(&model).unwrap();
    let mut row = vec![3.0f32; 64];
    assert!(session.classify_f32(&row, None).is_ok());
    row[7] = 2.5;
    let err = session.classify_f32(&row, None).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("feature 7 is 2.5") && err.message().contains("whole numbers"), "{}", err.message());
    row[7] = f32::NAN; // refused before any conversion, as for every model
    assert_eq!(session.classify_f32(&row, None).unwrap_err().status(), Status::InputNotFinite);
    row[7] = 1e30;
    assert_eq!(session.classify_f32(&row, None).unwrap_err().status(), Status::InvalidArgument);
    let stats = session.stats();
    assert_eq!((stats.requests, stats.errors), (4, 3), "refusals are counted requests");

    let double = Model::load(test_data().join("exports/logreg-double-breast.onnx"), &ModelOptions::default()).unwrap();
    assert_eq!(double.input_element_type(), ElementType::Float64);
    let plain = Model::load(common::model_dir("breast-cancer-logreg"), &ModelOptions::default()).unwrap();
    assert_eq!(plain.input_element_type(), ElementType::Float32);
}

/// What the runtime does not serve is refused at load, naming the operator (or the input) and the
/// way out, in the user's terms rather than tract's.
#[test]
fn unsupported_exports_are_refused_naming_the_operator_and_the_way_out() {
    let golden = golden();
    let refused = golden["refused"].as_object().unwrap();
    assert!(refused.len() >= 2);
    for (name, entry) in refused {
        let path = test_data().join("exports").join(entry["file"].as_str().unwrap());
        let err = match Model::load(&path, &ModelOptions::default()) {
            Err(e) => e,
            Ok(_) => panic!("{name} loads"),
        };
        assert_eq!(err.status(), Status::ModelUnsupported, "{name}: {}", err.message());
        for needle in entry["message_names"].as_array().unwrap() {
            let needle = needle.as_str().unwrap();
            assert!(err.message().contains(needle), "{name}: the message names {needle}: {}", err.message());
        }
        assert!(!err.message().contains("ToTypedTranslator"), "{name}: not tract's wording: {}", err.message());
    }
}
