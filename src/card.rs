//! The model card: what a model is, read from ONNX `metadata_props` and/or a sidecar JSON file.
//!
//! Both sources are flattened into one key → string map (sidecar values that are JSON numbers,
//! booleans, objects or arrays are kept as their JSON text); sidecar keys override metadata keys.
//! The keys are documented in docs/models.md ("Model cards"); unknown keys are kept in
//! [`ModelCard::properties`].

use std::collections::BTreeMap;

use crate::error::{fail, Error, Result, Status};

/// What a model consumes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum InputKind {
    /// UTF-8 text, tokenized with the model's tokenizer.json into `input_ids` / `attention_mask`.
    Text = 1,
    /// A fixed-length vector of f32 features.
    Tensor = 2,
    /// Raw bytes (e.g. a file's content), turned into fixed-length integer features.
    Bytes = 3,
}

impl InputKind {
    /// The card's spelling: `text`, `tensor` or `bytes`.
    pub fn as_str(self) -> &'static str {
        match self {
            InputKind::Text => "text",
            InputKind::Tensor => "tensor",
            InputKind::Bytes => "bytes",
        }
    }

    fn parse(value: &str) -> Result<InputKind> {
        match value {
            "text" => Ok(InputKind::Text),
            "tensor" => Ok(InputKind::Tensor),
            "bytes" => Ok(InputKind::Bytes),
            other => fail(Status::ModelCard, format!("card: input_kind {other:?} is not one of text, tensor, bytes")),
        }
    }
}

/// How the model's output scores become probabilities.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Postprocess {
    /// The output is logits: probabilities = softmax(output).
    Softmax,
    /// The output already is a probability vector.
    Identity,
    /// The output is one logit z for a two-label model: probabilities = [1 − σ(z), σ(z)].
    Sigmoid,
}

impl Postprocess {
    /// The card's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Postprocess::Softmax => "softmax",
            Postprocess::Identity => "identity",
            Postprocess::Sigmoid => "sigmoid",
        }
    }

    fn parse(value: &str) -> Result<Postprocess> {
        match value {
            "softmax" => Ok(Postprocess::Softmax),
            "identity" | "none" | "probabilities" => Ok(Postprocess::Identity),
            "sigmoid" => Ok(Postprocess::Sigmoid),
            other => {
                fail(Status::ModelCard, format!("card: postprocess {other:?} is not one of softmax, identity, sigmoid"))
            }
        }
    }
}

/// Byte feature extraction (Magika's "v2" scheme): read at most `block_size` bytes from each
/// end, optionally strip ASCII whitespace (leading at the start, trailing at the end), keep the
/// first `beg_size` and the last `end_size` bytes, pad with `padding_token` (after the
/// beginning part, before the end part).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BytesFeatures {
    /// Bytes taken from the beginning.
    pub beg_size: usize,
    /// Bytes taken from the end.
    pub end_size: usize,
    /// Bytes read from each end before stripping.
    pub block_size: usize,
    /// Value used for missing bytes.
    pub padding_token: i32,
    /// Strip ASCII whitespace (space, \t, \n, \r, \x0b, \x0c) before taking the bytes.
    pub strip_whitespace: bool,
}

impl BytesFeatures {
    /// Length of the feature vector.
    pub fn len(&self) -> usize {
        self.beg_size + self.end_size
    }

