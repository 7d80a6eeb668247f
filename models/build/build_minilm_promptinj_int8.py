"""Build models/minilm-l3-promptinj-int8: the headline model with int8 matrix products.

Input: the shipped models/minilm-l3-promptinj/model.onnx (built by build_minilm_promptinj.py), whose
18 encoder MatMul weights are stored as int8 with per-column scales and dequantized in a prologue
(Cast + Mul). Here each such MatMul becomes onnxruntime's dynamic-quantization form, on the same
int8 weights:

    DynamicQuantizeLinear(x) -> x_q (uint8), x_scale, x_zero_point     (one per activation tensor)
    MatMulInteger(x_q, W_int8, x_zero_point) -> int32
    Cast(float) * (x_scale * W_scale)                                   (W_scale per column)

so the weights stay int8 in memory and the products run on int8 kernels; only the activations are
newly quantized (per tensor, at run time). The attention products (Q.K^T, P.V), the embedding
tables (already int8, gathered first), the layer norms and the head stay as they are.
Accuracy on the S-Labs test split and golden outputs are measured with onnxruntime on the file
written here. No randomness: the same input gives the same file.
"""
import collections
import csv
import json
import pathlib
import shutil

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer

import common

NAME = "minilm-l3-promptinj-int8"
BASE = common.MODELS / "minilm-l3-promptinj"
OUT = common.MODELS / NAME
MAX_LEN = 128


def producers(graph):
    return {out: node for node in graph.node for out in node.output}


def dequantized_weight(name, made_by, inits):
    """(int8 initializer, scale initializer) when `name` is Mul(Cast(int8), scale), else None."""
    mul = made_by.get(name)
    if mul is None or mul.op_type != "Mul":
        return None
    cast = made_by.get(mul.input[0])
    if cast is None or cast.op_type != "Cast" or mul.input[1] not in inits:
        return None
    q = inits.get(cast.input[0])
    if q is None or q.data_type != TensorProto.INT8:
        return None
    return cast.input[0], mul.input[1]


def quantize_matmuls(model):
    """Rewrites every MatMul whose weight is a dequantized int8 initializer; returns their names."""
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    made_by = producers(g)
    quantized_input = {}  # activation name -> (x_q, x_scale, x_zero_point)
    nodes, rewritten = [], []
    for node in g.node:
        weight = dequantized_weight(node.input[1], made_by, inits) if node.op_type == "MatMul" else None
        if weight is None:
            nodes.append(node)
            continue
        w_q, w_scale = weight
        x = node.input[0]
        if x not in quantized_input:
            base = f"{x}_dql"
            quantized_input[x] = (f"{base}_q", f"{base}_scale", f"{base}_zp")
            nodes.append(helper.make_node("DynamicQuantizeLinear", [x], list(quantized_input[x]), name=base))
        x_q, x_scale, x_zp = quantized_input[x]
        out, stem = node.output[0], node.name or node.output[0]
        nodes += [
            helper.make_node("MatMulInteger", [x_q, w_q, x_zp], [f"{stem}_i32"], name=f"{stem}_int8"),
            helper.make_node("Cast", [f"{stem}_i32"], [f"{stem}_f"], to=TensorProto.FLOAT, name=f"{stem}_cast"),
            helper.make_node("Mul", [x_scale, w_scale], [f"{stem}_scale"], name=f"{stem}_scale"),
            helper.make_node("Mul", [f"{stem}_f", f"{stem}_scale"], [out], name=f"{stem}_dq"),
        ]
        rewritten.append(node.name)
    del g.node[:]
    g.node.extend(nodes)
    prune_unused(g)
    return rewritten


def prune_unused(g):
    """Drops nodes (the weights' old dequantization prologue) and initializers nothing reads."""
    outputs = {o.name for o in g.output}
    while True:
        read = collections.Counter(i for n in g.node for i in n.input)
        dead = [n for n in g.node if not any(o in read or o in outputs for o in n.output)]
        if not dead:
            break
        for n in dead:
            g.node.remove(n)
    read = {i for n in g.node for i in n.input}
    kept = [t for t in g.initializer if t.name in read]
    del g.initializer[:]
    g.initializer.extend(kept)


