"""Build models/magika: Google Magika standard_v3_3 (file-type classifier, 214 labels) with a card.

The graph is the package's model.onnx unchanged; only metadata_props (the card, including the byte
feature-extraction parameters of config.min.json) are added. Golden outputs are made on the sample
files of magika_samples.py, with features extracted by this script's own re-implementation of
Magika's v2 extraction (which the Rust runtime must match) and checked against the magika package.
"""
import json
import pathlib

import numpy as np
import onnx
import onnxruntime as ort

import common
import magika_samples

NAME = "magika"
OUT = common.MODELS / NAME
SRC = common.CACHE / "magika/magika/models/standard_v3_3"
WHITESPACE = b" \t\n\r\x0b\x0c"  # Python bytes.strip()


def features(data: bytes, beg: int, end: int, block: int, pad: int):
    n = min(block, len(data))
    head = data[:n].lstrip(WHITESPACE)[:beg]
    tail = data[len(data) - n:].rstrip(WHITESPACE)
    tail = tail[len(tail) - end:] if len(tail) > end else tail
    return list(head) + [pad] * (beg - len(head)) + [pad] * (end - len(tail)) + list(tail)


def main():
    from magika import Magika

    OUT.mkdir(parents=True, exist_ok=True)
    cfg = json.loads((SRC / "config.min.json").read_text())
    labels = cfg["target_labels_space"]
    model = onnx.load(str(SRC / "model.onnx"))
    beg, end, block, pad = cfg["beg_size"], cfg["end_size"], cfg["block_size"], cfg["padding_token"]
    common.set_card(model, {
        "mle.card_version": "1",
        "name": NAME,
        "version": "3.3.0",
        # The weights carry no date: this is an upper bound, the month magika 1.0.3 was published.
        "trained_at": "2026-05-01",
        "trained_at_source": "upper bound: release month of magika==1.0.3 (the weights carry no training date)",
        "description": "Google Magika standard_v3_3 file-type classifier (214 content types)",
        "input_kind": "bytes",
        "id2label": {str(i): l for i, l in enumerate(labels)},
        "output_name": "target_label",
        "postprocess": "identity",
        "bytes_beg_size": str(beg),
        "bytes_end_size": str(end),
        "bytes_block_size": str(block),
        "bytes_padding_token": str(pad),
        "bytes_strip_whitespace": "true",
        "metrics": {"note": "see the Magika paper (ICSE 2025); labels identical to the magika package on the golden samples"},
        "license": "Apache-2.0",
        "source": "magika==1.0.3 magika/models/standard_v3_3/model.onnx",
    })
    common.save_model(model, OUT / "model.onnx")

    sample_dir = OUT / "samples"
    sample_dir.mkdir(exist_ok=True)
    sess = ort.InferenceSession(str(OUT / "model.onnx"))
    reference = Magika()
    cases, agree, compared = [], 0, 0
    for name, data in magika_samples.samples():
        (sample_dir / name).write_bytes(data)
        feat = features(data, beg, end, block, pad)
        probs = sess.run(None, {"bytes": np.array([feat], dtype=np.int32)})[0][0]
        k = int(np.argmax(probs))
        ref = reference.identify_bytes(data)
        ref_dl = str(ref.dl.label) if ref.dl is not None else None
        if ref_dl not in (None, "undefined"):
            compared += 1
            agree += int(ref_dl == labels[k])
        top = np.argsort(-probs)[:5]
        cases.append({"file": f"samples/{name}", "features_sha256": common.hashlib.sha256(
                          np.array(feat, dtype=np.int32).tobytes()).hexdigest(),
                      "label_index": k, "label": labels[k], "magika_package_dl_label": ref_dl,
                      "top5": [[int(i), float(probs[i])] for i in top],
                      "probabilities": common.floats(probs)})
    print(f"{len(cases)} samples; label agreement with the magika package {agree}/{compared}")
    common.write_golden(OUT / "golden.json", NAME, pathlib.Path(__file__).name, cases,
                        {"features": {"beg_size": beg, "end_size": end, "block_size": block, "padding_token": pad}})
    common.write_provenance(OUT / "PROVENANCE.md", f"{NAME}: provenance and licences", f"""
File-type classifier on raw bytes (214 labels). Built by `models/build/build_magika.py`.

| what | package (PyPI) | file in the wheel | licence |
|---|---|---|---|
| model.onnx (graph unchanged, card added) | magika==1.0.3 | magika/models/standard_v3_3/model.onnx (sha256 {common.sha256_file(SRC / 'model.onnx')}) | Apache-2.0 |
| labels, feature parameters | magika==1.0.3 | magika/models/standard_v3_3/config.min.json (sha256 {common.sha256_file(SRC / 'config.min.json')}) | Apache-2.0 |
| samples/ | written by models/build/magika_samples.py | authored for this project | Apache-2.0 (this project) |

Feature extraction (Magika v2): read at most block_size={block} bytes from each end, strip ASCII
whitespace (lstrip at the start, rstrip at the end), take the first beg_size={beg} and the last
end_size={end} bytes, pad with {pad} (after the beginning, before the end). The model outputs
probabilities (already softmaxed). Not reproduced: the package's per-label thresholds, its
overwrite map and its rule-based path for files under 8 bytes; the runtime reports the model's own label.
Label agreement with the magika package's deep-learning label: {agree}/{compared} samples.
""", [("model.onnx", OUT / "model.onnx"), ("golden.json", OUT / "golden.json")])


if __name__ == "__main__":
    main()
