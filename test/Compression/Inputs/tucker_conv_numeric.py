"""Tucker-2 on a real ONNX Conv, end to end: kilnc factorises the filter
(kiln-tucker-conv through a recipe) and compiles for the host; the output
must equal numpy's convolution with numpy's own HOSVD-truncated filter, and
differ from the unfactorised convolution (the pass really ran).

  tucker_conv_numeric.py KILNC KILN_SRC WORKDIR
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

kilnc, source, workdir = sys.argv[1:4]
sys.path.insert(0, os.path.join(source, "test", "differential"))
import kiln_host  # noqa: E402

RANK_IN, RANK_OUT, STRIDE, PAD = 3, 4, 2, 1
rng = np.random.default_rng(3)
w = rng.normal(size=(8, 6, 3, 3)).astype(np.float32)
bias = rng.normal(size=(8,)).astype(np.float32)
x = rng.normal(size=(2, 6, 9, 9)).astype(np.float32)

graph = helper.make_graph(
    [helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv", pads=[PAD] * 4,
                      strides=[STRIDE, STRIDE])],
    "tucker", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    [numpy_helper.from_array(w, "w"), numpy_helper.from_array(bias, "b")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
onnx.save(model, f"{workdir}/conv.onnx")
with open(f"{workdir}/recipe.json", "w") as f:
    json.dump({"stages": [{"method": "tucker-conv",
                           "options": {"rank-in": RANK_IN, "rank-out": RANK_OUT}}]}, f)


def hosvd_truncated(w, rank_in, rank_out):
    k, c = w.shape[:2]
    out = np.linalg.svd(w.reshape(k, -1).astype(np.float64))[0][:, :rank_out]
    inp = np.linalg.svd(np.moveaxis(w, 1, 0).reshape(c, -1).astype(np.float64))[0][:, :rank_in]
    core = np.einsum("ka,cb,kcij->abij", out, inp, w)
    return np.einsum("ka,cb,abij->kcij", out, inp, core)


def conv(x, w, b):
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (PAD, PAD), (PAD, PAD)))
    kh, kw = w.shape[2:]
    oh = (xp.shape[2] - kh) // STRIDE + 1
    ow = (xp.shape[3] - kw) // STRIDE + 1
    y = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for i in range(kh):
        for j in range(kw):
            window = xp[:, :, i:i + STRIDE * oh:STRIDE, j:j + STRIDE * ow:STRIDE]
            y += np.einsum("nchw,kc->nkhw", window, w[:, :, i, j])
    return y + b[None, :, None, None]


library, _ = kiln_host.compile_model(kilnc, f"{workdir}/conv.onnx", "tucker",
                                     [f"--recipe={workdir}/recipe.json"], workdir)
compiled = kiln_host.HostModel(library, "tucker")
got = compiled.run([x])[0]
compiled.close()
want = conv(x, hosvd_truncated(w, RANK_IN, RANK_OUT), bias)
full = conv(x, w, bias)
error = np.abs(got - want).max() / np.abs(want).max()
change = np.abs(full - want).max() / np.abs(want).max()
assert error < 1e-5, f"Tucker-2 output differs from numpy's HOSVD by {error}"
assert change > 1e-2, f"the truncated filter should change the output, changed by {change}"
print(f"tucker-2 matches numpy: max relative error {error:.1e}; truncation changed the output by {change:.2f}")
