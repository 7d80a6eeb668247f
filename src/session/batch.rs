//! The batch path: several inputs through one run of the batch plan. It allocates (it is for
//! throughput); single requests are the allocation-free path.

use std::sync::Arc;
use std::time::Instant;

use tract_onnx::prelude::*;

use super::{
    check_tensor, pick_plan, record, Input, Prediction, Session, FLAG_EMPTY_INPUT, FLAG_TRUNCATED, FLAG_UNPOOLED,
};
use crate::alloc::PoolScope;
use crate::error::{fail, Error, Result, Status};
use crate::model::tensors::{batch_tensor, copy_output, fill_from_f32, fill_from_i32, run, write_ints};
use crate::model::tract_state::TractState;
use crate::model::{self, InputKind, InputRole};

impl Session {
    /// Classify many texts in one run of the batch plan (padded to the longest). Allocates
    /// (the batch path is for throughput; single requests are the allocation-free path).
    /// `probabilities`, when given, receives `texts.len() × labels` values, row by row.
    pub fn classify_text_batch(
        &mut self,
        texts: &[&str],
        probabilities: Option<&mut [f32]>,
    ) -> Result<Vec<Prediction>> {
        let inputs: Vec<Input<'_>> = texts.iter().map(|t| Input::Text(t)).collect();
        self.classify_batch(&inputs, probabilities)
    }

    /// Classify many f32 examples (each exactly
    /// [`Model::max_input_length`](crate::Model::max_input_length) values) in one run.
    pub fn classify_f32_batch(
        &mut self,
        examples: &[&[f32]],
        probabilities: Option<&mut [f32]>,
    ) -> Result<Vec<Prediction>> {
        let inputs: Vec<Input<'_>> = examples.iter().map(|e| Input::Tensor(e)).collect();
        self.classify_batch(&inputs, probabilities)
    }

    /// Classify many byte strings in one run.
    pub fn classify_bytes_batch(
        &mut self,
        items: &[&[u8]],
        probabilities: Option<&mut [f32]>,
    ) -> Result<Vec<Prediction>> {
        let inputs: Vec<Input<'_>> = items.iter().map(|b| Input::Bytes(b)).collect();
        self.classify_batch(&inputs, probabilities)
    }

