#!/usr/bin/env python3
"""Checks and times the fused attention kernels of kiln-kernelgen on a GPU.

    attention_check.py --cubin K.cubin --manifest K.json [--json OUT.json]

Runs every "attention" kernel of the manifest (tensor-core "mma_sync" and
SIMT ones alike: the manifest's "method") on random inputs laid out as
its strides, offsets and buffer sizes say (the same parameters kilnc's
kiln-cuda-fuse-attention pass passes), and compares O with a float64
PyTorch reference: softmax(scale · Q·Kᵀ + mask [+ causal]) · V, with K and V
shared by kv_group query heads. Tolerance: 1e-4 · max(1, max|ref|) for f32,
3e-3 for f16 (inputs are f16; the SIMT kernel computes in f32, the
tensor-core one multiplies f16 (P rounded to f16) into f32 accumulators;
both round O to f16). Kernels with at least 65536 scores per head are also timed against
torch.nn.functional.scaled_dot_product_attention on the same contiguous
tensors (CUDA events, median of 20). Exit status 1 if any kernel fails.
"""
import argparse
import json
import sys

import numpy as np
import torch
import torch.nn.functional as F

try:
    import cupy
except ImportError:
    sys.exit("attention_check: CuPy is required to load the Kiln cubin")


def operand(entry, which, gen):
    """The buffer of one operand and the logical [b, heads, rows, cols] view."""
    dtype = torch.float16 if entry["element"] == "f16" else torch.float32
    elements = entry[f"{which}_elements"]
    buffer = torch.randn(elements, generator=gen, dtype=torch.float32).to(dtype).cuda()
    heads = entry["heads"] // (entry["kv_group"] if which in "kv" else 1)
    rows = entry["queries"] if which == "q" else entry["keys"]
    cols = entry["value_dim"] if which == "v" else entry["head_dim"]
    view = torch.as_strided(buffer, (entry["batch"], heads, rows, cols),
                            entry[f"{which}_strides"], entry[f"{which}_offset"])
    return buffer, view


def reference(entry, q, k, v, mask):
    group = entry["kv_group"]
    q, k, v = q.double(), k.double(), v.double()
    k = k.repeat_interleave(group, dim=1)
    v = v.repeat_interleave(group, dim=1)
    s = entry["scale"] * q @ k.transpose(-1, -2)
    if mask is not None:
        b, h = entry["batch"], entry["heads"]
        bh = torch.arange(b * h, device="cuda")
        groups = (bh // entry["mask_divisor"]) % entry["mask_groups"]
        m = mask.view(entry["mask_groups"], entry["mask_rows"], entry["keys"]).double()
        s = s + m[groups].view(b, h, entry["mask_rows"], entry["keys"])
    if entry["causal"]:
        i = torch.arange(entry["queries"], device="cuda")[:, None]
        j = torch.arange(entry["keys"], device="cuda")[None, :]
        s = s.masked_fill(j > i, float("-inf"))
    return torch.softmax(s, -1) @ v


def time_ms(fn, reps=20):
    times = []
    for _ in range(reps + 3):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return float(np.median(times[3:]))


def check(module, entry, gen):
    func = module.get_function(entry["name"])
    q_buf, q = operand(entry, "q", gen)
    k_buf, k = operand(entry, "k", gen)
    v_buf, v = operand(entry, "v", gen)
    args = [q_buf, k_buf, v_buf]
    mask = None
    if entry["mask"]:
        # Additive masks as models make them: mostly 0, some very negative.
        n = entry["mask_groups"] * entry["mask_rows"] * entry["keys"]
        drop = torch.rand(n, generator=gen) < 0.2
        mask = torch.where(drop, torch.tensor(-3.4e38), torch.randn(n, generator=gen)).cuda()
        args.append(mask)
    dtype = q_buf.dtype
    o = torch.full((entry["batch"], entry["heads"], entry["queries"], entry["value_dim"]),
                   float("nan"), dtype=dtype, device="cuda")
    args.append(o)
    pointers = tuple(np.uint64(t.data_ptr()) for t in args)
    grid, block = tuple(entry["grid"]), tuple(entry["block"])
    shared = entry["shared_bytes"]
    if shared > 48 * 1024:
        func.max_dynamic_shared_size_bytes = shared
    launch = lambda: func(grid, block, pointers, shared_mem=shared)  # noqa: E731
    launch()
    torch.cuda.synchronize()
    ref = reference(entry, q, k, v, mask)
    err = (o.double() - ref).abs().max().item()
    scale = max(1.0, ref.abs().max().item())
    tol = (3e-3 if dtype == torch.float16 else 1e-4) * scale
    result = {"name": entry["name"], "method": entry.get("method", "simt"),
              "max_abs_error": err, "tolerance": tol, "ok": bool(err <= tol)}
    if entry["queries"] * entry["keys"] >= 65536:
        qc, kc, vc = (t.contiguous() for t in (q, k, v))
        group = entry["kv_group"]
        kc, vc = kc.repeat_interleave(group, 1), vc.repeat_interleave(group, 1)
        attn_mask = None
        if mask is not None:
            m = mask.view(entry["mask_groups"], entry["mask_rows"], entry["keys"])
            bh = torch.arange(entry["batch"] * entry["heads"], device="cuda")
            attn_mask = m[(bh // entry["mask_divisor"]) % entry["mask_groups"]].view(
                entry["batch"], entry["heads"], entry["mask_rows"], entry["keys"]).to(dtype)
        sdpa = lambda: F.scaled_dot_product_attention(  # noqa: E731
            qc, kc, vc, attn_mask=attn_mask, is_causal=entry["causal"] and mask is None,
            scale=entry["scale"])
        result["kiln_ms"] = time_ms(launch)
        result["torch_sdpa_ms"] = time_ms(sdpa)
        result["sdpa_over_kiln"] = result["torch_sdpa_ms"] / result["kiln_ms"]
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cubin", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--json")
    args = ap.parse_args()
    module = cupy.RawModule(path=args.cubin)
    with open(args.manifest) as f:
        entries = [e for e in json.load(f)["kernels"] if e["op"] == "attention"]
    gen = torch.Generator().manual_seed(0)
    results = []
    for entry in entries:
        r = check(module, entry, gen)
        results.append(r)
        timing = ""
        if "kiln_ms" in r:
            timing = (f"  kiln {r['kiln_ms']:.3f} ms, torch sdpa {r['torch_sdpa_ms']:.3f} ms"
                      f" ({r['sdpa_over_kiln']:.2f}x sdpa)")
        print(f"{'ok  ' if r['ok'] else 'FAIL'} [{r['method']}] {r['name']}:"
              f" max error {r['max_abs_error']:.3e}"
              f" (tolerance {r['tolerance']:.1e}){timing}")
    report = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
              "kernels": results}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    sys.exit(0 if all(r["ok"] for r in results) else 1)


if __name__ == "__main__":
    main()
