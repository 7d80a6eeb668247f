//! Self-tests a model must pass before it serves: golden inputs with their expected labels,
//! from the model card (key `self_test`) or from the host.
//!
//! Card format (a JSON array in the `self_test` card key): one object per case with exactly one
//! input — `"text"` (string), `"features"` (array of numbers) or `"bytes_hex"` (hex string) —
//! and the expected `"label"` (string).

use crate::error::{fail, Error, Result, Status};
use crate::session::{Input, Session};
use crate::Model;

/// One golden input and the label the model must give it.
#[derive(Clone, Debug, PartialEq)]
pub struct SelfTestCase {
    /// The input.
    pub input: OwnedInput,
    /// The expected label name.
    pub expected_label: String,
}

/// An input that owns its data (what [`Input`] borrows).
#[derive(Clone, Debug, PartialEq)]
pub enum OwnedInput {
    /// Text.
    Text(String),
    /// f32 features.
    Tensor(Vec<f32>),
    /// Raw bytes.
    Bytes(Vec<u8>),
}

impl OwnedInput {
    /// Borrow as an [`Input`].
    pub fn as_input(&self) -> Input<'_> {
        match self {
            OwnedInput::Text(t) => Input::Text(t),
            OwnedInput::Tensor(v) => Input::Tensor(v),
            OwnedInput::Bytes(b) => Input::Bytes(b),
        }
    }
}

/// The cases in a model's card (`self_test` key); none when the card has no such key.
/// Errors (`ModelCard`): the key is not an array of well-formed cases.
pub fn cases_from_card(model: &Model) -> Result<Vec<SelfTestCase>> {
    let Some(text) = model.card().properties.get("self_test") else {
        return Ok(Vec::new());
    };
    let bad = |why: &str| Error::new(Status::ModelCard, format!("card key self_test: {why}"));
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    let items = value.as_array().ok_or_else(|| bad("not a JSON array"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let label = item
                .get("label")
                .and_then(|l| l.as_str())
                .ok_or_else(|| bad(&format!("case {i} has no string \"label\"")))?;
            let input = if let Some(t) = item.get("text").and_then(|t| t.as_str()) {
                OwnedInput::Text(t.to_string())
            } else if let Some(values) = item.get("features").and_then(|f| f.as_array()) {
                let features: Option<Vec<f32>> = values.iter().map(|v| v.as_f64().map(|x| x as f32)).collect();
                OwnedInput::Tensor(features.ok_or_else(|| bad(&format!("case {i}: features must be numbers")))?)
            } else if let Some(hex) = item.get("bytes_hex").and_then(|h| h.as_str()) {
                OwnedInput::Bytes(
                    crate::hex::decode(hex).ok_or_else(|| bad(&format!("case {i}: bytes_hex is not hex")))?,
                )
            } else {
                return Err(bad(&format!("case {i} has none of text, features, bytes_hex")));
            };
            Ok(SelfTestCase { input, expected_label: label.to_string() })
        })
        .collect()
}

/// Runs every case on `session`; the first failure (an error, or another label) is returned as
/// a `SelfTestFailed` error naming the case. Returns the number of cases run.
pub fn run(session: &mut Session, cases: &[SelfTestCase]) -> Result<usize> {
    for (i, case) in cases.iter().enumerate() {
        match session.classify(case.input.as_input(), None) {
            Ok(p) if *p.label == *case.expected_label => {}
            Ok(p) => {
                return fail(
                    Status::SelfTestFailed,
                    format!(
                        "self-test case {i}: expected label {:?}, the model said {:?}",
                        case.expected_label, p.label
                    ),
                )
            }
            Err(e) => {
                return fail(Status::SelfTestFailed, format!("self-test case {i} failed to run: {}", e.message()));
            }
        }
    }
    Ok(cases.len())
}
