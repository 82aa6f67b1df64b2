"""Tucker-2 on a real ONNX Conv, end to end: kilnc factorises the filter
(kiln-tucker-conv through a recipe) and compiles for the host; the output
must equal numpy's convolution with numpy's own HOSVD-truncated filter, and
differ from the unfactorised convolution (the pass really ran). With
FACTOR_BITS, the factors are stored as symmetric per-output-channel integer
codes: the output must equal numpy's convolution with the filter rebuilt
from numpy's own quantized factors, and differ from the f32 factors' output.

  tucker_conv_numeric.py KILNC KILN_SRC WORKDIR [FACTOR_BITS]
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

kilnc, source, workdir = sys.argv[1:4]
FACTOR_BITS = int(sys.argv[4]) if len(sys.argv) > 4 else 0
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
                           "options": {"rank-in": RANK_IN, "rank-out": RANK_OUT,
                                       "factor-bits": FACTOR_BITS}}]}, f)


def quantized_rows(matrix, bits):
    """Symmetric per-row codes as Kiln's codec makes them: scale = max|row| /
    (2^(bits-1) - 1) in float32, codes rounded half to even; dequantized."""
    matrix = matrix.astype(np.float32)
    scale = np.abs(matrix).max(axis=1, keepdims=True) / np.float32(2 ** (bits - 1) - 1)
    codes = np.clip(np.rint(matrix.astype(np.float64) / scale), -2 ** (bits - 1), 2 ** (bits - 1) - 1)
    return scale * codes.astype(np.float32)


def hosvd_truncated(w, rank_in, rank_out, bits=0):
    k, c = w.shape[:2]
    out = np.linalg.svd(w.reshape(k, -1).astype(np.float64))[0][:, :rank_out]
    inp = np.linalg.svd(np.moveaxis(w, 1, 0).reshape(c, -1).astype(np.float64))[0][:, :rank_in]
    core = np.einsum("ka,cb,kcij->abij", out, inp, w)
    if bits:  # the pass stores in as [r1, C], core as [r2, r1·k·k], out as [K, r2]
        out = quantized_rows(out, bits)
        inp = quantized_rows(inp.T, bits).T
        core = quantized_rows(core.reshape(rank_out, -1), bits).reshape(core.shape)
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
want = conv(x, hosvd_truncated(w, RANK_IN, RANK_OUT, FACTOR_BITS), bias)
# Without factor bits: against the dense filter; with: against f32 factors.
unchanged = conv(x, hosvd_truncated(w, RANK_IN, RANK_OUT) if FACTOR_BITS else w, bias)
error = np.abs(got - want).max() / np.abs(want).max()
change = np.abs(unchanged - want).max() / np.abs(want).max()
assert error < 1e-5, f"Tucker-2 output differs from numpy's HOSVD by {error}"
assert change > 1e-2, f"the truncation/quantization should change the output, changed by {change}"
what = f"{FACTOR_BITS}-bit factors" if FACTOR_BITS else "tucker-2"
print(f"{what} match numpy: max relative error {error:.1e}; "
      f"{'quantization' if FACTOR_BITS else 'truncation'} changed the output by {change:.2f}")