    /// True when no byte is taken (an invalid configuration, refused at load).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The parsed card.
#[derive(Clone, Debug, Default)]
pub struct ModelCard {
    /// Model name (card `name`); empty when the card has none.
    pub name: String,
    /// Model version (card `version`); empty when the card has none.
    pub version: String,
    /// When the weights were fitted (card `trained_at`, ISO 8601), as written.
    pub trained_at: Option<String>,
    /// `trained_at` as seconds since the Unix epoch (UTC; a date means its midnight).
    pub trained_at_unix: Option<i64>,
    /// One-line description.
    pub description: String,
    /// Input kind, when the card says.
    pub input_kind: Option<InputKind>,
    /// Label names by index (card `id2label`), when the card says.
    pub labels: Option<Vec<String>>,
    /// The graph output holding the scores.
    pub output_name: Option<String>,
    /// How scores become probabilities.
    pub postprocess: Option<Postprocess>,
    /// Text: longest token sequence, special tokens included.
    pub max_sequence_length: Option<usize>,
    /// Text: sequence-length buckets.
    pub sequence_buckets: Option<Vec<usize>>,
    /// Text: tokenizer file name, next to the model.
    pub tokenizer: Option<String>,
    /// Bytes: feature extraction.
    pub bytes: Option<BytesFeatures>,
    /// Metrics as JSON text (e.g. `{"accuracy": 0.9, "dataset": "..."}`).
    pub metrics: Option<String>,
    /// Every key and value of the card, including the ones above.
    pub properties: BTreeMap<String, String>,
}

impl ModelCard {
    /// Build a card from ONNX metadata_props and an optional sidecar JSON document (an object).
    pub fn from_sources(metadata: &[(String, String)], sidecar_json: Option<&str>) -> Result<ModelCard> {
        let mut props: BTreeMap<String, String> = metadata.iter().cloned().collect();
        if let Some(text) = sidecar_json {
            let value: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| Error::new(Status::ModelCard, format!("sidecar card is not valid JSON: {e}")))?;
            let object =
                value.as_object().ok_or_else(|| Error::new(Status::ModelCard, "sidecar card must be a JSON object"))?;
            for (key, value) in object {
                let text = match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                props.insert(key.clone(), text);
            }
        }
        Self::from_properties(props)
    }

    fn from_properties(props: BTreeMap<String, String>) -> Result<ModelCard> {
        let get = |key: &str| props.get(key).map(|s| s.trim()).filter(|s| !s.is_empty());
        let mut card = ModelCard {
            name: get("name").unwrap_or_default().to_string(),
            version: get("version").unwrap_or_default().to_string(),
            description: get("description").unwrap_or_default().to_string(),
            output_name: get("output_name").map(str::to_string),
            tokenizer: get("tokenizer").map(str::to_string),
            metrics: get("metrics").map(str::to_string),
            ..ModelCard::default()
        };
        for text in [&card.name, &card.version, &card.description] {
            if text.contains('\0') {
                return fail(Status::ModelCard, "card: text fields must not contain NUL");
            }
        }
        if let Some(value) = get("trained_at") {
            card.trained_at_unix = Some(parse_iso8601(value)?);
            card.trained_at = Some(value.to_string());
        }
        card.input_kind = get("input_kind").map(InputKind::parse).transpose()?;
        card.postprocess = get("postprocess").map(Postprocess::parse).transpose()?;
        card.labels = get("id2label").map(parse_id2label).transpose()?;
        card.max_sequence_length =
            get("max_sequence_length").map(|v| parse_count("max_sequence_length", v)).transpose()?;
        card.sequence_buckets = get("sequence_buckets").map(parse_buckets).transpose()?;
        if let Some(metrics) = &card.metrics {
            if serde_json::from_str::<serde_json::Value>(metrics).is_err() {
                return fail(Status::ModelCard, "card: metrics must be JSON");
            }
        }
        let bytes_keys = ["bytes_beg_size", "bytes_end_size", "bytes_block_size", "bytes_padding_token"];
        if bytes_keys.iter().any(|k| get(k).is_some()) {
            let count = |key: &str| -> Result<usize> {
                let value = get(key).ok_or_else(|| Error::new(Status::ModelCard, format!("card: {key} is missing")))?;
                parse_count(key, value)
            };
            let padding = get("bytes_padding_token")
                .ok_or_else(|| Error::new(Status::ModelCard, "card: bytes_padding_token is missing"))?;
            let features = BytesFeatures {
                beg_size: count("bytes_beg_size")?,
                end_size: count("bytes_end_size")?,
                block_size: count("bytes_block_size")?,
                padding_token: padding.parse().map_err(|_| {
                    Error::new(Status::ModelCard, format!("card: bytes_padding_token {padding:?} is not an integer"))
                })?,
                strip_whitespace: match get("bytes_strip_whitespace").unwrap_or("false") {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    other => {
                        return fail(
                            Status::ModelCard,
                            format!("card: bytes_strip_whitespace {other:?} is not true/false"),
                        )
                    }
                },
            };
            if features.is_empty() || features.beg_size > features.block_size || features.end_size > features.block_size
            {
                return fail(
                    Status::ModelCard,
                    "card: bytes features need beg_size + end_size > 0 and both <= block_size",
                );
            }
            card.bytes = Some(features);
        }
        card.properties = props;
        Ok(card)
    }
}

