#!/usr/bin/env python3
"""Inputs and CPU references for one kilnc --target=cuda model.

    make_reference.py SIGNATURE.json HOST_LIB PREFIX MODEL.onnx OUTDIR

Writes OUTDIR/host/{input,reference}_<i>.bin (reference: the host target's
.so of the same model and compression, run here through its C API) and
OUTDIR/ort/{input,reference}_<i>.bin (reference: onnxruntime on the ONNX
model). Inputs are seeded random numbers shaped as the signature says.
OUTDIR/host/compression_error.txt holds the host target's own distance from
onnxruntime (max abs error over max(1, max |reference|), over all outputs):
for a compressed model, the error of the compression itself.
"""
import ctypes
import json
import os
import sys

import numpy as np
import onnxruntime

DTYPES = {  # ONNX name -> (kiln_dtype, numpy)
    "float": (1, np.float32), "float16": (2, np.float16), "double": (4, np.float64),
    "int8": (5, np.int8), "int32": (7, np.int32), "int64": (8, np.int64),
    "uint8": (9, np.uint8), "bool": (13, np.bool_),
}


class KilnTensor(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int32), ("rank", ctypes.c_int32),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("data", ctypes.c_void_p),
                ("size_bytes", ctypes.c_size_t)]


def make_inputs(signature, rng):
    inputs = []
    for entry in signature["inputs"]:
        _, dtype = DTYPES[entry["dtype"]]
        shape = entry["shape"]
        if np.issubdtype(dtype, np.floating):
            inputs.append(rng.uniform(-1, 1, shape).astype(dtype))
        else:  # token ids and masks: small non-negative values stay in range
            inputs.append(rng.integers(0, 2, shape).astype(dtype))
    return inputs


def to_tensor(array, keep):
    shape = (ctypes.c_int64 * max(array.ndim, 1))(*array.shape)
    keep.append(shape)
    return KilnTensor(DTYPES_BY_NUMPY[array.dtype.type], array.ndim, shape,
                      array.ctypes.data, array.nbytes)


DTYPES_BY_NUMPY = {numpy: code for code, numpy in DTYPES.values()}


def run_host(lib_path, prefix, signature, inputs):
    lib = ctypes.CDLL(os.path.abspath(lib_path))
    call = lambda name: getattr(lib, f"{prefix}_{name}")
    call("last_error").restype = ctypes.c_char_p
    handle = ctypes.c_void_p()
    if call("create")(ctypes.byref(handle)) != 0:
        raise SystemExit("host create failed: " + call("last_error")().decode())
    outputs = [np.zeros(o["shape"], DTYPES[o["dtype"]][1]) for o in signature["outputs"]]
    keep = []
    ins = (KilnTensor * len(inputs))(*[to_tensor(a, keep) for a in inputs])
    outs = (KilnTensor * len(outputs))(*[to_tensor(a, keep) for a in outputs])
    if call("run")(handle, ins, len(inputs), outs, len(outputs)) != 0:
        raise SystemExit("host run failed: " + call("last_error")().decode())
    call("destroy")(handle)
    return outputs


def run_onnxruntime(model, signature, inputs):
    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    feeds = {entry["name"]: array for entry, array in zip(signature["inputs"], inputs)}
    names = [o["name"] for o in signature["outputs"]]
    return session.run(names, feeds)


def write(directory, inputs, references):
    os.makedirs(directory, exist_ok=True)
    for i, array in enumerate(inputs):
        array.tofile(os.path.join(directory, f"input_{i}.bin"))
    for i, array in enumerate(references):
        np.ascontiguousarray(array).tofile(os.path.join(directory, f"reference_{i}.bin"))


def main():
    signature_path, host_lib, prefix, model, outdir = sys.argv[1:6]
    with open(signature_path) as f:
        signature = json.load(f)
    inputs = make_inputs(signature, np.random.default_rng(0))
    host = run_host(host_lib, prefix, signature, inputs)
    ort = run_onnxruntime(model, signature, inputs)
    write(os.path.join(outdir, "host"), inputs, host)
    write(os.path.join(outdir, "ort"), inputs, ort)
    with open(os.path.join(outdir, "host", "compression_error.txt"), "w") as f:
        f.write("%.6g\n" % relative_error(host, ort))


def relative_error(outputs, references):
    worst = 0.0
    for output, reference in zip(outputs, references):
        reference = np.asarray(reference, np.float64)
        scale = max(1.0, float(np.abs(reference).max(initial=0.0)))
        error = float(np.abs(np.asarray(output, np.float64) - reference).max(initial=0.0))
        worst = max(worst, error / scale)
    return worst


if __name__ == "__main__":
    main()
