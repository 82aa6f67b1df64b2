#!/usr/bin/env python3
"""Kiln GEMV kernels vs PyTorch on the GPU: correctness, then timing.

Runs on the GPU machine. Loads the cubin + manifest written by
kiln-kernelgen (scripts/gpu-pack.sh builds them), and for every linear-layer
case (format f16 / int8 per-channel / int4 group 128, M = 1, 16, LLM shapes):

1. checks every Kiln kernel on fresh random inputs against a float64
   reference of the dequantized weights (relative Frobenius error, output
   poisoned with NaN before the launch, so an unwritten element fails);
2. times Kiln, PyTorch eager (F.linear on the dequantized fp16 weights,
   i.e. cuBLAS), torch.compile of dequantize+linear, and for int4
   torch._weight_int4pack_mm;
3. measures device-to-device copy bandwidth in the same run.

Timing: CUDA events around `inner` back-to-back calls queued behind a GPU
sleep (so host launch cost is hidden), median over reps, each call on the
next of several weight copies so the 50 MB L2 never holds the weights.

Writes results JSON + PNG into --out.
"""
import argparse
import datetime
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

try:
    import cupy
except ImportError:  # pragma: no cover - the GPU image has CuPy
    sys.exit("gemv_bench: CuPy is required to load the Kiln cubin")

