#!/usr/bin/env python3
"""Runs one compiled ONNX node test through its C API and checks every output.

    run_case.py LIBRARY NAME CASE_DIR [--rtol R] [--atol A]

LIBRARY is lib<NAME>.so made by `kilnc --target=host --name=NAME` from
CASE_DIR/model.onnx. Every CASE_DIR/test_data_set_*/input_*.pb is fed in and
each output is compared with output_*.pb: floats with numpy's allclose
(|got - want| <= atol + rtol * |want|, NaN equal to NaN), everything else
exactly, and shapes and element types must match.

Prints one JSON line: {"outcome": "pass"} or {"outcome": "fail", "detail": ...}.
Runs in its own process so that a crash in the compiled code fails only
this case (the driver reports the signal).
"""
import argparse
import ctypes
import glob
import json
import os
import re
import sys

import numpy as np
import onnx
from onnx import numpy_helper

# The ctypes binding of the C API (docs/c-api.md) lives with the host
# target's differential tests; both suites drive the same product surface.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "differential"))
import kiln_host  # noqa: E402


def read_tensors(data_set, prefix):
    """The data set's PREFIX_<i>.pb tensors in index order, as (name, array)."""
    paths = glob.glob(os.path.join(data_set, f"{prefix}_*.pb"))
    paths.sort(key=lambda p: int(re.search(r"_(\d+)\.pb$", p).group(1)))
    tensors = []
    for path in paths:
        proto = onnx.load_tensor(path)
        tensors.append((proto.name, numpy_helper.to_array(proto)))
    return tensors


def order_inputs(signature, given):
    """Arranges the data set's inputs in the library's signature order.

    Tensors are matched by name when the .pb files carry names, else by
    position. Raises ValueError naming what does not line up."""
    names = [name for name, _ in given]
    if all(names) and set(signature) <= set(names):
        by_name = dict(given)
        return [by_name[name] for name in signature]
    if len(given) != len(signature):
        raise ValueError(f"the library takes inputs {signature}, the data set has {names}")
    return [array for _, array in given]


def mismatch(got, want, rtol, atol):
    """None when GOT matches WANT, else a one-line description."""
    if got.dtype != want.dtype:
        return f"element type {got.dtype}, expected {want.dtype}"
    if got.shape != want.shape:
        return f"shape {got.shape}, expected {want.shape}"
    if want.dtype.kind in "fc":
        close = np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    else:
        close = got == want
    if np.all(close):
        return None
    bad = int(np.size(close) - np.count_nonzero(close))
    if want.dtype.kind in "fc":
        with np.errstate(invalid="ignore"):
            error = np.abs(got.astype(np.float64) - want.astype(np.float64))
        error = np.where(close, 0.0, np.nan_to_num(error, nan=np.inf))
        worst = np.unravel_index(int(np.argmax(error)), error.shape) if error.ndim else ()
        return (f"{bad}/{np.size(close)} elements outside rtol={rtol:g} atol={atol:g}, "
                f"max abs error {float(np.max(error)):.3g} at {tuple(int(i) for i in worst)} "
                f"(got {got[worst]!r}, expected {want[worst]!r})")
    worst = tuple(int(i) for i in np.argwhere(~close)[0]) if got.ndim else ()
    return (f"{bad}/{np.size(close)} elements differ, first at {worst} "
            f"(got {got[worst]!r}, expected {want[worst]!r})")


KILN_DTYPE_BF16 = 3  # kiln_model.h; numpy has no bfloat16


def bf16_bits_to_float32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def input_dtype_code(model, index, array):
    """The kiln_dtype to pass ARRAY as. bfloat16 data arrives as its uint16
    bits (libonnx-testdata stores it so), and is passed as BF16 when the
    library expects BF16."""
    expected = model._info(model.c_input_info, index).dtype
    if expected == KILN_DTYPE_BF16 and array.dtype == np.uint16:
        return KILN_DTYPE_BF16
    return kiln_host._DTYPES[array.dtype]


