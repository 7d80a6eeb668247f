"""The onnxruntime anchor for BENCHMARKS.md: the same models and inputs as benches/inference.rs,
through onnxruntime's Python API on one thread. Prints JSON {bench id: {median_us, p95_us, n}}.

End to end = tokenizers (Python binding of the same Rust crate) + session.run + softmax, at each
text's own length (how onnxruntime is normally used). Inference = session.run alone on the input
padded to the bucket length, i.e. exactly the work the runtime's plan does.
"""
import json
import pathlib
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

ROOT = pathlib.Path(__file__).resolve().parent.parent
WHITESPACE = b" \t\n\r\x0b\x0c"


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def measure(fn, items, min_samples, min_seconds=2.0):
    for item in items[:5]:
        fn(item)
    samples = []
    start = time.perf_counter()
    i = 0
    while len(samples) < min_samples or time.perf_counter() - start < min_seconds:
        t = time.perf_counter_ns()
        fn(items[i % len(items)])
        samples.append((time.perf_counter_ns() - t) / 1e3)
        i += 1
    samples.sort()
    return {"median_us": statistics.median(samples), "p95_us": samples[int(len(samples) * 0.95)], "n": len(samples)}


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def text_model(name, inputs, results):
    folder = ROOT / "models" / name
    sess = session(folder / "model.onnx")
    out_name = sess.get_outputs()[0].name
    post = softmax if name == "minilm-l3-promptinj" else (lambda x: x)
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=128 if name == "minilm-l3-promptinj" else 256)
    for bucket, texts in inputs[name].items():
        if not texts:
            continue

        def end_to_end(text):
            ids = np.array([tok.encode(text).ids or [0]], dtype=np.int64)
            return post(sess.run([out_name], {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0])

        results[f"{name}/end_to_end/{bucket}"] = measure(end_to_end, texts, 200 if name.startswith("minilm") else 2000)
        padded = []
        for text in texts:
            enc = tok.encode(text).ids
            ids = np.zeros((1, int(bucket)), dtype=np.int64)
            mask = np.zeros_like(ids)
            ids[0, :len(enc)] = enc
            mask[0, :len(enc)] = 1
            padded.append({"input_ids": ids, "attention_mask": mask})
        results[f"{name}/inference/{bucket}"] = measure(lambda feed: sess.run([out_name], feed), padded,
                                                        200 if name.startswith("minilm") else 2000)


def magika_features(data, beg=1024, end=1024, block=4096, pad=256):
    n = min(block, len(data))
    head = data[:n].lstrip(WHITESPACE)[:beg]
    tail = data[len(data) - n:].rstrip(WHITESPACE)
    tail = tail[len(tail) - end:] if len(tail) > end else tail
    return list(head) + [pad] * (beg - len(head)) + [pad] * (end - len(tail)) + list(tail)


def main():
    inputs = json.loads((ROOT / "benches/inputs.json").read_text())
    results = {}
    text_model("minilm-l3-promptinj", inputs, results)
    text_model("profanity-tfidf", inputs, results)

    sess = session(ROOT / "models/magika/model.onnx")
    sample = (ROOT / "models/magika/samples/stats_long.py").read_bytes()
    results["magika/end_to_end/2048"] = measure(
        lambda data: sess.run(None, {"bytes": np.array([magika_features(data)], dtype=np.int32)})[0][0], [sample], 300)
    feed = {"bytes": np.array([magika_features(sample)], dtype=np.int32)}
    results["magika/inference/2048"] = measure(lambda f: sess.run(None, f), [feed], 300)

    for name, n in [("digits-mlp", 64), ("breast-cancer-logreg", 30)]:
        sess = session(ROOT / "models" / name / "model.onnx")
        x = np.array([[(i % 16) for i in range(n)]], dtype=np.float32)
        results[f"{name}/inference/{n}"] = measure(lambda f: sess.run(["probabilities"], f), [{"X": x}], 20000)
        results[f"{name}/end_to_end/{n}"] = results[f"{name}/inference/{n}"]
    json.dump({"onnxruntime": ort.__version__, "results": results}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