fn parse_count(key: &str, value: &str) -> Result<usize> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 && n <= 1 << 20 => Ok(n),
        _ => fail(Status::ModelCard, format!("card: {key} {value:?} is not a positive integer <= 1048576")),
    }
}

fn parse_buckets(value: &str) -> Result<Vec<usize>> {
    let mut buckets =
        value.split(',').map(|part| parse_count("sequence_buckets", part.trim())).collect::<Result<Vec<_>>>()?;
    buckets.sort_unstable();
    buckets.dedup();
    Ok(buckets)
}

/// `id2label` is a JSON object `{"0": "A", "1": "B"}` with dense indexes, or a JSON array.
fn parse_id2label(value: &str) -> Result<Vec<String>> {
    let bad = |why: &str| Error::new(Status::ModelCard, format!("card: id2label {why}"));
    let json: serde_json::Value = serde_json::from_str(value).map_err(|e| bad(&format!("is not JSON: {e}")))?;
    let labels: Vec<String> = match json {
        serde_json::Value::Array(items) => items
            .into_iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(|| bad("array must hold strings")))
            .collect::<Result<_>>()?,
        serde_json::Value::Object(map) => {
            let mut slots: Vec<Option<String>> = vec![None; map.len()];
            for (key, v) in map {
                let index: usize = key.parse().map_err(|_| bad(&format!("key {key:?} is not an index")))?;
                let slot = slots.get_mut(index).ok_or_else(|| bad("indexes must be 0..n-1 without gaps"))?;
                *slot = Some(v.as_str().ok_or_else(|| bad("values must be strings"))?.to_string());
            }
            slots.into_iter().collect::<Option<Vec<_>>>().ok_or_else(|| bad("indexes must be 0..n-1 without gaps"))?
        }
        _ => return Err(bad("must be an object or an array")),
    };
    if labels.is_empty() {
        return Err(bad("is empty"));
    }
    if labels.iter().any(|l| l.is_empty() || l.contains('\0')) {
        return Err(bad("labels must be non-empty and contain no NUL"));
    }
    Ok(labels)
}

