#!/usr/bin/env python3
"""Runs the imported IR of ONNX node tests on the host with MLIR's own
lowering (one-shot bufferization to loops, mlir-runner) and compares the
outputs with the tests' expected outputs: a numerical check of the
importer's lowering that needs no Kiln code generator.

    run_node_tests.py KILNC [--data DIR] [--filter SUBSTRING] [--mlir-bin DIR]

Models whose IR holds kiln ops (kiln.linear, compressed weights) are
skipped: MLIR cannot lower those; the host target's conformance run covers
them. So are outputs of element types the runner cannot print.
"""
import argparse
import concurrent.futures
import glob
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

PIPELINE = ["--one-shot-bufferize=bufferize-function-boundaries", "--convert-linalg-to-loops",
            "--expand-strided-metadata", "--lower-affine", "--convert-scf-to-cf", "--convert-math-to-funcs",
            "--convert-math-to-llvm",
            "--convert-math-to-libm", "--finalize-memref-to-llvm", "--convert-arith-to-llvm",
            "--convert-func-to-llvm", "--convert-cf-to-llvm", "--reconcile-unrealized-casts"]
PRINTERS = {"f32": "printMemrefF32", "f64": "printMemrefF64", "i64": "printMemrefI64", "i32": "printMemrefI32"}
NUMPY_TO_MLIR = {np.float32: "f32", np.float64: "f64", np.int64: "i64", np.int32: "i32", np.int8: "i8",
                 np.uint8: "i8", np.int16: "i16", np.uint16: "i16", np.bool_: "i1", np.float16: "f16"}


def tensor_type(array):
    element = NUMPY_TO_MLIR[array.dtype.type]
    dims = "x".join(str(d) for d in array.shape)
    return f"tensor<{dims + 'x' if dims else ''}{element}>"


def constant(array):
    if array.dtype == np.bool_:
        values = ", ".join("true" if v else "false" for v in array.flatten())
        body = f"[{values}]" if array.ndim else ("true" if array.item() else "false")
        if array.ndim > 1:  # a flat list needs a reshape-free literal: use nested lists
            body = str(array.tolist()).replace("True", "true").replace("False", "false")
        return f"arith.constant dense<{body}> : {tensor_type(array)}"
    raw = np.ascontiguousarray(array).tobytes().hex().upper()
    return f'arith.constant dense<"0x{raw}"> : {tensor_type(array)}'


def parse_outputs(text):
    blocks = text.split("Unranked Memref")[1:]
    values = []
    for block in blocks:
        data = block.split("data =", 1)[1]
        numbers = re.findall(r"-?nan|-?inf|-?\d+(?:\.\d*)?(?:e[-+]?\d+)?", data)
        values.append(np.array([float(n) for n in numbers]))
    return values


