//! Deployment changes that could not serve the traffic the runtime is serving are refused: a
//! swap, a rollout, an experiment or a shadow whose model takes another input kind, another
//! feature count or shape, another byte layout, or more labels than the hosts' probability
//! buffers were sized for. The old model keeps serving and the event says why. A deliberate
//! change of input schema is its own call.

mod common;

use std::sync::{Arc, Mutex};

use common::{breast, breast_rows, model_dir, test_data};
use mlops_edge::deploy::ab::Assignment;
use mlops_edge::deploy::rollout::RolloutConfig;
use mlops_edge::runtime::{Event, EventKind};
use mlops_edge::{Model, ModelOptions, Runtime, RuntimeOptions, Status, Variant};

fn manual() -> RuntimeOptions {
    RuntimeOptions { supervisor_thread: false, max_concurrency: 1, ..RuntimeOptions::default() }
}

fn load(name: &str) -> Model {
    Model::load(model_dir(name), &ModelOptions::default()).unwrap()
}

/// A 30-feature model (breast-cancer's input) with three labels (tests/data/make_test_models.py).
fn three_labels() -> Model {
    Model::load(test_data().join("three_labels_30.onnx"), &ModelOptions::default()).unwrap()
}

fn events(runtime: &Runtime) -> Arc<Mutex<Vec<Event>>> {
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let sink = Arc::clone(&events);
    runtime.set_event_callback(Some(Box::new(move |e| sink.lock().unwrap().push(e.clone()))));
    events
}

/// The refusal event's message, checked to name the reason.
fn refusal(events: &Mutex<Vec<Event>>, reason: &str) -> Event {
    let events = events.lock().unwrap();
    let event = events.iter().rev().find(|e| e.kind == EventKind::SwapRefused).expect("a refusal event").clone();
    assert!(event.message.contains(reason), "the event says {:?}, expected it to name {reason:?}", event.message);
    event
}

/// Production still answers its own inputs as before.
fn still_serving(runtime: &Runtime, version: &str) {
    let served = runtime.classify_f32("user-1", &breast_rows()[0], Some(&mut [0.0; 2])).unwrap();
    assert_eq!(&*served.version, version);
}

#[test]
fn a_swap_to_another_feature_count_is_refused_and_the_old_model_keeps_serving() {
    let rt = Runtime::new(&breast("1.0.0"), manual()).unwrap();
    let events = events(&rt);
    let digits = load("digits-mlp"); // 64 features, the traffic has 30
    let err = rt.swap(0, &digits, None).unwrap_err();
    assert_eq!(err.status(), Status::SelfTestFailed, "{}", err.message());
    assert!(err.message().contains("64 values") && err.message().contains("30"), "{}", err.message());
    assert!(err.message().contains("change_input_schema"), "the way out is named: {}", err.message());
    let event = refusal(&events, "cannot take the inputs");
    assert_eq!((event.from_version.as_str(), event.variant), ("1.0.0", 0));
    still_serving(&rt, "1.0.0");
    assert_eq!(rt.health().counters.refused_models, 1);
    assert_eq!(rt.health().counters.swaps, 0);
}

#[test]
fn a_model_with_more_labels_than_the_buffers_hold_is_refused() {
    let rt = Runtime::new(&breast("1.0.0"), manual()).unwrap();
    let events = events(&rt);
    let wide = three_labels();
    let err = rt.swap(0, &wide, None).unwrap_err();
    assert_eq!(err.status(), Status::SelfTestFailed);
    assert!(err.message().contains("3 labels") && err.message().contains("2"), "{}", err.message());
    refusal(&events, "labels");
    assert_eq!(rt.max_labels(), 2, "the deployment's buffers stay at 2 labels");
    still_serving(&rt, "1.0.0");
}

