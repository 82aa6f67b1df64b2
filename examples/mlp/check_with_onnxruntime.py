#!/usr/bin/env python3
"""Compares what a Kiln-compiled MLP printed with onnxruntime on the same input.

    check_with_onnxruntime.py make-input MODEL.onnx BATCH INPUT.bin
    check_with_onnxruntime.py compare MODEL.onnx INPUT.bin BATCH TOLERANCE < kiln-run-model output
"""
import re
import sys

import numpy as np
import onnxruntime


def reference(model, input_path, batch):
    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    first = session.get_inputs()[0]
    shape = [batch if not isinstance(d, int) else d for d in first.shape]
    x = np.fromfile(input_path, dtype=np.float32).reshape(shape)
    return session.run(None, {first.name: x})[0]


def main():
    mode, model = sys.argv[1], sys.argv[2]
    if mode == "make-input":
        batch, path = int(sys.argv[3]), sys.argv[4]
        session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
        shape = [batch if not isinstance(d, int) else d for d in session.get_inputs()[0].shape]
        np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32).tofile(path)
        return 0
    input_path, batch, tolerance = sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    expected = reference(model, input_path, batch)
    printed = sys.stdin.read()
    match = re.search(r"^(\w+) \[([\d, ]+)\]: (.*)$", printed, re.M)
    if not match:
        print("no output found in:\n" + printed)
        return 1
    got = np.array([float(v) for v in match.group(3).split()], dtype=np.float32)
    got = got.reshape(expected.shape)
    error = float(np.max(np.abs(got - expected)))
    scale = float(np.max(np.abs(expected)))
    print(f"kiln vs onnxruntime: max |difference| = {error:.3g} (outputs up to {scale:.3g}), "
          f"tolerance {tolerance:g}")
    return 0 if error <= tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