/// Parse `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.frac]]` with an optional `Z` or `±HH:MM` offset
/// (none means UTC) into seconds since the Unix epoch.
pub fn parse_iso8601(text: &str) -> Result<i64> {
    let bad =
        || Error::new(Status::ModelCard, format!("card: trained_at {text:?} is not an ISO 8601 date or date-time"));
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Result<i64> {
        let part = b.get(range).ok_or_else(bad)?;
        if part.iter().all(u8::is_ascii_digit) {
            Ok(part.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
        } else {
            Err(bad())
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(bad());
    }
    let mut seconds = days_from_civil(year, month, day) * 86_400;
    if b.len() == 10 {
        return Ok(seconds);
    }
    if b[10] != b'T' && b[10] != b' ' {
        return Err(bad());
    }
    let (hour, minute) = (digits(11..13)?, digits(14..16)?);
    if b.get(13) != Some(&b':') || hour > 23 || minute > 59 {
        return Err(bad());
    }
    let mut pos = 16;
    let mut second = 0;
    if b.get(pos) == Some(&b':') {
        second = digits(17..19)?;
        if second > 60 {
            return Err(bad());
        }
        pos = 19;
        if b.get(pos) == Some(&b'.') {
            pos += 1;
            while b.get(pos).is_some_and(u8::is_ascii_digit) {
                pos += 1;
            }
        }
    }
    seconds += hour * 3600 + minute * 60 + second;
    match b.get(pos) {
        None => Ok(seconds),
        Some(b'Z') if pos + 1 == b.len() => Ok(seconds),
        Some(&sign @ (b'+' | b'-')) if b.len() == pos + 6 && b[pos + 3] == b':' => {
            let offset = digits(pos + 1..pos + 3)? * 3600 + digits(pos + 4..pos + 6)? * 60;
            Ok(if sign == b'+' { seconds - offset } else { seconds + offset })
        }
        _ => Err(bad()),
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(pairs: &[(&str, &str)]) -> Result<ModelCard> {
        let meta: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ModelCard::from_sources(&meta, None)
    }

    #[test]
    fn iso8601_dates_and_times() {
        assert_eq!(parse_iso8601("1970-01-01").unwrap(), 0);
        assert_eq!(parse_iso8601("2000-03-01").unwrap(), 951_868_800);
        assert_eq!(parse_iso8601("2026-11-26T10:00:00Z").unwrap(), 1_795_687_200);
        assert_eq!(parse_iso8601("2026-11-26T12:00:00+02:00").unwrap(), 1_795_687_200);
        assert_eq!(parse_iso8601("2026-11-26T10:00").unwrap(), 1_795_687_200);
        assert_eq!(parse_iso8601("2026-11-26T10:00:00.123456").unwrap(), 1_795_687_200);
        for bad in ["", "2026", "2026-13-01", "2026-02-30", "2026-11-26T25:00", "yesterday", "2026-11-26Tab:cd"] {
            assert_eq!(parse_iso8601(bad).unwrap_err().status(), Status::ModelCard, "{bad}");
        }
        assert!(parse_iso8601("2024-02-29").is_ok());
        assert!(parse_iso8601("2023-02-29").is_err());
    }

    #[test]
    fn id2label_object_and_array() {
        let c = card(&[("id2label", r#"{"1": "B", "0": "A"}"#)]).unwrap();
        assert_eq!(c.labels.unwrap(), vec!["A", "B"]);
        let c = card(&[("id2label", r#"["x", "y", "z"]"#)]).unwrap();
        assert_eq!(c.labels.unwrap().len(), 3);
        for bad in [r#"{"0": "A", "2": "C"}"#, r#"{}"#, r#"{"a": "A"}"#, r#"[1, 2]"#, "nope", r#"[""]"#] {
            assert_eq!(card(&[("id2label", bad)]).unwrap_err().status(), Status::ModelCard, "{bad}");
        }
    }

    #[test]
    fn sidecar_overrides_metadata() {
        let meta = vec![("name".to_string(), "a".to_string()), ("version".to_string(), "1".to_string())];
        let c = ModelCard::from_sources(&meta, Some(r#"{"name": "b", "max_sequence_length": 64}"#)).unwrap();
        assert_eq!(c.name, "b");
        assert_eq!(c.version, "1");
        assert_eq!(c.max_sequence_length, Some(64));
        assert!(ModelCard::from_sources(&meta, Some("[1]")).is_err());
        assert!(ModelCard::from_sources(&meta, Some("{")).is_err());
    }

    #[test]
    fn bytes_features_need_all_keys() {
        let full = [
            ("bytes_beg_size", "4"),
            ("bytes_end_size", "4"),
            ("bytes_block_size", "16"),
            ("bytes_padding_token", "256"),
        ];
        let c = card(&full).unwrap();
        assert_eq!(c.bytes.unwrap().len(), 8);
        assert!(card(&full[..3]).is_err());
        assert!(card(&[
            ("bytes_beg_size", "32"),
            ("bytes_end_size", "4"),
            ("bytes_block_size", "16"),
            ("bytes_padding_token", "0")
        ])
        .is_err());
    }

    #[test]
    fn buckets_sorted_and_validated() {
        assert_eq!(card(&[("sequence_buckets", "64, 16,32,16")]).unwrap().sequence_buckets.unwrap(), vec![16, 32, 64]);
        assert!(card(&[("sequence_buckets", "16,0")]).is_err());
        assert!(card(&[("input_kind", "audio")]).is_err());
        assert!(card(&[("postprocess", "argmax")]).is_err());
    }
}
