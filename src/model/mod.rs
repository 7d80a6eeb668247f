//! `Model`: a loaded, optimized, immutable classifier (plans, preprocessor, labels, card).

mod bytes;
mod files;
mod graph;
mod limits;
mod ml;
mod scores;
pub(crate) mod tensors;
mod text;
pub(crate) mod tract_state;
pub(crate) mod unit;
mod unsupported;

use std::path::Path;
use std::sync::{Arc, Mutex};

use tract_linalg::multithread::Executor;
use tract_onnx::prelude::*;

pub use crate::card::{BytesFeatures, InputKind, ModelCard, Postprocess};
use crate::error::{fail, Error, Result, Status};
use crate::package::{self, Provenance, TrustPolicy};
pub(crate) use bytes::extract as extract_byte_features;
pub(crate) use graph::{InputRole, InputSpec, Plan};
pub use limits::ModelLimits;
pub(crate) use scores::{argmax, probabilities};
pub(crate) use text::{TextEncoder, Tokens};

/// Longest token sequence for a text model whose card does not say.
pub const DEFAULT_MAX_SEQUENCE_LENGTH: usize = 128;
/// Largest batch accepted by the batch calls unless the options say otherwise.
pub const DEFAULT_MAX_BATCH: usize = 32;
/// Most threads a model may use inside one run.
pub const MAX_THREADS: usize = 64;
/// Longest token sequence a text model may be loaded with (the card's or the options').
pub const MAX_SEQUENCE_LENGTH: usize = 8192;
/// Most sequence-length buckets (each has its own tract state per session).
pub const MAX_BUCKETS: usize = 64;
/// Most text bytes a text model may look at per request (`max_text_bytes`): tokenizing the
/// worst case of this many bytes happens once per new session, when the pool is sized.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;
/// Text models run each request at its own length (no padding) when their longest input is at most
/// this many tokens: a session holds an input tensor per length (3 inputs × 512 lengths: 3.1 MB
/// at most); longer ones pad a request to its bucket.
pub const EXACT_LENGTHS_MAX_TOKENS: usize = 512;
/// Largest `max_batch`.
pub const MAX_BATCH: usize = 1024;
/// Largest model file read unless `max_model_bytes` says otherwise (the tokenizer and the card
/// are held to the same bound).
pub const DEFAULT_MAX_MODEL_BYTES: u64 = 256 << 20;

