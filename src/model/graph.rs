//! Loading an ONNX file with tract: the card, the input layout, and the optimized plans.

use std::collections::HashMap;
use std::sync::Arc;

use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use super::ml;
use crate::card::{InputKind, ModelCard};
use crate::error::{fail, Error, Result, Status};

/// What an input of the graph carries.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum InputRole {
    /// Token ids (text models).
    TokenIds,
    /// 1 for real tokens, 0 for padding (text models).
    AttentionMask,
    /// Segment ids, all 0 (text models).
    TokenTypeIds,
    /// The feature vector (tensor and bytes models).
    Features,
}

/// One input of the graph, in graph order.
#[derive(Clone, Debug)]
pub(crate) struct InputSpec {
    pub role: InputRole,
    pub datum_type: DatumType,
}

/// A runnable plan for one input length (a text bucket, or the fixed feature length).
pub(crate) struct Plan {
    /// Sequence length (text) or number of features.
    pub length: usize,
    pub runnable: Arc<TypedRunnableModel>,
}

/// The parsed ONNX file before plans are built.
pub(crate) struct ParsedGraph {
    pub card: ModelCard,
    /// What the model consumes (the card's word where it gives one, which must match the graph).
    pub kind: InputKind,
    model: InferenceModel,
    pub inputs: Vec<InputSpec>,
    /// Tensor/bytes models: the shape of one example (the input shape without its batch axis).
    pub example_shape: Vec<usize>,
    pub output_name: String,
    /// The class labels the graph itself carries (ZipMap's or the classifier operator's), for a
    /// model whose card has none.
    pub graph_labels: Option<Vec<String>>,
    /// The graph has a rule for NaN features (a tree ensemble, a NaN imputer).
    pub handles_missing: bool,
    /// The graph quantizes activations per tensor at run time (DynamicQuantizeLinear, as
    /// onnxruntime's `quantize_dynamic` writes): the quantization range spans the whole tensor, so
    /// padding a request or batching it with others changes its answer.
    pub dynamic_quantization: bool,
}

/// Parse ONNX bytes (or an mmapped file) and its card.
pub(crate) fn parse(proto: ModelProto, sidecar: Option<&str>, limits: &super::ModelLimits) -> Result<ParsedGraph> {
    super::limits::check_proto(&proto, limits)?;
    let metadata: Vec<(String, String)> =
        proto.metadata_props.iter().map(|e| (e.key.clone(), e.value.clone())).collect();
    let card = ModelCard::from_sources(&metadata, sidecar)?;
    let graph_labels = proto.graph.as_ref().and_then(ml::labels::class_labels);
    let handles_missing = proto.graph.as_ref().is_some_and(ml::handles_missing_values);
    let dynamic_quantization =
        proto.graph.as_ref().is_some_and(|g| g.node.iter().any(|n| n.op_type == "DynamicQuantizeLinear"));
    if let Some(graph) = proto.graph.as_ref() {
        super::unsupported::refuse_non_tensor_inputs(graph)?;
    }
    let mut model = onnx_framework()
        .model_for_proto_model(&proto)
        .map_err(|e| Error::tract(Status::ModelUnsupported, "tract cannot load this ONNX graph", e))?;
    drop(proto);

    super::unsupported::refuse_unimplemented(&model)?;
    let output_name = select_output(&mut model, card.output_name.as_deref())?;
    let inputs = describe_inputs(&model, card.input_kind)?;
    let kind = kind_of(&inputs, &card);
    if let Some(declared) = card.input_kind {
        if declared != kind {
            return fail(
                Status::ModelCard,
                format!("card says input_kind {} but the graph's inputs are {}", declared.as_str(), kind.as_str()),
            );
        }
    }
    if kind != InputKind::Text {
        super::unsupported::refuse_scan_loops(&model)?;
    }
    let example_shape = if kind == InputKind::Text { vec![] } else { example_shape(&model)? };
    Ok(ParsedGraph {
        card,
        kind,
        model,
        inputs,
        example_shape,
        output_name,
        graph_labels,
        handles_missing,
        dynamic_quantization,
    })
}

/// tract's ONNX framework with the ai.onnx.ml operators of [`ml`] registered.
pub(crate) fn onnx_framework() -> tract_onnx::Onnx {
    // value_info can pin symbolic dims and break analysis (MODELS.md pitfall 2).
    let mut onnx = tract_onnx::onnx().with_ignore_value_info(true);
    ml::register(&mut onnx);
    onnx
}