    /// A batch whose arguments come from C: checking them (the output array, the buffer, each
    /// item's UTF-8) is part of the request. A refusal counts as `count` failed requests when
    /// `count` is a batch size this model accepts (1..=max_batch), as one otherwise (the items
    /// never existed).
    pub(crate) fn classify_batch_checked<'a>(
        &mut self,
        count: usize,
        arguments: impl FnOnce() -> Result<(Vec<Input<'a>>, Option<&'a mut [f32]>)>,
    ) -> Result<Vec<Prediction>> {
        let start = Instant::now();
        let max = self.model.inner.options.max_batch;
        // The count first: the arguments closure reads `count` items of the caller's arrays.
        let arguments = match count {
            0 => fail(Status::InvalidArgument, "a batch needs at least one input"),
            n if n > max => fail(
                Status::InvalidArgument,
                format!("a batch of {n} exceeds the model's max_batch {max} (raise mle_model_options.max_batch)"),
            ),
            _ => arguments(),
        };
        match arguments {
            Ok((inputs, out)) => self.classify_batch(&inputs, out),
            Err(e) => {
                let items = if (1..=self.model.inner.options.max_batch).contains(&count) { count } else { 1 };
                self.stats.requests += items as u64;
                self.stats.errors += items as u64;
                if let Some(recorder) = self.recorder.as_mut() {
                    for _ in 0..items {
                        record(recorder, Err(e.status()), Input::Bytes(&[]), start, &self.model.inner);
                    }
                }
                Err(e)
            }
        }
    }

    fn classify_batch(&mut self, inputs: &[Input<'_>], out: Option<&mut [f32]>) -> Result<Vec<Prediction>> {
        let start = Instant::now();
        let result = super::catch_panic(|| self.classify_batch_inner(inputs, out, start));
        self.stats.requests += inputs.len() as u64;
        if result.is_err() {
            self.stats.errors += inputs.len() as u64;
        }
        if let Some(recorder) = self.recorder.as_mut() {
            // One record per item; each carries the whole batch's latency (what it waited).
            for (i, input) in inputs.iter().enumerate() {
                let outcome = match &result {
                    Ok(predictions) => Ok(&predictions[i]),
                    Err(e) => Err(e.status()),
                };
                record(recorder, outcome, *input, start, &self.model.inner);
            }
        }
        result
    }

    fn classify_batch_inner(
        &mut self,
        inputs: &[Input<'_>],
        out: Option<&mut [f32]>,
        start: Instant,
    ) -> Result<Vec<Prediction>> {
        let model = Arc::clone(&self.model.inner);
        // Text from C arrives as bytes: checked here, as part of the request.
        let checked = inputs
            .iter()
            .enumerate()
            .map(|(i, input)| match input {
                Input::Utf8(bytes) => std::str::from_utf8(bytes).map(Input::Text).map_err(|e| {
                    Error::new(
                        Status::InvalidUtf8,
                        format!("batch item {i} is not valid UTF-8 (bad byte at offset {})", e.valid_up_to()),
                    )
                }),
                other => Ok(*other),
            })
            .collect::<Result<Vec<Input<'_>>>>()?;
        let inputs = &checked[..];
        let n = inputs.len();
        let labels = model.labels.len();
        if n == 0 {
            return fail(Status::InvalidArgument, "a batch needs at least one input");
        }
        if n > model.options.max_batch {
            return fail(
                Status::InvalidArgument,
                format!("batch of {n} exceeds max_batch {}", model.options.max_batch),
            );
        }
        if let Some(kind) = inputs.iter().map(Input::kind).find(|k| *k != model.kind) {
            return fail(
                Status::WrongInputKind,
                format!("this model takes {} input, not {}", model.kind.as_str(), kind.as_str()),
            );
        }
        if let Some(buffer) = &out {
            if buffer.len() < n * labels {
                return fail(
                    Status::BufferTooSmall,
                    format!(
                        "probabilities buffer holds {} values, {n} inputs × {labels} labels need {}",
                        buffer.len(),
                        n * labels
                    ),
                );
            }
        }
        let Some((batch_plan, rows)) = model.batch.plan_for(n, model.options.max_batch)? else {
            // max_batch == 1: no batch plan; classify item by item.
            let mut predictions = Vec::with_capacity(n);
            let mut out = out;
            for (i, input) in inputs.iter().enumerate() {
                let row = out.as_deref_mut().map(|b| &mut b[i * labels..(i + 1) * labels]);
                predictions.push(self.classify_inner(*input, row, Instant::now())?);
            }
            return Ok(predictions);
        };
        let _system = PoolScope::system();
        let mut flags = vec![0u32; n];
        let mut lengths = vec![0usize; n];
        let tensors = match model.kind {
            InputKind::Text => {
                let encoder = model.text.as_ref().expect("text model has an encoder");
                let mut ids = vec![0i64; n * model.max_tokens];
                for (i, input) in inputs.iter().enumerate() {
                    let Input::Text(text) = input else { unreachable!("kinds checked above") };
                    let row = &mut ids[i * model.max_tokens..(i + 1) * model.max_tokens];
                    let tokens = encoder.encode(text, row)?;
                    lengths[i] = tokens.count;
                    flags[i] = if tokens.truncated { FLAG_TRUNCATED } else { 0 }
                        | if text.is_empty() { FLAG_EMPTY_INPUT } else { 0 };
                }
                let width = model.plans[pick_plan(&model, lengths.iter().copied().max().unwrap_or(1).max(1))].length;
                let mut tensors = Vec::with_capacity(model.inputs.len());
                for spec in &model.inputs {
                    let mut t = Tensor::zero_dt(spec.datum_type, &[rows, width])
                        .map_err(|e| Error::tract(Status::Inference, "batch input", e))?;
                    write_ints(&mut t, |pos| {
                        let (row, col) = (pos / width, pos % width);
                        // Rows past `n` only pad the batch to the plan's size: one real token.
                        let real = if row < n { col < lengths[row] } else { col == 0 };
                        match spec.role {
                            InputRole::TokenIds if real && row < n => ids[row * model.max_tokens + col],
                            InputRole::TokenIds => encoder.pad_id(),
                            InputRole::AttentionMask => i64::from(real),
                            _ => 0,
                        }
                    })?;
                    tensors.push(Arc::new(t));
                }
                tensors
            }
            InputKind::Tensor => {
                let len = model.example_len;
                let mut values = Vec::with_capacity(rows * len);
                for (i, input) in inputs.iter().enumerate() {
                    let Input::Tensor(example) = input else { unreachable!("kinds checked above") };
                    check_tensor(&model, example)
                        .map_err(|e| Error::new(e.status(), format!("batch item {i}: {}", e.message())))?;
                    values.extend_from_slice(example);
                    lengths[i] = len;
                }
                values.resize(rows * len, 0.0);
                vec![Arc::new(batch_tensor(&model, rows, |dst| fill_from_f32(dst, &values))?)]
            }
            InputKind::Bytes => {
                let features = model.bytes.expect("bytes model has its features");
                let mut values = vec![features.padding_token; rows * features.len()];
                for (i, input) in inputs.iter().enumerate() {
                    let Input::Bytes(data) = input else { unreachable!("kinds checked above") };
                    let row = &mut values[i * features.len()..(i + 1) * features.len()];
                    let truncated = model::extract_byte_features(&features, data, row);
                    flags[i] =
                        if truncated { FLAG_TRUNCATED } else { 0 } | if data.is_empty() { FLAG_EMPTY_INPUT } else { 0 };
                    lengths[i] = data.len();
                }
                vec![Arc::new(batch_tensor(&model, rows, |dst| fill_from_i32(dst, &values))?)]
            }
        };
        let mut state =
            TractState::for_this_thread(&batch_plan).map_err(|e| Error::tract(Status::Inference, "batch state", e))?;
        let outputs = run(&model, &mut state, &tensors)?;
        let mut raw = vec![0f32; rows * model.output_width];
        copy_output(&outputs, rows, &mut raw)?;
        let mut probs = vec![0f32; n * labels];
        let latency = start.elapsed();
        let mut predictions = Vec::with_capacity(n);
        for i in 0..n {
            let row = &mut probs[i * labels..(i + 1) * labels];
            model::probabilities(model.postprocess, &raw[i * model.output_width..(i + 1) * model.output_width], row)?;
            let (label_index, score) = model::argmax(row);
            predictions.push(Prediction {
                label_index,
                label: Arc::clone(&model.labels[label_index]),
                score,
                latency,
                flags: flags[i] | FLAG_UNPOOLED,
                input_length: lengths[i],
            });
        }
        if let Some(buffer) = out {
            buffer[..probs.len()].copy_from_slice(&probs);
        }
        Ok(predictions)
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{BatchPlanState, BatchPlans};
    use crate::{Model, ModelOptions, Session};

    fn load(name: &str) -> Model {
        Model::load(format!("{}/models/{name}", env!("CARGO_MANIFEST_DIR")), &ModelOptions::default()).unwrap()
    }

    /// (symbolic plan made, symbolic plan attempted, batch sizes with their own plan).
    fn batch_state(model: &Model) -> (bool, bool, Vec<usize>) {
        let BatchPlans::OnFirstUse(state) = &model.inner.batch else { panic!("max_batch > 1 has batch plans") };
        match &*state.lock().unwrap() {
            BatchPlanState::Symbolic(_) => (true, true, vec![]),
            BatchPlanState::FromSource { tried, sized, .. } => (false, *tried, sized.iter().map(|(n, _)| *n).collect()),
        }
    }

    #[test]
    fn the_batch_plan_is_made_on_the_first_batch_call() {
        let model = load("digits-mlp");
        assert_eq!(batch_state(&model), (false, false, vec![]), "nothing made at load");
        let mut session = Session::new(&model).unwrap();
        let row = [0f32; 64];
        let single = session.classify_f32(&row, None).unwrap();
        assert_eq!(batch_state(&model), (false, false, vec![]), "a single request makes no batch plan");
        let batch = session.classify_f32_batch(&[&row, &row, &row], None).unwrap();
        assert!(batch.iter().all(|p| p.label_index == single.label_index));
        assert_eq!(batch_state(&model), (true, true, vec![]));
        let none = Model::load(
            format!("{}/models/digits-mlp", env!("CARGO_MANIFEST_DIR")),
            &ModelOptions { max_batch: 1, ..ModelOptions::default() },
        )
        .unwrap();
        assert!(matches!(none.inner.batch, BatchPlans::None));
    }

    /// Magika's graph only analyses with a known batch size: a plan per power of two, each made
    /// by the first batch that needs it, answering like single requests.
    #[test]
    #[cfg_attr(mle_emulated, ignore = "heavy under emulation: loads magika, makes three plans")]
    fn sized_batch_plans_are_made_per_size_on_first_use() {
        let model = load("magika");
        let mut session = Session::new(&model).unwrap();
        let items: [&[u8]; 5] =
            [b"fn main() {}\n", b"#!/bin/sh\necho hi\n", b"<html></html>", b"{\"a\": 1}", b"\x7fELF"];
        let mut single = Vec::new();
        for item in items {
            let mut probs = vec![0f32; model.labels().len()];
            let p = session.classify_bytes(item, Some(&mut probs)).unwrap();
            single.push((p.label_index, probs));
        }
        assert_eq!(batch_state(&model), (false, false, vec![]));
        for (n, sizes) in [(3, vec![4]), (4, vec![4]), (5, vec![4, 8]), (1, vec![4, 8, 1])] {
            let mut probs = vec![0f32; n * model.labels().len()];
            let batch = session.classify_bytes_batch(&items[..n], Some(&mut probs)).unwrap();
            for (i, p) in batch.iter().enumerate() {
                assert_eq!(p.label_index, single[i].0, "batch of {n}, item {i}");
                let row = &probs[i * model.labels().len()..(i + 1) * model.labels().len()];
                let diff = row.iter().zip(&single[i].1).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
                assert!(diff < 1e-5, "batch of {n}, item {i}: |diff| {diff}");
            }
            assert_eq!(batch_state(&model), (false, true, sizes), "after a batch of {n}");
        }
    }
}
