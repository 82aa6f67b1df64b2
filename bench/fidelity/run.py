#!/usr/bin/env python3
"""Fidelity of Kiln's compression methods on a real trained model.

Trains a 64-256-256-10 ReLU MLP on scikit-learn's bundled digits data set
(deterministically, in numpy), writes it as kiln IR, compresses it with
`kilnc --recipe` for each method (calibrated on training images, with and
without --distill) and records `kilnc --report` on held-out test images.
Then the same for a small CNN (conv_model.py) with kiln-tucker-conv, which
the MLP has no convolution for.

usage: run.py KILNC OUT_DIR   (writes OUT_DIR/fidelity.{md,json}; the notes
                               under the tables in bench/results are written
                               by hand)
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from sklearn.datasets import load_digits

import conv_model

BATCH = 8


def train():
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    train_x, train_y, test_x, test_y = x[:1400], y[:1400], x[1400:], y[1400:]
    rng = np.random.default_rng(1)
    sizes = [64, 256, 256, 10]
    params = []
    for k, n in zip(sizes[:-1], sizes[1:]):
        params += [rng.normal(0, np.sqrt(2 / k), (n, k)).astype(np.float32), np.zeros(n, np.float32)]
    moments = [np.zeros_like(p) for p in params] + [np.zeros_like(p) for p in params]
    onehot = np.eye(10, dtype=np.float32)[train_y]
    for step in range(1, 401):  # full-batch Adam
        acts = [train_x]
        for i in range(3):
            z = acts[-1] @ params[2 * i].T + params[2 * i + 1]
            acts.append(np.maximum(z, 0) if i < 2 else z)
        logits = acts[-1]
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        grad = (probs - onehot) / len(train_x)
        grads = [None] * 6
        for i in reversed(range(3)):
            grads[2 * i] = grad.T @ acts[i]
            grads[2 * i + 1] = grad.sum(0)
            if i:
                grad = (grad @ params[2 * i]) * (acts[i] > 0)
        for j, g in enumerate(grads):
            moments[j] = 0.9 * moments[j] + 0.1 * g
            moments[6 + j] = 0.999 * moments[6 + j] + 0.001 * g * g
            m = moments[j] / (1 - 0.9 ** step)
            v = moments[6 + j] / (1 - 0.999 ** step)
            params[j] -= (0.003 * m / (np.sqrt(v) + 1e-8)).astype(np.float32)
    return params, train_x, test_x, test_y


def dense(a):
    rows = ", ".join("[" + ", ".join(f"{v:.9e}" for v in row) + "]" for row in np.atleast_2d(a))
    if a.ndim == 1:
        return "dense<[" + ", ".join(f"{v:.9e}" for v in a) + f"]> : tensor<{a.shape[0]}xf32>"
    return f"dense<[{rows}]> : tensor<{a.shape[0]}x{a.shape[1]}xf32>"


def write_model(params, path):
    t = lambda n: f"tensor<{BATCH}x{n}xf32>"
    lines = [f"func.func @main(%x: {t(64)}) -> {t(10)} {{"]
    value, width = "%x", 64
    for i in range(3):
        w, b = params[2 * i], params[2 * i + 1]
        n = w.shape[0]
        lines.append(f"  %w{i} = arith.constant {dense(w)}")
        lines.append(f"  %b{i} = arith.constant {dense(b)}")
        lines.append(f"  %h{i} = kiln.linear {value}, %w{i} bias %b{i} : ({t(width)}, tensor<{n}x{width}xf32>, "
                     f"tensor<{n}xf32>) -> {t(n)} loc(\"fc{i + 1} (Gemm)\")")
        value, width = f"%h{i}", n
        if i < 2:
            lines.append(f"  %zero{i} = arith.constant dense<0.0> : {t(n)}")
            lines.append(f"  %r{i} = arith.maximumf %h{i}, %zero{i} : {t(n)}")
            value = f"%r{i}"
    lines += [f"  return {value} : {t(10)}", "}"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def stage(method, layers=None, **options):
    entry = {"method": method, "options": options}
    if layers:
        entry["layers"] = layers
    return entry


# fc1 has K = 64, so "g128" uses its whole rows (g64) there.
def grouped(method, **options):
    return [stage(method, "^fc1 ", **dict(options, **{"group-size": 64})),
            stage(method, **dict(options, **{"group-size": 128}))]


# Rank r with r * (N + K) = N * K / 2 halves each layer's parameters.
HALF_RANK = [stage("low-rank", "^fc1 ", rank=25), stage("low-rank", "^fc2 ", rank=64),
             stage("low-rank", "^fc3 ", rank=4)]

METHODS = {
    "int8 (per channel, RTN)": [stage("quantize-weights", bits=8)],
    # kiln-awq with grid=0 is plain round-to-nearest (and, unlike
    # kiln-quantize-weights, takes per-layer group sizes).
    "int4 g128 RTN": grouped("awq", bits=4, grid=0),
    "int4 g128 GPTQ": grouped("gptq", bits=4),
    "int4 g128 AWQ": grouped("awq", bits=4),
    "int3 g128 RTN": grouped("awq", bits=3, grid=0),
    "int3 g128 GPTQ": grouped("gptq", bits=3),
    "log2 (4-bit)": [stage("quantize-log2", bits=4)],
    "codebook (16 entries, per tensor)": [stage("quantize-codebook", bits=4)],
    "W8A8 (no migration)": [stage("smoothquant", migrate=False)],
    "W8A8 SmoothQuant": [stage("smoothquant", alpha=0.5)],
    "50% unstructured": [stage("prune-magnitude", density=0.5)],
    "2:4": [stage("prune-magnitude", n=2, m=4)],
    "channel pruning 25%": [stage("prune-channels", fraction=0.25)],
    "low rank, half the parameters": HALF_RANK,
}


def main():
    kilnc, out_dir = sys.argv[1], sys.argv[2]
    params, train_x, test_x, test_y = train()
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "mlp.mlir")
        write_model(params, model)
        calib = train_x[:512]
        held_out = test_x[: len(test_x) // BATCH * BATCH]
        np.savez(os.path.join(tmp, "calib.npz"), x=calib)
        np.savez(os.path.join(tmp, "eval.npz"), x=held_out)
        logits = np.maximum(np.maximum(held_out @ params[0].T + params[1], 0) @ params[2].T + params[3], 0) \
            @ params[4].T + params[5]
        accuracy = float((logits.argmax(1) == test_y[: len(held_out)]).mean())
        rows = []
        for name, stages in METHODS.items():
            for distill in (False, True):
                recipe = os.path.join(tmp, "recipe.json")
                with open(recipe, "w") as f:
                    json.dump({"stages": stages}, f)
                report = os.path.join(tmp, "report.json")
                command = [kilnc, model, f"--recipe={recipe}", f"--calib={tmp}/calib.npz",
                           f"--eval={tmp}/eval.npz", f"--report={report}", "-o", os.devnull]
                if distill:
                    command.append("--distill")
                print(("distilled " if distill else "") + name, file=sys.stderr, flush=True)
                run = subprocess.run(command, capture_output=True, text=True)
                if run.returncode != 0:
                    sys.exit(f"{name}: kilnc failed:\n{run.stderr}")
                with open(report) as f:
                    result = json.load(f)
                result["method"] = name
                result["distilled"] = distill
                result["refits"] = sum("kiln-distill" in line and "refit the" in line
                                       for line in run.stderr.splitlines())
                rows.append(result)
        print("Tucker-2 on the digits CNN", file=sys.stderr, flush=True)
        conv_results, conv_text = conv_model.run(kilnc, load_digits(), tmp)
    with open(os.path.join(out_dir, "fidelity.json"), "w") as f:
        json.dump({"teacher_test_accuracy": accuracy, "results": rows, "tucker_cnn": conv_results},
                  f, indent=2)
    with open(os.path.join(out_dir, "fidelity.md"), "w") as f:
        f.write("# Compression fidelity: digits MLP (64-256-256-10)\n\n"
                "Generated by `bench/fidelity/run.py` (scikit-learn digits, MLP trained in numpy; "
                f"teacher test accuracy {accuracy:.4f}). Calibration: 512 training images; "
                f"evaluation: {len(held_out)} held-out test images. Size is the linear weights' "
                "bytes after / before; errors compare the compressed model's logits with the "
                "uncompressed model's. \"refit\" counts the layers kiln-distill refit.\n\n"
                "| method | distill | size | rel. L2 | cosine | top-1 agreement | refit |\n"
                "|---|---|---|---|---|---|---|\n")
        for r in rows:
            m = r["model"]
            f.write(f"| {r['method']} | {'yes' if r['distilled'] else 'no'} | {m['size_ratio']:.3f} | "
                    f"{m['relative_l2']:.4f} | {m['cosine']:.5f} | {m.get('top1_agreement', 0):.4f} | "
                    f"{r['refits'] if r['distilled'] else ''} |\n")
        f.write(conv_text)


if __name__ == "__main__":
    main()