/// Decode ONNX protobuf bytes.
pub(crate) fn decode(bytes: &[u8]) -> Result<ModelProto> {
    if bytes.is_empty() {
        return fail(Status::ModelInvalid, "the ONNX data is empty");
    }
    let mut reader = bytes;
    let proto = onnx_framework()
        .proto_model_for_read(&mut reader)
        .map_err(|e| Error::tract(Status::ModelInvalid, "not a valid ONNX protobuf", e))?;
    if proto.graph.is_none() {
        return fail(Status::ModelInvalid, "the ONNX data has no graph");
    }
    Ok(proto)
}

/// Text when the graph takes token ids; bytes when the card says so (or gives byte feature
/// parameters) and the input is integer; otherwise a feature tensor (float or integer features,
/// which the session converts from the caller's f32 values).
fn kind_of(inputs: &[InputSpec], card: &ModelCard) -> InputKind {
    if inputs.iter().any(|i| i.role == InputRole::TokenIds) {
        InputKind::Text
    } else if inputs[0].datum_type.is_float() {
        InputKind::Tensor
    } else if card.input_kind == Some(InputKind::Bytes) || card.bytes.is_some() {
        InputKind::Bytes
    } else {
        InputKind::Tensor
    }
}

/// Keep only the output holding the scores (tract then prunes what only other outputs need).
fn select_output(model: &mut InferenceModel, wanted: Option<&str>) -> Result<String> {
    let outlets = model.output_outlets().map_err(|e| Error::tract(Status::ModelInvalid, "graph outputs", e))?.to_vec();
    let names: Vec<String> = outlets
        .iter()
        .map(|&o| model.outlet_label(o).map(str::to_string).unwrap_or_else(|| model.node(o.node).name.clone()))
        .collect();
    let index = match wanted {
        Some(name) => names.iter().position(|n| n == name).ok_or_else(|| {
            Error::new(
                Status::ModelCard,
                format!("card output_name {name:?} is not a graph output (outputs: {names:?})"),
            )
        })?,
        None if names.len() == 1 => 0,
        None => names.iter().position(|n| n.contains("prob") || n.contains("logit")).ok_or_else(|| {
            Error::new(
                Status::ModelCard,
                format!("the graph has several outputs {names:?}: the card must name one (output_name)"),
            )
        })?,
    };
    model
        .select_output_outlets(&[outlets[index]])
        .map_err(|e| Error::tract(Status::ModelInvalid, "selecting the output", e))?;
    Ok(names[index].clone())
}

fn describe_inputs(model: &InferenceModel, declared: Option<InputKind>) -> Result<Vec<InputSpec>> {
    let outlets = model.input_outlets().map_err(|e| Error::tract(Status::ModelInvalid, "graph inputs", e))?;
    if outlets.is_empty() {
        return fail(Status::ModelUnsupported, "the graph has no inputs");
    }
    let mut specs = Vec::with_capacity(outlets.len());
    for (ix, outlet) in outlets.iter().enumerate() {
        let name = model.node(outlet.node).name.clone();
        let fact = model.input_fact(ix).map_err(|e| Error::tract(Status::ModelInvalid, "input fact", e))?;
        let datum_type = fact.datum_type.concretize().unwrap_or(DatumType::I64);
        let role = match name.as_str() {
            "input_ids" | "ids" | "tokens" => InputRole::TokenIds,
            "attention_mask" | "mask" => InputRole::AttentionMask,
            "token_type_ids" | "segment_ids" => InputRole::TokenTypeIds,
            _ if outlets.len() == 1 && declared != Some(InputKind::Text) => InputRole::Features,
            other => {
                return fail(
                    Status::ModelUnsupported,
                    format!("input {other:?} is not one this runtime can feed (text models: input_ids, attention_mask, token_type_ids; others: one input)"),
                )
            }
        };
        let ok_type = match role {
            InputRole::Features => {
                matches!(datum_type, DatumType::F32 | DatumType::F64 | DatumType::I32 | DatumType::I64)
            }
            _ => matches!(datum_type, DatumType::I32 | DatumType::I64),
        };
        if !ok_type {
            return fail(
                Status::ModelUnsupported,
                format!(
                    "input {name:?} has unsupported type {datum_type:?} (features: float32, float64, int32 or int64; \
                     token inputs: int32 or int64)"
                ),
            );
        }
        specs.push(InputSpec { role, datum_type });
    }
    if specs.iter().any(|s| s.role != InputRole::Features) && !specs.iter().any(|s| s.role == InputRole::TokenIds) {
        return fail(Status::ModelUnsupported, "a text model needs an input_ids input");
    }
    Ok(specs)
}

