#!/usr/bin/env python3
"""Kiln models vs PyTorch on the GPU: a Llama-style decoder block and the
real exported models, each checked for correctness, then timed.

Runs on the GPU machine (scripts/gpu-bench-models.sh run). CASES is the folder
the pack step made: manifest.json lists every compiled case (a kilnc
--target=cuda .so with its signature JSON, or the reason it failed to
compile); decoder/ holds the block's config and weights (decoder_block.py
rebuilds the same function in PyTorch); export_torch_models.py rebuilds the
real models in PyTorch from the same seed their ONNX files were exported with.

For every case:
1. correctness: outputs poisoned with NaN, one run through m_run_on_stream,
   relative Frobenius error against a float64 reference (decoder block: the
   PyTorch module in float64 on the GPU; real models: onnxruntime on the CPU
   with the same ONNX file, and the rebuilt PyTorch module);
2. timing: CUDA events around back-to-back calls on one stream queued behind
   a GPU sleep (host launch cost hidden as long as the host keeps up), after
   warm-up, median of reps; Kiln replays its CUDA graph (non-NULL stream).
   Baselines in the same run: PyTorch eager, eager captured in a CUDA graph,
   and torch.compile (default mode), in float32 and for the decoder block
   also float16.
A case that fails anywhere is reported with the reason, never fatal. A soft
time budget skips the remaining torch.compile baselines (reported).

    models_bench.py CASES OUTDIR [--budget-s S]
Writes OUTDIR/models_bench.json and models_bench.png.
"""
import argparse
import copy
import ctypes
import datetime
import importlib.util
import json
import math
import os
import statistics
import sys
import time
import traceback

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
START = time.time()
TORCH_DTYPES = {"float": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
                "double": torch.float64, "int8": torch.int8, "int32": torch.int32,
                "int64": torch.int64, "uint8": torch.uint8, "bool": torch.bool}
KILN_DTYPES = {torch.float32: 1, torch.float16: 2, torch.bfloat16: 3, torch.float64: 4,
               torch.int8: 5, torch.int32: 7, torch.int64: 8, torch.uint8: 9, torch.bool: 13}
# Relative Frobenius error allowed against the float64 reference.
TOLERANCE = {"fp32": 1e-4, "fp16": 1e-2, "int8": 2e-2, "int4": 2e-2}


