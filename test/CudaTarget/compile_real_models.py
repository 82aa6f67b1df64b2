#!/usr/bin/env python3
"""Compiles models with kilnc --target=cuda and checks their PTX, two at a time.

    compile_real_models.py KILNC PTXAS OUTDIR MODEL.onnx... [-- KILNC_FLAG...]

Models other than dynamo exports have a symbolic batch dimension, pinned
to 1; flags after `--` go to every kilnc call (e.g. --quantize=int4). Each
library must embed two cubins (sm_90a, sm_80) and PTX that ptxas assembles
for sm_80 and sm_90a, and its launch plan must bind every pointer parameter
to a buffer (plan_args.py). Prints one line per model; exits non-zero if any
fails.
"""
import concurrent.futures
import os
import subprocess
import sys

import check_cuda_so
import plan_args

ARCHS = ["sm_80", "sm_90a"]


def compile_and_check(kilnc, ptxas, outdir, model, flags):
    name = os.path.basename(model)[: -len(".onnx")]
    lib = os.path.join(outdir, name, "libm.so")
    os.makedirs(os.path.dirname(lib), exist_ok=True)
    command = [kilnc, model, "--target=cuda", "--gpu-arch=sm_90a,sm_80", "--name=m", "-o", lib]
    command += flags
    if not name.endswith(".dynamo"):
        command.append("--dim=batch=1")
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        return f"{name}: kilnc failed: {result.stderr.strip()[-1500:]}", False
    blob = open(lib, "rb").read()
    images = list(check_cuda_so.embedded_ptx(blob))
    kernels = sum(image.count(b".entry ") for image in images)
    for i, ptx in enumerate(images):
        path = os.path.join(outdir, name, f"image{i}.ptx")
        with open(path, "wb") as f:
            f.write(ptx)
        for arch in ARCHS:
            check = subprocess.run([ptxas, f"-arch={arch}", path, "-o", path + ".cubin"],
                                   capture_output=True, text=True)
            if check.returncode != 0:
                return f"{name}: ptxas {arch} failed: {check.stderr.strip()[:600]}", False
    cubins = check_cuda_so.cuda_elf_count(blob)
    if not images or cubins != 2:
        return f"{name}: {len(images)} PTX images and {cubins} cubins (want >= 1 and 2)", False
    problems = plan_args.mismatches(lib, "m", images)
    if problems:
        return f"{name}: launch plan does not fit the kernels: {'; '.join(problems[:3])}", False
    return f"{name}: ok, {kernels} kernels, PTX assembles for {' '.join(ARCHS)}", True


def main():
    kilnc, ptxas, outdir, rest = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    flags = rest[rest.index("--") + 1:] if "--" in rest else []
    models = sorted(rest[:rest.index("--")] if "--" in rest else rest)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda m: compile_and_check(kilnc, ptxas, outdir, m, flags),
                                models))
    for line, _ in results:
        print(line, flush=True)
    sys.exit(0 if all(ok for _, ok in results) else 1)


if __name__ == "__main__":
    main()
