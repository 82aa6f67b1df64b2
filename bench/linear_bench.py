#!/usr/bin/env python3
"""Linear layers y = x·Wᵀ on the GPU: Kiln GEMV (M <= 16) and GEMM (M >= 128)
against PyTorch, in fp16 and with int8 (per channel) / int4 (group 128)
weights. Benchmark part 1 of issue 5.

Runs on the GPU machine with the cubin + manifest that scripts/gpu-pack.sh
builds. For every case (format x M in 1, 16, 128, 2048 x N×K LLM shapes):

1. every Kiln kernel variant is checked on fresh random inputs against a
   float64 reference of the dequantized weights (output poisoned with NaN);
2. Kiln's best variant is timed against: eager cuBLAS `F.linear` on fp16
   weights (the bar: same time for every format), eager dequantize +
   `F.linear` from the stored int8/int4 weights, `torch.compile` of that, and
   for int4 `torch._weight_int4pack_mm` (bf16 activations);
3. copy bandwidth and cuBLAS TFLOP/s are measured in the same run, so M = 1
   is reported as weight bytes / time against copy bandwidth and M = 2048 as
   TFLOP/s against cuBLAS.

Timing, weight rotation and the quantizer are gemv_bench's (same folder).
Writes linear_bench.json and linear_bench.png into --out.
"""
import argparse
import ctypes
import json
import sys
import time

import numpy as np
import torch

import gemv_bench
from gemv_bench import (Case, add_eager_linear, add_torch_baselines, compiled_dequant_linear,
                        copy_bandwidth, cupy, dequant_linear, log, rel_err, report_header,
                        time_into, write_report)

SHAPES = [(4096, 4096), (11008, 4096), (4096, 11008), (8192, 8192)]
BATCHES = [1, 16, 128, 2048]
FORMATS = ["f16", "int8", "int4"]
REL_TOL = 2e-3


# cuTensorMapEncodeTiled enums (cuda.h): the fields WgmmaGemm.h asks for.
_TMAP_DTYPE = {"u8": (0, 1), "f16": (6, 2)}  # CUtensorMapDataType, bytes
_TMAP_SWIZZLE = {"none": 0, "128B": 3}
_TMAP_INTERLEAVE_NONE, _TMAP_L2_PROMOTION_256B, _TMAP_OOB_FILL_NONE = 0, 3, 0
_libcuda = None


def encode_tensor_map(tensor, spec):
    """A TMA tensor map of a row-major [rows, cols] CUDA tensor for the
    manifest entry `spec` ({"rows", "cols", "box": [box cols, box rows],
    "dtype": f16 | u8, "swizzle": 128B | none}), made by the driver's
    cuTensorMapEncodeTiled and copied to device memory (the wgmma GEMM takes
    a device pointer to it). Returns the 128-byte uint8 CUDA tensor."""
    global _libcuda
    if _libcuda is None:
        _libcuda = ctypes.CDLL("libcuda.so.1")
        _libcuda.cuTensorMapEncodeTiled.restype = ctypes.c_int
    rows, cols = spec["rows"], spec["cols"]
    dtype, elem_bytes = _TMAP_DTYPE[spec["dtype"]]
    assert tuple(tensor.shape) == (rows, cols) and tensor.element_size() == elem_bytes
    assert tensor.is_contiguous() and tensor.data_ptr() % 16 == 0
    raw = ctypes.create_string_buffer(128 + 64)  # CUtensorMap is 64-byte aligned
    addr = (ctypes.addressof(raw) + 63) // 64 * 64
    u64, u32 = ctypes.c_uint64, ctypes.c_uint32
    rc = _libcuda.cuTensorMapEncodeTiled(
        ctypes.c_void_p(addr), dtype, u32(2), ctypes.c_void_p(tensor.data_ptr()),
        (u64 * 2)(cols, rows), (u64 * 1)(cols * elem_bytes), (u32 * 2)(*spec["box"]),
        (u32 * 2)(1, 1), _TMAP_INTERLEAVE_NONE, _TMAP_SWIZZLE[spec["swizzle"]],
        _TMAP_L2_PROMOTION_256B, _TMAP_OOB_FILL_NONE)
    if rc != 0:
        raise RuntimeError(f"cuTensorMapEncodeTiled failed with CUresult {rc} for {spec}")
    host = torch.frombuffer(bytearray(ctypes.string_at(addr, 128)), dtype=torch.uint8)
    return host.to("cuda")