/// Options for [`Model::load`] and [`Model::from_bytes`]. `Default` gives the card's values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelOptions {
    /// Text models: longest token sequence (special tokens included). At most the card's
    /// `max_sequence_length`; `None` takes the card's (or 128 when the card has none).
    pub max_sequence_length: Option<usize>,
    /// Text models: the sequence lengths plans are made for. A request runs at the smallest
    /// bucket that holds its tokens. `None` takes the card's `sequence_buckets`, else 8 and the
    /// powers of two with their midpoints (16, 24, 32, 48, 64, 96, ...) up to the maximum length.
    /// The maximum length is always a bucket.
    pub sequence_buckets: Option<Vec<usize>>,
    /// Threads tract may use inside one run (1 = the calling thread only, the default and the
    /// only setting with zero allocations per request). More than 1 needs the `multithread`
    /// feature and helps only long sequences.
    pub threads: usize,
    /// Text models: bytes of text looked at (default 16 per allowed token).
    pub max_text_bytes: Option<usize>,
    /// Largest batch the batch calls accept (default 32). Above 1, a batch runs as one plan run:
    /// the first batch call makes the batch plan (symbolic in the batch axis; for the headline
    /// encoder about a quarter of a second and a copy of the weights), and until then the model
    /// keeps its parsed graph. 1: no batch plan and no parsed graph kept; batch calls classify
    /// item by item.
    pub max_batch: usize,
    /// Text models: `false` (default) builds one plan with a symbolic sequence length, and a
    /// request runs at its own token count (no padding, up to [`EXACT_LENGTHS_MAX_TOKENS`]; each
    /// bucket has its own state, and a session holds input tensors for every length); `true`
    /// builds one plan per bucket with the length fixed, a request padded to its bucket, at the
    /// cost of one more copy of the weights per bucket. Refused for a model that quantizes
    /// activations at run time (DynamicQuantizeLinear), whose answers padding would change.
    pub plan_per_bucket: bool,
    /// Largest file [`Model::load`] reads (model, tokenizer, card), and largest ONNX buffer
    /// [`Model::from_bytes`] accepts: bigger ones are refused with [`Status::ModelLimit`] before
    /// anything is allocated for them. Default 256 MiB. A model package is one file, held to
    /// this bound as a whole.
    pub max_model_bytes: u64,
    /// Which models are taken: with trusted keys, only model packages signed by one of them (a
    /// plain ONNX model or an unsigned package is refused, `PackageUnsigned`); with a minimum
    /// package version, nothing older (`PackageOutdated`). The default takes any model, as
    /// before packages existed. See [`package::open`] for every check.
    pub trust: TrustPolicy,
    /// What the model may ask for (nodes, graph depth, elements per tensor, initializer bytes),
    /// checked before tract allocates for it: a model above one is refused with
    /// [`Status::ModelLimit`] naming the limit. The defaults admit every shipped model with room.
    pub limits: ModelLimits,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            max_sequence_length: None,
            sequence_buckets: None,
            threads: 1,
            max_text_bytes: None,
            max_batch: DEFAULT_MAX_BATCH,
            plan_per_bucket: false,
            max_model_bytes: DEFAULT_MAX_MODEL_BYTES,
            trust: TrustPolicy::default(),
            limits: ModelLimits::default(),
        }
    }
}

impl ModelOptions {
    /// Check every option against its documented range (the card-dependent checks, such as
    /// `max_sequence_length` against the card's, happen at load).
    pub fn validate(&self) -> Result<()> {
        let range = |name: &str, value: usize, min: usize, max: usize| {
            if value < min || value > max {
                return fail(Status::InvalidArgument, format!("{name} must be {min}..={max}, got {value}"));
            }
            Ok(())
        };
        if let Some(n) = self.max_sequence_length {
            range("max_sequence_length", n, 1, MAX_SEQUENCE_LENGTH)?;
        }
        if let Some(list) = &self.sequence_buckets {
            range("the number of sequence_buckets", list.len(), 1, MAX_BUCKETS)?;
            for &b in list {
                range("each sequence bucket", b, 1, MAX_SEQUENCE_LENGTH)?;
            }
        }
        range("threads", self.threads, 1, MAX_THREADS)?;
        if let Some(n) = self.max_text_bytes {
            range("max_text_bytes", n, 1, MAX_TEXT_BYTES)?;
        }
        range("max_batch", self.max_batch, 1, MAX_BATCH)?;
        if self.max_model_bytes == 0 {
            return fail(Status::InvalidArgument, "max_model_bytes must be at least 1");
        }
        self.limits.validate()?;
        self.trust.validate()
    }
}

/// A loaded classifier. Cheap to clone (reference counted), `Send + Sync`: share one `Model`
/// between threads and give each thread its own [`Session`](crate::Session).
#[derive(Clone)]
pub struct Model {
    pub(crate) inner: Arc<ModelInner>,
}