def run_model(model, inputs):
    """Runs MODEL (a kiln_host.HostModel) on INPUTS in signature order;
    returns the outputs, bfloat16 ones widened to float32.

    Marshals the tensors itself rather than through HostModel.run, whose
    np.ascontiguousarray turns rank-0 inputs into rank 1 (numpy promises
    ndim >= 1), which the library rightly refuses."""
    keep = []

    def describe(array, dtype_code):
        shape = (ctypes.c_int64 * max(1, array.ndim))(*array.shape)
        keep.append((array, shape))
        return kiln_host._Tensor(dtype_code, array.ndim, shape, array.ctypes.data, array.nbytes)

    arrays = [np.require(a, requirements="C") for a in inputs]
    c_inputs = (kiln_host._Tensor * max(1, len(arrays)))(
        *[describe(a, input_dtype_code(model, i, a)) for i, a in enumerate(arrays)])
    outputs, codes = [], []
    for index in range(model.c_num_outputs()):
        info = model._info(model.c_output_info, index)
        shape = (ctypes.c_int64 * max(1, info.rank))()
        model._check(model.c_output_shape(c_inputs, len(arrays), index, shape), "output_shape")
        dtype = np.uint16 if info.dtype == KILN_DTYPE_BF16 else kiln_host._NUMPY[info.dtype]
        outputs.append(np.empty([shape[d] for d in range(info.rank)], dtype=dtype))
        codes.append(info.dtype)
    c_outputs = (kiln_host._Tensor * max(1, len(outputs)))(
        *[describe(a, code) for a, code in zip(outputs, codes)])
    model._check(model.c_run(model.handle, c_inputs, len(arrays), c_outputs, len(outputs)), "run")
    return [bf16_bits_to_float32(a) if code == KILN_DTYPE_BF16 else a
            for a, code in zip(outputs, codes)]


def expected_as_compared(model, index, want):
    """bfloat16 expectations (uint16 bits or ml_dtypes) as float32, like run_model's."""
    if model._info(model.c_output_info, index).dtype != KILN_DTYPE_BF16:
        return want
    return bf16_bits_to_float32(want) if want.dtype == np.uint16 else want.astype(np.float32)


def check(library, name, case_dir, rtol, atol):
    model = kiln_host.HostModel(library, name)
    try:
        signature = model.input_names()
        outputs = model.output_names()
        data_sets = sorted(glob.glob(os.path.join(case_dir, "test_data_set_*")))
        if not data_sets:
            return {"outcome": "fail", "detail": "the case has no test_data_set_*"}
        for data_set in data_sets:
            label = os.path.basename(data_set)
            try:
                inputs = order_inputs(signature, read_tensors(data_set, "input"))
            except ValueError as error:
                return {"outcome": "fail", "detail": f"{label}: {error}"}
            expected = read_tensors(data_set, "output")
            if len(expected) != len(outputs):
                return {"outcome": "fail",
                        "detail": f"{label}: the library has outputs {outputs}, "
                                  f"the data set expects {len(expected)}"}
            try:
                actual = run_model(model, inputs)
            except (RuntimeError, KeyError) as error:
                return {"outcome": "fail", "detail": f"{label}: run failed: {error}"}
            for index, (output, got, (_, want)) in enumerate(zip(outputs, actual, expected)):
                problem = mismatch(got, expected_as_compared(model, index, want), rtol, atol)
                if problem:
                    return {"outcome": "fail", "detail": f"{label}: output '{output}': {problem}"}
        return {"outcome": "pass"}
    finally:
        model.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("library")
    parser.add_argument("name")
    parser.add_argument("case_dir")
    parser.add_argument("--rtol", type=float, default=1e-3)
    parser.add_argument("--atol", type=float, default=1e-7)
    args = parser.parse_args()
    try:
        result = check(args.library, args.name, args.case_dir, args.rtol, args.atol)
    except (OSError, AttributeError, RuntimeError) as error:
        # OSError: dlopen failed; AttributeError: a NAME_* symbol is missing.
        result = {"outcome": "fail", "detail": f"loading {args.library}: {error}"}
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