def run_one(kilnc, mlir_bin, test_dir):
    model_path = os.path.join(test_dir, "model.onnx")
    data_dir = os.path.join(test_dir, "test_data_set_0")
    inputs = [numpy_helper.to_array(onnx.load_tensor(p)) for p in sorted(glob.glob(f"{data_dir}/input_*.pb"))]
    expected = [numpy_helper.to_array(onnx.load_tensor(p)) for p in sorted(glob.glob(f"{data_dir}/output_*.pb"))]
    imported = subprocess.run([kilnc, model_path, "--emit=imported"], capture_output=True, text=True)
    if imported.returncode:
        return "skip", "does not import"
    ir = imported.stdout
    if "kiln." in ir.split("{-#")[0].replace("kiln.dims", "").replace("kiln.name", "").replace(
            "kiln.dtype", "").replace("kiln.source", "").replace("kiln.dim_bounds", ""):
        return "skip", "holds kiln ops"
    signature = re.search(r"func.func @main\((.*)\) -> \((.*)\) \{", ir)
    results = re.findall(r"(tensor<[^>]*>) \{kiln.dims", signature.group(2))
    if any("?" in r for r in results):
        return "skip", "dynamic result shapes"
    elements = [r.rsplit("x", 1)[-1].rstrip(">").replace("tensor<", "") for r in results]
    if any(e not in PRINTERS for e in elements) or len(results) != len(expected):
        return "skip", "output types the runner cannot print"
    try:
        arguments = [constant(a) for a in inputs]
    except KeyError:
        return "skip", "input types"
    body = ir.replace("func.func @main", "func.func @model", 1)
    cut = body.find("{-#")
    module, resources = (body[:cut], body[cut:]) if cut >= 0 else (body, "")
    module = module[:module.rindex("}")]
    lines = [f"  func.func private @{p}(tensor<*x{e}>)" for e, p in PRINTERS.items()]
    lines.append("  func.func @main() {")
    names = []
    for i, a in enumerate(arguments):
        lines.append(f"    %in{i} = {a}")
        names.append(f"%in{i}")
    arg_types = ", ".join(tensor_type(a) for a in inputs)
    lines.append(f"    %r:{len(results)} = call @model({', '.join(names)}) : ({arg_types}) -> ({', '.join(results)})"
                 if len(results) > 1 else
                 f"    %r = call @model({', '.join(names)}) : ({arg_types}) -> {results[0]}")
    for i, (r, e) in enumerate(zip(results, elements)):
        value = f"%r#{i}" if len(results) > 1 else "%r"
        lines.append(f"    %u{i} = tensor.cast {value} : {r} to tensor<*x{e}>")
        lines.append(f"    call @{PRINTERS[e]}(%u{i}) : (tensor<*x{e}>) -> ()")
    lines += ["    return", "  }", "}"]
    program = module + "\n".join(lines) + "\n" + resources
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "program.mlir")
        open(source, "w").write(program)
        lowered = subprocess.run([os.path.join(mlir_bin, "mlir-opt"), source, *PIPELINE, "-o",
                                  os.path.join(tmp, "lowered.mlir")], capture_output=True, text=True)
        if lowered.returncode:
            return "lowering", lowered.stderr.strip().splitlines()[0][:160]
        lib = os.path.join(os.path.dirname(mlir_bin), "lib")
        run = subprocess.run([os.path.join(mlir_bin, "mlir-runner"), os.path.join(tmp, "lowered.mlir"), "-e", "main",
                              "-entry-point-result=void",
                              f"-shared-libs={lib}/libmlir_runner_utils.so,{lib}/libmlir_c_runner_utils.so"],
                             capture_output=True, text=True, timeout=120)
        if run.returncode:
            return "runtime", (run.stderr.strip().splitlines() or ["?"])[-1][:160]
    outputs = parse_outputs(run.stdout)
    for got, want in zip(outputs, expected):
        want = want.astype(np.float64).flatten()
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-4, atol=1e-5, equal_nan=True):
            worst = np.max(np.abs(got - want)) if got.shape == want.shape else "shape"
            return "MISMATCH", f"max error {worst}"
    return "pass", ""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kilnc")
    parser.add_argument("--data", default="/usr/share/libonnx-testdata/data/node")
    parser.add_argument("--filter", default="")
    parser.add_argument("--mlir-bin", default="/usr/lib/llvm-22/bin")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    tests = [t for t in sorted(os.listdir(args.data))
             if args.filter in t and os.path.exists(os.path.join(args.data, t, "model.onnx"))]

    def check(test):
        try:
            return run_one(args.kilnc, args.mlir_bin, os.path.join(args.data, test))
        except Exception as error:  # a harness problem, not the importer's
            return "harness", f"{type(error).__name__}: {error}"[:160]

    counts = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for test, (status, detail) in zip(tests, pool.map(check, tests)):
            counts[status] = counts.get(status, 0) + 1
            if status != "skip":
                print(f"{status:9} {test} {detail}", flush=True)
    print("summary:", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 1 if counts.get("MISMATCH") else 0


if __name__ == "__main__":
    sys.exit(main())
