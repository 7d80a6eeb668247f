"""Writes the small ONNX files the bad-input tests use (run by a maintainer; outputs committed).

regressor.onnx        X float [N, 4] -> "variable" [N, 1]: a linear regressor, not a classifier.
sequence_output.onnx  X float [N, 8] -> "scores" [N, 8, 3]: one vector per position, not per example.
three_labels_30.onnx  X float [N, 30] -> "probabilities" [N, 3]: a softmax classifier over 30
                      features (breast-cancer-logreg's input) with three labels, for the runtime's
                      check that a swapped-in model fits the hosts' probability buffers.
huge_initializer.onnx X float [N, 4] -> "probabilities" [N, 2] through a weight whose dimensions
                      declare 2^40 floats (4 TiB) with no data in the file (a few hundred bytes):
                      the resource limits refuse it before anything is allocated.
"""
import pathlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = pathlib.Path(__file__).resolve().parent


def regressor():
    w = numpy_helper.from_array(np.arange(4, dtype=np.float32).reshape(4, 1), "w")
    b = numpy_helper.from_array(np.array([0.5], dtype=np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "w"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["variable"])],
        "regressor",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("variable", TensorProto.FLOAT, ["N", 1])],
        [w, b],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def sequence_output():
    w = numpy_helper.from_array(np.ones((1, 1, 3), dtype=np.float32), "w")
    axes = numpy_helper.from_array(np.array([2], dtype=np.int64), "axes")
    graph = helper.make_graph(
        [helper.make_node("Unsqueeze", ["X", "axes"], ["x3"]), helper.make_node("Mul", ["x3", "w"], ["scores"])],
        "sequence_output",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 8])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 8, 3])],
        [w, axes],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def three_labels_30():
    rng = np.random.default_rng(30)
    w = numpy_helper.from_array(rng.normal(size=(30, 3)).astype(np.float32) * 0.01, "w")
    b = numpy_helper.from_array(np.array([0.1, 0.0, -0.1], dtype=np.float32), "b")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["X", "w"], ["xw"]),
            helper.make_node("Add", ["xw", "b"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
        ],
        "three_labels_30",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 30])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 3])],
        [w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    for key, value in [("name", "three-labels-30"), ("version", "3.0.0"), ("id2label", '["a", "b", "c"]')]:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model


def huge_initializer():
    w = TensorProto()
    w.name = "w"
    w.data_type = TensorProto.FLOAT
    w.dims.extend([4, 1 << 38])  # 2^40 elements, declared only: no data
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "w"], ["probabilities"])],
        "huge_initializer",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 2])],
        [w],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


if __name__ == "__main__":
    models = [("regressor.onnx", regressor()), ("sequence_output.onnx", sequence_output()), ("three_labels_30.onnx", three_labels_30()),
              ("huge_initializer.onnx", huge_initializer())]
    for name, model in models:
        if name != "huge_initializer.onnx":  # its declared size without data is the point
            onnx.checker.check_model(model)
        onnx.save(model, str(HERE / name))
        print("wrote", HERE / name)