pub(crate) struct ModelInner {
    pub card: ModelCard,
    pub kind: InputKind,
    pub labels: Vec<Arc<str>>,
    pub postprocess: Postprocess,
    /// Values in one raw output row (labels, or 1 for a sigmoid output).
    pub output_width: usize,
    pub output_name: String,
    pub inputs: Vec<InputSpec>,
    /// Single-request plans, ascending by length: the text buckets, or the one feature length.
    pub plans: Vec<Plan>,
    /// How batches run (see [`BatchPlans`]).
    pub batch: BatchPlans,
    pub text: Option<TextEncoder>,
    /// Tensor models: NaN features are missing values the graph has a rule for.
    pub handles_missing: bool,
    /// Text models with one plan for every length and at most [`EXACT_LENGTHS_MAX_TOKENS`]
    /// tokens: a request runs at its own token count, on input tensors of that length (a unit
    /// holds one input set per length, see `unit::input_slot`); otherwise at its bucket's length,
    /// padded.
    pub exact_lengths: bool,
    pub bytes: Option<BytesFeatures>,
    /// Where the model comes from (its package's signer and version; empty for plain ONNX).
    pub provenance: Provenance,
    /// Tensor/bytes models: values per example.
    pub example_len: usize,
    /// Tensor/bytes models: the shape of one example (input shape without the batch axis).
    pub example_shape: Vec<usize>,
    pub max_tokens: usize,
    pub options: ModelOptions,
    pub executor: Executor,
    /// Session scratch given back by dropped sessions, reused by new ones (see `unit`).
    pub spare_units: Mutex<Vec<unit::Unit>>,
    /// Test hooks (injected latency, held requests): a unit without the `test-hooks` feature.
    pub test_hooks: crate::testing::Hooks,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("name", &self.inner.card.name)
            .field("version", &self.inner.card.version)
            .field("kind", &self.inner.kind)
            .field("labels", &self.inner.labels.len())
            .finish()
    }
}

impl Model {
    /// Load a model from a directory (holding `model.onnx`, and `tokenizer.json` for text
    /// models, and optionally a `card.json` sidecar), from an `.onnx` file (siblings looked up
    /// next to it; the sidecar may also be named `<stem>.card.json`), or from a model package
    /// (one file made by `mle-pack`, verified under `options.trust` first: see [`package::open`]).
    pub fn load(path: impl AsRef<Path>, options: &ModelOptions) -> Result<Model> {
        options.validate()?;
        let limit = options.max_model_bytes;
        let files = files::locate(path.as_ref())?;
        let onnx = files::read_bounded(&files.onnx, limit, "max_model_bytes")?;
        if package::looks_like_package(&onnx) {
            return Model::from_package(&onnx, options)
                .map_err(|e| Error::new(e.status(), format!("{}: {}", files.onnx.display(), e.message())));
        }
        options.trust.admit(&Provenance::default()).map_err(|e| {
            Error::new(
                e.status(),
                format!("{}: a plain ONNX model, not a package: {}", path.as_ref().display(), e.message()),
            )
        })?;
        let sidecar = files
            .sidecar
            .as_deref()
            .map(|p| {
                String::from_utf8(files::read_bounded(p, limit, "max_model_bytes")?)
                    .map_err(|_| Error::new(Status::ModelCard, format!("{}: not UTF-8", p.display())))
            })
            .transpose()?;
        let proto = graph::decode(&onnx)
            .map_err(|e| Error::new(e.status(), format!("{}: {}", files.onnx.display(), e.message())))?;
        drop(onnx);
        without_panics(|| Model::build_from_proto(proto, sidecar.as_deref(), &files.dir, options))
    }

    /// Load a model package from memory, verified under `options.trust` first (see
    /// [`package::open`] for the checks and their statuses); the model is then built as
    /// [`from_bytes`](Self::from_bytes) builds one, its card carrying the package's self-test
    /// cases, and [`provenance`](Self::provenance) says who signed it.
    pub fn from_package(bytes: &[u8], options: &ModelOptions) -> Result<Model> {
        options.validate()?;
        if bytes.len() as u64 > options.max_model_bytes {
            let message =
                files::too_large("the package", bytes.len() as u64, options.max_model_bytes, "max_model_bytes");
            return fail(Status::ModelLimit, message);
        }
        let package = package::open(bytes, &options.trust)?;
        let sidecar = package.sidecar_card()?;
        let onnx = package.file(package::MODEL).expect("package::open checks that a package has its model");
        let proto = graph::decode(onnx)?;
        let provenance = package.provenance.clone();
        let tokenizer = package.file(package::TOKENIZER);
        without_panics(|| {
            Model::build(graph::parse(proto, sidecar.as_deref(), &options.limits)?, tokenizer, options, provenance)
        })
    }

