"""Checks kiln-run-model's output on examples/models/mlp.mlir against numpy.

The weights are read from the MLIR file itself (its dense<> constants), so
the reference is independent of the compiled code.
Usage: check_mlp_example.py MODEL.mlir FILL BATCH < run_model_output
"""
import re
import sys

import numpy as np


def constants(mlir_text):
    found = {}
    pattern = r"%(\w+) = arith.constant dense<(\[.*?\])> : tensor<([\dx]+)xf32>"
    for name, values, shape in re.findall(pattern, mlir_text):
        dims = [int(d) for d in shape.split("x")]
        found[name] = np.array(eval(values), dtype=np.float32).reshape(dims)
    return found


def main():
    model, fill, batch = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    c = constants(open(model).read())
    x = np.full((batch, c["w1"].shape[1]), fill, dtype=np.float32)
    expected = np.maximum(x @ c["w1"].T + c["b1"], 0) @ c["w2"].T + c["b2"]
    line = sys.stdin.read().strip()
    match = re.match(r"(\w+) \[(.*?)\]: (.*)", line)
    assert match, f"unexpected output: {line!r}"
    shape = [int(d) for d in match.group(2).split(",")]
    assert shape == list(expected.shape), (shape, expected.shape)
    actual = np.array([float(v) for v in match.group(3).split()], dtype=np.float32)
    np.testing.assert_allclose(actual, expected.ravel(), rtol=1e-5, atol=1e-6)
    print("match", match.group(1), shape)


main()
