//! Golden cases from CSV into the card's `self_test` format (a JSON array of cases).
//!
//! The CSV has a header row and a `label` column (the expected label's name). Text models take a
//! `text` column; byte models a `bytes_hex` column; tensor models every other column, in order,
//! as the features (numbers, every cell given: JSON has no NaN for a missing value).

use std::path::Path;

use mlops_edge::InputKind;
use serde_json::{json, Value};

use crate::Failure;

/// The cases of the CSV at `path` for a model taking `kind` input, as `self_test.json` bytes.
pub fn cases_json(path: &Path, kind: InputKind) -> Result<Vec<u8>, Failure> {
    let bad = |why: String| Failure::Refused(format!("{}: {why}", path.display()));
    let mut reader = csv::Reader::from_path(path).map_err(|e| bad(e.to_string()))?;
    let headers = reader.headers().map_err(|e| bad(e.to_string()))?.clone();
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let label = column("label").ok_or_else(|| bad("no \"label\" column".into()))?;
    let input = match kind {
        InputKind::Text => {
            Some(column("text").ok_or_else(|| bad("a text model's cases need a \"text\" column".into()))?)
        }
        InputKind::Bytes => {
            Some(column("bytes_hex").ok_or_else(|| bad("a byte model's cases need a \"bytes_hex\" column".into()))?)
        }
        InputKind::Tensor => None,
    };
    let mut cases = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|e| bad(e.to_string()))?;
        let expected = record.get(label).unwrap_or("").to_string();
        if expected.is_empty() {
            return Err(bad(format!("row {} has no label", row + 2)));
        }
        let case = match (kind, input) {
            (InputKind::Text, Some(c)) => json!({"text": record.get(c).unwrap_or(""), "label": expected}),
            (InputKind::Bytes, Some(c)) => json!({"bytes_hex": record.get(c).unwrap_or(""), "label": expected}),
            _ => {
                let mut features = Vec::with_capacity(record.len());
                for (i, cell) in record.iter().enumerate().filter(|(i, _)| *i != label) {
                    let cell = cell.trim();
                    let value = cell.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| {
                        bad(format!(
                            "row {}, column {:?}: {cell:?} is not a finite number (golden cases give every feature)",
                            row + 2,
                            &headers[i]
                        ))
                    })?;
                    features.push(Value::from(value));
                }
                json!({"features": features, "label": expected})
            }
        };
        cases.push(case);
    }
    if cases.is_empty() {
        return Err(bad("no cases".into()));
    }
    let mut text = serde_json::to_vec_pretty(&Value::Array(cases)).expect("JSON serializes");
    text.push(b'\n');
    Ok(text)
}