    fn build_from_proto(
        proto: tract_onnx::pb::ModelProto,
        sidecar: Option<&str>,
        dir: &Path,
        options: &ModelOptions,
    ) -> Result<Model> {
        let limit = options.max_model_bytes;
        let parsed = graph::parse(proto, sidecar, &options.limits)?;
        let tokenizer = if parsed.inputs.iter().any(|i| i.role == InputRole::TokenIds) {
            let name = parsed.card.tokenizer.clone().unwrap_or_else(|| "tokenizer.json".to_string());
            let path = dir.join(&name);
            Some(files::read_bounded(&path, limit, "max_model_bytes").map_err(|e| {
                let status = if e.status() == Status::Io { Status::Tokenizer } else { e.status() };
                Error::new(status, format!("text model needs its tokenizer: {}", e.message()))
            })?)
        } else {
            None
        };
        Model::build(parsed, tokenizer.as_deref(), options, Provenance::default())
    }

    /// Load a model from memory: the ONNX bytes, the tokenizer.json bytes (text models) and an
    /// optional sidecar card (JSON text).
    pub fn from_bytes(
        onnx: &[u8],
        tokenizer_json: Option<&[u8]>,
        sidecar_card: Option<&str>,
        options: &ModelOptions,
    ) -> Result<Model> {
        options.validate()?;
        if package::looks_like_package(onnx) {
            if tokenizer_json.is_some() || sidecar_card.is_some() {
                return fail(
                    Status::InvalidArgument,
                    "these bytes are a model package, which carries its own tokenizer and card: give neither",
                );
            }
            return Model::from_package(onnx, options);
        }
        if onnx.len() as u64 > options.max_model_bytes {
            let message =
                files::too_large("the ONNX data", onnx.len() as u64, options.max_model_bytes, "max_model_bytes");
            return fail(Status::ModelLimit, message);
        }
        options.trust.admit(&Provenance::default())?;
        let proto = graph::decode(onnx)?;
        without_panics(|| {
            Model::build(
                graph::parse(proto, sidecar_card, &options.limits)?,
                tokenizer_json,
                options,
                Provenance::default(),
            )
        })
    }

