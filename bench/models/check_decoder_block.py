#!/usr/bin/env python3
"""Checks a decoder block compiled for the host target against onnxruntime
and the block's float64 numpy reference (decoder_block.numpy_reference).

    check_decoder_block.py CONFIG DIR MODE HOST_LIB

DIR is what make_decoder_block.py wrote; HOST_LIB a kilnc --target=host
--name=m build of DIR/MODE.onnx (its m.json beside it). Prints one line per
output and exits non-zero when a relative error exceeds 1e-5.
"""
import json
import os
import sys

import numpy as np
import onnxruntime

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "gpu", "models"))
import decoder_block  # noqa: E402
from make_reference import run_host  # noqa: E402

TOLERANCE = 1e-5


def rel_err(value, reference):
    return float(np.linalg.norm(value - reference) / np.linalg.norm(reference))


def main():
    config_name, folder, mode, host_lib = sys.argv[1:5]
    config = decoder_block.CONFIGS[config_name]
    codes, scales, norms = decoder_block.load_weights(os.path.join(folder, "weights.npz"))
    inputs = decoder_block.make_inputs(config, mode, np.random.default_rng(7))
    with open(os.path.join(os.path.dirname(host_lib), "m.json")) as f:
        signature = json.load(f)
    kiln = run_host(host_lib, "m", signature, [inputs[i["name"]] for i in signature["inputs"]])
    session = onnxruntime.InferenceSession(os.path.join(folder, f"{mode}.onnx"),
                                           providers=["CPUExecutionProvider"])
    names = decoder_block.output_names(mode)
    ort = session.run(names, inputs)
    numpy_ref = decoder_block.numpy_reference(config, mode, codes, scales, norms, inputs)
    failed = False
    for name, k, o, r in zip(names, kiln, ort, numpy_ref):
        errors = (rel_err(k, r), rel_err(o, r), rel_err(k, o))
        ok = max(errors) <= TOLERANCE
        failed |= not ok
        print(f"{mode} {name} {'ok' if ok else 'FAILED'}: kiln vs numpy {errors[0]:.2e}, "
              f"onnxruntime vs numpy {errors[1]:.2e}, kiln vs onnxruntime {errors[2]:.2e}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
