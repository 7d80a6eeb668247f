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
import onnx
import onnxruntime as ort
from tokenizers import Tokenizer

ROOT = pathlib.Path(__file__).resolve().parent.parent
WHITESPACE = b" \t\n\r\x0b\x0c"


def session(path):
    return session_from(str(path))


def session_from(model):
    """One-thread session on a file path or serialized model bytes."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


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


def without_zipmap(path):
    """The export with its ZipMap nodes removed and their input tensors as the outputs: what
    skl2onnx writes with options={...: {"zipmap": False}}, and the tensor the runtime serves.
    Python's session.run would otherwise spend most of a tree model's time building dicts."""
    model = onnx.load(str(path))
    graph = model.graph
    for node in [n for n in graph.node if n.op_type == "ZipMap"]:
        for output in graph.output:
            if output.name == node.output[0]:
                graph.output.remove(output)
                graph.output.append(onnx.helper.make_tensor_value_info(node.input[0], onnx.TensorProto.FLOAT, None))
                break
        graph.node.remove(node)
    return model.SerializeToString()


def probability_output(sess):
    outputs = sess.get_outputs()
    return next((o.name for o in outputs if "prob" in o.name), outputs[-1].name)


def exports(results):
    """tests/data/exports: one held-out row per request (golden.json's rows in turn), cast to the
    export's input type, the probability tensor fetched. Also the floor of a Python session.run
    (an Identity model on one float), which every onnxruntime figure here includes."""
    golden = json.loads((ROOT / "tests/data/exports/golden.json").read_text())
    for name, entry in golden["models"].items():
        sess = session_from(without_zipmap(ROOT / "tests/data/exports" / entry["file"]))
        dtype = {"float64": np.float64, "int64": np.int64}.get(entry["input_dtype"], np.float32)
        input_name, out = sess.get_inputs()[0].name, [probability_output(sess)]
        feeds = [{input_name: np.array([row], dtype=np.float32).astype(dtype)} for row in entry["rows"]]
        results[f"exports/{name}"] = measure(lambda f: sess.run(out, f), feeds, 5000, 1.0)
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 1])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 1])
    identity = onnx.helper.make_model(onnx.helper.make_graph([onnx.helper.make_node("Identity", ["x"], ["y"])],
                                                             "floor", [x], [y]),
                                      opset_imports=[onnx.helper.make_opsetid("", 13)])
    identity.ir_version = 8
    sess = session_from(identity.SerializeToString())
    feed = {"x": np.ones((1, 1), dtype=np.float32)}
    results["exports/python_floor"] = measure(lambda f: sess.run(["y"], f), [feed], 5000, 1.0)


def main():
    if sys.argv[1:] == ["--exports"]:
        results = {}
        exports(results)
        json.dump({"onnxruntime": ort.__version__, "results": results}, sys.stdout, indent=1)
        return
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
