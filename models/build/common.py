"""Helpers shared by the model build scripts (maintainer-run, never by CI).

Every script writes into models/<name>/:
  model.onnx      the model, with its card in ONNX metadata_props (see CARD_KEYS)
  tokenizer.json  text models only
  golden.json     inputs and onnxruntime outputs that the Rust tests must reproduce
  PROVENANCE.md   where every byte came from: package, version, file, sha256, licence
"""
import datetime
import hashlib
import json
import pathlib

import numpy as np
import onnx
import onnxruntime

BUILD = pathlib.Path(__file__).resolve().parent
CACHE = BUILD / ".cache"
MODELS = BUILD.parent

# Keys of the model card stored in ONNX metadata_props (all values are strings; JSON where noted).
CARD_KEYS = {
    "mle.card_version": "card schema version, currently 1",
    "name": "model name",
    "version": "model version (semver)",
    "trained_at": "ISO 8601 date or date-time when the weights were fitted",
    "description": "one line",
    "input_kind": "text | tensor | bytes",
    "id2label": 'JSON object {"0": "LABEL", ...}',
    "output_name": "graph output holding the scores",
    "postprocess": "softmax (output is logits) | identity (output is probabilities)",
    "max_sequence_length": "text: longest token sequence, special tokens included",
    "sequence_buckets": "text: comma-separated bucket lengths (optional)",
    "tokenizer": "text: tokenizer file next to the model",
    "bytes_beg_size / bytes_end_size / bytes_block_size / bytes_padding_token / bytes_strip_whitespace":
        "bytes: feature extraction parameters",
    "metrics": 'JSON object, e.g. {"accuracy": 0.9, "dataset": "..."}',
    "license": "SPDX identifier of the weights",
    "source": "where the weights come from",
}


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def now_utc() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def set_card(model: onnx.ModelProto, card: dict) -> None:
    """Replace the model's metadata_props with the card (dicts and lists stored as JSON)."""
    del model.metadata_props[:]
    for key, value in card.items():
        entry = model.metadata_props.add()
        entry.key = key
        entry.value = value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def save_model(model: onnx.ModelProto, path) -> None:
    """Strip value_info (it can pin symbolic dims, MODELS.md pitfall 2), check and save."""
    del model.graph.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def write_golden(path, model_dir: str, script: str, cases: list, extra: dict | None = None) -> None:
    doc = {
        "model": model_dir,
        "generator": f"models/build/{script}",
        "reference": f"onnxruntime {onnxruntime.__version__}",
        "generated_at": now_utc(),
        "cases": cases,
    }
    if extra:
        doc.update(extra)
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")


def softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def floats(a) -> list:
    """Round-trippable float list for JSON."""
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def write_provenance(path, title: str, body: str, files: list) -> None:
    """files: list of (label, path) whose sha256 goes into the note."""
    lines = [f"# {title}", "", body.strip(), "", "## Files in this directory", "",
             "| file | bytes | sha256 |", "|---|---|---|"]
    for label, p in files:
        p = pathlib.Path(p)
        lines.append(f"| {label} | {p.stat().st_size} | `{sha256_file(p)}` |")
    lines += ["", f"Built {now_utc()} with onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}, "
              f"numpy {np.__version__}.", ""]
    pathlib.Path(path).write_text("\n".join(lines))