def log(msg):
    print(f"[{time.time() - START:6.1f}s] {msg}", flush=True)


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------- timing ------
def time_gpu(fn, budget_ms=300.0, max_reps=25):
    """Median and spread of microseconds per call of fn() on the current stream."""
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    end.synchronize()
    once_ms = max(start.elapsed_time(end), 1e-3)
    inner = max(1, min(50, int(5.0 / once_ms)))  # ~5 ms of work per sample
    reps = max(3 if once_ms > 500 else 5, min(max_reps, int(budget_ms / (once_ms * inner))))
    samples = []
    for _ in range(reps):
        torch.cuda._sleep(1_000_000)  # GPU busy while the calls queue
        start.record()
        for _ in range(inner):
            fn()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) * 1e3 / inner)
    samples.sort()
    return {"median_us": statistics.median(samples), "p10_us": samples[len(samples) // 10],
            "p90_us": samples[(len(samples) * 9) // 10], "calls": reps * inner}


def rel_err(y, ref):
    y, ref = y.detach().double(), ref.detach().double()
    if not torch.isfinite(y).all():
        return float("inf")
    return ((y - ref).norm() / ref.norm().clamp_min(1e-30)).item()


# -------------------------------------------------------------- kiln -------
class KilnTensor(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int32), ("rank", ctypes.c_int32),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("data", ctypes.c_void_p),
                ("size_bytes", ctypes.c_size_t)]


class KilnModel:
    """A kilnc --target=cuda .so driven through its C API with torch tensors."""

    def __init__(self, lib_path, prefix, signature):
        self.lib = ctypes.CDLL(os.path.abspath(lib_path))
        self.prefix, self.signature = prefix, signature
        self.fn("last_error").restype = ctypes.c_char_p
        self.handle = ctypes.c_void_p()
        self.check(self.fn("create")(ctypes.byref(self.handle)), "create")
        self.run_on_stream = self.fn("run_on_stream")
        self.run_on_stream.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                       ctypes.POINTER(KilnTensor), ctypes.c_int32,
                                       ctypes.POINTER(KilnTensor), ctypes.c_int32]
        self.outputs = [torch.empty(o["shape"], dtype=TORCH_DTYPES[o["dtype"]], device="cuda")
                        for o in signature["outputs"]]
        self.args = None

    def fn(self, name):
        return getattr(self.lib, f"{self.prefix}_{name}")

    def check(self, status, what):
        if status != 0:
            raise RuntimeError(f"{self.prefix}_{what}: status {status}: "
                               f"{self.fn('last_error')().decode(errors='replace')}")

    def bind(self, inputs):
        """Fixes the tensors the next calls use (same pointers: graph replay)."""
        self.keep = []

        def tensor(t):
            shape = (ctypes.c_int64 * max(t.dim(), 1))(*t.shape)
            self.keep.append(shape)
            return KilnTensor(KILN_DTYPES[t.dtype], t.dim(), shape, t.data_ptr(),
                              t.numel() * t.element_size())

        self.inputs = [t.contiguous() for t in inputs]
        ins = (KilnTensor * len(self.inputs))(*[tensor(t) for t in self.inputs])
        outs = (KilnTensor * len(self.outputs))(*[tensor(t) for t in self.outputs])
        self.args = (ins, len(self.inputs), outs, len(self.outputs))

    def __call__(self):
        stream = torch.cuda.current_stream().cuda_stream
        self.check(self.run_on_stream(self.handle, ctypes.c_void_p(stream), *self.args),
                   "run_on_stream")

    def close(self):
        if self.handle:
            self.fn("destroy")(self.handle)
            self.handle = None


def kiln_inputs(signature, named):
    """The signature's inputs in order, cast to its dtypes, on the GPU."""
    return [named[i["name"]].to(device="cuda", dtype=TORCH_DTYPES[i["dtype"]]).contiguous()
            for i in signature["inputs"]]


def run_kiln_case(case, inputs_by_name, references, results, tolerance=None):
    """Checks one compiled case against its references, then times it
    (tolerance: the variant's default unless given)."""
    with open(case["signature"]) as f:
        signature = json.load(f)
    model = KilnModel(case["lib"], case.get("prefix", "m"), signature)
    try:
        model.bind(kiln_inputs(signature, inputs_by_name))
        for out in model.outputs:
            if out.is_floating_point():
                out.fill_(float("nan"))
        model()
        torch.cuda.synchronize()
        first = [o.clone() for o in model.outputs]
        for out in model.outputs:
            if out.is_floating_point():
                out.fill_(float("nan"))
        model()  # the same pointers again: a replay of the captured graph
        torch.cuda.synchronize()
        # A result that moves between identical runs points at a race.
        results["repeat_bit_identical"] = all(
            torch.equal(a, b) for a, b in zip(first, model.outputs))
        errors = {}
        for out, info in zip(model.outputs, signature["outputs"]):
            for ref_name, ref in references.items():
                errors.setdefault(ref_name, {})[info["name"]] = rel_err(out, ref[info["name"]])
        results["rel_err"] = errors
        tolerance = tolerance or TOLERANCE.get(case["variant"], 2e-2)
        primary = errors[next(iter(references))]
        results["correct"] = all(e <= tolerance for e in primary.values())
        results["tolerance"] = tolerance
        log(f"  {case['name']}: rel err {fmt_errors(errors)} "
            f"({'ok' if results['correct'] else 'WRONG'}, tolerance {tolerance:g}; "
            f"repeat bit-identical: {results['repeat_bit_identical']})")
        # Timed also when wrong (flagged): the time of what was compiled is known.
        results["kiln"] = time_gpu(model)
        results["status"] = "ok" if results["correct"] else "wrong result"
        log(f"  {case['name']}: kiln {results['kiln']['median_us']:.1f} us")
    finally:
        model.close()


def fmt_errors(errors):
    return "; ".join(f"{ref}: " + ", ".join(f"{k} {v:.2e}" for k, v in errs.items())
                     for ref, errs in errors.items())


# ----------------------------------------------------------- baselines -----
class Budget:
    def __init__(self, seconds):
        self.deadline = START + seconds

    def left(self):
        return self.deadline - time.time()


def time_torch(fn, budget, compile_it):
    """eager / eager graph / compile timings of fn() (no args, returns tensors)."""
    timings = {}
    with torch.no_grad():
        try:
            timings["torch_eager"] = time_gpu(fn)
        except Exception as error:  # reported, not fatal
            timings["torch_eager"] = {"error": repr(error)[:300]}
        try:
            static = fn()
            graph = torch.cuda.CUDAGraph()
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                fn()
            torch.cuda.current_stream().wait_stream(side)
            with torch.cuda.graph(graph):
                static = fn()
            del static
            timings["torch_eager_graph"] = time_gpu(graph.replay)
        except Exception as error:
            timings["torch_eager_graph"] = {"error": repr(error)[:300]}
        # "reduce-overhead" is torch.compile with CUDA graphs: the fair
        # baseline for Kiln's graph replay where eager capture fails.
        for key, mode in (("torch_compile", "default"), ("torch_compile_graphs", "reduce-overhead")):
            if compile_it is None:
                break
            if budget.left() < 60:
                timings[key] = {"skipped": "time budget"}
                continue
            try:
                began = time.time()
                compiled = compile_it(mode)
                for _ in range(3):  # cudagraph trees record on the first calls
                    compiled()
                torch.cuda.synchronize()
                timings[key] = time_gpu(compiled)
                timings[key]["compile_s"] = round(time.time() - began, 1)
            except Exception as error:
                timings[key] = {"error": repr(error)[:300]}
            torch._dynamo.reset()
    for name, t in timings.items():
        if "median_us" in t:
            log(f"    {name}: {t['median_us']:.1f} us")
        else:
            log(f"    {name}: {t}")
    return timings


# ------------------------------------------------------- decoder block -----
class DecoderBlock(torch.nn.Module):
    """The block of decoder_block.py written with torch ops (transformers'
    LlamaDecoderLayer arithmetic: rotate-half RoPE, repeat_kv GQA, SiLU MLP)."""

    def __init__(self, config, codes, scales, norms, block):
        super().__init__()
        self.config, self.block = config, block
        dense = block.dense(codes, scales)
        self.w = torch.nn.ParameterDict({n: torch.nn.Parameter(torch.from_numpy(w), False)
                                         for n, w in dense.items()})
        self.norms = torch.nn.ParameterDict({n: torch.nn.Parameter(torch.from_numpy(v), False)
                                             for n, v in norms.items()})

    def rms(self, x, name):
        wide = x.to(torch.promote_types(x.dtype, torch.float32))  # fp16: norm in fp32
        normed = wide * torch.rsqrt(wide.pow(2).mean(-1, keepdim=True) + self.block.EPS)
        return self.norms[name] * normed.to(x.dtype)

    @staticmethod
    def rope(x, cos, sin):
        half = x.shape[-1] // 2
        rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
        return x * cos + rotated * sin

    def forward(self, x, cos, sin, mask=None, past_k=None, past_v=None):
        c = self.config
        heads, kv_heads, d = c["heads"], c["kv_heads"], self.block.head_dim(c)
        s = x.shape[1]
        h = self.rms(x, "input_norm")
        split = lambda t, n: t.view(1, t.shape[1], n, d).transpose(1, 2)
        q = self.rope(split(F.linear(h, self.w["q"]), heads), cos, sin)
        k = self.rope(split(F.linear(h, self.w["k"]), kv_heads), cos, sin)
        v = F.linear(h, self.w["v"])
        present = ()
        if past_k is not None:  # static cache: the token goes into the last slot
            slot = torch.zeros(past_k.shape[1], 1, dtype=torch.bool, device=x.device)
            slot[-1] = True
            k_token = k.transpose(1, 2).reshape(1, 1, -1)
            k_all = torch.where(slot, k_token, past_k)
            v_all = torch.where(slot, v, past_v)
            present = (k_all, v_all)
            k, v = split(k_all, kv_heads), split(v_all, kv_heads)
        else:
            v = split(v, kv_heads)
        group = heads // kv_heads
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(d)
        if mask is not None:
            scores = scores + mask
        probs = torch.softmax(scores, dim=-1, dtype=torch.promote_types(q.dtype, torch.float32))
        probs = probs.to(q.dtype)
        attended = (probs @ v).transpose(1, 2).reshape(1, s, -1)
        residual = x + F.linear(attended, self.w["o"])
        h2 = self.rms(residual, "post_norm")
        mlp = F.linear(F.silu(F.linear(h2, self.w["gate"])) * F.linear(h2, self.w["up"]),
                       self.w["down"])
        return (residual + mlp,) + present


def bench_decoder(cases, cases_dir, budget, report):
    block = load_module("decoder_block", os.path.join(cases_dir, "decoder", "decoder_block.py"))
    with open(os.path.join(cases_dir, "decoder", "config.json")) as f:
        config = json.load(f)
    codes, scales, norms = block.load_weights(os.path.join(cases_dir, "decoder", "weights.npz"))
    report["decoder_config"] = config
    module = DecoderBlock(config, codes, scales, norms, block).cuda().eval()
    for mode in ("prefill", "decode"):
        mode_cases = [c for c in cases if c["group"] == "decoder" and c["model"] == mode]
        if not mode_cases:
            continue
        log(f"decoder block, {mode}")
        inputs = {n: torch.from_numpy(a).cuda()
                  for n, a in block.make_inputs(config, mode, np.random.default_rng(1)).items()}
        with torch.no_grad():
            ref = module.double()(**{n: t.double() for n, t in inputs.items()})
            module.float()
            reference = dict(zip(block.output_names(mode), ref))
        baselines = {}
        for dtype_name, dtype in (("fp32", torch.float32), ("fp16", torch.float16)):
            # A fresh module: module.to(fp16) in place would round the weights
            # that the next mode's float64 reference is built from.
            typed = DecoderBlock(config, codes, scales, norms, block).cuda().eval().to(dtype)
            args = {n: t.to(dtype) for n, t in inputs.items()}
            with torch.no_grad():
                out = typed(**args)
                errs = {n: rel_err(o, reference[n]) for n, o in zip(block.output_names(mode), out)}
            log(f"  torch {dtype_name} rel err {errs}")
            timings = time_torch(lambda: typed(**args), budget,
                                 lambda mode: (lambda f: lambda: f(**args))(torch.compile(typed, mode=mode)))
            baselines[dtype_name] = dict(timings, rel_err=errs)
            del typed
        report["decoder_baselines"][mode] = baselines
        for case in mode_cases:
            results = report_case(report, case)
            if case.get("failed"):
                continue
            try:
                run_kiln_case(case, inputs, {"torch_float64": reference}, results)
                add_decoder_ratios(results, baselines, case, config, block)
            except Exception as error:
                results.update(status="run failed", error=repr(error)[:400])
                log(f"  {case['name']}: run failed: {error!r}"[:400])
        del inputs
    torch.cuda.empty_cache()


def weight_bytes(config, block, variant):
    params = sum(o * i for o, i in block.projection_shapes(config).values())
    rows = sum(o for o, _ in block.projection_shapes(config).values())
    weights = variant.split("-")[0]  # int4-f16: int4 weights, f16 activations
    per_param = {"fp32": 4.0, "fp16": 2.0, "int8": 1.0, "int4": 0.5}.get(weights, 4.0)
    scales = {"int8": rows * 4, "int4": params // 128 * 4}.get(weights, 0)
    return int(params * per_param + scales)


def add_decoder_ratios(results, baselines, case, config, block):
    if "kiln" not in results:
        return
    kiln_us = results["kiln"]["median_us"]
    results["ratios"] = {f"{name}_{dtype}": round(t["median_us"] / kiln_us, 4)
                         for dtype, timings in baselines.items()
                         for name, t in timings.items() if isinstance(t, dict) and "median_us" in t}
    results["weight_bytes"] = weight_bytes(config, block, case["variant"])
    results["weight_gbps"] = round(results["weight_bytes"] / (kiln_us * 1e-6) / 1e9, 4)


# --------------------------------------------------------- real models -----
def rebuild_torch_model(export_module, name):
    """The torch module export_torch_models.py exported, same seed: same
    weights, and the same example inputs (token ids, ones mask, or images)."""
    torch.manual_seed(0)
    model, args, input_names, _ = export_module.MODELS[name]()
    return model.eval(), dict(zip(input_names, args)), input_names


def onnxruntime_reference(onnx_path, signature, named):
    import onnxruntime
    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    feeds = {i.name: named[i.name].cpu().numpy() for i in session.get_inputs()}
    names = [o["name"] for o in signature["outputs"]]
    return {n: torch.from_numpy(np.asarray(a)).cuda() for n, a in zip(names, session.run(names, feeds))}


def torch_fp16_error(model, args, torch_out):
    """torch's own fp16 error on this model: what fp16 can do here at all
    (mobilenet_v3's logits, about 1e-7, are below fp16's normal range)."""
    half = copy.deepcopy(model).half()
    with torch.no_grad():
        out = half(*[a.half() if a.is_floating_point() else a for a in args])
    del half
    return rel_err(out, torch_out)


def fp16_tolerance(case, torch_fp16_err):
    """An fp16 case may be as far off as twice torch's own fp16 run."""
    if case["variant"] != "fp16" or not math.isfinite(torch_fp16_err):
        return None
    return max(TOLERANCE["fp16"], 2 * torch_fp16_err)


def bench_real_model(name, model_cases, export_module, budget, report):
    entry = report["real_baselines"].setdefault(name, {})
    model, inputs, input_names = rebuild_torch_model(export_module, name)
    model = model.cuda()
    args = [inputs[n].cuda() for n in input_names]
    with torch.no_grad():
        torch_out = model(*args)
    entry["torch_fp16_rel_err"] = torch_fp16_error(model, args, torch_out)
    log(f"  torch fp16 rel err {entry['torch_fp16_rel_err']:.2e}")
    for case in model_cases:
        results = report_case(report, case)
        if case.get("failed"):
            continue
        try:
            with open(case["signature"]) as f:
                signature = json.load(f)
            references = {"onnxruntime": onnxruntime_reference(case["onnx"], signature, inputs),
                          "torch": {signature["outputs"][0]["name"]: torch_out}}
            # says whether the rebuilt torch module is the exported one
            entry[f"torch_vs_onnxruntime_rel_err_{case['name']}"] = rel_err(
                torch_out, next(iter(references["onnxruntime"].values())))
            run_kiln_case(case, inputs, references, results,
                          fp16_tolerance(case, entry["torch_fp16_rel_err"]))
        except Exception as error:
            results.update(status="run failed", error=repr(error)[:400])
            log(f"  {case['name']}: run failed: {error!r}"[:400])
    entry.update(time_torch(lambda: model(*args), budget,
                            lambda mode: (lambda f: lambda: f(*args))(torch.compile(model, mode=mode))))
    for case in model_cases:
        results = report["cases"][case["name"]]
        if "kiln" in results:
            kiln_us = results["kiln"]["median_us"]
            results["ratios"] = {k: round(t["median_us"] / kiln_us, 4) for k, t in entry.items()
                                 if isinstance(t, dict) and "median_us" in t}


def bench_real(cases, cases_dir, budget, report):
    real = [c for c in cases if c["group"] == "real"]
    if not real:
        return
    export_module = load_module("export_torch_models",
                                os.path.join(cases_dir, "export_torch_models.py"))
    for name in sorted({c["model"] for c in real}):
        log(f"real model {name}")
        model_cases = [c for c in real if c["model"] == name]
        try:
            bench_real_model(name, model_cases, export_module, budget, report)
        except Exception as error:  # the torch side failed: Kiln cases keep their reports
            entry = report["real_baselines"].setdefault(name, {})
            entry["error"] = f"{error!r}"[:400]
            log(f"  {name}: {entry['error']}")
            for case in model_cases:
                report_case(report, case)
        torch._dynamo.reset()


# ---------------------------------------------------------------- report ---
def report_case(report, case):
    results = report["cases"].setdefault(case["name"], {
        "group": case["group"], "model": case["model"], "variant": case["variant"]})
    if case.get("failed"):
        results.update(status="not compiled", error=case["failed"])
        log(f"  {case['name']}: not compiled: {case['failed'][:200]}")
    return results


def plot(report, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib missing"
    groups = [("decoder", "Llama-style decoder block"), ("real", "real exported models")]
    fig, axes = plt.subplots(1, 2, figsize=(16, 7.5))
    for ax, (group, title) in zip(axes, groups):
        rows = [(n, r) for n, r in report["cases"].items() if r["group"] == group]
        series = [("Kiln (CUDA graph replay)", None), ("torch eager fp32", "torch_eager"),
                  ("torch eager fp32, CUDA graph", "torch_eager_graph"),
                  ("torch.compile fp32", "torch_compile"),
                  ("torch.compile fp32, CUDA graphs", "torch_compile_graphs")]
        labels = [n.replace("decoder.", "") for n, _ in rows]
        x = np.arange(len(labels))
        width = 0.16
        for i, (label, key) in enumerate(series):
            values = [(r if key is None else baseline_of(report, r)).get(key or "kiln", {})
                      .get("median_us", float("nan")) for _, r in rows]
            ax.bar(x + (i - 2) * width, values, width, label=label)
        ax.set_yscale("log")
        ax.set_ylabel("µs per call (median)")
        ax.set_xticks(x, labels, rotation=60, ha="right", fontsize=8)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
        for i, (name, r) in enumerate(rows):
            if r.get("status") != "ok":
                ax.text(i - 2 * width, 0.02, r.get("status", "?"), rotation=90, fontsize=8,
                        ha="center", va="bottom", color="red", transform=ax.get_xaxis_transform())
        ax.legend(fontsize=8)
    fig.suptitle(f"Kiln --target=cuda vs PyTorch, {report['device']}, {report['date'][:10]}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return "ok"


def baseline_of(report, results):
    if results["group"] == "decoder":
        return report["decoder_baselines"].get(results["model"], {}).get("fp32", {})
    return report["real_baselines"].get(results["model"], {})


def summary_table(report):
    lines = ["", f"{'case':32} {'status':13} {'kiln us':>10} {'eager':>8} {'compile':>8} "
             f"{'x eager':>8} {'x compile':>9} {'x graphs':>8} {'x comp16':>8}  max rel err"]
    for name, r in report["cases"].items():
        base = baseline_of(report, r)
        kiln = r.get("kiln", {}).get("median_us")
        eager = base.get("torch_eager", {}).get("median_us")
        compiled = base.get("torch_compile", {}).get("median_us")
        graphs = base.get("torch_compile_graphs", {}).get("median_us")
        err = max((e for errs in r.get("rel_err", {}).values() for e in errs.values()), default=None)
        cell = lambda v, f="{:.1f}": f.format(v) if v is not None else "-"
        ratio = lambda t: cell(t / kiln if t and kiln else None, "{:.3f}")
        lines.append(f"{name:32} {r.get('status', '?'):13} {cell(kiln):>10} {cell(eager):>8} "
                     f"{cell(compiled):>8} {ratio(eager):>8} {ratio(compiled):>9} {ratio(graphs):>8} "
                     f"{cell(r.get('ratios', {}).get('torch_compile_fp16'), '{:.3f}'):>8}  "
                     f"{cell(err, '{:.1e}')}")
    lines.append("x eager / x compile / x graphs: torch fp32 time (eager, torch.compile, "
                 "torch.compile mode=reduce-overhead) / Kiln time (> 1: Kiln faster); "
                 "x comp16: torch.compile in fp16 / Kiln (decoder block)")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("cases")
    parser.add_argument("outdir")
    parser.add_argument("--budget-s", type=float, default=240.0,
                        help="after this many seconds, skip remaining torch.compile baselines")
    opts = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32, as in Kiln
    torch.backends.cudnn.allow_tf32 = False
    with open(os.path.join(opts.cases, "manifest.json")) as f:
        manifest = json.load(f)
    cases = manifest["cases"]
    for case in cases:
        for key in ("lib", "signature"):
            if key in case:
                case[key] = os.path.join(opts.cases, case[key])
    props = torch.cuda.get_device_properties(0)
    report = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "device": props.name, "torch": torch.__version__, "packed": manifest.get("packed"),
              "kilnc": manifest.get("kilnc"), "timing": "CUDA events, back-to-back calls on one "
              "stream behind a GPU sleep, median; Kiln via m_run_on_stream (CUDA graph replay)",
              "tf32": False, "cases": {}, "decoder_baselines": {}, "real_baselines": {}}
    budget = Budget(opts.budget_s)
    # A stream of our own: Kiln captures and replays a CUDA graph only on a
    # non-NULL stream, and torch's default stream is the NULL one.
    with torch.cuda.stream(torch.cuda.Stream()):
        for part in (bench_decoder, bench_real):
            try:
                part(cases, opts.cases, budget, report)
            except Exception:
                report.setdefault("errors", []).append(traceback.format_exc()[-1500:])
                log(traceback.format_exc())
    os.makedirs(opts.outdir, exist_ok=True)
    report["plot"] = plot(report, os.path.join(opts.outdir, "models_bench.png"))
    report["wall_s"] = round(time.time() - START, 1)
    with open(os.path.join(opts.outdir, "models_bench.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(summary_table(report), flush=True)


if __name__ == "__main__":
    main()
