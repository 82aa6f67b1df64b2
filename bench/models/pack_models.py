#!/usr/bin/env python3
"""Compiles the model benchmark's cases for the GPU and packs them.

    pack_models.py KILNC DEST [--only NAME_SUBSTRING]... [--also-without-wgmma]

Cases: the Llama-style decoder block (decoder_block.py, config "bench"),
prefill and decode, in fp32, int8 (per channel), int4 (group 128) and, when
kilnc has --precision, f16; and every real exported model
(test/models/real/*.onnx, symbolic batch pinned to 1) in fp32 (and f16).
Each is compiled with `kilnc --target=cuda --gpu-arch=sm_90a`; a case that
does not compile is recorded with kilnc's message, not dropped.
--also-without-wgmma adds each non-fp32 case again as NAME.mma, compiled
with --wgmma=false (the mma.sync GEMM instead of the sm_90a wgmma one), for
a before/after in one run.

DEST gets cases.tar.xz (the .so files and signatures: fp32 weights embedded
in a .so do not fit the device tool's 64 MiB otherwise; the block's weights
lie on a 15-value grid so they compress), manifest.json, the decoder
block's weights/config/module, export_torch_models.py and the benchmark
script. Run from the repository root.
"""
import argparse
import json
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
GPU_ARCH = "sm_90a"
CARRY_LIMIT = 60 << 20  # the device tool carries 64 MiB with the rest of the tree


def decoder_variants(has_precision):
    variants = [("fp32", []), ("int8", ["--quantize=int8"]),
                ("int4", ["--quantize=int4", "--group-size=128"])]
    if has_precision:  # f16 activations, alone and with quantized weights
        variants.insert(1, ("fp16", ["--precision=f16"]))
        variants += [("int8-f16", ["--quantize=int8", "--precision=f16"]),
                     ("int4-f16", ["--quantize=int4", "--group-size=128", "--precision=f16"])]
    return variants


def real_models():
    folder = os.path.join(REPO, "test", "models", "real")
    for name in sorted(os.listdir(folder)):
        if name.endswith(".onnx"):
            dims = ["--dim=batch=1"] if ".torchscript." in name else []
            yield name[:-len(".onnx")], os.path.join("test", "models", "real", name), dims


def compile_case(kilnc, onnx_path, flags, case_dir):
    """kilnc for CUDA into case_dir; returns None or the failure text."""
    os.makedirs(case_dir, exist_ok=True)
    command = [kilnc, onnx_path, "--target=cuda", f"--gpu-arch={GPU_ARCH}", "--name=m",
               "-o", os.path.join(case_dir, "libm.so")] + flags
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return "kilnc took over 600 s"
    if done.returncode != 0:
        return (done.stderr or done.stdout).strip()[-600:] or f"kilnc exit {done.returncode}"
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kilnc")
    parser.add_argument("dest")
    parser.add_argument("--only", action="append", default=[],
                        help="pack only cases whose name contains this (repeatable)")
    parser.add_argument("--also-without-wgmma", action="store_true",
                        help="also pack each non-fp32 case as NAME.mma with --wgmma=false")
    parser.add_argument("--note", default="",
                        help="where this kilnc comes from, when not this checkout's build")
    opts = parser.parse_args()
    kilnc = os.path.abspath(opts.kilnc)
    dest = os.path.abspath(opts.dest)
    help_text = subprocess.run([kilnc, "--help"], capture_output=True, text=True).stdout
    has_precision = "--precision" in help_text
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(os.path.join(dest, "decoder"))
    sys.path.insert(0, HERE)
    import decoder_block

    work = tempfile.mkdtemp(prefix="kiln-bench-pack-")
    try:
        subprocess.run([sys.executable, os.path.join(HERE, "make_decoder_block.py"), "bench",
                        os.path.join(work, "decoder")], check=True)
        for name in ("weights.npz", "config.json"):
            shutil.copy(os.path.join(work, "decoder", name), os.path.join(dest, "decoder"))
        shutil.copy(os.path.join(HERE, "decoder_block.py"), os.path.join(dest, "decoder"))
        shutil.copy(os.path.join(REPO, "test", "models", "export_torch_models.py"), dest)
        shutil.copy(os.path.join(REPO, "bench", "models_bench.py"), dest)

        jobs = []
        for mode in ("prefill", "decode"):
            for variant, flags in decoder_variants(has_precision):
                jobs.append(dict(name=f"decoder.{mode}.{variant}", group="decoder", model=mode,
                                 variant=variant, source=os.path.join(work, "decoder",
                                                                      f"{mode}.onnx"), flags=flags))
        real_variants = [("fp32", [])] + ([("fp16", ["--precision=f16"])] if has_precision else [])
        for name, path, dims in real_models():
            for variant, flags in real_variants:
                jobs.append(dict(name=f"{name}.{variant}", group="real",
                                 model=name.split(".")[0], variant=variant, source=path,
                                 onnx=path, flags=dims + flags))
        if opts.only:
            jobs = [j for j in jobs if any(s in j["name"] for s in opts.only)]
        if not jobs:
            sys.exit(f"pack: no case name contains any of {opts.only}; names look like "
                     "decoder.prefill.fp16 or bert.dynamo.fp32")
        if opts.also_without_wgmma:
            jobs += [dict(j, name=j["name"] + ".mma", flags=j["flags"] + ["--wgmma=false"])
                     for j in jobs if j["variant"] != "fp32"]

        cases = []
        for job in jobs:
            began = time.time()
            case_dir = os.path.join(work, "cases", job["name"])
            failed = compile_case(kilnc, job["source"], job["flags"], case_dir)
            seconds = round(time.time() - began, 1)
            case = {k: v for k, v in job.items() if k != "source"}
            case["compile_s"] = seconds
            if failed:
                case["failed"] = failed
                print(f"pack: {job['name']}: NOT COMPILED ({seconds} s): {failed[-200:]}",
                      flush=True)
            else:
                case["lib"] = os.path.join("cases", job["name"], "libm.so")
                case["signature"] = os.path.join("cases", job["name"], "m.json")
                size = os.path.getsize(os.path.join(case_dir, "libm.so"))
                case["so_bytes"] = size
                print(f"pack: {job['name']}: {size / 1e6:.1f} MB in {seconds} s", flush=True)
            cases.append(case)

        print("pack: compressing (xz, a few minutes)", flush=True)
        archive = os.path.join(dest, "cases.tar.xz")
        filters = [{"id": lzma.FILTER_LZMA2, "preset": 6, "dict_size": 64 << 20}]
        with lzma.open(archive, "wb", filters=filters) as raw, \
                tarfile.open(fileobj=raw, mode="w") as tar:
            tar.add(os.path.join(work, "cases"), arcname="cases")
        commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        manifest = {"packed": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "kilnc": opts.note or f"{kilnc} (checkout at {commit})", "gpu_arch": GPU_ARCH,
                    "has_precision_flag": has_precision,
                    "decoder_config": decoder_block.CONFIGS["bench"], "cases": cases}
        with open(os.path.join(dest, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = sum(os.path.getsize(os.path.join(root, f))
                for root, _, files in os.walk(dest) for f in files)
    compiled = sum(1 for c in cases if "failed" not in c)
    print(f"pack: {compiled}/{len(cases)} cases compiled; {dest}: {total / 2**20:.1f} MiB")
    if total > CARRY_LIMIT:
        sys.exit(f"pack: {dest} is {total / 2**20:.1f} MiB, over the {CARRY_LIMIT >> 20} MiB "
                 "the device tool can carry with the tree; pack fewer cases (--only)")


if __name__ == "__main__":
    main()