class _LaunchAttribute(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint32), ("pad", ctypes.c_char * 4),
                ("value", ctypes.c_char * 64)]


class _LaunchConfig(ctypes.Structure):
    _fields_ = [("grid", ctypes.c_uint32 * 3), ("block", ctypes.c_uint32 * 3),
                ("shared_bytes", ctypes.c_uint32), ("stream", ctypes.c_void_p),
                ("attrs", ctypes.POINTER(_LaunchAttribute)), ("num_attrs", ctypes.c_uint32)]


_PROGRAMMATIC_STREAM_SERIALIZATION = 6  # CU_LAUNCH_ATTRIBUTE_ (cuda.h)


def dependent_launcher(func, grid, block, shared, arg_sets):
    """Launches `func` with cuLaunchKernelEx and programmatic stream
    serialization (programmatic dependent launch: the grid may start while
    the previous grid of the stream finishes; the kernel's griddepcontrol.wait
    orders what depends on it), on torch's current stream (the capturing one
    under graph capture). arg_sets[i] holds 64-bit pointer arguments."""
    global _libcuda
    if _libcuda is None:
        _libcuda = ctypes.CDLL("libcuda.so.1")
    attr = _LaunchAttribute(id=_PROGRAMMATIC_STREAM_SERIALIZATION)
    ctypes.memmove(attr.value, ctypes.byref(ctypes.c_int(1)), 4)
    params = []
    for args in arg_sets:
        values = [ctypes.c_uint64(int(a)) for a in args]
        pointers = (ctypes.c_void_p * len(values))(*[ctypes.addressof(v) for v in values])
        params.append((values, pointers))
    function = ctypes.c_void_p(getattr(func, "kernel", func).ptr)  # CuPy RawKernel -> Function

    def launch(i):
        config = _LaunchConfig((grid[0], grid[1], grid[2]), (block[0], block[1], block[2]),
                               shared, ctypes.c_void_p(torch.cuda.current_stream().cuda_stream),
                               ctypes.pointer(attr), 1)
        rc = _libcuda.cuLaunchKernelEx(ctypes.byref(config), function, params[i][1], None)
        if rc != 0:
            raise RuntimeError(f"cuLaunchKernelEx failed with CUresult {rc}")
    launch.keep = (attr, params)
    return launch


class KilnKernels:
    """GEMV and GEMM kernels of one cubin, launched through CuPy."""

    def __init__(self, cubin, manifest):
        module = cupy.RawModule(path=cubin)
        with open(manifest) as f:
            self.entries = json.load(f)["kernels"]
        self.funcs = {}
        for e in self.entries:
            fn = module.get_function(e["name"])
            if e.get("shared_bytes", 0) > 0:  # needed above 48 KiB, harmless below
                fn.max_dynamic_shared_size_bytes = e["shared_bytes"]
            self.funcs[e["name"]] = fn

    def variants(self, fmt, m, n, k):
        return [e for e in self.entries
                if (e["format"], e["m"], e["n"], e["k"]) == (fmt, m, n, k)
                and not e.get("bias", False)]

    def checks_only(self, fmt, n, k, batches):
        """Kernels that are only checked: bias epilogues and M tails."""
        return [e for e in self.entries
                if (e["format"], e["n"], e["k"]) == (fmt, n, k)
                and (e.get("bias", False) or e["m"] not in batches)]

    def launcher(self, entry, case, x, y, bias=None):
        func = self.funcs[entry["name"]]
        grid, block = tuple(entry["grid"]), tuple(entry["block"])
        shared = entry.get("shared_bytes", 0)
        ptr = lambda t: np.uint64(t.data_ptr())
        tail = ([ptr(bias)] if bias is not None else []) + [ptr(y)]
        if "tensor_maps" in entry:  # wgmma: x and W through TMA tensor maps
            x_spec, w_spec = entry["tensor_maps"]
            x_map = encode_tensor_map(x, x_spec)
            w_maps = [encode_tensor_map(w, w_spec) for w in case.kiln_ws]
            scales = case.scale_bufs or [None] * len(w_maps)
            args = [tuple([ptr(x_map), ptr(w_map)] + ([ptr(s)] if s is not None else []) + tail)
                    for w_map, s in zip(w_maps, scales)]

            def launch(i):
                func(grid, block, args[i], shared_mem=shared)
            launch.tensor_maps = (x_map, w_maps)  # alive as long as the launcher
            return launch
        if case.scales is None:
            args = [tuple([ptr(x), ptr(w)] + tail) for w in case.kiln_ws]
        else:
            args = [tuple([ptr(x), ptr(w), ptr(s)] + tail)
                    for w, s in zip(case.kiln_ws, case.scale_bufs)]
        if entry.get("dependent_launch", False):
            return dependent_launcher(func, grid, block, shared, args)
        return lambda i: func(grid, block, args[i], shared_mem=shared)


