#!/usr/bin/env python3
"""Runs a model's CUDA loop nests on the CPU and compares with onnxruntime.

    run_cuda_loops_on_cpu.py KILNC KILN_OPT MLIR_RUNNER RUNNER_LIB_DIR MODEL.onnx
                             TOLERANCE [--f16] [--dim NAME=VALUE]...

The IR that kiln-cuda-lowering turns into kernels (pipeline `kiln-cuda-loops`:
after f16 storage, elementwise fusion, bufferization, copies as loops and
loop-nest fusion, each top-level scf.parallel being one kernel) is lowered
for the CPU, where scf.parallel runs sequentially, and executed with
mlir-runner on seeded random inputs. This checks what the CUDA target's
transformations compute without a GPU: an output passes when
max|cpu - onnxruntime| <= TOLERANCE * max(1, max|onnxruntime|).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime

LOWER_TO_LLVM = ",".join([
    "func.func(convert-linalg-to-loops)", "lower-affine", "convert-scf-to-cf",
    "expand-strided-metadata", "lower-affine", "convert-math-to-funcs", "convert-math-to-llvm",
    "convert-math-to-libm", "arith-expand", "finalize-memref-to-llvm", "convert-func-to-llvm",
    "convert-arith-to-llvm", "convert-cf-to-llvm", "convert-index-to-llvm",
    "convert-ub-to-llvm", "reconcile-unrealized-casts"])

NUMPY_OF_ONNX = {"tensor(float)": np.float32, "tensor(int64)": np.int64,
                 "tensor(int32)": np.int32, "tensor(bool)": np.bool_}
PRINTERS = {"f32": "printMemrefF32", "i64": "printMemrefI64", "i32": "printMemrefI32"}


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stderr[-3000:]}")
    return result.stdout


def make_inputs(session, dims):
    rng = np.random.default_rng(0)
    inputs = {}
    for entry in session.get_inputs():
        shape = [d if isinstance(d, int) else dims[d] for d in entry.shape]
        dtype = NUMPY_OF_ONNX[entry.type]
        if dtype == np.float32:
            inputs[entry.name] = rng.uniform(-1, 1, shape).astype(dtype)
        else:  # token ids and masks: small non-negative values stay in range
            inputs[entry.name] = rng.integers(0, 2, shape).astype(dtype)
    return inputs


def entry_arguments(loops_ir):
    """The memref types of kiln_model_entry's arguments, in order."""
    header = re.search(r"func\.func @kiln_model_entry\((.*?)\)\s*(attributes|\{)", loops_ir)
    return re.findall(r"%\w+: (memref<[^>]*>)", header.group(1))


def element_type(memref_type):
    return memref_type[len("memref<"):-1].split("x")[-1]


def wrapper(arguments, inputs):
    """A @main that calls the entry on the inputs (constant globals) and
    prints each output."""
    lines, calls, prints = [], [], []
    for i, array in enumerate(inputs):
        literal = "0x" + np.ascontiguousarray(array).tobytes().hex().upper()
        lines.append(f'  memref.global "private" constant @kiln_test_input{i} : '
                     f'{arguments[i]} = dense<"{literal}">')
        calls.append(f"    %in{i} = memref.get_global @kiln_test_input{i} : {arguments[i]}")
    outputs = arguments[len(inputs):]
    for i, type in enumerate(outputs):
        calls.append(f"    %out{i} = memref.alloc() : {type}")
        element = element_type(type)
        prints.append(f"    %u{i} = memref.cast %out{i} : {type} to memref<*x{element}>")
        prints.append(f"    call @{PRINTERS[element]}(%u{i}) : (memref<*x{element}>) -> ()")
    names = [f"%in{i}" for i in range(len(inputs))] + [f"%out{i}" for i in range(len(outputs))]
    calls.append(f"    call @kiln_model_entry({', '.join(names)}) : "
                 f"({', '.join(arguments)}) -> ()")
    for element in sorted({element_type(t) for t in outputs}):
        lines.append(f"  func.func private @{PRINTERS[element]}(memref<*x{element}>) "
                     "attributes {llvm.emit_c_interface}")
    lines.append("  func.func @main() {")
    lines += calls + prints
    lines += ["    return", "  }"]
    return "\n".join(lines) + "\n"


def printed_outputs(stdout):
    """The arrays printMemref* printed, flattened."""
    arrays = []
    for block in stdout.split("Unranked Memref")[1:]:
        data = block.split("data =", 1)[1]
        numbers = re.findall(r"[-+]?(?:nan|inf|\d+(?:\.\d*)?(?:e[-+]?\d+)?)", data)
        arrays.append(np.array([float(n) for n in numbers], dtype=np.float64))
    return arrays


def main():
    parser = argparse.ArgumentParser()
    for name in ("kilnc", "kiln_opt", "mlir_runner", "runner_lib_dir", "model"):
        parser.add_argument(name)
    parser.add_argument("tolerance", type=float)
    parser.add_argument("--f16", action="store_true")
    parser.add_argument("--dim", action="append", default=[])
    args = parser.parse_args()
    dims = dict(binding.split("=") for binding in args.dim)
    dims = {name: int(value) for name, value in dims.items()}
    name = os.path.basename(args.model)[: -len(".onnx")]

    with tempfile.TemporaryDirectory() as work:
        kiln_ir = os.path.join(work, "kiln.mlir")
        run([args.kilnc, args.model, "--emit=kiln", "-o", kiln_ir] +
            [f"--dim={b}" for b in args.dim])
        loops_ir = run([args.kiln_opt, kiln_ir,
                        f"--kiln-cuda-loops=f16={'true' if args.f16 else 'false'}"])
        session = onnxruntime.InferenceSession(args.model, providers=["CPUExecutionProvider"])
        inputs = make_inputs(session, dims)
        arguments = entry_arguments(loops_ir)
        # The module's closing brace comes before the weights' resource section.
        module, _, resources = loops_ir.partition("\n{-#")
        module = module.rstrip()
        program = module[:-1] + wrapper(arguments, list(inputs.values())) + "}\n"
        if resources:
            program += "{-#" + resources
        program_path = os.path.join(work, "program.mlir")
        with open(program_path, "w") as f:
            f.write(program)
        llvm_ir = os.path.join(work, "program.llvm.mlir")
        run([args.kiln_opt, program_path, f"--pass-pipeline=builtin.module({LOWER_TO_LLVM})",
             "-o", llvm_ir])
        libs = ",".join(os.path.join(args.runner_lib_dir, lib)
                        for lib in ("libmlir_runner_utils.so", "libmlir_c_runner_utils.so"))
        stdout = run([args.mlir_runner, llvm_ir, "-e", "main", "-entry-point-result=void",
                      f"-shared-libs={libs}"])

    expected = session.run(None, inputs)
    actual = printed_outputs(stdout)
    failed = len(actual) != len(expected)
    for i, (want, got) in enumerate(zip(expected, actual)):
        want = np.asarray(want, dtype=np.float64).ravel()
        if want.shape != got.shape:
            print(f"{name} output {i}: {got.size} values, expected {want.size}: FAIL")
            failed = True
            continue
        error = float(np.max(np.abs(got - want))) if want.size else 0.0
        if np.isnan(got).any():
            error = float("inf")
        reference = float(np.max(np.abs(want))) if want.size else 0.0
        ok = error <= args.tolerance * max(1.0, reference)
        failed |= not ok
        print(f"{name} output {i}: max_abs_error {error:.3g} max_abs_reference {reference:.3g} "
              f"tolerance {args.tolerance:g}: {'ok' if ok else 'FAIL'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
