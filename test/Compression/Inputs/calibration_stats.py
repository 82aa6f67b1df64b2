"""Calibration statistics test: writes a small model with an op the reference
evaluator cannot run (math.tanh), calibration inputs, and checks the
statistics kiln-calibration-stats reports against numpy.

  calibration_stats.py make DIR    -> DIR/model.mlir, DIR/calib.npz, DIR/weights.npz
  calibration_stats.py check DIR STATS.json
"""
import json
import sys

import numpy as np


def mlir_constant(array):
    return "dense<" + json.dumps(array.astype(np.float32).tolist()) + ">"


def tensor(shape):
    return "tensor<" + "x".join(str(d) for d in shape) + "xf32>"


def make(folder):
    rng = np.random.default_rng(7)
    w1 = rng.normal(size=(8, 6)).astype(np.float32)
    b1 = rng.normal(size=(8,)).astype(np.float32)
    w2 = rng.normal(size=(5, 8)).astype(np.float32)
    w3 = rng.normal(size=(3, 5)).astype(np.float32)
    np.savez(f"{folder}/weights.npz", w1=w1, b1=b1, w2=w2, w3=w3)
    # 5 runs of a [2, 6] input, stacked.
    np.savez(f"{folder}/calib.npz", x=rng.normal(size=(5, 2, 6)).astype(np.float32))
    model = f"""func.func @main(%x: {tensor((2, 6))} {{kiln.name = "x"}}) -> {tensor((2, 3))} {{
  %w1 = arith.constant {mlir_constant(w1)} : {tensor(w1.shape)}
  %b1 = arith.constant {mlir_constant(b1)} : {tensor(b1.shape)}
  %w2 = arith.constant {mlir_constant(w2)} : {tensor(w2.shape)}
  %w3 = arith.constant {mlir_constant(w3)} : {tensor(w3.shape)}
  %zero = arith.constant dense<0.0> : {tensor((2, 5))}
  %h1 = kiln.linear %x, %w1 bias %b1 : ({tensor((2, 6))}, {tensor((8, 6))}, {tensor((8,))}) -> {tensor((2, 8))} loc("fc1 (Gemm)")
  %t1 = math.tanh %h1 : {tensor((2, 8))}
  %h2 = kiln.linear %t1, %w2 : ({tensor((2, 8))}, {tensor((5, 8))}) -> {tensor((2, 5))} loc("fc2 (Gemm)")
  %r2 = arith.maximumf %h2, %zero : {tensor((2, 5))}
  %y = kiln.linear %r2, %w3 : ({tensor((2, 5))}, {tensor((3, 5))}) -> {tensor((2, 3))} loc("fc3 (Gemm)")
  return %y : {tensor((2, 3))}
}}
"""
    with open(f"{folder}/model.mlir", "w") as f:
        f.write(model)


def check(folder, stats_path):
    weights = np.load(f"{folder}/weights.npz")
    x = np.load(f"{folder}/calib.npz")["x"].reshape(-1, 6).astype(np.float64)
    x2 = np.tanh(x @ weights["w1"].T + weights["b1"])
    x3 = np.maximum(x2 @ weights["w2"].T, 0.0)
    expected = {"fc1 (Gemm)": x, "fc2 (Gemm)": x2, "fc3 (Gemm)": x3}
    with open(stats_path) as f:
        stats = json.load(f)
    assert stats["runner"] == "Kiln's compiled host code", stats["runner"]
    assert [layer["layer"] for layer in stats["layers"]] == list(expected), stats["layers"]
    worst = 0.0
    for layer in stats["layers"]:
        inputs = expected[layer["layer"]]
        assert layer["rows"] == inputs.shape[0] and layer["cols"] == inputs.shape[1], layer
        for key, want in (("mean_abs", np.abs(inputs).mean(axis=0)),
                          ("max_abs", np.abs(inputs).max(axis=0)),
                          ("gram", (inputs.T @ inputs).ravel())):
            got = np.array(layer[key])
            error = np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-30)
            worst = max(worst, error)
            assert error < 1e-5, f"{layer['layer']} {key}: relative error {error}"
    print(f"calibration statistics match numpy: 3 layers, worst relative error {worst:.2e}")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        check(sys.argv[2], sys.argv[3])
