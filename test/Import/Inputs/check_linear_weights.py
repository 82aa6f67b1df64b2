#!/usr/bin/env python3
"""Checks that every kiln.linear weight in imported IR equals the model's
initializer, transposed to [N, K] when the model stores [K, N].

    check_linear_weights.py MODEL.onnx IMPORTED.mlir

Reads the dense_resource blobs from the IR text and compares them with
numpy's view of the initializers (an independent reading of the model).
"""
import re
import sys

import numpy as np
import onnx
from onnx import numpy_helper

model = onnx.load(sys.argv[1])
text = open(sys.argv[2]).read()
initializers = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}

blobs = {}
for name, hexdata in re.findall(r'^\s*"?([\w.]+)"?: "0x([0-9A-F]+)"', text, re.M):
    raw = bytes.fromhex(hexdata)[4:]  # the first 4 bytes hold the alignment
    blobs[name] = np.frombuffer(raw, dtype=np.float32)

checked = 0
for name, rows, cols in re.findall(
        r'arith.constant dense_resource<"?([\w.]+)"?> : tensor<(\d+)x(\d+)xf32>', text):
    rows, cols = int(rows), int(cols)
    weight = blobs[name].reshape(rows, cols)
    source = name[:-3] if name.endswith(".nk") else name
    expected = initializers[source]
    if name.endswith(".nk"):
        expected = expected.T
    if not np.array_equal(weight, expected):
        sys.exit(f"weight {name} differs from initializer {source}")
    checked += 1
if checked != 3:
    sys.exit(f"expected 3 linear weights, found {checked}")
print(f"{checked} weights match")