    fn build(
        parsed: graph::ParsedGraph,
        tokenizer_json: Option<&[u8]>,
        options: &ModelOptions,
        provenance: Provenance,
    ) -> Result<Model> {
        let kind = parsed.kind;
        let executor = executor(options.threads)?;

        let mut max_tokens = 0;
        let mut text = None;
        let mut bytes = None;
        let mut example_len = parsed.example_shape.iter().product::<usize>();
        let lengths: Vec<Option<usize>> = match kind {
            InputKind::Text => {
                let card_max = parsed.card.max_sequence_length.unwrap_or(DEFAULT_MAX_SEQUENCE_LENGTH);
                if card_max == 0 || card_max > MAX_SEQUENCE_LENGTH {
                    return fail(
                        Status::ModelCard,
                        format!("the card's max_sequence_length must be 1..={MAX_SEQUENCE_LENGTH}, got {card_max}"),
                    );
                }
                max_tokens = match options.max_sequence_length {
                    Some(n) if n == 0 || n > card_max => {
                        return fail(
                            Status::InvalidArgument,
                            format!("max_sequence_length must be 1..={card_max} (the card's), got {n}"),
                        )
                    }
                    Some(n) => n,
                    None => card_max,
                };
                let json = tokenizer_json.ok_or_else(|| {
                    Error::new(
                        Status::Tokenizer,
                        "a text model needs its tokenizer.json: give its bytes with the ONNX bytes, or pack it in the \
                         model's package (mle-pack pack --tokenizer)",
                    )
                })?;
                let text_bytes = options
                    .max_text_bytes
                    .unwrap_or((max_tokens * text::DEFAULT_TEXT_BYTES_PER_TOKEN).min(MAX_TEXT_BYTES));
                text = Some(TextEncoder::new(json, max_tokens, text_bytes)?);
                buckets(options.sequence_buckets.as_deref().or(parsed.card.sequence_buckets.as_deref()), max_tokens)?
                    .into_iter()
                    .map(Some)
                    .collect()
            }
            InputKind::Bytes => {
                let features = parsed
                    .card
                    .bytes
                    .ok_or_else(|| Error::new(Status::ModelCard, "a bytes model's card needs bytes_beg_size, bytes_end_size, bytes_block_size, bytes_padding_token"))?;
                if features.len() != example_len {
                    return fail(
                        Status::ModelCard,
                        format!(
                            "card byte features make {} values but the model input takes {example_len}",
                            features.len()
                        ),
                    );
                }
                bytes = Some(features);
                vec![None]
            }
            InputKind::Tensor => {
                example_len = example_len.max(1);
                vec![None]
            }
        };

        let exact_lengths =
            kind == InputKind::Text && !options.plan_per_bucket && max_tokens <= EXACT_LENGTHS_MAX_TOKENS;
        if parsed.dynamic_quantization && kind == InputKind::Text && !exact_lengths {
            let way_out = if options.plan_per_bucket {
                "load it without plan_per_bucket, which pads each text to its bucket".to_string()
            } else {
                format!("set max_sequence_length to {EXACT_LENGTHS_MAX_TOKENS} or less (it is {max_tokens})")
            };
            return fail(
                Status::InvalidArgument,
                format!(
                    "this model quantizes activations per tensor at run time (DynamicQuantizeLinear), so padding a \
                     text changes its answer: it must run each text at its own length, which this runtime does up to \
                     {EXACT_LENGTHS_MAX_TOKENS} tokens without plan_per_bucket; {way_out}"
                ),
            );
        }
        let (single, seq) = parsed.typed(Some(1))?;
        let longest = (kind == InputKind::Text).then_some(max_tokens);
        limits::check_typed(&single, &seq, longest, options.max_batch, &options.limits)?;
        let shared = if options.plan_per_bucket { None } else { Some(graph::plan(&single, &seq, None)?) };
        let plans = lengths
            .iter()
            .map(|&length| {
                let runnable = match &shared {
                    Some(plan) => Arc::clone(plan),
                    None => graph::plan(&single, &seq, length)?,
                };
                Ok(Plan { length: length.unwrap_or(example_len), runnable })
            })
            .collect::<Result<Vec<_>>>()?;
        drop(single);
        // The batch plan is made on the first batch call (see `BatchPlans`): most hosts classify
        // one input at a time, and for the headline encoder that plan costs a quarter of a second
        // and another copy of the weights at load.
        let batch = if options.max_batch == 1 || parsed.dynamic_quantization {
            BatchPlans::None
        } else {
            BatchPlans::OnFirstUse(Mutex::new(BatchPlanState::FromSource {
                source: Box::new(parsed.without_card()),
                tried: false,
                sized: Vec::new(),
            }))
        };

        let mut inner = ModelInner {
            labels: Vec::new(),
            postprocess: Postprocess::Identity,
            output_width: 0,
            output_name: parsed.output_name.clone(),
            inputs: parsed.inputs.clone(),
            card: parsed.card,
            kind,
            plans,
            batch,
            text,
            handles_missing: parsed.handles_missing,
            exact_lengths,
            bytes,
            provenance,
            example_len,
            example_shape: parsed.example_shape.clone(),
            max_tokens,
            options: options.clone(),
            executor,
            spare_units: Mutex::new(Vec::new()),
            test_hooks: Default::default(),
        };
        // The first session's unit, made now: its warm-up runs every plan once, which proves that
        // they run and tells the output width; then settle the labels and the postprocessing.
        let graph_labels = parsed.graph_labels;
        let (width, first_unit) = unit::first_unit(&inner)?;
        inner.spare_units.get_mut().unwrap_or_else(|e| e.into_inner()).push(first_unit);
        inner.output_width = width;
        let name = inner.output_name.to_ascii_lowercase();
        // The card's labels, else the ones the graph carries (ZipMap's, the classifier's).
        let known_labels = inner.card.labels.clone().or(graph_labels);
        let two_labels = known_labels.as_ref().is_some_and(|l| l.len() == 2);
        inner.postprocess = match inner.card.postprocess {
            Some(p) => p,
            None if width == 1 && two_labels => Postprocess::Sigmoid,
            None if width == 1 => {
                return fail(
                    Status::ModelUnsupported,
                    "the model outputs a single value and its card has no two labels: not a classifier",
                )
            }
            None if name.contains("prob") => Postprocess::Identity,
            None if name.contains("logit") => Postprocess::Softmax,
            None => {
                return fail(
                    Status::ModelCard,
                    format!("the card must say how output {:?} becomes probabilities (postprocess)", inner.output_name),
                )
            }
        };
        let label_count = if inner.postprocess == Postprocess::Sigmoid { 2 } else { width };
        if inner.postprocess == Postprocess::Sigmoid && width != 1 {
            return fail(
                Status::ModelCard,
                format!("postprocess sigmoid needs one output value, the model gives {width}"),
            );
        }
        inner.labels = match &known_labels {
            Some(labels) if labels.len() == label_count => labels.iter().map(|l| Arc::from(l.as_str())).collect(),
            Some(labels) => {
                return fail(
                    Status::ModelUnsupported,
                    format!(
                        "the {} has {} labels but the model outputs {label_count} scores: not this card's classifier",
                        if inner.card.labels.is_some() { "card" } else { "graph's classifier" },
                        labels.len()
                    ),
                )
            }
            None if label_count >= 2 => (0..label_count).map(|i| Arc::from(format!("class_{i}").as_str())).collect(),
            None => {
                return fail(
                    Status::ModelUnsupported,
                    "the model outputs a single score and has no labels: not a classifier",
                )
            }
        };
        Ok(Model { inner: Arc::new(inner) })
    }

