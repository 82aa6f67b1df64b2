#!/usr/bin/env python3
"""Launches chosen Kiln kernels a few times on random inputs, for ncu.

  ncu --clock-control none -k regex:NAME python3 profile_kernels.py \
      --cubin gemv.cubin --manifest gemv.json NAME [NAME...]
"""
import argparse
import json

import cupy
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cubin", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--launches", type=int, default=5)
    ap.add_argument("names", nargs="+")
    args = ap.parse_args()
    module = cupy.RawModule(path=args.cubin)
    entries = {e["name"]: e for e in json.load(open(args.manifest))["kernels"]}
    for name in args.names:
        e = entries[name]
        m, n, k = e["m"], e["n"], e["k"]
        bits = {"f16": 16, "int8": 8, "int4": 4}[e["format"]]
        x = cupy.random.standard_normal((m, k), dtype=cupy.float32).astype(cupy.float16)
        w = cupy.random.randint(0, 256, size=(n, k * bits // 8), dtype=cupy.uint8)
        if e["format"] == "f16":
            w = cupy.random.standard_normal((n, k), dtype=cupy.float32).astype(cupy.float16)
        y = cupy.empty((m, n), dtype=cupy.float16)
        ptrs = [x.data.ptr, w.data.ptr]
        if e["format"] != "f16":
            s = cupy.full((n, k // e["group_size"]), 0.01, dtype=cupy.float16)
            ptrs.append(s.data.ptr)
        ptrs.append(y.data.ptr)
        func = module.get_function(name)
        for _ in range(args.launches):
            func(tuple(e["grid"]), tuple(e["block"]), tuple(np.uint64(p) for p in ptrs))
        cupy.cuda.runtime.deviceSynchronize()
        print(name, "ok", flush=True)


if __name__ == "__main__":
    main()