/// The shape of one example: the input's dims after the batch axis, all known.
fn example_shape(model: &InferenceModel) -> Result<Vec<usize>> {
    let fact = model.input_fact(0).map_err(|e| Error::tract(Status::ModelInvalid, "input fact", e))?;
    // A dim that does not fit this target's usize (2^40 on a 32-bit device) is too large, not
    // unknown: it saturates, and the limit below refuses it.
    let dims: Vec<Option<usize>> = fact
        .shape
        .dims()
        .map(|d| {
            d.concretize()
                .and_then(|d| d.to_i64().ok())
                .filter(|&d| d > 0)
                .map(|d| usize::try_from(d).unwrap_or(usize::MAX))
        })
        .collect();
    if fact.shape.is_open() || dims.len() < 2 {
        return fail(Status::ModelUnsupported, "the input must have a known rank >= 2 (batch axis first)");
    }
    let shape =
        dims[1..].iter().copied().collect::<Option<Vec<usize>>>().ok_or_else(|| {
            Error::new(Status::ModelUnsupported, "the input's dims after the batch axis must be fixed")
        })?;
    let values = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    match values {
        Some(n) if n <= MAX_EXAMPLE_VALUES => Ok(shape),
        _ => fail(
            Status::ModelLimit,
            format!(
                "one example of the input has shape {shape:?}, more than {MAX_EXAMPLE_VALUES} values: \
                 not a classifier input this runtime serves"
            ),
        ),
    }
}

/// Most values one example of a tensor or bytes model may have (64 MiB of f32): a larger input
/// is refused at load, before any tensor of that size is made.
pub const MAX_EXAMPLE_VALUES: usize = 1 << 24;

impl ParsedGraph {
    /// A copy for building plans later (the card is not needed for that).
    pub(crate) fn without_card(&self) -> ParsedGraph {
        ParsedGraph {
            card: ModelCard::default(),
            kind: self.kind,
            model: self.model.clone(),
            inputs: self.inputs.clone(),
            example_shape: self.example_shape.clone(),
            output_name: self.output_name.clone(),
            graph_labels: self.graph_labels.clone(),
            handles_missing: self.handles_missing,
            dynamic_quantization: self.dynamic_quantization,
        }
    }

    /// Text: a decluttered typed model with input shape [batch, S] (S symbolic).
    /// Others: [batch, example_shape...]. `batch` None makes the batch axis symbolic too.
    pub(crate) fn typed(&self, batch: Option<usize>) -> Result<(TypedModel, Symbol)> {
        let mut model = self.model.clone();
        let seq = model.symbols.sym("S");
        let batch_dim: TDim = match batch {
            Some(b) => b.to_dim(),
            None => model.symbols.sym("B").to_dim(),
        };
        for (ix, spec) in self.inputs.iter().enumerate() {
            let shape: TVec<TDim> = match spec.role {
                InputRole::Features => {
                    std::iter::once(batch_dim.clone()).chain(self.example_shape.iter().map(|d| d.to_dim())).collect()
                }
                _ => tvec![batch_dim.clone(), seq.to_dim()],
            };
            model = model
                .with_input_fact(ix, InferenceFact::dt_shape(spec.datum_type, shape))
                .map_err(|e| Error::tract(Status::ModelUnsupported, "setting the input shape", e))?;
        }
        let typed = model
            .into_typed()
            .and_then(|m| m.into_decluttered())
            .map_err(|e| Error::tract(Status::ModelUnsupported, "tract cannot analyse this graph", e))?;
        Ok((typed, seq))
    }
}

/// Optimize `typed` with `seq` fixed to `length` (text) or as is, into a runnable plan.
pub(crate) fn plan(typed: &TypedModel, seq: &Symbol, length: Option<usize>) -> Result<Arc<TypedRunnableModel>> {
    let model = match length {
        Some(l) => {
            let mut subs = HashMap::new();
            subs.insert(seq.clone(), TDim::Val(l as i64));
            typed
                .set_symbols(&subs)
                .map_err(|e| Error::tract(Status::ModelUnsupported, "fixing the sequence length", e))?
        }
        None => typed.clone(),
    };
    model
        .into_optimized()
        .and_then(|m| m.into_runnable())
        .map_err(|e| Error::tract(Status::ModelUnsupported, "tract cannot optimize this graph", e))
}
