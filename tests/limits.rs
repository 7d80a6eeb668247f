//! Resource limits (issue: trust in what runs): what a model may ask tract to allocate is checked
//! before anything is allocated for it, each limit configurable, and a model above one refused
//! with `ModelLimit` naming the limit and the option that raises it. The defaults admit every
//! shipped model.

mod common;

use common::{model_dir, test_data};
use mlops_edge::{Model, ModelLimits, ModelOptions, Status};

/// Loading failed on a limit, the message naming each of `names`.
fn over_limit(result: mlops_edge::Result<Model>, names: &[&str]) {
    common::refused(result, Status::ModelLimit, names);
}

fn with_limits(limits: ModelLimits) -> ModelOptions {
    ModelOptions { limits, ..ModelOptions::default() }
}

#[test]
fn the_shipped_models_load_within_the_default_limits() {
    for name in ["breast-cancer-logreg", "digits-mlp", "profanity-tfidf", "minilm-l3-promptinj", "magika"] {
        let model = Model::load(model_dir(name), &ModelOptions::default());
        assert!(model.is_ok(), "{name}: {:?}", model.err());
    }
}

#[test]
fn a_declared_size_without_data_is_refused_before_it_is_allocated() {
    // 131 bytes declaring a 2^40-float weight: refused, not an abort from a 4 TiB allocation.
    over_limit(
        Model::load(test_data().join("huge_initializer.onnx"), &ModelOptions::default()),
        &["initializer \"w\"", "1099511627776 elements", "max_tensor_elements"],
    );
}

#[test]
fn node_count_and_initializer_bytes_are_bounded() {
    let dir = model_dir("digits-mlp");
    over_limit(Model::load(&dir, &with_limits(ModelLimits { max_nodes: 2, ..ModelLimits::default() })), &["max_nodes"]);
    over_limit(
        Model::load(&dir, &with_limits(ModelLimits { max_graph_depth: 2, ..ModelLimits::default() })),
        &["max_graph_depth"],
    );
    over_limit(
        Model::load(&dir, &with_limits(ModelLimits { max_initializer_bytes: 1000, ..ModelLimits::default() })),
        &["max_initializer_bytes"],
    );
    // Zero is not a limit.
    let zero = Model::load(&dir, &with_limits(ModelLimits { max_nodes: 0, ..ModelLimits::default() }));
    assert_eq!(zero.err().unwrap().status(), Status::InvalidArgument);
}

#[test]
fn what_grows_with_the_sequence_length_is_bounded_at_the_longest_one() {
    // The encoder's largest weight is its word embedding (30,522 × 384 = 11,720,448 values); its
    // largest intermediates are [1, S, 1536] (the feed-forward layer) and [1, 12, S, S] (attention
    // scores): 196,608 values each at 128 tokens, 98,304 and 49,152 at 64, times the batch.
    let dir = model_dir("minilm-l3-promptinj");
    let limits = ModelLimits { max_tensor_elements: 12_000_000, ..ModelLimits::default() };
    let options = |max_sequence_length: usize, max_batch: usize| ModelOptions {
        limits,
        max_sequence_length: Some(max_sequence_length),
        max_batch,
        ..ModelOptions::default()
    };
    // A batch of 64 texts of 128 tokens: 12,582,912 values in one tensor.
    over_limit(
        Model::load(&dir, &options(128, 64)),
        &["at 128 tokens", "for a batch of 64", "max_tensor_elements", "max_sequence_length", "max_batch"],
    );
    assert_eq!(Model::load(&dir, &options(64, 64)).unwrap().max_input_length(), 64);
    assert_eq!(Model::load(&dir, &options(128, 32)).unwrap().max_input_length(), 128);
    // Below the embedding itself nothing loads, whatever the lengths.
    let small = ModelOptions { limits: ModelLimits { max_tensor_elements: 100_000, ..limits }, ..options(8, 1) };
    over_limit(Model::load(&dir, &small), &["word_embeddings", "max_tensor_elements"]);
}
