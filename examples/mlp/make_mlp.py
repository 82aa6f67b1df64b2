#!/usr/bin/env python3
"""Builds examples/mlp/mlp.onnx: a small 3-layer MLP classifier for 8x8 images.

    input [batch, 1, 8, 8] -> Flatten -> Gemm(transB) 64->128 -> Relu
      -> MatMul 128->64 -> Add bias -> Relu -> Gemm 64->10 -> Identity -> logits

It covers the three ways exporters write a linear layer (Gemm with a [N, K]
weight, MatMul with a [K, N] weight plus Add, Gemm with a [K, N] weight).
Weights come from a fixed seed, so the file is reproducible.

    python3 examples/mlp/make_mlp.py [output.onnx]
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(seed=0):
    rng = np.random.default_rng(seed)

    def weight(name, *shape):
        fan_in = shape[-1] if name.endswith("_nk") else shape[0]
        values = (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)
        return numpy_helper.from_array(values, name)

    initializers = [
        weight("fc1.weight_nk", 128, 64),
        numpy_helper.from_array(rng.standard_normal(128).astype(np.float32) * 0.1, "fc1.bias"),
        weight("fc2.weight_kn", 128, 64),
        numpy_helper.from_array(rng.standard_normal(64).astype(np.float32) * 0.1, "fc2.bias"),
        weight("fc3.weight_kn", 64, 10),
        numpy_helper.from_array(rng.standard_normal(10).astype(np.float32) * 0.1, "fc3.bias"),
    ]
    nodes = [
        helper.make_node("Flatten", ["image"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc1.weight_nk", "fc1.bias"], ["fc1"], name="fc1", transB=1),
        helper.make_node("Relu", ["fc1"], ["act1"], name="relu1"),
        helper.make_node("MatMul", ["act1", "fc2.weight_kn"], ["fc2.mm"], name="fc2.matmul"),
        helper.make_node("Add", ["fc2.mm", "fc2.bias"], ["fc2"], name="fc2.add"),
        helper.make_node("Relu", ["fc2"], ["act2"], name="relu2"),
        helper.make_node("Gemm", ["act2", "fc3.weight_kn", "fc3.bias"], ["fc3"], name="fc3"),
        helper.make_node("Identity", ["fc3"], ["logits"], name="output"),
    ]
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="kiln-examples")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "mlp.onnx"
    onnx.save(build(), out)