    /// Whether both handles are the same loaded model (not merely equal files).
    pub fn same_as(&self, other: &Model) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The card.
    pub fn card(&self) -> &ModelCard {
        &self.inner.card
    }

    /// What the model consumes.
    pub fn input_kind(&self) -> InputKind {
        self.inner.kind
    }

    /// The element type the graph's feature or token input takes. Callers always pass f32
    /// features; for another type the session converts them into its preallocated input
    /// (integers must be whole numbers).
    pub fn input_element_type(&self) -> ElementType {
        match self.inner.inputs[0].datum_type {
            DatumType::F64 => ElementType::Float64,
            DatumType::I64 => ElementType::Int64,
            DatumType::I32 => ElementType::Int32,
            _ => ElementType::Float32,
        }
    }

    /// Whether NaN features are taken as missing values (tensor models whose graph has a rule for
    /// them: a tree ensemble, where each node says which branch NaN takes, or an imputer that
    /// replaces NaN). Other models refuse NaN with `InputNotFinite`; infinities are refused always.
    pub fn handles_missing_values(&self) -> bool {
        self.inner.handles_missing
    }

    /// Label names, by index.
    pub fn labels(&self) -> &[Arc<str>] {
        &self.inner.labels
    }

    /// How the raw output becomes probabilities.
    pub fn postprocess(&self) -> Postprocess {
        self.inner.postprocess
    }

    /// Text: the longest token sequence; tensor: the feature count; bytes: the feature count
    /// (beginning + end bytes).
    pub fn max_input_length(&self) -> usize {
        match self.inner.kind {
            InputKind::Text => self.inner.max_tokens,
            _ => self.inner.example_len,
        }
    }