SHAPES = [(4096, 4096), (11008, 4096), (4096, 11008), (8192, 8192)]
BATCHES = [1, 16]
FORMATS = ["f16", "int8", "int4"]
L2_ROTATION_BYTES = 256 << 20  # rotate weight copies over >= 5x the 50 MB L2
REL_TOL = 2e-3
# Set by linear_bench --graph-timing: every timed call is also timed as a
# CUDA-graph replay (time_calls_graph), recorded next to it as *_graph_us.
GRAPH_TIMING = False


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------- timing ----
def time_calls(fn, nbuf, inner=20, reps=25):
    """Median microseconds per call of fn(i), i rotating over nbuf buffers."""
    for i in range(3):
        fn(i % nbuf)
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    samples = []
    call = 0
    for _ in range(reps):
        torch.cuda._sleep(3_000_000)  # keep the GPU busy while calls queue
        start.record()
        for _ in range(inner):
            fn(call % nbuf)
            call += 1
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) * 1e3 / inner)
    samples.sort()
    return {
        "median_us": statistics.median(samples),
        "p10_us": samples[len(samples) // 10],
        "p90_us": samples[(len(samples) * 9) // 10],
    }


def time_calls_graph(fn, nbuf, inner=20, reps=25):
    """Like time_calls, but the `inner` rotated calls are captured once in a
    CUDA graph and the graph is replayed (as triton's do_bench_cudagraph):
    no per-launch stream gaps. CuPy launches go to the capturing stream.
    Returns None (and the reason) when a call cannot be captured."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    try:
        with torch.cuda.stream(side), cupy.cuda.ExternalStream(side.cuda_stream):
            for i in range(3):
                fn(i % nbuf)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            with cupy.cuda.ExternalStream(torch.cuda.current_stream().cuda_stream):
                for j in range(inner):
                    fn(j % nbuf)
    except Exception as e:  # record, keep going
        torch.cuda.synchronize()
        return {"graph_error": repr(e)[:300]}
    graph.replay()
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    samples = []
    for _ in range(reps):
        torch.cuda._sleep(1_000_000)
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) * 1e3 / inner)
    del graph
    samples.sort()
    return {"graph_median_us": statistics.median(samples),
            "graph_p10_us": samples[len(samples) // 10],
            "graph_p90_us": samples[(len(samples) * 9) // 10]}


def time_into(row, key, fn, nbuf, spread=False):
    """row[key] = event-timed median us of fn (spread: also p10_us, p90_us);
    with GRAPH_TIMING also row[key with _graph_us] = the graph-replay median
    (or *_graph_error)."""
    t = time_calls(fn, nbuf)
    row[key] = t["median_us"]
    if spread:
        row.update(p10_us=t["p10_us"], p90_us=t["p90_us"])
    if GRAPH_TIMING:
        g = time_calls_graph(fn, nbuf)
        graph_key = key[:-len("_us")] + "_graph_us"
        if "graph_median_us" in g:
            row[graph_key] = g["graph_median_us"]
        else:
            row[graph_key[:-len("_us")] + "_error"] = g["graph_error"]


def copy_bandwidth():
    """Device-to-device copy, bytes read + written per second (GB/s)."""
    n = 1 << 30
    src = torch.empty(n, dtype=torch.uint8, device="cuda").random_(0, 255)
    dst = torch.empty_like(src)
    t = time_calls(lambda i: dst.copy_(src), 1, inner=10, reps=15)
    return 2 * n / (t["median_us"] * 1e-6) / 1e9, t


# ------------------------------------------------------------ weights ------
def quantize(w, fmt, group):
    """Symmetric RTN with fp16 scales. Returns codes (int8), scales (f16)."""
    n, k = w.shape
    qmax = 7 if fmt == "int4" else 127
    g = w.view(n, k // group, group)
    scales = (g.abs().amax(-1) / qmax).clamp_min(1e-8).half()
    codes = torch.round(g / scales.float()[..., None]).clamp(-qmax - 1, qmax)
    return codes.view(n, k).to(torch.int8), scales


def pack_int4(codes):
    """kiln.weight packing: little-endian, low nibble first, si4."""
    nib = (codes & 0xF).to(torch.uint8)
    return (nib[:, 0::2] | (nib[:, 1::2] << 4)).contiguous()


def dequantize(codes, scales, group):
    n, k = codes.shape
    return (codes.float().view(n, k // group, group) * scales.float()[..., None]).view(n, k)


class Case:
    """One weight matrix in one format, with rotation copies for timing."""

    def __init__(self, fmt, n, k):
        self.fmt, self.n, self.k = fmt, n, k
        self.group = 128 if fmt == "int4" else k
        w = torch.randn(n, k, device="cuda")
        if fmt == "f16":
            self.kiln_w = w.half()
            self.scales = None
            self.w_ref = self.kiln_w.float()
        else:
            codes, self.scales = quantize(w, fmt, self.group)
            self.codes = codes
            self.kiln_w = pack_int4(codes) if fmt == "int4" else codes
            self.w_ref = dequantize(codes, self.scales, self.group)
        self.w_f16 = self.w_ref.half()  # what eager cuBLAS multiplies
        self.weight_bytes = self.kiln_w.numel() * self.kiln_w.element_size()
        if self.scales is not None:
            self.weight_bytes += self.scales.numel() * 2
        self.nbuf = max(2, math.ceil(L2_ROTATION_BYTES / self.weight_bytes))
        self.kiln_ws = [self.kiln_w] + [self.kiln_w.clone() for _ in range(self.nbuf - 1)]
        self.scale_bufs = (None if self.scales is None else
                           [self.scales] + [self.scales.clone() for _ in range(self.nbuf - 1)])


def rel_err(y, ref):
    y = y.double()
    if not torch.isfinite(y).all():
        return float("inf")
    return ((y - ref).norm() / ref.norm()).item()


# ------------------------------------------------------------ kiln ---------
class KilnKernels:
    def __init__(self, cubin, manifest):
        self.module = cupy.RawModule(path=cubin)
        with open(manifest) as f:
            self.entries = json.load(f)["kernels"]
        self.funcs = {e["name"]: self.module.get_function(e["name"]) for e in self.entries}

    def variants(self, fmt, m, n, k):
        return [e for e in self.entries
                if (e["format"], e["m"], e["n"], e["k"]) == (fmt, m, n, k)]

    def launcher(self, entry, case, x, y):
        func = self.funcs[entry["name"]]
        grid, block = tuple(entry["grid"]), tuple(entry["block"])
        xp, yp = np.uint64(x.data_ptr()), np.uint64(y.data_ptr())
        if case.scales is None:
            args = [(xp, np.uint64(w.data_ptr()), yp) for w in case.kiln_ws]
        else:
            args = [(xp, np.uint64(w.data_ptr()), np.uint64(s.data_ptr()), yp)
                    for w, s in zip(case.kiln_ws, case.scale_bufs)]
        return lambda i: func(grid, block, args[i])


# ------------------------------------------------------------ torch --------
def int4pack_baseline(case, m):
    """torch._weight_int4pack_mm with the same codes and scales (bf16 x)."""
    q = (case.codes.to(torch.int32) + 8).to(torch.uint8)  # tinygemm: (q - 8) * s + z
    packed_u8 = ((q[:, 0::2] << 4) | q[:, 1::2]).contiguous()
    w_packed = torch._convert_weight_to_int4pack(packed_u8, 8)
    s = case.scales.float().t().contiguous()  # [K/g, N]
    sz = torch.stack([s, torch.zeros_like(s)], -1).to(torch.bfloat16).contiguous()
    copies = [w_packed] + [w_packed.clone() for _ in range(case.nbuf - 1)]
    x = torch.randn(m, case.k, device="cuda", dtype=torch.bfloat16)
    ref = x.double() @ case.w_ref.double().t()
    err = rel_err(torch._weight_int4pack_mm(x, w_packed, case.group, sz), ref)
    return (lambda i: torch._weight_int4pack_mm(x, copies[i], case.group, sz)), err


def dequant_linear(fmt, group):
    """Dequantize the stored weights (int8 per channel / kiln-packed int4),
    then F.linear: the PyTorch program the baselines run."""
    if fmt == "f16":
        def f(x, w, s):
            return F.linear(x, w)
    elif fmt == "int8":
        def f(x, w, s):
            n, k = w.shape
            wd = (w.to(torch.float16).view(n, k // group, group) * s[..., None]).view(n, k)
            return F.linear(x, wd)
    else:
        def f(x, w, s):
            n = w.shape[0]
            lo = ((w & 0xF).to(torch.int8) ^ 8) - 8
            hi = ((w >> 4).to(torch.int8) ^ 8) - 8
            codes = torch.stack([lo, hi], -1).view(n, -1)
            k = codes.shape[1]
            wd = (codes.to(torch.float16).view(n, k // group, group) * s[..., None]).view(n, k)
            return F.linear(x, wd)
    return f


def compiled_dequant_linear(fmt, group, dynamic=False):
    return torch.compile(dequant_linear(fmt, group), dynamic=dynamic)


def add_eager_linear(row, case, x, ref, eager_cache):
    """cuBLAS F.linear on the f16 weights, timed once per (M, N, K) over enough
    weight copies to defeat L2, and checked on this row's input."""
    m, k = x.shape
    key = (m, case.n, k)
    if key not in eager_cache:
        copies = max(2, math.ceil(L2_ROTATION_BYTES / (case.n * k * 2)))
        wf = [case.w_f16] + [case.w_f16.clone() for _ in range(copies - 1)]
        eager_cache[key] = {}
        time_into(eager_cache[key], "eager_us", lambda i: F.linear(x, wf[i % len(wf)]), len(wf))
        del wf
    row.update(eager_cache[key])
    row["eager_rel_err"] = rel_err(F.linear(x, case.w_f16), ref)


def add_torch_baselines(row, case, x, ref, comp, compile_allowed):
    """torch.compile of dequantize + linear from the stored weights and, for
    int4, torch._weight_int4pack_mm; a failing baseline is recorded, not fatal."""
    sc = case.scale_bufs
    scale = lambda i: None if sc is None else sc[i]
    if compile_allowed:
        try:
            row["compile_rel_err"] = rel_err(comp(x, case.kiln_ws[0], scale(0)), ref)
            time_into(row, "compile_us", lambda i: comp(x, case.kiln_ws[i], scale(i)),
                      case.nbuf)
        except Exception as e:  # record, keep going
            row["compile_error"] = repr(e)[:300]
    else:
        row["compile_error"] = "skipped: compile time budget spent"
    if case.fmt == "int4":
        try:
            fn, err = int4pack_baseline(case, x.shape[0])
            row["int4pack_rel_err"] = err
            time_into(row, "int4pack_us", fn, case.nbuf)
        except Exception as e:
            row["int4pack_error"] = repr(e)[:300]


def report_header(props, copy_gbs, copy_t, rel_tol):
    """The device, versions, measured copy bandwidth and timing method of a run."""
    return {
        "device": props.name, "sms": props.multi_processor_count,
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__, "cupy": cupy.__version__,
        "copy_bandwidth_gbs": copy_gbs, "copy_timing": copy_t,
        "timing": "CUDA events, median of 25 reps of 20 queued calls, weights rotated over >= 256 MB",
        "rel_tol": rel_tol,
    }


def write_report(report, out_dir, stem, plot, summary):
    """Writes STEM.json and STEM.png into out_dir, prints the summary; the exit
    status says whether any Kiln kernel failed its check."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, stem + ".json"), "w") as f:
        json.dump(report, f, indent=1)
    try:
        plot(report, os.path.join(out_dir, stem + ".png"))
    except Exception as e:
        log(f"plot failed: {e!r}")
    summary(report)
    return 1 if report["failures"] else 0


# ------------------------------------------------------------ main ---------
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cubin", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--compile-budget-s", type=float, default=240.0,
                    help="stop adding torch.compile baselines after this many seconds")
    args = ap.parse_args()
    t0 = time.time()
    torch.manual_seed(0)
    props = torch.cuda.get_device_properties(0)
    log(f"device {props.name}, {props.multi_processor_count} SMs, torch {torch.__version__}, "
        f"cupy {cupy.__version__}")
    kiln = KilnKernels(args.cubin, args.manifest)
    copy_gbs, copy_t = copy_bandwidth()
    log(f"device-to-device copy: {copy_gbs:.0f} GB/s (read + write)")

    results, failures = [], []
    eager_cache = {}
    for (n, k) in SHAPES:
        for fmt in FORMATS:
            case = Case(fmt, n, k)
            comp = compiled_dequant_linear(fmt, case.group)
            for m in BATCHES:
                row = {"format": fmt, "m": m, "n": n, "k": k, "group": case.group,
                       "weight_bytes": case.weight_bytes, "buffers": case.nbuf}
                x = torch.randn(m, k, device="cuda", dtype=torch.float16)
                ref = x.double() @ case.w_ref.double().t()
                # Kiln: every tiling variant, checked then timed.
                kv = []
                for entry in kiln.variants(fmt, m, n, k):
                    y = torch.full((m, n), float("nan"), device="cuda", dtype=torch.float16)
                    xf = torch.randn(m, k, device="cuda", dtype=torch.float16)
                    reff = xf.double() @ case.w_ref.double().t()
                    kiln.launcher(entry, case, xf, y)(0)
                    torch.cuda.synchronize()
                    err = rel_err(y, reff)
                    t = time_calls(kiln.launcher(entry, case, x, y), case.nbuf)
                    kv.append({"name": entry["name"], "method": entry.get("method", "simt"),
                               "rows_per_warp": entry["rows_per_warp"],
                               "chunks_in_flight": entry["chunks_in_flight"],
                               "rel_err": err, **t})
                    if not err <= REL_TOL:
                        failures.append(f"{entry['name']}: rel err {err:.3g}")
                row["kiln_variants"] = kv
                best = min(kv, key=lambda v: v["median_us"])
                row["kiln_us"] = best["median_us"]
                row["kiln_best"] = best["name"]
                row["kiln_rel_err"] = max(v["rel_err"] for v in kv)
                # Eager cuBLAS on the dequantized fp16 weights (same for all formats).
                add_eager_linear(row, case, x, ref, eager_cache)
                # torch.compile is lazy: building the wrapper costs nothing.
                add_torch_baselines(row, case, x, ref, comp,
                                    time.time() - t0 < args.compile_budget_s)
                row["kiln_weight_gbs"] = case.weight_bytes / (row["kiln_us"] * 1e-6) / 1e9
                row["kiln_frac_of_copy_bw"] = row["kiln_weight_gbs"] / copy_gbs
                results.append(row)
                log(f"{fmt:5s} M={m:2d} {n:5d}x{k:5d}: kiln {row['kiln_us']:7.1f} us "
                    f"({row['kiln_weight_gbs']:5.0f} GB/s, {row['kiln_frac_of_copy_bw']:.0%} of copy) "
                    f"err {row['kiln_rel_err']:.1e} | eager {row['eager_us']:7.1f} "
                    f"| compile {row.get('compile_us', float('nan')):7.1f} "
                    f"| int4pack {row.get('int4pack_us', float('nan')):7.1f}  [{time.time()-t0:.0f}s]")
            del case
            torch.cuda.empty_cache()

    report = {**report_header(props, copy_gbs, copy_t, REL_TOL),
              "failures": failures, "results": results}
    return write_report(report, args.out, "gemv_bench", plot, summary)


def plot(report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    res = report["results"]
    fig, axes = plt.subplots(1, 2, figsize=(14, 5))
    labels = [f"{r['format']} M{r['m']}\n{r['n']}x{r['k']}" for r in res]
    xs = np.arange(len(res))
    ax = axes[0]
    for off, key, name in [(-0.27, "eager_us", "eager cuBLAS"), (0.0, "compile_us", "torch.compile"),
                           (0.27, "int4pack_us", "int4pack_mm")]:
        ax.bar(xs + off, [r[key] / r["kiln_us"] if key in r else 0 for r in res], 0.27, label=name)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(xs, labels, rotation=90, fontsize=6)
    ax.set_ylabel("baseline time / Kiln time (>1: Kiln faster)")
    ax.legend(fontsize=7)
    ax.set_title(f"Kiln GEMV speedup, {report['device']}")
    ax = axes[1]
    m1 = [r for r in res if r["m"] == 1]
    ax.bar(np.arange(len(m1)), [r["kiln_weight_gbs"] for r in m1], color="C3")
    ax.axhline(report["copy_bandwidth_gbs"], color="k", ls="--", label="D2D copy (read+write)")
    ax.axhline(0.6 * report["copy_bandwidth_gbs"], color="gray", ls=":", label="60% of copy")
    ax.set_xticks(np.arange(len(m1)), [f"{r['format']}\n{r['n']}x{r['k']}" for r in m1],
                  rotation=90, fontsize=7)
    ax.set_ylabel("weight bytes / time (GB/s), M = 1")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def summary(report):
    log("\n== summary (us; ratios = baseline / kiln) ==")
    log(f"copy bandwidth {report['copy_bandwidth_gbs']:.0f} GB/s")
    for r in report["results"]:
        ratios = " ".join(f"{k[:-3]}x{r[k] / r['kiln_us']:.2f}" for k in
                          ("eager_us", "compile_us", "int4pack_us") if k in r)
        log(f"{r['format']:5s} M{r['m']:<2d} {r['n']}x{r['k']}: {r['kiln_us']:.1f} us "
            f"{r['kiln_frac_of_copy_bw']:.0%}copy err {r['kiln_rel_err']:.1e} {ratios} "
            f"[{r['kiln_best'].split('_k')[-1]} {'tc' if '_tc_' in r['kiln_best'] else 'simt'}]")
    log("failures: " + (", ".join(report["failures"]) or "none"))


if __name__ == "__main__":
    sys.exit(main())
