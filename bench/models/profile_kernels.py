#!/usr/bin/env python3
"""Per-kernel GPU time of packed model cases, from torch.profiler (CUPTI).

    profile_kernels.py DEST OUT_JSON [--only NAME_SUBSTRING]... [--runs N]

Run on the GPU machine after `gpu-bench-models.sh run DEST` (which unpacks
DEST/cases). Each decoder-block case (pack_models.py) runs N times on the
legacy default stream (plain launches, no graph) inside the profiler; prints
every kernel's name, launches per run and microseconds per run, so one sees
which GEMM kernel a model ran (wgmma_* from an sm_90a image, gemm_* else) and
what it cost. Writes the same to OUT_JSON.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch


def kernel_times(model, runs):
    """{kernel name: (launches per run, us per run)} over `runs` calls."""
    model()
    torch.cuda.synchronize()
    activities = [torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=activities) as prof:
        for _ in range(runs):
            model()
        torch.cuda.synchronize()
    times = {}
    for event in prof.key_averages():
        total = getattr(event, "device_time_total", None)
        if total is None:
            total = event.cuda_time_total
        if total > 0:
            times[event.key] = (event.count / runs, total / runs)
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dest")
    parser.add_argument("out_json")
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--runs", type=int, default=10)
    opts = parser.parse_args()
    sys.path.insert(0, opts.dest)
    import models_bench

    with open(os.path.join(opts.dest, "manifest.json")) as f:
        manifest = json.load(f)
    block = models_bench.load_module(
        "decoder_block", os.path.join(opts.dest, "decoder", "decoder_block.py"))
    with open(os.path.join(opts.dest, "decoder", "config.json")) as f:
        config = json.load(f)
    report = {}
    for case in manifest["cases"]:
        if case.get("failed") or case["group"] != "decoder":
            continue
        if opts.only and not any(s in case["name"] for s in opts.only):
            continue
        with open(os.path.join(opts.dest, case["signature"])) as f:
            signature = json.load(f)
        inputs = {n: torch.from_numpy(a).cuda() for n, a in
                  block.make_inputs(config, case["model"], np.random.default_rng(1)).items()}
        model = models_bench.KilnModel(os.path.join(opts.dest, case["lib"]), "m", signature)
        try:
            model.bind(models_bench.kiln_inputs(signature, inputs))
            times = kernel_times(model, opts.runs)
        finally:
            model.close()
        report[case["name"]] = {name: {"launches": c, "us": round(t, 2)}
                                for name, (c, t) in times.items()}
        total = sum(t for _, t in times.values())
        print(f"== {case['name']}: {total:.1f} us of kernels per run")
        for name, (count, us) in sorted(times.items(), key=lambda item: -item[1][1]):
            print(f"  {us:9.1f} us  x{count:g}  {name[:90]}")
    with open(opts.out_json, "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
