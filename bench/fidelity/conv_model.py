"""The fidelity bench's convolutional model, for the Tucker-2 rows.

A small CNN trained deterministically in numpy on scikit-learn's bundled
digits (8x8 images): Conv 1->16 3x3 pad 1, ReLU, Conv 16->32 3x3 stride 2
pad 1, ReLU, Flatten, Gemm 512->10. It is written as ONNX (Conv nodes, so
kiln-tucker-conv sees the importer's convolution form) and compressed with
`kilnc --recipe` (kiln-tucker-conv on conv2, f32 or quantized factors);
`kilnc --report` gives the end-to-end error on held-out images.
"""
import json
import os
import re
import subprocess

import numpy as np

BATCH = 8
CONV2 = (32, 16, 3, 3)  # the layer Tucker-2 factorises (conv1 has one input channel)


def conv_forward(x, w, stride, pad):
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    kh, kw = w.shape[2:]
    oh = (xp.shape[2] - kh) // stride + 1
    ow = (xp.shape[3] - kw) // stride + 1
    y = np.zeros((x.shape[0], w.shape[0], oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            window = xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
            y += np.tensordot(window, w[:, :, i, j], axes=([1], [1])).transpose(0, 3, 1, 2)
    return y


def conv_backward(x, w, dy, stride, pad):
    """Gradients of conv_forward with respect to x and w."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    oh, ow = dy.shape[2:]
    for i in range(w.shape[2]):
        for j in range(w.shape[3]):
            rows, cols = slice(i, i + stride * oh, stride), slice(j, j + stride * ow, stride)
            dw[:, :, i, j] = np.tensordot(dy, xp[:, :, rows, cols], axes=([0, 2, 3], [0, 2, 3]))
            dxp[:, :, rows, cols] += np.tensordot(dy, w[:, :, i, j], axes=([1], [0])).transpose(0, 3, 1, 2)
    return dxp[:, :, pad:xp.shape[2] - pad, pad:xp.shape[3] - pad], dw


def forward(params, x):
    w1, b1, w2, b2, w3, b3 = params
    a1 = np.maximum(conv_forward(x, w1, 1, 1) + b1[None, :, None, None], 0)
    a2 = np.maximum(conv_forward(a1, w2, 2, 1) + b2[None, :, None, None], 0)
    return a1, a2, a2.reshape(len(x), -1) @ w3.T + b3


def train(train_x, train_y):
    """Full-batch Adam, 300 steps, fixed seeds: the same weights every run."""
    rng = np.random.default_rng(2)
    shapes = [(16, 1, 3, 3), (16,), CONV2, (32,), (10, 512), (10,)]
    fan_in = [9, None, 144, None, 512, None]
    params = [rng.normal(0, np.sqrt(2 / f), s).astype(np.float32) if f else np.zeros(s, np.float32)
              for s, f in zip(shapes, fan_in)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    onehot = np.eye(10, dtype=np.float32)[train_y]
    for step in range(1, 301):
        a1, a2, logits = forward(params, train_x)
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        g = (probs - onehot) / len(train_x)
        w1, _, w2, _, w3, _ = params
        d2 = (g @ w3).reshape(a2.shape) * (a2 > 0)
        da1, dw2 = conv_backward(a1, w2, d2, 2, 1)
        d1 = da1 * (a1 > 0)
        _, dw1 = conv_backward(train_x, w1, d1, 1, 1)
        grads = [dw1, d1.sum((0, 2, 3)), dw2, d2.sum((0, 2, 3)), g.T @ a2.reshape(len(a2), -1),
                 g.sum(0)]
        for j, grad in enumerate(grads):
            m[j] = 0.9 * m[j] + 0.1 * grad
            v[j] = 0.999 * v[j] + 0.001 * grad * grad
            update = 0.003 * (m[j] / (1 - 0.9 ** step)) / (np.sqrt(v[j] / (1 - 0.999 ** step)) + 1e-8)
            params[j] -= update.astype(np.float32)
    return params


def write_onnx(params, path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    names = ["w1", "b1", "w2", "b2", "w3", "b3"]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1] * 4),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], name="conv2", pads=[1] * 4,
                         strides=[2, 2]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("Flatten", ["r2"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["y"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "digits_cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [BATCH, 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [BATCH, 10])],
        [numpy_helper.from_array(p, n) for p, n in zip(params, names)])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


# (name, kiln-tucker-conv options); ranks (8, 16) keep 1792 of conv2's 4608
# filter parameters (0.39x), ranks (4, 8) 608 (0.13x). (energy=0.9 would
# keep ranks (13, 24), which kiln-tucker-conv refuses: more multiply-adds.)
METHODS = [
    ("Tucker-2 conv2, ranks (8, 16), f32 factors", {"rank-in": 8, "rank-out": 16}),
    ("Tucker-2 conv2, ranks (8, 16), 8-bit factors", {"rank-in": 8, "rank-out": 16, "factor-bits": 8}),
    ("Tucker-2 conv2, ranks (8, 16), 4-bit factors", {"rank-in": 8, "rank-out": 16, "factor-bits": 4}),
    ("Tucker-2 conv2, ranks (4, 8), f32 factors", {"rank-in": 4, "rank-out": 8}),
]


def filter_bytes(parameters, ranks, bits):
    """Bytes of conv2's filter or factors: f32, or codes plus one f32 scale
    per output channel of each factor (r1 + r2 + K rows)."""
    if not bits:
        return 4 * parameters
    return (parameters * bits + 7) // 8 + 4 * (ranks[0] + ranks[1] + CONV2[0])


def run(kilnc, digits, tmp):
    """Trains the CNN, compresses it with each method, returns (rows, markdown)."""
    x = (digits.data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], digits.target[order]
    train_x, train_y, test_x, test_y = x[:1400], y[:1400], x[1400:], y[1400:]
    params = train(train_x, train_y)
    model = os.path.join(tmp, "cnn.onnx")
    write_onnx(params, model)
    held_out = test_x[: len(test_x) // BATCH * BATCH]
    np.savez(os.path.join(tmp, "cnn-calib.npz"), x=train_x[:512])
    np.savez(os.path.join(tmp, "cnn-eval.npz"), x=held_out)
    accuracy = float((forward(params, held_out)[2].argmax(1) == test_y[: len(held_out)]).mean())
    before = int(np.prod(CONV2))
    rows = []
    for name, options in METHODS:
        recipe = os.path.join(tmp, "cnn-recipe.json")
        with open(recipe, "w") as f:
            json.dump({"stages": [{"method": "tucker-conv", "layers": "^conv2", "options": options}]}, f)
        report = os.path.join(tmp, "cnn-report.json")
        command = [kilnc, model, f"--recipe={recipe}", f"--calib={tmp}/cnn-calib.npz",
                   f"--eval={tmp}/cnn-eval.npz", f"--report={report}", "-o", os.devnull]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"{name}: kilnc failed:\n{result.stderr}")
        remark = re.search(r"ranks \((\d+), (\d+)\), (\d+) -> (\d+) parameters", result.stderr)
        if not remark:
            raise SystemExit(f"{name}: kiln-tucker-conv did not factorise conv2:\n{result.stderr}")
        ranks = (int(remark[1]), int(remark[2]))
        after = int(remark[4])
        with open(report) as f:
            measured = json.load(f)["model"]
        bits = options.get("factor-bits", 0)
        rows.append({"method": name, "ranks": ranks, "parameters_before": before,
                     "parameters_after": after,
                     "bytes_ratio": filter_bytes(after, ranks, bits) / filter_bytes(before, ranks, 0),
                     "model": measured})
    text = ("\n## Tucker-2: digits CNN (Conv 1-16, Conv 16-32 stride 2, Gemm 512-10)\n\n"
            "Generated by `bench/fidelity/run.py` with `conv_model.py` (the same digits split; "
            f"CNN trained in numpy; teacher test accuracy {accuracy:.4f}). kiln-tucker-conv "
            "factorises conv2 (32x16x3x3; conv1 has one input channel). Size is conv2's filter "
            "bytes after / before (codes plus one f32 scale per factor row for quantized "
            "factors); errors compare the logits on the held-out images with the uncompressed "
            "model's (`kilnc --report`). kiln-distill refits `kiln.linear` layers only, so "
            "these rows have no distilled twin.\n\n"
            "| method | ranks (r1, r2) | conv2 parameters | size | rel. L2 | cosine | top-1 agreement |\n"
            "|---|---|---|---|---|---|---|\n")
    for r in rows:
        m = r["model"]
        text += (f"| {r['method']} | {r['ranks']} | {r['parameters_before']} -> {r['parameters_after']} | "
                 f"{r['bytes_ratio']:.3f} | {m['relative_l2']:.4f} | {m['cosine']:.5f} | "
                 f"{m.get('top1_agreement', 0):.4f} |\n")
    return {"teacher_test_accuracy": accuracy, "results": rows}, text