def read_test_split():
    with open(BASE / "data" / "s-labs-test.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], np.array([int(r["label"]) for r in rows])


def logits_of(session, tok, text):
    enc = tok.encode(text)
    ids = np.array([enc.ids], dtype=np.int64)
    return enc.ids, session.run(["logits"], {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer.from_file(str(BASE / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=MAX_LEN)

    model = onnx.load(str(BASE / "model.onnx"))
    base_card = {e.key: e.value for e in model.metadata_props}
    rewritten = quantize_matmuls(model)
    print(f"{len(rewritten)} MatMuls on int8 weights now MatMulInteger")

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    s_base = ort.InferenceSession(str(BASE / "model.onnx"), options)
    s_int8 = ort.InferenceSession(model.SerializeToString(), options)
    test_x, test_y = read_test_split()
    base_logits = np.array([logits_of(s_base, tok, t)[1] for t in test_x])
    int8_logits = np.array([logits_of(s_int8, tok, t)[1] for t in test_x])
    acc_base = float((base_logits.argmax(axis=1) == test_y).mean())
    acc_int8 = float((int8_logits.argmax(axis=1) == test_y).mean())
    agree = float((base_logits.argmax(axis=1) == int8_logits.argmax(axis=1)).mean())
    p_diff = np.abs(common.softmax(base_logits) - common.softmax(int8_logits)).max()
    print(f"S-Labs test ({len(test_y)} rows): accuracy {acc_int8:.4f} (int8 products) vs {acc_base:.4f} "
          f"(the base model); same label on {agree:.4f}; max |dp| {p_diff:.4f}")
    assert abs(acc_int8 - acc_base) <= 0.005, "accuracy moved more than 0.5 point"

    metrics = json.loads(base_card["metrics"])
    metrics.update({"accuracy": round(acc_int8, 4), "base_model_accuracy": round(acc_base, 4),
                    "same_label_as_base_model": round(agree, 4)})
    card = dict(base_card)
    card.update({
        "name": NAME,
        "trained_at": base_card["trained_at"],
        "description": "Prompt-injection detector: paraphrase-MiniLM-L3-v2, int8 weights and int8 matrix "
                       "products (dynamic activation quantization) + mean pool + logistic regression",
        "metrics": metrics,
    })
    common.set_card(model, card)
    common.save_model(model, OUT / "model.onnx")
    shutil.copyfile(BASE / "tokenizer.json", OUT / "tokenizer.json")

    # Golden outputs: the base model's golden texts, answered by onnxruntime on the file just written.
    texts = [c["text"] for c in json.loads((BASE / "golden.json").read_text())["cases"]]
    s_final = ort.InferenceSession(str(OUT / "model.onnx"), options)
    cases = []
    for text in texts:
        ids, logits = logits_of(s_final, tok, text)
        probs = common.softmax(logits)
        cases.append({"text": text, "input_ids": ids, "logits": common.floats(logits),
                      "probabilities": common.floats(probs), "label_index": int(np.argmax(probs))})
    common.write_golden(OUT / "golden.json", NAME, pathlib.Path(__file__).name, cases,
                        {"max_sequence_length": MAX_LEN, "test_accuracy": acc_int8,
                         "base_model_test_accuracy": acc_base})

    common.write_provenance(OUT / "PROVENANCE.md", f"{NAME}: provenance and licences", f"""
The headline model (models/minilm-l3-promptinj, see its PROVENANCE.md for the weights, tokenizer
and data, their packages and licences) with int8 matrix products. Built by
`models/build/build_minilm_promptinj_int8.py` from that directory's model.onnx
(sha256 {common.sha256_file(BASE / "model.onnx")}); nothing is trained here.

Recipe: each of the {len(rewritten)} encoder MatMuls whose weight the base model stores as int8 (per
column scales) becomes DynamicQuantizeLinear (activation, per tensor, at run time) + MatMulInteger
on the same int8 weight + Cast + Mul by activation scale x weight scale; the rest of the graph is
unchanged. Measured with onnxruntime on the 2,101 S-Labs test rows: accuracy {acc_int8:.4f} against
the base model's {acc_base:.4f}; the same label on {agree:.2%} of rows; largest probability
difference {p_diff:.4f}. Licence: Apache-2.0 (the encoder's), head trained on MIT-licensed data.
""", [("model.onnx", OUT / "model.onnx"), ("tokenizer.json", OUT / "tokenizer.json"),
      ("golden.json", OUT / "golden.json")])


if __name__ == "__main__":
    main()