#[test]
fn a_rollout_of_an_incompatible_candidate_is_refused() {
    let rt = Runtime::new(&breast("1.0.0"), manual()).unwrap();
    let events = events(&rt);
    let err = rt.start_rollout(0, &load("digits-mlp"), RolloutConfig::default(), None).unwrap_err();
    assert_eq!(err.status(), Status::SelfTestFailed);
    refusal(&events, "cannot take the inputs");
    assert!(rt.health().rollout.is_none());
    still_serving(&rt, "1.0.0");
}

#[test]
fn an_experiment_or_a_shadow_that_cannot_take_the_inputs_is_refused() {
    let rt = Runtime::new(&breast("1.0.0"), manual()).unwrap();
    let events = events(&rt);
    let variants = vec![
        Variant { name: "control".into(), model: breast("1.0.0"), weight: 0.5 },
        Variant { name: "treatment".into(), model: load("digits-mlp"), weight: 0.5 },
    ];
    let err = rt.set_experiment("exp", &variants, Assignment::Md5).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("variant 1"), "{}", err.message());
    refusal(&events, "variant 1");
    assert_eq!(rt.variant_count(), 1, "the experiment was not set");
    let err = rt.set_shadow(&load("profanity-tfidf"), 0.5).unwrap_err(); // text, the traffic is f32
    assert_eq!(err.status(), Status::InvalidArgument);
    refusal(&events, "the shadow");
    assert!(rt.shadow_report().unwrap().is_none());
    // A shadow with more labels is fine: its answers never reach the host.
    rt.set_shadow(&three_labels(), 0.5).unwrap();
    still_serving(&rt, "1.0.0");
}

#[test]
fn a_byte_layout_change_is_refused() {
    let onnx = std::fs::read(model_dir("magika").join("model.onnx")).unwrap();
    let magika = Model::from_bytes(&onnx, None, None, &ModelOptions::default()).unwrap();
    let layout = magika.byte_features().expect("a bytes model");
    // The same model and input length, the features taken otherwise (more from the beginning).
    let card = format!(
        r#"{{"version": "relayout", "bytes_beg_size": {}, "bytes_end_size": {}}}"#,
        layout.beg_size + 24,
        layout.end_size - 24
    );
    let relayout = Model::from_bytes(&onnx, None, Some(&card), &ModelOptions::default()).unwrap();
    assert_eq!(relayout.input_shape(), magika.input_shape());
    let rt = Runtime::new(&magika, manual()).unwrap();
    let err = rt.swap(0, &relayout, None).unwrap_err();
    assert_eq!(err.status(), Status::SelfTestFailed);
    assert!(err.message().contains("byte features"), "{}", err.message());
}

#[test]
fn a_deliberate_schema_change_is_its_own_call_and_needs_production_alone() {
    let rt = Runtime::new(&breast("1.0.0"), manual()).unwrap();
    let events = events(&rt);
    let digits = load("digits-mlp");
    // Not while a shadow (or an experiment, or a rollout) would keep the old schema.
    rt.set_shadow(&breast("shadow"), 0.5).unwrap();
    assert_eq!(rt.change_input_schema(&digits, None).unwrap_err().status(), Status::InvalidState);
    rt.clear_shadow().unwrap();
    rt.change_input_schema(&digits, None).unwrap();
    let event = events.lock().unwrap().last().cloned().unwrap();
    assert_eq!(event.kind, EventKind::Swapped);
    assert!(event.message.contains("input schema changed"), "{}", event.message);
    // The traffic's inputs are the new model's now, and the old ones are refused by the model.
    let served = rt.classify_f32("user-1", &[0.0; 64], Some(&mut [0.0; 10])).unwrap();
    assert_eq!(served.label_count, 10);
    assert_eq!(rt.classify_f32("user-1", &breast_rows()[0], None).unwrap_err().status(), Status::InputShape);
    assert_eq!(rt.max_labels(), 10);
    // No rollback across a schema change.
    assert_eq!(rt.rollback(0).unwrap_err().status(), Status::InvalidState);
    // From now on, the new schema is what swaps are held to.
    assert_eq!(rt.swap(0, &breast("2.0.0"), None).unwrap_err().status(), Status::SelfTestFailed);
}