    /// Tensor and bytes models: the shape of one example (the input's dims after the batch axis);
    /// empty for text models.
    pub fn input_shape(&self) -> &[usize] {
        &self.inner.example_shape
    }

    /// Bytes models: how the features are taken from the bytes (from the card).
    pub fn byte_features(&self) -> Option<crate::card::BytesFeatures> {
        self.inner.bytes
    }

    /// The lengths plans were made for (text buckets; one value for other kinds).
    pub fn plan_lengths(&self) -> Vec<usize> {
        self.inner.plans.iter().map(|p| p.length).collect()
    }

    /// Text models: the token ids a text becomes (special tokens included, truncated to the
    /// maximum sequence length) and whether anything was cut. For inspection and tests; the
    /// request path tokenizes into preallocated buffers instead.
    pub fn tokenize(&self, text: &str) -> Result<(Vec<i64>, bool)> {
        let encoder = self.inner.text.as_ref().ok_or_else(|| {
            Error::new(Status::WrongInputKind, format!("this model takes {} input, not text", self.inner.kind.as_str()))
        })?;
        let mut ids = vec![0; self.inner.max_tokens];
        let tokens = encoder.encode(text, &mut ids)?;
        ids.truncate(tokens.count);
        Ok((ids, tokens.truncated))
    }

    /// The operators of the model's (first) plan and how many nodes each has, most frequent first:
    /// what tract made of the graph, for `mle-pack inspect` and people reading logs.
    pub fn plan_summary(&self) -> Vec<(String, usize)> {
        let mut ops: Vec<(String, usize)> = Vec::new();
        for node in &self.inner.plans[0].runnable.model().nodes {
            let name = node.op().name();
            match ops.iter_mut().find(|(op, _)| *op == name) {
                Some((_, n)) => *n += 1,
                None => ops.push((name.to_string(), 1)),
            }
        }
        ops.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        ops
    }

    /// Where the model comes from: its package's signer, version and manifest hash (all empty for
    /// a plain ONNX model).
    pub fn provenance(&self) -> &Provenance {
        &self.inner.provenance
    }

    /// The options the model was loaded with.
    pub fn options(&self) -> &ModelOptions {
        &self.inner.options
    }

    /// This model's test hooks: injected latencies and held requests (the `test-hooks` feature).
    #[cfg(feature = "test-hooks")]
    pub fn test_hooks(&self) -> &std::sync::Arc<crate::testing::ModelHooks> {
        &self.inner.test_hooks
    }
}

/// Runs a load step with a panic inside tract (analysing or running a crafted graph) turned into
/// a model error: bad data is answered with a status, never with a panic.
fn without_panics<T>(step: impl FnOnce() -> Result<T>) -> Result<T> {
    crate::error::without_panics(
        Status::ModelInvalid,
        |message| format!("the graph could not be analysed (tract panicked: {message})"),
        step,
    )
}

/// tract's executor for `threads` threads per run.
fn executor(threads: usize) -> Result<Executor> {
    if threads == 1 {
        return Ok(Executor::SingleThread);
    }
    #[cfg(feature = "multithread")]
    return Ok(Executor::multithread(threads));
    #[cfg(not(feature = "multithread"))]
    fail(Status::InvalidArgument, format!("threads = {threads} needs the library built with the `multithread` feature"))
}

/// The element type a model's graph input takes ([`Model::input_element_type`]); the values are
/// the C API's `MLE_ELEMENT_*`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ElementType {
    /// 32-bit float: the caller's features as they are.
    Float32 = 1,
    /// 64-bit float: converted exactly.
    Float64 = 2,
    /// 64-bit integer: whole numbers only (text models' token ids).
    Int64 = 3,
    /// 32-bit integer: whole numbers in range only (byte models' values).
    Int32 = 4,
}

