#!/usr/bin/env python3
"""Reads the launch plan out of a kilnc --target=cuda library and checks it
against the kernels' PTX: every pointer parameter must be bound to a buffer
(arena, caller input or output, or a TMA tensor map), every other parameter
to a scalar. Kernels only in the sm_90a cubin (the wgmma GEMM, launched by
sm_90a-only steps) have no PTX: all their parameters are pointers.

    plan_args.py LIB.so PREFIX [KERNEL_SUBSTRING]   prints the plan's launches,
                                                   then its TMA tensor maps

The plan (compiler/targets/cuda/glue/kiln_cuda_plan.h) is a local symbol:
its address comes from `nm` and the library is loaded with ctypes (no GPU
needed: the CUDA driver is opened only by <prefix>_create).
"""
import ctypes
import re
import subprocess
import sys

ARG_KINDS = {0: "arena", 1: "input", 2: "output", 3: "i64", 4: "i32", 5: "tensor_map"}
POINTER_KINDS = ("arena", "input", "output", "tensor_map")
STEP_KINDS = {0: "launch", 1: "copy", 2: "launch_sm90a", 3: "launch_not_sm90a"}
STEP_BYTES, ARG_BYTES = 48, 16  # sizeof(kiln_cuda_step), sizeof(kiln_cuda_arg)


def plan_address(lib_path, prefix):
    """The loaded library's kiln_cuda_model_plan address."""
    symbols = {}
    for line in subprocess.run(["nm", lib_path], capture_output=True, text=True).stdout.splitlines():
        fields = line.split()
        if len(fields) == 3:
            symbols[fields[2]] = int(fields[0], 16)
    lib = ctypes.CDLL(lib_path)
    create = f"{prefix}_create"
    load_bias = ctypes.cast(getattr(lib, create), ctypes.c_void_p).value - symbols[create]
    return load_bias + symbols["kiln_cuda_model_plan"]


u64 = lambda a: ctypes.c_uint64.from_address(a).value
u32 = lambda a: ctypes.c_uint32.from_address(a).value
MAP_TYPES = {0: "u8", 6: "f16"}  # CUtensorMapDataType


def read_tensor_maps(lib_path, prefix):
    """[dict] for every kiln_cuda_tensor_map of the plan (40 bytes each)."""
    plan = plan_address(lib_path, prefix)
    maps, count = u64(plan + 56), u64(plan + 64)
    return [dict(buffer=u32(m), type=MAP_TYPES.get(u32(m + 4), "?"), rows=u64(m + 8),
                 cols=u64(m + 16), box_cols=u32(m + 24), box_rows=u32(m + 28),
                 swizzle=u32(m + 32), l2=u32(m + 36))
            for m in (maps + 40 * i for i in range(count))]


def read_plan(lib_path, prefix):
    """[(kernel name, [(kind, index_or_value)], step kind)] for every launch step."""
    plan = plan_address(lib_path, prefix)
    names, num_kernels = u64(plan + 16), u64(plan + 24)
    # kiln_cuda_model_desc is 9 words; then weights, steps, args, counts.
    steps, args, num_steps = u64(plan + 80), u64(plan + 88), u32(plan + 100)
    kernels = [ctypes.string_at(u64(names + 8 * i)).decode() for i in range(num_kernels)]
    launches = []
    for s in range(num_steps):
        step = steps + s * STEP_BYTES
        step_kind = STEP_KINDS.get(ctypes.c_int32.from_address(step).value, "?")
        if step_kind == "copy":
            continue
        first, count = u32(step + 32), u32(step + 36)
        bound = []
        for j in range(first, first + count):
            arg = args + j * ARG_BYTES
            kind = ARG_KINDS.get(ctypes.c_int32.from_address(arg).value, "?")
            value = ctypes.c_int32.from_address(arg + 4).value if kind in POINTER_KINDS \
                else ctypes.c_int64.from_address(arg + 8).value
            bound.append((kind, value))
        launches.append((kernels[u32(step + 4)], bound, step_kind))
    return launches


def ptx_params(ptx_images):
    """{kernel: [is_pointer per parameter]} from the PTX .entry signatures."""
    params = {}
    for ptx in ptx_images:
        text = ptx.decode(errors="replace")
        for match in re.finditer(r"\.entry\s+(\w+)\s*\((.*?)\)", text, re.S):
            params[match.group(1)] = [".ptr" in p for p in match.group(2).split(",")]
    return params


def mismatches(lib_path, prefix, ptx_images):
    """Messages for launches whose bindings do not fit the kernel's parameters."""
    params = ptx_params(ptx_images)
    problems = []
    for kernel, bound, step_kind in read_plan(lib_path, prefix):
        want = params.get(kernel)
        if want is None and step_kind == "launch_sm90a":
            want = [True] * len(bound)
        if want is None or len(want) != len(bound):
            problems.append(f"{kernel}: {len(bound)} bound arguments for "
                            f"{'no' if want is None else len(want)} parameters")
            continue
        for i, (pointer, (kind, _)) in enumerate(zip(want, bound)):
            if pointer != (kind in POINTER_KINDS):
                problems.append(f"{kernel}: parameter {i} ({'pointer' if pointer else 'scalar'}) "
                                f"is bound to {kind}")
    return problems


def main():
    lib_path, prefix = sys.argv[1], sys.argv[2]
    for kernel, bound, step_kind in read_plan(lib_path, prefix):
        if len(sys.argv) < 4 or sys.argv[3] in kernel:
            print(step_kind, kernel, " ".join(f"{k}:{v}" for k, v in bound))
    for i, m in enumerate(read_tensor_maps(lib_path, prefix)):
        print(f"tensor_map:{i} arena:{m['buffer']} {m['type']} {m['rows']}x{m['cols']} "
              f"box {m['box_rows']}x{m['box_cols']} swizzle {m['swizzle']} l2 {m['l2']}")


if __name__ == "__main__":
    main()
