#!/usr/bin/env python3
"""Times the exact f32 kernels (kernels/SimtGemm.h, kernels/F32Gemv.h) against
PyTorch's f32 linear (cuBLAS, TF32 off) and checks each against float64.

    here:  kiln-kernelgen --kernel=sgemm:f32:m2048:n1024:k1024:t128x64x8:u8x8 ... \\
               --gpu-arch=sm_90a --emit=cubin -o f32.cubin --manifest=f32.json
    GPU:   python3 f32_linear_bench.py f32.cubin f32.json OUT.json

Prints one line per kernel (median µs, TFLOP/s or weight GB/s, x torch,
relative error against float64) and writes them as JSON.
"""
import json
import sys

import cupy
import numpy as np
import torch


def median_us(fn, reps=30):
    for _ in range(3):
        fn()
    start, stop = cupy.cuda.Event(), cupy.cuda.Event()
    times = []
    for _ in range(reps):
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop) * 1e3)
    return float(np.median(times))


def main():
    cubin, manifest_path, out_path = sys.argv[1:4]
    torch.backends.cuda.matmul.allow_tf32 = False
    module = cupy.RawModule(path=cubin)
    kernels = json.load(open(manifest_path))["kernels"]
    rng = np.random.default_rng(0)
    torch_us = {}
    rows = []
    for e in kernels:
        m, n, k = e["m"], e["n"], e["k"]
        x = cupy.asarray(rng.standard_normal((m, k), dtype=np.float32))
        w = cupy.asarray(rng.standard_normal((n, k), dtype=np.float32))
        bias = cupy.asarray(rng.standard_normal(n, dtype=np.float32))
        y = cupy.full((m, n), np.nan, dtype=np.float32)
        ptrs = [x.data.ptr, w.data.ptr] + ([bias.data.ptr] if e["bias"] else []) + [y.data.ptr]
        func = module.get_function(e["name"])
        args = tuple(np.uint64(p) for p in ptrs)

        def launch():
            func(tuple(e["grid"]), tuple(e["block"]), args, shared_mem=e["shared_bytes"])

        launch()
        cupy.cuda.runtime.deviceSynchronize()
        ref = torch.as_tensor(x).double() @ torch.as_tensor(w).double().T
        if e["bias"]:
            ref += torch.as_tensor(bias).double()
        got = torch.as_tensor(y).double()
        rel = float((got - ref).norm() / ref.norm())
        us = median_us(launch)
        key = (m, n, k)
        if key not in torch_us:
            xt, wt = torch.as_tensor(x), torch.as_tensor(w)
            torch_us[key] = median_us(lambda: torch.nn.functional.linear(xt, wt))
        row = dict(name=e["name"], m=m, n=n, k=k, us=round(us, 2),
                   torch_us=round(torch_us[key], 2), x_torch=round(torch_us[key] / us, 3),
                   tflops=round(2 * m * n * k / us / 1e6, 2),
                   weight_gbps=round(4 * n * k / us / 1e3, 1), rel_err=rel,
                   ok=bool(rel < 1e-5 and not torch.isnan(got).any()))
        rows.append(row)
        print(f"{row['name']:55s} {us:9.1f} us  {row['tflops']:6.2f} TFLOP/s "
              f"{row['weight_gbps']:7.1f} GB/s  torch {row['torch_us']:9.1f} us "
              f"x{row['x_torch']:.2f}  rel {rel:.1e} {'ok' if row['ok'] else 'WRONG'}", flush=True)
    with open(out_path, "w") as f:
        json.dump({"device": torch.cuda.get_device_name(), "kernels": rows}, f, indent=1)


if __name__ == "__main__":
    main()
