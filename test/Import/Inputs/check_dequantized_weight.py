#!/usr/bin/env python3
"""Checks that the single kiln.linear weight of a model, expanded to dense
floats by kiln-opt --kiln-expand-compressed-weights, equals the weight that
onnxruntime applies (an independent reference).

    check_dequantized_weight.py MODEL.onnx EXPANDED.mlir

The model must compute y = x . W (+ nothing else) for x [batch, K]: running
it on the K x K identity gives W as [K, N]; the IR holds W as [N, K].
"""
import re
import sys

import numpy as np
import onnx
import onnxruntime as ort

model = onnx.load(sys.argv[1])
text = open(sys.argv[2]).read()
match = re.search(r"arith.constant (dense<(\[.*?\]|\"0x[0-9A-F]+\")>|dense_resource<\"?([\w.]+)\"?>) : "
                  r"tensor<(\d+)x(\d+)xf32>\n\s*%\S+ = kiln.linear", text)
if not match:
    sys.exit("no expanded dense weight feeding kiln.linear found")
n, k = int(match.group(4)), int(match.group(5))
if match.group(2) and match.group(2).startswith('"0x'):
    ir_weight = np.frombuffer(bytes.fromhex(match.group(2)[3:-1]), np.float32).reshape(n, k)
elif match.group(2):
    ir_weight = np.array(eval(match.group(2)), np.float32).reshape(n, k)
else:
    blob = re.search(r'^\s*"?' + re.escape(match.group(3)) + r'"?: "0x([0-9A-F]+)"', text, re.M)
    raw = bytes.fromhex(blob.group(1))[4:]  # the first 4 bytes hold the alignment
    ir_weight = np.frombuffer(raw, np.float32).reshape(n, k)

session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
name = session.get_inputs()[0].name
reference = session.run(None, {name: np.eye(k, dtype=np.float32)})[0]  # [K, N]
if not np.allclose(ir_weight, reference.T, rtol=1e-5, atol=1e-6):
    print("IR weight:\n", ir_weight, "\nonnxruntime weight:\n", reference.T)
    sys.exit("the imported weight differs from onnxruntime's")
print(f"weight [{n}, {k}] matches onnxruntime")
