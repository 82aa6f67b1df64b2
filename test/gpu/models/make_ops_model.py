#!/usr/bin/env python3
"""Writes a small ONNX model whose ops the importer supports and which goes
through the CUDA target's generic path: batched MatMul, broadcasting and
transcendental functions (libdevice on the GPU), comparisons and Where.

    make_ops_model.py OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    rng = np.random.default_rng(1)
    w1 = numpy_helper.from_array(rng.uniform(-0.3, 0.3, (64, 48)).astype(np.float32), "w1")
    b1 = numpy_helper.from_array(rng.uniform(-0.1, 0.1, (48,)).astype(np.float32), "b1")
    w2 = numpy_helper.from_array(rng.uniform(-0.3, 0.3, (48, 16)).astype(np.float32), "w2")
    half = numpy_helper.from_array(np.array(0.5, np.float32), "half")
    one = numpy_helper.from_array(np.array(1.0, np.float32), "one")
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"]),
        helper.make_node("Add", ["h0", "b1"], ["h1"]),
        helper.make_node("Erf", ["h1"], ["e"]),
        helper.make_node("Tanh", ["h1"], ["t"]),
        helper.make_node("Sigmoid", ["h1"], ["s"]),
        helper.make_node("Mul", ["e", "t"], ["et"]),
        helper.make_node("Add", ["et", "s"], ["h2"]),
        helper.make_node("Abs", ["h2"], ["a"]),
        helper.make_node("Add", ["a", "one"], ["a1"]),
        helper.make_node("Log", ["a1"], ["l"]),
        helper.make_node("Sqrt", ["a1"], ["q"]),
        helper.make_node("Exp", ["l"], ["x1"]),
        helper.make_node("Greater", ["h2", "half"], ["g"]),
        helper.make_node("Where", ["g", "q", "x1"], ["h3"]),
        helper.make_node("MatMul", ["h3", "w2"], ["h4"]),
        helper.make_node("Cos", ["h4"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "kiln_gpu_ops",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 16])],
        [w1, b1, w2, half, one])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, sys.argv[1])


if __name__ == "__main__":
    main()