def check(kiln, entry, case, m, bias=None):
    """Relative error of one kernel on fresh inputs; y poisoned with NaN."""
    x = torch.randn(m, case.k, device="cuda", dtype=torch.float16)
    y = torch.full((m, case.n), float("nan"), device="cuda", dtype=torch.float16)
    kiln.launcher(entry, case, x, y, bias)(0)
    torch.cuda.synchronize()
    ref = x.double() @ case.w_ref.double().t()
    if bias is not None:
        ref += bias.double()
    return rel_err(y, ref)


def time_row(kiln, case, m, comp, eager_cache, failures, budget_left):
    n, k, fmt = case.n, case.k, case.fmt
    row = {"format": fmt, "m": m, "n": n, "k": k, "group": case.group,
           "weight_bytes": case.weight_bytes, "flop": 2 * m * n * k}
    x = torch.randn(m, k, device="cuda", dtype=torch.float16)
    ref = x.double() @ case.w_ref.double().t()
    variants = []
    for entry in kiln.variants(fmt, m, n, k):
        # Dependent launches run on a stream of their own (not the legacy
        # default stream), events and sleep included.
        stream = (torch.cuda.Stream() if entry.get("dependent_launch", False)
                  else torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            err = check(kiln, entry, case, m)
            y = torch.empty(m, n, device="cuda", dtype=torch.float16)
            t = {}
            time_into(t, "median_us", kiln.launcher(entry, case, x, y), case.nbuf,
                      spread=True)
        torch.cuda.synchronize()
        variants.append({"name": entry["name"], "op": entry.get("op", "gemv"),
                         "method": entry.get("method", "simt"), "rel_err": err, **t})
        if not err <= REL_TOL:
            failures.append(f"{entry['name']}: rel err {err:.3g}")
    if not variants:
        failures.append(f"no Kiln kernel for {fmt} M={m} {n}x{k}")
        return row
    best = min(variants, key=lambda v: v["median_us"])
    row.update(kiln_variants=variants, kiln_us=best["median_us"], kiln_best=best["name"],
               kiln_rel_err=max(v["rel_err"] for v in variants))
    graphed = [v for v in variants if "median_graph_us" in v]
    if graphed:  # the best variant under graph timing (may differ)
        best_graph = min(graphed, key=lambda v: v["median_graph_us"])
        row.update(kiln_graph_us=best_graph["median_graph_us"],
                   kiln_graph_best=best_graph["name"])
    for method in ("mma_sync", "wgmma_tma"):  # best GEMM of each method
        gemms = [v for v in variants if v["op"] == "gemm" and v["method"] == method]
        if gemms:
            row[f"kiln_{method}_us"] = min(v["median_us"] for v in gemms)
    add_eager_linear(row, case, x, ref, eager_cache)
    if fmt != "f16":
        sc = case.scale_bufs
        scale = lambda i: None if sc is None else sc[i]
        dq = dequant_linear(fmt, case.group)
        row["eager_dequant_rel_err"] = rel_err(dq(x, case.kiln_ws[0], scale(0)), ref)
        time_into(row, "eager_dequant_us", lambda i: dq(x, case.kiln_ws[i], scale(i)),
                  case.nbuf)
    add_torch_baselines(row, case, x, ref, comp, budget_left())
    row["kiln_tflops"] = row["flop"] / (row["kiln_us"] * 1e-6) / 1e12
    row["eager_tflops"] = row["flop"] / (row["eager_us"] * 1e-6) / 1e12
    row["kiln_weight_gbs"] = case.weight_bytes / (row["kiln_us"] * 1e-6) / 1e9
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cubin", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--compile-budget-s", type=float, default=420.0,
                    help="stop adding torch.compile baselines after this many seconds")
    ap.add_argument("--shapes", default="all", help="'all' or a comma list like 4096x4096")
    ap.add_argument("--batches", default=",".join(map(str, BATCHES)))
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--graph-timing", action="store_true",
                    help="also time every call as a CUDA-graph replay of the same 20 rotated "
                         "calls (*_graph_us next to each event-timed *_us)")
    ap.add_argument("--floor-cubin", default="",
                    help="read_floor.cubin: time pure-read kernels at the int4 weight bytes")
    args = ap.parse_args()
    gemv_bench.GRAPH_TIMING = args.graph_timing
    t0 = time.time()
    torch.manual_seed(0)
    props = torch.cuda.get_device_properties(0)
    log(f"device {props.name}, {props.multi_processor_count} SMs, torch {torch.__version__}")
    kiln = KilnKernels(args.cubin, args.manifest)
    copy_gbs, copy_t = copy_bandwidth()
    log(f"device-to-device copy: {copy_gbs:.0f} GB/s (read + write)")
    floor = []
    if args.floor_cubin:
        from read_floor import measure_read_floor
        floor = measure_read_floor(args.floor_cubin, copy_gbs)
    shapes = SHAPES if args.shapes == "all" else [
        tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    batches = [int(v) for v in args.batches.split(",") if v]  # "": check-only kernels

    results, failures, eager_cache = [], [], {}
    # Static shapes, as inductor is used for a fixed model: one compiled
    # function per (format, shape), recompiled for each M. (dynamic=True
    # compiles far less but its int4 dequantization ran up to 10x slower.)
    # Dynamo keys its cache by code object, which every (shape, M) of a
    # format shares: past the limit it silently runs eager.
    for limit in ("cache_size_limit", "recompile_limit"):
        if hasattr(torch._dynamo.config, limit):
            setattr(torch._dynamo.config, limit, 4 * len(SHAPES) * len(BATCHES))
    budget_left = lambda: time.time() - t0 < args.compile_budget_s
    for (n, k) in shapes:
        for fmt in args.formats.split(","):
            case = Case(fmt, n, k)
            comp = compiled_dequant_linear(fmt, case.group)
            for m in batches:
                row = time_row(kiln, case, m, comp, eager_cache, failures, budget_left)
                if "kiln_us" not in row:
                    continue
                row["kiln_frac_of_copy_bw"] = row["kiln_weight_gbs"] / copy_gbs
                if "kiln_graph_us" in row:
                    row["kiln_graph_frac_of_copy_bw"] = (
                        case.weight_bytes / (row["kiln_graph_us"] * 1e-6) / 1e9 / copy_gbs)
                results.append(row)
                log(f"{fmt:5s} M={m:4d} {n:5d}x{k:5d}: kiln {row['kiln_us']:8.1f} us "
                    f"({row['kiln_tflops']:5.0f} TF/s, {row['kiln_frac_of_copy_bw']:4.0%} copy) "
                    f"err {row['kiln_rel_err']:.1e} | cuBLAS f16 {row['eager_us']:8.1f} "
                    f"| dq+eager {row.get('eager_dequant_us', float('nan')):8.1f} "
                    f"| compile {row.get('compile_us', float('nan')):8.1f} "
                    f"| int4pack {row.get('int4pack_us', float('nan')):8.1f}  [{time.time()-t0:.0f}s]")
            for entry in kiln.checks_only(fmt, n, k, batches):
                bias = (torch.randn(n, device="cuda", dtype=torch.float16)
                        if entry.get("bias", False) else None)
                err = check(kiln, entry, case, entry["m"], bias)
                log(f"check only {entry['name']}: rel err {err:.1e}")
                results.append({"format": fmt, "m": entry["m"], "n": n, "k": k,
                                "checked_kernel": entry["name"], "rel_err": err})
                if not err <= REL_TOL:
                    failures.append(f"{entry['name']}: rel err {err:.3g}")
            del case, comp
            torch.cuda.empty_cache()

    report = {**report_header(props, copy_gbs, copy_t, REL_TOL),
              "failures": failures, "results": results, "read_floor": floor}
    if args.graph_timing:
        report["graph_timing"] = ("*_graph_us: the same 20 rotated calls captured in one CUDA "
                                  "graph, median of 25 replays per call")
    return write_report(report, args.out, "linear_bench", plot, summary)


def timed(report):
    return [r for r in report["results"] if "kiln_us" in r]


def plot(report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    res = timed(report)
    fig, axes = plt.subplots(2, 1, figsize=(16, 10))
    xs = np.arange(len(res))
    ax = axes[0]
    bars = [("eager_us", "cuBLAS fp16 (eager)"), ("eager_dequant_us", "eager dequant+linear"),
            ("compile_us", "torch.compile"), ("int4pack_us", "int4pack_mm")]
    width = 0.8 / len(bars)
    for i, (key, name) in enumerate(bars):
        ax.bar(xs + (i - 1.5) * width, [r[key] / r["kiln_us"] if key in r else 0 for r in res],
               width, label=name)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.axhline(0.5, color="gray", ls=":", lw=0.8)
    ax.set_yscale("log")
    ax.set_xticks(xs, [f"{r['format']} M{r['m']}\n{r['n']}x{r['k']}" for r in res],
                  rotation=90, fontsize=6)
    ax.set_ylabel("baseline time / Kiln time (>1: Kiln faster)")
    ax.legend(fontsize=7)
    ax.set_title(f"Kiln linear layers (GEMV M<=16, GEMM M>=128), {report['device']}")
    ax = axes[1]
    m1 = [r for r in res if r["m"] == 1]
    ax.bar(np.arange(len(m1)), [r["kiln_weight_gbs"] for r in m1], color="C3")
    ax.axhline(report["copy_bandwidth_gbs"], color="k", ls="--", label="D2D copy (read+write)")
    ax.axhline(0.6 * report["copy_bandwidth_gbs"], color="gray", ls=":", label="60% of copy")
    ax.set_xticks(np.arange(len(m1)), [f"{r['format']}\n{r['n']}x{r['k']}" for r in m1],
                  fontsize=7)
    ax.set_ylabel("weight bytes / time (GB/s), M = 1")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def summary(report):
    log("\n== summary (us; ratios = baseline / kiln, > 1: Kiln faster) ==")
    log(f"copy bandwidth {report['copy_bandwidth_gbs']:.0f} GB/s")
    for r in timed(report):
        ratios = " ".join(f"{k[:-3]}x{r[k] / r['kiln_us']:.2f}" for k in
                          ("eager_us", "eager_dequant_us", "compile_us", "int4pack_us") if k in r)
        # Per GEMM method: cuBLAS time / method time (> 1: Kiln faster).
        ratios += "".join(f" {m}:cuBLASx{r['eager_us'] / r[f'kiln_{m}_us']:.2f}"
                          for m in ("mma_sync", "wgmma_tma") if f"kiln_{m}_us" in r)
        graph = ""
        if "kiln_graph_us" in r:
            gratios = " ".join(f"{k[:-9]}x{r[k] / r['kiln_graph_us']:.2f}" for k in
                               ("eager_graph_us", "eager_dequant_graph_us", "compile_graph_us",
                                "int4pack_graph_us") if k in r)
            graph = (f" | graph {r['kiln_graph_us']:.1f} us {r['kiln_graph_frac_of_copy_bw']:.0%}copy "
                     f"{gratios} [{r['kiln_graph_best'].split('_k')[-1]}]")
        log(f"{r['format']:5s} M{r['m']:<4d} {r['n']}x{r['k']}: {r['kiln_us']:.1f} us "
            f"{r['kiln_tflops']:.0f}TF {r['kiln_frac_of_copy_bw']:.0%}copy err {r['kiln_rel_err']:.1e} "
            f"{ratios} [{r['kiln_best'].split('_k')[-1]}]{graph}")
    for f in report.get("read_floor", []):
        log(f"read floor {f['name']} {f['bytes'] / 1e6:.2f} MB: {f['median_us']:.2f} us "
            f"{f['frac_of_copy_bw']:.0%}copy"
            + (f" | graph {f['median_graph_us']:.2f} us {f['graph_frac_of_copy_bw']:.0%}copy"
               if "median_graph_us" in f else ""))
    log("failures: " + (", ".join(report["failures"]) or "none"))


if __name__ == "__main__":
    sys.exit(main())