/// How a batch call runs.
pub(crate) enum BatchPlans {
    /// `max_batch` is 1: batch calls classify item by item.
    None,
    /// Made on the first batch call, from the parsed graph kept until then (for the headline
    /// encoder that graph holds the file's int8 weights, ~5 MB, where the plan would hold 26 MiB).
    OnFirstUse(Mutex<BatchPlanState>),
}

/// Where the batch plans stand.
pub(crate) enum BatchPlanState {
    /// Plans are made from the parsed graph: first one symbolic in the batch axis (`tried`
    /// once that was attempted); graphs that only analyse with a known batch size (Magika's) get
    /// plans for fixed sizes (powers of two up to `max_batch`), each made on first use, and a batch
    /// is padded up to the next size.
    FromSource { source: Box<graph::ParsedGraph>, tried: bool, sized: Vec<(usize, Arc<TypedRunnableModel>)> },
    /// The plan symbolic in the batch axis, for every batch size (the parsed graph is dropped).
    Symbolic(Arc<TypedRunnableModel>),
}

impl BatchPlans {
    /// The plan for `n` examples and the number of rows it takes (`>= n`); the first call makes it.
    pub(crate) fn plan_for(&self, n: usize, max_batch: usize) -> Result<Option<(Arc<TypedRunnableModel>, usize)>> {
        let BatchPlans::OnFirstUse(state) = self else {
            return Ok(None);
        };
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        if let BatchPlanState::FromSource { source, tried: tried @ false, .. } = &mut *state {
            *tried = true;
            if let Ok(plan) = source.typed(None).and_then(|(batch, seq)| graph::plan(&batch, &seq, None)) {
                *state = BatchPlanState::Symbolic(plan);
            }
        }
        match &mut *state {
            BatchPlanState::Symbolic(plan) => Ok(Some((Arc::clone(plan), n))),
            BatchPlanState::FromSource { source, sized, .. } => {
                let rows = n.next_power_of_two().min(max_batch).max(n);
                if let Some((_, plan)) = sized.iter().find(|(size, _)| *size == rows) {
                    return Ok(Some((Arc::clone(plan), rows)));
                }
                let (typed, seq) = source.typed(Some(rows))?;
                let plan = graph::plan(&typed, &seq, None)?;
                sized.push((rows, Arc::clone(&plan)));
                Ok(Some((plan, rows)))
            }
        }
    }
}

/// The bucket list: sorted, deduplicated, capped at `max`, always containing `max`.
fn buckets(requested: Option<&[usize]>, max: usize) -> Result<Vec<usize>> {
    let mut list: Vec<usize> = match requested {
        Some(list) => {
            if list.contains(&0) {
                return fail(Status::InvalidArgument, "sequence buckets must be positive");
            }
            if list.len() > MAX_BUCKETS {
                return fail(
                    Status::InvalidArgument,
                    format!("{} sequence buckets given, at most {MAX_BUCKETS} are allowed", list.len()),
                );
            }
            list.iter().copied().filter(|&b| b < max).collect()
        }
        // 8, then powers of two and their midpoints: 16, 24, 32, 48, 64, 96, 128, 192, ...
        None => std::iter::once(8)
            .chain((4..20).flat_map(|k| [1usize << k, 3usize << (k - 1)]))
            .take_while(|&b| b < max)
            .collect(),
    };
    list.push(max);
    list.sort_unstable();
    list.dedup();
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::buckets;

    #[test]
    fn bucket_lists() {
        assert_eq!(buckets(None, 128).unwrap(), vec![8, 16, 24, 32, 48, 64, 96, 128]);
        assert_eq!(buckets(None, 100).unwrap(), vec![8, 16, 24, 32, 48, 64, 96, 100]);
        assert_eq!(buckets(None, 512).unwrap().len(), 12);
        assert_eq!(buckets(None, 8).unwrap(), vec![8]);
        assert_eq!(buckets(Some(&[64, 8, 300]), 128).unwrap(), vec![8, 64, 128]);
        assert!(buckets(Some(&[0]), 128).is_err());
    }
}
